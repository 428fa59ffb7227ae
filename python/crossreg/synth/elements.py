"""Genes and regulatory elements: laid out on the ancestor and on each species' private
DNA (:func:`lay_out`, :func:`lay_out_private`); :mod:`crossreg.synth.planting` writes their
motif sites into each species.

Most elements lie inside an ancestral unit, so they have an exact ortholog. Their
*grammar* (which motifs, in which order and orientation) is ancestral; each species
samples its own motif instances from the JASPAR matrices and its own offsets within the
element, so the logic is conserved while the positions and bases diverge. Enhancers turn
over: a share of the ancestral ones survives in one species only, and each species gains
as many, with genes of its own, in its private (inserted, unaligned) DNA, drawn from the
same programmes. Genes are dense (a TSS every few kbp) and most enhancers lie within
1.3 kbp of a TSS, so that a model of an 8-kbp window sees what sets most expression.
Some enhancers also carry a *latent* site: a motif instance with its key base broken,
which a single substitution can restore (the motif-creating variants).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np

from crossreg.synth.cells import (
    CORE_PROMOTER_TF,
    GENERAL_PROMOTER_TFS,
    INSULATOR_TF,
    PROGRAMS,
    REPRESSOR_TF,
)
from crossreg.synth.genomes import Ancestor, SpeciesGenome
from crossreg.synth.presets import Preset
from crossreg.synth.species import CATALOGUE

PROMOTER_UPSTREAM = 250
PROMOTER_DOWNSTREAM = 50
ENHANCER_BP = 300
INSULATOR_BP = 100
PRIVATE_UNIT = min(
    s.private_base for s in CATALOGUE
)  # units numbered from here are species-only DNA
PROXIMAL_PER_GENE = 1.0  # mean enhancers placed within 1.3 kbp of each TSS (about)
BASE_EXPRESSION = -1.0  # mean of the log expression no sequence encodes
BASE_EXPRESSION_SD = 0.15  # its spread between genes (shared by the species)
NEURONAL = ("neuron",)  # programmes whose enhancers mostly carry a REST site
GENE_SPAN_BP = (500, 2_400)  # first to last transcribed base
GENE_SPACING_BP = 800  # between one gene's end and the next one's start
HOUSEKEEPING_SHARE = 0.4  # genes whose promoters carry general factors only
CORE_GAP_BP = 25  # from the core site's end to the TSS
COHERENT_ENHANCERS = 0.7  # chance an enhancer laid out beside a tissue gene shares its programme
UNIT_MARGIN = 400  # bp at either end of a unit that no element takes


@dataclass(frozen=True)
class Gene:
    """A gene on an ancestral unit: TSS offset, strand and exons (unit-relative, half-open)."""

    gene_id: str
    unit: int
    strand: int
    exons: tuple[tuple[int, int], ...]  # in ancestral orientation, sorted by start
    base_expression: float  # log-scale expression independent of regulation
    species: tuple[str, ...]  # the species that have it

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
    program: str = ""  # the cell type whose factors drive it (enhancers, tissue promoters)
    gene_id: str = ""  # promoters: their gene
    latent: tuple[str, int] | None = None  # a broken site a substitution can restore
    core: tuple[str, int] | None = None  # promoters: the site CORE_GAP_BP upstream of the TSS

    @property
    def sites_in_order(self) -> tuple[tuple[str, int], ...]:
        """The grammar, with a promoter's core site last (nearest the TSS)."""
        return (*self.grammar, *([self.core] if self.core else []))


@dataclass
class _Counts:
    """How many genes, enhancers and insulators are numbered so far."""

    gene: int = 0
    enhancer: int = 0
    insulator: int = 0


@dataclass
class Layout:
    """All genes and elements of the ancestor, in a world of `species`."""

    species: tuple[str, ...]
    genes: list[Gene] = field(default_factory=list)
    elements: list[Element] = field(default_factory=list)
    counts: _Counts = field(default_factory=_Counts)


def _free(occupied: list[tuple[int, int]], start: int, end: int, pad: int) -> bool:
    return all(end + pad <= s or start >= e + pad for s, e in occupied)


def _promoter_span(tss: int, strand: int) -> tuple[int, int]:
    """The promoter of a gene whose first transcribed base is `tss`, on `strand`."""
    if strand > 0:
        return tss - PROMOTER_UPSTREAM, tss + PROMOTER_DOWNSTREAM
    return tss + 1 - PROMOTER_DOWNSTREAM, tss + 1 + PROMOTER_UPSTREAM


def _clear_of(occupied: list[tuple[int, int]], gstart: int, span: int, strand: int) -> int:
    """The first start from `gstart` on of a gene of `span` bp on `strand` whose promoter
    overlaps none of the `occupied` spans (an element written over another's motif sites
    would leave their recorded scores, and so the truth, stale)."""
    while True:
        pstart, pend = _promoter_span(gstart if strand > 0 else gstart + span - 1, strand)
        blocking = [e for s, e in occupied if s < pend and pstart < e]
        if not blocking:
            return gstart
        gstart += max(blocking) - pstart


def _exons(rng: np.random.Generator, start: int, end: int) -> tuple[tuple[int, int], ...]:
    """2-5 exons spanning ``[start, end)``: first and last at the gene ends."""
    inner_room = np.arange(start + 400, end - 400, 50)
    n = int(rng.integers(2, 6))
    n = min(n, 2 + inner_room.size // 4)
    top = max(81, min(300, (end - start) // 3))
    lengths = rng.integers(80, top, size=n)
    inner = (
        np.sort(rng.choice(inner_room, size=n - 2, replace=False))
        if n > 2
        else np.zeros(0, dtype=np.int64)
    )
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


def _enhancer(
    rng: np.random.Generator,
    counts: _Counts,
    unit: int,
    start: int,
    species: tuple[str, ...],
    program: str | None = None,
) -> Element:
    """An enhancer of cell-type `program` (default: a random one) at unit-relative `start`."""
    programs = sorted(PROGRAMS)
    counts.enhancer += 1
    drawn = programs[int(rng.integers(len(programs)))]  # either way: the same random stream
    program = drawn if program is None else program
    tfs = list(rng.choice(PROGRAMS[program], size=int(rng.integers(2, 5))))
    if rng.random() < 0.2:
        tfs.append("FOS::JUN")
    if rng.random() < (0.7 if program in NEURONAL else 0.1):
        tfs.insert(int(rng.integers(len(tfs) + 1)), REPRESSOR_TF)
    latent = None
    if rng.random() < 0.3:
        latent = (str(rng.choice(PROGRAMS[program])), int(rng.choice([-1, 1])))
    return Element(
        f"E{counts.enhancer:05d}",
        "enhancer",
        unit,
        start,
        start + ENHANCER_BP,
        tuple((str(t), int(rng.choice([-1, 1]))) for t in tfs),
        species,
        program=program,
        latent=latent,
    )


def _promoter_grammar(
    rng: np.random.Generator, strand: int, programs: list[str]
) -> tuple[str | None, list[tuple[str, int]]]:
    """A gene's programme (None: housekeeping) and its promoter's motif grammar upstream of
    the core site (which every promoter has, see :data:`CORE_PROMOTER_TF`).

    A housekeeping promoter carries 2-4 general factors, active alike in every cell type;
    a tissue gene's promoter carries two sites of its programme's factors, so it is strong
    where the programme runs and off elsewhere.
    """
    if rng.random() < HOUSEKEEPING_SHARE:
        general = rng.choice(GENERAL_PROMOTER_TFS, size=int(rng.integers(2, 5)), replace=False)
        return None, [(str(t), strand) for t in general]
    program = programs[int(rng.integers(len(programs)))]
    factors = rng.choice(PROGRAMS[program], size=2)
    return program, [(str(t), int(rng.choice([-1, 1]))) for t in factors]


@dataclass
class _Unit:
    """A unit being laid out: its number and length, the species its elements are in, and
    the spans its elements take so far."""

    unit: int
    length: int
    species: tuple[str, ...]
    occupied: list[tuple[int, int]] = field(default_factory=list)


def _lay_out_unit(
    rng: np.random.Generator,
    layout: Layout,
    unit: int,
    length: int,
    genes_per_100kb: float,
    enhancers_per_100kb: float,
    insulators_per_100kb: float,
    species: tuple[str, ...] | None,
) -> None:
    """Genes (each with its promoter and 0-2 enhancers within 1.3 kbp of its TSS), distal
    enhancers and insulators on one unit. `species` None: an ancestral unit, whose
    enhancers turn over later (:func:`lay_out`); else the species owning the private unit."""
    room = _Unit(unit, length, layout.species if species is None else species)
    _lay_out_genes(rng, layout, room, genes_per_100kb)
    _lay_out_distal(rng, layout, room, "enhancer", enhancers_per_100kb, ENHANCER_BP)
    _lay_out_distal(rng, layout, room, "insulator", insulators_per_100kb, INSULATOR_BP)


def _lay_out_genes(
    rng: np.random.Generator, layout: Layout, room: _Unit, genes_per_100kb: float
) -> None:
    """Genes one after another along `room`, at least :data:`GENE_SPACING_BP` apart, each
    with its promoter and nearby enhancers (:func:`_add_gene`)."""
    cursor = UNIT_MARGIN + PROMOTER_UPSTREAM
    end_of_room = room.length - UNIT_MARGIN - PROMOTER_UPSTREAM
    per_gene = 100_000 / max(genes_per_100kb, 1e-9)
    mean_gap = max(1.0, per_gene - sum(GENE_SPAN_BP) / 2 - GENE_SPACING_BP)
    while genes_per_100kb > 0:
        gstart = cursor + int(rng.exponential(mean_gap))
        span = int(rng.integers(*GENE_SPAN_BP))
        if gstart + span > end_of_room:
            break
        strand = 1 if rng.random() < 0.5 else -1
        # the previous gene's enhancers may reach where this promoter would go: move past
        gstart = _clear_of(room.occupied, gstart, span, strand)
        if gstart + span > end_of_room:
            break
        cursor = gstart + span + GENE_SPACING_BP
        _add_gene(rng, layout, room, gstart, span, strand)


def _add_gene(
    rng: np.random.Generator, layout: Layout, room: _Unit, gstart: int, span: int, strand: int
) -> None:
    """A gene of `span` bp from `gstart` on `strand`, its promoter and 0-2 enhancers within
    1.3 kbp of its TSS (of its programme, mostly, for a tissue gene's)."""
    counts = layout.counts
    counts.gene += 1
    gene = Gene(
        gene_id=f"G{counts.gene:05d}",
        unit=room.unit,
        strand=strand,
        exons=_exons(rng, gstart, gstart + span),
        base_expression=float(rng.normal(BASE_EXPRESSION, BASE_EXPRESSION_SD)),
        species=room.species,
    )
    layout.genes.append(gene)
    tss = gene.tss
    pstart, pend = _promoter_span(tss, strand)
    program, grammar = _promoter_grammar(rng, strand, sorted(PROGRAMS))
    layout.elements.append(
        Element(
            f"P{counts.gene:05d}",
            "promoter",
            room.unit,
            pstart,
            pend,
            tuple(grammar),
            room.species,
            program=program or "",
            gene_id=gene.gene_id,
            core=(CORE_PROMOTER_TF, strand),
        )
    )
    room.occupied.append((pstart, pend))
    for _k in range(int(rng.choice(3, p=[0.25, 0.4, 0.35]))):
        centre = tss + int(rng.choice([-1, 1])) * int(rng.integers(450, 1_300))
        start = centre - ENHANCER_BP // 2
        if UNIT_MARGIN <= start < room.length - UNIT_MARGIN - ENHANCER_BP and _free(
            room.occupied, start, start + ENHANCER_BP, 100
        ):
            room.occupied.append((start, start + ENHANCER_BP))
            coherent = program is not None and rng.random() < COHERENT_ENHANCERS
            own = program if coherent else None
            layout.elements.append(_enhancer(rng, counts, room.unit, start, room.species, own))


def _lay_out_distal(
    rng: np.random.Generator, layout: Layout, room: _Unit, kind: str, rate: float, width: int
) -> None:
    """A Poisson number (`rate` per 100 kbp) of enhancers or insulators (`kind`) of `width`
    bp, each where 20 random tries find room 300 bp clear of the others (none where none
    does)."""
    length = room.length
    for _ in range(int(rng.poisson(rate * length / 100_000))):
        if length - UNIT_MARGIN - width <= UNIT_MARGIN:
            break
        for _try in range(20):
            start = int(rng.integers(UNIT_MARGIN, length - UNIT_MARGIN - width))
            if _free(room.occupied, start, start + width, 300):
                break
        else:
            continue
        room.occupied.append((start, start + width))
        if kind == "enhancer":
            layout.elements.append(_enhancer(rng, layout.counts, room.unit, start, room.species))
            continue
        layout.counts.insulator += 1
        layout.elements.append(
            Element(
                f"I{layout.counts.insulator:05d}",
                kind,
                room.unit,
                start,
                start + width,
                ((INSULATOR_TF, int(rng.choice([-1, 1]))),),
                room.species,
            )
        )


def lay_out(
    rng: np.random.Generator, preset: Preset, ancestor: Ancestor, species: tuple[str, ...]
) -> Layout:
    """Place genes (with promoters and nearby enhancers), distal enhancers and CTCF
    insulators on the ancestral units of a world of `species`; each species loses
    ``turnover / 2`` of the ancestral enhancers, a different share for each (see
    :class:`Preset`), so that of two species ``turnover`` of each one's enhancers are its
    own once it gains as many (:func:`lay_out_private`)."""
    if len(species) * preset.turnover / 2 > 1:
        raise ValueError(
            f"turnover {preset.turnover} leaves too few enhancers for {len(species)} species "
            f"to each lose a separate {preset.turnover / 2:.0%}"
        )
    layout = Layout(species)
    distal = max(0.0, preset.enhancers_per_100kb - PROXIMAL_PER_GENE * preset.genes_per_100kb)
    for unit, codes in enumerate(ancestor.units):
        _lay_out_unit(
            rng,
            layout,
            unit,
            int(codes.size),
            preset.genes_per_100kb,
            distal,
            preset.insulators_per_100kb,
            None,
        )
    enhancers = [k for k, e in enumerate(layout.elements) if e.kind == "enhancer"]
    lost = round(preset.turnover / 2 * len(enhancers))
    order = rng.permutation(len(enhancers))
    losers = (species[1], species[0], *species[2:])
    for rank, k in enumerate(order[: len(species) * lost]):
        survivors = tuple(s for s in species if s != losers[rank // lost])
        index = enhancers[int(k)]
        layout.elements[index] = replace(layout.elements[index], species=survivors)
    return layout


def lay_out_private(
    rng: np.random.Generator, preset: Preset, genome: SpeciesGenome, layout: Layout
) -> None:
    """Add the genes and enhancers `genome` gained to `layout`, on its private units: as
    many enhancers as each species lost of the ancestral ones (``turnover / 2`` of them),
    so that ``turnover`` of its enhancers are its own."""
    ancestral = sum(1 for e in layout.elements if e.kind == "enhancer" and e.unit < PRIVATE_UNIT)
    units = sorted(genome.private.items())
    if not units:
        return
    before = len(layout.elements)
    for unit, placement in units:
        _lay_out_unit(
            rng,
            layout,
            unit,
            placement.length,
            preset.private_genes_per_100kb,
            0.0,
            preset.insulators_per_100kb / 2,
            (genome.name,),
        )
    placed = sum(1 for e in layout.elements[before:] if e.kind == "enhancer")
    wanted = round(preset.turnover / 2 * ancestral) - placed
    lengths = np.array([p.length for _, p in units], dtype=np.float64)
    tries = 0
    while wanted > 0 and tries < 50 * max(1, wanted):
        tries += 1
        unit, placement = units[int(rng.choice(len(units), p=lengths / lengths.sum()))]
        occupied = [(e.start, e.end) for e in layout.elements if e.unit == unit]
        last = placement.length - UNIT_MARGIN - ENHANCER_BP  # the last start that fits
        start = int(rng.integers(UNIT_MARGIN, max(UNIT_MARGIN + 1, last)))
        if start > last or not _free(occupied, start, start + ENHANCER_BP, 300):
            continue
        layout.elements.append(_enhancer(rng, layout.counts, unit, start, (genome.name,)))
        wanted -= 1
