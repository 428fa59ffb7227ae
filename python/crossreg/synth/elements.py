"""Genes and regulatory elements: laid out on the ancestor, planted into each species.

Every element lies inside one ancestral unit, so it has an exact ortholog. Its *grammar*
(which motifs, in which order and orientation) is ancestral; each species samples its own
motif instances from the JASPAR matrices and its own offsets within the element, so the
logic is conserved while the positions and bases diverge. A few enhancers exist in one
species only. Some enhancers also carry a *latent* site: a motif instance with its key
base broken, which a single substitution can restore (the motif-creating variants).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from crossreg.dna import reverse_complement
from crossreg.synth.cells import (
    GENERAL_PROMOTER_TFS,
    INSULATOR_TF,
    PROGRAMS,
    REPRESSOR_TF,
)
from crossreg.synth.genomes import Ancestor, SpeciesGenome
from crossreg.synth.motifs import Motif
from crossreg.synth.presets import Preset

PROMOTER_UPSTREAM = 250
PROMOTER_DOWNSTREAM = 50
ENHANCER_BP = 300
INSULATOR_BP = 100
SPECIES = ("human", "mouse")


@dataclass(frozen=True)
class Gene:
    """A gene on an ancestral unit: TSS offset, strand and exons (unit-relative, half-open)."""

    gene_id: str
    unit: int
    strand: int
    exons: tuple[tuple[int, int], ...]  # in ancestral orientation, sorted by start
    base_expression: float  # log-scale expression independent of regulation

    @property
    def tss(self) -> int:
        """Unit-relative position of the first transcribed base."""
        return self.exons[0][0] if self.strand > 0 else self.exons[-1][1] - 1


@dataclass(frozen=True)
class Element:
    """A regulatory element: unit-relative span, kind, ordered grammar and where it exists."""

    element_id: str
    kind: str  # promoter | enhancer | insulator
    unit: int
    start: int
    end: int
    grammar: tuple[tuple[str, int], ...]  # (TF name, strand in ancestral orientation)
    species: tuple[str, ...]
    program: str = ""  # the cell type whose factors dominate (enhancers)
    gene_id: str = ""  # promoters: their gene
    latent: tuple[str, int] | None = None  # a broken site a substitution can restore


@dataclass
class Layout:
    """All genes and elements of the ancestor."""

    genes: list[Gene] = field(default_factory=list)
    elements: list[Element] = field(default_factory=list)


@dataclass(frozen=True)
class Site:
    """A planted motif instance in one species (0-based half-open, strand +1/-1)."""

    element_id: str
    tf: str
    chrom: str
    start: int
    end: int
    strand: int
    score: float
    occupancy: float
    latent: bool


def _free(occupied: list[tuple[int, int]], start: int, end: int, pad: int) -> bool:
    return all(end + pad <= s or start >= e + pad for s, e in occupied)


def _exons(rng: np.random.Generator, start: int, end: int) -> tuple[tuple[int, int], ...]:
    """2-5 exons spanning ``[start, end)``: first and last at the gene ends."""
    n = int(rng.integers(2, 6))
    lengths = rng.integers(80, 300, size=n)
    inner = np.sort(rng.choice(np.arange(start + 400, end - 400, 50), size=n - 2, replace=False))
    exons = [(start, start + int(lengths[0]))]
    exons += [(int(s), int(s) + int(ln)) for s, ln in zip(inner, lengths[1:-1], strict=True)]
    exons.append((end - int(lengths[-1]), end))
    merged: list[tuple[int, int]] = []
    for s, e in exons:
        if merged and s <= merged[-1][1] + 50:
            merged[-1] = (merged[-1][0], max(e, merged[-1][1]))
        else:
            merged.append((s, e))
    if len(merged) < 2:
        merged = [exons[0], exons[-1]]
    return tuple(merged)


def lay_out(rng: np.random.Generator, preset: Preset, ancestor: Ancestor) -> Layout:
    """Place genes (with promoters), enhancers and CTCF insulators on the ancestral units."""
    layout = Layout()
    programs = sorted(PROGRAMS)
    n_gene = n_enh = n_ins = 0
    for unit, codes in enumerate(ancestor.units):
        length = int(codes.size)
        occupied: list[tuple[int, int]] = []
        margin = 400
        if rng.random() < preset.gene_per_unit and length > 6_000:
            span = int(rng.integers(2_500, min(30_000, length - 2 * margin - 400)))
            gstart = int(rng.integers(margin + PROMOTER_UPSTREAM, length - margin - span))
            strand = 1 if rng.random() < 0.5 else -1
            n_gene += 1
            gene = Gene(
                gene_id=f"G{n_gene:05d}",
                unit=unit,
                strand=strand,
                exons=_exons(rng, gstart, gstart + span),
                base_expression=float(rng.normal(-1.0, 0.3)),
            )
            layout.genes.append(gene)
            tss = gene.tss
            if strand > 0:
                pstart, pend = tss - PROMOTER_UPSTREAM, tss + PROMOTER_DOWNSTREAM
            else:
                pstart, pend = tss + 1 - PROMOTER_DOWNSTREAM, tss + 1 + PROMOTER_UPSTREAM
            general = rng.choice(GENERAL_PROMOTER_TFS, size=int(rng.integers(2, 4)), replace=False)
            grammar = [(str(t), strand) for t in general]
            if rng.random() < 0.5:
                program = programs[int(rng.integers(len(programs)))]
                grammar.append((str(rng.choice(PROGRAMS[program])), int(rng.choice([-1, 1]))))
            layout.elements.append(
                Element(
                    f"P{n_gene:05d}",
                    "promoter",
                    unit,
                    pstart,
                    pend,
                    tuple(grammar),
                    SPECIES,
                    gene_id=gene.gene_id,
                )
            )
            occupied.append((pstart, pend))
        for kind, rate, width in (
            ("enhancer", preset.enhancers_per_100kb, ENHANCER_BP),
            ("insulator", preset.insulators_per_100kb, INSULATOR_BP),
        ):
            for _ in range(int(rng.poisson(rate * length / 100_000))):
                for _try in range(20):
                    start = int(rng.integers(margin, length - margin - width))
                    if _free(occupied, start, start + width, 300):
                        break
                else:
                    continue
                occupied.append((start, start + width))
                if kind == "insulator":
                    n_ins += 1
                    layout.elements.append(
                        Element(
                            f"I{n_ins:05d}",
                            kind,
                            unit,
                            start,
                            start + width,
                            ((INSULATOR_TF, int(rng.choice([-1, 1]))),),
                            SPECIES,
                        )
                    )
                    continue
                n_enh += 1
                program = programs[int(rng.integers(len(programs)))]
                tfs = list(rng.choice(PROGRAMS[program], size=int(rng.integers(2, 5))))
                if rng.random() < 0.2:
                    tfs.append("FOS::JUN")
                if rng.random() < 0.1:
                    tfs.insert(int(rng.integers(len(tfs) + 1)), REPRESSOR_TF)
                u = rng.random()
                species = SPECIES if u < 0.85 else ("human",) if u < 0.925 else ("mouse",)
                latent = None
                if rng.random() < 0.3:
                    latent = (str(rng.choice(PROGRAMS[program])), int(rng.choice([-1, 1])))
                layout.elements.append(
                    Element(
                        f"E{n_enh:05d}",
                        kind,
                        unit,
                        start,
                        start + width,
                        tuple((str(t), int(rng.choice([-1, 1]))) for t in tfs),
                        species,
                        program=program,
                        latent=latent,
                    )
                )
    return layout


def broken_site(motif: Motif, site: bytes) -> bytes:
    """`site` (forward orientation) with its key column set to the worst base."""
    column = motif.key_column()
    out = bytearray(site)
    out[column] = b"ACGT"[int(motif.log_odds[:, column].argmin())]
    return bytes(out)


def plant(
    rng: np.random.Generator,
    layout: Layout,
    genome: SpeciesGenome,
    motifs: dict[str, Motif],
) -> list[Site]:
    """Write motif instances of every element present in `genome` into its sequences."""
    sites: list[Site] = []
    for element in layout.elements:
        if genome.name not in element.species:
            continue
        placement = genome.placements[element.unit]
        chrom = placement.chrom
        seq = genome.sequences[chrom]
        entries = [(tf, strand, False) for tf, strand in element.grammar]
        if element.latent is not None:
            entries.insert(int(rng.integers(len(entries) + 1)), (*element.latent, True))
        slot = (element.end - element.start) // len(entries)
        for k, (tf, a_strand, latent) in enumerate(entries):
            motif = motifs[tf]
            width = motif.length
            a_start = element.start + k * slot + int(rng.integers(0, max(1, slot - width + 1)))
            start, end = placement.to_species(a_start, a_start + width)
            forward = motif.sample(rng)
            if latent:
                forward = broken_site(motif, forward)
            strand = a_strand * placement.strand
            written = forward if strand > 0 else reverse_complement(forward)
            seq[start:end] = np.frombuffer(written, dtype=np.uint8)
            score = motif.score(written, strand)
            sites.append(
                Site(
                    element.element_id,
                    tf,
                    chrom,
                    start,
                    end,
                    strand,
                    score,
                    motif.occupancy(score),
                    latent,
                )
            )
    return sites
