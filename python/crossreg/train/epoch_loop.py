"""One training epoch: the seeded schedule of which genome each step trains, its batches
moved to the device and the steps taken, with the progress shown as they go, stopped at
the first read of its training loss that is not finite."""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from typing import cast

import numpy as np
import torch

from crossreg import distributed
from crossreg.data.device_batches import codes_to_one_hot
from crossreg.data.sampler import EpochBatchSampler
from crossreg.progress import progress
from crossreg.train.divergence import Advice, check_training_loss, check_weights
from crossreg.train.genome_data import GenomeData
from crossreg.train.genome_schedule import epoch_schedule
from crossreg.train.options import TrainOptions
from crossreg.train.seeds import DROPOUT, SCHEDULE, stream_seed
from crossreg.train.step import train_step

#: Steps between two reads of the epoch's mean loss, shown beside the progress and
#: checked to be finite (a read waits for the device and, under torchrun, averages over
#: the processes, so it is not done every step; the first step's loss is read).
LOSS_EVERY = 10


def train_epoch(
    runner: torch.nn.Module,
    optimizer: torch.optim.Optimizer,
    genomes: Sequence[GenomeData],
    *,
    phase: str,
    epoch: int,
    options: TrainOptions,
    batch_size: int,
    device: torch.device,
    when: str,
    advice: Advice,
) -> dict[str, tuple[int, float | None]]:
    """Train `runner` (the model, or its DDP wrapper) one epoch of `phase` after `epoch`
    finished ones; each genome's steps and mean training loss (None without a step: a
    capped epoch may draw none of a genome's batches). Every :data:`LOSS_EVERY` steps, at
    the first and at the last, the loss so far is read and a non-finite one stops the
    epoch (:func:`crossreg.train.divergence.check_training_loss`, naming the epoch
    `when` and giving `advice`), as do weights that are not finite once the steps are
    done (:func:`~crossreg.train.divergence.check_weights`)."""
    o = options
    torch.manual_seed(stream_seed(o.seed, DROPOUT, phase, epoch))  # dropout draws
    order = epoch_schedule(
        [len(g.train) for g in genomes],
        np.random.default_rng(stream_seed(o.seed, SCHEDULE, phase, epoch)),
    )
    if o.steps_per_epoch:
        order = order[: o.steps_per_epoch]
    iterators = [_batches(g, epoch) for g in genomes]
    # losses stay on the device between reads: no synchronisation per step
    steps = [0] * len(genomes)
    loss_sums = torch.zeros(len(genomes), device=device)
    sums, read = [0.0] * len(genomes), 0  # the global batches' sums at the last read
    desc, start = f"{phase} epoch {epoch + 1}", time.perf_counter()
    with progress(len(order), desc, "steps") as meter:
        for step, g in enumerate(order, start=1):
            batch = next(iterators[g])
            x, y = on_device(batch, device)
            loss = train_step(
                runner,
                optimizer,
                x,
                y,
                genomes[g].head,
                clip_norm=o.clip_norm,
                clip_mode=o.clip_mode,
                bf16=o.bf16,
            )
            steps[g] += 1
            loss_sums[g] += loss
            rate = step * batch_size / max(time.perf_counter() - start, 1e-9)
            figures: dict[str, object] = {"seq/s": round(rate, 1)}
            if step % LOSS_EVERY == 1 or step == len(order):
                # each process's loss is its share's mean, the global batch's their
                # mean: every process takes part in the collective and reads the same
                # sums, so all stop at the same step; the main one shows the mean so far
                sums = distributed.mean_over_processes(loss_sums).tolist()
                check_training_loss(genomes, sums, step, read, when, advice)
                read = step
                if distributed.is_main():
                    figures["loss"] = sum(sums) / step
            meter.update(1, **figures)
    check_weights(runner, when, advice)
    return {g.name: (n, s / n if n else None) for g, n, s in zip(genomes, steps, sums, strict=True)}


def _batches(data: GenomeData, epoch: int) -> Iterator[dict[str, torch.Tensor]]:
    """`data`'s training batches of `epoch` (its own order and augmentation)."""
    sampler = cast(EpochBatchSampler, data.train.sampler)
    sampler.epoch = epoch  # this epoch's permutation and augmentation
    return iter(data.train)


def on_device(
    batch: dict[str, torch.Tensor], device: torch.device
) -> tuple[torch.Tensor, torch.Tensor]:
    """This process's part of a global batch (as its loader reads it) on `device`:
    one-hot float32 sequences, targets as stored (float16; the loss reads them in
    float32)."""
    codes = batch["sequence"].to(device, non_blocking=True)
    return codes_to_one_hot(codes), batch["targets"].to(device, non_blocking=True)
