"""Genome-wide predictions as BigWig tracks: ``crossreg predict --bigwig OUTDIR``.

Whole chromosomes (or BED regions) are tiled with model windows whose central bins abut
(:mod:`crossreg.model.tiling`); the chosen tracks of one head are predicted window by window and
written at the model's resolution, one BigWig per track (``OUTDIR/<identifier>.bw``, with
``OUTDIR/tracks.tsv`` listing each track's index in the head (what ``--targets`` takes),
identifier, description, file and index in the targets table). Bins no window
lying on the chromosome predicts (about ``crop · bin_width`` bp at each chromosome end, and
chromosomes shorter than a window) have no value in the BigWigs; ``OUTDIR/summary.json``
counts them.

Predictions are kept in chunks of windows on disk as they finish, through the chunk store
``crossreg sad`` uses (:class:`crossreg.variants.sad_stream.ChunkStore`, in
``OUTDIR.partial/``): memory holds one chunk, a killed run continues with ``resume`` after
its last finished chunk, and the BigWigs are written from the chunks in one pass at the
end, into a hidden folder beside ``OUTDIR`` that takes its place whole when every file is
done (:func:`crossreg.io.atomic.atomic_directory`): ``OUTDIR`` must be absent or empty,
or hold the BigWigs of an earlier run to replace with ``overwrite``; with ``resume``, a
finished ``OUTDIR`` whose ``summary.json`` records this run's settings is left as it is
(one of other settings is refused naming them, unless ``overwrite``). With ``shard``
(``"i/n"``, or each rank under ``torchrun``) a process predicts the i-th of n contiguous
shares of the windows, in whole chunks (so the BigWigs are the bytes one run writes), into
``OUTDIR.shard-i-of-n.partial/``, where it also records the settings every shard must
share (checked when it starts and when it ends); the process that finishes last writes
the BigWigs from every shard's chunks. The chunks keep the
predictions as float32, or as float16 with ``chunk_dtype``. A run whose chunks and BigWigs
do not fit the free space is refused before it predicts (:mod:`crossreg.predict.scratch`;
without ``space_check`` it is only warned of);
a disk that fills meanwhile stops the run with an error naming the file before libBigWig
writes past the free space (:mod:`crossreg.io.bigwig_write`); the chunks stay, for
``resume`` once there is room. ``summary.json`` records the bytes of the chunks and of the
BigWigs.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import functools
import glob
import json
import logging
import os
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from crossreg.errors import require_name_list
from crossreg.genome import Genome
from crossreg.io import partial
from crossreg.io.atomic import OutputError, atomic_directory, atomic_write, check_replaceable
from crossreg.io.bed import check_within, read_bed
from crossreg.io.bigwig_write import BIGWIG_FOLDER, TRACKS_FILE, BigWigFile, SpaceGuard
from crossreg.io.changes import Option
from crossreg.io.finished import Changes, finished_run, recorded_settings
from crossreg.io.identity import (
    IDENTITY_RULE,
    OLD_RULE,
    content_identity,
)
from crossreg.io.space import size_text
from crossreg.io.targets import Target
from crossreg.model.checkpoint_info import checkpoint_identity
from crossreg.model.inference import (
    InferenceOptions,
    gives_back_cuda_settings,
    keep_head_tracks,
    load_head,
    model_device,
    run_inference,
)
from crossreg.model.seqnn import SeqNN
from crossreg.model.tiling import Geometry, Tile, bin_intervals, chromosome_intervals, plan_tiles
from crossreg.predict.scratch import space_needed
from crossreg.progress import progress
from crossreg.shard import Shard
from crossreg.step_defaults import CHUNK_DTYPES, DEFAULT_CHUNK_WINDOWS
from crossreg.variants.sad_stream import (
    ChunkStore,
    StoreState,
    clip_float16,
    kept_when_stopped,
    partial_dir,
    refuse_partial,
    refuse_shard_under_torchrun,
    setting_changes,
    torchrun_shard,
)

if TYPE_CHECKING:
    import torch

log = logging.getLogger("crossreg")

#: BigWigs written at once in the final pass (each pass reads every chunk once)
OPEN_FILES = 64
VALUES_FILE = "values.npy"
SUMMARY_FILE = "summary.json"
#: Recorded by shards, which predict whole chunks (:func:`shard_windows`): a shard of an
#: earlier crossreg, which shared out windows, predicted others and is refused
SHARE_KEY, SHARES = "shard_shares", "whole chunks"
#: How the settings a ``--bigwig`` run records are given on its command line, where they
#: are not spelt as their keys, with the words for an option left unset
#: (:mod:`crossreg.io.changes`)
RUN_OPTIONS: dict[str, Option] = {
    "head": Option("--head"),
    "tracks": Option("--targets", unset="every track"),
    "chroms": Option("--chroms", unset="every FASTA record"),
    "chunk_windows": Option("--chunk-size"),
    "shards": Option("--shard", label="shard count (its N)"),
    SHARE_KEY: Option("--shard", label="shares", unset="by windows (an earlier crossreg)"),
}
#: the inference options a run records (as the list of their values), in order
RECORDED_OPTIONS = ("rc", "shifts", "bf16")


def run_setting_changes(
    before: Mapping[str, Any], now: Mapping[str, Any], head_option: str = "--head"
) -> list[str]:
    """The settings of a ``--bigwig`` run that differ between `before` (recorded by an
    earlier run) and `now`, each named by the option that sets it, as SAD's are
    (:func:`~crossreg.variants.sad_stream.setting_changes`: ``--targets every track then,
    0 now``; ``--rc off then, on now``; ``--fasta: the same size, other content (…)``),
    the head by `head_option`, its option as the user gave it."""
    options = {**RUN_OPTIONS, "head": Option(head_option)}
    return setting_changes(_named(before), _named(now), options)


def _named(record: Mapping[str, Any]) -> Mapping[str, Any]:
    """A run's record with its inference options by name (recorded as the list of their
    values, :data:`RECORDED_OPTIONS`)."""
    options = record.get("options")
    if not isinstance(options, list):
        return record
    return {**record, "options": dict(zip(RECORDED_OPTIONS, options, strict=False))}


@dataclass(frozen=True)
class BigWigRun:
    """What a run wrote: the folder, its tracks, the windows it predicted and whether
    the BigWigs are written (a shard that is not the last to finish leaves that to it)."""

    outdir: Path
    tracks: int
    windows: int
    written: bool


def track_file_names(targets: Sequence[Target]) -> list[str]:
    """One file name per track: its identifier with characters other than letters,
    digits, ``.``, ``_`` and ``-`` replaced by ``_`` (then ``_<index>`` when two agree)."""
    names = [re.sub(r"[^A-Za-z0-9._-]+", "_", t.identifier) or "track" for t in targets]
    seen: set[str] = set()
    unique = []
    for i, name in enumerate(names):
        name = name if names.count(name) == 1 else f"{name}_{i}"
        while name in seen:
            name += "_"
        seen.add(name)
        unique.append(f"{name}.bw")
    return unique


def shard_root(outdir: Path, shard: Shard | None) -> Path:
    """Where a run keeps its chunks: ``OUTDIR`` (``OUTDIR.partial/``), or per shard
    ``OUTDIR.shard-i-of-n`` (``OUTDIR.shard-i-of-n.partial/``)."""
    if shard is None:
        return outdir
    return outdir.with_name(f"{outdir.name}.shard-{shard.index}-of-{shard.count}")


def chunk_bounds(start: int, stop: int, size: int) -> list[tuple[int, int]]:
    """Tiles ``[start, stop)`` in chunks of `size`."""
    return [(a, min(a + size, stop)) for a in range(start, stop, size)]


def predict_tiles(
    model: SeqNN,
    genome: Genome,
    tiles: Sequence[Tile],
    head: str,
    options: InferenceOptions,
) -> Iterator[npt.NDArray[np.float32]]:
    """Yield, per batch of `tiles`, their kept bins ``(tracks, bins)`` end to end."""

    def load(chunk: Sequence[Tile]) -> npt.NDArray[np.uint8]:
        starts = [t.start for t in chunk]
        chroms = [t.chrom for t in chunk]
        return genome.one_hot_many(chroms, starts, model.seq_length, dtype=np.uint8)

    def keep(pred: torch.Tensor, chunk: Sequence[Tile]) -> npt.NDArray[np.float32]:
        values = pred.cpu().numpy()
        kept = [values[i, t.first : t.first + t.count] for i, t in enumerate(chunk)]
        return np.concatenate(kept).T

    return run_inference(model, head, tiles, options, load=load, reduce=keep)


@gives_back_cuda_settings
def write_bigwigs(
    model_dir: str | os.PathLike[str],
    fasta: str | os.PathLike[str],
    outdir: str | os.PathLike[str],
    *,
    head: str | None = None,
    chroms: Sequence[str] | None = None,
    bed: str | os.PathLike[str] | None = None,
    tracks: str | Sequence[str] | None = None,
    options: InferenceOptions = InferenceOptions(),
    chunk_windows: int = DEFAULT_CHUNK_WINDOWS,
    chunk_dtype: str = "float32",
    resume: bool = False,
    shard: Shard | str | None = None,
    overwrite: bool = False,
    space_check: bool = True,
    head_option: str = "--head",
) -> BigWigRun:
    """Predict `head`'s tracks (those `tracks` selects,
    :func:`crossreg.io.targets.select_targets`) along the chromosomes `chroms` (default
    all of `fasta`) or the regions of `bed`, and write one BigWig per track into `outdir`
    at the model's bin width (see the module's docstring); `overwrite` replaces the
    BigWigs of an earlier run in `outdir`. The chunks keep the predictions as
    `chunk_dtype` (:data:`crossreg.step_defaults.CHUNK_DTYPES`); a run that cannot fit
    them and the BigWigs in the free space is refused before predicting
    (:mod:`crossreg.predict.scratch`), or only warned of without `space_check`. A resume
    refused for other settings names the head's option as `head_option` (``crossreg
    predict`` passes the spelling typed: ``--genome``)."""
    outdir = Path(outdir).absolute()  # "." has no name to put the partial store beside
    if isinstance(shard, str):
        shard = Shard.parse(shard)
    if chunk_windows < 1:
        raise ValueError(f"the chunk size must be at least 1 window, got {chunk_windows}")
    if chunk_dtype not in CHUNK_DTYPES:
        raise ValueError(
            f"the chunk dtype must be one of {', '.join(CHUNK_DTYPES)}, got {chunk_dtype!r}"
        )
    if bed is not None and chroms is not None:
        raise ValueError("give --chroms or --bed, not both")
    if chroms is not None:
        require_name_list(chroms, "chroms", "chr1")
    refuse_shard_under_torchrun(shard)
    shard = shard or torchrun_shard()
    root = shard_root(outdir, shard)
    done = resume and (outdir / SUMMARY_FILE).is_file() and not partial.left_over(partial_dir(root))
    check_replaceable(outdir, overwrite or done, BIGWIG_FOLDER, "--bigwig")
    if not resume:
        refuse_partial(root, "model, FASTA, chromosomes or regions and options", outdir)
    model, config, head = load_head(model_dir, head, options)
    targets: list[Target] = list(config.targets[head])
    chosen = keep_head_tracks(model, head, targets, tracks)
    targets = [targets[i] for i in chosen]
    genome = Genome(fasta, hash_content=True)
    geometry = Geometry.of(model)
    intervals = _requested_intervals(genome, fasta, chroms, bed, geometry)
    tiles = plan_tiles(intervals, genome.sizes, geometry)
    summary = coverage_summary(intervals, tiles)
    if not tiles:
        raise ValueError(nothing_to_predict(intervals, genome.sizes, geometry, fasta, bed))
    start, stop = shard_windows(shard, len(tiles), chunk_windows)
    log.info(
        "predicting %d windows of %d bp%s (%s of %s bins) with the '%s' head (%d tracks) on "
        "%s%s; %s bins lie where no window fits and get no value",
        stop - start,
        geometry.seq_length,
        "" if shard is None else f" (shard {shard}: windows {start}-{stop} of {len(tiles)})",
        f"{summary['predicted_bins']:,}",
        f"{summary['requested_bins']:,}",
        head,
        len(targets),
        model_device(model),
        options.describe(),
        f"{summary['requested_bins'] - summary['predicted_bins']:,}",
    )
    settings = _run_settings(model_dir, genome, bed, chroms, head, tracks, options, chunk_windows)
    if chunk_dtype != "float32":  # absent for float32 (ABSENT_SETTINGS): earlier runs match
        settings["chunk_dtype"] = chunk_dtype
    changes = functools.partial(run_setting_changes, head_option=head_option)
    if done and _finished(outdir, settings, overwrite, changes):
        return BigWigRun(outdir, len(targets), stop - start, True)
    shares = {SHARE_KEY: SHARES} if shard is not None else {}
    shared = {**settings, "shards": shard.count, **shares} if shard is not None else None
    store = ChunkStore(root, unit="windows", output=outdir, changes=changes)
    state = store.open(
        {**settings, "shard": str(shard), **shares}, resume=resume, total=stop - start
    )
    if shared is not None:
        with atomic_write(store.root / partial.RUN_FILE) as handle:
            json.dump(shared, handle, sort_keys=True, default=str)
    shards, bounds = _shard_layout(outdir, root, shard, len(tiles), chunk_windows)
    meta = {
        "model": str(model_dir),
        "head": head,
        "fasta": str(fasta),
        "bin_width": geometry.bin_width,
        "seq_length": geometry.seq_length,
        "windows": len(tiles),
        **summary,
        "settings": json.loads(json.dumps(settings, default=str)),
    }
    with kept_when_stopped(store, stop - start):  # while predicting and writing the BigWigs
        if shared is not None:
            check_shard_settings(outdir, shared, changes)
        remaining = [
            tiles[c:d]
            for shard_store, (a, b) in zip(shards, bounds, strict=True)
            for c, d in chunk_bounds(a + windows_done(shard_store), b, chunk_windows)
        ]
        need = space_needed(
            outdir,
            store.root,
            remaining,
            tiles,
            genome.sizes,
            geometry,
            len(targets),
            chunk_dtype,
        )
        log.info(need.describe())
        need.check(skip=not space_check)
        try:
            state = predict_chunks(
                model,
                genome,
                tiles,
                head,
                options,
                store,
                state,
                start,
                stop,
                chunk_windows,
                chunk_dtype,
            )
        except OutputError as err:
            raise full_store(err, store, stop - start) from err
        written = write_when_complete(
            outdir,
            shards,
            bounds,
            tiles,
            chunk_windows,
            genome,
            targets,
            geometry,
            meta,
            chosen,
            shared,
            changes,
        )
    return BigWigRun(outdir, len(targets), stop - start, written)


def _requested_intervals(
    genome: Genome,
    fasta: str | os.PathLike[str],
    chroms: Sequence[str] | None,
    bed: str | os.PathLike[str] | None,
    geometry: Geometry,
) -> list[tuple[str, int, int]]:
    """The bin-aligned ``(chrom, start, end)`` spans to predict: the chromosomes `chroms`
    (all of `fasta` when None) or, when given, the regions of `bed` (checked against the
    genome; an empty BED is refused)."""
    if bed is None:
        return chromosome_intervals(genome.sizes, chroms, geometry, source=str(fasta))
    regions = read_bed(bed)
    check_within(regions, genome.sizes, source=str(bed), fasta=genome.path)
    if not regions:
        raise ValueError(f"{bed}: the BED file has no regions")
    spans = ((iv.chrom, iv.start, iv.end) for iv in regions)
    return bin_intervals(spans, genome.sizes, geometry)


def nothing_to_predict(
    intervals: Sequence[tuple[str, int, int]],
    sizes: Mapping[str, int],
    geometry: Geometry,
    fasta: str | os.PathLike[str],
    bed: str | os.PathLike[str] | None,
) -> str:
    """Why no window predicts any bin of `intervals`, and what to give instead."""
    n = geometry.seq_length
    if bed is None:
        longest = max((c for c, _, _ in intervals), key=lambda c: sizes[c])
        return (
            f"no window of {n:,} bp fits on the chosen chromosomes of {fasta} (the longest, "
            f"{longest}, is {sizes[longest]:,} bp): nothing to predict; choose chromosomes "
            f"of at least {n:,} bp with --chroms"
        )
    edge = geometry.crop * geometry.bin_width
    return (
        f"{bed}: every region lies on a chromosome of {fasta} shorter than the model's "
        f"{n:,}-bp window or within about {edge:,} bp (the model's crop) of a chromosome's ends, "
        "where no window on the chromosome predicts: nothing to predict; give regions away "
        "from the chromosome ends"
    )


def _run_settings(
    model_dir: str | os.PathLike[str],
    genome: Genome,
    bed: str | os.PathLike[str] | None,
    chroms: Sequence[str] | None,
    head: str,
    tracks: str | Sequence[str] | None,
    options: InferenceOptions,
    chunk_windows: int,
) -> dict[str, object]:
    """What decides a run's windows and values: a resumed run (or another shard) must
    have the same (the model and inputs by content, :mod:`crossreg.io.identity`: a copy
    at another path is the same input)."""
    return {
        "identity": IDENTITY_RULE,
        "model": checkpoint_identity(model_dir),
        "fasta": genome.fasta_identity(),
        "bed": content_identity(bed) if bed is not None else None,
        "chroms": list(chroms) if chroms is not None else None,
        "head": head,
        "tracks": tracks,
        "options": [options.rc, list(options.shifts), options.bf16],
        "chunk_windows": chunk_windows,
    }


def shard_windows(shard: Shard | None, n_tiles: int, chunk_windows: int) -> tuple[int, int]:
    """The windows ``[start, stop)`` of the `n_tiles` that `shard` predicts (all without
    one): its share of whole chunks of `chunk_windows`, so that its chunks, and the
    batches within them, are those of one run, and the BigWigs the same bytes (a shard
    of more than there are chunks has none)."""
    if shard is None:
        return 0, n_tiles
    first, stop = shard.bounds(-(-n_tiles // chunk_windows))
    return min(first * chunk_windows, n_tiles), min(stop * chunk_windows, n_tiles)


def _shard_layout(
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


def predict_chunks(
    model: SeqNN,
    genome: Genome,
    tiles: Sequence[Tile],
    head: str,
    options: InferenceOptions,
    store: ChunkStore,
    state: StoreState,
    start: int,
    stop: int,
    chunk_windows: int,
    chunk_dtype: str = "float32",
) -> StoreState:
    """Predict tiles ``[start, stop)`` chunk by chunk from where `state` stands, each
    chunk saved in `store` (``values.npy``, ``(tracks, bins)`` of `chunk_dtype`; float16
    clipped to its range) when it ends."""
    done = start + state.records_done
    with progress(stop - start, "predicting", "windows", initial=state.records_done) as meter:
        for a, b in chunk_bounds(done, stop, chunk_windows):
            parts = list(predict_tiles(model, genome, tiles[a:b], head, options))
            values = np.concatenate(parts, axis=1)
            if chunk_dtype == "float16":
                values = clip_float16(values)
            with store.chunk(state, values.shape[1], chunk_dtype) as writer:
                np.save(writer.directory / VALUES_FILE, values.astype(chunk_dtype))
            state = store.commit(state, b - a, b - a, 0)  # the store counts windows
            meter.update(b - a)
    return state


def full_store(err: OutputError, store: ChunkStore, total: int) -> OutputError:
    """`err`, a chunk that could not be saved in `store`, saying for a full disk (or
    quota) how many of the run's `total` windows the chunks saved before it hold and how
    to continue; other errors as they are."""
    if err.errno not in (errno.ENOSPC, errno.EDQUOT):
        return err
    done = store.saved().alleles_done  # the store counts windows
    then = (
        f"{done:,} of {total:,} windows are kept there: free space on its disk and rerun "
        "with --resume to continue"
        if done
        else f"no chunk was saved: free space on its disk, or link {store.root.name} to an "
        "empty folder on a bigger disk, and rerun"
    )
    return OutputError(
        err.errno,
        f"{os.strerror(err.errno)} while saving a chunk of predictions; {then}",
        err.filename,
    )


def coverage_summary(
    intervals: Sequence[tuple[str, int, int]], tiles: Sequence[Tile]
) -> dict[str, int]:
    """Bins asked for and bins predicted (the others lie where no window fits)."""
    return {
        "requested_bins": sum(hi - lo for _, lo, hi in intervals),
        "predicted_bins": sum(t.count for t in tiles),
    }


def shard_stores(outdir: Path) -> list[Path]:
    """The chunk stores of every shard of `outdir` on disk
    (``OUTDIR.shard-i-of-n.partial/``, whatever n)."""
    pattern = f"{glob.escape(outdir.name)}.shard-*-of-*.partial"
    return sorted(path for path in outdir.parent.glob(pattern) if path.is_dir())


def check_shard_settings(outdir: Path, shared: Mapping[str, object], changes: Changes) -> None:
    """Stop when a shard of `outdir` on disk recorded other `shared` settings than this
    one's (its inputs by content, regions, head, tracks, options, chunk size or shard
    count), naming what differs as `changes` does (:func:`run_setting_changes`: the head
    by its option as typed); one that has not recorded them yet is skipped."""
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


def _finished(
    outdir: Path, settings: Mapping[str, object], overwrite: bool, changes: Changes
) -> bool:
    """With ``--resume`` and no chunk store: whether `outdir`, a finished run's (whose
    ``summary.json``, written with the BigWigs into a folder that replaces `outdir` whole,
    records its `settings`), is this run's (:func:`~crossreg.io.finished.finished_run`:
    other settings are refused, named by `changes`). With `overwrite` one of other settings, or
    of an earlier crossreg, is replaced, as without ``--resume``; without it, one of an
    earlier crossreg is refused as then."""
    recorded = recorded_settings(outdir / SUMMARY_FILE)
    now = json.loads(json.dumps(settings, default=str))
    if not isinstance(recorded, Mapping) and not overwrite:
        check_replaceable(outdir, False, BIGWIG_FOLDER, "--bigwig")  # refused, as then
    if overwrite and isinstance(recorded, Mapping) and changes(recorded, now):
        return False  # replaced, as --overwrite replaces it without --resume
    return finished_run(outdir, recorded, now, changes, again="with --overwrite")


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


def write_track_files(
    outdir: Path,
    chunks: Sequence[tuple[Path, Sequence[Tile]]],
    sizes: dict[str, int],
    targets: Sequence[Target],
    geometry: Geometry,
    meta: dict[str, object],
    positions: Sequence[int] | None = None,
) -> int:
    """One BigWig per track from the chunks' values into the folder `outdir`, then
    ``tracks.tsv`` and ``summary.json`` (`meta` with the track count and the BigWigs'
    bytes, ``bigwig_bytes``); returns the BigWigs' bytes. ``tracks.tsv`` gives each
    track's ``index`` in the head, `positions` (default ``0 .. tracks-1``), which
    ``--targets`` takes, and its ``table_index``, the index of the targets table."""
    names = track_file_names(targets)
    header = dict(sizes)
    w = geometry.bin_width
    advice = "free at least {short} there and rerun with --resume (the predictions are kept)"
    guard = SpaceGuard(outdir, advice)
    with progress(len(targets), "writing BigWigs", "tracks") as meter:
        for group in range(0, len(targets), OPEN_FILES):
            members = range(group, min(group + OPEN_FILES, len(targets)))
            with contextlib.ExitStack() as stack:
                files = []
                for t in members:
                    bw = BigWigFile(outdir / names[t], header, guard)
                    stack.callback(bw.abandon)  # closes nothing closed already
                    files.append(bw)
                for values_path, chunk_tiles in chunks:
                    values = np.load(values_path, mmap_mode="r")
                    ends = np.cumsum([t.count for t in chunk_tiles])
                    for bw, t in zip(files, members, strict=True):
                        row = np.ascontiguousarray(values[t], dtype=np.float64)
                        for tile, end in zip(chunk_tiles, ends, strict=True):
                            bw.add_steps(
                                tile.chrom,
                                tile.position(geometry),
                                row[end - tile.count : end],
                                span=w,
                                step=w,
                            )
                for bw in files:
                    bw.close()
            meter.update(len(members))
    positions = range(len(targets)) if positions is None else positions
    with open(outdir / TRACKS_FILE, "w") as handle:
        handle.write("index\tidentifier\tdescription\tfile\ttable_index\n")
        for position, target, name in zip(positions, targets, names, strict=True):
            handle.write(
                f"{position}\t{target.identifier}\t{target.description}\t{name}\t{target.index}\n"
            )
    written = sum((outdir / name).stat().st_size for name in names)
    with open(outdir / SUMMARY_FILE, "w") as handle:
        json.dump({**meta, "tracks": len(targets), "bigwig_bytes": written}, handle, indent=1)
    return written
