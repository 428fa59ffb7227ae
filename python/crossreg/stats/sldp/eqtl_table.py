"""GTEx-style per-gene eQTL tables (``--eqtl``) read at the print SNPs into one
phenotype's :class:`~crossreg.stats.sldp.sumstats.Sumstats`, Z combined over each SNP's
genes."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import numpy.typing as npt
import polars as pl

from crossreg.stats.sldp.eqtl_rows import PrintSnpRows, combined, first_gene_rows
from crossreg.stats.sldp.sumstats import Sumstats, require_print_snp_rows
from crossreg.stats.sldp.tables import (
    file_stem,
    numbers,
    read_table_batches,
    require_columns,
    require_usable,
)


def read_eqtl(
    path: str | os.PathLike[str], print_snps: npt.NDArray[np.str_], n: float | None = None
) -> Sumstats:
    """Per-SNP statistics from a GTEx-style per-gene eQTL table.

    Columns: a SNP id (``SNP``, else ``rsid``, else ``variant_id``), ``gene_id``, the
    alleles (``alt``/``ref``, else parsed from a ``variant_id`` ``chr_pos_ref_alt[_build]``),
    ``z`` or ``slope`` and ``slope_se`` (for the alt allele), and ``N`` unless `n` is given.
    Every row is oriented to the alleles of the SNP's first row with two different A/C/G/T
    bases (rows that do not match them are dropped; for a strand-ambiguous pair such as A/T
    only the same or the swapped pair matches, as a table that lists one strand has it;
    such a SNP listed both ways in a table with rows on the other strand stops,
    :func:`~crossreg.stats.sldp.eqtl_rows.combined`) and
    Z_m = Σ_k Z_m^(k)/√|G_m| over the genes k kept for SNP m. Strand-ambiguous SNPs
    are kept, as :func:`~crossreg.stats.sldp.sumstats.read_sumstats` keeps them, so that
    h²_g is estimated over the same SNPs either way; the regression drops them when it
    reconciles alleles. A (SNP, gene) row listed again with the same values counts once
    (:func:`~crossreg.stats.sldp.eqtl_rows.first_gene_rows`). An infinite
    z or slope, or a slope_se that is infinite or not above 0, stops naming file and line.
    The file is read a batch of rows at a time (:func:`read_table_batches`), of which only
    the rows at print SNPs are kept, compactly (:class:`~crossreg.stats.sldp.eqtl_rows.Rows`:
    36 bytes a row), so that a table of any length is held as a batch and its rows at
    print SNPs; those rows are combined once all are read, in the file's order, and only
    they are checked for repeats.
    """
    path = Path(path)
    held, usable_rows, example = PrintSnpRows(print_snps), 0, ""
    for before, table in read_table_batches(path):
        listed = _eqtl_listed(table, path, n, before)
        usable = np.isfinite(listed["z"].to_numpy()) & np.isfinite(listed["n"].to_numpy())
        if not usable_rows and usable.any():
            example = str(listed["SNP"][int(np.argmax(usable))])
        usable_rows += int(usable.sum())
        held.add(listed)
    rows = held.rows()
    keep = first_gene_rows(rows, held, path) & np.isfinite(rows.z) & np.isfinite(rows.n)
    require_print_snp_rows(path, usable_rows, example, int(keep.sum()), print_snps)
    rows.keep(keep)
    return Sumstats(file_stem(path), str(path), *combined(rows, held, path))


def _eqtl_listed(
    table: pl.DataFrame, path: Path, n: float | None, rows_before: int
) -> pl.DataFrame:
    """A batch of an eQTL table (`rows_before` rows of the file before it) as its rows'
    ``SNP gene_id alt ref z n`` and the file's ``line`` of each."""
    id_column = _eqtl_id_column(table, path)
    require_columns(table, [id_column, "gene_id"], path)
    alt, ref = _eqtl_alleles(table, path, rows_before)
    return pl.DataFrame(
        {
            "SNP": table[id_column],
            "gene_id": table["gene_id"],
            "alt": alt,
            "ref": ref,
            "z": _eqtl_z(table, path, rows_before),
            "n": _eqtl_sizes(table, path, n, rows_before),
            "line": np.arange(rows_before + 2, rows_before + 2 + len(table)),
        }
    )


EQTL_ID_COLUMNS = ("SNP", "rsid", "variant_id")  # an eQTL table's SNP ids, first found


def _eqtl_id_column(table: pl.DataFrame, path: Path) -> str:
    """The column of an eQTL table's SNP ids (:data:`EQTL_ID_COLUMNS`); a table with none
    stops, naming its columns (and one that differs from an id column by case alone)."""
    found = next((c for c in EQTL_ID_COLUMNS if c in table.columns), None)
    if found is not None:
        return found
    ids = {name.lower() for name in EQTL_ID_COLUMNS}
    near = next((c for c in table.columns if c.lower() in ids), None)
    case = f"; names are case-sensitive, so {near!r} is not one" if near is not None else ""
    raise ValueError(
        f"{path}: no column of SNP ids ({', '.join(EQTL_ID_COLUMNS)}) among "
        f"{', '.join(table.columns)}{case}: name the column of the SNP ids one of these"
    )


def _eqtl_alleles(table: pl.DataFrame, path: Path, rows_before: int) -> tuple[pl.Series, pl.Series]:
    """An eQTL table's (alt, ref) alleles: its ``alt`` and ``ref`` columns, else parsed
    from ``variant_id`` (``chr_pos_ref_alt[_build]``); an id that is not stops, naming its
    line (`rows_before`: the file's rows before the table's first)."""
    if "alt" in table.columns and "ref" in table.columns:
        return table["alt"], table["ref"]
    require_columns(table, ["variant_id"], path)
    parts = table["variant_id"].str.split("_")
    short = (parts.list.len() < 4).to_numpy().nonzero()[0]
    if len(short):
        row = int(short[0])
        raise ValueError(
            f"{path} line {row + 2 + rows_before}: variant_id {table['variant_id'][row]!r} is "
            "not chr_pos_ref_alt[_build] (e.g. chr1_13550_G_A_b38), and the table has no ref "
            "and alt columns to take the alleles from; add them"
        )
    return parts.list.get(3), parts.list.get(2)


def _eqtl_z(table: pl.DataFrame, path: Path, rows_before: int) -> npt.NDArray[np.float64]:
    """An eQTL table's z per row: its ``z`` column, else ``slope / slope_se``."""
    if "z" in table.columns:
        z = numbers(table, "z", path, header=True, na=True, rows_before=rows_before)
        require_usable(z, "z", path, positive=False, rows_before=rows_before)
        return z
    require_columns(table, ["slope", "slope_se"], path)
    slope = numbers(table, "slope", path, header=True, na=True, rows_before=rows_before)
    slope_se = numbers(table, "slope_se", path, header=True, na=True, rows_before=rows_before)
    require_usable(slope, "slope", path, positive=False, rows_before=rows_before)
    require_usable(slope_se, "slope_se", path, positive=True, rows_before=rows_before)
    return slope / slope_se


def _eqtl_sizes(
    table: pl.DataFrame, path: Path, n: float | None, rows_before: int
) -> npt.NDArray[np.float64]:
    """An eQTL table's sample size per row: its ``N`` column, or `n` for every row."""
    if n is None:
        if "N" not in table.columns:
            raise ValueError(
                f"{path}: no N column (it has {', '.join(table.columns)}); give the tables' "
                "sample size with --eqtl-n"
            )
        sizes = numbers(table, "N", path, header=True, na=True, rows_before=rows_before)
        require_usable(sizes, "N", path, positive=True, rows_before=rows_before)
        return sizes
    if not (np.isfinite(n) and n > 0):
        raise ValueError(f"{path}: the eQTL sample size must be a finite number above 0, got {n}")
    return np.full(len(table), float(n))
