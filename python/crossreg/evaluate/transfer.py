"""Cross-species transfer (the paper's Figure 3): any head's predictions against the
measured tracks of a genome, on held-out windows only.

The step plans the transfer (:func:`~crossreg.evaluate.transfer_plan.plan_transfer`: its
sites and pairs, before the model loads), then predicts and compares (:func:`run_transfer`,
with :mod:`crossreg.evaluate.transfer_stats`) and writes the tables, heat maps and summary.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy.typing as npt
import polars as pl

from crossreg.evaluate.files import (
    SUMMARY_FILE,
    TRANSFER_FILES,
    heat_map_stem,
    recorded_heat_maps,
)
from crossreg.evaluate.finite import (
    check_finite_predictions,
    check_finite_targets,
    non_finite_columns,
)
from crossreg.evaluate.transfer_plan import TransferPlan, plan_transfer
from crossreg.evaluate.transfer_sites import (
    DEFAULT_SPLITS,
    VARIABLE_SITES,
    measured_at,
    predict_at,
)
from crossreg.evaluate.transfer_stats import TransferTables, assay_summary, transfer_tables
from crossreg.io.atomic import atomic_write
from crossreg.io.tables import tsv_text
from crossreg.plots import check_plot_options, remove_stale_figures
from crossreg.step_defaults import TRANSFER_BATCH_SIZE

if TYPE_CHECKING:
    from crossreg.model.inference import InferenceOptions

log = logging.getLogger("crossreg")


@dataclass
class TransferResult:
    """What :func:`write_transfer` found: `assays` is the summary per assay (the demo's
    ``summary["transfer"]["<head>_head_on_<genome>"]``), `summary` what ``summary.json``
    holds, `pairs` and `matrix` the tables, `figures` the heat maps written."""

    head: str
    genome: str
    splits: list[str]
    assays: dict[str, dict]
    summary: dict
    pairs: pl.DataFrame
    matrix: pl.DataFrame
    figures: list[Path] = field(default_factory=list)


def write_transfer(
    model_dir: str | os.PathLike[str],
    data_dir: str | os.PathLike[str],
    gtf: str | os.PathLike[str],
    out: str | os.PathLike[str],
    *,
    head: str | None = None,
    splits: Sequence[str] = DEFAULT_SPLITS,
    fraction: float | None = None,
    pairs: str | os.PathLike[str] | None = None,
    normalize: str = "mean",
    plots: bool = True,
    svg: bool = False,
    options: InferenceOptions | None = None,
) -> TransferResult:
    """The transfer step: predict with the model's head `head` (the only one when
    ``None``) at the held-out gene TSSs of `gtf` (and, for
    accessibility, the `fraction` most variable bins) of the store's `splits`, compare with
    the store's tracks, and write ``transfer.tsv`` (per matched pair: equal cell types, or
    the pairs of the pairs file `pairs`), ``matrix.tsv`` (per head track × measured
    track; each side mean-normalised across its tracks of the experiment, with `normalize`
    ``quantile`` quantile-normalised first), ``summary.json`` and, unless `plots` is
    false, the heat maps ``matrix_<experiment>.png`` (an SVG beside each with `svg`) into
    `out` (:func:`~crossreg.evaluate.transfer_plan.plan_transfer`, then
    :func:`run_transfer`)."""
    check_plot_options(plots, svg)
    plan = plan_transfer(
        model_dir,
        data_dir,
        gtf,
        head=head,
        splits=splits,
        fraction=fraction,
        pairs=pairs,
        normalize=normalize,
    )
    return run_transfer(plan, out, plots=plots, svg=svg, options=options)


def _non_finite_tracks(
    values: Sequence[npt.NDArray], columns: Sequence[Sequence[int]], identifiers: Sequence[str]
) -> list[str]:
    """The `identifiers` of the tracks with a NaN or infinite value in any of `values`
    (``(sites, tracks)`` arrays, whose columns are those tracks of `columns`), in order."""
    bad = {columns[k][c] for k, v in enumerate(values) for c in non_finite_columns(v)}
    return [identifiers[t] for t in sorted(bad)]


def run_transfer(
    plan: TransferPlan,
    out: str | os.PathLike[str],
    *,
    plots: bool = True,
    svg: bool = False,
    options: InferenceOptions | None = None,
) -> TransferResult:
    """Predict at the sites of `plan`, compare and write the outputs of
    :func:`write_transfer` into `out` (`options`: batches of ``TRANSFER_BATCH_SIZE`` on
    the default device unless given); the caller's CUDA settings are given back
    (:func:`~crossreg.model.inference.cuda_settings_kept`)."""
    from crossreg.model.inference import cuda_settings_kept

    with cuda_settings_kept():
        return _run_transfer(plan, out, plots=plots, svg=svg, options=options)


def _run_transfer(
    plan: TransferPlan,
    out: str | os.PathLike[str],
    *,
    plots: bool,
    svg: bool,
    options: InferenceOptions | None,
) -> TransferResult:
    """:func:`run_transfer` within its CUDA settings."""
    check_plot_options(plots, svg)
    from crossreg.model.inference import InferenceOptions

    options = options or InferenceOptions(batch_size=TRANSFER_BATCH_SIZE)
    measured, predicted, head = _values_at_sites(plan, options)
    results = _compare(plan, measured, predicted)
    pairs = pl.concat([r.pairs for r in results]).sort("assay", "experiment", "identifier")
    matrix = pl.concat([r.matrix for r in results])
    assays = {k: v for r in results for k, v in assay_summary(r).items()}
    summary = _summary(plan, head, assays)
    written = _write_outputs(Path(out), plan, head, pairs, matrix, summary, plots, svg)
    store, splits = plan.store, plan.splits
    return TransferResult(head, store.genome, splits, assays, summary, pairs, matrix, written)


def _values_at_sites(
    plan: TransferPlan, options: InferenceOptions
) -> tuple[list[npt.NDArray], list[npt.NDArray], str]:
    """The measured values and the head's predictions at each site group of `plan`, and
    the head's name; NaN or infinite values stop it, naming the store or the head."""
    from crossreg.model.geometry import check_geometry
    from crossreg.model.inference import load_head

    store = plan.store
    h_ids = [t.identifier for t in plan.head_targets]
    measured = [measured_at(store, g[1], g[2]) for g in plan.groups]
    check_finite_targets(
        _non_finite_tracks(measured, [g[2] for g in plan.groups], store.table.identifiers),
        store.path,
        "at the sites compared ",
    )
    model, _, head = load_head(plan.model_dir, plan.head, options)
    check_geometry(model, store, str(plan.model_dir))
    log.info("predicting with the '%s' head", head)
    predicted = predict_at(model, store, head, [(g[1], g[3]) for g in plan.groups], options)
    # one NaN track would make its experiment's mean-normalised values NaN at every site
    check_finite_predictions(
        _non_finite_tracks(predicted, [g[3] for g in plan.groups], h_ids),
        plan.model_dir,
        head,
        store.path,
    )
    return measured, predicted, head


def _compare(
    plan: TransferPlan, measured: list[npt.NDArray], predicted: list[npt.NDArray]
) -> list[TransferTables]:
    """The transfer tables (:func:`~crossreg.evaluate.transfer_stats.transfer_tables`) of
    each site group of `plan`, from its `measured` values and `predicted` ones."""
    m_desc, m_ids = plan.store.table.descriptions, plan.store.table.identifiers
    h_desc = [t.description for t in plan.head_targets]
    h_ids = [t.identifier for t in plan.head_targets]
    return [
        transfer_tables(
            values,
            pred,
            [m_ids[i] for i in m_cols],
            [m_desc[i] for i in m_cols],
            [h_ids[j] for j in h_cols],
            [h_desc[j] for j in h_cols],
            kind=kind,
            pairing=plan.pairing,
            normalize=plan.normalize,
        )
        for (kind, _, m_cols, h_cols), values, pred in zip(
            plan.groups, measured, predicted, strict=True
        )
    ]


def _summary(plan: TransferPlan, head: str, assays: dict[str, dict]) -> dict[str, Any]:
    """What ``summary.json`` holds, but for the figures drawn: the head, the store's
    genome, the splits, which sites each assay used, the pairing, the normalisation and
    the per-assay summary `assays`."""
    site_kinds = {
        assay: (
            f"the {100 * plan.fraction:g}% most variable accessibility bins across the "
            "genome's cell types (variance of log(1 + x)) of the held-out windows, as the "
            "paper did"
            if row.get(VARIABLE_SITES) is not None
            else "gene TSSs of the held-out windows (each gene's TSS bins summed)"
        )
        for assay, row in assays.items()
    }
    return {
        "head": head,
        "store_genome": plan.store.genome,
        "splits": plan.splits,
        "sites": site_kinds,
        "pairing": plan.pairing.rule,
        "pairs_file": plan.pairing.path,
        "pairing_notes": plan.pairing_notes,
        "normalize": plan.normalize,
        "assays": assays,
    }


def _write_outputs(
    out: Path,
    plan: TransferPlan,
    head: str,
    pairs: pl.DataFrame,
    matrix: pl.DataFrame,
    summary: dict[str, Any],
    plots: bool,
    svg: bool,
) -> list[Path]:
    """Write ``transfer.tsv``, ``matrix.tsv``, the heat maps (with `plots`) and, last,
    ``summary.json`` with the figures drawn, into `out`; returns the figures. The heat maps
    this run does not draw are removed where they bear the name of one of its experiments'
    or one the earlier ``summary.json`` lists: an earlier run's, not a user's."""
    out.mkdir(parents=True, exist_ok=True)
    recorded = recorded_heat_maps(out)
    (out / SUMMARY_FILE).unlink(missing_ok=True)  # written last: no stale one beside new tables
    pairs_file, matrix_file = (out / name for name in TRANSFER_FILES)
    with atomic_write(pairs_file) as handle:
        handle.write(tsv_text(pairs))
    with atomic_write(matrix_file) as handle:
        handle.write(tsv_text(matrix))
    written: list[Path] = []
    if plots:
        from crossreg.evaluate.transfer_figures import heat_map_title, plot_matrix_file

        title = heat_map_title(head, plan.store.genome, plan.splits, plan.normalize)
        written = plot_matrix_file(
            matrix_file,
            out,
            title=title,
            svg=svg,
            pairing=plan.pairing.rule,
            normalize=plan.normalize,
        )
    earlier = {heat_map_stem(e) for e in plan.experiments} | {Path(n).stem for n in recorded}
    remove_stale_figures(out, sorted(earlier), written)
    summary["figures"] = [p.name for p in written]
    with atomic_write(out / SUMMARY_FILE) as handle:
        json.dump(summary, handle, indent=1)
    return written
