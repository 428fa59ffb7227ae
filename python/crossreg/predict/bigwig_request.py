"""What a ``crossreg predict --bigwig`` run predicts: the chromosomes or BED regions asked
for, as bin-aligned spans, and why none can be predicted when no window fits."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence

from crossreg.errors import require_name_list
from crossreg.genome import Genome
from crossreg.io.bed import check_within, read_bed
from crossreg.model.tiling import Geometry, Tile, bin_intervals, chromosome_intervals
from crossreg.step_defaults import CHUNK_DTYPES


def requested_intervals(
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


def coverage_summary(
    intervals: Sequence[tuple[str, int, int]], tiles: Sequence[Tile]
) -> dict[str, int]:
    """Bins asked for and bins predicted (the others lie where no window fits)."""
    return {
        "requested_bins": sum(hi - lo for _, lo, hi in intervals),
        "predicted_bins": sum(t.count for t in tiles),
    }


def check_request(
    chunk_windows: int,
    chunk_dtype: str,
    chroms: Sequence[str] | None,
    bed: str | os.PathLike[str] | None,
) -> None:
    """Refuse a chunk size under 1 window, a chunk dtype not in
    :data:`crossreg.step_defaults.CHUNK_DTYPES`, both `chroms` and `bed`, or `chroms`
    that are not a list of names."""
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
