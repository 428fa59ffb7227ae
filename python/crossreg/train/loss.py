"""Basenji's training loss."""

from __future__ import annotations

from typing import Any

import torch

POISSON_EPSILON = 1e-7


def _working_dtype(pred: torch.Tensor) -> torch.dtype:
    """float32, or the predictions' dtype where it is wider."""
    return torch.promote_types(pred.dtype, torch.float32)


class _PoissonLoss(torch.autograd.Function):
    """The loss with its gradient written out, ``(1 − target / (pred + ε)) / n``.

    Autograd of the plain expression keeps two float32 tensors for the backward pass,
    ``pred + ε`` (the log's input) and the target (at the paper's width and batch 32,
    609 MB each); this keeps only `pred` and `target` as they came, in their own dtypes,
    and makes each pass's float32 temporaries while it runs.
    """

    @staticmethod
    def forward(ctx: Any, pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        ctx.save_for_backward(pred, target)
        p = pred.to(_working_dtype(pred))
        return (p - torch.xlogy(target.to(p.dtype), p + POISSON_EPSILON)).mean()

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> tuple[torch.Tensor, None]:
        pred, target = ctx.saved_tensors
        shifted = pred.to(_working_dtype(pred)) + POISSON_EPSILON
        one = torch.ones((), dtype=shifted.dtype, device=pred.device)
        d_pred = torch.addcdiv(one, target.to(shifted.dtype), shifted, value=-1.0)
        return d_pred.mul_(grad / pred.numel()).to(pred.dtype), None


def poisson_loss(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Keras' Poisson loss as Basenji trains with it: ``mean(pred - target * log(pred + 1e-7))``.

    The mean runs over every element (batch × bins × tracks); there is no log-factorial
    term. Computed in float32 (float64 for float64 predictions) whatever the input
    dtypes (bf16 predictions, float16 targets); differentiable in `pred` only, and
    without keeping float32 copies of either input for the backward pass.
    """
    if target.requires_grad:
        raise ValueError("the Poisson loss is differentiated in the predictions only")
    return _PoissonLoss.apply(pred, target)
