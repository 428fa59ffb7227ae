"""How ``crossreg transfer`` compares a head's predictions with a genome's measured tracks
at the sites (:mod:`crossreg.evaluate.transfer_sites`), and its summary per assay.

Pairs and matrices. Tracks are compared within an *experiment*, the description without
its cell type (``CAGE``, ``CHIP:H3K27ac``; DNASE and ATAC together as ``DNASE``); the cell
type is the rest of the description (``CAGE:liver`` → ``liver``). A head track and a
measured track of the same experiment and cell type are a matched pair, or, given a pairs
file (:func:`~crossreg.evaluate.transfer_tracks.read_pairs`), the pairs it names. Per
pair, Pearson R across sites of ``log(1 + x)`` ("raw"). After mean-normalising,
``log(1 + x)`` at each site minus its mean over that side's tracks of the experiment (the
head's over the head's tracks, the measured over the genome's), which leaves each site's
cell-type specificity (Kelley 2020), the R of every head track × every measured track of
the experiment: the matrix, whose matched cells are its diagonal and the rest its
off-diagonal.

Quantile normalisation (``normalize="quantile"``) comes between the log and the
mean-normalising, as in Basenji's gene-level specificity code: on each side, each track's
``log(1 + x)`` across the sites is replaced by the reference distribution (the mean over
the side's tracks of the experiment of their sorted values) at its rank, tied values by
the mean of the reference over their ranks. The tracks of a side then share one
distribution, so a track of wider spread no longer weighs more in each site's mean.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt
import polars as pl

from crossreg.evaluate.columns import sorted_column, tie_mean
from crossreg.evaluate.defaults import NORMALIZATIONS
from crossreg.evaluate.transfer_sites import SITE_KINDS, TSS_SITES
from crossreg.evaluate.transfer_tracks import (
    EQUAL_CELL_TYPES,
    MATRIX_SCHEMA,
    PAIR_SCHEMA,
    Pairing,
    assay_of_experiment,
    cell_type_of,
    experiment_of,
    gap_notes,
    normalised_r_gap,
    shared_experiments,
)

#: Each normalisation in words.
NORMALISED_AS = {"mean": "mean-normalised", "quantile": "quantile- and mean-normalised"}


def _logged(values: npt.NDArray, columns: Sequence[int]) -> npt.NDArray[np.float64]:
    """``log(1 + x)`` of the `columns` of `values` (negative values as 0), in one new
    array: at a genome's variable DNase bins, ``(sites, tracks)`` is gigabytes."""
    out = np.asarray(values)[:, list(columns)].astype(np.float64, copy=False)
    np.maximum(out, 0.0, out=out)
    return np.log1p(out, out=out)


def quantile_normalise(a: npt.NDArray[np.float64]) -> None:
    """Quantile-normalise the columns of `a` in place, as ``crossreg evaluate
    --specificity`` does: each value becomes the reference (the mean over columns of the
    sorted columns) at its rank in its column, tied values the mean of the reference over
    their ranks. One column at a time: memory beyond `a` is a few columns."""
    if a.shape[0] == 0:
        return
    reference = np.zeros(a.shape[0])
    for column in a.T:
        reference += sorted_column(column)
    reference /= a.shape[1]
    for column in a.T:
        column[:] = tie_mean(column, reference)


def _standardise(a: npt.NDArray[np.float64]) -> None:
    """Centre `a`'s columns and scale them to norm 1, in place; NaN for a constant column."""
    a -= a.mean(axis=0)
    norm = np.sqrt(np.einsum("ij,ij->j", a, a))
    largest = np.maximum(a.max(axis=0), -a.min(axis=0))
    a /= np.where(norm > 1e-12 * np.maximum(1.0, largest), norm, np.nan)


def _correlations(x: npt.NDArray[np.float64], y: npt.NDArray[np.float64]) -> npt.NDArray:
    """:func:`pearson_matrix` of two float64 arrays that are the caller's to overwrite."""
    if x.shape[0] < 3:
        return np.full((x.shape[1], y.shape[1]), np.nan)
    _standardise(x)
    _standardise(y)
    return np.clip(x.T @ y, -1.0, 1.0)


def pearson_matrix(x: npt.NDArray, y: npt.NDArray) -> npt.NDArray[np.float64]:
    """``(x columns, y columns)`` Pearson R across rows (NaN for a constant column or
    fewer than 3 rows)."""
    return _correlations(np.array(x, dtype=np.float64), np.array(y, dtype=np.float64))


@dataclass
class TransferTables:
    """Per matched pair (`pairs`) and per head track × measured track (`matrix`, long);
    `notes` says, per experiment that lacks them, why its matched or unmatched normalised
    R could not be computed (:func:`normalised_r_gap`)."""

    pairs: pl.DataFrame
    matrix: pl.DataFrame
    sites: int = 0
    kind: str = TSS_SITES
    notes: dict[str, str] = field(default_factory=dict)


def transfer_tables(
    measured: npt.NDArray,
    predicted: npt.NDArray,
    measured_ids: Sequence[str],
    measured_descriptions: Sequence[str],
    head_ids: Sequence[str],
    head_descriptions: Sequence[str],
    *,
    kind: str = TSS_SITES,
    pairing: Pairing = EQUAL_CELL_TYPES,
    normalize: str = "mean",
) -> TransferTables:
    """Compare `predicted` ``(sites, head tracks)`` with `measured` ``(sites, measured
    tracks)`` in every experiment both have: raw and mean-normalised R per matched pair
    (same experiment and, by `pairing`, cell type or a pair of the pairs file), and the
    normalised-R matrix of every head track × every measured track of the experiment. Each
    side is mean-normalised over its own tracks of the experiment, with `normalize`
    ``quantile`` after quantile-normalising them (:func:`quantile_normalise`)."""
    if normalize not in NORMALIZATIONS:
        raise ValueError(f"normalize '{normalize}': give one of {', '.join(NORMALIZATIONS)}")
    m_exp = [experiment_of(d) for d in measured_descriptions]
    h_exp = [experiment_of(d) for d in head_descriptions]
    n = measured.shape[0]
    pairs: list[dict] = []
    matrix: list[dict] = []
    notes: dict[str, str] = {}
    for experiment in shared_experiments(measured_descriptions, head_descriptions):
        mc = [i for i, e in enumerate(m_exp) if e == experiment]
        hc = [j for j, e in enumerate(h_exp) if e == experiment]
        # one experiment's columns at a time, normalised in place: memory of a few
        # experiment-sized arrays, not of several copies of every track
        m_log, h_log = _logged(measured, mc), _logged(predicted, hc)
        h_cells = [cell_type_of(head_descriptions[j]) for j in hc]
        m_cells = [cell_type_of(measured_descriptions[i]) for i in mc]
        same = pairing.matched(
            [head_ids[j] for j in hc], h_cells, [measured_ids[i] for i in mc], m_cells
        )
        raw = {
            (a, b): pearson_matrix(h_log[:, [a]], m_log[:, [b]])[0, 0]
            for a, b in zip(*np.nonzero(same), strict=True)
        }
        for logged in (m_log, h_log):  # minus each site's mean over the side's tracks
            if normalize == "quantile":
                quantile_normalise(logged)
            logged -= logged.mean(axis=1, keepdims=True)
        normalised = _correlations(h_log, m_log)
        del m_log, h_log
        assay = assay_of_experiment(experiment)
        note = normalised_r_gap(experiment, n, h_cells, m_cells, normalised, same, pairing.rule)
        if note is not None:
            notes[experiment] = note
        for a, j in enumerate(hc):
            for b, i in enumerate(mc):
                matched = bool(same[a, b])
                common = {
                    "assay": assay,
                    "experiment": experiment,
                    "head_identifier": head_ids[j],
                    "head_description": head_descriptions[j],
                    "identifier": measured_ids[i],
                    "description": measured_descriptions[i],
                }
                matrix.append(
                    {**common, "matched": matched, "pearson_r_normalised": normalised[a, b], "n": n}
                )
                if matched:
                    pairs.append(
                        {
                            **common,
                            "cell_type": m_cells[b],
                            "site_kind": SITE_KINDS[kind],
                            "sites": n,
                            "pearson_r": raw[a, b],
                            "pearson_r_normalised": normalised[a, b],
                        }
                    )
    return TransferTables(
        pl.DataFrame(pairs, schema=PAIR_SCHEMA),
        pl.DataFrame(matrix, schema=MATRIX_SCHEMA),
        n,
        kind,
        notes,
    )


def _mean(values: pl.Series) -> float | None:
    """The mean of the finite values, rounded; ``None`` when there are none."""
    array = values.to_numpy().astype(np.float64)
    finite = array[np.isfinite(array)]
    return round(float(finite.mean()), 4) if finite.size else None


def assay_summary(tables: TransferTables) -> dict[str, dict]:
    """Per assay: ``{"pairs", "raw_pairs", "normalised_pairs", "tss" (or "sites"), "raw_r",
    "normalised_r_matched", "normalised_r_unmatched"}``, the means over its matched pairs
    (the raw one over the ``raw_pairs`` that have a raw R, the normalised one over the
    ``normalised_pairs`` that have a normalised R) and unmatched cells; where the raw mean
    leaves pairs out, ``"raw_r_note"`` names them, and where a normalised mean is ``None``
    or leaves pairs out, ``"normalised_r_note"`` says why."""
    out = {}
    for assay in sorted(set(tables.pairs["assay"])):
        pairs = tables.pairs.filter(pl.col("assay") == assay)
        cells = tables.matrix.filter(pl.col("assay") == assay)
        normalised = pairs["pearson_r_normalised"].to_numpy().astype(np.float64)
        with_normalised = int(np.isfinite(normalised).sum())
        raw = np.isfinite(pairs["pearson_r"].to_numpy().astype(np.float64))
        row: dict[str, float | str | None] = {
            "pairs": pairs.height,
            "raw_pairs": int(raw.sum()),
            "normalised_pairs": with_normalised,
            tables.kind: tables.sites,
            "raw_r": _mean(pairs["pearson_r"]),
            "normalised_r_matched": _mean(pairs["pearson_r_normalised"]),
            "normalised_r_unmatched": _mean(
                cells.filter(~pl.col("matched"))["pearson_r_normalised"]
            ),
        }
        if not raw.all():
            constant = pairs.filter(pl.Series(~raw)).select("experiment", "cell_type").rows()
            row["raw_r_note"] = (
                f"no raw R: {tables.sites} sites, and R needs 3"
                if tables.sites < 3
                else "no raw R where the measured or predicted values are the same at every "
                "site: " + ", ".join(f"{experiment}:{cell}" for experiment, cell in constant)
            )
        incomplete = with_normalised < pairs.height
        if incomplete or None in (row["normalised_r_matched"], row["normalised_r_unmatched"]):
            experiments = sorted(set(cells["experiment"]))
            row["normalised_r_note"] = "; ".join(
                gap_notes({e: tables.notes[e] for e in experiments if e in tables.notes})
            )
        out[assay] = row
    return out


def summary_line(row: dict, normalize: str = "mean") -> str:
    """An assay's summary row as text: raw R and the normalised means (`normalize`: how
    they were normalised, :data:`NORMALIZATIONS`), or why a normalised mean is missing."""

    def text(value: float | None) -> str:
        return "-" if value is None else f"{value:.3f}"

    def count(n: int, what: str) -> str:
        return f"{n} {what}{'' if n == 1 else 's'}"

    # a gene site sums the bins of all its TSSs: the count is of genes
    where = (
        f"{count(row['tss'], 'gene')} at their TSSs"
        if "tss" in row
        else count(row["sites"], "variable site")
    )
    pairs = count(row["pairs"], "pair")
    if row["raw_pairs"] != row["pairs"]:
        pairs += f", {row['raw_pairs']} with a raw R"
    if row["normalised_pairs"] != row["pairs"]:
        pairs += f", {row['normalised_pairs']} with a normalised R"
    line = (
        f"R {text(row['raw_r'])}, {NORMALISED_AS[normalize]} matched "
        f"{text(row['normalised_r_matched'])} "
        f"vs unmatched {text(row['normalised_r_unmatched'])} ({pairs}, {where})"
    )
    if "raw_r_note" in row:
        line += f"; {row['raw_r_note']}"
    if "normalised_r_note" in row:
        line += f"; normalised R not computable: {row['normalised_r_note']}"
    return line
