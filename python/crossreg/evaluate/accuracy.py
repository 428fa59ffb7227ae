"""The evaluate step (:func:`evaluate_model`, Basenji's test): a checkpoint's per-track
accuracy on one split of a dataset store (scored by
:func:`~crossreg.evaluate.track_scores.score_store`) written as ``metrics.tsv``,
``summary.json`` and figures, or a finished evaluation kept on ``--resume``."""

from __future__ import annotations

import json
import os
import warnings
from functools import partial
from pathlib import Path
from typing import Any

import polars as pl

from crossreg.data.store import DataStore
from crossreg.distributed import resolve_device
from crossreg.errors import require_kind
from crossreg.evaluate.checkpoint import (
    Checkpoint,
    checkpoint_dir,
    differences,
    evaluation_settings,
    refuse_checkpoint,
)
from crossreg.evaluate.defaults import default_split
from crossreg.evaluate.files import FIGURE_STEMS, METRICS_FILE, SUMMARY_FILE, TRACKS_FILE
from crossreg.evaluate.scratch import check_scratch, remove_stale
from crossreg.evaluate.spill import ColumnOptions, specificity_class
from crossreg.evaluate.table import (
    assay_summary,
    column_means,
    mean_r2,
    read_metrics,
    write_metrics,
)
from crossreg.evaluate.track_scores import Scored, score_store
from crossreg.io.atomic import atomic_write
from crossreg.io.finished import finished_run, recorded_settings
from crossreg.io.tables import as_float
from crossreg.model.checkpoint_info import checkpoint_info
from crossreg.model.inference import (
    InferenceOptions,
    gives_back_cuda_settings,
    require_options,
)
from crossreg.plots import check_plot_options, figure_intact, remove_stale_figures
from crossreg.train.store_identity import store_fingerprint


def class_summary(table: pl.DataFrame) -> list[dict[str, Any]]:
    """Per specificity class (:func:`crossreg.evaluate.spill.specificity_class`): its
    track count and mean specificity R (null for a class left out)."""
    return (
        table.with_columns(
            pl.col("description")
            .map_elements(specificity_class, return_dtype=pl.Utf8)
            .alias("class")
        )
        .group_by("class")
        .agg(
            pl.len().alias("tracks"),
            pl.col("specificity_r").fill_nan(None).mean().alias("specificity_r"),
        )
        .sort("class")
        .to_dicts()
    )


@gives_back_cuda_settings
def evaluate_model(
    model_dir: str | os.PathLike[str],
    data_dir: str | os.PathLike[str],
    out: str | os.PathLike[str],
    *,
    split: str | None = None,
    head: str | None = None,
    options: InferenceOptions = InferenceOptions(),
    plots: bool = True,
    svg: bool = False,
    columns: ColumnOptions = ColumnOptions(),
    scratch: str | os.PathLike[str] | None = None,
    resume: bool = False,
    head_option: str = "--head",
    genome: str | None = None,
) -> pl.DataFrame:
    """The evaluate step: write ``metrics.tsv`` (one row per track) and ``summary.json``
    (the split, model, head and store scored, whose windows ``compare`` checks, the
    ensemble and precision of the predictions (``ensemble``: rc, shifts, bf16), and the
    means over tracks and per assay) into `out`; returns the per-track table. `head` is
    the dataset's genome's unless it names another (``crossreg evaluate --head``). `split`
    defaults to the fold that the training of the head scored held out where the store has
    it, else ``test`` (:func:`~crossreg.evaluate.defaults.default_split`).

    With `columns`, ``metrics.tsv`` gains Basenji's whole-column statistics
    (:func:`crossreg.evaluate.spill.column_metrics`: ``specificity_r``, ``spearman_r``,
    ``peaks``, ``auroc``, ``auprc``), whose predictions and targets are kept on disk while
    they are computed, in a folder of their own in the folder `scratch` (default `out`; it
    must exist), removed at the end; one a killed run left there or in `out` is removed
    first unless that run's checkpoint keeps it (:mod:`crossreg.evaluate.scratch`).

    The work is kept in ``out/.partial/`` as it goes (:mod:`crossreg.evaluate.checkpoint`):
    a run stopped by Ctrl-C or killed continues with `resume` where it was saved, with
    the same outputs byte for byte; without `resume` a left-over checkpoint is refused.
    With `resume` and no checkpoint, a finished `out` whose summary records the same
    settings is left as it is and its table returned, without a model pass (figures it
    lacks drawn from ``metrics.tsv`` and ``tracks.npz``); one of other settings is refused
    naming them (:func:`_finished`).

    Unless `plots` is off it also draws (:mod:`crossreg.evaluate.figures`) ``tracks.png``,
    predicted vs measured coverage of three typical tracks along the three windows with
    the most signal (the values drawn in ``tracks.npz``), and ``r_by_assay.png``, the
    per-track R by assay; with `svg` an SVG beside each. Messages name the head's option
    as `head_option` (``crossreg evaluate`` passes the spelling typed: ``--genome``).

    `genome` is the former name of `head`, taken with a :class:`DeprecationWarning` until
    a later release removes it; the two together are a :class:`TypeError`."""
    head = _head_renamed(head, genome)
    check_plot_options(plots, svg)
    require_options(options)
    require_kind(columns, ColumnOptions, "columns", "ColumnOptions(specificity=True)")
    out = Path(out)
    refuse_checkpoint(out, resume=resume)
    if scratch is not None:
        check_scratch(scratch)  # before the model and store are read for the split
    if split is None:
        store = DataStore(data_dir)
        split = default_split(checkpoint_info(model_dir), store, head or store.genome)
    if resume:
        lost = _finished(
            out, model_dir, data_dir, split, head, options, columns, plots, svg, head_option
        )
        if lost is not None:
            if lost:
                from crossreg.evaluate.figures import plot_evaluation

                store_genome = DataStore(data_dir).genome
                title = _figure_title(model_dir, head or store_genome, store_genome, split)
                plot_evaluation(out, svg=svg, title=title, split=split)
            return read_metrics(out / METRICS_FILE)
    checkpoint = Checkpoint(out)
    if scratch is not None:
        remove_stale(scratch, checkpoint.root)
    remove_stale(out, checkpoint.root)
    try:
        scored = score_store(
            model_dir,
            data_dir,
            checkpoint,
            split=split,
            head=head,
            options=options,
            columns=columns,
            scratch=scratch or out,
            resume=resume,
            head_option=head_option,
        )
        with checkpoint.kept_when_stopped(len(scored.window_sums)):
            _write(out, scored, split, model_dir, options, columns, plots=plots, svg=svg)
        checkpoint.remove()
    finally:
        checkpoint.close()
    return scored.table


def _head_renamed(head: str | None, genome: str | None) -> str | None:
    """The head :func:`evaluate_model` scores with, given as `head` or by its former
    keyword `genome` (warned of as deprecated; both at once are refused)."""
    if genome is None:
        return head
    if head is not None:
        raise TypeError(
            f"evaluate_model() got head={head!r} and genome={genome!r}; genome= is the former "
            "name of head=: pass head= alone"
        )
    warnings.warn(
        "evaluate_model(genome=...) is deprecated and will be removed: pass head= (the same "
        "head: genome= was renamed head=, as write_sad, write_ism and write_predictions name it)",
        DeprecationWarning,
        stacklevel=4,  # the caller's line, past evaluate_model and its CUDA settings wrapper
    )
    return genome


def _finished(
    out: Path,
    model_dir: str | os.PathLike[str],
    data_dir: str | os.PathLike[str],
    split: str,
    head: str | None,
    options: InferenceOptions,
    columns: ColumnOptions,
    plots: bool,
    svg: bool,
    head_option: str,
) -> list[str] | None:
    """The figures `out` lacks (missing or not whole, :func:`~crossreg.plots.figure_intact`)
    when it holds this evaluation, finished: no checkpoint
    (removed last), a ``summary.json`` (written after ``metrics.tsv``) that records these
    settings, ``metrics.tsv`` and, when `plots` asks for figures, ``tracks.npz``, from
    which with the table they are drawn; None when it is to be computed again
    (:func:`~crossreg.io.finished.finished_run`; other settings are refused, naming the
    head's option as `head_option`)."""
    summary = out / SUMMARY_FILE
    if checkpoint_dir(out).exists() or not summary.is_file():
        return None
    recorded = recorded_settings(summary)
    store = DataStore(data_dir)
    device = resolve_device(options.device).type
    head = head or store.genome
    now = evaluation_settings(model_dir, store, split, head, options, columns, device)
    kept = [METRICS_FILE, *([TRACKS_FILE] if plots else [])]
    missing = [name for name in kept if not (out / name).is_file()]
    drawn = [f"{stem}.{kind}" for stem in FIGURE_STEMS for kind in ("png", "svg")[: 1 + svg]]
    lost = [name for name in drawn if plots and not figure_intact(out / name)]
    changed = partial(differences, head_option=head_option)
    return lost if finished_run(out, recorded, now, changed, missing, redrawn=lost) else None


def _write(
    out: Path,
    scored: Scored,
    split: str,
    model_dir: str | os.PathLike[str],
    options: InferenceOptions,
    columns: ColumnOptions,
    *,
    plots: bool,
    svg: bool,
) -> None:
    """Write the tables of :func:`evaluate_model` and, with `plots`, its figures."""
    table = scored.table
    # an earlier run's summary and figures go before the new tables are written: one
    # interrupted while writing leaves none of another model or split beside them
    remove_stale_figures(out, FIGURE_STEMS, [])
    for earlier in (TRACKS_FILE, SUMMARY_FILE):
        (out / earlier).unlink(missing_ok=True)
    write_metrics(out / METRICS_FILE, table)
    summary: dict[str, Any] = {
        "split": split,
        "model": str(model_dir),
        "head": scored.head,
        "store": store_fingerprint(scored.store),
        "ensemble": {"rc": options.rc, "shifts": list(options.shifts), "bf16": options.bf16},
        "tracks": table.height,
        "mean_pearson_r": as_float(table["pearson_r"].mean()),
        "mean_r2": mean_r2(table),
        **column_means(table),
        "by_assay": assay_summary(table).to_dicts(),
        "settings": scored.settings,
    }
    if "specificity_r" in table.columns:
        summary["min_class"] = columns.min_class
        summary["specificity_by_class"] = class_summary(table)
    with atomic_write(out / SUMMARY_FILE) as handle:
        json.dump(summary, handle, indent=1)
    if plots:
        from crossreg.evaluate.figures import plot_evaluation, save_tracks, window_tracks

        drawn = window_tracks(
            scored.model, scored.head, scored.store, split, table, scored.window_sums, options
        )
        save_tracks(out / TRACKS_FILE, drawn)
        title = _figure_title(model_dir, scored.head, scored.store.genome, split)
        plot_evaluation(out, svg=svg, title=title, split=split)


def _figure_title(model_dir: str | os.PathLike[str], head: str, genome: str, split: str) -> str:
    """The figures' title for the head `head` of the model in `model_dir` scored on the
    `split` windows of `genome` (:func:`~crossreg.evaluate.figures.figure_title`)."""
    from crossreg.evaluate.figures import figure_title

    return figure_title(checkpoint_info(model_dir).heads, head, genome, split)
