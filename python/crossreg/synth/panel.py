"""A human reference panel with LD, and per-tissue summary statistics with planted effects.

The synthetic truth behind SLDP (signed LD profile regression, Reshef 2018):

* SNPs: a share (:data:`SITE_SHARE`, far more than in a real genome, so that the planted
  signal is strong) lies inside the motif sites of regulatory elements, the rest anywhere
  outside gaps. REF is the genome base, ALT one of the three others. SNP ids are
  ``snp_<chrom>_<BP>`` with BP 1-based, as in the ``.bim`` and the VCF.
* Genotypes: each LD block draws its haplotypes from a latent Gaussian AR(1) process along
  its SNPs (correlation ``exp(-distance / decay)``, cut further at occasional
  recombination hotspots, independent across blocks); a haplotype carries ALT where the
  latent value, with a random sign per SNP, passes the quantile of the SNP's ALT frequency.
  Minor allele frequencies mix rare (0.1-1%) and common SNPs; monomorphic ones are dropped.
* True effects: a SNP inside motif sites changes their occupancy; its effect ``delta`` on
  the log expression of the linked gene in a cell type is the CAGE effect of
  :class:`EffectModel` (zero for SNPs that touch no site). Per normalised genotype,
  ``beta = TAU * delta * sqrt(2 p (1 - p))``.
* Summary statistics (ldsc munged, ``SNP A1 A2 Z N``): ``alpha = R beta + e`` with R the
  panel's in-sample LD within each block and ``e = X_b' g / sqrt(N_panel * GWAS_N)``,
  ``g ~ N(0, I)``, i.e. exactly ``e ~ N(0, R / GWAS_N)``; ``Z = alpha * sqrt(GWAS_N)``.
  Z depends on ``TAU * sqrt(GWAS_N)`` only; :data:`GWAS_N` and :data:`TAU` are set so
  that the planted effects explain a trait's share of its variance (h²_g ≈ 0.1-0.2) in a
  GWAS of realistic size, so that SLDP's r_f and h²_v/h²_g have their usual meaning.
  The ``null`` tissue has ``beta = 0``: pure LD-correlated noise.

The files are written by :mod:`crossreg.synth.panel_files`.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property

import numpy as np
import numpy.typing as npt
from scipy.special import ndtri

from crossreg.synth.cells import track_specs
from crossreg.synth.genomes import SpeciesGenome
from crossreg.synth.motifs import Motif
from crossreg.synth.presets import Preset
from crossreg.synth.regulation import Regulation
from crossreg.synth.variants import EffectModel, site_occupancy_after_snp

TISSUES = ("liver", "macrophage")  # cell types with planted effects (both in human and mouse)
NULL_TISSUE = "null"
GWAS_N = 50_000
TAU = 0.15  # trait SD per unit of log expression, per normalised genotype
SITE_SHARE = 0.2
RARE_SHARE = 0.2
RARE_MAF = (0.001, 0.01)
ALT_IS_MINOR = 0.8
SNPS_PER_BLOCK = 35.0
DECAY_SNPS = 15.0  # latent correlation falls by 1/e over this many SNP spacings
HOTSPOT_RATE = 0.05
HOTSPOT_FACTOR = 0.2
BASES = "ACGT"
POS_MASK = (1 << 40) - 1  # SNP keys are chrom_index << 40 | pos


@dataclass(frozen=True)
class PanelSize:
    """How many SNPs and individuals a preset's panel has."""

    snps: int
    individuals: int


PANEL_SIZES = {
    "tiny": PanelSize(2_000, 1_000),
    "mini": PanelSize(6_500, 2_000),
    "small": PanelSize(20_000, 2_000),
}
BP_PER_SNP = 600  # for presets without an entry


def panel_size(preset: Preset, genome_bp: int) -> PanelSize:
    """The panel size of `preset` (by name, else one SNP per :data:`BP_PER_SNP`)."""
    return PANEL_SIZES.get(preset.name, PanelSize(max(200, genome_bp // BP_PER_SNP), 2_000))


@dataclass
class Panel:
    """SNPs sorted by chromosome then position, their genotypes (ALT counts) and blocks."""

    chroms: list[str]
    chrom: npt.NDArray[np.int64]  # index into chroms
    pos: npt.NDArray[np.int64]  # 0-based
    ref: npt.NDArray[np.str_]
    alt: npt.NDArray[np.str_]
    genotypes: npt.NDArray[np.int8]  # (individuals, snps)
    block: npt.NDArray[np.int64]  # index into blocks
    blocks: list[tuple[str, int, int]]

    @property
    def bp(self) -> npt.NDArray[np.int64]:
        """1-based positions (the ``.bim`` BP)."""
        return self.pos + 1

    @cached_property
    def ids(self) -> list[str]:
        """``snp_<chrom>_<BP>`` per SNP."""
        return [f"snp_{self.chroms[c]}_{b}" for c, b in zip(self.chrom, self.bp, strict=True)]

    @cached_property
    def alt_freq(self) -> npt.NDArray[np.float64]:
        """Sample ALT allele frequency per SNP."""
        return self.genotypes.mean(axis=0, dtype=np.float64) / 2.0

    def subset(self, keep: npt.NDArray[np.bool_]) -> Panel:
        """The panel restricted to the SNPs in `keep`."""
        return Panel(
            self.chroms,
            self.chrom[keep],
            self.pos[keep],
            self.ref[keep],
            self.alt[keep],
            self.genotypes[:, keep],
            self.block[keep],
            self.blocks,
        )


# ---- positions and alleles -----------------------------------------------------------


def _site_positions(
    rng: np.random.Generator, reg: Regulation, chroms: list[str], count: int
) -> npt.NDArray[np.int64]:
    """Up to `count` distinct keys (``chrom_index << 40 | pos``) inside motif sites."""
    sites = [s for s in reg.sites if s.chrom in chroms]
    if not sites or count == 0:
        return np.zeros(0, dtype=np.int64)
    start = np.array([s.start for s in sites], dtype=np.int64)
    length = np.array([s.end - s.start for s in sites], dtype=np.int64)
    cidx = np.array([chroms.index(s.chrom) for s in sites], dtype=np.int64)
    pick = rng.integers(len(sites), size=2 * count)
    pos = start[pick] + (rng.random(2 * count) * length[pick]).astype(np.int64)
    keys = (cidx[pick] << 40) | pos
    _, first = np.unique(keys, return_index=True)
    return keys[np.sort(first)][:count]


def _background_positions(
    rng: np.random.Generator, genome: SpeciesGenome, count: int, taken: npt.NDArray[np.int64]
) -> npt.NDArray[np.int64]:
    """`count` distinct keys anywhere off gaps (uniform over the genome), not in `taken`."""
    chroms = list(genome.sequences)
    sizes = np.array([genome.sizes[c] for c in chroms], dtype=np.int64)
    keys = taken.copy()
    while keys.size < taken.size + count:
        n = 2 * (taken.size + count - keys.size)
        cidx = rng.choice(len(chroms), size=n, p=sizes / sizes.sum())
        pos = (rng.random(n) * (sizes[cidx] - 2)).astype(np.int64) + 1
        new = (cidx << 40) | pos
        new = new[~_unusable(genome, new)]
        new = new[~np.isin(new, keys)]
        _, first = np.unique(new, return_index=True)
        keys = np.concatenate([keys, new[np.sort(first)][: taken.size + count - keys.size]])
    return keys[taken.size :]


def _unusable(genome: SpeciesGenome, keys: npt.NDArray[np.int64]) -> npt.NDArray[np.bool_]:
    """Whether each key's base is N or a chromosome's first or last base."""
    chroms = list(genome.sequences)
    seqs = [genome.sequences[chroms[k >> 40]] for k in keys]
    pos = keys & POS_MASK
    bases = np.array([s[p] for s, p in zip(seqs, pos, strict=True)], dtype=np.uint8)
    last = np.array([s.size - 1 for s in seqs], dtype=np.int64)
    return ((bases | 0x20) == ord("n")) | (pos < 1) | (pos >= last)


def choose_snps(
    rng: np.random.Generator, genome: SpeciesGenome, reg: Regulation, count: int
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """(chromosome index, 0-based position) of `count` SNPs, sorted; a share in sites."""
    in_sites = _site_positions(rng, reg, list(genome.sequences), round(SITE_SHARE * count))
    in_sites = in_sites[~_unusable(genome, in_sites)]
    anywhere = _background_positions(rng, genome, count - in_sites.size, in_sites)
    keys = np.sort(np.concatenate([in_sites, anywhere]))
    return keys >> 40, keys & POS_MASK


def draw_alleles(
    rng: np.random.Generator, genome: SpeciesGenome, chrom: npt.NDArray, pos: npt.NDArray
) -> tuple[npt.NDArray[np.str_], npt.NDArray[np.str_]]:
    """REF (the genome base, upper case) and a random other base as ALT."""
    chroms = list(genome.sequences)
    ref_code = np.array(
        [
            BASES.index(chr(genome.sequences[chroms[c]][p]).upper())
            for c, p in zip(chrom, pos, strict=True)
        ],
        dtype=np.int64,
    )
    alt_code = (ref_code + rng.integers(1, 4, size=ref_code.size)) % 4
    letters = np.array(list(BASES))
    return letters[ref_code], letters[alt_code]


def draw_alt_freq(rng: np.random.Generator, count: int) -> npt.NDArray[np.float64]:
    """ALT frequencies: a rare share (log-uniform MAF), the rest MAF uniform to 0.5."""
    rare = rng.random(count) < RARE_SHARE
    lo, hi = np.log(RARE_MAF[0]), np.log(RARE_MAF[1])
    maf = np.where(rare, np.exp(rng.uniform(lo, hi, count)), rng.uniform(RARE_MAF[1], 0.5, count))
    return np.where(rng.random(count) < ALT_IS_MINOR, maf, 1.0 - maf)


# ---- LD blocks and haplotypes ----------------------------------------------------------


def draw_blocks(rng: np.random.Generator, size: int, snps: int) -> npt.NDArray[np.int64]:
    """Block boundaries ``[0, ..., size]`` of one chromosome, about SNPS_PER_BLOCK apart."""
    mean_bp = SNPS_PER_BLOCK * size / max(snps, 1)
    lengths = rng.gamma(4.0, mean_bp / 4.0, size=int(3 * size / mean_bp) + 4)
    cuts = np.cumsum(lengths).astype(np.int64)
    cuts = cuts[cuts < size - mean_bp / 4]
    return np.concatenate([[0], cuts, [size]]).astype(np.int64)


def latent_mixing(
    rng: np.random.Generator, bp: npt.NDArray[np.int64], decay_bp: float
) -> npt.NDArray[np.float64]:
    """Lower-triangular L with ``L L'`` the AR(1) correlation of one block's latent values.

    Adjacent SNPs correlate ``exp(-distance / decay_bp)``, times HOTSPOT_FACTOR at a
    hotspot; correlations multiply along the block.
    """
    rho = np.exp(-np.diff(bp) / decay_bp)
    rho *= np.where(rng.random(rho.size) < HOTSPOT_RATE, HOTSPOT_FACTOR, 1.0)
    rho = np.clip(rho, 1e-12, 1.0 - 1e-9)
    s = np.concatenate([[0.0], np.cumsum(np.log(rho))])
    c = np.sqrt(1.0 - np.concatenate([[0.0], rho]) ** 2)
    exponent = np.tril(s[:, None] - s[None, :])
    return np.tril(np.exp(exponent)) * c[None, :]


def draw_haplotypes(
    rng: np.random.Generator,
    bp: npt.NDArray[np.int64],
    alt_freq: npt.NDArray[np.float64],
    haplotypes: int,
    decay_bp: float,
) -> npt.NDArray[np.int8]:
    """``(haplotypes, snps)`` ALT indicators of one block."""
    mixing = latent_mixing(rng, bp, decay_bp)
    latent = np.einsum("hk,jk->hj", rng.standard_normal((haplotypes, bp.size)), mixing)
    flip = np.where(rng.random(bp.size) < 0.5, -1.0, 1.0)
    return (flip * latent > ndtri(1.0 - alt_freq)).astype(np.int8)


def draw_genotypes(
    rng: np.random.Generator,
    bp: npt.NDArray[np.int64],
    block: npt.NDArray[np.int64],
    alt_freq: npt.NDArray[np.float64],
    individuals: int,
) -> npt.NDArray[np.int8]:
    """``(individuals, snps)`` ALT counts of one chromosome, block by block."""
    out = np.zeros((individuals, bp.size), dtype=np.int8)
    spacing = (bp[-1] - bp[0]) / max(bp.size - 1, 1) if bp.size else 1.0
    for b in np.unique(block):
        cols = np.flatnonzero(block == b)
        decay = DECAY_SNPS * spacing * float(rng.lognormal(0.0, 0.5))
        hap = draw_haplotypes(rng, bp[cols], alt_freq[cols], 2 * individuals, decay)
        out[:, cols] = hap[0::2] + hap[1::2]
    return out


def build_panel(
    rng: np.random.Generator, genome: SpeciesGenome, reg: Regulation, size: PanelSize
) -> Panel:
    """Positions, alleles, blocks and genotypes; monomorphic SNPs dropped."""
    chroms = list(genome.sequences)
    chrom, pos = choose_snps(rng, genome, reg, size.snps)
    ref, alt = draw_alleles(rng, genome, chrom, pos)
    freq = draw_alt_freq(rng, pos.size)
    genotypes = np.zeros((size.individuals, pos.size), dtype=np.int8)
    block = np.zeros(pos.size, dtype=np.int64)
    blocks: list[tuple[str, int, int]] = []
    for k, name in enumerate(chroms):
        cols = np.flatnonzero(chrom == k)
        edges = draw_blocks(rng, genome.sizes[name], cols.size)
        local = np.searchsorted(edges, pos[cols] + 1, side="right") - 1
        block[cols] = local + len(blocks)
        blocks += [(name, int(a), int(b)) for a, b in itertools.pairwise(edges)]
        if cols.size:
            genotypes[:, cols] = draw_genotypes(
                rng, pos[cols] + 1, block[cols], freq[cols], size.individuals
            )
    panel = Panel(chroms, chrom, pos, ref, alt, genotypes, block, blocks)
    count = genotypes.sum(axis=0, dtype=np.int64)
    return panel.subset((count > 0) & (count < 2 * size.individuals))


# ---- truth and statistics --------------------------------------------------------------


def _covering_sites(panel: Panel, reg: Regulation) -> dict[int, list[int]]:
    """SNP index -> the motif sites it lies in."""
    cols = {c: np.flatnonzero(panel.chrom == k) for k, c in enumerate(panel.chroms)}
    out: dict[int, list[int]] = {}
    for i, site in enumerate(reg.sites):
        on = cols[site.chrom]
        lo, hi = np.searchsorted(panel.pos[on], [site.start, site.end])
        for j in on[lo:hi]:
            out.setdefault(int(j), []).append(i)
    return out


def true_effects(
    panel: Panel,
    genome: SpeciesGenome,
    reg: Regulation,
    motifs: dict[str, Motif],
    cells: Sequence[str],
) -> npt.NDArray[np.float64]:
    """``(snps, cells)`` change of linked-gene log expression, ALT vs REF."""
    model = EffectModel(reg, [s for s in track_specs(genome.name, "hs") if s.kind == "cage"])
    keys = [f"hs_CAGE_{cell}" for cell in cells]
    delta = np.zeros((panel.pos.size, len(cells)))
    for j, sites in sorted(_covering_sites(panel, reg).items()):
        changes = {
            i: site_occupancy_after_snp(
                genome, reg.sites[i], motifs[reg.sites[i].tf], int(panel.pos[j]), panel.alt[j]
            )
            for i in sites
        }
        if all(abs(v - reg.occupancy[i]) < 1e-12 for i, v in changes.items()):
            continue
        effects = model.effects(changes)
        delta[j] = [effects[key] for key in keys]
    return delta


def standardised(genotypes: npt.NDArray[np.int8]) -> npt.NDArray[np.float64]:
    """Genotypes centred and scaled to population SD 1 per SNP."""
    x = genotypes.astype(np.float64)
    x -= x.mean(axis=0)
    x /= x.std(axis=0)
    return x


def block_statistics(
    rng: np.random.Generator, panel: Panel, beta: npt.NDArray[np.float64]
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """(Z per SNP and tissue, LD score per SNP) from the in-sample LD of each block.

    Products go through ``einsum`` (single-threaded): threaded BLAS on many small blocks
    thrashes on a loaded machine.
    """
    n = panel.genotypes.shape[0]
    z = np.zeros_like(beta)
    l2 = np.zeros(panel.pos.size)
    for b in np.unique(panel.block):
        cols = np.flatnonzero(panel.block == b)
        x = standardised(panel.genotypes[:, cols])
        r = np.einsum("ni,nj->ij", x, x) / n
        l2[cols] = (r**2).sum(axis=1)
        signal = np.einsum("ij,jt->it", r, beta[cols])
        g = rng.standard_normal((n, beta.shape[1]))
        noise = np.einsum("ni,nt->it", x, g) / np.sqrt(n * GWAS_N)
        z[cols] = (signal + noise) * np.sqrt(GWAS_N)
    return z, l2


def per_genotype_effects(
    delta: npt.NDArray[np.float64], freq: npt.NDArray[np.float64]
) -> npt.NDArray[np.float64]:
    """``(snps, tissues + 1)`` true effects per normalised genotype, ``beta = TAU * delta *
    sqrt(2 p (1 - p))`` for each tissue's `delta` (:func:`true_effects`) at ALT frequency
    `freq`, then the null tissue's zeros."""
    beta = TAU * delta * np.sqrt(2.0 * freq * (1.0 - freq))[:, None]
    return np.concatenate([beta, np.zeros((beta.shape[0], 1))], axis=1)
