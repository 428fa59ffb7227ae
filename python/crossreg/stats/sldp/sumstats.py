"""Phenotypes' GWAS summary statistics (``preprocesspheno``): ldsc-munged ``SNP A1 A2 Z
N`` files read at the print SNPs, and α̂ = Z/√N aligned to the panel (:class:`Sumstats`,
which :mod:`crossreg.stats.sldp.eqtl_table` also reads eQTL tables into)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt
import polars as pl

from crossreg.stats.sldp.panel import ChromPanel
from crossreg.stats.sldp.reconcile import Alignment, reconcile
from crossreg.stats.sldp.tables import (
    file_stem,
    numbers,
    read_table_batches,
    require_columns,
    require_usable,
)


@dataclass(frozen=True)
class Sumstats:
    """One phenotype's statistics at print SNPs: Z for allele A1 and N."""

    name: str
    source: str
    snp: npt.NDArray[np.str_]
    a1: npt.NDArray[np.str_]
    a2: npt.NDArray[np.str_]
    z: npt.NDArray[np.float64]
    n: npt.NDArray[np.float64]

    def align(
        self, panel: ChromPanel
    ) -> tuple[Alignment, npt.NDArray[np.float64], npt.NDArray[np.float64]]:
        """Alignment to the panel's bim, Z oriented to bim A1 (NaN = untyped) and N."""
        bim = panel.bim
        alignment = reconcile(bim.snp, bim.a1, bim.a2, self.snp, self.a1, self.a2)
        return (
            alignment,
            alignment.apply(self.z, np.nan),
            alignment.apply(self.n, np.nan, signed=False),
        )


def _at_print_snps(snp: pl.Series, printed: pl.DataFrame) -> npt.NDArray[np.bool_]:
    """Which rows' SNP id is one of the `printed` SNPs (column ``SNP``), by a join: for a
    batch of 500,000 rows and 1.2M print SNPs a quarter of the time of ``is_in``."""
    rows = snp.to_frame("SNP").with_row_index("row").join(printed, on="SNP")
    found = np.zeros(len(snp), dtype=bool)
    found[rows["row"].to_numpy()] = True
    return found


def require_print_snp_rows(
    path: Path, usable: int, example: str, kept: int, print_snps: npt.NDArray[np.str_]
) -> None:
    """Stop, with an example of each, when `path` has `usable` rows with statistics (the
    first at SNP `example`) but `kept`, those at print SNPs, is 0 (ids spelled another
    way, say ``chr1:12345`` against rsIDs)."""
    if usable and not kept:
        raise ValueError(
            f"{path}: none of its {usable} rows with statistics (SNP ids such as {example!r}) "
            f"is at a print SNP (--print-snps: {len(print_snps)} SNPs, e.g. "
            f"{str(print_snps[0])!r}); "
            "the two must name SNPs alike (e.g. both rsIDs)"
        )


def read_sumstats(path: str | os.PathLike[str], print_snps: npt.NDArray[np.str_]) -> Sumstats:
    """ldsc munged sumstats ``SNP A1 A2 Z N`` (gz or plain): rows with a missing Z or N
    dropped, then restricted to the print SNPs. An infinite Z, or an N that is infinite
    or not above 0, stops naming file and line. The file is read a batch of rows at a
    time (:func:`read_table_batches`), each kept only at the print SNPs."""
    path = Path(path)
    printed = pl.DataFrame({"SNP": pl.Series(print_snps, dtype=pl.String)})
    pieces, usable_rows, example = [], 0, ""
    for k, (before, table) in enumerate(read_table_batches(path)):
        if not k:
            _require_sumstats_columns(table, path)
        z = numbers(table, "Z", path, header=True, na=True, rows_before=before)
        n = numbers(table, "N", path, header=True, na=True, rows_before=before)
        require_usable(z, "Z", path, positive=False, rows_before=before)
        require_usable(n, "N", path, positive=True, rows_before=before)
        usable = ~np.isnan(z) & ~np.isnan(n)
        if not usable_rows and usable.any():
            example = str(table["SNP"][int(np.argmax(usable))])
        usable_rows += int(usable.sum())
        keep = usable & _at_print_snps(table["SNP"], printed)
        pieces.append(table.select("SNP", "A1", "A2").with_columns(Z=z, N=n).filter(keep))
    rows = pl.concat(pieces)
    require_print_snp_rows(path, usable_rows, example, len(rows), print_snps)
    return Sumstats(
        file_stem(path),
        str(path),
        rows["SNP"].to_numpy().astype(str),
        rows["A1"].to_numpy().astype(str),
        rows["A2"].to_numpy().astype(str),
        rows["Z"].to_numpy(),
        rows["N"].to_numpy(),
    )


def _require_sumstats_columns(table: pl.DataFrame, path: Path) -> None:
    """Stop when the sumstats `table` of `path` lacks a column, with a hint when it has
    BETA and SE in place of Z."""
    if "Z" not in table.columns and {"BETA", "SE"} <= set(table.columns):
        raise ValueError(
            f"{path}: no Z column (it has BETA and SE): give ldsc-munged statistics "
            "(munge_sumstats.py writes Z), or add Z = BETA / SE for allele A1"
        )
    require_columns(table, ["SNP", "A1", "A2", "Z", "N"], path)
