"""PLINK 1 reference panels: ``.bim``, ``.fam``, ``.frq`` and SNP-major ``.bed`` genotypes,
standardised as the reference (gprim → pysnptools → bed-reader) standardises them.

Genotypes are counted on bim A2, as the reference reads them (``count_A1=False``). The
direction does not matter: counting A1 instead turns every standardised column x into
−x, and R = XᵀX/N and Rv = X_oᵀ(X_B v)/N are products of two such columns, so each
entry is unchanged (v is oriented to bim A1 either way and is not flipped).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from crossreg.io.plink import BED_MAGIC, BYTE_TABLE
from crossreg.io.text import numbered_lines
from crossreg.stats.sldp.tables import numbers, read_text_table, require_columns


@dataclass(frozen=True)
class Bim:
    """A ``.bim``'s columns, in file order."""

    path: Path
    chrom: npt.NDArray[np.str_]
    snp: npt.NDArray[np.str_]
    bp: npt.NDArray[np.int64]
    a1: npt.NDArray[np.str_]
    a2: npt.NDArray[np.str_]

    def __len__(self) -> int:
        return len(self.snp)


def read_bim(path: str | os.PathLike[str]) -> Bim:
    """Read a ``.bim`` (tab- or whitespace-separated); it must be sorted by BP within each
    chromosome (the LD blocks are found by binary search on BP)."""
    path = Path(path)
    table = read_text_table(path, header=False)
    if table.width != 6:
        raise ValueError(f"{path}: a .bim has 6 columns (CHR SNP CM BP A1 A2), not {table.width}")
    table.columns = ["CHR", "SNP", "CM", "BP", "A1", "A2"]
    bp = numbers(table, "BP", path, header=False, dtype=np.int64)
    chrom = table["CHR"].to_numpy().astype(str)
    unsorted = np.nonzero((np.diff(bp) < 0) & (chrom[1:] == chrom[:-1]))[0]
    if len(unsorted):
        i = int(unsorted[0]) + 1
        raise ValueError(
            f"{path} line {i + 1}: BP {bp[i]} comes after {bp[i - 1]}; the .bim must be sorted "
            "by position within a chromosome"
        )
    return Bim(
        path,
        chrom,
        table["SNP"].to_numpy().astype(str),
        bp,
        table["A1"].to_numpy().astype(str),
        table["A2"].to_numpy().astype(str),
    )


def read_fam_count(path: str | os.PathLike[str]) -> int:
    """The number of samples (non-blank lines) in a ``.fam``, plain or gzipped."""
    return sum(1 for _, line in numbered_lines(path) if line.strip())


def frq_rows(snp: npt.NDArray[np.str_], bim: Bim, path: Path) -> npt.NDArray[np.int64]:
    """The row of the ``.frq`` at `path` (SNP ids `snp`) for each bim SNP. ``plink --freq``
    writes one row per bim SNP in its order, so rows whose ids agree with the bim's row by
    row are taken by position (ids such as ``.`` may repeat); otherwise by id, which must
    then name one row."""
    if not len(snp):
        raise ValueError(
            f"{path}: a header but no rows; it needs a row for every SNP of {bim.path}"
        )
    if np.array_equal(snp, bim.snp):
        return np.arange(len(snp))
    ids, counts = np.unique(snp, return_counts=True)
    repeated = ids[(counts > 1) & np.isin(ids, bim.snp)]
    if len(repeated):
        raise ValueError(
            f"{path}: SNP {repeated[0]} is on several rows and the rows are not in the order "
            f"of {bim.path}, so its frequency is ambiguous; make the .frq with plink --freq "
            "on the same panel"
        )
    order = np.argsort(snp, kind="stable")
    where = np.minimum(np.searchsorted(snp[order], bim.snp), len(snp) - 1)
    found = snp[order][where] == bim.snp
    if not found.all():
        first = int(np.nonzero(~found)[0][0])
        raise ValueError(
            f"{path}: no frequency for SNP {bim.snp[first]} ({bim.path} line {first + 1}); "
            "make the .frq with plink --freq on the same panel"
        )
    return order[where]


def read_frq(path: str | os.PathLike[str], bim: Bim) -> npt.NDArray[np.float64]:
    """MAF of every bim SNP from a ``plink --freq`` ``.frq`` (columns SNP and MAF are used;
    rows matched by :func:`frq_rows`)."""
    path = Path(path)
    if not path.exists():
        raise ValueError(f"{path}: missing .frq (plink --freq output) for panel {bim.path}")
    table = read_text_table(path, header=True)
    require_columns(table, ["SNP", "MAF"], path)
    maf = numbers(table, "MAF", path, header=True, na=True)
    return maf[frq_rows(table["SNP"].to_numpy().astype(str), bim, path)]


def read_bed(
    path: str | os.PathLike[str], n_samples: int, n_snps: int, start: int, stop: int
) -> npt.NDArray[np.float64]:
    """A2 counts (NaN = missing) of SNPs ``start:stop`` as a (samples × SNPs) matrix."""
    path = Path(path)
    per_snp = (n_samples + 3) // 4
    with open(path, "rb") as handle:
        if handle.read(3) != BED_MAGIC:
            raise ValueError(f"{path}: not a SNP-major PLINK 1 .bed (magic bytes 6c 1b 01)")
    expected = 3 + per_snp * n_snps
    if path.stat().st_size != expected:
        raise ValueError(
            f"{path}: {path.stat().st_size} bytes, but {n_snps} SNPs × {n_samples} samples "
            f"need {expected}"
        )
    raw = np.fromfile(
        path, dtype=np.uint8, count=(stop - start) * per_snp, offset=3 + start * per_snp
    )
    counts = BYTE_TABLE[raw.reshape(stop - start, per_snp)].reshape(stop - start, per_snp * 4)
    return np.ascontiguousarray(counts[:, :n_samples].T)


def unit_standardize(x: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """bed-reader's Unit standardisation of each column: mean and SD over the observed
    calls (SD = √(E[x²] − E[x]²), population), then (x − mean)·(1/SD); missing calls
    become 0. A column with SD 0 (monomorphic) becomes all 0. bed-reader stops on a SNP
    with no observed call; here it becomes 0 like a monomorphic one."""
    observed = ~np.isnan(x)
    n = observed.sum(axis=0).astype(np.float64)
    filled = np.where(observed, x, 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = filled.sum(axis=0) / n
        variance = (filled * filled).sum(axis=0) / n - mean * mean
        std = np.sqrt(variance)
        constant = ~(std > 0)
        factor = 1.0 / np.where(constant, 1.0, std)
    out = (filled - mean) * factor
    out[~observed] = 0.0
    out[:, constant] = 0.0
    return out


def standardized_genotypes(
    path: str | os.PathLike[str], n_samples: int, n_snps: int, start: int, stop: int
) -> npt.NDArray[np.float64]:
    """Standardised genotypes of SNPs ``start:stop``, as gprim makes them: Unit
    standardisation applied twice (the second pass rescales columns with missing calls,
    whose imputed zeros lowered their SD, to SD 1 over all samples)."""
    return unit_standardize(unit_standardize(read_bed(path, n_samples, n_snps, start, stop)))
