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

import logging
import os
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import numpy as np

from crossreg import __version__
from crossreg.data import defaults
from crossreg.data.assembly import assembly_from_fasta_name
from crossreg.data.bigwig import report_absent_chromosomes
from crossreg.data.build_settings import build_settings, track_rows
from crossreg.data.checks import Inputs, check_inputs, check_numbers
from crossreg.data.chunked_targets import write_chunked_targets
from crossreg.data.compressed import compress_targets
from crossreg.data.description import (
    InputFiles,
    json_stats,
    split_rows,
    write_json,
    write_shard_description,
)
from crossreg.data.npy import NpyRows
from crossreg.data.plan import Layout, Plan, SplitOptions, plan_windows
from crossreg.data.resume import MARK, check_left_over, replaced_before, resumable
from crossreg.data.store import (
    METADATA,
    SHARD_METADATA,
    STORE_FORMAT,
    DataStore,
    store_version,
)
from crossreg.errors import require_kind, require_path_list
from crossreg.genome import Genome
from crossreg.io.atomic_dir import atomic_directory
from crossreg.io.bed import Interval, write_bed
from crossreg.io.replaceable import check_replaceable
from crossreg.io.targets import TargetsTable
from crossreg.io.targets_write import write_targets
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
    """Write ``sequences.npy`` at `path`: each window's bases, upper-cased ASCII."""
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
    files = InputFiles(fasta, targets, regions, gaps, blacklist, unmappable)
    _build(Path(out), files, options, None)
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
    files = InputFiles(fasta, targets, regions, gaps, blacklist, unmappable)
    _build(Path(out), files, options, shard)
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


def _build(out: Path, files: InputFiles, options: BuildOptions, shard: Shard | None) -> None:
    """Build the store (or `shard`'s directory) at `out`: every input checked, the windows
    planned, then the files written in the work folder, resumable."""
    inputs = _checked_inputs(out, files, options, shard)
    first, stop = track_bounds(shard, len(inputs.table))
    # a shard checks (warns about, or with --strict refuses) only its own tracks
    own_tracks = replace(inputs.table, targets=inputs.table.targets[first:stop])
    report_absent_chromosomes(
        own_tracks, inputs.genome.sizes, inputs.file_chroms, strict=options.strict
    )
    plan = _planned(inputs, options, files.fasta)
    if shard is not None:
        log.info("shard %d/%d: tracks %d-%d", shard.index, shard.count, first, stop - 1)
    table = replace(
        inputs.table,
        targets=tuple(
            replace(t, files=tuple(str(f) for f in inputs.table.track_files(t)))
            for t in inputs.table
        ),
    )
    metadata = _description(files, options, inputs.genome, plan, len(table))
    settings = build_settings(
        metadata,
        track_rows(table, first, stop, inputs.file_identity),
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
        _write_windows(work, table, plan, options.layout)
        if shard is None or shard.index == 0:
            with record.writing_sequences() as sequences:
                if sequences is not None:
                    _write_sequences(sequences, inputs.genome, plan, options.layout.seq_length)
        stats = write_chunked_targets(
            work,
            replace(table, targets=table.targets[first:stop]),
            plan,
            options.layout,
            threads=options.threads,
            memory_gb=options.memory_gb,
            fill_quantile=options.fill_quantile,
            genome_bases=sum(inputs.genome.sizes.values()),
            record=record,
        )
        metadata["tracks"] = [json_stats(s) for s in stats]
        _finish(work, metadata, options.compress_targets, shard, first, stop)
        compressed = shard is None and options.compress_targets is not None
        record.complete([work / "targets.npy"] if compressed else [])


def _checked_inputs(
    out: Path, files: InputFiles, options: BuildOptions, shard: Shard | None
) -> Inputs:
    """Refuse options out of range and an output the build may not write or replace, then
    read and cross-check the input `files` (:func:`~crossreg.data.checks.check_inputs`)."""
    require_path_list(files.blacklist, "blacklist")
    require_kind(options, BuildOptions, "options", "BuildOptions(genome='human')")
    _check_options(options)
    check_left_over(out, resume=options.resume, overwrite=options.overwrite)
    replaces = options.overwrite or (options.resume and replaced_before(out))
    check_replaceable(out, replaces, REPLACEABLE)
    return check_inputs(
        fasta=files.fasta,
        targets=files.targets,
        regions=files.regions,
        gaps=files.gaps,
        blacklist=files.blacklist,
        unmappable=files.unmappable,
        shard=shard,
    )


def _planned(inputs: Inputs, options: BuildOptions, fasta: str | os.PathLike[str]) -> Plan:
    """The windows of the build (:func:`~crossreg.data.plan.plan_windows`); none is an
    error."""
    layout = options.layout
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
    log.info("%d windows: %s", len(plan.windows), split_rows(plan))
    return plan


def _description(
    files: InputFiles, options: BuildOptions, genome: Genome, plan: Plan, n_tracks: int
) -> dict[str, object]:
    """The store's ``dataset.json`` but the tracks' statistics."""
    layout = options.layout
    return {
        "format": STORE_FORMAT,
        "format_version": store_version(options.compress_targets),
        "crossreg_version": __version__,
        "genome": options.genome,
        "assembly": options.assembly or assembly_from_fasta_name(files.fasta),
        "chrom_sizes": genome.sizes,
        "seq_length": layout.seq_length,
        "pool_width": layout.pool_width,
        "crop_bins": layout.crop_bins,
        "crop_bp": layout.crop_bp,
        "target_length": layout.target_bins,
        "stride": layout.stride,
        "stride_test": layout.stride_test or layout.stride,
        "num_targets": n_tracks,
        "num_windows": len(plan.windows),
        "splits": split_rows(plan),
        "dropped_unmappable": plan.dropped_unmappable,
        "sequence_codes": "ASCII, uppercase; A,C,G,T and N (other IUPAC codes kept)",
        "options": {
            "min_n_run": options.min_n_run,
            "max_unmappable": options.max_unmappable,
            "fill_quantile": options.fill_quantile,
            "split": asdict(options.split) if files.regions is None else None,
            "compress_targets": options.compress_targets,
        },
        "inputs": files.paths(),
        "input_content": files.content(genome),
    }


def _write_windows(work: Path, table: TargetsTable, plan: Plan, layout: Layout) -> None:
    """Write the store's small files: the targets table, the windows and regions BEDs and
    the windows' mask."""
    extra_columns = list(dict.fromkeys(k for t in table for k in t.extra))
    write_targets(work / "targets.txt", table.targets, extra_columns=extra_columns)
    w = plan.windows
    rows = zip(w.chroms.tolist(), w.starts.tolist(), w.splits.tolist(), strict=True)
    write_bed(
        work / "sequences.bed",
        (Interval(c, s, s + layout.seq_length, (sp,)) for c, s, sp in rows),
    )
    write_bed(work / "regions.bed", plan.regions)
    np.save(work / "masked.npy", plan.masked)


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
    if shard is not None:
        write_shard_description(work, metadata, shard, first, stop)
        return
    if level is not None:
        compress_targets(work, level, keep_source=True)  # deleted once on the disk
    write_json(work / METADATA, metadata)
