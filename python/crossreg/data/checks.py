"""Up-front checks of a dataset build's inputs: every problem found before any long work,
each reported once with the file, the record and the fix."""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from crossreg.data.tracks import bigwig_chrom_sizes
from crossreg.genome import Genome
from crossreg.io.bed import Interval, check_within, read_bed
from crossreg.io.targets import TargetsTable, read_targets

log = logging.getLogger("crossreg")


@dataclass(frozen=True)
class Inputs:
    """Checked inputs of a build: the genome, the targets table and the BED intervals."""

    genome: Genome
    table: TargetsTable
    regions: list[Interval] | None
    gaps: list[Interval]
    blacklist: list[Interval]
    unmappable: list[Interval]


def check_file(path: str | os.PathLike[str], what: str) -> Path:
    """`path` as a Path, or ValueError when it is missing or unreadable."""
    p = Path(path)
    if not p.exists():
        raise ValueError(f"{p}: {what} not found; check the path")
    if not p.is_file():
        raise ValueError(f"{p}: {what} is not a regular file")
    if not os.access(p, os.R_OK):
        raise ValueError(f"{p}: {what} is not readable; check its permissions")
    return p


def _prefix_hint(name: str, known: Mapping[str, int]) -> str:
    if f"chr{name}" in known:
        return f" (the FASTA calls it 'chr{name}': the files differ in the 'chr' prefix)"
    if name.startswith("chr") and name[3:] in known:
        return f" (the FASTA calls it '{name[3:]}': the files differ in the 'chr' prefix)"
    return ""


def check_chromosomes(
    source: str, chroms: Mapping[str, int], fasta_sizes: Mapping[str, int], *, fasta: str
) -> None:
    """Chromosomes of a track file must carry the FASTA's names and lengths.

    Chromosomes the FASTA lacks are allowed (their data is unused) unless their name
    differs from a FASTA chromosome only by the ``chr`` prefix, or no name is shared at all.
    """
    shared = [c for c in chroms if c in fasta_sizes]
    for name in chroms:
        hint = _prefix_hint(name, fasta_sizes)
        if name not in fasta_sizes and hint:
            raise ValueError(
                f"{source}: chromosome '{name}' is not in {fasta}{hint}; rename the "
                "chromosomes of one file to match the other"
            )
    if chroms and not shared:
        shown = ", ".join(list(chroms)[:3])
        raise ValueError(
            f"{source}: none of its chromosomes ({shown}, ...) is in {fasta}; are the files "
            "from the same genome?"
        )
    for name in shared:
        if chroms[name] != fasta_sizes[name]:
            raise ValueError(
                f"{source}: chromosome '{name}' is {chroms[name]:,} bp but {fasta_sizes[name]:,} "
                f"bp in {fasta}: the files come from different genome builds; use a track "
                "made on the FASTA's assembly"
            )


def _genome_bed(path: str, what: str, sizes: Mapping[str, int], fasta: str) -> list[Interval]:
    """A BED of the genome (regions, gaps, blacklist, unmappable): intervals on chromosomes
    the FASTA lacks are dropped (with a log line), but a file sharing no chromosome with it,
    or differing from it by the ``chr`` prefix, is refused, and intervals must end within
    their chromosome."""
    intervals = read_bed(check_file(path, what))
    names = dict.fromkeys(iv.chrom for iv in intervals)
    for name in names:
        hint = _prefix_hint(name, sizes)
        if name not in sizes and hint:
            raise ValueError(
                f"{path} ({what}): chromosome '{name}' is not in {fasta}{hint}; rename the "
                "chromosomes of one file to match the other"
            )
    if names and not any(n in sizes for n in names):
        raise ValueError(
            f"{path} ({what}): none of its chromosomes is in {fasta}; is it for another genome?"
        )
    kept = [iv for iv in intervals if iv.chrom in sizes]
    if len(kept) < len(intervals):
        absent = sorted({n for n in names if n not in sizes})
        log.info(
            "%s: %d intervals on %d chromosomes absent from %s ignored (%s)",
            path,
            len(intervals) - len(kept),
            len(absent),
            fasta,
            ", ".join(absent[:3]) + (", ..." if len(absent) > 3 else ""),
        )
    check_within(kept, sizes, source=f"{path} ({what})")
    return kept


def check_numbers(
    *,
    seq_length: int,
    stride: int,
    crop_bins: int,
    pool_width: int,
    threads: int | None,
    max_unmappable: float,
    fill_quantile: float,
) -> None:
    """Numeric options must be in range and consistent (ValueError naming the option)."""
    if pool_width <= 0:
        raise ValueError(f"--pool-width must be positive, got {pool_width}")
    if seq_length <= 0 or seq_length % pool_width:
        raise ValueError(
            f"--seq-length {seq_length} must be a positive multiple of the pool width {pool_width}"
        )
    if stride <= 0:
        raise ValueError(f"--stride must be positive, got {stride}")
    if crop_bins < 0 or 2 * crop_bins >= seq_length // pool_width:
        window_bins = seq_length // pool_width
        raise ValueError(
            f"--crop {crop_bins} bins per side leaves no target bins of a {window_bins}-bin "
            f"window; use a crop from 0 to {(window_bins - 1) // 2}"
        )
    if threads is not None and threads < 1:
        raise ValueError(f"--threads must be at least 1, got {threads}")
    if not 0 < max_unmappable <= 1:
        raise ValueError(f"--max-unmappable must be in (0, 1], got {max_unmappable}")
    if not 0 <= fill_quantile <= 1:
        raise ValueError(f"--fill-quantile must be in [0, 1], got {fill_quantile}")


def check_inputs(
    *,
    fasta: str | os.PathLike[str],
    targets: str | os.PathLike[str],
    regions: str | os.PathLike[str] | None = None,
    gaps: str | os.PathLike[str] | None = None,
    blacklist: Sequence[str | os.PathLike[str]] = (),
    unmappable: str | os.PathLike[str] | None = None,
) -> Inputs:
    """Read and cross-check every input file; raise ValueError at the first problem."""
    table = read_targets(check_file(targets, "targets table"), check_files=True)
    for line, target in enumerate(table, start=2):
        for file in table.track_files(target):
            check_file(file, f"track file of '{target.identifier}' (targets line {line})")
    genome = Genome(check_file(fasta, "FASTA"))
    sizes, fasta_name = genome.sizes, str(fasta)

    def bed(path: str | os.PathLike[str] | None, what: str) -> list[Interval]:
        return _genome_bed(str(path), what, sizes, fasta_name) if path else []

    region_list = bed(regions, "regions BED") if regions is not None else None
    gap_list = bed(gaps, "gaps BED")
    black = [iv for b in blacklist for iv in bed(b, "blacklist BED")]
    unmap = bed(unmappable, "unmappable BED")
    seen: set[Path] = set()
    for line, target in enumerate(table, start=2):
        for file in table.track_files(target):
            if file in seen:
                continue
            seen.add(file)
            try:
                chroms = dict(bigwig_chrom_sizes(file))
            except ValueError as err:
                raise ValueError(
                    f"{err} (track '{target.identifier}', {table.path} line {line}); is it a "
                    "BigWig file?"
                ) from None
            check_chromosomes(
                f"{file} (track '{target.identifier}', {table.path} line {line})",
                chroms,
                sizes,
                fasta=fasta_name,
            )
    return Inputs(genome, table, region_list, gap_list, black, unmap)
