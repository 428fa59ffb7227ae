"""A head's per-track accuracy over one split of a store (:func:`score_store`): one pass of
the model over the split's windows, kept in a checkpoint as it goes, with the
whole-column statistics where asked (:mod:`crossreg.evaluate.spill`)."""

from __future__ import annotations

import contextlib
import logging
import os
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from crossreg.data.store import DataStore
from crossreg.evaluate.checkpoint import Checkpoint, evaluation_settings
from crossreg.evaluate.figures import WindowSums
from crossreg.evaluate.finite import (
    check_finite_predictions,
    check_finite_targets,
    non_finite_columns,
)
from crossreg.evaluate.scratch import columns_folder
from crossreg.evaluate.spill import ColumnOptions, ColumnSpill, column_metrics
from crossreg.evaluate.table import metrics_table
from crossreg.io.targets import Target
from crossreg.model.geometry import check_compatible
from crossreg.model.inference import InferenceOptions, load_head, model_device
from crossreg.model.metrics import TrackMetrics, array_metrics
from crossreg.progress import CountedRows, progress

log = logging.getLogger("crossreg")


@dataclass
class Scored:
    """An evaluation with what its figures need: the per-track table, the model and head
    that scored, the store, each window's per-track sum of targets and the settings that
    decided the numbers (:func:`~crossreg.evaluate.checkpoint.evaluation_settings`)."""

    table: pl.DataFrame
    model: Any
    head: str
    store: DataStore
    window_sums: np.ndarray
    settings: dict[str, Any]


def check_same_tracks(head_targets: Sequence[Target], store: DataStore, source: str) -> None:
    """Stop unless the head's tracks are the store's in the same order, matched by
    description (assay and cell type): each track's R compares one head output with the
    store's track in the same column."""
    for column, (ours, theirs) in enumerate(zip(head_targets, store.table.targets, strict=True)):
        if ours.description != theirs.description:
            raise ValueError(
                f"{source}: track {column} is {ours.identifier} ({ours.description}) but "
                f"dataset {store.path} has {theirs.identifier} ({theirs.description}) there; "
                "evaluate scores a head on a store of the same tracks in the same order "
                "(crossreg transfer pairs the tracks of two genomes by description)"
            )


def score_store(
    model_dir: str | os.PathLike[str],
    data_dir: str | os.PathLike[str],
    checkpoint: Checkpoint,
    *,
    split: str = "test",
    head: str | None = None,
    options: InferenceOptions = InferenceOptions(),
    columns: ColumnOptions = ColumnOptions(),
    scratch: str | os.PathLike[str] | None = None,
    resume: bool = False,
    head_option: str = "--head",
) -> Scored:
    """Pearson R and R² per track over all bins of all windows of `split`, with the model
    and each window's target sums (for the figures); with `columns` also the whole-column
    statistics (:mod:`crossreg.evaluate.spill`), whose predictions and targets are kept in
    a folder of their own in the folder `scratch` (the system's temporary folder when
    None; :func:`~crossreg.evaluate.scratch.columns_folder`).

    The head is the dataset's genome unless `head` names another one (for example a
    mouse head scored on human windows), whose tracks must be the store's: the same
    descriptions in the same order. With the
    options' rc and shifts the predictions are Basenji's ensemble average.

    The work is kept in `checkpoint` as it goes, which it opens (:meth:`Checkpoint.open`:
    with `resume`, one an interrupted run left is continued where it was saved) and
    leaves in place, to be removed once the outputs are written. Messages name the head's
    option as `head_option` (how the user gave it).
    """
    store = DataStore(data_dir)
    head = head or store.genome
    model, config, head = load_head(model_dir, head, options)
    check_compatible(model, store, str(model_dir), head, head_option=head_option)
    check_same_tracks(config.targets[head], store, f"{model_dir} head '{head}'")
    count = store.window_counts.get(split, 0)
    if count == 0:
        raise ValueError(f"dataset {Path(data_dir)} has no '{split}' windows")
    table = config.targets[head]
    device = next(model.parameters()).device.type
    settings = evaluation_settings(model_dir, store, split, head, options, columns, device)
    checkpoint.open(settings, resume=resume, head_option=head_option)
    with checkpoint.kept_when_stopped(count), contextlib.ExitStack() as stack:
        spill = None
        if columns.any:
            folder = stack.enter_context(
                columns_folder(scratch or tempfile.gettempdir(), checkpoint.root)
            )
            dtype = store.targets(split).dtype
            resumed = checkpoint.passed().windows > 0
            spill = ColumnSpill(
                folder, count, store.target_length, len(table), dtype, resume=resumed
            )
            stack.callback(spill.close)
        metrics, sums_of_windows = _model_pass(
            model, head, store, split, options, checkpoint, spill
        )
        _check_finite(metrics, sums_of_windows, table, model_dir, head, data_dir, split)
        descriptions = [t.description for t in table]
        extra = (
            {} if spill is None else column_metrics(spill, descriptions, columns, kept=checkpoint)
        )
    log.info(
        "%s head '%s' on %s %s (%d windows): mean Pearson R %.4f",
        model_dir,
        head,
        store.genome,
        split,
        count,
        float(np.mean(metrics.pearson_r())),
    )
    frame = metrics_table(
        [t.identifier for t in table],
        [t.description for t in table],
        metrics.pearson_r(),
        metrics.r2(),
    ).with_columns(**{name: pl.Series(name, values) for name, values in extra.items()})
    return Scored(frame, model, head, store, sums_of_windows, settings)


def _model_pass(
    model: Any,
    head: str,
    store: DataStore,
    split: str,
    options: InferenceOptions,
    checkpoint: Checkpoint,
    spill: ColumnSpill | None,
) -> tuple[TrackMetrics, np.ndarray]:
    """The model over the windows of `split` that `checkpoint` has not scored yet, batch
    by batch (into `spill` too, when given), saved in `checkpoint` as it goes: the
    per-track metrics and each window's per-track sum of targets, of every window."""
    count = store.window_counts[split]
    done = checkpoint.passed()
    metrics = TrackMetrics(model.num_targets(head), device=model_device(model))
    if done.sums is not None:
        metrics.restore(done.sums, done.count)
    window_sums = checkpoint.window_sums(count, metrics.n_tracks)

    def observe(rows: Sequence[int], pred: Any, target: np.ndarray) -> None:
        if spill is not None:
            spill.add(rows, pred, target)
        last = rows[-1] + 1 == count
        checkpoint.save(rows[-1] + 1, metrics, window_sums, spill, last=last)

    if done.windows < count:
        name = f"evaluating {store.genome} {split}"
        with progress(count, name, "windows", initial=done.windows) as meter:
            sums = WindowSums(store.targets(split), window_sums)
            array_metrics(
                model,
                head,
                store.sequences(split),
                CountedRows(sums, meter),
                options,
                observe=observe,
                start=done.windows,
                metrics=metrics,
            )
    return metrics, np.array(window_sums)


def _check_finite(
    metrics: TrackMetrics,
    window_sums: np.ndarray,
    table: Sequence[Target],
    model_dir: str | os.PathLike[str],
    head: str,
    data_dir: str | os.PathLike[str],
    split: str,
) -> None:
    """Stop on NaN or infinite targets (the store's fault) or predictions (the head's)."""
    # a non-finite target makes its track's metrics NaN too: the store's fault, not the head's
    check_finite_targets(
        [table[int(i)].identifier for i in non_finite_columns(window_sums)],
        data_dir,
        f"in its '{split}' windows ",
    )
    check_finite_predictions(
        [table[int(i)].identifier for i in np.flatnonzero(metrics.non_finite())],
        model_dir,
        head,
        data_dir,
    )
