"""``metrics.csv`` of a training run: its columns, a finished epoch's rows, the file
written whole, and the epoch's line in the log."""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from crossreg.io.atomic import atomic_write

#: The columns of ``metrics.csv``: one row per epoch, phase and genome.
METRIC_FIELDS = (
    "phase",
    "epoch",
    "genome",
    "steps",
    "train_loss",
    "valid_loss",
    "valid_pearson_r",
    "valid_r2",
    "seconds",
)


def epoch_rows(
    phase: str,
    epoch: int,
    heads: Mapping[str, str],
    train: Mapping[str, tuple[int, float | None]],
    results: Mapping[str, tuple[float, float, float]],
    seconds: float,
) -> list[dict[str, Any]]:
    """The rows of `epoch` of `phase` just finished, one per genome of `heads` (genome →
    the head it trains, which the row names): its steps and training loss (`train`), its
    validation loss, R and R² (`results`) and the epoch's `seconds`."""
    rows = []
    for genome, head in heads.items():
        valid_loss, r, r2 = results[genome]
        steps, train_loss = train[genome]
        rows.append(
            {
                "phase": phase,
                "epoch": epoch,
                "genome": head,  # the head it scores: a new head's own name
                "steps": steps,
                "train_loss": None if train_loss is None else round(train_loss, 6),
                "valid_loss": round(valid_loss, 6),
                "valid_pearson_r": round(r, 6),
                "valid_r2": round(r2, 6),
                "seconds": round(seconds, 2),
            }
        )
    return rows


def write_metrics(path: Path, rows: Sequence[dict[str, Any]]) -> None:
    """Write ``metrics.csv`` at `path` whole (atomically) from `rows`."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=METRIC_FIELDS)
    writer.writeheader()
    writer.writerows(rows)
    with atomic_write(path) as handle:
        handle.write(buffer.getvalue())


def _train_loss_text(loss: float | None) -> str:
    """A genome's training loss in the epoch's log line (None: it took no step)."""
    return "no training step" if loss is None else f"train loss {loss:.4f}"


def epoch_summary(rows: Sequence[dict[str, Any]], max_epochs: int, stopping: bool) -> str:
    """One line for a finished epoch: its figures per genome, as in ``metrics.csv``."""
    first = rows[0]
    genomes = "; ".join(
        f"{row['genome']}: {_train_loss_text(row['train_loss'])}, valid loss "
        f"{row['valid_loss']:.4f}, R {row['valid_pearson_r']:.4f}, R² {row['valid_r2']:.4f}"
        for row in rows
    )
    steps = sum(int(row["steps"]) for row in rows)
    end = ", stopping early" if stopping and first["epoch"] < max_epochs else ""
    return (
        f"{first['phase']} epoch {first['epoch']}/{max_epochs} ({steps} steps, "
        f"{first['seconds']:.0f} s): {genomes}{end}"
    )
