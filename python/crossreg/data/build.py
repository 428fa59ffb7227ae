"""Building a dataset store (:mod:`crossreg.data.store` describes its layout).

A build writes into ``.<name>.partial`` beside the destination and renames it when
complete; it records there what it has finished, so that an interrupted build continues
with ``resume`` (:mod:`crossreg.data.resume`); a leftover partial directory without that
record (a crash before any work finished) is removed by the next build.

A build of one shard of the tracks (:func:`build_shard`, ``crossreg data --tracks i/n``)
writes a *shard directory* instead: ``shard.json`` (the dataset description with
this shard's tracks' statistics), ``targets.npy`` of its tracks, the small window files,
and ``sequences.npy`` in shard 0 only; :func:`crossreg.data.shards.merge_shards` joins the
shards into the store one build would have written, byte for byte.
"""

from __future__ import annotations

import json
import logging
import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import numpy as np

from crossreg import __version__
from crossreg.data import defaults
from crossreg.data.assembly import assembly_from_fasta_name
from crossreg.data.bigwig import compute_targets, report_absent_chromosomes
from crossreg.data.budget import GIB, Footprint, threads_within, tracks_per_chunk
from crossreg.data.checks import check_inputs, check_numbers
from crossreg.data.compressed import compress_targets
from crossreg.data.interleave import MERGE_BLOCK_BYTES, merge_track_chunks
from crossreg.data.npy import NpyRows
from crossreg.data.plan import Layout, Plan, SplitOptions, plan_windows
from crossreg.data.resume import (
    MARK,
    BuildRecord,
    build_settings,
    check_left_over,
    replaced_before,
    resumable,
)
from crossreg.data.store import (
    METADATA,
    SHARD_FORMAT,
    SHARD_METADATA,
    SHARD_VERSION,
    STORE_FORMAT,
    DataStore,
    store_version,
)
from crossreg.devices import usable_cores
from crossreg.errors import first_few, require_kind, require_path_list
from crossreg.genome import Genome
from crossreg.io.atomic import atomic_directory, atomic_write, check_replaceable
from crossreg.io.bed import Interval, write_bed
from crossreg.io.identity import content_identity
from crossreg.io.targets import Target, TargetsTable, write_targets
from crossreg.memory import release_free_memory
from crossreg.progress import progress
from crossreg.shard import Shard

log = logging.getLogger("crossreg")

#: Upper-casing table for ASCII codes.
_UPPER = np.array([c - 32 if 97 <= c <= 122 else c for c in range(256)], dtype=np.uint8)

#: Windows whose sequences are fetched at once.
_SEQ_BATCH = 256


@dataclass(frozen=True)
class BuildOptions:
    """Everything about a build except the input files."""

    genome: str
    assembly: str | None = None
    layout: Layout = field(default_factory=Layout)
    split: SplitOptions = field(default_factory=SplitOptions)
    min_n_run: int = defaults.DEFAULT_MIN_N_RUN
    max_unmappable: float = defaults.DEFAULT_MAX_UNMAPPABLE
    fill_quantile: float = defaults.DEFAULT_FILL_QUANTILE
    threads: int | None = None
    memory_gb: float = defaults.DEFAULT_MEMORY_GB
    overwrite: bool = False
    #: A track whose BigWigs lack some of the genome's chromosomes is an error, not masked.
    strict: bool = False
    #: Deflate level (0-12) of compressed targets (``targets.rows``); None: ``targets.npy``.
    compress_targets: int | None = None
    #: Continue the interrupted build of the same output (:mod:`crossreg.data.resume`).
    resume: bool = False


#: What a dataset build may replace (with ``--overwrite``): marker file → what it is.
REPLACEABLE = {METADATA: "a dataset", SHARD_METADATA: "a shard of a dataset"}


def _write_sequences(path: Path, genome: Genome, plan: Plan, seq_length: int) -> None:
    w = plan.windows
    with (
        NpyRows(path, "w", dtype=np.uint8, shape=(len(w), seq_length)) as seqs,
        progress(len(w), "sequences", "windows") as meter,
    ):
        for a in range(0, len(w), _SEQ_BATCH):
            b = min(a + _SEQ_BATCH, len(w))
            codes = genome.fetch_many(w.chroms[a:b].tolist(), w.starts[a:b], seq_length)
            seqs.write(a, _UPPER[codes])
            meter.update(b - a)


def _write_targets(
    work: Path,
    table: TargetsTable,
    plan: Plan,
    layout: Layout,
    options: BuildOptions,
    genome_bases: int,
    record: BuildRecord,
) -> list[dict]:
    """Compute the targets in chunks of tracks (each within the memory budget; those
    `record` holds finished are kept), then interleave the chunk files into
    ``targets.npy``."""
    w = plan.windows
    bins, n_tracks = layout.target_bins, len(table)
    footprint = Footprint.of(w.chroms.tolist(), bins, genome_bases)
    budget = int(options.memory_gb * GIB)
    wanted = options.threads or usable_cores()
    threads = threads_within(footprint, wanted, budget)
    _warn_budget(footprint, options.memory_gb, wanted, threads)
    chunk = tracks_per_chunk(footprint, n_tracks, threads, budget)
    bounds = record.chunking(
        lambda: [(t0, min(t0 + chunk, n_tracks)) for t0 in range(0, n_tracks, chunk)]
    )
    interleaved = record.interleaved()
    if interleaved is not None:  # resumed after the interleave
        _warn_overflow(table, interleaved)
        _warn_empty(table, interleaved)
        return interleaved
    starts = w.starts + layout.crop_bp
    final = work / "targets.npy"
    stats: list[dict] = []
    parts: list[Path] = []
    # a native call per `threads` tracks keeps them busy (the chromosomes of a track run
    # in parallel too) and lets the progress move as the tracks finish
    step = threads
    desc = f"targets ({n_tracks} tracks × {len(w)} windows)"
    with progress(n_tracks * len(w), desc, "track-windows") as meter:
        for k, (t0, t1) in enumerate(bounds):
            path = final if len(bounds) == 1 else work / f"targets.part{k:05d}.npy"
            parts.append(path)
            kept = record.done(k)
            if kept is not None:
                stats += kept[1]
                meter.update((t1 - t0) * len(w))
                continue
            group = list(table.targets[t0:t1])
            chunk_stats: list[dict] = []
            values = np.empty((len(w), bins, len(group)), dtype=np.float16)
            for g0 in range(0, len(group), step):
                some = group[g0 : g0 + step]
                try:
                    part, part_stats = compute_targets(
                        table,
                        some,
                        w.chroms,
                        starts,
                        bins=bins,
                        pool_width=layout.pool_width,
                        mask=plan.masked,
                        fill_quantile=options.fill_quantile,
                        threads=options.threads if threads == wanted else threads,
                        out=values if len(some) == len(group) else None,
                    )
                except ValueError as err:  # a data block the checks do not read
                    raise ValueError(_in_track(err, table, some)) from None
                if part is not values:
                    values[:, :, g0 : g0 + len(some)] = part
                del part
                chunk_stats += [
                    {"identifier": t.identifier, **s} for t, s in zip(some, part_stats, strict=True)
                ]
                meter.update(len(some) * len(w))
                release_free_memory()  # the call's buffers, held by its threads' arenas
            with (
                record.writing_chunk(k, path, chunk_stats) as tmp,
                NpyRows(tmp, "w", dtype=np.float16, shape=values.shape) as out,
            ):
                out.write(0, values)
            del values
            release_free_memory()
            stats += chunk_stats
    _warn_overflow(table, stats)
    _warn_empty(table, stats)
    if len(bounds) > 1:
        block_bytes = min(MERGE_BLOCK_BYTES, budget - footprint.base())
        with record.interleaving(final, stats) as tmp:
            merge_track_chunks(tmp, parts, len(w), bins, n_tracks, block_bytes, temporary=True)
    return stats


def _warn_budget(footprint: Footprint, memory_gb: float, wanted: int, threads: int) -> None:
    """Warn when ``--memory-gb`` is below what one track on one thread holds (the build
    goes on so, and may exceed it), or keeps fewer than the `wanted` threads busy."""
    windows = sum(footprint.windows_per_chrom)
    smallest = footprint.smallest() / GIB
    if memory_gb < smallest:
        log.warning(
            "--memory-gb %g is below the %.3g GiB a build of %d windows holds at least "
            "(%.2g GiB of them the interpreter, the FASTA and the windows' mask; %.2g GiB "
            "per track computed): it runs one track at a time on one thread and may "
            "exceed it; give --memory-gb %g or more",
            memory_gb,
            smallest,
            windows,
            footprint.base() / GIB,
            footprint.peak(1, 1, 1) / GIB - footprint.base() / GIB,
            _gib_up(footprint.smallest()),
        )
    elif threads < wanted:
        log.warning(
            "--memory-gb %g holds %d track(s) at a time over %d windows: %d of the %d "
            "threads run; give --memory-gb %g to run them all",
            memory_gb,
            threads,
            windows,
            threads,
            wanted,
            _gib_up(footprint.smallest(wanted)),
        )


def _gib_up(size: int) -> float:
    """`size` bytes in GiB to 3 significant digits, rounded up: a ``--memory-gb`` that
    holds them."""
    value = size / GIB
    scale = 10.0 ** (2 - math.floor(math.log10(value)))
    rounded = math.ceil(value * scale) / scale
    return rounded if int(rounded * GIB) >= size else (math.ceil(value * scale) + 1) / scale


def _in_track(err: ValueError, table: TargetsTable, tracks: Sequence[Target]) -> str:
    """The message of `err`, raised computing `tracks`, with the track whose file it names
    and its row: a file damaged inside its data, which the input checks (they read each
    file's header and index) let pass."""
    text = str(err)
    for target in tracks:
        if any(text.startswith(f"{file}:") for file in table.track_files(target)):
            return (
                f"{text} (track '{target.identifier}', {table.path} line "
                f"{table.line_of(target)}); copy the file again or replace it, then rerun (built "
                "in shards, --tracks i/n, only that track's shard)"
            )
    return text


def _warn_overflow(table: TargetsTable, stats: Sequence[dict]) -> None:
    """Warn about tracks whose scaled values overflowed float16 (stored as 65,504): those
    whose BigWigs hold +inf apart, as lowering the clip or scale leaves +inf as it is."""
    over = [s for s in stats if s["overflow_fraction"] > 0]
    infinite = [s for s in over if s["pooled_max"] == math.inf]
    for tracks, why, fix in (
        (
            [s for s in over if s not in infinite],
            "have bins above the float16 range after clipping and scaling",
            "lower their clip or scale",
        ),
        (
            infinite,
            "have bins of +inf (their BigWigs hold +inf values, which a soft clip and a scale "
            "leave infinite)",
            "check their files",
        ),
    ):
        if not tracks:
            continue
        shown = first_few(
            [f"{s['identifier']} ({100 * s['overflow_fraction']:.3g}%)" for s in tracks]
        )
        log.warning(
            "%s: %d tracks %s, stored as 65,504 (the share of bins in brackets): %s; %s",
            table.path,
            len(tracks),
            why,
            shown,
            fix,
        )


def _warn_empty(table: TargetsTable, stats: Sequence[dict]) -> None:
    """Warn about tracks that are 0 in every bin of the windows: their BigWigs hold no
    positive value there (a file written without data, or one of negative values only),
    so their targets carry nothing to learn and their correlations are undefined."""
    empty = [s["identifier"] for s in stats if s["pooled_max"] == 0]
    if not empty:
        return
    shown = first_few(empty)
    log.warning(
        "%s: %d tracks are 0 in every bin of the windows (their BigWigs hold no positive "
        "value there: a file without data, or negative values only): %s; check their files",
        table.path,
        len(empty),
        shown,
    )


def write_json(path: Path, content: dict) -> None:
    """Write `content` as the store's JSON files are written (indent 1, strict JSON: no
    NaN or Infinity), atomically."""
    with atomic_write(path) as handle:
        json.dump(content, handle, indent=1, allow_nan=False)


def _json_stats(stats: dict) -> dict:
    """A track's statistics as `dataset.json` holds them: non-finite ones (a BigWig
    holding +inf) as None (null)."""
    return {
        key: None if isinstance(value, float) and not math.isfinite(value) else value
        for key, value in stats.items()
    }


def _split_rows(plan: Plan) -> dict[str, dict[str, int]]:
    rows: dict[str, dict[str, int]] = {}
    offset = 0
    for name in plan.windows.split_names():
        count = int((plan.windows.splits == name).sum())
        rows[name] = {"offset": offset, "count": count}
        offset += count
    return rows


def build_dataset(
    out: str | os.PathLike[str],
    *,
    fasta: str | os.PathLike[str],
    targets: str | os.PathLike[str],
    options: BuildOptions,
    regions: str | os.PathLike[str] | None = None,
    gaps: str | os.PathLike[str] | None = None,
    blacklist: Sequence[str | os.PathLike[str]] = (),
    unmappable: str | os.PathLike[str] | None = None,
) -> DataStore:
    """Build the dataset store of one genome at `out` and open it.

    Every input is checked before work starts (ValueError naming the file and record).
    """
    _build(
        Path(out),
        fasta,
        targets,
        options,
        None,
        regions=regions,
        gaps=gaps,
        blacklist=blacklist,
        unmappable=unmappable,
    )
    return DataStore(out)


def build_shard(
    out: str | os.PathLike[str],
    shard: Shard,
    *,
    fasta: str | os.PathLike[str],
    targets: str | os.PathLike[str],
    options: BuildOptions,
    regions: str | os.PathLike[str] | None = None,
    gaps: str | os.PathLike[str] | None = None,
    blacklist: Sequence[str | os.PathLike[str]] = (),
    unmappable: str | os.PathLike[str] | None = None,
) -> Path:
    """Build `shard` of the tracks of the store :func:`build_dataset` would write, as a shard
    directory at `out` (returned); :func:`crossreg.data.shards.merge_shards` joins them."""
    _build(
        Path(out),
        fasta,
        targets,
        options,
        shard,
        regions=regions,
        gaps=gaps,
        blacklist=blacklist,
        unmappable=unmappable,
    )
    return Path(out)


def track_bounds(shard: Shard | None, n_tracks: int) -> tuple[int, int]:
    """The tracks ``[first, stop)`` a build writes: all of them, or `shard`'s share (every
    shard must get one)."""
    if shard is None:
        return 0, n_tracks
    if shard.count > n_tracks:
        raise ValueError(
            f"--tracks {shard}: the targets table has only {n_tracks} tracks; use at most "
            f"{n_tracks} shards"
        )
    return shard.bounds(n_tracks)


def _build(
    out: Path,
    fasta: str | os.PathLike[str],
    targets: str | os.PathLike[str],
    options: BuildOptions,
    shard: Shard | None,
    *,
    regions: str | os.PathLike[str] | None,
    gaps: str | os.PathLike[str] | None,
    blacklist: Sequence[str | os.PathLike[str]],
    unmappable: str | os.PathLike[str] | None,
) -> None:
    require_path_list(blacklist, "blacklist")
    require_kind(options, BuildOptions, "options", "BuildOptions(genome='human')")
    layout = options.layout
    _check_options(options)
    check_left_over(out, resume=options.resume, overwrite=options.overwrite)
    replaces = options.overwrite or (options.resume and replaced_before(out))
    check_replaceable(out, replaces, REPLACEABLE)
    inputs = check_inputs(
        fasta=fasta,
        targets=targets,
        regions=regions,
        gaps=gaps,
        blacklist=blacklist,
        unmappable=unmappable,
        shard=shard,
    )
    first, stop = track_bounds(shard, len(inputs.table))
    # a shard checks (warns about, or with --strict refuses) only its own tracks
    own_tracks = replace(inputs.table, targets=inputs.table.targets[first:stop])
    report_absent_chromosomes(
        own_tracks, inputs.genome.sizes, inputs.file_chroms, strict=options.strict
    )
    plan = plan_windows(
        inputs,
        layout,
        options.split,
        min_n_run=options.min_n_run,
        max_unmappable=options.max_unmappable,
    )
    if len(plan.windows) == 0:
        raise ValueError(
            f"no window of {layout.seq_length:,} bp fits inside the contigs/regions of "
            f"{fasta}; use a shorter --seq-length or check the gaps and regions BEDs"
        )
    log.info("%d windows: %s", len(plan.windows), _split_rows(plan))
    if shard is not None:
        log.info("shard %d/%d: tracks %d-%d", shard.index, shard.count, first, stop - 1)
    table = replace(
        inputs.table,
        targets=tuple(
            replace(t, files=tuple(str(f) for f in inputs.table.track_files(t)))
            for t in inputs.table
        ),
    )
    w = plan.windows
    metadata = {
        "format": STORE_FORMAT,
        "format_version": store_version(options.compress_targets),
        "crossreg_version": __version__,
        "genome": options.genome,
        "assembly": options.assembly or assembly_from_fasta_name(fasta),
        "chrom_sizes": inputs.genome.sizes,
        "seq_length": layout.seq_length,
        "pool_width": layout.pool_width,
        "crop_bins": layout.crop_bins,
        "crop_bp": layout.crop_bp,
        "target_length": layout.target_bins,
        "stride": layout.stride,
        "stride_test": layout.stride_test or layout.stride,
        "num_targets": len(table),
        "num_windows": len(w),
        "splits": _split_rows(plan),
        "dropped_unmappable": plan.dropped_unmappable,
        "sequence_codes": "ASCII, uppercase; A,C,G,T and N (other IUPAC codes kept)",
        "options": {
            "min_n_run": options.min_n_run,
            "max_unmappable": options.max_unmappable,
            "fill_quantile": options.fill_quantile,
            "split": asdict(options.split) if regions is None else None,
            "compress_targets": options.compress_targets,
        },
        "inputs": _input_paths(fasta, targets, regions, gaps, blacklist, unmappable),
        "input_content": _input_content(inputs.genome, regions, gaps, blacklist, unmappable),
    }
    settings = build_settings(
        metadata,
        _track_rows(table, first, stop, inputs.file_identity),
        None if shard is None else str(shard),
        options.strict,
    )
    with (
        atomic_directory(out, keep=MARK) as work,
        resumable(
            out,
            work,
            settings,
            resume=options.resume,
            overwrite=options.overwrite,
            files=[list(t.files) for t in table],
        ) as record,
    ):
        extra_columns = list(dict.fromkeys(k for t in table for k in t.extra))
        write_targets(work / "targets.txt", table.targets, extra_columns=extra_columns)
        rows = zip(w.chroms.tolist(), w.starts.tolist(), w.splits.tolist(), strict=True)
        write_bed(
            work / "sequences.bed",
            (Interval(c, s, s + layout.seq_length, (sp,)) for c, s, sp in rows),
        )
        write_bed(work / "regions.bed", plan.regions)
        np.save(work / "masked.npy", plan.masked)
        if shard is None or shard.index == 0:
            with record.writing_sequences() as sequences:
                if sequences is not None:
                    _write_sequences(sequences, inputs.genome, plan, layout.seq_length)
        shard_table = replace(table, targets=table.targets[first:stop])
        genome_bases = sum(inputs.genome.sizes.values())
        stats = _write_targets(work, shard_table, plan, layout, options, genome_bases, record)
        metadata["tracks"] = [_json_stats(s) for s in stats]
        _finish(work, metadata, options.compress_targets, shard, first, stop)
        compressed = shard is None and options.compress_targets is not None
        record.complete([work / "targets.npy"] if compressed else [])


def _track_rows(
    table: TargetsTable, first: int, stop: int, identities: Mapping[Path, object]
) -> list[list[object]]:
    """The tracks of `table` as a resume must find them again: their columns, and the
    files of those the build computes, ``[first, stop)``, by their `identities`
    (:func:`~crossreg.data.bigwig.bigwig_identity`, taken as the inputs were checked: a
    few blocks of each hashed, not the whole file, as thousands of BigWigs are read whole
    by one build alone; a shard's node may hold only its own)."""
    return [
        [t.index, t.identifier, t.clip, t.scale, t.sum_stat, t.description, t.clip_soft, t.extra]
        + ([identities[Path(f)] for f in t.files] if first <= k < stop else [])
        for k, t in enumerate(table)
    ]


def _check_options(options: BuildOptions) -> None:
    """Refuse a window layout, thread count, fraction or deflate level out of range."""
    layout = options.layout
    check_numbers(
        seq_length=layout.seq_length,
        stride=layout.stride,
        stride_test=layout.stride_test,
        crop_bins=layout.crop_bins,
        pool_width=layout.pool_width,
        threads=options.threads,
        max_unmappable=options.max_unmappable,
        fill_quantile=options.fill_quantile,
    )
    level = options.compress_targets
    if level is not None and not 0 <= level <= 12:
        raise ValueError(f"--compress-targets {level}: the deflate level is 0 to 12 (1: fast)")


def _input_paths(
    fasta: str | os.PathLike[str],
    targets: str | os.PathLike[str],
    regions: str | os.PathLike[str] | None,
    gaps: str | os.PathLike[str] | None,
    blacklist: Sequence[str | os.PathLike[str]],
    unmappable: str | os.PathLike[str] | None,
) -> dict[str, object]:
    """The metadata's ``inputs``: each input file's absolute path (None when not given)."""
    return {
        "fasta": str(Path(fasta).resolve()),
        "targets": str(Path(targets).resolve()),
        "regions": str(Path(regions).resolve()) if regions else None,
        "gaps": str(Path(gaps).resolve()) if gaps else None,
        "blacklist": [str(Path(b).resolve()) for b in blacklist],
        "unmappable": str(Path(unmappable).resolve()) if unmappable else None,
    }


def _input_content(
    genome: Genome,
    regions: str | os.PathLike[str] | None,
    gaps: str | os.PathLike[str] | None,
    blacklist: Sequence[str | os.PathLike[str]],
    unmappable: str | os.PathLike[str] | None,
) -> dict[str, object]:
    """The metadata's ``input_content``: the FASTA's and BEDs' size and SHA-256
    (:func:`content_identity`; the FASTA's taken as `genome` was loaded), by which a track
    shard is matched with the others wherever its inputs lay; the targets table is matched
    by its rows (``targets.txt`` without the file column), each BigWig being read by one
    shard alone."""

    def identity(path: str | os.PathLike[str] | None) -> dict[str, object] | None:
        return content_identity(path) if path else None

    return {
        "fasta": genome.content_identity(),
        "regions": identity(regions),
        "gaps": identity(gaps),
        "blacklist": [content_identity(b) for b in blacklist],
        "unmappable": identity(unmappable),
    }


def _finish(
    work: Path,
    metadata: dict[str, object],
    level: int | None,
    shard: Shard | None,
    first: int,
    stop: int,
) -> None:
    """Seal the store being written in `work`: compress its targets (deflate `level`, when
    given; ``targets.npy`` is left for the caller to delete) and write its metadata, or
    for a shard of tracks ``[first, stop)`` write the shard's metadata around the store's,
    its targets left for the merge to compress."""
    if shard is None:
        if level is not None:
            compress_targets(work, level, keep_source=True)  # deleted once on the disk
        write_json(work / METADATA, metadata)
        return
    write_json(
        work / SHARD_METADATA,
        {
            "format": SHARD_FORMAT,
            "format_version": SHARD_VERSION,
            "shard": {
                "index": shard.index,
                "count": shard.count,
                "first_track": first,
                "stop_track": stop,
            },
            "dataset": metadata,
        },
    )
