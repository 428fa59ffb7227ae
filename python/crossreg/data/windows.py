"""Where the training windows lie: contigs, split regions, tiling and per-bin masks.

Coordinates are 0-based half-open. A *window* is the model input (``seq_length`` bp); its
*target region* is the window minus ``crop_bins`` bins of ``pool_width`` bp on each side.
"""

from __future__ import annotations

import itertools
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from crossreg.data.defaults import DEFAULT_MIN_N_RUN
from crossreg.genome import Genome
from crossreg.io.bed import Interval, merge_intervals

#: Preferred order of split labels in a store (other labels follow, sorted).
SPLIT_ORDER = ("train", "valid", "test")

#: The N byte codes (both cases).
_N_CODES = (ord("N"), ord("n"))


@dataclass(frozen=True)
class Windows:
    """Windows grouped by split: parallel arrays, one entry per window."""

    chroms: npt.NDArray[np.str_]
    starts: npt.NDArray[np.int64]
    splits: npt.NDArray[np.str_]
    seq_length: int

    def __len__(self) -> int:
        return len(self.starts)

    def take(self, keep: npt.NDArray[np.bool_]) -> Windows:
        """The windows where `keep` is true."""
        return Windows(self.chroms[keep], self.starts[keep], self.splits[keep], self.seq_length)

    def split_names(self) -> list[str]:
        """Split labels present, in store order (train, valid, test, then others sorted)."""
        present = set(self.splits.tolist())
        known = [s for s in SPLIT_ORDER if s in present]
        return known + sorted(present - set(SPLIT_ORDER))


def n_runs(seq: bytes, min_length: int) -> list[tuple[int, int]]:
    """``[start, end)`` runs of N (either case) of at least `min_length` bases in `seq`."""
    codes = np.frombuffer(seq, dtype=np.uint8)
    is_n = np.zeros(len(codes) + 2, dtype=np.int8)
    is_n[1:-1] = (codes == _N_CODES[0]) | (codes == _N_CODES[1])
    edges = np.diff(is_n)
    starts = np.flatnonzero(edges == 1)
    ends = np.flatnonzero(edges == -1)
    keep = ends - starts >= min_length
    return list(zip(starts[keep].tolist(), ends[keep].tolist(), strict=True))


def subtract(regions: Iterable[Interval], holes: Iterable[Interval]) -> list[Interval]:
    """`regions` minus `holes`, as sorted non-overlapping intervals (empty pieces dropped)."""
    by_chrom: dict[str, list[Interval]] = defaultdict(list)
    for hole in merge_intervals(holes):
        by_chrom[hole.chrom].append(hole)
    pieces: list[Interval] = []
    for region in merge_intervals(regions):
        cursor = region.start
        for hole in by_chrom.get(region.chrom, []):
            if hole.end <= cursor or hole.start >= region.end:
                continue
            if hole.start > cursor:
                pieces.append(Interval(region.chrom, cursor, hole.start))
            cursor = max(cursor, hole.end)
        if cursor < region.end:
            pieces.append(Interval(region.chrom, cursor, region.end))
    return pieces


def contigs(
    genome: Genome, gaps: Iterable[Interval] = (), *, min_n_run: int = DEFAULT_MIN_N_RUN
) -> list[Interval]:
    """Maximal stretches of each chromosome between assembly gaps and N runs ≥ `min_n_run`.

    `min_n_run` 0 keeps N runs inside contigs (they encode as all-zero one-hot).
    """
    holes = list(gaps)
    if min_n_run > 0:
        for chrom in genome.names:
            seq = genome.fetch(chrom, 0, genome.sizes[chrom])
            holes += [Interval(chrom, s, e) for s, e in n_runs(seq, min_n_run)]
    whole = [Interval(chrom, 0, size) for chrom, size in genome.sizes.items()]
    return subtract(whole, holes)


def labelled_regions(regions: Iterable[Interval], *, source: str) -> list[Interval]:
    """Merge a split-regions BED (label in column 4) per label; labels must not overlap.

    Returns sorted intervals whose ``extra`` is ``(label,)``.
    """
    by_label: dict[str, list[Interval]] = defaultdict(list)
    for iv in regions:
        if not iv.extra or not iv.extra[0]:
            raise ValueError(
                f"{source}: region {iv.chrom}:{iv.start}-{iv.end} has no split label; the "
                "regions BED needs a 4th column (train, valid, test, fold0, ...)"
            )
        by_label[iv.extra[0]].append(iv)
    merged = sorted(
        Interval(iv.chrom, iv.start, iv.end, (label,))
        for label, ivs in by_label.items()
        for iv in merge_intervals(ivs)
    )
    for a, b in itertools.pairwise(merged):
        if a.chrom == b.chrom and b.start < a.end:
            raise ValueError(
                f"{source}: {a.chrom}:{b.start}-{min(a.end, b.end)} is labelled both "
                f"'{a.extra[0]}' and '{b.extra[0]}'; each base may belong to one split only"
            )
    return merged


def intersect_labelled(pieces: Sequence[Interval], labelled: Sequence[Interval]) -> list[Interval]:
    """Parts of `pieces` covered by `labelled` intervals, each keeping its label."""
    by_chrom: dict[str, list[Interval]] = defaultdict(list)
    for iv in labelled:
        by_chrom[iv.chrom].append(iv)
    out: list[Interval] = []
    for piece in pieces:
        for iv in by_chrom.get(piece.chrom, []):
            start, end = max(piece.start, iv.start), min(piece.end, iv.end)
            if start < end:
                out.append(Interval(piece.chrom, start, end, iv.extra))
    return sorted(out)


def tile(
    regions: Sequence[Interval],
    seq_length: int,
    stride: int,
    strides: Mapping[str, int] | None = None,
) -> Windows:
    """Windows of `seq_length` every `stride` bp (`strides` of a split label that has its
    own) from each region's start, wholly inside it."""
    strides = strides or {}
    if seq_length <= 0 or min([stride, *strides.values()]) <= 0:
        raise ValueError(f"seq_length ({seq_length}) and stride ({stride}) must be positive")
    chroms: list[str] = []
    starts: list[npt.NDArray[np.int64]] = []
    splits: list[str] = []
    for iv in regions:
        step = strides.get(iv.extra[0], stride)
        s = np.arange(iv.start, iv.end - seq_length + 1, step, dtype=np.int64)
        starts.append(s)
        chroms += [iv.chrom] * len(s)
        splits += [iv.extra[0]] * len(s)
    return Windows(
        np.array(chroms, dtype=np.str_),
        np.concatenate(starts) if starts else np.zeros(0, np.int64),
        np.array(splits, dtype=np.str_),
        seq_length,
    )


def order_by_split(windows: Windows) -> Windows:
    """Windows grouped by split (store order), genomic order within each split."""
    names = windows.split_names()
    rank = {name: i for i, name in enumerate(names)}
    split_rank = np.array([rank[s] for s in windows.splits.tolist()], dtype=np.int64)
    order = np.lexsort((windows.starts, windows.chroms, split_rank))
    return Windows(
        windows.chroms[order], windows.starts[order], windows.splits[order], windows.seq_length
    )


def bin_mask(
    chroms: npt.NDArray[np.str_],
    starts: npt.NDArray[np.int64],
    bins: int,
    pool_width: int,
    intervals: Iterable[Interval],
) -> npt.NDArray[np.bool_]:
    """``(n, bins)`` bool: which bins of ``[start, start + bins·pool_width)`` overlap
    `intervals` by at least 1 bp (an empty interval, ``start == end``, overlaps none)."""
    mask = np.zeros((len(starts), bins), dtype=bool)
    by_chrom: Mapping[str, list[Interval]] = defaultdict(list)
    for iv in merge_intervals(iv for iv in intervals if iv.end > iv.start):
        by_chrom[iv.chrom].append(iv)
    offsets = np.arange(bins, dtype=np.int64) * pool_width
    for chrom, ivs in by_chrom.items():
        rows = np.flatnonzero(chroms == chrom)
        if rows.size == 0:
            continue
        iv_starts = np.array([iv.start for iv in ivs], dtype=np.int64)
        iv_ends = np.array([iv.end for iv in ivs], dtype=np.int64)
        bin_starts = starts[rows, None] + offsets[None, :]
        first = np.searchsorted(iv_ends, bin_starts, side="right")
        hit = first < len(ivs)
        hit[hit] = iv_starts[first[hit]] < bin_starts[hit] + pool_width
        mask[rows] = hit
    return mask
