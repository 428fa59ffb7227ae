"""Per-track accuracy of a checkpoint on one split of a dataset store (Basenji's test)."""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import polars as pl
import torch

from crossreg.data.loader import SplitDataset, codes_to_one_hot, make_loader
from crossreg.data.store import DataStore
from crossreg.distributed import resolve_device
from crossreg.evaluate.table import metrics_table
from crossreg.model.checkpoint import load_checkpoint
from crossreg.model.ensemble import ensemble_predict
from crossreg.train.metrics import TrackMetrics
from crossreg.train.step import crop_to_targets
from crossreg.train.trainer import check_compatible

log = logging.getLogger("crossreg")


def evaluate_store(
    model_dir: str | os.PathLike[str],
    data_dir: str | os.PathLike[str],
    *,
    split: str = "test",
    genome: str | None = None,
    rc: bool = False,
    shifts: Sequence[int] = (0,),
    batch_size: int = 4,
    device: str = "auto",
) -> pl.DataFrame:
    """Pearson R and R² per track over all bins of all windows of `split`.

    The head is the dataset's genome unless `genome` names another one (for example a
    mouse head scored on human windows, which needs matching track counts). With `rc` and
    `shifts` the predictions are Basenji's ensemble average.
    """
    store = DataStore(data_dir)
    torch_device = resolve_device(device)
    model, config = load_checkpoint(model_dir, device=torch_device)
    head = genome or store.genome
    if head not in model.genomes:
        raise ValueError(
            f"{model_dir} has heads {', '.join(model.genomes)}, none for genome '{head}'; "
            "choose one with --genome"
        )
    if head == store.genome:
        check_compatible(model, store, str(model_dir))
    count = store.splits.get(split, {}).get("count", 0)
    if count == 0:
        raise ValueError(f"dataset {Path(data_dir)} has no '{split}' windows")
    loader = make_loader(SplitDataset(store, split, sequence="codes"), batch_size, shuffle=False)
    metrics = TrackMetrics(model.num_targets(head), device=torch_device)
    with torch.no_grad():
        for batch in loader:
            x = codes_to_one_hot(batch["sequence"].to(torch_device))
            y = batch["targets"].to(torch_device).float()
            pred = ensemble_predict(lambda t: model(t, head), x, rc=rc, shifts=tuple(shifts))
            metrics.update(crop_to_targets(pred, y.shape[1]), y)
    table = config.targets[head]
    log.info(
        "%s on %s %s (%d windows): mean Pearson R %.4f",
        Path(model_dir).name,
        store.genome,
        split,
        count,
        float(np.mean(metrics.pearson_r())),
    )
    return metrics_table(
        [t.identifier for t in table],
        [t.description for t in table],
        metrics.pearson_r(),
        metrics.r2(),
    )
