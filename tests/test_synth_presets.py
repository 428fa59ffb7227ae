"""Preset sizes: the genomes each preset builds (layout only, without tracks)."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from crossreg.synth.genomes import build_species, make_ancestor
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
