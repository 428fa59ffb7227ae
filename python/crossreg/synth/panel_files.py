"""The files of the synthetic human reference panel (:mod:`crossreg.synth.panel`), as SLDP
reads them: PLINK ``.bed/.bim/.fam/.frq`` and ldsc LD scores per chromosome, the LD blocks,
the SNPs to print, a VCF of the SNPs, per-tissue summary statistics and the planted truth.

Allele convention: ``.bim`` A1 = ALT (the counted allele), A2 = REF; a ``.bed`` code 00 is
two ALT alleles. ``.frq`` follows ``plink --freq``: its A1 is the minor allele and MAF
that allele's frequency. Summary statistics give Z for A1 = ALT.

Per-chromosome files are named by the chromosome's number (``panel.1.bed`` for ``chr1``),
as ``--bfile-chr`` stems expect; ``blocks.bed`` uses the genome's names. A block holds
the SNPs with ``start <= BP < end``.
"""

from __future__ import annotations

import gzip
from collections.abc import Iterable
from pathlib import Path

import numpy as np
import numpy.typing as npt

from crossreg.io.atomic import atomic_write
from crossreg.io.chroms import bare_chrom
from crossreg.io.plink import pack_bed
from crossreg.io.vcf import Variant, write_vcf
from crossreg.synth.cells import CELL_TYPES
from crossreg.synth.genomes import SpeciesGenome
from crossreg.synth.motifs import Motif
from crossreg.synth.panel import (
    GWAS_N,
    NULL_TISSUE,
    TAU,
    TISSUES,
    Panel,
    block_statistics,
    build_panel,
    panel_size,
    per_genotype_effects,
    true_effects,
)
from crossreg.synth.presets import Preset
from crossreg.synth.regulation import Regulation
from crossreg.synth.tables import write_tsv

PRINT_MAF = 0.01  # the SNPs of print_snps.txt: minor allele frequency at least this


def write_gz_lines(path: Path, lines: Iterable[str]) -> None:
    """Gzip text lines atomically, with no time or name in the header (reproducible bytes)."""
    with (
        atomic_write(path, "wb") as raw,
        gzip.GzipFile(fileobj=raw, mode="wb", filename="", mtime=0) as handle,
    ):
        handle.write("".join(lines).encode())


def write_plink(root: Path, panel: Panel, cols: npt.NDArray[np.int64], number: str) -> None:
    """``panel.{number}.bed/.bim/.fam/.frq`` of the SNPs in `cols` (one chromosome)."""
    ids = [panel.ids[j] for j in cols]
    n = panel.genotypes.shape[0]
    with atomic_write(root / f"panel.{number}.bed", "wb") as handle:
        handle.write(pack_bed(panel.genotypes[:, cols]))
    with atomic_write(root / f"panel.{number}.bim") as handle:
        handle.writelines(
            f"{number}\t{s}\t0\t{panel.bp[j]}\t{panel.alt[j]}\t{panel.ref[j]}\n"
            for s, j in zip(ids, cols, strict=True)
        )
    with atomic_write(root / f"panel.{number}.fam") as handle:
        handle.writelines(f"ind{i:05d} ind{i:05d} 0 0 0 -9\n" for i in range(1, n + 1))
    freq = panel.alt_freq[cols]
    with atomic_write(root / f"panel.{number}.frq") as handle:
        handle.write(f"{'CHR':>4} {'SNP':>24} {'A1':>4} {'A2':>4} {'MAF':>12} {'NCHROBS':>8}\n")
        for s, j, p in zip(ids, cols, freq, strict=True):
            minor, major = (
                (panel.alt[j], panel.ref[j]) if p <= 0.5 else (panel.ref[j], panel.alt[j])
            )
            handle.write(
                f"{number:>4} {s:>24} {minor:>4} {major:>4} {min(p, 1 - p):>12.4g} {2 * n:>8}\n"
            )


def write_ldscores(
    root: Path, panel: Panel, cols: npt.NDArray[np.int64], number: str, l2: npt.NDArray
) -> None:
    """``ld.{number}.l2.ldscore.gz`` (CHR SNP BP L2) and the ``.l2.M``/``.l2.M_5_50`` counts."""
    ids = panel.ids
    write_gz_lines(
        root / f"ld.{number}.l2.ldscore.gz",
        [
            "CHR\tSNP\tBP\tL2\n",
            *(f"{number}\t{ids[j]}\t{panel.bp[j]}\t{l2[j]:.3f}\n" for j in cols),
        ],
    )
    freq = panel.alt_freq[cols]
    maf = np.minimum(freq, 1.0 - freq)
    with atomic_write(root / f"ld.{number}.l2.M") as handle:
        handle.write(f"{cols.size}\n")
    with atomic_write(root / f"ld.{number}.l2.M_5_50") as handle:
        handle.write(f"{int((maf > 0.05).sum())}\n")


def write_sumstats(path: Path, panel: Panel, z: npt.NDArray[np.float64]) -> None:
    """ldsc munged summary statistics ``SNP A1 A2 Z N`` (gzipped TSV), Z for A1 = ALT."""
    write_gz_lines(
        path,
        [
            "SNP\tA1\tA2\tZ\tN\n",
            *(
                f"{s}\t{a}\t{r}\t{v:.4f}\t{GWAS_N}\n"
                for s, a, r, v in zip(panel.ids, panel.alt, panel.ref, z, strict=True)
            ),
        ],
    )


def write_panel(
    out: Path,
    folder: str,
    genome: SpeciesGenome,
    reg: Regulation,
    motifs: dict[str, Motif],
    preset: Preset,
    rng: np.random.Generator,
) -> dict:
    """Write the panel, its LD files and per-tissue summary statistics; return manifest keys."""
    root = out / folder
    size = panel_size(preset, sum(genome.sizes.values()))
    panel = build_panel(rng, genome, reg, size)
    delta = true_effects(panel, genome, reg, motifs, TISSUES)
    freq = panel.alt_freq
    beta = per_genotype_effects(delta, freq)
    z, l2 = block_statistics(rng, panel, beta)
    tissues = [*TISSUES, NULL_TISSUE]
    numbers = [bare_chrom(c) for c in panel.chroms]
    for k, number in enumerate(numbers):
        cols = np.flatnonzero(panel.chrom == k)
        write_plink(root, panel, cols, number)
        write_ldscores(root, panel, cols, number, l2)
    with atomic_write(root / "blocks.bed") as handle:
        handle.writelines(f"{c}\t{a}\t{b}\n" for c, a, b in panel.blocks)
    maf = np.minimum(freq, 1.0 - freq)
    ids = panel.ids
    with atomic_write(root / "print_snps.txt") as handle:
        handle.writelines(f"{s}\n" for s, m in zip(ids, maf, strict=True) if m >= PRINT_MAF)
    write_vcf(
        root / "panel.vcf",
        [
            Variant(panel.chroms[c], int(p), r, (a,), id=s)
            for c, p, r, a, s in zip(panel.chrom, panel.pos, panel.ref, panel.alt, ids, strict=True)
        ],
        contigs=genome.sizes,
    )
    for t, tissue in enumerate(tissues):
        write_sumstats(root / "sumstats" / f"{tissue}.sumstats.gz", panel, z[:, t])
    write_tsv(
        root / "truth.tsv",
        ["SNP", "tissue", "beta", "delta_log_expression"],
        (
            [s, tissue, f"{beta[j, t]:.6g}", f"{delta[j, t] if t < len(TISSUES) else 0.0:.6g}"]
            for t, tissue in enumerate(tissues)
            for j, s in enumerate(ids)
        ),
    )
    mouse = set(CELL_TYPES["mouse"])
    return {
        "genome": genome.name,
        "bfile": f"{folder}/panel.",
        "frq": f"{folder}/panel.",
        "chroms": numbers,
        "chrom_names": dict(zip(numbers, panel.chroms, strict=True)),
        "blocks": f"{folder}/blocks.bed",
        "print_snps": f"{folder}/print_snps.txt",
        "ldscores": f"{folder}/ld.",
        "vcf": f"{folder}/panel.vcf",
        "sumstats": {t: f"{folder}/sumstats/{t}.sumstats.gz" for t in tissues},
        "truth": f"{folder}/truth.tsv",
        "tissues": tissues,
        "null_tissue": NULL_TISSUE,
        "cell_types": {t: (t if t in TISSUES else None) for t in tissues},
        "tracks": {
            t: {"human": f"hs_CAGE_{t}", "mouse": f"mm_CAGE_{t}" if t in mouse else None}
            for t in TISSUES
        },
        "allele_convention": "bim A1 = ALT (counted, Z's allele), A2 = REF",
        "snps": int(panel.pos.size),
        "print_snp_count": int((maf >= PRINT_MAF).sum()),
        "individuals": int(panel.genotypes.shape[0]),
        "ld_blocks": len(panel.blocks),
        "gwas_n": GWAS_N,
        "tau": TAU,
        "beta_scale": "beta = tau * delta_log_expression * sqrt(2p(1-p)), per normalised genotype",
    }
