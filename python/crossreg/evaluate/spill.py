"""Whole-column statistics of ``crossreg evaluate``: ``--specificity``, ``--rank`` and
``--peaks`` (Basenji's ``basenji_test_specificity.py`` and ``basenji_test.py --rank
--peaks``).

They need every position of a track at once (ranks, sorts, a peak call over the track's
mean), where Pearson R and R² accumulate window by window. So while evaluate streams over
the split, :class:`ColumnSpill` writes the predictions (float32) and targets (the store's
float16) track-major to two ``.npy`` files in a scratch folder
(:mod:`crossreg.evaluate.scratch`): ``6·positions`` bytes per
track on disk (positions = windows × bins; a human test split of 1,937 windows × 896 bins
holds 1.74 M, so 10.4 MB per track, 55 GB for 5,313 tracks). The statistics then read the
tracks back in groups of :func:`group_size` tracks, whose working memory (the two
columns, their float64 sorts, ranks and argsort indices: at most :data:`BYTES_PER_VALUE`
bytes per position and track, 111 MB per track at 1.74 M positions) stays under
:data:`GROUP_BYTES`. The memory maps' pages are let go (:meth:`ColumnSpill.release`)
every :data:`RELEASE_BYTES` of pages touched and after each group read, so the process's
resident memory does not grow to the spill's size. Specificity adds four float64 vectors
of one class (the mean sorted column and the row means of predictions and targets: 32
bytes per position, 56 MB at 1.74 M positions). Without these options nothing is written
and evaluate runs as before.
"""

from __future__ import annotations

import logging
import mmap
import os
import shutil
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Protocol, TypeVar

import numpy as np
import numpy.typing as npt

from crossreg.devices import usable_cores
from crossreg.errors import first_few
from crossreg.evaluate.columns import (
    PEAK_STRIDE,
    peak_scores,
    pearson,
    sorted_column,
    spearman,
    tie_mean,
)
from crossreg.evaluate.defaults import MIN_CLASS
from crossreg.evaluate.kept import reopen
from crossreg.io.assays import assay_of
from crossreg.io.space import SpaceError, allocated_memmap
from crossreg.progress import Progress, progress

if TYPE_CHECKING:
    import torch

log = logging.getLogger("crossreg")
T = TypeVar("T")

GROUP_BYTES = 1 << 30  # the working memory of one group of tracks
BYTES_PER_VALUE = 64  # per position and track: the columns, float64 sorts, ranks, indices
# bytes of pages touched through the spill's memory maps between releases of them
RELEASE_BYTES = 256 << 20
#: What a resume whose kept files are damaged deletes to start again.
RESTART = "the checkpoint that keeps them (.partial in --out)"


@dataclass(frozen=True)
class ColumnOptions:
    """Which whole-column statistics to add: ``specificity`` (per class of at least
    ``min_class`` tracks), ``rank`` (Spearman R) and ``peaks`` (AUROC/AUPRC of a
    Poisson peak call)."""

    specificity: bool = False
    rank: bool = False
    peaks: bool = False
    min_class: int = MIN_CLASS

    def __post_init__(self) -> None:
        if self.min_class < 2:
            raise ValueError(
                f"min_class {self.min_class}: a class needs at least 2 tracks for "
                "specificity (each row's mean over one track is the track itself)"
            )

    @property
    def any(self) -> bool:
        """Whether any statistic is asked for (else nothing is spilled)."""
        return self.specificity or self.rank or self.peaks


def group_size(positions: int) -> int:
    """How many tracks of `positions` values each one group holds within
    :data:`GROUP_BYTES` (at least one)."""
    return max(1, GROUP_BYTES // (BYTES_PER_VALUE * max(positions, 1)))


#: How :func:`specificity_class` forms the classes, recorded in the settings of a run with
#: ``--specificity`` (:func:`crossreg.evaluate.checkpoint.evaluation_settings`): a
#: checkpoint or summary without it was written by an earlier crossreg, whose classes
#: differ, so its results kept by class number are not taken.
CLASS_SCHEME = "basenji"
#: How the classes of an earlier crossreg (without :data:`CLASS_SCHEME`) differ.
OLD_CLASSES = (
    "its --specificity classes were formed by an earlier crossreg (each description "
    "without ':' a class of its own, CHIP:<mark> without a cell type in class CHIP), "
    "not as this version forms them"
)


def specificity_class(description: str) -> str:
    """The class a track's specificity is normalised within, as Basenji's
    ``basenji_test_specificity.py`` forms them: its assay
    (:func:`crossreg.io.assays.assay_of`: every description without ':' in one class,
    ``OTHER``), ChIP split by mark or factor, the field after ``CHIP:`` whatever follows
    it (``CHIP:H3K27ac:liver`` and ``CHIP:H3K27ac`` are both in ``CHIP:H3K27ac``)."""
    fields = description.split(":")
    if fields[0] == "CHIP" and len(fields) > 1:
        return ":".join(fields[:2])
    return assay_of(description)


class Kept(Protocol):
    """Where :func:`column_metrics` keeps what it has computed, so that an interrupted run
    continues after it: arrays by key, each kept as soon as it is put."""

    def get(self, key: str) -> npt.NDArray | None:
        """The array kept under `key`, or None."""

    def put(self, key: str, value: npt.NDArray) -> None:
        """Keep `value` under `key`."""


class InMemory(dict[str, npt.NDArray]):
    """:class:`Kept` for a run that keeps nothing beyond itself."""

    def put(self, key: str, value: npt.NDArray) -> None:
        """Keep `value` under `key`."""
        self[key] = value


class ColumnSpill:
    """A split's predictions and targets, written track-major to ``pred.npy`` and
    ``target.npy`` in `folder` batch by batch, read back in groups of tracks. With
    `resume` the files an interrupted run wrote there are opened to go on writing."""

    def __init__(
        self,
        folder: str | os.PathLike[str],
        windows: int,
        bins: int,
        tracks: int,
        target_dtype: npt.DTypeLike,
        *,
        resume: bool = False,
    ) -> None:
        folder = Path(folder)
        self.bins = bins
        self.positions = windows * bins
        shape = (tracks, self.positions)
        self.paths = (folder / "pred.npy", folder / "target.npy")
        if resume:
            what, fix = "predictions and targets", f"delete {RESTART} to start again"
            self.pred = reopen(self.paths[0], shape, np.dtype(np.float32), what, fix)
            self.target = reopen(self.paths[1], shape, np.dtype(target_dtype), what, fix)
            self.unreleased = 0
            return
        need = tracks * self.positions * (4 + np.dtype(target_dtype).itemsize)
        try:
            free = shutil.disk_usage(folder).free
            if need > free:
                raise SpaceError(need, free)
            # every block taken first: a memory map past a full disk dies on a bus error
            self.pred = allocated_memmap(self.paths[0], np.float32, shape)
            self.target = allocated_memmap(self.paths[1], np.dtype(target_dtype), shape)
        except SpaceError as err:
            raise ValueError(
                f"{folder}: keeping the predictions and targets of {tracks} tracks × "
                f"{self.positions:,} bins for --specificity/--rank/--peaks needs "
                f"{need / 1e6:,.0f} MB on disk, but {err.free / 1e6:,.0f} MB are free; free "
                "space there, give --scratch a folder on a disk with room, or leave those "
                "options out"
            ) from None
        self.unreleased = 0  # bytes of pages touched since the last release

    def sync(self) -> None:
        """Write what was written to the files through to the disk (their pages in the
        system's cache included, which :meth:`release` let go of from the maps)."""
        for path in self.paths:
            fd = os.open(path, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)

    def release(self) -> None:
        """Let go of the pages of the files that the maps hold in memory: what was written
        stays in the files (these are shared maps of them; the system writes the pages
        back), so the process's resident memory does not grow to the size of the spill
        (55 GB for a human test split) as it is written and read."""
        if hasattr(mmap, "MADV_DONTNEED"):  # Linux and macOS
            for array in (self.pred, self.target):
                mapping = getattr(array, "_mmap", None)  # None for an empty array
                if mapping is not None:
                    mapping.madvise(mmap.MADV_DONTNEED)
        self.unreleased = 0

    def add(self, rows: Sequence[int], pred: torch.Tensor, target: npt.NDArray) -> None:
        """Write the ``(windows, bins, tracks)`` predictions and targets of `rows`."""
        start, end = rows[0] * self.bins, (rows[-1] + 1) * self.bins
        tracks = self.pred.shape[0]
        self.pred[:, start:end] = pred.float().cpu().numpy().reshape(-1, tracks).T
        self.target[:, start:end] = np.asarray(target).reshape(-1, tracks).T
        # each track's row of each file: the pages its new stretch spans, at most
        itemsizes = (self.pred.itemsize, self.target.itemsize)
        spans = [(end - start) * size // mmap.PAGESIZE + 2 for size in itemsizes]
        self.unreleased += tracks * sum(spans) * mmap.PAGESIZE
        if self.unreleased >= RELEASE_BYTES:
            self.release()

    def groups(
        self, tracks: Sequence[int]
    ) -> Iterator[tuple[Sequence[int], npt.NDArray, npt.NDArray]]:
        """`tracks` in groups of :func:`group_size`: their indices, and their predictions and
        targets ``(group, positions)`` read into memory (copies: the pages of the files
        read are released, :meth:`release`)."""
        size = group_size(self.positions)
        for start in range(0, len(tracks), size):
            chosen = list(tracks[start : start + size])
            group = np.asarray(self.pred[chosen]), np.asarray(self.target[chosen])
            self.release()
            yield chosen, *group

    def close(self) -> None:
        """Let go of the memory maps (before their folder is removed)."""
        del self.pred, self.target


def _each_track(
    function: Callable[..., T],
    columns: Sequence[npt.NDArray],
    workers: int,
    meter: Progress | None,
) -> Iterator[T]:
    """``function(*(c[k] for c in columns))`` for each track k of the group, in order, on
    up to `workers` threads at a time (numpy's sorts, gathers and sums release the GIL),
    each result one unit of `meter`. No more than `workers` tracks are in flight, so the
    working memory stays within a group's."""
    count = len(columns[0])

    def one(k: int) -> T:
        return function(*(column[k] for column in columns))

    with ThreadPoolExecutor(max(1, min(workers, count))) as pool:
        for start in range(0, count, workers):
            for result in pool.map(one, range(start, min(start + workers, count))):
                if meter is not None:
                    meter.update()
                yield result


def class_specificity(
    spill: ColumnSpill,
    members: Sequence[int],
    meter: Progress | None = None,
    workers: int = 1,
) -> list[float]:
    """Basenji's specificity R of each of `members` (one class): quantile-normalise the
    columns of predictions and of targets separately, subtract each position's mean over
    the class's tracks, then Pearson R per track over positions. Three reads of the
    class's columns: the sorted columns' mean, the row means, the correlations, each
    track of each read one unit of `meter`, its tracks on `workers` threads (the numbers
    do not depend on the count of threads or the group size: every sum adds the tracks
    one by one in their order)."""
    n = len(members)
    reference_p = np.zeros(spill.positions)
    reference_y = np.zeros(spill.positions)
    for _, pred, target in spill.groups(members):
        for sorted_p, sorted_y in _each_track(_sorted_pair, (pred, target), workers, meter):
            reference_p += sorted_p
            reference_y += sorted_y
    reference_p /= n
    reference_y /= n

    def normalise(p: npt.NDArray, y: npt.NDArray) -> tuple[npt.NDArray, npt.NDArray]:
        return tie_mean(p, reference_p), tie_mean(y, reference_y)

    def normalised() -> Iterator[tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]]:
        for _, pred, target in spill.groups(members):
            yield from _each_track(normalise, (pred, target), workers, meter)

    rows_p = np.zeros(spill.positions)
    rows_y = np.zeros(spill.positions)
    for p, y in normalised():
        rows_p += p
        rows_y += y
    rows_p /= n
    rows_y /= n
    return [pearson(p - rows_p, y - rows_y) for p, y in normalised()]


def _sorted_pair(p: npt.NDArray, y: npt.NDArray) -> tuple[npt.NDArray, npt.NDArray]:
    """A track's prediction and target columns, each sorted (:func:`sorted_column`)."""
    return sorted_column(p), sorted_column(y)


def _rank_and_peaks(
    p: npt.NDArray, y: npt.NDArray, bins: int, options: ColumnOptions
) -> tuple[float, int, float, float]:
    """One track's Spearman R (0 unless asked for) and peaks, AUROC and AUPRC (0s unless
    asked for)."""
    spearman_r = spearman(p, y) if options.rank else 0.0
    if not options.peaks:
        return spearman_r, 0, 0.0, 0.0
    every = np.s_[:, ::PEAK_STRIDE]
    return spearman_r, *peak_scores(p.reshape(-1, bins)[every], y.reshape(-1, bins)[every])


def _log_left_out(classes: Sequence[tuple[str, list[int]]], min_class: int) -> None:
    """One log line for the specificity classes smaller than `min_class` (hundreds of
    single-factor ChIP classes in the paper's tables), naming the first few."""
    small = [(name, members) for name, members in classes if len(members) < min_class]
    if not small:
        return
    log.info(
        "specificity: %d class(es) of fewer than %d tracks left out (NaN, %d track(s)): %s "
        "(summary.json's specificity_by_class lists every class)",
        len(small),
        min_class,
        sum(len(members) for _, members in small),
        first_few([f"{name} ({len(members)})" for name, members in small]),
    )


def column_metrics(
    spill: ColumnSpill,
    descriptions: Sequence[str],
    options: ColumnOptions,
    workers: int | None = None,
    kept: Kept | None = None,
) -> dict[str, npt.NDArray]:
    """The asked-for columns of the metrics table, one value per track: ``specificity_r``
    (NaN for a track whose class has fewer than ``min_class`` tracks), ``spearman_r``,
    ``peaks`` (bins called), ``auroc`` and ``auprc``, computed on `workers` threads
    (default: every usable core; the numbers do not depend on it). Progress is reported
    per track (specificity reads each kept class's tracks three times).

    Each class's specificity, and the other statistics of each group of tracks read, are
    put in `kept` as they are done; those it holds already (an interrupted run's) are
    taken from it, not computed again."""
    workers = min(workers or usable_cores(), group_size(spill.positions))
    kept = InMemory() if kept is None else kept
    tracks = len(descriptions)
    columns: dict[str, npt.NDArray] = {}
    if options.specificity:
        columns["specificity_r"] = _specificity(spill, descriptions, options, workers, kept)
    if options.rank or options.peaks:
        found = np.zeros((tracks, 4))
        done = kept.get(ROWS_KEY)
        start = 0 if done is None else len(done)
        if done is not None:
            found[:start] = done
        asked = [name for name, on in (("rank", options.rank), ("peaks", options.peaks)) if on]
        with progress(tracks, " and ".join(asked), "tracks", initial=start) as meter:
            for chosen, pred, target in spill.groups(range(start, tracks)):
                scores = _each_track(
                    partial(_rank_and_peaks, bins=spill.bins, options=options),
                    (pred, target),
                    workers,
                    meter,
                )
                for i, row in zip(chosen, scores, strict=True):
                    found[i] = row
                kept.put(ROWS_KEY, found[: chosen[-1] + 1])
        if options.rank:
            columns["spearman_r"] = found[:, 0]
        if options.peaks:
            columns.update(peaks=found[:, 1].astype(np.int64), auroc=found[:, 2], auprc=found[:, 3])
    return columns


#: Keys of :class:`Kept`: the rows of rank and peaks done, each class's specificity.
ROWS_KEY = "rank_and_peaks"
CLASS_KEY = "specificity-{:05d}"


def _specificity(
    spill: ColumnSpill,
    descriptions: Sequence[str],
    options: ColumnOptions,
    workers: int,
    kept: Kept,
) -> npt.NDArray[np.float64]:
    """Each track's specificity R (NaN in a class left out), class by class: a class
    `kept` holds is taken from it, each other one put there once done."""
    r = np.full(len(descriptions), np.nan)
    classes: dict[str, list[int]] = {}
    for i, description in enumerate(descriptions):
        classes.setdefault(specificity_class(description), []).append(i)
    chosen = [m for _, m in sorted(classes.items()) if len(m) >= options.min_class]
    _log_left_out(sorted(classes.items()), options.min_class)
    done = {k: kept.get(CLASS_KEY.format(k)) for k in range(len(chosen))}
    reads = 3 * sum(len(members) for members in chosen)
    skipped = 3 * sum(len(m) for k, m in enumerate(chosen) if done[k] is not None)
    with progress(reads, "specificity (3 reads of each track)", "tracks", initial=skipped) as meter:
        for k, members in enumerate(chosen):
            values = done[k]
            if values is None:
                values = np.array(class_specificity(spill, members, meter, workers))
                kept.put(CLASS_KEY.format(k), values)
            r[members] = values
    return r
