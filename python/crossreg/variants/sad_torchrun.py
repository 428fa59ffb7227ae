"""A ``crossreg sad`` job under ``torchrun``: a rank whose shard file is written, or whose
job's output is, does not score again, and the last rank to finish merges the shards."""

from __future__ import annotations

import fcntl
import logging
from collections.abc import Sequence
from pathlib import Path

from crossreg.io.partial import left_over
from crossreg.model.seqnn import SeqNN
from crossreg.shard import Shard
from crossreg.variants.chunk_store import partial_dir
from crossreg.variants.genes import genes_path
from crossreg.variants.sad_attrs import read_attrs
from crossreg.variants.sad_finished import finished_output, run_record
from crossreg.variants.sad_join import merge_shards
from crossreg.variants.sad_shards import shard_output
from crossreg.variants.sad_tsv import last_written

log = logging.getLogger("crossreg")


def merged_already(
    out: Path, target: Path, settings: dict[str, object], model: SeqNN, lost: Sequence[str]
) -> bool:
    """Under ``torchrun``, with ``--resume``, for a rank whose shard file of this run is
    not written (:func:`shard_kept`, asked first: the rank that merges writes `out`
    before it deletes the shards): whether the job's output `out` is finished for these
    `settings` (:func:`~crossreg.variants.sad_finished.finished_output`, as a run of no
    shard records them, the figures `lost` to be drawn) and no chunks of the rank's shard
    `target` are kept."""
    if left_over(partial_dir(target)):
        return False
    return finished_output(out, run_record(settings, None, model), redrawn=lost)


def merge_when_complete(out: Path, count: int, settings: object) -> int | None:
    """Under ``torchrun``: the process that finds every shard written by this run (its
    `settings` hash; a shard file left by another run is not, and its rank replaces it)
    merges them into `out` and deletes them (a lock makes it one process); returns the
    alleles it merged, ``None`` in the other processes."""
    lock = out.with_name(out.name + ".merge.lock")
    with open(lock, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        paths = [shard_output(out, Shard(i, count)) for i in range(count)]
        if not all(_written_by(path, settings) for path in paths):
            return None
        _, alleles = merge_shards(out, paths)
        for path in paths:
            for made in (path, genes_path(path), path.with_name(path.name + ".json")):
                made.unlink(missing_ok=True)
        lock.unlink(missing_ok=True)
    log.info("merged %d shards into %s", count, out)
    return alleles


def _written_by(shard: Path, settings: object) -> bool:
    """Whether the shard file is written whole (a ``.tsv``'s metadata, written after it,
    too), no run is writing it again (no ``OUT.partial/``: a rank stopped after it wrote
    the file, before it removed its chunks, writes it again) and it records the run
    `settings` hash."""
    last = last_written(shard)
    if left_over(partial_dir(shard)) or not (shard.exists() and last.exists()):
        return False
    return read_attrs(shard).get("run_settings") == settings


def shard_kept(shard: Path, settings: object) -> bool:
    """Under ``torchrun``, with ``--resume``: whether this rank's shard file is written
    whole by this run (:func:`_written_by` its `settings` hash), so that it need not be
    scored again. One that cannot be read (damaged, or deleted by the rank that merges
    as it is read) is not."""
    try:
        return _written_by(shard, settings)
    except (OSError, UnicodeDecodeError, ValueError):
        return False
