"""An eQTL table's rows at print SNPs, held compactly as the table is read and combined per
SNP on integer keys (``read_eqtl``).

Each row at a print SNP is kept as its print SNP's index (int32), its gene's code (int32,
from a dictionary of the table's genes grown a batch at a time), its (alt, ref) pair's code
(int32, likewise: the alleles exactly as written, for the repeat check), z and N (float64)
and its line in the file (int64): 36 bytes a row, where the six columns as polars strings
and their combining took some 430."""

from __future__ import annotations

import logging
from dataclasses import dataclass, fields
from pathlib import Path

import numpy as np
import numpy.typing as npt
import polars as pl

from crossreg.stats.sldp.reconcile import ALLELES, COMPLEMENT, allele_codes

log = logging.getLogger("crossreg")

OTHER = len(ALLELES) - 1  # the code of an allele that is no base
Strings = npt.NDArray[np.str_]
# the code of each code's complement (OTHER for OTHER)
COMPLEMENT_CODE = allele_codes(np.array([*COMPLEMENT.values(), ""]))


class _Dictionary:
    """Distinct values of string columns `names` and their int32 codes, in the order first
    seen, grown a batch of rows at a time."""

    def __init__(self, names: list[str]) -> None:
        self.names = names
        self.table = pl.DataFrame(schema={**dict.fromkeys(names, pl.String), "code": pl.Int32})

    def codes(self, frame: pl.DataFrame) -> npt.NDArray[np.int32]:
        """The code of each row of `frame` (columns `names`), adding the values not seen."""
        new = frame.unique(maintain_order=True).join(self.table, on=self.names, how="anti")
        start = len(self.table)
        codes = pl.int_range(start, start + len(new), dtype=pl.Int32)
        self.table = pl.concat([self.table, new.with_columns(code=codes)])
        joined = frame.join(self.table, on=self.names, how="left", maintain_order="left")
        return joined["code"].to_numpy()

    def values(self, name: str) -> npt.NDArray[np.str_]:
        """Column `name` of the values, by code."""
        return self.table[name].to_numpy().astype(str)


@dataclass
class Rows:
    """Rows at print SNPs in the file's order (:mod:`module docstring <.eqtl_rows>`)."""

    snp: npt.NDArray[np.int32]
    gene: npt.NDArray[np.int32]
    pair: npt.NDArray[np.int32]
    z: npt.NDArray[np.float64]
    n: npt.NDArray[np.float64]
    line: npt.NDArray[np.int64]

    def keep(self, rows: npt.NDArray[np.bool_]) -> None:
        """Drop the rows not in `rows`, a column at a time (never two copies of all)."""
        for column in fields(self):
            setattr(self, column.name, getattr(self, column.name)[rows])


class PrintSnpRows:
    """An eQTL table's rows at the print SNPs, added a batch at a time."""

    def __init__(self, print_snps: npt.NDArray[np.str_]) -> None:
        self.print_snps = print_snps
        self._printed = (
            pl.DataFrame({"SNP": pl.Series(print_snps, dtype=pl.String)})
            .with_row_index("snp")
            .unique(subset="SNP", keep="first", maintain_order=True)
            .with_columns(pl.col("snp").cast(pl.Int32))
        )
        self._genes, self._pairs = _Dictionary(["gene_id"]), _Dictionary(["alt", "ref"])
        self._pieces: dict[str, list[npt.NDArray]] = {f.name: [] for f in fields(Rows)}

    def add(self, listed: pl.DataFrame) -> None:
        """Keep the rows at print SNPs of a batch's ``SNP gene_id alt ref z n line``."""
        kept = listed.join(self._printed, on="SNP", maintain_order="left")
        columns = {
            "snp": kept["snp"].to_numpy(),
            "gene": self._genes.codes(kept.select("gene_id")),
            "pair": self._pairs.codes(kept.select("alt", "ref")),
            "z": kept["z"].to_numpy(),
            "n": kept["n"].to_numpy(),
            "line": kept["line"].to_numpy().astype(np.int64),
        }
        for name, values in columns.items():
            self._pieces[name].append(values)

    def rows(self) -> Rows:
        """Every row added, in order (the pieces are let go a column at a time)."""
        whole = {}
        for name in list(self._pieces):
            whole[name] = np.concatenate(self._pieces.pop(name))
        return Rows(**whole)

    def gene(self, code: int) -> str:
        """The gene id of `code`."""
        return str(self._genes.table["gene_id"][code])

    def pair_codes(self) -> tuple[npt.NDArray[np.uint8], npt.NDArray[np.uint8]]:
        """Each pair code's alt and ref as codes in :data:`ALLELES` (upper-cased bases)."""
        return allele_codes(self._pairs.values("alt")), allele_codes(self._pairs.values("ref"))


def _same(a: npt.NDArray, b: npt.NDArray) -> npt.NDArray[np.bool_]:
    """Equal as polars' ``unique`` compares values: NaN is NaN, -0.0 is 0.0."""
    same = a == b
    if a.dtype.kind == "f":
        same |= np.isnan(a) & np.isnan(b)
    return same


def first_gene_rows(rows: Rows, held: PrintSnpRows, path: Path) -> npt.NDArray[np.bool_]:
    """Which `rows` are the first listing of their (SNP, gene) pair: a repeat with the same
    alleles, z and N is left out with one warning (it would count as another gene), a
    repeat with other values stops naming both lines (of the first pair in the file so
    listed: its first row and its first row with other values). Rows at other SNPs are
    never used, so their repeats are not looked for."""
    key = (rows.snp.astype(np.int64) << 32) | rows.gene
    order = np.argsort(key, kind="stable")  # a pair's rows together, in the file's order
    key = key[order]
    new = np.diff(key, prepend=-1) != 0  # a pair's first row, in `order`
    del key
    changed = np.zeros(len(order), dtype=bool)  # values other than the row before's
    for column in (rows.pair, rows.z, rows.n):
        values = column[order]
        changed[1:] |= ~_same(values[1:], values[:-1])
        del values
    clash = changed & ~new  # a pair's first row with other values than the pair's first
    if clash.any():
        at = np.flatnonzero(clash)
        starts = np.flatnonzero(new)
        pairs, first_at = np.unique(
            np.searchsorted(starts, at, side="right") - 1, return_index=True
        )
        earliest = int(np.argmin(order[starts[pairs]]))  # the pair listed first in the file
        first, second = order[starts[pairs[earliest]]], order[at[first_at[earliest]]]
        raise ValueError(
            f"{path} lines {rows.line[first]} and {rows.line[second]}: SNP "
            f"{held.print_snps[rows.snp[first]]} and gene {held.gene(int(rows.gene[first]))} "
            "are listed twice with different alleles or statistics; keep one row per SNP "
            "and gene"
        )
    once = np.zeros(len(order), dtype=bool)
    once[order[new]] = True
    if not once.all():
        example = int(np.argmin(once))
        log.warning(
            "%s: %d row(s) at print SNPs repeat a SNP and gene listed before with the same "
            "values (e.g. SNP %s, gene %s on line %d): each pair counted once",
            path,
            int((~once).sum()),
            held.print_snps[rows.snp[example]],
            held.gene(int(rows.gene[example])),
            rows.line[example],
        )
    return once


def combined(
    rows: Rows, held: PrintSnpRows, path: Path
) -> tuple[Strings, Strings, Strings, npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """Per SNP (in the order first matched): its id, its first pair of two bases (b1, b2),
    Z = Σ_k z_k/√|G| over the rows that match that pair (:func:`_oriented`; `rows`' z are
    negated in place where swapped) and the mean N of those rows. A strand-ambiguous SNP
    listed both ways in a table with rows on the other strand stops
    (:func:`_require_one_strand`)."""
    alt, ref = held.pair_codes()
    d1, d2 = alt[rows.pair], ref[rows.pair]
    bases = np.flatnonzero(_two_bases(d1, d2))
    snps, first = np.unique(rows.snp[bases], return_index=True)
    first_row = np.full(len(held.print_snps), -1, dtype=np.int64)
    first_row[snps] = bases[first]
    del bases, snps, first
    head = first_row[rows.snp]  # the row of the SNP's first pair of two bases (-1: none)
    b1 = np.where(head >= 0, d1[head], OTHER).astype(np.uint8)
    b2 = np.where(head >= 0, d2[head], OTHER).astype(np.uint8)
    match, flip, strand = _oriented(b1, b2, d1, d2)
    _require_one_strand(rows, held, path, (b1, b2, d1, d2), flip, strand, head)
    log.info(
        "%s: %d of %d gene-SNP rows at print SNPs match their SNP's first alleles",
        path,
        int(match.sum()),
        int((head >= 0).sum()),  # rows at SNPs with a pair of two bases
    )
    np.negative(rows.z, out=rows.z, where=flip)
    summed = (
        pl.DataFrame({"snp": rows.snp[match], "z": rows.z[match], "n": rows.n[match]})
        .group_by("snp", maintain_order=True)
        .agg(pl.col("z").sum(), pl.len().alias("genes"), pl.col("n").mean())
    )
    snp = summed["snp"].to_numpy()
    heads = first_row[snp]
    return (
        _narrowest(held.print_snps[snp]),
        ALLELES[d1[heads]],
        ALLELES[d2[heads]],
        summed["z"].to_numpy() / np.sqrt(summed["genes"].to_numpy()),
        summed["n"].to_numpy(),
    )


def _narrowest(strings: npt.NDArray[np.str_]) -> npt.NDArray[np.str_]:
    """`strings` as numpy strings as wide as the longest (as polars' strings convert)."""
    return strings.astype(f"<U{max(int(np.strings.str_len(strings).max(initial=0)), 1)}")


def _two_bases(a1: npt.NDArray[np.uint8], a2: npt.NDArray[np.uint8]) -> npt.NDArray[np.bool_]:
    """Whether allele codes `a1`, `a2` are two different bases."""
    return (a1 != OTHER) & (a2 != OTHER) & (a1 != a2)


def _valid(a1: npt.NDArray[np.uint8], a2: npt.NDArray[np.uint8]) -> npt.NDArray[np.bool_]:
    """Whether allele codes `a1`, `a2` are a valid pair (two bases, not complements)."""
    return _two_bases(a1, a2) & (COMPLEMENT_CODE[a1] != a2)


def _oriented(
    b1: npt.NDArray[np.uint8],
    b2: npt.NDArray[np.uint8],
    d1: npt.NDArray[np.uint8],
    d2: npt.NDArray[np.uint8],
) -> tuple[npt.NDArray[np.bool_], npt.NDArray[np.bool_], npt.NDArray[np.bool_]]:
    """Whether each row's alleles `d1 d2` match its SNP's first pair `b1 b2` (allele codes;
    b OTHER: none), are swapped and are on the other strand, as
    :func:`~crossreg.stats.sldp.reconcile.with_match` has it, extended to strand-ambiguous
    pairs: those match the same pair, or the swapped pair (negated); their strand
    complement is the swapped pair itself."""
    c1, c2 = COMPLEMENT_CODE[b1], COMPLEMENT_CODE[b2]
    same, swap = (d1 == b1) & (d2 == b2), (d1 == b2) & (d2 == b1)
    strand, swap_strand = (d1 == c1) & (d2 == c2), (d1 == c2) & (d2 == c1)
    match = _valid(b1, b2) & _valid(d1, d2) & (same | strand | swap | swap_strand)
    ambiguous = _two_bases(b1, b2) & ~_valid(b1, b2)
    return (
        np.where(ambiguous, same | swap, match),
        np.where(ambiguous, swap, match & (swap | swap_strand)),
        match & (strand | swap_strand),
    )


def _require_one_strand(
    rows: Rows,
    held: PrintSnpRows,
    path: Path,
    codes: tuple[npt.NDArray[np.uint8], ...],
    flip: npt.NDArray[np.bool_],
    strand: npt.NDArray[np.bool_],
    head: npt.NDArray[np.int64],
) -> None:
    """Stop when an eQTL table lists a strand-ambiguous SNP with its pair swapped (A/T
    and T/A) and also lists some SNP on the other strand (a row matching its SNP's first
    pair only by complement): the swapped row is then as likely the other strand of the
    same effect allele as the other allele, and the two readings sum the SNP's z or
    subtract it. A table on one strand reads the swap as a swap. (`codes`: each row's
    first pair and its own, b1 b2 d1 d2; `head`: the row of its first pair.)"""
    b1, b2, _, _ = codes
    swapped = np.flatnonzero(_two_bases(b1, b2) & ~_valid(b1, b2) & flip)
    complemented = np.flatnonzero(strand)
    if not len(swapped) or not len(complemented):
        return
    amb, other = int(swapped[0]), int(complemented[0])
    b1, b2, d1, d2 = (ALLELES[c[[amb, other]]] for c in codes)
    snp = held.print_snps[rows.snp[[amb, other]]]
    first_line = rows.line[head[[amb, other]]]
    raise ValueError(
        f"{path} lines {first_line[0]} and {rows.line[amb]}: the strand-ambiguous SNP "
        f"{snp[0]} is listed as {b1[0]}/{b2[0]} and as {d1[0]}/{d2[0]}, "
        "its swapped pair or the same alleles on the other strand, which cannot be told "
        f"apart in a table that lists SNPs on both strands (line {rows.line[other]}: "
        f"{snp[1]} as {d1[1]}/{d2[1]} against {b1[1]}/{b2[1]} on "
        f"line {first_line[1]}); give every row of a strand-ambiguous SNP for one "
        "effect allele on one strand, or leave the SNP out (the regression drops "
        "strand-ambiguous SNPs; they count only in h2g)"
    )
