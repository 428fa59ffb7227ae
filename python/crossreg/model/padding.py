"""Zero padding that puts a GPU's matrix products on aligned tensor-core kernels.

cuBLAS and cuDNN run bf16 products whose channel or output widths are not multiples of 8
(16 bytes) in slow kernels: on an H200 the paper's 5,313-track head took 8% of a training
step, ten times its FLOPs' share, and the first convolution, reading the 4 channels of a
one-hot sequence, ran at 3% of the GPU's peak. Padding with zeros changes no value and no
gradient; it is applied on a GPU only (:func:`gpu_multiple`).
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional

#: The multiple that widths are padded to on a GPU (1 turns the padding off).
GPU_MULTIPLE = 8


def gpu_multiple(x: torch.Tensor) -> int:
    """The multiple to pad widths to for a product on `x`'s device: :data:`GPU_MULTIPLE`
    on a GPU, 1 (no padding) elsewhere."""
    return GPU_MULTIPLE if x.is_cuda else 1


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
    its memory format."""
    pad = -x.shape[1] % multiple
    if pad == 0:
        return x, weight
    channels_last = x.dim() == 4 and x.is_contiguous(memory_format=torch.channels_last)
    x = functional.pad(x, (0, 0) * (x.dim() - 2) + (0, pad))
    if channels_last:
        x = x.contiguous(memory_format=torch.channels_last)
    return x, functional.pad(weight, (0, 0) * (weight.dim() - 2) + (0, pad))
