"""One optimisation step and one evaluation pass, shared by the trainer and the benchmarks."""

from __future__ import annotations

import contextlib
from collections.abc import Iterable

import torch

from crossreg.model.seqnn import SeqNN
from crossreg.train.loss import poisson_loss
from crossreg.train.metrics import TrackMetrics
from crossreg.train.optim import clip_gradients


def autocast_for(device: torch.device, bf16: bool | None) -> contextlib.AbstractContextManager:
    """bf16 autocast: ``None`` on CUDA only, ``True`` on CUDA and CPU, ``False`` never.

    The CPU gains from bf16 where it has bf16 instructions (AVX512-BF16, AMX); elsewhere
    it computes in float32.
    """
    wanted = bf16 if bf16 is not None else device.type == "cuda"
    if wanted and device.type in ("cuda", "cpu"):
        return torch.autocast(device.type, dtype=torch.bfloat16)
    return contextlib.nullcontext()


def crop_to_targets(pred: torch.Tensor, bins: int) -> torch.Tensor:
    """Centre-crop predictions ``(B, model_bins, T)`` to the targets' ``bins``."""
    extra = pred.shape[1] - bins
    if extra < 0 or extra % 2:
        raise ValueError(
            f"the model predicts {pred.shape[1]} bins but the targets have {bins}; the model's "
            "seq_length and crop must match the dataset's"
        )
    return pred[:, extra // 2 : extra // 2 + bins] if extra else pred


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

    `x` is a one-hot batch ``(B, L, 4)``, `y` the targets ``(B, bins, tracks)``; `model`
    may be wrapped (DDP), in which case it is called with the genome name.
    """
    model.train()
    optimizer.zero_grad(set_to_none=True)
    with autocast_for(x.device, bf16):
        pred = model(x, genome)
    loss = poisson_loss(crop_to_targets(pred.float(), y.shape[1]), y)
    loss.backward()
    if clip_norm:
        clip_gradients(model.parameters(), clip_norm, clip_mode)
    optimizer.step()
    return loss.detach()


@torch.no_grad()
def evaluate_batches(
    model: SeqNN,
    batches: Iterable[tuple[torch.Tensor, torch.Tensor]],
    genome: str,
    *,
    device: torch.device,
    bf16: bool | None = False,
) -> tuple[TrackMetrics, float]:
    """Per-track metrics and mean Poisson loss of `model` in inference mode over `batches`."""
    model.eval()
    metrics: TrackMetrics | None = None
    loss_sum, n = 0.0, 0
    for x, y in batches:
        x, y = x.to(device, non_blocking=True), y.to(device, non_blocking=True).float()
        with autocast_for(device, bf16):
            pred = model(x, genome)
        pred = crop_to_targets(pred.float(), y.shape[1])
        if metrics is None:
            metrics = TrackMetrics(y.shape[-1], device=device)
        metrics.update(pred, y)
        loss_sum += float(poisson_loss(pred, y)) * x.shape[0]
        n += x.shape[0]
    if metrics is None:
        raise ValueError(f"no validation batches for genome '{genome}'")
    return metrics, loss_sum / n
