"""The genes of the demo's world (mini, seed 0) as docs/steps/synth.md ("The world") describes
them: their number, their promoters' grammar, their enhancers and how much of their level
no sequence encodes. Built up to the regulation only, without tracks."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest

from crossreg.synth import PRESETS
from crossreg.synth.cells import CORE_PROMOTER_TF, GENERAL_PROMOTER_TFS, PROGRAMS
from crossreg.synth.elements import Layout, lay_out, lay_out_private
from crossreg.synth.genomes import SpeciesGenome, build_species, make_ancestor
from crossreg.synth.motifs import bundled_motifs
from crossreg.synth.planting import plant
from crossreg.synth.regulation import REACH_BP, Regulation
from crossreg.synth.species import species_of
from crossreg.synth.world import rng_for

# docs/steps/synth.md, "The world": genes per genome of the mini world of each seed
DOCUMENTED_GENES = {0: {"human": 855, "mouse": 808}, 1: {"human": 829, "mouse": 797}}


def _layout(seed: int) -> tuple[Layout, list[SpeciesGenome]]:
    """The genes and elements of the mini world of `seed`, and its two genomes."""
    preset = PRESETS["mini"]
    species = species_of(2)
    ancestor = make_ancestor(rng_for(seed, "ancestor"), preset)
    layout = lay_out(rng_for(seed, "layout"), preset, ancestor, tuple(s.name for s in species))
    genomes = []
    for s in species:
        genome = build_species(
            rng_for(seed, f"{s.name}/genome"), preset, ancestor, s.name, rearrange=s.rearranged
        )
        lay_out_private(rng_for(seed, f"{s.name}/private"), preset, genome, layout)
        genomes.append(genome)
    return layout, genomes


@pytest.fixture(scope="module")
def mini() -> dict[str, Regulation]:
    """Each species' regulation in the mini world of seed 0, the demo's."""
    layout, genomes = _layout(0)
    motifs = bundled_motifs()
    return {
        g.name: Regulation(
            g,
            layout,
            plant(rng_for(0, f"{g.name}/motifs"), layout, g, motifs),
            rng_for(0, f"{g.name}/regulation"),
        )
        for g in genomes
    }


def test_gene_counts_are_the_documented_ones(mini):
    assert {name: len(reg.genes) for name, reg in mini.items()} == DOCUMENTED_GENES[0]
    layout, genomes = _layout(1)
    counts = {g.name: sum(g.name in gene.species for gene in layout.genes) for g in genomes}
    assert counts == DOCUMENTED_GENES[1]


def test_promoters_are_housekeeping_or_one_programmes(mini):
    """40% of the genes are housekeeping (2-4 general factors on the gene's strand), the
    others tissue genes (two sites of their programme's factors); each promoter ends in
    its core site."""
    for reg in mini.values():
        promoters = [p.element for p in reg.elements if p.element.kind == "promoter"]
        assert len(promoters) == len(reg.genes)
        kinds = Counter()
        for promoter in promoters:
            assert promoter.core is not None and promoter.core[0] == CORE_PROMOTER_TF
            factors = [tf for tf, _ in promoter.grammar]
            if not promoter.program:
                assert 2 <= len(set(factors)) == len(factors) <= 4
                assert set(factors) <= set(GENERAL_PROMOTER_TFS)
                assert {strand for _, strand in promoter.grammar} == {promoter.core[1]}
                kinds["housekeeping"] += 1
            else:
                assert len(factors) == 2 and set(factors) <= set(PROGRAMS[promoter.program])
                kinds[promoter.program] += 1
        assert kinds["housekeeping"] / len(promoters) == pytest.approx(0.4, abs=0.02)
        assert len(kinds) - 1 == len(PROGRAMS)  # tissue genes of every programme


def _links(reg: Regulation) -> tuple[np.ndarray, np.ndarray]:
    """The linked enhancers' indices and their genes'."""
    linked = np.flatnonzero(reg.link_gene >= 0)
    return linked, reg.link_gene[linked]


def test_most_enhancer_links_lie_within_reach_of_the_tss(mini):
    assert REACH_BP == 1_500  # the "1.5 kbp" of the docs
    for reg in mini.values():
        linked, _ = _links(reg)
        enhancers = sum(p.element.kind == "enhancer" for p in reg.elements)
        assert len(linked) > 0.99 * enhancers  # nearly every enhancer has a gene
        assert reg.link_reachable[linked].mean() > 0.75  # measured 0.79 human, 0.76 mouse


def test_enhancers_near_a_tissue_gene_share_its_programme_at_the_documented_rate(mini):
    """Of the enhancers linked within 1.5 kbp of a tissue gene's TSS, 45% share its
    programme (the 70% of those laid out with the gene, diluted by distal enhancers of
    random programmes); far above the 10% of a random programme."""
    for reg in mini.values():
        promoter_program = {
            p.element.gene_id: p.element.program for p in reg.elements if p.element.program
        }
        linked, genes = _links(reg)
        shared = [
            reg.elements[i].element.program == promoter_program[reg.genes[g].gene_id]
            for i, g in zip(linked, genes, strict=True)
            if reg.link_reachable[i] and reg.genes[g].gene_id in promoter_program
        ]
        assert len(shared) > 400
        assert np.mean(shared) == pytest.approx(0.45, abs=0.03)


def test_a_genes_level_has_a_small_unencoded_part(mini):
    """The unencoded part of a gene's log level is about 2% of its variance across genes
    in every cell type."""
    for reg in mini.values():
        log_level = np.log(reg.expression(reg.activity()))
        share = reg.base_expression.var() / log_level.var(axis=0)
        assert share.max() < 0.03
