"""Signed background annotations built inside crossreg (``--background-maf-bins``,
``--background-gtf``), so that SLDP can condition on MAF and gene features (Kelley 2020;
Reshef's "maf5") without hand-made ``.sannot.gz`` files.

Signing (docs: sldp.md §8). A region or bin indicator has no sign, so each SNP in it gets
+1 when bim A1 is its minor allele and −1 when A1 is the major allele, 0 outside it. This
is the reference's signing of unsigned annotations by the minor allele as sldp.md §8
describes it; the spec marks how Reshef's maf5 and Kelley's coding/UTR/intron backgrounds
were signed as *unverified*. The minor allele comes from the panel's ``.frq`` (``plink
--freq``: MAF is the frequency of the ``.frq``'s A1, which may be bim A1 or A2). A SNP
whose two alleles are exactly 50/50 counts A1 as minor (+1); a monomorphic SNP (MAF 0) or
one with an NA MAF gets 0 everywhere (its standardised genotype is 0 anyway). Values are
per normalised genotype: neither ``--alpha`` nor ``--background-alpha`` scales them.

MAF bins (``maf_bin1..K``). The K − 1 inner edges are the k/K quantiles (numpy's linear
interpolation) of the MAF of the *common* (MAF ≥ 0.05) panel SNPs of all analysed
chromosomes together, so the edges are genome-wide and each bin holds about the same
number of common SNPs, as the baseline-LD MAF bins (Gazal 2017) are cut among common SNPs.
Fixed edges would instead give very unequal bins under the skewed MAF spectrum. Bin k holds
e_{k−1} ≤ MAF < e_k; the first bin is open below (every polymorphic SNP under e_1, the
rare ones too, since the signed minor-allele effect the background absorbs is strongest
there) and the last is closed at 0.5. MAF is folded (min(f, 1−f)).

GTF features (``coding``, ``utr``, ``intron`` and each one's ``.extend.500``).
* coding: ``CDS`` plus ``start_codon``/``stop_codon`` (a GTF's CDS leaves out the stop
  codon; UCSC coding exons, behind the baseline's Coding_UCSC, include it);
* utr: ``five_prime_utr``, ``three_prime_utr``, ``UTR``, ``5UTR``, ``3UTR``;
* intron: each transcript minus its own exons. The transcript's span is its ``transcript``
  row, or its exons' outer bounds when it has none; transcripts without exons give none.
  The union is taken over transcripts, so a base can be intronic in one transcript and
  coding in another: the annotations overlap, as the baseline ones do;
* ``X.extend.500``: X with 500 bp added on each side of every interval (the feature itself
  included, as the baseline's ``Coding_UCSC.extend.500``).
GTF rows are 1-based inclusive (GtfRecord holds them 0-based half-open). A SNP at bim BP p
is in a feature [start, end] (GTF numbers) when start ≤ p ≤ end, and in its extension when
start − 500 ≤ p ≤ end + 500: 500 bp away is in, 501 bp away is out. GTF chromosome names
match the panel's with or without ``chr`` (``chr7`` and ``7`` are the same chromosome).

Annotations without any (nonzero) SNP on the analysed chromosomes are dropped with a log
line: an all-zero background column makes D_BB singular.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import numpy.typing as npt

from crossreg.errors import first_few
from crossreg.io.chroms import bare_chrom
from crossreg.io.gtf import read_gtf
from crossreg.stats.sldp.annotations import AnnotationTable
from crossreg.stats.sldp.plink import Bim, frq_rows, read_bim
from crossreg.stats.sldp.tables import numbers, read_text_table, require_columns

COMMON_MAF = 0.05
EXTEND_BP = 500
CODING_FEATURES = ("CDS", "start_codon", "stop_codon")
UTR_FEATURES = ("five_prime_utr", "three_prime_utr", "UTR", "5UTR", "3UTR")
GTF_KINDS = ("coding", "utr", "intron")
GTF_NAMES = tuple(n for kind in GTF_KINDS for n in (kind, f"{kind}.extend.{EXTEND_BP}"))
log = logging.getLogger("crossreg")

Intervals = dict[str, tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]]  # chrom → starts, ends


def read_frq_alleles(
    path: str | os.PathLike[str], bim: Bim
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """The ``.frq`` MAF column and the frequency of bim A1, per bim SNP (NaN where NA)."""
    path = Path(path)
    if not path.exists():
        raise ValueError(f"{path}: missing .frq (plink --freq output) for panel {bim.path}")
    table = read_text_table(path, header=True)
    require_columns(table, ["SNP", "A1", "MAF"], path)
    rows = frq_rows(table["SNP"].to_numpy().astype(str), bim, path)
    raw = numbers(table, "MAF", path, header=True, na=True)[rows]
    a1 = table["A1"].to_numpy().astype(str)[rows]
    same, other = a1 == bim.a1, a1 == bim.a2
    polymorphic = (raw > 0) & (raw < 1)
    odd = np.nonzero(polymorphic & ~same & ~other)[0]
    if len(odd):
        i = int(odd[0])
        raise ValueError(
            f"{path}: A1 {a1[i]} of SNP {bim.snp[i]} is neither allele of {bim.path} "
            f"({bim.a1[i]}/{bim.a2[i]})"
        )
    return raw, np.where(other, 1.0 - raw, raw)


def minor_allele_sign(a1_freq: npt.NDArray[np.float64]) -> npt.NDArray[np.int8]:
    """+1 where bim A1 is the minor allele (frequency ≤ 0.5), −1 where it is the major one,
    0 where the SNP is monomorphic or its frequency unknown."""
    f = np.asarray(a1_freq, dtype=np.float64)
    sign = np.zeros(len(f), dtype=np.int8)
    polymorphic = (f > 0) & (f < 1)
    sign[polymorphic & (f <= 0.5)] = 1
    sign[polymorphic & (f > 0.5)] = -1
    return sign


def maf_bin_edges(maf: npt.NDArray[np.float64], k: int) -> npt.NDArray[np.float64]:
    """Edges 0, e_1, …, e_{k−1}, 0.5: the inner ones are the j/k quantiles of the common
    (MAF ≥ 0.05) SNPs' MAF."""
    common = maf[maf >= COMMON_MAF]
    if not len(common):
        raise ValueError(
            f"--background-maf-bins: no panel SNP with MAF ≥ {COMMON_MAF} to place the bin edges"
        )
    inner = np.quantile(common, np.arange(1, k) / k)
    return np.concatenate([[0.0], inner, [0.5]])


def assign_maf_bins(
    maf: npt.NDArray[np.float64], edges: npt.NDArray[np.float64]
) -> npt.NDArray[np.int64]:
    """0-based bin of each SNP (e_{j} ≤ MAF < e_{j+1}, the last closed at 0.5); −1 for
    MAF 0 or NaN."""
    found = np.searchsorted(edges[1:-1], maf, side="right")
    return np.where(maf > 0, found, -1)


def covered(
    starts: npt.NDArray[np.int64], ends: npt.NDArray[np.int64], positions: npt.NDArray[np.int64]
) -> npt.NDArray[np.bool_]:
    """Whether each 0-based position lies in any [start, end) interval (they may overlap):
    #(start ≤ pos) − #(end ≤ pos) is the number of intervals holding pos."""
    inside = np.searchsorted(np.sort(starts), positions, side="right")
    passed = np.searchsorted(np.sort(ends), positions, side="right")
    return inside > passed


def _by_chrom(
    chrom: npt.NDArray[np.str_], start: npt.NDArray[np.int64], end: npt.NDArray[np.int64]
) -> Intervals:
    return {str(c): (start[chrom == c], end[chrom == c]) for c in np.unique(chrom)}


def _introns(
    exons: list[tuple[str, str, int, int]], spans: dict[tuple[str, str], tuple[int, int]]
) -> tuple[npt.NDArray[np.str_], npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """Each transcript's span minus its exons, as (chrom, start, end) arrays (0-based)."""
    empty = (np.array([], dtype=str), np.array([], dtype=np.int64), np.array([], dtype=np.int64))
    if not exons:
        return empty
    chrom = np.array([e[0] for e in exons], dtype=str)
    tid = np.array([e[1] for e in exons], dtype=str)
    start = np.array([e[2] for e in exons], dtype=np.int64)
    end = np.array([e[3] for e in exons], dtype=np.int64)
    keys, group = np.unique(np.char.add(np.char.add(chrom, "\t"), tid), return_inverse=True)
    order = np.lexsort((start, group))
    group, start, end, chrom = group[order], start[order], end[order], chrom[order]
    offset = group.astype(np.int64) * (int(end.max()) + 1)
    reach = np.maximum.accumulate(offset + end) - offset  # furthest exon end so far, per transcript
    first = np.r_[True, group[1:] != group[:-1]]
    last = np.r_[group[1:] != group[:-1], True]
    gap = ~first[1:] & (start[1:] > reach[:-1])
    pieces = [(chrom[1:][gap], reach[:-1][gap], start[1:][gap])]
    lo, hi = start[first], reach[last]  # exon bounds of each transcript, in key order
    span = np.array([spans.get(tuple(k.split("\t", 1)), (-1, -1)) for k in keys.tolist()])
    span = span.reshape(-1, 2).astype(np.int64)
    span_lo = np.where(span[:, 0] >= 0, span[:, 0], lo)
    span_hi = np.where(span[:, 0] >= 0, span[:, 1], hi)
    group_chrom = chrom[first]
    pieces.append((group_chrom[span_lo < lo], span_lo[span_lo < lo], lo[span_lo < lo]))
    pieces.append((group_chrom[span_hi > hi], hi[span_hi > hi], span_hi[span_hi > hi]))
    parts = [np.concatenate(p) for p in zip(*pieces, strict=True)]
    return parts[0], parts[1], parts[2]


def gtf_regions(path: str | os.PathLike[str]) -> dict[str, Intervals]:
    """Coding, UTR and intron intervals of a GTF and their ±500-bp extensions:
    name → bare chromosome → (starts, ends), 0-based half-open, possibly overlapping."""
    coding: list[tuple[str, int, int]] = []
    utr: list[tuple[str, int, int]] = []
    exons: list[tuple[str, str, int, int]] = []
    spans: dict[tuple[str, str], tuple[int, int]] = {}
    for r in read_gtf(path):
        if r.feature in CODING_FEATURES:
            coding.append((bare_chrom(r.chrom), r.start, r.end))
        elif r.feature in UTR_FEATURES:
            utr.append((bare_chrom(r.chrom), r.start, r.end))
        elif r.feature == "exon" and r.transcript_id:
            exons.append((bare_chrom(r.chrom), r.transcript_id, r.start, r.end))
        elif r.feature == "transcript" and r.transcript_id:
            spans[(bare_chrom(r.chrom), r.transcript_id)] = (r.start, r.end)
    if not (coding or utr or exons):
        raise ValueError(
            f"{path}: no {', '.join(CODING_FEATURES)}, UTR ({', '.join(UTR_FEATURES)}) or exon "
            "(with a transcript_id) rows, so no coding, UTR or intron background can be built"
        )

    def arrays(rows: list[tuple[str, int, int]]):
        return (
            np.array([r[0] for r in rows], dtype=str),
            np.array([r[1] for r in rows], dtype=np.int64),
            np.array([r[2] for r in rows], dtype=np.int64),
        )

    base = {"coding": arrays(coding), "utr": arrays(utr), "intron": _introns(exons, spans)}
    regions: dict[str, Intervals] = {}
    for kind, (chrom, start, end) in base.items():
        regions[kind] = _by_chrom(chrom, start, end)
        regions[f"{kind}.extend.{EXTEND_BP}"] = _by_chrom(
            chrom, np.maximum(start - EXTEND_BP, 0), end + EXTEND_BP
        )
    return regions


def _check_gtf_chromosomes(
    gtf: str, regions: dict[str, Intervals], bfile_chr: str, chroms: list[str]
) -> None:
    """Stop when none of the chromosomes of `gtf`'s `regions` is one of the panel's
    `chroms` (with or without ``chr``), naming examples of each and the fix."""
    bare = sorted({c for r in regions.values() for c in r})
    if not {bare_chrom(c) for c in chroms} & set(bare):
        raise ValueError(
            f"{gtf}: none of its chromosomes with a coding, UTR or exon row "
            f"({first_few(bare)}) is one of the chromosomes of the panel {bfile_chr} "
            f"({first_few(chroms)}), with or without 'chr': rename the GTF's chromosomes (its "
            "first column) to the panel's, or give the GTF of the panel's genome"
        )


@dataclass
class BuiltSource:
    """One built background source (MAF bins or one GTF): its kept names, per chromosome
    the signed values (bim rows × names, −1/0/+1), and each name's number of SNPs."""

    source: str
    names: list[str]
    values: dict[str, npt.NDArray[np.int8]] = field(default_factory=dict)
    snps: dict[str, int] = field(default_factory=dict)  # name → SNPs with a nonzero value


@dataclass
class BuiltBackgrounds:
    """The built background annotations of the analysed chromosomes, as thin
    AnnotationTables (one row per bim SNP in bim order) per chromosome."""

    sources: list[BuiltSource]
    maf_edges: list[float] | None = None

    def tables(self, chrom: str) -> list[AnnotationTable]:
        return [
            AnnotationTable(s.source, list(s.names), s.values[chrom].astype(np.float64))
            for s in self.sources
        ]

    def describe(self) -> dict[str, object]:
        """Names, SNP counts and MAF edges, for summary.json."""
        return {
            "annotations": {s.source: s.snps for s in self.sources},
            "maf_edges": self.maf_edges,
        }


def build_backgrounds(
    bfile_chr: str,
    chroms: list[str],
    *,
    maf_bins: int = 0,
    gtf: str | os.PathLike[str] | None = None,
) -> BuiltBackgrounds | None:
    """MAF-bin and GTF backgrounds for the panel ``{bfile_chr}{chrom}.bim/.frq`` of
    `chroms` (None when neither is asked for). Empty annotations are dropped (logged)."""
    if maf_bins < 0:
        raise ValueError(f"--background-maf-bins must be ≥ 1 (0: none), not {maf_bins}")
    if not maf_bins and gtf is None:
        return None
    regions = gtf_regions(gtf) if gtf is not None else None
    if regions is not None:
        _check_gtf_chromosomes(str(gtf), regions, bfile_chr, chroms)
    signs, mafs, in_gtf = {}, {}, {}
    for chrom in chroms:
        bim = read_bim(f"{bfile_chr}{chrom}.bim")
        _, a1_freq = read_frq_alleles(f"{bfile_chr}{chrom}.frq", bim)
        signs[chrom] = minor_allele_sign(a1_freq)
        mafs[chrom] = np.minimum(a1_freq, 1.0 - a1_freq)
        if regions is not None:
            position = bim.bp - 1  # bim BP is 1-based
            empty = (np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64))
            key = bare_chrom(chrom)
            in_gtf[chrom] = np.column_stack(
                [covered(*regions[n].get(key, empty), position) for n in GTF_NAMES]
            )
    sources: list[BuiltSource] = []
    edges = None
    if maf_bins:
        edges = maf_bin_edges(np.concatenate(list(mafs.values())), maf_bins)
        names = [f"maf_bin{j + 1}" for j in range(maf_bins)]
        values = {
            c: (assign_maf_bins(mafs[c], edges)[:, None] == np.arange(maf_bins)).astype(np.int8)
            * signs[c][:, None]
            for c in chroms
        }
        log.info(
            "background MAF bins: edges %s (quantiles of MAF ≥ %s)",
            ", ".join(f"{e:.4g}" for e in edges),
            COMMON_MAF,
        )
        sources.append(_kept(f"--background-maf-bins {maf_bins}", names, values))
    if regions is not None:
        bare = {c for r in regions.values() for c in r}
        lacking = {c: len(signs[c]) for c in chroms if bare_chrom(c) not in bare}
        if lacking:
            log.warning(
                "%s: no coding, UTR or exon row lies on panel chromosome(s) %s (%s SNPs): "
                "their SNPs count as outside every gene; give a GTF of the panel's whole "
                "genome, or leave those chromosomes out (--chroms)",
                gtf,
                first_few(list(lacking)),
                f"{sum(lacking.values()):,}",
            )
        values = {c: in_gtf[c].astype(np.int8) * signs[c][:, None] for c in chroms}
        built = _kept(str(gtf), list(GTF_NAMES), values)
        if not built.names:
            gtf_chroms = sorted({c for r in regions.values() for c in r})
            raise ValueError(
                f"{gtf}: no SNP of the panel {bfile_chr} (chromosomes {', '.join(chroms)}) "
                f"lies in a coding, UTR or intron region (GTF chromosomes: "
                f"{', '.join(gtf_chroms[:10]) or 'none'})"
            )
        sources.append(built)
    sources = [s for s in sources if s.names]
    return BuiltBackgrounds(sources, None if edges is None else edges.tolist())


def _kept(source: str, names: list[str], values: dict[str, npt.NDArray[np.int8]]) -> BuiltSource:
    """Drop the annotations with no nonzero SNP on any chromosome, logging each."""
    counts = sum((v != 0).sum(axis=0) for v in values.values())
    keep = np.nonzero(counts)[0]
    for j in np.nonzero(counts == 0)[0]:
        log.warning("background %s from %s: no panel SNP in it; dropped", names[j], source)
    return BuiltSource(
        source,
        [names[j] for j in keep],
        {c: np.ascontiguousarray(v[:, keep]) for c, v in values.items()},
        {names[j]: int(counts[j]) for j in keep},
    )
