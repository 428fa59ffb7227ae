"""A genome's validation after each epoch: its head's loss, mean Pearson R and mean R² on
its validation split, scored in shares over the ``torchrun`` processes."""

from __future__ import annotations

import math

import numpy as np
import torch

from crossreg import distributed
from crossreg.model.inference import InferenceOptions, bf16_wanted
from crossreg.model.metrics import TrackMetrics, array_metrics
from crossreg.model.seqnn import SeqNN
from crossreg.progress import CountedRows, progress
from crossreg.train.genome_data import GenomeData
from crossreg.train.loss import poisson_loss
from crossreg.train.options import TrainOptions


def validate(
    model: SeqNN,
    data: GenomeData,
    *,
    phase: str,
    options: TrainOptions,
    batch_size: int,
    device: torch.device,
) -> tuple[tuple[float, float, float], TrackMetrics]:
    """The validation loss, mean Pearson R and mean R² (over the tracks that have one)
    of `data`'s head on its validation split, and the summed metrics they come from
    (under torchrun, every process's the same: each scores its share of the windows and
    the sums are added over the processes)."""
    o = options
    inference = InferenceOptions(
        bf16=bf16_wanted(device, o.bf16),
        batch_size=batch_size,
        # a channels-last run validates so too; a plain one in the device's layout
        channels_last=True if o.channels_last else None,
    )
    store = data.store
    # under torchrun each process scores its share of the windows, in the batches one
    # process would, and the metrics' sums are added up over the processes
    count = store.window_counts[data.valid]
    windows = distributed.share(count, inference.batch_size)
    # named by the head it scores, as the epoch's log line is: a new head's own name
    desc = f"{phase} validation {data.head}"
    with progress(len(windows), desc, "windows") as meter:
        metrics, loss = array_metrics(
            model,
            data.head,
            store.sequences(data.valid),
            CountedRows(store.targets(data.valid), meter),
            inference,
            loss=poisson_loss,
            start=windows.start,
            stop=windows.stop,
        )
    metrics.sum_over_processes()
    loss_sum = torch.tensor(loss * len(windows), dtype=torch.float64, device=device)
    loss = float(distributed.sum_over_processes(loss_sum)) / count
    figures = (loss, float(np.mean(metrics.pearson_r())), _mean_defined(metrics.r2()))
    return figures, metrics


def _mean_defined(values: np.ndarray) -> float:
    """The mean of `values` that are not NaN (NaN if none is, without numpy's warning)."""
    defined = values[~np.isnan(values)]
    return float(defined.mean()) if defined.size else math.nan
