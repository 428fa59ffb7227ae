"""A dataset build's targets, computed in chunks of tracks that each fit the memory budget
(those a resumed build finished are kept), then interleaved into ``targets.npy``."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from crossreg.data.bigwig import compute_targets
from crossreg.data.budget import GIB, Footprint, threads_within, tracks_per_chunk
from crossreg.data.interleave import MERGE_BLOCK_BYTES, merge_track_chunks
from crossreg.data.npy import NpyRows
from crossreg.data.plan import Layout, Plan
from crossreg.data.resume import BuildRecord
from crossreg.data.target_warnings import warn_budget, warn_empty, warn_overflow
from crossreg.devices import usable_cores
from crossreg.io.targets import Target, TargetsTable
from crossreg.memory import release_free_memory
from crossreg.progress import Progress, progress


@dataclass(frozen=True)
class _Computation:
    """How the tracks of `table` are computed over the windows of `plan`: `threads` as
    the native call takes it, `step` tracks per call."""

    table: TargetsTable
    plan: Plan
    layout: Layout
    fill_quantile: float
    threads: int | None
    step: int

    def chunk(self, group: Sequence[Target], meter: Progress) -> tuple[np.ndarray, list[dict]]:
        """The float16 targets ``(windows, bins, tracks)`` of the tracks `group` and their
        statistics: a native call per `step` tracks keeps that many threads busy (the
        chromosomes of a track run in parallel too) and lets the progress move as the
        tracks finish."""
        w = self.plan.windows
        starts = w.starts + self.layout.crop_bp
        values = np.empty((len(w), self.layout.target_bins, len(group)), dtype=np.float16)
        stats: list[dict] = []
        for g0 in range(0, len(group), self.step):
            some = group[g0 : g0 + self.step]
            try:
                part, part_stats = compute_targets(
                    self.table,
                    some,
                    w.chroms,
                    starts,
                    bins=self.layout.target_bins,
                    pool_width=self.layout.pool_width,
                    mask=self.plan.masked,
                    fill_quantile=self.fill_quantile,
                    threads=self.threads,
                    out=values if len(some) == len(group) else None,
                )
            except ValueError as err:  # a data block the checks do not read
                raise ValueError(_in_track(err, self.table, some)) from None
            if part is not values:
                values[:, :, g0 : g0 + len(some)] = part
            del part
            stats += [
                {"identifier": t.identifier, **s} for t, s in zip(some, part_stats, strict=True)
            ]
            meter.update(len(some) * len(w))
            release_free_memory()  # the call's buffers, held by its threads' arenas
        return values, stats


def write_chunked_targets(
    work: Path,
    table: TargetsTable,
    plan: Plan,
    layout: Layout,
    *,
    threads: int | None,
    memory_gb: float,
    fill_quantile: float,
    genome_bases: int,
    record: BuildRecord,
) -> list[dict]:
    """Write ``targets.npy`` of the tracks of `table` into `work` and return their
    statistics: computed in chunks of tracks, each within `memory_gb` (those `record`
    holds finished are kept), on `threads` (None: every usable core) or as many as the
    budget holds, then the chunk files interleaved."""
    w = plan.windows
    n_tracks = len(table)
    footprint = Footprint.of(w.chroms.tolist(), layout.target_bins, genome_bases)
    budget = int(memory_gb * GIB)
    wanted = threads or usable_cores()
    running = threads_within(footprint, wanted, budget)
    warn_budget(footprint, memory_gb, wanted, running)
    chunk = tracks_per_chunk(footprint, n_tracks, running, budget)
    bounds = record.chunking(
        lambda: [(t0, min(t0 + chunk, n_tracks)) for t0 in range(0, n_tracks, chunk)]
    )
    interleaved = record.interleaved()
    if interleaved is not None:  # resumed after the interleave
        warn_overflow(table, interleaved)
        warn_empty(table, interleaved)
        return interleaved
    computation = _Computation(
        table, plan, layout, fill_quantile, threads if running == wanted else running, running
    )
    final = work / "targets.npy"
    parts = (
        [final]
        if len(bounds) == 1
        else [work / f"targets.part{k:05d}.npy" for k in range(len(bounds))]
    )
    stats = _write_chunks(computation, bounds, parts, record)
    warn_overflow(table, stats)
    warn_empty(table, stats)
    if len(bounds) > 1:
        block_bytes = min(MERGE_BLOCK_BYTES, budget - footprint.base())
        with record.interleaving(final, stats) as tmp:
            merge_track_chunks(
                tmp, parts, len(w), layout.target_bins, n_tracks, block_bytes, temporary=True
            )
    return stats


def _write_chunks(
    computation: _Computation,
    bounds: Sequence[tuple[int, int]],
    parts: Sequence[Path],
    record: BuildRecord,
) -> list[dict]:
    """Compute and write each chunk of tracks ``[t0, t1)`` of `bounds` to its file of
    `parts`, counted by `record` (one it holds finished is kept); the tracks' statistics."""
    table, n_windows = computation.table, len(computation.plan.windows)
    stats: list[dict] = []
    desc = f"targets ({len(table)} tracks × {n_windows} windows)"
    with progress(len(table) * n_windows, desc, "track-windows") as meter:
        for k, ((t0, t1), path) in enumerate(zip(bounds, parts, strict=True)):
            kept = record.done(k)
            if kept is not None:
                stats += kept
                meter.skip((t1 - t0) * n_windows)
                continue
            values, chunk_stats = computation.chunk(list(table.targets[t0:t1]), meter)
            with (
                record.writing_chunk(k, path, chunk_stats) as tmp,
                NpyRows(tmp, "w", dtype=np.float16, shape=values.shape) as out,
            ):
                out.write(0, values)
            del values
            release_free_memory()
            stats += chunk_stats
    return stats


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
