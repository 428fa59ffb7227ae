"""Checks of what a run's block pass found, before the regression: LD blocks whose
spectrum keeps no eigenvector, phenotypes typed at no print SNP, annotations with no
signed LD profile there, and blocks whose weights are indefinite."""

from __future__ import annotations

import logging
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from crossreg.stats.sldp.annotation_set import AnnotationSet
from crossreg.stats.sldp.block_loop import BlockScan
from crossreg.stats.sldp.chrom_part import PhenoBlocks
from crossreg.stats.sldp.heritability import Heritability
from crossreg.stats.sldp.panel import LdBlocks, chrom_label
from crossreg.stats.sldp.phenotype import Phenotype
from crossreg.stats.sldp.plink import read_bim

log = logging.getLogger("crossreg")


def require_blocked_print_snps(
    ranks: dict[str, int],
    bfile_chr: str,
    printed: npt.NDArray[np.str_],
    blocks: LdBlocks,
    chroms: Sequence[str],
) -> None:
    """Stop when no LD block holds a print SNP of the panel (`ranks`, as the pass counted
    them), saying why: the print SNPs that are panel SNPs lie outside every block (the
    blocks of another genome build than the panel's positions), or none is a panel SNP."""
    if ranks["with_print_snps"]:
        return
    for chrom in chroms:
        bim = read_bim(f"{bfile_chr}{chrom}.bim")
        at = bim.bp[np.isin(bim.snp, printed)]
        if not len(at):
            continue
        ids = blocks.on(chrom)
        held = (
            f"its LD blocks span {int(blocks.start[ids].min()):,}-{int(blocks.end[ids].max()):,}"
            if len(ids)
            else "no LD block is on it"
        )
        raise ValueError(
            f"no LD block holds a print SNP of the panel: the {len(at):,} print SNPs of "
            f"{chrom_label(chrom)} lie at {int(at.min()):,}-{int(at.max()):,} in {bim.path} and "
            f"{held} in {blocks.path}; the panel's positions (.bim column 4) and the "
            "--ld-blocks look like two genome builds: give LD blocks of the panel's build"
        )
    raise ValueError(
        "no LD block holds a print SNP of the panel: the --print-snps ids must be SNP ids "
        "of the panel's .bim files (column 2), at positions inside the --ld-blocks"
    )


def check_ranks(ranks: dict[str, int], spectrum_percent: float) -> None:
    """Stop when every LD block with print SNPs keeps no eigenvector of its truncated LD
    spectrum (so every statistic would be NaN); warn when some do not."""
    total, empty = ranks["with_print_snps"], ranks["rank_0"]
    why = (
        f"its first eigenvalue alone holds {spectrum_percent:g}% of the block's variance "
        "(--spectrum-percent), as with one print SNP in the block"
    )
    if empty == total:
        raise ValueError(
            f"every one of the {total} LD blocks with print SNPs keeps no LD eigenvector: "
            f"{why}; give more print SNPs per block or a higher --spectrum-percent"
        )
    if empty:
        log.warning(
            "%d of %d LD blocks with print SNPs keep no LD eigenvector (%s): they contribute "
            "0, as in the reference",
            empty,
            total,
            why,
        )


def require_typed(phenos: Sequence[Phenotype], scan: BlockScan, chroms: Sequence[str]) -> None:
    """Stop when a phenotype is typed at no print SNP of an LD block, with its
    reconciliation counts over `chroms`."""
    for stats in phenos:
        if not scan.per_pheno[stats.name].typed:
            found = {key: 0 for key in ("matched", "ambiguous", "mismatched", "missing")}
            for chrom in chroms:
                counted = scan.counts.get(f"{stats.source} {chrom_label(chrom)}", {})
                for key in found:
                    found[key] += counted.get(key, 0)
            raise ValueError(
                f"{stats.source}: no SNP of it is typed at a print SNP of an LD block "
                f"(of the panel's SNPs: {found['matched']} matched, {found['ambiguous']} "
                f"strand-ambiguous, {found['mismatched']} with other alleles, {found['missing']} "
                "absent); check its SNP ids and A1/A2 against the panel's .bim"
            )


def check_annotation_signal(
    phenos: Sequence[Phenotype], per_pheno: dict[str, PhenoBlocks], marginal: AnnotationSet
) -> None:
    """Stop, naming them, when no marginal annotation has a signed LD profile at a
    phenotype's typed print SNPs (nothing to regress); warn, naming them, about those
    without one while others have one (their rows are NaN, p 1)."""
    names = marginal.names or []
    for stats in phenos:
        signal = per_pheno[stats.name].signal
        empty = [name for k, name in enumerate(names) if not signal[k]]
        if not empty:
            continue
        where = (
            f"no signed LD profile at the typed print SNPs of {stats.source}: they are 0 at "
            "every SNP of the LD blocks with typed print SNPs"
        )
        check = (
            "check that their values are not all 0 there and that their SNP ids and A1/A2 "
            "match the panel's .bim"
        )
        if len(empty) == len(names):
            raise ValueError(
                f"annotation(s) {marginal.described(empty)} have {where}, so there is "
                f"nothing to regress; {check}"
            )
        log.warning(
            "annotation(s) %s have %s: their rows of results.tsv have no estimate (NaN, p 1); %s",
            marginal.described(empty),
            where,
            check,
        )


def warn_indefinite(stats: Phenotype, h: Heritability, target: PhenoBlocks) -> None:
    """Warn when σ²_g < 0 (mean χ² below 1) left W = R/N + σ²_g R² with an eigenvalue at or
    below 0 in some blocks: the reference keeps σ²_g so, and so does crossreg, but W⁻¹ then
    weights those blocks' leading LD components by a negative or unbounded factor."""
    if not target.indefinite:
        return
    log.warning(
        "%s: sigma2g %.3g is below 0 (mean chi2 %.4g < 1), so W = R/N + sigma2g R^2 has an "
        "eigenvalue at or below 0 in %d of %d LD blocks (those with an LD eigenvalue at or "
        "above 1/(N |sigma2g|)): their weights are negative or unbounded, as in the reference; "
        "--weights Winv_ahat_I does not use sigma2g",
        stats.source,
        h.sigma2g,
        h.mean_chi2,
        target.indefinite,
        target.counted,
    )
