"""Signed annotations v (``preprocessannot``): read from ``.sannot.gz`` files (or from
``crossreg sad`` scores, :mod:`crossreg.stats.sldp.sad_annotations`), aligned to the
panel's bim A1, rescaled by `alpha`, summarised (the ``.info`` numbers) and turned into
signed LD profiles Rv per LD block."""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import numpy.typing as npt
import polars as pl

from crossreg import _native
from crossreg.io.chroms import bare_chrom
from crossreg.progress import Progress
from crossreg.stats.sldp.panel import ChromPanel
from crossreg.stats.sldp.reconcile import Alignment, reconcile
from crossreg.stats.sldp.tables import numbers, read_text_table

META_COLUMNS = ("SNP", "CHR", "CM", "BP", "A1", "A2")
INFO_FIELDS = ("M", "M_5_50", "sqnorm", "sqnorm_5_50", "supp", "supp_5_50")
ROWS_PER_PASS = 1 << 16  # bim rows per group when summarising the annotations
CHECK_BYTES = 1 << 28  # float64 values at a time when looking for a v that is not finite
FOREIGN_ID_ROWS = 100  # rows on a chromosome naming no panel SNP: ids spelled another way


@dataclass(frozen=True)
class AnnotationTable:
    """Annotation values for some SNPs: rows × names, with ids and alleles (``snp`` None:
    a thin annotation, one row per bim SNP in bim order)."""

    source: str
    names: list[str]
    values: npt.NDArray[np.floating]
    snp: npt.NDArray[np.str_] | None = None
    a1: npt.NDArray[np.str_] | None = None
    a2: npt.NDArray[np.str_] | None = None

    def align(self, panel: ChromPanel) -> Alignment:
        """Rows of this table for the panel's SNPs, oriented to bim A1."""
        if self.snp is None:
            if len(self.values) != len(panel.bim):
                raise ValueError(
                    f"{self.source}: a thin annotation (no SNP column) needs one row per SNP "
                    f"of {panel.bim.path} ({len(panel.bim)}), not {len(self.values)}"
                )
            n = len(self.values)
            return Alignment(np.arange(n), np.ones(n), {"matched": n})
        bim = panel.bim
        assert self.a1 is not None and self.a2 is not None
        alignment = reconcile(bim.snp, bim.a1, bim.a2, self.snp, self.a1, self.a2)
        require_panel_ids(
            self.source,
            self.snp,
            alignment.counts["missing"] < len(bim),  # some panel SNP has a row
            panel,
            "give the file the panel's SNP ids (its .bim's second column)",
        )
        return alignment


def require_panel_ids(
    source: str,
    ids: npt.NDArray[np.str_],
    any_known: bool,
    panel: ChromPanel,
    remedy: str,
) -> None:
    """Stop, before the chromosome's LD work, when no row of `source` on the panel's
    chromosome (`ids`; `any_known`: whether one is a panel SNP id) names a SNP of the panel
    and its ids are of another kind: `FOREIGN_ID_ROWS` or more of them, or ids none of
    which is written like a panel id (:func:`id_forms`: ``chr1:12345:A>G`` against
    ``rs123``). A few rows written like panel ids that miss it (a sparse annotation) pass
    here; a file that matches nothing on any chromosome stops after the pass."""
    if any_known or not len(ids):
        return
    forms = id_forms(ids)
    panel_forms = id_forms(panel.bim.snp)
    if len(ids) < FOREIGN_ID_ROWS and forms & panel_forms:
        return
    unlike = "" if forms & panel_forms else ", and none is written like a panel id"
    raise ValueError(
        f"{source}: none of its {len(ids)} SNP ids on {panel.label} is a SNP of the panel "
        f"{panel.bim.path} (e.g. '{ids[0]}' against the panel's '{panel.bim.snp[0]}'){unlike}; "
        f"{remedy}"
    )


def id_forms(ids: npt.NDArray[np.str_]) -> set[str]:
    """How SNP ids are written: each id with its runs of digits as ``0`` (``rs0``,
    ``chr0:0:C>A``, ``0_0``)."""
    return set(pl.Series(ids, dtype=pl.String).str.replace_all(r"\d+", "0").unique())


def sannot_path(stem: str, chrom: str) -> Path:
    """``{stem}{chrom}.sannot.gz`` for the panel chromosome `chrom`; when that is missing,
    the file that spells the chromosome the other way (``7`` for ``chr7``, ``chr7`` for
    ``7``) if there is one."""
    bare = bare_chrom(chrom)
    spellings = [chrom, bare if chrom != bare else f"chr{bare}"]
    paths = [Path(f"{stem}{c}.sannot.gz") for c in spellings]
    return next((path for path in paths if path.exists()), paths[0])


def read_sannot(path: str | os.PathLike[str]) -> AnnotationTable:
    """A ``.sannot.gz`` (tab-separated; SNP, A1, A2, optional CHR/BP/CM, then one column
    per annotation). Names are taken literally: ``NA`` and ``null`` are names."""
    path = Path(path)
    if not path.exists():
        raise ValueError(f"{path}: no such annotation file")
    table = read_text_table(path, header=True, whitespace=False)
    names = [c for c in table.columns if c not in META_COLUMNS]
    if not names:
        raise ValueError(f"{path}: no annotation columns besides {', '.join(META_COLUMNS)}")
    values = np.column_stack([numbers(table, n, path, header=True, na=True) for n in names])
    bad = np.argwhere(~np.isfinite(values))
    if len(bad):
        raise ValueError(
            f"{path} line {bad[0][0] + 2}: annotation {names[bad[0][1]]} is not a finite number"
        )
    if "SNP" not in table.columns:
        return AnnotationTable(str(path), names, values)
    for column in ("A1", "A2"):
        if column not in table.columns:
            raise ValueError(f"{path}: has a SNP column but no {column} column")
    return AnnotationTable(
        str(path),
        names,
        values,
        table["SNP"].to_numpy().astype(str),
        table["A1"].to_numpy().astype(str),
        table["A2"].to_numpy().astype(str),
    )


@dataclass
class ChromAnnotations:
    """Annotations (background first, then marginal) aligned to one chromosome's panel:
    v = sign · value · (2p(1−p))^((α+1)/2), 0 where a SNP is unmatched or its 2p(1−p) is 0
    (:func:`alpha_scale`), with each table's own α: `alphas` holds, per table, α and the
    option that set it (None: α = −1 for every table)."""

    panel: ChromPanel
    tables: list[AnnotationTable]
    alignments: list[Alignment]
    alphas: Sequence[tuple[float, str]] | None = None
    scales: dict[float, npt.NDArray[np.float64]] = field(init=False)

    def __post_init__(self) -> None:
        if self.alphas is None:
            self.alphas = [(-1.0, "")] * len(self.tables)
        self.scales = {a: alpha_scale(self.panel.maf, a) for a, _ in self.alphas if a != -1}

    def values(self, start: int, stop: int) -> npt.NDArray[np.float64]:
        """v for bim rows ``start:stop``: rows × annotations, background first. A value
        that is not a finite number stops, naming the SNP and the annotation."""
        rows = slice(start, stop)
        assert self.alphas is not None
        parts = []
        for table, alignment, (alpha, _) in zip(
            self.tables, self.alignments, self.alphas, strict=True
        ):
            part = alignment.apply(table.values, 0.0, rows)
            if alpha != -1:
                with np.errstate(invalid="ignore"):  # 0 · inf: stopped just below
                    part *= self.scales[alpha][rows, None]
            parts.append(part)
        v = parts[0] if len(parts) == 1 else np.concatenate(parts, axis=1)
        self._require_finite(v, start)
        return v

    def _require_finite(self, v: npt.NDArray[np.float64], start: int) -> None:
        """Stop at the first entry of `v` (bim rows from `start`) that is inf or NaN."""
        bad = np.argwhere(~np.isfinite(v))
        if not len(bad):
            return
        row, column = int(bad[0][0]), int(bad[0][1])
        assert self.alphas is not None
        names = [
            (t.source, n, alpha, option)
            for t, (alpha, option) in zip(self.tables, self.alphas, strict=True)
            for n in t.names
        ]
        source, name, alpha, option = names[column]
        snp = self.panel.bim.snp[start + row]
        maf = self.panel.maf[start + row]
        raise ValueError(
            f"{source}: annotation {name} at SNP {snp} of {self.panel.bim.path} is "
            f"{v[row, column]} after scaling by (2p(1-p))^((alpha+1)/2) with {option} "
            f"{alpha:g} (MAF {maf}); check that SNP's value and its MAF in the .frq"
        )

    def info(self, meter: Progress | None = None) -> dict[str, npt.NDArray[np.float64]]:
        """The reference's ``.info`` numbers per annotation (MAF ≥ 0.05 for ``_5_50``),
        counting bim rows done on `meter`. Summed over groups of :data:`ROWS_PER_PASS`
        rows (:meth:`_group_sums`), the same bits as numpy's sums of each group's v."""
        common = self.panel.maf >= 0.05
        n = sum(len(t.names) for t in self.tables)
        stored = [np.ascontiguousarray(t.values) for t in self.tables]
        sq, sq_common = np.zeros(n), np.zeros(n)
        supp, supp_common = np.zeros(n, dtype=np.uint64), np.zeros(n, dtype=np.uint64)
        for start in range(0, len(self.panel.bim), ROWS_PER_PASS):
            rows = slice(start, min(start + ROWS_PER_PASS, len(self.panel.bim)))
            part_sq, part_sq_common, part_supp, part_supp_common = self._group_sums(
                rows, common[rows], stored
            )
            if not np.isfinite(part_sq).all():
                self._require_finite_rows(rows)  # else a finite v whose square overflows
            sq += part_sq
            sq_common += part_sq_common
            supp += part_supp
            supp_common += part_supp_common
            if meter is not None:
                meter.update(rows.stop - rows.start)
        return {
            "M": np.full(n, float(len(self.panel.bim))),
            "M_5_50": np.full(n, float(common.sum())),
            "sqnorm": np.sqrt(sq) ** 2,
            "sqnorm_5_50": np.sqrt(sq_common) ** 2,
            "supp": supp.astype(np.float64),
            "supp_5_50": supp_common.astype(np.float64),
        }

    def _group_sums(
        self,
        rows: slice,
        keep: npt.NDArray[np.bool_],
        stored: Sequence[npt.NDArray[np.floating]],
    ) -> tuple[
        npt.NDArray[np.float64],
        npt.NDArray[np.float64],
        npt.NDArray[np.uint64],
        npt.NDArray[np.uint64],
    ]:
        """Per annotation over bim `rows`: Σv², Σv² where `keep`, #(v ≠ 0) and #(v ≠ 0)
        where `keep`; `stored` holds each table's values, C-contiguous. Taken by the native
        core from each stored table (float16, float32 or float64) in one pass, without a
        float64 copy of v; each sum has the bits of numpy's ``(v * v).sum(axis=0)`` (row by
        row, or pairwise for a lone annotation). A v that is not finite makes its Σv² not
        finite."""
        assert self.alphas is not None
        pairwise = sum(len(t.names) for t in self.tables) == 1  # numpy's sum of 1 column
        parts = []
        for values, alignment, (alpha, _) in zip(stored, self.alignments, self.alphas, strict=True):
            row = alignment.row[rows]
            factor = np.where(row >= 0, alignment.sign[rows], 1.0)  # x · sign · scale
            if alpha != -1:
                factor *= self.scales[alpha][rows]
            parts.append(_native.sldp_info_sums(values, row, factor, keep, pairwise))
        sq, sq_keep, supp, supp_keep = (np.concatenate(p) for p in zip(*parts, strict=True))
        return sq, sq_keep, supp, supp_keep

    def _require_finite_rows(self, rows: slice) -> None:
        """Stop at the first v of bim `rows` that is inf or NaN (:meth:`values` names it),
        about :data:`CHECK_BYTES` of float64 at a time."""
        step = max(1, CHECK_BYTES // (8 * max(1, sum(len(t.names) for t in self.tables))))
        for start in range(rows.start, rows.stop, step):
            self.values(start, min(start + step, rows.stop))


def alpha_scale(maf: npt.NDArray[np.float64], alpha: float) -> npt.NDArray[np.float64]:
    """(2p(1−p))^((α+1)/2) per SNP, all 1 for α = −1. A SNP whose 2p(1−p) is 0 (MAF 0, or
    NA: no observed genotype, scaled as a monomorphic one) is scaled by 0, as
    ``build_backgrounds`` leaves it, so that no α below −1 makes it infinite."""
    if alpha == -1:
        return np.ones(len(maf))
    het = 2 * np.nan_to_num(maf, nan=0.0) * (1 - np.nan_to_num(maf, nan=0.0))
    polymorphic = het > 0
    scale = np.zeros(len(maf))
    with np.errstate(over="ignore"):  # an overflow stops in ChromAnnotations.values
        scale[polymorphic] = np.power(het[polymorphic], (1.0 + alpha) / 2)
    return scale


def signed_ld_profiles(
    x: npt.NDArray[np.float64], printed: npt.NDArray[np.bool_], v: npt.NDArray[np.float64]
) -> npt.NDArray[np.float64]:
    """(Rv)_o = X_oᵀ(X_B v_B)/N for all annotations at once: print SNPs × annotations,
    multiplied in the order with fewer operations: X_oᵀ(X v) costs N·A·(B + o) and
    (X_oᵀX) v costs o·B·(N + A) (N samples, B block SNPs, o print SNPs, A annotations), so
    the second wins with many annotations and fewer print SNPs than samples."""
    x_o = x[:, printed]
    (n, snps), prints, count = x.shape, x_o.shape[1], v.shape[1]
    if prints * snps * (n + count) < n * count * (snps + prints):
        return x_o.T.dot(x).dot(v) / n
    return x_o.T.dot(x.dot(v)) / n
