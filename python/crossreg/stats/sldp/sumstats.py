"""Phenotypes (``preprocesspheno``): summary statistics, h²_g by the aggregate LD-score
estimator, α̂ = Z/√N aligned to the panel, and the weighted statistics W⁻¹α̂ per block."""

from __future__ import annotations

import glob
import logging
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt
import polars as pl

from crossreg.io.text import numbered_lines
from crossreg.stats.sldp.eqtl_rows import PrintSnpRows, combined, first_gene_rows
from crossreg.stats.sldp.panel import ChromPanel, check_stem, chrom_order
from crossreg.stats.sldp.reconcile import Alignment, reconcile
from crossreg.stats.sldp.refpanel import Spectrum
from crossreg.stats.sldp.tables import (
    file_stem,
    numbers,
    read_table_batches,
    read_text_table,
    require_columns,
)

WEIGHTS = ("Winv_ahat_h", "Winv_ahat_I")
H2G_FLOOR = 0.03
log = logging.getLogger("crossreg")


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


def _require_usable(
    values: npt.NDArray[np.float64],
    name: str,
    path: Path,
    *,
    positive: bool,
    rows_before: int = 0,
) -> None:
    """Stop at the first value of column `name` that is infinite (or, with `positive`, not
    above 0), naming file and line (`rows_before`: the file's rows before these values');
    missing values (NaN) pass."""
    bad = np.isinf(values) | ((values <= 0) if positive else False)
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        need = "a finite number above 0" if positive else "a finite number"
        raise ValueError(
            f"{path} line {row + 2 + rows_before}: column {name} has {float(values[row])}; "
            f"it must be {need} (or NA to drop the row)"
        )


def _at_print_snps(snp: pl.Series, printed: pl.DataFrame) -> npt.NDArray[np.bool_]:
    """Which rows' SNP id is one of the `printed` SNPs (column ``SNP``), by a join: for a
    batch of 500,000 rows and 1.2M print SNPs a quarter of the time of ``is_in``."""
    rows = snp.to_frame("SNP").with_row_index("row").join(printed, on="SNP")
    found = np.zeros(len(snp), dtype=bool)
    found[rows["row"].to_numpy()] = True
    return found


def _require_print_snp_rows(
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
        _require_usable(z, "Z", path, positive=False, rows_before=before)
        _require_usable(n, "N", path, positive=True, rows_before=before)
        usable = ~np.isnan(z) & ~np.isnan(n)
        if not usable_rows and usable.any():
            example = str(table["SNP"][int(np.argmax(usable))])
        usable_rows += int(usable.sum())
        keep = usable & _at_print_snps(table["SNP"], printed)
        pieces.append(table.select("SNP", "A1", "A2").with_columns(Z=z, N=n).filter(keep))
    rows = pl.concat(pieces)
    _require_print_snp_rows(path, usable_rows, example, len(rows), print_snps)
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
    Z_m = Σ_k Z_m^(k)/√|G_m| over the genes k kept for SNP m. Strand-ambiguous SNPs are
    kept, as :func:`read_sumstats` keeps them, so that h²_g is estimated over the same SNPs
    either way; the regression drops them when it reconciles alleles. A (SNP, gene)
    row listed again with the same values counts once
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
    _require_print_snp_rows(path, usable_rows, example, int(keep.sum()), print_snps)
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
        _require_usable(z, "z", path, positive=False, rows_before=rows_before)
        return z
    require_columns(table, ["slope", "slope_se"], path)
    slope = numbers(table, "slope", path, header=True, na=True, rows_before=rows_before)
    slope_se = numbers(table, "slope_se", path, header=True, na=True, rows_before=rows_before)
    _require_usable(slope, "slope", path, positive=False, rows_before=rows_before)
    _require_usable(slope_se, "slope_se", path, positive=True, rows_before=rows_before)
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
        _require_usable(sizes, "N", path, positive=True, rows_before=rows_before)
        return sizes
    if not (np.isfinite(n) and n > 0):
        raise ValueError(f"{path}: the eQTL sample size must be a finite number above 0, got {n}")
    return np.full(len(table), float(n))


@dataclass(frozen=True)
class Heritability:
    """The aggregate LD-score estimate: σ²_g = (mean χ² − 1)/mean(N·ℓ), h²_g =
    max(σ²_g·M₅₋₅₀, 0.03) (σ²_g is not floored), and the mean N."""

    h2g: float
    sigma2g: float
    nbar: float
    mean_chi2: float


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
        _require_usable(scores[-1], "L2", paths[chrom], positive=False)
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


@dataclass(frozen=True)
class BlockWeights:
    """A block's weighting for one phenotype: the typed print SNPs, W⁻¹α̂ at them, and the
    basis B (typed × k) and divisors c (k) with W⁻¹ = B diag(1/c) Bᵀ (for ``Winv_ahat_I``,
    B is None: W⁻¹ = I)."""

    typed: npt.NDArray[np.bool_]
    winv_ahat: npt.NDArray[np.float64]
    basis: npt.NDArray[np.float64] | None
    divisors: npt.NDArray[np.float64] | None


def block_weights(
    spectrum: Spectrum,
    ahat: npt.NDArray[np.float64],
    n: npt.NDArray[np.float64],
    sigma2g: float,
    mode: str,
) -> BlockWeights:
    """W⁻¹α̂ over a block's print SNPs (§4.4): typed = α̂ present; N_b = mean N over
    them; W⁻¹ ≈ U_t diag(1/(σ²_g λ² + λ/N_b)) U_tᵀ (``Winv_ahat_h``) or I."""
    typed = ~np.isnan(ahat)
    if mode == "Winv_ahat_I":
        return BlockWeights(typed, ahat[typed], None, None)
    u = spectrum.u[typed, :]
    svs = spectrum.svs
    divisors = sigma2g * svs**2 + svs / n[typed].mean()
    return BlockWeights(typed, (u / divisors).dot(u.T.dot(ahat[typed])), u, divisors)
