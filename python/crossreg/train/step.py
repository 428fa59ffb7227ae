"""One optimisation step, shared by the trainer and the benchmarks."""

from __future__ import annotations

import torch

from crossreg.model.geometry import crop_to_targets
from crossreg.model.inference import autocast_for
from crossreg.train.loss import poisson_loss
from crossreg.train.optim import clip_gradients


def train_step(
    model: torch.nn.Module,
    optimizer: torch.optim.Optimizer,
    x: torch.Tensor,
    y: torch.Tensor,
    genome: str,
    *,
    clip_norm: float | None,
    clip_mode: str = "per_tensor",
    bf16: bool | None = False,
) -> torch.Tensor:
    """Forward, Poisson loss on the target bins, backward, clip, update; returns the loss.

    `x` is a one-hot batch ``(B, L, 4)``, `y` the targets ``(B, bins, tracks)`` (float16
    as stored, or any float dtype; the loss is computed in float32); `model`
    may be wrapped (DDP), in which case it is called with the genome name.
    """
    model.train()
    optimizer.zero_grad(set_to_none=True)
    with autocast_for(x.device, bf16):
        pred = model(x, genome)
    loss = poisson_loss(crop_to_targets(pred, y.shape[1]), y)
    loss.backward()
    if clip_norm:
        clip_gradients(model.parameters(), clip_norm, clip_mode)
    optimizer.step()
    return loss.detach()
