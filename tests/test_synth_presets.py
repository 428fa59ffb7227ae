"""Preset sizes: the genomes each preset builds (layout only, without tracks)."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from crossreg.synth.elements import lay_out, lay_out_private
from crossreg.synth.genomes import build_species, make_ancestor
from crossreg.synth.motifs import bundled_motifs
from crossreg.synth.planting import plant
from crossreg.synth.presets import PRESETS
from crossreg.synth.world import rng_for

WINDOW = 131_072


def _contigs(genome) -> list[int]:
    """Lengths of the stretches between assembly gaps."""
    lengths = []
    for chrom, size in genome.sizes.items():
        cursor = 0
        for gap in sorted(g for g in genome.gaps if g.chrom == chrom):
            lengths.append(gap.start - cursor)
            cursor = gap.end
        lengths.append(size - cursor)
    return lengths


@pytest.mark.parametrize(
    ("preset", "min_bp", "max_bp", "min_windows"),
    [
        ("tiny", 200_000, 1_000_000, 0),
        ("mini", 2_000_000, 8_000_000, 18),
        ("small", 20_000_000, 99_000_000, 200),
    ],
)
def test_preset_genome_sizes(preset, min_bp, max_bp, min_windows):
    p = PRESETS[preset]
    ancestor = make_ancestor(rng_for(0, "ancestor"), p)
    for name, rearrange in (("human", False), ("mouse", True)):
        genome = build_species(rng_for(0, f"{name}/genome"), p, ancestor, name, rearrange=rearrange)
        total = sum(genome.sizes.values())
        assert min_bp < total < max_bp
        assert len(genome.sizes) == p.chromosomes
        windows = sum(length // WINDOW for length in _contigs(genome))
        assert windows >= min_windows
        if preset != "tiny":
            assert min(genome.sizes.values()) > 1_000_000
        # every ancestral unit is placed once, without overlaps
        spans = sorted((pl.chrom, pl.start, pl.end) for pl in genome.placements.values())
        assert len(spans) == len(ancestor.units)
        for (c1, _, e1), (c2, s2, _) in itertools.pairwise(spans):
            assert c1 != c2 or e1 <= s2
        codes = np.concatenate(list(genome.sequences.values()))
        gc = np.isin(codes, np.frombuffer(b"GCgc", np.uint8)).sum() / (codes != ord("N")).sum()
        assert 0.38 < gc < 0.44


def _aligned_difference(genomes, units: int) -> float:
    """Share of aligned bases (ancestral units, N excluded) that differ between two genomes,
    soft-masking ignored."""
    upper = np.zeros(256, np.uint8)
    upper[list(b"ACGTNacgtn")] = list(b"ACGTNACGTN")
    complement = np.zeros(256, np.uint8)
    complement[list(b"ACGTN")] = list(b"TGCAN")
    differ = total = 0
    for unit in range(units):
        (a, pa), (b, pb) = ((g.sequences, g.placements[unit]) for g in genomes)
        x = upper[a[pa.chrom][pa.start : pa.start + pa.length]]
        y = upper[b[pb.chrom][pb.start : pb.start + pb.length]]
        if pa.strand != pb.strand:
            y = complement[y[::-1]]
        called = (x != ord("N")) & (y != ord("N"))
        differ += int((x != y)[called].sum())
        total += int(called.sum())
    return differ / total


@pytest.mark.parametrize(("preset", "low", "high"), [("tiny", 0.155, 0.17), ("mini", 0.17, 0.185)])
def test_aligned_divergence_is_higher_once_elements_are_planted(preset, low, high):
    """Neutral aligned bases differ by about 14%; planted motif sites and turnover elements,
    drawn per species, raise the share over all aligned bases to about 16% in `tiny` and
    18% in `mini`, whose elements are denser (docs/steps/synth.md)."""
    p, motifs = PRESETS[preset], bundled_motifs()
    ancestor = make_ancestor(rng_for(0, "ancestor"), p)
    layout = lay_out(rng_for(0, "layout"), p, ancestor, ("human", "mouse"))
    genomes = [
        build_species(rng_for(0, f"{name}/genome"), p, ancestor, name, rearrange=rearrange)
        for name, rearrange in (("human", False), ("mouse", True))
    ]
    neutral = _aligned_difference(genomes, len(ancestor.units))
    for genome in genomes:
        lay_out_private(rng_for(0, f"{genome.name}/private"), p, genome, layout)
        plant(rng_for(0, f"{genome.name}/motifs"), layout, genome, motifs)
    planted = _aligned_difference(genomes, len(ancestor.units))
    assert 0.13 < neutral < 0.15
    assert low < planted < high
