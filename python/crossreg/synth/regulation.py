"""The generative rule that turns planted motifs into activity and expression.

Per species and cell type ``c``:

* element activity ``A[e, c] = 1 - exp(-GAIN * max(0, sum_i w(tf_i, c) * occ_i))`` over the
  motif sites ``i`` of element ``e`` (occupancy from :meth:`Motif.occupancy`);
* gene expression (expected CAGE tags at the TSS)
  ``E[g, c] = exp(base_g + PROMOTER_GAIN * A[p(g), c]
  + ENHANCER_GAIN * sum_e A[e, c] * exp(-d(e, g) / DECAY_BP))`` where each enhancer
  regulates the nearest TSS within ``MAX_LINK_BP`` on its chromosome.

``base_g`` is the part no sequence encodes (small: the promoter's grammar sets most of a
gene's level). *In-window* expression is what a sequence model that sees ``REACH_BP`` on
either side of a TSS can know: ``base_g`` and the contributions of enhancers farther than
that replaced by their means over the species' genes (per cell type).

The same functions score variants: change the occupancies, recompute, compare.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from crossreg.synth.cells import CELL_TYPES, tf_weight
from crossreg.synth.elements import Element, Gene, Layout
from crossreg.synth.genomes import SpeciesGenome
from crossreg.synth.planting import Site

GAIN = 0.7
PROMOTER_GAIN = 3.0
ENHANCER_GAIN = 1.5
DECAY_BP = 1_500
MAX_LINK_BP = 10_000
# what the demo's model sees around a bin: its receptive field (about 3.2 kbp in all), and
# at least the 1,024 bp its windows keep beyond the cropped bins
REACH_BP = 1_500
SPECIES_BASE_SD = 0.1  # each species' own unencoded deviation of a gene's level


@dataclass(frozen=True)
class PlacedGene:
    """A gene in species coordinates (exons sorted by start, 0-based half-open)."""

    gene_id: str
    chrom: str
    strand: int
    exons: tuple[tuple[int, int], ...]
    tss: int

    @property
    def start(self) -> int:
        """Leftmost transcribed base."""
        return self.exons[0][0]

    @property
    def end(self) -> int:
        """End of the rightmost exon (exclusive)."""
        return self.exons[-1][1]


@dataclass(frozen=True)
class PlacedElement:
    """An element in species coordinates."""

    element: Element
    chrom: str
    start: int
    end: int

    @property
    def center(self) -> int:
        """Midpoint (bp)."""
        return (self.start + self.end) // 2


def place_gene(gene: Gene, genome: SpeciesGenome) -> PlacedGene:
    """Map an ancestral gene into `genome`."""
    placement = genome.placement(gene.unit)
    exons = sorted(placement.to_species(s, e) for s, e in gene.exons)
    strand = gene.strand * placement.strand
    tss = exons[0][0] if strand > 0 else exons[-1][1] - 1
    return PlacedGene(gene.gene_id, placement.chrom, strand, tuple(exons), tss)


class Regulation:
    """Activity of every element and expression of every gene of one species."""

    def __init__(
        self,
        genome: SpeciesGenome,
        layout: Layout,
        sites: list[Site],
        rng: np.random.Generator,
    ) -> None:
        self.genome = genome.name
        self.cells = CELL_TYPES[genome.name]
        self.elements = [
            PlacedElement(e, genome.placement(e.unit).chrom, *self._span(e, genome))
            for e in layout.elements
            if genome.name in e.species
        ]
        self.element_index = {p.element.element_id: i for i, p in enumerate(self.elements)}
        genes = [g for g in layout.genes if genome.name in g.species]
        self.genes = [place_gene(g, genome) for g in genes]
        gene_index = {g.gene_id: i for i, g in enumerate(self.genes)}
        self.base_expression = np.array([g.base_expression for g in genes]) + rng.normal(
            0.0, SPECIES_BASE_SD, size=len(genes)
        )
        self.sites = sites
        self.site_element = np.array([self.element_index[s.element_id] for s in sites], np.int64)
        self.site_weight = np.array([[tf_weight(s.tf, c) for c in self.cells] for s in sites])
        self.occupancy = np.array([s.occupancy for s in sites])
        n_el = len(self.elements)
        self.promoter_of_gene = np.full(len(self.genes), -1, dtype=np.int64)
        for i, p in enumerate(self.elements):
            if p.element.kind == "promoter":
                self.promoter_of_gene[gene_index[p.element.gene_id]] = i
        # enhancer -> (gene, weight): the nearest TSS on the same chromosome
        self.link_gene = np.full(n_el, -1, dtype=np.int64)
        self.link_weight = np.zeros(n_el)
        self.link_reachable = np.zeros(n_el, dtype=bool)
        tss_by_chrom: dict[str, list[tuple[int, int]]] = {}
        for gi, g in enumerate(self.genes):
            tss_by_chrom.setdefault(g.chrom, []).append((g.tss, gi))
        for i, p in enumerate(self.elements):
            if p.element.kind != "enhancer" or p.chrom not in tss_by_chrom:
                continue
            dist, gi = min((abs(t - p.center), gi) for t, gi in tss_by_chrom[p.chrom])
            if dist <= MAX_LINK_BP:
                self.link_gene[i] = gi
                self.link_weight[i] = np.exp(-dist / DECAY_BP)
                self.link_reachable[i] = dist <= REACH_BP

    @staticmethod
    def _span(element: Element, genome: SpeciesGenome) -> tuple[int, int]:
        return genome.placement(element.unit).to_species(element.start, element.end)

    def activity(self, occupancy: npt.NDArray[np.float64] | None = None) -> npt.NDArray:
        """``(elements, cells)`` activity in [0, 1) for the given site occupancies."""
        occ = self.occupancy if occupancy is None else occupancy
        drive = np.zeros((len(self.elements), len(self.cells)))
        np.add.at(drive, self.site_element, self.site_weight * occ[:, None])
        return 1.0 - np.exp(-GAIN * np.maximum(drive, 0.0))

    def expression(self, activity: npt.NDArray, *, in_window: bool = False) -> npt.NDArray:
        """``(genes, cells)`` expected CAGE tags at each TSS; with `in_window`, what lies
        within ``REACH_BP`` of the TSS determines it and the rest is at its mean."""
        n_cells = len(self.cells)
        base = np.full(len(self.genes), self.base_expression.mean() if in_window else 0.0)
        log_e = np.repeat((base if in_window else self.base_expression)[:, None], n_cells, 1)
        has = self.promoter_of_gene >= 0
        log_e[has] += PROMOTER_GAIN * activity[self.promoter_of_gene[has]]
        for reachable in (True, False):
            linked = np.flatnonzero((self.link_gene >= 0) & (self.link_reachable == reachable))
            part = np.zeros((len(self.genes), n_cells))
            np.add.at(
                part,
                self.link_gene[linked],
                ENHANCER_GAIN * activity[linked] * self.link_weight[linked, None],
            )
            if in_window and not reachable and len(self.genes):
                part[:] = part.mean(axis=0)
            log_e += part
        return np.exp(log_e)

    def site_signal(
        self, activity: npt.NDArray, occupancy: npt.NDArray | None = None
    ) -> npt.NDArray:
        """``(sites, cells)`` TF ChIP drive of each site: element activity x occupancy."""
        occ = self.occupancy if occupancy is None else occupancy
        return activity[self.site_element] * occ[:, None]
