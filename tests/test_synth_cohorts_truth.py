"""crossreg synth's cohorts drawn in memory: de novo calls and eQTL genes follow their rules."""

from __future__ import annotations

import collections

import pytest

from crossreg.synth.cells import track_specs
from crossreg.synth.cohorts import ENRICHED_PROGRAM, denovo_sets, eqtl_stats
from crossreg.synth.elements import lay_out, lay_out_private
from crossreg.synth.genomes import build_species, make_ancestor
from crossreg.synth.motifs import bundled_motifs
from crossreg.synth.planting import plant
from crossreg.synth.presets import PRESETS
from crossreg.synth.regulation import Regulation
from crossreg.synth.variants import EffectModel, VariantMaker, site_occupancy_after_snp
from crossreg.synth.world import rng_for

SEED = 3


@pytest.fixture()
def maker() -> VariantMaker:
    """A fresh human variant maker of the tiny world (its cohort stream unread)."""
    preset, motifs = PRESETS["tiny"], bundled_motifs()
    ancestor = make_ancestor(rng_for(SEED, "ancestor"), preset)
    layout = lay_out(rng_for(SEED, "layout"), preset, ancestor, ("human", "mouse"))
    genome = build_species(
        rng_for(SEED, "human/genome"), preset, ancestor, "human", rearrange=False
    )
    lay_out_private(rng_for(SEED, "human/private"), preset, genome, layout)
    sites = plant(rng_for(SEED, "human/motifs"), layout, genome, motifs)
    reg = Regulation(genome, layout, sites, rng_for(SEED, "human/regulation"))
    model = EffectModel(reg, track_specs("human", "hs"))
    return VariantMaker(genome, reg, model, motifs, rng_for(SEED, "cohorts"))


def test_a_sample_carries_each_de_novo_position_once(maker):
    calls = denovo_sets(maker, 1_000)
    per_sample = collections.Counter((c.sample, c.variant.chrom, c.variant.pos) for c in calls)
    assert max(per_sample.values()) == 1
    planted = [c for c in calls if c.planted]
    assert {c.group for c in planted} == {"case"}
    assert len({c.sample for c in planted}) > 500  # Poisson(1) per case: 63% carry one
    reg = maker.reg
    for call in planted:  # each breaks a site of an enhancer of the enriched program
        v = call.variant
        (i,) = [
            k
            for k, s in enumerate(reg.sites)
            if s.chrom == v.chrom and s.start <= v.pos < s.end and not s.latent
        ]
        element = reg.elements[reg.site_element[i]].element
        assert (element.kind, element.program) == ("enhancer", ENRICHED_PROGRAM)
        site = reg.sites[i]
        after = site_occupancy_after_snp(
            maker.genome, site, maker.motifs[site.tf], v.pos, v.alts[0]
        )
        assert after < site.occupancy


def test_eqtl_snps_name_a_gene_on_their_chromosome(maker):
    genes = {g.gene_id: g for g in maker.reg.genes}
    stats = eqtl_stats(maker, maker.model, 300)
    zero = [s for s in stats if s.delta == 0]
    in_sites = [s for s in zero if (s.variant.chrom, s.variant.pos) in maker.sites_by_pos]
    assert in_sites  # SNPs in sites of elements inactive in the cell type change nothing
    for s in stats:
        assert genes[s.gene].chrom == s.variant.chrom, s
    for s in zero:  # no effect: the gene with the nearest TSS on the SNP's chromosome
        v = s.variant
        nearest = min(abs(g.tss - v.pos) for g in genes.values() if g.chrom == v.chrom)
        assert abs(genes[s.gene].tss - v.pos) == nearest, s
    assert sum(s.delta != 0 for s in stats) > 10
