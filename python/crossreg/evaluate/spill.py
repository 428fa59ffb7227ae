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
:data:`GROUP_BYTES`. Specificity adds four float64 vectors of one class (the mean
sorted column and the row means of predictions and targets: 32 bytes per position, 56 MB
at 1.74 M positions). Without these options nothing is written and evaluate runs as
before.
"""

from __future__ import annotations

import logging
import os
import shutil
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from crossreg.evaluate.columns import (
    PEAK_STRIDE,
    peak_scores,
    pearson,
    quantile_reference,
    spearman,
    tie_mean,
)
from crossreg.io.targets import split_description
from crossreg.progress import Progress, progress

if TYPE_CHECKING:
    import torch

log = logging.getLogger("crossreg")

GROUP_BYTES = 1 << 30  # the working memory of one group of tracks
BYTES_PER_VALUE = 64  # per position and track: the columns, float64 sorts, ranks, indices
MIN_CLASS = 2  # Basenji's paper-era script: a class of one track has no specificity


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


def specificity_class(description: str) -> str:
    """The class a track's specificity is normalised within: its assay, ChIP split by
    mark or factor (``CHIP:H3K27ac``), as Basenji's ``basenji_test_specificity.py``."""
    return split_description(description)[0]


class ColumnSpill:
    """A split's predictions and targets, written track-major to ``pred.npy`` and
    ``target.npy`` in `folder` batch by batch, read back in groups of tracks."""

    def __init__(
        self,
        folder: str | os.PathLike[str],
        windows: int,
        bins: int,
        tracks: int,
        target_dtype: npt.DTypeLike,
    ) -> None:
        folder = Path(folder)
        self.bins = bins
        self.positions = windows * bins
        shape = (tracks, self.positions)
        need = tracks * self.positions * (4 + np.dtype(target_dtype).itemsize)
        free = shutil.disk_usage(folder).free
        if need > free:  # a memory map past a full disk dies on a bus error, not an OSError
            raise ValueError(
                f"{folder}: keeping the predictions and targets of {tracks} tracks × "
                f"{self.positions:,} bins for --specificity/--rank/--peaks needs "
                f"{need / 1e6:,.0f} MB on disk, but {free / 1e6:,.0f} MB are free; free space "
                "there, give --scratch a folder on a disk with room, or leave those options out"
            )
        fmt = np.lib.format
        self.pred = fmt.open_memmap(folder / "pred.npy", "w+", np.float32, shape)
        self.target = fmt.open_memmap(folder / "target.npy", "w+", np.dtype(target_dtype), shape)

    def add(self, rows: Sequence[int], pred: torch.Tensor, target: npt.NDArray) -> None:
        """Write the ``(windows, bins, tracks)`` predictions and targets of `rows`."""
        start, end = rows[0] * self.bins, (rows[-1] + 1) * self.bins
        tracks = self.pred.shape[0]
        self.pred[:, start:end] = pred.float().cpu().numpy().reshape(-1, tracks).T
        self.target[:, start:end] = np.asarray(target).reshape(-1, tracks).T

    def groups(
        self, tracks: Sequence[int]
    ) -> Iterator[tuple[Sequence[int], npt.NDArray, npt.NDArray]]:
        """`tracks` in groups of :func:`group_size`: their indices, and their predictions and
        targets ``(group, positions)`` read into memory."""
        size = group_size(self.positions)
        for start in range(0, len(tracks), size):
            chosen = list(tracks[start : start + size])
            yield chosen, np.asarray(self.pred[chosen]), np.asarray(self.target[chosen])

    def close(self) -> None:
        """Let go of the memory maps (before their folder is removed)."""
        del self.pred, self.target


def class_specificity(
    spill: ColumnSpill, members: Sequence[int], meter: Progress | None = None
) -> list[float]:
    """Basenji's specificity R of each of `members` (one class): quantile-normalise the
    columns of predictions and of targets separately, subtract each position's mean over
    the class's tracks, then Pearson R per track over positions. Three reads of the
    class's columns: the sorted columns' mean, the row means, the correlations, each
    track of each read one unit of `meter`."""
    n = len(members)
    reference_p = np.zeros(spill.positions)
    reference_y = np.zeros(spill.positions)
    for chosen, pred, target in spill.groups(members):
        reference_p += quantile_reference(pred)
        reference_y += quantile_reference(target)
        if meter is not None:
            meter.update(len(chosen))
    reference_p /= n
    reference_y /= n

    def normalised() -> Iterator[tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]]:
        for _, pred, target in spill.groups(members):
            for p, y in zip(pred, target, strict=True):
                yield tie_mean(p, reference_p), tie_mean(y, reference_y)
                if meter is not None:
                    meter.update()

    rows_p = np.zeros(spill.positions)
    rows_y = np.zeros(spill.positions)
    for p, y in normalised():
        rows_p += p
        rows_y += y
    rows_p /= n
    rows_y /= n
    return [pearson(p - rows_p, y - rows_y) for p, y in normalised()]


def column_metrics(
    spill: ColumnSpill, descriptions: Sequence[str], options: ColumnOptions
) -> dict[str, npt.NDArray]:
    """The asked-for columns of the metrics table, one value per track: ``specificity_r``
    (NaN for a track whose class has fewer than ``min_class`` tracks), ``spearman_r``,
    ``peaks`` (bins called), ``auroc`` and ``auprc``. Progress is reported per track
    (specificity reads each kept class's tracks three times)."""
    tracks = len(descriptions)
    columns: dict[str, npt.NDArray] = {}
    if options.specificity:
        r = np.full(tracks, np.nan)
        classes: dict[str, list[int]] = {}
        for i, description in enumerate(descriptions):
            classes.setdefault(specificity_class(description), []).append(i)
        kept: dict[str, list[int]] = {}
        for name, members in sorted(classes.items()):
            if len(members) >= options.min_class:
                kept[name] = members
                continue
            log.info(
                "specificity: class %s has %d track(s), fewer than %d: left out (NaN)",
                name,
                len(members),
                options.min_class,
            )
        reads = 3 * sum(len(members) for members in kept.values())
        with progress(reads, "specificity (3 reads of each track)", "tracks") as meter:
            for members in kept.values():
                r[members] = class_specificity(spill, members, meter)
        columns["specificity_r"] = r
    if options.rank or options.peaks:
        spearman_r = np.zeros(tracks)
        peaks = np.zeros(tracks, dtype=np.int64)
        auroc, auprc = np.zeros(tracks), np.zeros(tracks)
        asked = [name for name, on in (("rank", options.rank), ("peaks", options.peaks)) if on]
        with progress(tracks, " and ".join(asked), "tracks") as meter:
            for chosen, pred, target in spill.groups(range(tracks)):
                for i, p, y in zip(chosen, pred, target, strict=True):
                    if options.rank:
                        spearman_r[i] = spearman(p, y)
                    if options.peaks:
                        every = np.s_[:, ::PEAK_STRIDE]
                        taken_p = p.reshape(-1, spill.bins)[every]
                        taken_y = y.reshape(-1, spill.bins)[every]
                        peaks[i], auroc[i], auprc[i] = peak_scores(taken_p, taken_y)
                    meter.update()
        if options.rank:
            columns["spearman_r"] = spearman_r
        if options.peaks:
            columns.update(peaks=peaks, auroc=auroc, auprc=auprc)
    return columns
