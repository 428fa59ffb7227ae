"""Planting a layout's elements (:mod:`crossreg.synth.elements`) into a species: a motif
instance of each site of each element's grammar, sampled from its JASPAR matrix and
written into the species' sequence at the element's orthologous position, with its score
and occupancy recorded (:class:`Site`, the truth of ``motif_sites.tsv``). A latent site
is written with its key base broken (:func:`broken_site`), so that one substitution
restores it.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np

from crossreg.dna import reverse_complement
from crossreg.synth.elements import CORE_GAP_BP, PROMOTER_DOWNSTREAM, Element, Layout
from crossreg.synth.genomes import SpeciesGenome
from crossreg.synth.motifs import Motif


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


def broken_site(motif: Motif, site: bytes) -> bytes:
    """`site` (forward orientation) with its key column set to the worst base."""
    column = motif.key_column()
    out = bytearray(site)
    out[column] = b"ACGT"[int(motif.log_odds[:, column].argmin())]
    return bytes(out)


def _core_start(promoter: Element, strand: int, width: int) -> int:
    """Unit-relative start of `promoter`'s core site, which ends
    :data:`~crossreg.synth.elements.CORE_GAP_BP` upstream of its TSS on the gene's
    `strand`."""
    if strand > 0:
        return promoter.end - PROMOTER_DOWNSTREAM - CORE_GAP_BP - width
    return promoter.start + PROMOTER_DOWNSTREAM + CORE_GAP_BP


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
        for tf, a_strand, latent, a_start in _placements(rng, element, motifs):
            sites.append(
                _write_site(rng, genome, element, motifs[tf], tf, a_strand, latent, a_start)
            )
    _check_apart(sites)
    return sites


def _placements(
    rng: np.random.Generator, element: Element, motifs: dict[str, Motif]
) -> list[tuple[str, int, bool, int]]:
    """Where `element`'s sites go, as (TF, strand and start in ancestral orientation,
    latent): a promoter's core site :data:`~crossreg.synth.elements.CORE_GAP_BP` upstream
    of its TSS, the grammar's sites (and a latent one at a random rank) each at a random
    offset in its equal slot of the rest of the element."""
    entries = [(tf, strand, False) for tf, strand in element.grammar]
    if element.latent is not None:
        entries.insert(int(rng.integers(len(entries) + 1)), (*element.latent, True))
    first, last = element.start, element.end
    placed: list[tuple[str, int, bool, int]] = []
    if element.core is not None:
        core_tf, core_strand = element.core
        core_start = _core_start(element, core_strand, motifs[core_tf].length)
        placed.append((core_tf, core_strand, False, core_start))
        if core_strand > 0:
            last = core_start
        else:
            first = core_start + motifs[core_tf].length
    slot = (last - first) // len(entries)
    for k, (tf, a_strand, latent) in enumerate(entries):
        room = max(1, slot - motifs[tf].length + 1)
        placed.append((tf, a_strand, latent, first + k * slot + int(rng.integers(0, room))))
    return placed


def _write_site(
    rng: np.random.Generator,
    genome: SpeciesGenome,
    element: Element,
    motif: Motif,
    tf: str,
    a_strand: int,
    latent: bool,
    a_start: int,
) -> Site:
    """Sample an instance of `motif` (its key base broken when `latent`) and write it into
    `genome` at ancestral start `a_start` of `element`'s unit, on `a_strand` there."""
    placement = genome.placement(element.unit)
    start, end = placement.to_species(a_start, a_start + motif.length)
    forward = motif.sample(rng)
    if latent:
        forward = broken_site(motif, forward)
    strand = a_strand * placement.strand
    written = forward if strand > 0 else reverse_complement(forward)
    genome.sequences[placement.chrom][start:end] = np.frombuffer(written, dtype=np.uint8)
    score = motif.score(written, strand)
    return Site(
        element.element_id,
        tf,
        placement.chrom,
        start,
        end,
        strand,
        score,
        motif.occupancy(score),
        latent,
    )


def _check_apart(sites: list[Site]) -> None:
    """Stop when two planted sites share a base: the later one overwrote the earlier, whose
    recorded score no longer matches the genome (a layout that let elements overlap). In
    start order, any overlap shows between neighbours."""
    ordered = sorted(sites, key=lambda site: (site.chrom, site.start))
    for before, after in itertools.pairwise(ordered):
        if before.chrom == after.chrom and after.start < before.end:
            raise RuntimeError(
                f"synth: the {after.tf} site of {after.element_id} at {after.chrom}:"
                f"{after.start} overlaps the {before.tf} site of {before.element_id}, which "
                "it would overwrite; the element layout let two elements overlap"
            )
