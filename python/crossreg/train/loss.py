"""Basenji's training loss."""

from __future__ import annotations

import torch

POISSON_EPSILON = 1e-7


def poisson_loss(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Keras' Poisson loss as Basenji trains with it: ``mean(pred - target * log(pred + 1e-7))``.

    The mean runs over every element (batch × bins × tracks); there is no log-factorial
    term. Computed in float32 whatever the input dtypes.
    """
    pred = pred.float()
    target = target.float()
    return (pred - target * torch.log(pred + POISSON_EPSILON)).mean()
