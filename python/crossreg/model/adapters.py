"""Low-rank adapters (LoRA) on a model's convolutions, and freezing parts of a model.

An adapter adds ``(alpha / rank) · up @ down`` to a Conv1d's weight ``(out, in, k)``:
`down` is ``(rank, in·k)`` (He-initialised), `up` is ``(out, rank)`` (zeros, so an
adapted model starts out predicting exactly what it did). It is a PyTorch
parametrisation of the weight, so the convolution runs once with the adapted weight, the
base weight stays as it was (frozen) and :func:`merge_adapters` folds the adapters into
plain weights: a merged model is an ordinary SeqNN that every command loads.
"""

from __future__ import annotations

import math
from collections.abc import Iterator

import torch
from torch import nn
from torch.nn.utils import parametrize

ADAPTER_PARAMS = ("down", "up")


class LowRankDelta(nn.Module):
    """The parametrisation ``W → W + scale · (up @ down).view_as(W)`` of a conv weight."""

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


def add_adapters(
    module: nn.Module, rank: int, alpha: float, *, generator: torch.Generator | None = None
) -> list[str]:
    """Put a :class:`LowRankDelta` on the weight of every Conv1d under `module` and freeze
    the base weights; returns the convolutions' names (relative to `module`)."""
    names = []
    for name, conv in list(module.named_modules()):
        if isinstance(conv, nn.Conv1d):
            conv.weight.requires_grad_(False)
            delta = LowRankDelta(
                conv.weight.shape, rank, alpha, generator=generator, device=conv.weight.device
            )
            parametrize.register_parametrization(conv, "weight", delta)
            names.append(name)
    if not names:
        raise ValueError("the module has no convolution to adapt")
    return names


def adapted_convs(module: nn.Module) -> Iterator[tuple[str, nn.Conv1d]]:
    """The convolutions under `module` whose weight carries adapters."""
    for name, conv in module.named_modules():
        if isinstance(conv, nn.Conv1d) and parametrize.is_parametrized(conv, "weight"):
            yield name, conv


def adapter_state(module: nn.Module) -> dict[str, torch.Tensor]:
    """The adapters' tensors under `module`, by their state-dict names."""
    return {
        name: tensor
        for name, tensor in module.state_dict().items()
        if name.rsplit(".", 1)[-1] in ADAPTER_PARAMS and ".parametrizations." in name
    }


def merge_adapters(module: nn.Module) -> None:
    """Fold every adapter under `module` into its convolution's weight, in place: the
    convolutions become plain ones with the adapted weights (the state dict of the
    model without adapters)."""
    for _, conv in list(adapted_convs(module)):
        with torch.no_grad():
            parametrize.remove_parametrizations(conv, "weight", leave_parametrized=True)
        conv.weight.requires_grad_(False)


def _inference_mode(module: nn.Module, _args: object) -> None:
    module.eval()


def freeze(module: nn.Module) -> None:
    """Freeze `module`: no parameter of it trains, and it always runs as at inference
    (batch norm with its moving statistics, which stay as they are; no dropout), even
    while the rest of the model trains."""
    for parameter in module.parameters():
        parameter.requires_grad_(False)
    module.register_forward_pre_hook(_inference_mode)
