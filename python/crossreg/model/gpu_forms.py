"""The forms the model's products take on a GPU: the same values and gradients, in
kernels that run fast there.

An H200's profile of a training step of the paper's model (``benches/README.md``) found
three products in slow kernels. cuBLAS ran the 5,313-track head's bf16 product, whose
output rows are not 16-byte aligned, in ``align1`` kernels (8% of the step, ten times its
FLOPs' share); the first convolution, reading the 4 channels of a one-hot sequence, ran
at 3% of the GPU's peak; and cuDNN took its legacy ``wgrad_alg0`` kernel for the weight
gradients of four dilated convolutions (8.8 ms a step for 1% of the FLOPs). Here the
head's width and a narrow input are padded with zeros to a multiple of
:data:`GPU_MULTIPLE`, and a dilated convolution's weight gradient is taken from matrix
products over its taps (:func:`dilated_conv`). Each form applies on a GPU only
(:func:`gpu_multiple`, :func:`dilated_wgrad_as_matmul`) and can be switched off there,
to time what it gains.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn
from torch.nn import functional

#: The multiple that widths are padded to on a GPU (1 turns the padding off).
GPU_MULTIPLE = 8
#: Whether dilated convolutions take their weight gradient from matrix products on a GPU.
DILATED_WGRAD_AS_MATMUL = True


def gpu_multiple(x: torch.Tensor) -> int:
    """The multiple to pad widths to for a product on `x`'s device: :data:`GPU_MULTIPLE`
    on a GPU, 1 (no padding) elsewhere."""
    return GPU_MULTIPLE if x.is_cuda else 1


def dilated_wgrad_as_matmul(x: torch.Tensor) -> bool:
    """Whether a dilated convolution of `x` runs as :func:`dilated_conv`: on a GPU,
    unless :data:`DILATED_WGRAD_AS_MATMUL` is off."""
    return DILATED_WGRAD_AS_MATMUL and x.is_cuda


def padded_linear(x: torch.Tensor, dense: nn.Linear, multiple: int) -> torch.Tensor:
    """``dense(x)``, computed with the output width padded by zero rows of the weight to a
    multiple of `multiple` and cut back (a view of the padded product): the same values
    and gradients."""
    pad = -dense.out_features % multiple
    if pad == 0:
        return dense(x)
    weight = functional.pad(dense.weight, (0, 0, 0, pad))
    bias = None if dense.bias is None else functional.pad(dense.bias, (0, pad))
    return functional.linear(x, weight, bias)[..., : dense.out_features]


def pad_input_channels(
    x: torch.Tensor, weight: torch.Tensor, multiple: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """A convolution's input ``(B, C, ...)`` and weight ``(out, C, ...)`` with C padded by
    zero channels to a multiple of `multiple` (unchanged when it is one): the convolution
    of the two is the same, and so are the gradients of the real channels. The input keeps
    its memory format (as ``pad`` keeps it)."""
    pad = -x.shape[1] % multiple
    if pad == 0:
        return x, weight
    x = functional.pad(x, (0, 0) * (x.dim() - 2) + (0, pad))
    return x, functional.pad(weight, (0, 0) * (weight.dim() - 2) + (0, pad))


def dilated_conv(
    x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None, dilation: int
) -> torch.Tensor:
    """The "same" convolution (stride 1, zero padding) of `x` ``(B, C, L)``, or the
    trunk's channels-last ``(B, C, 1, L)``, with `weight` ``(out, C, k)`` (k odd) at
    `dilation`, whose weight gradient is k matrix products (:class:`_DilatedConv`). The
    weight and bias are cast to `x`'s dtype first (bf16 activations under autocast)."""
    if weight.shape[-1] % 2 == 0:
        raise ValueError(f"dilated_conv takes odd kernels, got {weight.shape[-1]} taps")
    weight = weight.to(x.dtype)
    bias = None if bias is None else bias.to(x.dtype)
    return _DilatedConv.apply(x, weight, bias, dilation)


def convolve_same(
    x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None, dilation: int
) -> torch.Tensor:
    """The "same" convolution (stride 1, zero padding) of `x` ``(B, C, L)`` with `weight`
    ``(out, C, k)`` at `dilation`, or of the trunk's channels-last ``(B, C, 1, L)`` as the
    1 × k two-dimensional convolution of the same weight."""
    if x.dim() == 3:
        return functional.conv1d(x, weight, bias, 1, "same", dilation)
    return functional.conv2d(x, weight.unsqueeze(2), bias, 1, "same", (1, dilation))


class _DilatedConv(torch.autograd.Function):
    """A dilated convolution whose weight gradient skips cuDNN.

    The forward pass and the input's gradient are cuDNN's; the weight's gradient is, for
    each tap, the products of the output's gradient ``(out, L)`` with the input shifted
    by the tap ``(C, L)``ᵀ, one per sequence (each in the activations' dtype), summed in
    float32 or wider: dense matrix products where cuDNN chose a legacy kernel. It keeps
    what the convolution keeps (the input and the weight)."""

    @staticmethod
    def forward(
        ctx: Any,
        x: torch.Tensor,
        weight: torch.Tensor,
        bias: torch.Tensor | None,
        dilation: int,
    ) -> torch.Tensor:
        ctx.save_for_backward(x, weight)
        ctx.dilation, ctx.has_bias = dilation, bias is not None
        with torch.autocast(x.device.type, enabled=False):
            return convolve_same(x, weight, bias, dilation)

    @staticmethod
    def backward(
        ctx: Any, grad: torch.Tensor
    ) -> tuple[torch.Tensor | None, torch.Tensor | None, torch.Tensor | None, None]:
        x, weight = ctx.saved_tensors
        dilation, taps = ctx.dilation, weight.shape[-1]
        reach = dilation * (taps - 1) // 2
        grad_x = grad_weight = grad_bias = None
        if ctx.needs_input_grad[0]:
            if x.dim() == 3:
                grad_x = torch.ops.aten.convolution_backward(
                    grad, x, weight, None, [1], [reach], [dilation], False, [0], 1,
                    [True, False, False],
                )[0]  # fmt: skip
            else:
                grad_x = torch.ops.aten.convolution_backward(
                    grad, x, weight.unsqueeze(2), None, [1, 1], [0, reach], [1, dilation],
                    False, [0, 0], 1, [True, False, False],
                )[0]  # fmt: skip
        batch, channels, length = x.shape[0], x.shape[1], x.shape[-1]
        rows = grad.reshape(batch, grad.shape[1], length)
        wide = torch.promote_types(grad.dtype, torch.float32)  # sums of bf16 in float32
        if ctx.needs_input_grad[1]:
            padded = functional.pad(x.reshape(batch, channels, length), (reach, reach))
            grad_weight = torch.stack(
                [
                    torch.matmul(
                        rows, padded[..., tap * dilation : tap * dilation + length].mT
                    ).sum(0, dtype=wide)
                    for tap in range(taps)
                ],
                dim=-1,
            ).to(weight.dtype)
        if ctx.has_bias and ctx.needs_input_grad[2]:
            grad_bias = rows.sum((0, 2), dtype=wide).to(weight.dtype)
        return grad_x, grad_weight, grad_bias, None
