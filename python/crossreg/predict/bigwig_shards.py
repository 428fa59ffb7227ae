"""The shards of a ``crossreg predict --bigwig`` run: each one's windows and chunk store,
the settings they must share, and the last to finish writing the BigWigs from all."""

from __future__ import annotations

import fcntl
import glob
import json
import logging
from collections.abc import Mapping, Sequence
from pathlib import Path

from crossreg.genome import Genome
from crossreg.io import partial
from crossreg.io.atomic_dir import atomic_directory
from crossreg.io.finished import Changes
from crossreg.io.identity import OLD_RULE
from crossreg.io.space import size_text
from crossreg.io.targets import Target
from crossreg.model.tiling import Geometry, Tile
from crossreg.predict.bigwig_chunks import VALUES_FILE, chunk_bounds
from crossreg.predict.bigwig_files import write_track_files
from crossreg.predict.bigwig_settings import run_setting_changes
from crossreg.shard import Shard
from crossreg.variants.chunk_store import partial_dir

log = logging.getLogger("crossreg")


def shard_root(outdir: Path, shard: Shard | None) -> Path:
    """Where a run keeps its chunks: ``OUTDIR`` (``OUTDIR.partial/``), or per shard
    ``OUTDIR.shard-i-of-n`` (``OUTDIR.shard-i-of-n.partial/``)."""
    if shard is None:
        return outdir
    return outdir.with_name(f"{outdir.name}.shard-{shard.index}-of-{shard.count}")


def shard_windows(shard: Shard | None, n_tiles: int, chunk_windows: int) -> tuple[int, int]:
    """The windows ``[start, stop)`` of the `n_tiles` that `shard` predicts (all without
    one): its share of whole chunks of `chunk_windows`, so that its chunks, and the
    batches within them, are those of one run, and the BigWigs the same bytes (a shard
    of more than there are chunks has none)."""
    if shard is None:
        return 0, n_tiles
    first, stop = shard.bounds(-(-n_tiles // chunk_windows))
    return min(first * chunk_windows, n_tiles), min(stop * chunk_windows, n_tiles)


def shard_layout(
    outdir: Path, root: Path, shard: Shard | None, n_tiles: int, chunk_windows: int
) -> tuple[list[Path], list[tuple[int, int]]]:
    """The stores of every shard of the run (`root` alone without `shard`) and each one's
    windows ``[start, stop)`` of the `n_tiles` (:func:`shard_windows`)."""
    if shard is None:
        return [root], [(0, n_tiles)]
    parts = [Shard(i, shard.count) for i in range(shard.count)]
    return [shard_root(outdir, part) for part in parts], [
        shard_windows(part, n_tiles, chunk_windows) for part in parts
    ]


def remaining_chunks(
    roots: Sequence[Path],
    bounds: Sequence[tuple[int, int]],
    tiles: Sequence[Tile],
    chunk_windows: int,
) -> list[Sequence[Tile]]:
    """The tiles of every chunk the shards' stores under `roots` (each with its windows
    `bounds`) have yet to predict."""
    return [
        tiles[c:d]
        for root, (a, b) in zip(roots, bounds, strict=True)
        for c, d in chunk_bounds(a + windows_done(root), b, chunk_windows)
    ]


def shard_stores(outdir: Path) -> list[Path]:
    """The chunk stores of every shard of `outdir` on disk
    (``OUTDIR.shard-i-of-n.partial/``, whatever n)."""
    pattern = f"{glob.escape(outdir.name)}.shard-*-of-*.partial"
    return sorted(path for path in outdir.parent.glob(pattern) if path.is_dir())


def check_shard_settings(outdir: Path, shared: Mapping[str, object], changes: Changes) -> None:
    """Stop when a shard of `outdir` on disk recorded other `shared` settings than this
    one's (its inputs by content, regions, head, tracks, options, chunk size or shard
    count), naming what differs as `changes` does
    (:func:`~crossreg.predict.bigwig_settings.run_setting_changes`: the head by its option
    as typed); one that has not recorded them yet is skipped."""
    ours = json.loads(json.dumps(shared, sort_keys=True, default=str))
    for store in shard_stores(outdir):
        recorded = store / partial.RUN_FILE
        if not recorded.is_file():
            continue
        theirs = json.loads(recorded.read_text())
        if theirs.get("identity") != ours.get("identity"):
            raise ValueError(
                f"{store}: this shard of {outdir} {OLD_RULE}; delete {store.name} and rerun "
                "that shard"
            )
        differing = changes(theirs, ours)
        if differing:
            raise ValueError(
                f"{store}: a shard of {outdir} was run with other settings than this one "
                f"({'; '.join(differing)}; then: that shard, now: this one), so no shard "
                "would write the BigWigs; rerun every shard with the same options (delete "
                f"{store.name} if it is left from another run)"
            )


def windows_done(root: Path) -> int:
    """The windows the chunk store under `root` holds (0 when there is none)."""
    progress_path = partial_dir(root) / partial.PROGRESS_FILE
    if not progress_path.exists():
        return 0
    return int(json.loads(progress_path.read_text())["records_done"])


def shard_complete(root: Path, windows: int) -> bool:
    """Whether the chunk store under `root` holds all its `windows`."""
    return partial.left_over(partial_dir(root)) and windows_done(root) == windows


def write_when_complete(
    outdir: Path,
    roots: Sequence[Path],
    bounds: Sequence[tuple[int, int]],
    tiles: Sequence[Tile],
    chunk_windows: int,
    genome: Genome,
    targets: Sequence[Target],
    geometry: Geometry,
    meta: dict[str, object],
    positions: Sequence[int] | None = None,
    shared: Mapping[str, object] | None = None,
    changes: Changes = run_setting_changes,
) -> bool:
    """Write the BigWigs from the chunk stores of `roots` (one per shard, in order) when
    every one is complete (a lock makes it one process), into a folder that replaces
    `outdir` whole; returns whether it wrote. `positions` are the tracks' indices in the
    head (default ``0 .. tracks-1``); `shared`, the settings every shard must share
    (``None`` for one process), is checked against every shard's on disk first, what
    differs named as `changes` does (:func:`check_shard_settings`)."""
    lock = outdir.with_name(outdir.name + ".lock")
    with open(lock, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        if shared is not None:
            check_shard_settings(outdir, shared, changes)
        complete = [shard_complete(root, b - a) for root, (a, b) in zip(roots, bounds, strict=True)]
        if not all(complete):
            log.info(
                "%d of %d shards done; the BigWigs are written by the last to finish",
                sum(complete),
                len(roots),
            )
            return False
        chunks: list[tuple[Path, Sequence[Tile]]] = []
        for root, (a, b) in zip(roots, bounds, strict=True):
            for k, (c, d) in enumerate(chunk_bounds(a, b, chunk_windows)):
                directory = partial_dir(root) / partial.CHUNK_NAME.format(k)
                chunks.append((directory / VALUES_FILE, tiles[c:d]))
        scratch = sum(values.stat().st_size for values, _ in chunks)
        meta = {**meta, "scratch_bytes": scratch}
        with atomic_directory(outdir) as work:
            written = write_track_files(
                work, chunks, genome.sizes, targets, geometry, meta, positions
            )
        for root in roots:
            partial.remove(partial_dir(root))
    lock.unlink(missing_ok=True)
    log.info(
        "wrote %d BigWigs in %s (%s) from %s of predictions kept meanwhile",
        len(targets),
        outdir,
        size_text(written),
        size_text(scratch),
    )
    return True
