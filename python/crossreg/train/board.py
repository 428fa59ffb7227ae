"""TensorBoard event files of a training run, when ``tensorboard`` is installed.

The figures are those of ``metrics.csv`` (tag ``<phase>/<genome>/<column>``, step = the
phase's epoch) plus the learning rate (``<phase>/learning_rate``), written to
``<out>/tensorboard/`` by rank 0; a figure that ``metrics.csv`` leaves empty (the
training loss of a genome that took no step in the epoch) is not written. Without
``tensorboard`` (``pip install 'crossreg[tensorboard]'``) nothing is written.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

log = logging.getLogger("crossreg")

#: Folder of the event files inside a run's output directory.
FOLDER = "tensorboard"

#: Columns of ``metrics.csv`` written as scalars.
SCALARS = ("train_loss", "valid_loss", "valid_pearson_r", "valid_r2")


def summary_writer(folder: Path) -> Any | None:
    """A ``SummaryWriter`` on `folder`, or None when TensorBoard cannot be imported."""
    try:
        from torch.utils.tensorboard import SummaryWriter
    except ImportError as error:  # tensorboard is an optional extra
        log.debug("no TensorBoard events (%s); pip install 'crossreg[tensorboard]'", error)
        return None
    return SummaryWriter(log_dir=str(folder))


class MetricsBoard:
    """Writes each finished epoch's metric rows as TensorBoard scalars (on `enabled`
    processes, when TensorBoard imports)."""

    def __init__(self, out: Path, *, enabled: bool = True) -> None:
        self.folder = out / FOLDER
        self._writer: Any | None = None
        self._tried = not enabled

    def _open(self) -> Any | None:
        if not self._tried:
            self._tried = True
            self._writer = summary_writer(self.folder)
        return self._writer

    def epoch(self, rows: Sequence[Mapping[str, Any]], learning_rate: float) -> None:
        """Write one epoch's rows (one per genome, as in ``metrics.csv``) and the rate."""
        writer = self._open()
        if writer is None or not rows:
            return
        phase, epoch = str(rows[0]["phase"]), int(rows[0]["epoch"])
        for row in rows:
            for column in SCALARS:
                if row[column] is not None:
                    writer.add_scalar(f"{phase}/{row['genome']}/{column}", row[column], epoch)
        writer.add_scalar(f"{phase}/learning_rate", learning_rate, epoch)
        writer.flush()

    def close(self) -> None:
        """Flush and close the event file."""
        if self._writer is not None:
            self._writer.close()
            self._writer = None
