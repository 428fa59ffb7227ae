"""Sizes of the synthetic worlds: ``tiny`` (unit tests), ``mini`` (the demo), ``small``.

Every preset has human-mouse-like turnover: about 40% of the human and 45% of the mouse
genome is ancestral (alignable), about 14% of aligned neutral bases differ (16-18% of all
aligned bases, as each species' motif sites and turnover elements are planted on its own),
and half of each species' enhancers are its own.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Preset:
    """How big a synthetic world is and how much of everything it holds.

    Lengths are in bp. Ancestral DNA comes in units (stretches that stay intact in both
    species) grouped into segments (syntenic runs that move as a whole); each species puts
    its own inserted DNA between them, so that only `aligned_fraction` of its (non-N)
    sequence is ancestral. `turnover` is the share of each species' enhancers that the
    other species lacks: half of them ancestral enhancers the other species lost, half
    gained in the species' own inserted DNA (with the same grammar).
    """

    name: str
    chromosomes: int  # per genome
    ancestral_bp: int  # total length of the shared ancestral units
    unit_bp: tuple[int, int]  # min, max unit length
    units_per_segment: tuple[int, int]
    divergence: float  # substitutions per aligned base, divergence / 2 on each lineage
    genes_per_100kb: float  # in ancestral units
    enhancers_per_100kb: float  # in ancestral units
    insulators_per_100kb: float
    gap_bp: tuple[int, int]  # assembly gap (N run) length range
    read_depth: float  # scales every track's coverage
    variants: int  # SNPs + indels per genome in the effect-labelled VCF
    denovo_samples: int  # cases and controls each (0: no de novo sets)
    eqtl_snps: int  # SNPs in the eQTL-like summary statistics (0: none)
    aligned_fraction: tuple[float, float] = (0.40, 0.45)  # human, mouse: share in units
    turnover: float = 0.5  # share of each species' enhancers that are species-specific
    private_genes_per_100kb: float = 16.0  # in species-specific inserted DNA


PRESETS: dict[str, Preset] = {
    p.name: p
    for p in (
        Preset(
            name="tiny",
            chromosomes=2,
            ancestral_bp=200_000,
            unit_bp=(6_000, 16_000),
            units_per_segment=(4, 7),
            divergence=0.15,
            genes_per_100kb=20.0,
            enhancers_per_100kb=40.0,
            insulators_per_100kb=4.0,
            gap_bp=(1_000, 3_000),
            read_depth=1.0,
            variants=60,
            denovo_samples=20,
            eqtl_snps=300,
        ),
        Preset(
            name="mini",
            chromosomes=3,
            ancestral_bp=1_800_000,
            unit_bp=(10_000, 40_000),
            units_per_segment=(6, 14),
            divergence=0.15,
            genes_per_100kb=36.0,
            enhancers_per_100kb=70.0,
            insulators_per_100kb=10.0,
            gap_bp=(5_000, 30_000),
            read_depth=1.0,
            variants=400,
            denovo_samples=200,
            eqtl_snps=5_000,
        ),
        Preset(
            name="small",
            chromosomes=6,
            ancestral_bp=24_000_000,
            unit_bp=(20_000, 80_000),
            units_per_segment=(10, 40),
            divergence=0.15,
            genes_per_100kb=36.0,
            enhancers_per_100kb=70.0,
            insulators_per_100kb=10.0,
            gap_bp=(10_000, 100_000),
            read_depth=1.0,
            variants=2_000,
            denovo_samples=1_000,
            eqtl_snps=20_000,
        ),
    )
}
