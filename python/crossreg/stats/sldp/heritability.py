"""A phenotype's h²_g by the aggregate LD-score estimator (§4.2), which its weights
(:mod:`crossreg.stats.sldp.weights`) and the reported ratios are relative to."""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import polars as pl

from crossreg.stats.sldp.ldscores import LdScores
from crossreg.stats.sldp.sumstats import Sumstats

H2G_FLOOR = 0.03
log = logging.getLogger("crossreg")


@dataclass(frozen=True)
class Heritability:
    """The aggregate LD-score estimate: σ²_g = (mean χ² − 1)/mean(N·ℓ), h²_g =
    max(σ²_g·M₅₋₅₀, 0.03) (σ²_g is not floored), and the mean N."""

    h2g: float
    sigma2g: float
    nbar: float
    mean_chi2: float


def estimate_h2g(stats: Sumstats, ld: LdScores) -> Heritability:
    """h²_g and σ²_g of a phenotype (§4.2): mean χ² over its print-SNP rows, mean N·ℓ over
    those with an LD score."""
    joined = pl.DataFrame({"SNP": stats.snp, "Z": stats.z, "N": stats.n}).join(
        pl.DataFrame({"SNP": ld.snp, "L2": ld.l2}), on="SNP", how="left", maintain_order="left"
    )
    z, n, l2 = (joined[c].to_numpy().astype(np.float64) for c in ("Z", "N", "L2"))
    if not len(z):
        raise ValueError(f"{stats.source}: no rows at print SNPs")
    mean_chi2 = float(np.mean(z**2))
    nl2 = n * l2
    scored = ~np.isnan(nl2)
    if not scored.any():
        raise ValueError(
            f"{stats.source}: none of its {len(z)} rows at print SNPs has an LD score in "
            f"{ld.stem}*.l2.ldscore.gz ({len(ld.snp)} SNPs); the two must name SNPs alike "
            "(e.g. both rsIDs)"
        )
    sigma2g = (mean_chi2 - 1) / float(np.mean(nl2[scored]))
    if not np.isfinite(sigma2g):
        raise ValueError(
            f"{stats.source}: its heritability is not a finite number (mean chi2 {mean_chi2}, "
            f"mean N*L2 {float(np.mean(nl2[scored]))}); check its Z and N columns and the LD "
            f"scores {ld.stem}*.l2.ldscore.gz"
        )
    h2g = max(sigma2g * ld.m_5_50, H2G_FLOOR)
    if h2g > 1:
        log.warning(
            "%s: its h2g estimate, %.4g = (mean chi2 %.4g - 1) / mean N*L2 %.4g * M_5_50 %d, "
            "is above 1: check its N column, the LD scores and M_5_50 (%s*); r_f, h2v_h2g and "
            "h2v are relative to it",
            stats.source,
            h2g,
            mean_chi2,
            float(np.mean(nl2[scored])),
            ld.m_5_50,
            ld.stem,
        )
    return Heritability(h2g, sigma2g, float(np.mean(stats.n)), mean_chi2)
