"""Tiling stretches of a genome with model windows whose central bins abut.

A model reads `seq_length` bp and predicts `bins` bins of `bin_width` bp after cropping
`crop` bins at the start: output bin ``j`` of a window starting at ``s`` covers
``[s + (crop + j)·w, s + (crop + j + 1)·w)``. Tiles put the kept bins on the chromosome's
grid of `bin_width` (bin ``k`` covers ``[k·w, (k+1)·w)``) and place windows so their central
bins follow one another without gaps or overlaps: the input windows overlap by the crop.
Every window lies wholly on its chromosome, so no prediction sees made-up sequence; the bins
no such window predicts (within about ``crop·w`` bp of a chromosome's ends, and all of a
chromosome shorter than a window) get no value. Near a chromosome's end the last window is
moved back to fit and keeps only the bins not predicted yet.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the model's module imports torch; this one is read without it
    from crossreg.model.seqnn import SeqNN


@dataclass(frozen=True)
class Geometry:
    """How a model's windows map to bins: input length, bin width, bins cropped at the
    start, bins predicted."""

    seq_length: int
    bin_width: int
    crop: int
    bins: int

    @classmethod
    def of(cls, model: SeqNN) -> Geometry:
        """The geometry of `model`."""
        return cls(model.seq_length, model.stride, model.crop[0], model.output_length())

    @property
    def span(self) -> int:
        """The bp one window predicts (its central bins)."""
        return self.bins * self.bin_width


@dataclass(frozen=True)
class Tile:
    """One window ``chrom:[start, start + seq_length)`` of which output bins
    ``[first, first + count)`` are kept; they cover the chromosome's grid bins from
    ``start_bin``."""

    chrom: str
    start: int
    first: int
    count: int
    start_bin: int

    def position(self, geometry: Geometry) -> int:
        """The bp where the kept bins begin."""
        return self.start_bin * geometry.bin_width


def coverable_bins(length: int, geometry: Geometry) -> tuple[int, int]:
    """The grid bins ``[lo, hi)`` of a chromosome of `length` bp that windows lying on it
    can predict (empty when the chromosome is shorter than a window)."""
    g = geometry
    if length < g.seq_length:
        return 0, 0
    last_first = (length - g.seq_length) // g.bin_width + g.crop
    return g.crop, last_first + g.bins


def tile_interval(chrom: str, start: int, end: int, length: int, geometry: Geometry) -> list[Tile]:
    """Tiles whose kept bins cover the grid bins overlapping ``[start, end)`` of a
    chromosome of `length` bp, as far as windows on the chromosome reach."""
    g = geometry
    lo_cover, hi_cover = coverable_bins(length, g)
    lo = max(start // g.bin_width, lo_cover)
    hi = min(-(-end // g.bin_width), hi_cover)
    last_first = hi_cover - g.bins
    tiles = []
    j = lo
    while j < hi:
        first = min(j, last_first)  # the window's first output bin on the grid
        count = min(hi, first + g.bins) - j
        tiles.append(Tile(chrom, (first - g.crop) * g.bin_width, j - first, count, j))
        j += count
    return tiles


def bin_intervals(
    regions: Iterable[tuple[str, int, int]], sizes: Mapping[str, int], geometry: Geometry
) -> list[tuple[str, int, int]]:
    """`regions` (``chrom, start, end`` in bp) as grid-bin intervals, merged where they
    overlap or touch, in the order of `sizes`' chromosomes then by position. An empty
    region (``start == end``, a point between two bases) is the bin of the base after it
    (of the last base, at a chromosome's end)."""
    order = {chrom: i for i, chrom in enumerate(sizes)}
    w = geometry.bin_width

    def bins(chrom: str, start: int, end: int) -> tuple[str, int, int]:
        if start == end:
            start = min(start, sizes[chrom] - 1)
            end = start + 1
        return chrom, start // w, -(-end // w)

    spans = sorted(
        (bins(*region) for region in regions),
        key=lambda r: (order[r[0]], r[1]),
    )
    merged: list[tuple[str, int, int]] = []
    for chrom, lo, hi in spans:
        if merged and merged[-1][0] == chrom and lo <= merged[-1][2]:
            merged[-1] = (chrom, merged[-1][1], max(merged[-1][2], hi))
        else:
            merged.append((chrom, lo, hi))
    return merged


def plan_tiles(
    intervals: Sequence[tuple[str, int, int]], sizes: Mapping[str, int], geometry: Geometry
) -> list[Tile]:
    """Tiles for grid-bin `intervals` (:func:`bin_intervals`) or whole chromosomes
    (``(chrom, 0, bins)``), in order."""
    w = geometry.bin_width
    tiles: list[Tile] = []
    for chrom, lo, hi in intervals:
        tiles += tile_interval(chrom, lo * w, hi * w, sizes[chrom], geometry)
    return tiles


def chromosome_intervals(
    sizes: Mapping[str, int], chroms: Sequence[str] | None, geometry: Geometry, *, source: str
) -> list[tuple[str, int, int]]:
    """Whole chromosomes (`chroms`, default all of `sizes`) as grid-bin intervals, in the
    order of `sizes`; an unknown name stops with the names there are."""
    wanted = list(sizes) if chroms is None else list(chroms)
    unknown = [c for c in wanted if c not in sizes]
    if unknown:
        have = ", ".join(list(sizes)[:10])
        raise ValueError(
            f"--chroms {','.join(unknown)}: not in {source} (its chromosomes: {have}"
            f"{', ...' if len(sizes) > 10 else ''})"
        )
    chosen = set(wanted)
    w = geometry.bin_width
    return [(c, 0, -(-n // w)) for c, n in sizes.items() if c in chosen]


def check_whole_records(sizes: Mapping[str, int], seq_length: int, *, source: str) -> None:
    """Every record of the FASTA `source` (its `sizes`) is one model window of `seq_length`
    bp, as predicting whole records needs; the first that is not stops, named."""
    for name, size in sizes.items():
        if size != seq_length:
            raise ValueError(
                f"{source}: record '{name}' is {size:,} bp but the model reads "
                f"{seq_length:,} bp; give records of exactly that length, or --bed regions"
            )
    if not sizes:
        raise ValueError(f"{source}: the FASTA has no records")
