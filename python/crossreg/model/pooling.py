"""Max pooling over the length axis that keeps one byte per output for its backward pass.

PyTorch's ``MaxPool1d`` keeps, for training, its whole input and the int64 index of each
window's maximum: in the paper's model at bf16, with this pooling a sequence keeps 514 MiB
for the backward pass instead of 983 (``benches/bench_roofline.py``), and on a GPU
``MaxPool1d`` writes the int64 indices even at inference.
:class:`MaxPool` keeps only the offset of each maximum inside its window (uint8) and
writes nothing beyond the output when no gradient is wanted. Outputs and gradients equal
``MaxPool1d(k)``'s on the input padded with −inf as Keras' (TensorFlow's) "same" pooling
pads it: ``k − L mod k`` positions when `k` does not divide L, half of them (rounded
down) at the start and the rest at the end. The first maximum of a window takes the
gradient. A window holding a NaN gives NaN, as there; where its gradient goes is not
kept the same.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn
from torch.nn import functional


def _padding(length: int, size: int) -> tuple[int, int]:
    """Keras "same" pooling's −inf padding (start, end) of `length` positions: what makes
    it a multiple of `size`, the smaller half at the start."""
    pad = -length % size
    return pad // 2, pad - pad // 2


def _windows(x: torch.Tensor, size: int) -> torch.Tensor:
    """`x` ``(..., L)`` as ``(..., ceil(L / size), size)``, padded with −inf as
    :func:`_padding` says (a view when `size` divides L)."""
    padding = _padding(x.shape[-1], size)
    if any(padding):
        x = functional.pad(x, padding, value=float("-inf"))
    return x.unflatten(-1, (x.shape[-1] // size, size))


def _max_of_windows(windows: torch.Tensor) -> torch.Tensor:
    """Each window's maximum, NaN where the window holds one."""
    out = windows[..., 0]
    for offset in range(1, windows.shape[-1]):
        out = torch.maximum(out, windows[..., offset])
    return out


def _memory_format(x: torch.Tensor) -> torch.memory_format:
    """``channels_last`` for a channels-last ``(B, C, 1, L)`` input, else contiguous."""
    if x.dim() == 4 and x.is_contiguous(memory_format=torch.channels_last):
        return torch.channels_last
    return torch.contiguous_format


class _MaxPool(torch.autograd.Function):
    @staticmethod
    def forward(ctx: Any, x: torch.Tensor, size: int) -> torch.Tensor:
        windows = _windows(x, size)
        out = windows[..., 0]
        first_max = None
        for offset in range(1, size):
            value = windows[..., offset]
            larger = value > out
            if first_max is None:  # offsets 0 and 1: the comparison's own bytes, or
                first_max = (  # a cast the compiler fuses (inductor of torch 2.11 on
                    larger.to(torch.uint8)  # CUDA cannot lower a bool tensor's view)
                    if torch.compiler.is_compiling()
                    else larger.view(torch.uint8)
                )
            else:
                first_max.masked_fill_(larger, offset)
            out = torch.maximum(out, value)
        ctx.save_for_backward(first_max)
        ctx.size, ctx.length = size, x.shape[-1]
        ctx.start = _padding(ctx.length, size)[0]
        ctx.padded_shape = (*windows.shape[:-2], windows.shape[-2] * size)
        ctx.memory_format = _memory_format(x)
        return out

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> tuple[torch.Tensor, None]:
        (first_max,) = ctx.saved_tensors
        offsets = torch.arange(ctx.size, dtype=torch.uint8, device=grad.device)
        chosen = first_max.unsqueeze(-1) == offsets
        zero = torch.zeros((), dtype=grad.dtype, device=grad.device)
        if torch.compiler.is_compiling():  # the compiler lays out what it fuses
            d_x = torch.where(chosen, grad.unsqueeze(-1), zero).flatten(-2)
        else:  # written in the input's layout, so a channels-last trunk's gradients stay so
            d_x = torch.empty(
                ctx.padded_shape,
                dtype=grad.dtype,
                device=grad.device,
                memory_format=ctx.memory_format,
            )
            torch.where(chosen, grad.unsqueeze(-1), zero, out=d_x.unflatten(-1, (-1, ctx.size)))
        return d_x[..., ctx.start : ctx.start + ctx.length], None


class MaxPool(nn.Module):
    """Keras "same" max pooling with stride = `size` over the last axis of ``(B, C, L)``
    or ``(B, C, 1, L)`` (to ``ceil(L / size)``; padded as :func:`_padding` says), keeping
    a byte per output for the backward pass."""

    def __init__(self, size: int) -> None:
        super().__init__()
        if not 2 <= size <= 255:
            raise ValueError(f"pool size must be in [2, 255], got {size}")
        self.size = size

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if torch.is_grad_enabled() and x.requires_grad:
            return _MaxPool.apply(x, self.size)
        return _max_of_windows(_windows(x, self.size))

    def extra_repr(self) -> str:
        return f"size={self.size}"
