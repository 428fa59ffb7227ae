"""``metrics.csv`` of a training run: its columns, the file written whole, and a finished
epoch's line in the log."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
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
