"""Statistics-ready sets: de novo case/control variants and eQTL-like summary statistics.

* De novo sets: every sample carries a Poisson number of random (neutral) de novo SNVs;
  each case also carries, with a planted rate, SNVs that break motif sites of enhancers of
  one cell type's program (macrophage: Spi1, CEBPB and FOS::JUN sites). A test comparing
  predicted effects between cases and controls should find the enrichment, most in that
  cell type's tracks (its factors also act in other cell types: CEBPB in liver and
  keratinocytes, FOS::JUN in muscle, T cells and keratinocytes). The programme is one whose
  motifs a demo-sized model learns well; it learns the liver factors HNF4A, HNF1A and
  FOXA2 only in part (test R of HNF4A ChIP about 0.4), so breaks of liver sites would be
  faint in its scores. A sample carries at most one call per position: a draw at a
  position it already carries (a site drawn twice for one case) is dropped.
* Summary statistics: SNPs (a quarter inside motif sites) with
  ``z = TAU * sqrt(N) * delta + e``, ``e ~ N(0, 1)``, where ``delta`` is the SNP's true
  effect on log expression of its linked gene in one cell type (zero off sites). A SNP's
  gene is the one whose log expression it changes most or, when it changes none (off
  sites, or in an element inactive in that cell type), the gene with the nearest TSS on
  its chromosome.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from crossreg.io.vcf import Variant, write_vcf
from crossreg.synth.planting import Site
from crossreg.synth.presets import Preset
from crossreg.synth.tables import write_tsv
from crossreg.synth.variants import (
    EffectModel,
    VariantMaker,
    site_occupancy_after_snp,
)

DENOVO_PER_SAMPLE = 8.0
PLANTED_PER_CASE = 1.0
ENRICHED_PROGRAM = "macrophage"
EQTL_N = 500
EQTL_TAU = 0.2
EQTL_CELL = "liver"


@dataclass(frozen=True)
class DenovoCall:
    """One de novo SNV of one sample; `planted` marks the enrichment signal."""

    sample: str
    group: str
    variant: Variant
    planted: bool


def denovo_sets(maker: VariantMaker, samples: int) -> list[DenovoCall]:
    """De novo SNVs of `samples` cases and `samples` controls, sorted by sample then position."""
    rng = maker.rng
    reg = maker.reg
    genome = maker.genome
    target_sites = [
        i
        for i, s in enumerate(reg.sites)
        if not s.latent
        and s.occupancy > 0.5
        and reg.elements[reg.site_element[i]].element.kind == "enhancer"
        and reg.elements[reg.site_element[i]].element.program == ENRICHED_PROGRAM
        and s.tf != "REST"
    ]
    chroms = list(genome.sequences)
    sizes = np.array([genome.sizes[c] for c in chroms], dtype=np.float64)
    calls: list[DenovoCall] = []
    for group in ("case", "control"):
        for k in range(samples):
            sample = f"{group}{k + 1:04d}"
            held: dict[tuple[str, int], tuple[Variant, bool]] = {}
            for _ in range(int(rng.poisson(DENOVO_PER_SAMPLE))):
                chrom = chroms[int(rng.choice(len(chroms), p=sizes / sizes.sum()))]
                pos = int(rng.integers(genome.sizes[chrom]))
                ref = chr(genome.sequences[chrom][pos]).upper()
                if ref == "N":
                    continue
                alt = "ACGT"[("ACGT".index(ref) + int(rng.integers(1, 4))) % 4]
                held.setdefault((chrom, pos), (Variant(chrom, pos, ref, (alt,)), False))
            if group == "case" and target_sites:
                for _ in range(int(rng.poisson(PLANTED_PER_CASE))):
                    broken = _site_break(maker, reg.sites[int(rng.choice(target_sites))])
                    if broken is not None:
                        held.setdefault((broken.chrom, broken.pos), (broken, True))
            order = {c: i for i, c in enumerate(chroms)}
            variants = sorted(held.values(), key=lambda vp: (order[vp[0].chrom], vp[0].pos))
            calls += [DenovoCall(sample, group, v, planted) for v, planted in variants]
    return calls


def _site_break(maker: VariantMaker, site: Site) -> Variant | None:
    """The SNV that puts the worst base at `site`'s key column (None if it is there)."""
    motif = maker.motifs[site.tf]
    col = motif.key_column()
    pos = site.start + col if site.strand > 0 else site.end - 1 - col
    ref = chr(maker.genome.sequences[site.chrom][pos]).upper()
    worst = "ACGT"[int(motif.log_odds[:, col].argmin())]
    alt = worst if site.strand > 0 else {"A": "T", "C": "G", "G": "C", "T": "A"}[worst]
    return Variant(site.chrom, pos, ref, (alt,)) if alt != ref else None


@dataclass(frozen=True)
class SummaryStat:
    """One SNP's association with expression of its gene."""

    variant: Variant
    gene: str
    delta: float  # true change of log expression in EQTL_CELL
    z: float


def eqtl_stats(maker: VariantMaker, model: EffectModel, count: int) -> list[SummaryStat]:
    """`count` SNPs with z-scores carrying the planted effect on log expression."""
    rng = maker.rng
    reg = maker.reg
    c = reg.cells.index(EQTL_CELL)
    linked_sites = [
        i
        for i, s in enumerate(reg.sites)
        if (reg.link_gene[reg.site_element[i]] >= 0)
        or reg.elements[reg.site_element[i]].element.kind == "promoter"
    ]
    stats: list[SummaryStat] = []
    seen: set[tuple[str, int]] = set()
    gene_tss = [(g.chrom, g.tss) for g in reg.genes]
    while len(stats) < count:
        if rng.random() < 0.25 and linked_sites:
            site = reg.sites[int(rng.choice(linked_sites))]
            chrom, pos = site.chrom, int(rng.integers(site.start, site.end))
        else:
            chrom, pos = maker.neutral_position()
        if (chrom, pos) in seen:
            continue
        ref = chr(maker.genome.sequences[chrom][pos]).upper()
        if ref == "N":
            continue
        seen.add((chrom, pos))
        alt = "ACGT"[("ACGT".index(ref) + int(rng.integers(1, 4))) % 4]
        i = maker.sites_by_pos.get((chrom, pos))
        d_log = np.zeros(0) if i is None else _log_expression_change(maker, model, i, pos, alt, c)
        if d_log.any():
            gene = int(np.abs(d_log).argmax())
            delta = float(d_log[gene])
        else:
            same = [g for g, (gc, _) in enumerate(gene_tss) if gc == chrom]
            if not same:
                continue
            gene = min(same, key=lambda g: abs(gene_tss[g][1] - pos))
            delta = 0.0
        z = EQTL_TAU * np.sqrt(EQTL_N) * delta + float(rng.normal())
        stats.append(
            SummaryStat(Variant(chrom, pos, ref, (alt,)), reg.genes[gene].gene_id, delta, z)
        )
    order = {ch: k for k, ch in enumerate(maker.genome.sequences)}
    stats.sort(key=lambda s: (order[s.variant.chrom], s.variant.pos))
    return stats


def _log_expression_change(
    maker: VariantMaker, model: EffectModel, i: int, pos: int, alt: str, cell: int
) -> np.ndarray:
    """Per gene: change of log expression in `cell` when `alt` at `pos` hits site `i`."""
    reg = maker.reg
    site = reg.sites[i]
    occ = site_occupancy_after_snp(maker.genome, site, maker.motifs[site.tf], pos, alt)
    act = reg.activity(_with(reg.occupancy, i, occ))
    return np.log(reg.expression(act)[:, cell]) - model.log_expression[:, cell]


def _with(values: np.ndarray, i: int, value: float) -> np.ndarray:
    out = values.copy()
    out[i] = value
    return out


def write_cohorts(out: Path, folder: str, maker: VariantMaker, preset: Preset) -> dict:
    """Write the de novo sets and summary statistics into ``out/folder``; return manifest keys.

    Cases and controls go to one position-sorted VCF each (INFO ``SAMPLE``), which calls
    were planted to a truth table; summary statistics have a 1-based ``pos``, as such files
    usually do.
    """
    root = out / folder
    sizes = maker.genome.sizes
    calls = denovo_sets(maker, preset.denovo_samples)
    ids = [f"dn_{c.sample}_{k}" for k, c in enumerate(calls)]
    sample_info = (("SAMPLE", "1", "String", "sample carrying the de novo variant"),)
    order = {chrom: k for k, chrom in enumerate(sizes)}
    for group in ("case", "control"):
        records = [
            Variant(
                c.variant.chrom,
                c.variant.pos,
                c.variant.ref,
                c.variant.alts,
                id=vid,
                info={"SAMPLE": c.sample},
            )
            for vid, c in zip(ids, calls, strict=True)
            if c.group == group
        ]
        records.sort(key=lambda v: (order[v.chrom], v.pos))
        write_vcf(root / f"denovo_{group}s.vcf", records, contigs=sizes, info_header=sample_info)
    write_tsv(
        root / "denovo_truth.tsv",
        ["variant_id", "sample", "group", "planted"],
        ([vid, c.sample, c.group, int(c.planted)] for vid, c in zip(ids, calls, strict=True)),
    )
    stats = eqtl_stats(maker, maker.model, preset.eqtl_snps)
    se = 1.0 / np.sqrt(EQTL_N)
    names = [f"eq{k:06d}" for k in range(1, len(stats) + 1)]
    write_tsv(
        root / "eqtl_sumstats.tsv",
        ["snp", "chrom", "pos", "ref", "alt", "gene_id", "n", "z", "beta", "se"],
        (
            [
                name,
                s.variant.chrom,
                s.variant.pos + 1,
                s.variant.ref,
                s.variant.alts[0],
                s.gene,
                EQTL_N,
                f"{s.z:.5f}",
                f"{s.z * se:.6f}",
                f"{se:.6f}",
            ]
            for name, s in zip(names, stats, strict=True)
        ),
    )
    write_tsv(
        root / "eqtl_truth.tsv",
        ["snp", "delta_log_expression"],
        ([name, f"{s.delta:.6g}"] for name, s in zip(names, stats, strict=True)),
    )
    return {
        "genome": maker.genome.name,
        "denovo_cases": f"{folder}/denovo_cases.vcf",
        "denovo_controls": f"{folder}/denovo_controls.vcf",
        "denovo_truth": f"{folder}/denovo_truth.tsv",
        "denovo_enriched_cell_type": ENRICHED_PROGRAM,
        "denovo_planted_per_case": PLANTED_PER_CASE,
        "eqtl_sumstats": f"{folder}/eqtl_sumstats.tsv",
        "eqtl_sumstats_pos_base": 1,
        "eqtl_truth": f"{folder}/eqtl_truth.tsv",
        "eqtl_cell_type": EQTL_CELL,
        "eqtl_track": f"hs_CAGE_{EQTL_CELL}",
        "eqtl_tau": EQTL_TAU,
    }
