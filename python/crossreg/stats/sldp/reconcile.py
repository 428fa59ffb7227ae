"""The reference's allele reconciliation (gprim ``reconciled_to``): data rows are matched
to panel SNPs by id and oriented to bim A1.

A pair of alleles is valid when both are A/C/G/T, they differ and are not a strand-ambiguous
pair (A/T, C/G). A data row matches a bim SNP when both pairs are valid and the data pair
is the bim pair, its strand complement, the swapped pair or the swapped complement;
swapped rows are negated. Everything else is missing (so every strand-ambiguous SNP is
dropped). Of several data rows with one id, the first that matches is used (the reference
drops the non-matching ones; it keeps every matching one, which misaligns its tables).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import polars as pl

COMPLEMENT = {"A": "T", "C": "G", "G": "C", "T": "A"}
# allele codes: the four bases (any case), then every other allele; the alignment tells
# other alleles apart from the bases only, so "" stands for all of them
ALLELES = np.array([*COMPLEMENT, ""])


@dataclass(frozen=True)
class Alignment:
    """For each bim SNP: the data row used (−1 = none) and its sign (+1, or −1 when swapped)."""

    row: npt.NDArray[np.int64]
    sign: npt.NDArray[np.float64]
    counts: dict[str, int]

    def apply(
        self,
        values: npt.NDArray[np.floating],
        missing: float,
        rows: slice = slice(None),
        *,
        signed: bool = True,
    ) -> npt.NDArray[np.float64]:
        """Data `values` (rows × columns, or rows) at bim SNPs `rows`, oriented to A1
        (negated where swapped) unless not `signed`; `missing` where unmatched. Only those
        rows are converted to float64 (never the whole table, which for a SAD file is
        every variant × every track)."""
        row, values = self.row[rows], np.asarray(values)
        if not len(values):  # no data row (a chromosome a SAD file lacks)
            return np.full((len(row), *values.shape[1:]), missing, dtype=np.float64)
        out = values[np.maximum(row, 0)].astype(np.float64, copy=False)
        if signed:
            out *= self.sign[rows].reshape(-1, *([1] * (out.ndim - 1)))
        out[row < 0] = missing
        return out


def allele_codes(alleles: npt.NDArray[np.str_]) -> npt.NDArray[np.uint8]:
    """Each allele's code in :data:`ALLELES`: its base upper-cased, else the last code."""
    upper = np.strings.upper(alleles)
    codes = np.full(len(alleles), len(ALLELES) - 1, dtype=np.uint8)
    for code, base in enumerate(ALLELES[:-1]):
        codes[upper == base] = code
    return codes


def two_bases(a1: pl.Expr, a2: pl.Expr) -> pl.Expr:
    """Whether the alleles `a1`, `a2` (upper case) are two different A/C/G/T bases."""
    bases = list(COMPLEMENT)
    return a1.is_in(bases) & a2.is_in(bases) & (a1 != a2)


def valid_pair(a1: pl.Expr, a2: pl.Expr) -> pl.Expr:
    """Whether the alleles `a1`, `a2` (upper case) are a valid pair (module docstring):
    two different bases that are not each other's complement."""
    return two_bases(a1, a2) & (a1.replace_strict(COMPLEMENT, default=None) != a2)


def with_match(frame: pl.DataFrame) -> pl.DataFrame:
    """Add ``match``, ``flip``, ``strand`` and ``ambiguous`` to a frame of upper-case
    allele columns ``b1 b2`` (reference) and ``d1 d2`` (data); null alleles do not match."""
    b1, b2, d1, d2 = (pl.col(c) for c in ("b1", "b2", "d1", "d2"))
    cb1, cb2 = (c.replace_strict(COMPLEMENT, default=None) for c in (b1, b2))
    same, strand = (d1 == b1) & (d2 == b2), (d1 == cb1) & (d2 == cb2)
    swap, swap_strand = (d1 == b2) & (d2 == b1), (d1 == cb2) & (d2 == cb1)
    match = (
        valid_pair(b1, b2) & valid_pair(d1, d2) & (same | strand | swap | swap_strand)
    ).fill_null(False)
    ambiguous = d1.is_not_null() & (
        (cb1 == b2) | (d1.replace_strict(COMPLEMENT, default=None) == d2)
    ).fill_null(False)
    return frame.with_columns(
        match=match,
        flip=match & (swap | swap_strand).fill_null(False),
        strand=match & (strand | swap_strand).fill_null(False),
        ambiguous=ambiguous & ~match,
    )


def reconcile(
    bim_snp: npt.NDArray[np.str_],
    bim_a1: npt.NDArray[np.str_],
    bim_a2: npt.NDArray[np.str_],
    snp: npt.NDArray[np.str_],
    a1: npt.NDArray[np.str_],
    a2: npt.NDArray[np.str_],
) -> Alignment:
    """Align data rows (`snp`, `a1`, `a2`) to the bim SNPs. Counts: ``matched`` (used),
    ``swapped`` and ``complemented`` (among matched), ``ambiguous`` (present, with a
    strand-ambiguous pair), ``mismatched`` (present, other invalid or different alleles),
    ``missing`` (absent), ``duplicated`` (bim SNPs with several data rows)."""
    bim = pl.DataFrame(
        {"i": np.arange(len(bim_snp)), "SNP": bim_snp, "b1": bim_a1, "b2": bim_a2}
    ).with_columns(pl.col("b1", "b2").str.to_uppercase())
    data = pl.DataFrame(
        {"j": np.arange(len(snp)), "SNP": np.asarray(snp, dtype=str), "d1": a1, "d2": a2}
    ).with_columns(pl.col("d1", "d2").str.to_uppercase())
    joined = (
        with_match(bim.join(data, on="SNP", how="left", maintain_order="left"))
        .with_columns(rows=pl.len().over("i"))
        .sort(["i", "match", "j"], descending=[False, True, False], nulls_last=True)
        .unique(subset="i", keep="first", maintain_order=True)
    )
    match, flip = joined["match"].to_numpy(), joined["flip"].to_numpy()
    present, ambiguous = joined["j"].is_not_null().to_numpy(), joined["ambiguous"].to_numpy()
    counts = {
        "matched": int(match.sum()),
        "swapped": int(flip.sum()),
        "complemented": int(joined["strand"].sum()),
        "ambiguous": int(ambiguous.sum()),
        "mismatched": int((present & ~match & ~ambiguous).sum()),
        "missing": int((~present).sum()),
        "duplicated": int((joined["rows"].to_numpy() > 1).sum()),
    }
    row = np.where(match, joined["j"].fill_null(-1).to_numpy(), -1).astype(np.int64)
    return Alignment(row, np.where(flip, -1.0, 1.0), counts)


def add_counts(counts: dict[str, dict[str, int]], key: str, new: dict[str, int]) -> None:
    """Add an alignment's `new` counts to ``counts[key]`` (a run's reconciliation counts
    per file, or per file and chromosome)."""
    into = counts.setdefault(key, {})
    for name, value in new.items():
        into[name] = into.get(name, 0) + value
