"""Low-rank adapters (LoRA) for convolution weights, and freezing parts of a model.

An adapter adds ``(alpha / rank) · up @ down`` to a Conv1d's weight ``(out, in, k)``:
`down` is ``(rank, in·k)`` (He-initialised), `up` is ``(out, rank)`` (zeros, so an
adapted path starts out predicting exactly what the plain one does). The base weight
stays as it is (frozen); :class:`crossreg.model.branches.AdapterBranch` adds the deltas on
one head's path only, so the model's other heads read the trunk unadapted.
"""

from __future__ import annotations

import math

import torch
from torch import nn


class LowRankDelta(nn.Module):
    """``W → W + scale · (up @ down).view_as(W)`` for a conv weight `W` of `shape`."""

    def __init__(
        self,
        shape: torch.Size,
        rank: int,
        alpha: float,
        *,
        generator: torch.Generator | None = None,
        device: torch.device | None = None,
    ) -> None:
        super().__init__()
        if rank < 1:
            raise ValueError(f"the adapters' rank must be at least 1, got {rank}")
        out_channels, fan_in = shape[0], math.prod(shape[1:])
        self.scale = alpha / rank
        self.down = nn.Parameter(torch.empty(rank, fan_in, device=device))
        self.up = nn.Parameter(torch.zeros(out_channels, rank, device=device))
        with torch.no_grad():
            self.down.normal_(0.0, math.sqrt(2.0 / fan_in), generator=generator)

    def forward(self, weight: torch.Tensor) -> torch.Tensor:
        delta = (self.up @ self.down).view_as(weight)
        return weight + self.scale * delta.to(weight.dtype)


def _inference_mode(module: nn.Module, _args: object) -> None:
    module.eval()


def freeze(module: nn.Module) -> None:
    """Freeze `module`: no parameter of it trains, and it always runs as at inference
    (batch norm with its moving statistics, which stay as they are; no dropout), even
    while the rest of the model trains and whether it is called whole or one submodule at
    a time (as a head's branch runs the trunk)."""
    for parameter in module.parameters():
        parameter.requires_grad_(False)
    for submodule in module.modules():
        submodule.register_forward_pre_hook(_inference_mode)
