"""The sites of in silico saturation mutagenesis (:mod:`crossreg.variants.ism`): one model
window per VCF record or BED region, checked, and the span of it that is mutated.

Sites
    A VCF record's site is the model window SAD builds for its reference allele
    (:func:`crossreg.variants.scoring.allele_windows`, under SAD's default
    ``indel="basenji"`` framing): the reference genome with the VCF's REF in place, the
    REF's first base at index ``L / 2 - 1`` for a SNP, an insertion or a substitution, and
    ``e // 2`` bases earlier for a deletion, ``e`` being how much longer REF is than the
    record's longest ALT (as Basenji frames it). One site per record, its reference
    sequence mutated: the ALT is **not** applied. This differs from Basenji on purpose:
    ``basenji_sat_vcf.py`` writes one row per allele (``rsid_REF``, and ``rsid_ALT`` for
    each ALT's sequence); crossreg writes only the reference allele's row, labelled by the
    record's ID. Records on chromosomes the FASTA lacks are skipped and counted, as SAD
    skips them (``strict`` stops at the first). A BED region's site is the model window
    centred on the region (:func:`crossreg.predict.region_windows`); on a region whose
    strand (column 6) is ``-`` the window is reverse-complemented, as
    ``basenji_sat_bed.py`` does, so its mutated span, ``seqs`` and scores run 5' to 3' on
    the minus strand (``.`` or no column: ``+``).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from crossreg.dna import one_hot, reverse_complement
from crossreg.genome import Genome
from crossreg.io.bed import Interval, read_bed
from crossreg.io.vcf import Variant, reference_bases, require_ascii_record
from crossreg.variants.alleles import Allele
from crossreg.variants.ism_span import mutated_span
from crossreg.variants.scoring import (
    allele_windows,
    reference_starts,
    scored_alleles,
    window_starts,
)

STRANDS = {"+": "+", "-": "-", ".": "+"}  # a BED strand column, and the strand it means
SPAN_SITES = 64  # sites whose whole windows are read at a time to cut out their spans


@dataclass(frozen=True)
class Site:
    """One mutagenesis site: the model window ``chrom:[window_start, window_start + L)``
    (N-padded off the chromosome): SAD's reference window of `variant` when given, read
    reverse-complemented when `strand` is ``-``."""

    label: str
    chrom: str
    window_start: int
    variant: Variant | None = None
    strand: str = "+"


def vcf_sites(
    variants: Sequence[Variant], genome: Genome, seq_length: int, *, source: str
) -> list[Site]:
    """One site per record, checked against `genome`: a chromosome it lacks, a REF past the
    chromosome's end or a REF matching neither the genome nor the ALT stops with the record
    named (SAD's checks, strictly), for every record: its REF goes into the window even
    when no ALT of it could be scored (a symbolic ALT, a REF of N)."""
    for v in variants:
        require_ascii_record(v, source=source)
        reference_bases(v, genome, source=source, swapped_snp=True)
    scored_alleles(variants, genome, source=source)  # SAD's warning for swapped SNPs
    if not variants:
        raise ValueError(
            f"{source}: the VCF has no records, so there is no site to mutate or draw; give "
            "a VCF with at least one record (or --bed regions), and leave an empty part of "
            "a VCF split by chromosome out of ism (crossreg sad scores one to an empty file)"
        )
    alleles = [reference_allele(v) for v in variants]
    starts = reference_starts(alleles, seq_length, window_starts(alleles, seq_length), "basenji")
    return [
        Site(v.id if v.id != "." else f"{v.chrom}:{v.pos + 1}", v.chrom, start, v)
        for v, start in zip(variants, starts, strict=True)
    ]


def reference_allele(variant: Variant) -> Allele:
    """An allele of `variant` whose reference window (:func:`allele_windows`) is SAD's for
    the record: that window depends on the record alone (its REF and longest ALT), and the
    empty ALT makes the genome be read far enough for any REF."""
    return Allele(variant, "")


def bed_sites(bed: str | os.PathLike[str], genome: Genome, seq_length: int) -> list[Site]:
    """One site per BED region, its model window centred on the region, on the region's
    strand (column 6; :func:`bed_strand`)."""
    from crossreg.predict import region_windows

    intervals = read_bed(bed)
    for iv in intervals:
        require_ascii_region(iv, source=str(bed))
    windows = region_windows(intervals, genome, seq_length, source=str(bed))
    return [
        Site(w.name, w.chrom, w.start, strand=bed_strand(iv, source=str(bed)))
        for iv, w in zip(intervals, windows, strict=True)
    ]


def require_ascii_region(interval: Interval, *, source: str) -> None:
    """Stop at a BED region whose chromosome or name (column 4) has a character outside
    ASCII, which the ``.h5`` stores as ASCII bytes (as Basenji's does), before any
    scoring."""
    name = interval.extra[0] if interval.extra else ""
    if not (interval.chrom.isascii() and name.isascii()):
        raise ValueError(
            f"{source}:{interval.line}: region {interval.chrom}:{interval.start}-"
            f"{interval.end} ({name}) has a character outside ASCII in its chromosome or name "
            "(column 4), which an ISM .h5 stores as ASCII bytes (as Basenji's does); rename it"
        )


def bed_strand(interval: Interval, *, source: str) -> str:
    """The strand of a BED record, ``+`` or ``-``, from its 6th column (``.`` or none:
    ``+``); any other value stops with the line named."""
    given = interval.extra[2] if len(interval.extra) > 2 else "."
    if given not in STRANDS:
        raise ValueError(
            f"{source}:{interval.line}: strand (column 6) must be +, - or ., got '{given}'"
        )
    return STRANDS[given]


def site_codes(sites: Sequence[Site], genome: Genome, seq_length: int) -> npt.NDArray[np.uint8]:
    """The sites' reference windows ``(n, L)`` as ASCII codes: SAD's reference window for
    VCF sites (:func:`crossreg.variants.scoring.allele_windows`), the genome's for BED
    sites, reverse-complemented on the ``-`` strand."""
    codes = np.empty((len(sites), seq_length), dtype=np.uint8)
    plain = [i for i, s in enumerate(sites) if s.variant is None]
    if plain:
        chroms, starts = [sites[i].chrom for i in plain], [sites[i].window_start for i in plain]
        codes[plain] = genome.fetch_many(chroms, starts, seq_length)
    variants = [(i, s.variant) for i, s in enumerate(sites) if s.variant is not None]
    if variants:
        alleles = [reference_allele(v) for _, v in variants]
        codes[[i for i, _ in variants]] = allele_windows(alleles, genome, seq_length)[0]
    minus = [i for i, s in enumerate(sites) if s.strand == "-"]
    if minus:
        codes[minus] = reverse_complement(codes[minus])
    return codes


def site_spans(
    sites: Sequence[Site], genome: Genome, seq_length: int, width: int
) -> npt.NDArray[np.uint8]:
    """The sites' mutated spans ``(n, width, 4)``, one-hot (N as zeros), cut from their
    windows (:func:`site_codes`) read :data:`SPAN_SITES` sites at a time: every site's
    whole window at once would hold sites × L bytes several times over (13 GB a copy for
    100,000 sites of Basenji2's 131,072 bp) to keep `width` bases of each."""
    start, end = mutated_span(seq_length, width)
    spans = np.empty((len(sites), width, 4), dtype=np.uint8)
    for first in range(0, len(sites), SPAN_SITES):
        chunk = sites[first : first + SPAN_SITES]
        codes = site_codes(chunk, genome, seq_length)[:, start:end]
        spans[first : first + len(chunk)] = one_hot(codes, dtype=np.uint8)
    return spans


def span_starts(sites: Sequence[Site], seq_length: int, width: int) -> npt.NDArray[np.int64]:
    """The 0-based genome start of each site's mutated span (on a ``-`` site, its window
    indices run from the span's last base back to its first)."""
    span_start, span_end = mutated_span(seq_length, width)
    return np.array(
        [
            s.window_start + (seq_length - span_end if s.strand == "-" else span_start)
            for s in sites
        ],
        dtype=np.int64,
    )


def span_on_chromosome(
    sites: Sequence[Site], genome: Genome, seq_length: int, width: int
) -> npt.NDArray[np.bool_]:
    """``(sites, width)``: whether each position of a site's mutated span, in the site's
    orientation, lies on its chromosome (a span near an end runs off it)."""
    offsets = np.arange(width)
    on = np.empty((len(sites), width), dtype=bool)
    for i, (site, start) in enumerate(
        zip(sites, span_starts(sites, seq_length, width), strict=True)
    ):
        positions = start + (offsets[::-1] if site.strand == "-" else offsets)
        on[i] = (positions >= 0) & (positions < genome.sizes[site.chrom])
    return on
