"""LD scores (``{stem}{c}.l2.ldscore.gz``) and counts of common SNPs
(``{stem}{c}.l2.M_5_50``), as ldsc writes them, over the chromosomes whose files exist."""

from __future__ import annotations

import glob
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from crossreg.io.text import numbered_lines
from crossreg.stats.sldp.panel import check_stem, chrom_order
from crossreg.stats.sldp.tables import numbers, read_text_table, require_columns, require_usable


@dataclass(frozen=True)
class LdScores:
    """LD scores and Σ M₅₋₅₀ over the chromosomes whose files exist."""

    snp: npt.NDArray[np.str_]
    l2: npt.NDArray[np.float64]
    m_5_50: int
    chroms: list[str]
    stem: str


def ldscore_chroms(stem: str) -> list[str]:
    """The chromosomes c with a ``{stem}{c}.l2.ldscore.gz``, in chromosome order."""
    pattern = f"{glob.escape(stem)}*.l2.ldscore.gz"
    return sorted(
        (p[len(stem) : -len(".l2.ldscore.gz")] for p in glob.glob(pattern)), key=chrom_order
    )


def read_ldscores(stem: str) -> LdScores:
    """``{stem}{c}.l2.ldscore.gz`` (columns SNP and L2) and ``{stem}{c}.l2.M_5_50`` for
    every c with files. (The reference reads exactly chromosomes 1–22.) An infinite L2
    stops naming file and line."""
    chroms = ldscore_chroms(stem)
    paths = {chrom: Path(f"{stem}{chrom}.l2.ldscore.gz") for chrom in chroms}
    if not chroms:
        raise ValueError(f"{stem}: no LD-score files {stem}{{chrom}}.l2.ldscore.gz")
    check_stem(stem, "--ldscores-chr", chroms)
    snps, scores, m = [], [], 0
    for chrom in chroms:
        table = read_text_table(paths[chrom], header=True)
        require_columns(table, ["SNP", "L2"], paths[chrom])
        snps.append(table["SNP"].to_numpy().astype(str))
        scores.append(numbers(table, "L2", paths[chrom], header=True, na=True))
        require_usable(scores[-1], "L2", paths[chrom], positive=False)
        m_path = Path(f"{stem}{chrom}.l2.M_5_50")
        if not m_path.exists():
            raise ValueError(f"{m_path}: missing (needed with {paths[chrom]})")
        m += read_m_5_50(m_path)
    return LdScores(np.concatenate(snps), np.concatenate(scores), m, chroms, stem)


def read_m_5_50(path: Path) -> int:
    """The count of common SNPs on line 1 of an ``.l2.M_5_50`` (plain or gzip): one whole
    number, 0 or more."""
    first = next(numbered_lines(path), (1, ""))[1].strip()
    if not (first.isascii() and first.isdigit()):
        raise ValueError(
            f"{path} line 1: {first!r} is not one whole number of SNPs (0 or more); "
            "ldsc --l2 writes it"
        )
    return int(first)
