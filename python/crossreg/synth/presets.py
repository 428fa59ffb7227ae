"""Sizes of the synthetic worlds: ``tiny`` (unit tests), ``mini`` (the demo), ``small``."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Preset:
    """How big a synthetic world is and how much of everything it holds.

    Lengths are in bp. Ancestral DNA comes in units (stretches that stay intact in both
    species) grouped into segments (syntenic runs that move as a whole).
    """

    name: str
    chromosomes: int  # per genome
    ancestral_bp: int  # total length of the shared ancestral units
    unit_bp: tuple[int, int]  # min, max unit length
    units_per_segment: tuple[int, int]
    divergence: float  # expected fraction of aligned bases that differ between the species
    gene_per_unit: float  # probability that a unit holds a gene
    enhancers_per_100kb: float
    insulators_per_100kb: float
    gap_bp: tuple[int, int]  # assembly gap (N run) length range
    read_depth: float  # scales every track's coverage
    variants: int  # SNPs + indels per genome in the effect-labelled VCF
    denovo_samples: int  # cases and controls each (0: no de novo sets)
    eqtl_snps: int  # SNPs in the eQTL-like summary statistics (0: none)


PRESETS: dict[str, Preset] = {
    p.name: p
    for p in (
        Preset(
            name="tiny",
            chromosomes=2,
            ancestral_bp=300_000,
            unit_bp=(6_000, 16_000),
            units_per_segment=(4, 7),
            divergence=0.04,
            gene_per_unit=0.6,
            enhancers_per_100kb=20.0,
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
            ancestral_bp=3_600_000,
            unit_bp=(10_000, 40_000),
            units_per_segment=(8, 20),
            divergence=0.04,
            gene_per_unit=0.9,
            enhancers_per_100kb=50.0,
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
            ancestral_bp=36_000_000,
            unit_bp=(20_000, 80_000),
            units_per_segment=(10, 40),
            divergence=0.04,
            gene_per_unit=0.9,
            enhancers_per_100kb=50.0,
            insulators_per_100kb=10.0,
            gap_bp=(10_000, 100_000),
            read_depth=1.0,
            variants=2_000,
            denovo_samples=1_000,
            eqtl_snps=20_000,
        ),
    )
}
