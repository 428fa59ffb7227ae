"""Basenji2 trunk blocks as PyTorch modules over ``(B, C, L)``, or over ``(B, C, 1, L)``.

The second form is the trunk's channels-last layout (:attr:`SeqNN.channels_last`): the
same values as a one-row image in ``torch.channels_last`` memory, where each convolution
is the 1 × k two-dimensional convolution of the same weights. Every block computes the
same function in either form.

Each block follows Basenji's pre-activation ``conv_block``: activation → Conv1D (no bias,
"same" padding) → batch norm → dropout → max-pool. Batch norm uses Keras' epsilon 1e-3 and
updates its moving variance with the biased batch variance, as Keras does. Under torchrun
batch norm and dropout see the global batch, so N processes compute what one does.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from typing import Any

import torch
from torch import nn
from torch.nn import functional

from crossreg import distributed
from crossreg.model.activations import make_activation
from crossreg.model.gpu_forms import (
    convolve_same,
    dilated_conv,
    dilated_wgrad_as_matmul,
    gpu_multiple,
    pad_input_channels,
)
from crossreg.model.params_trunk import Block, conv_tower_filters, residual_dilations
from crossreg.model.pooling import MaxPool

BN_EPSILON = 1e-3
# Keras' truncated normal keeps values within 2 std; this rescales it to the wanted std
TRUNCATED_NORMAL_STD_CORRECTION = 0.87962566103423978


class KerasBatchNorm(nn.BatchNorm1d):
    """Batch norm over ``(B, C, L)`` (or ``(B, C, 1, L)``) with Keras semantics.

    ``keras_momentum`` is Keras' (moving = m·moving + (1−m)·batch), i.e. PyTorch momentum
    ``1 − m``. In training the moving variance takes the biased batch variance.
    ``gamma_init`` ("ones"/"zeros") is the initial scale.
    """

    # never None here: the moving statistics are always tracked, with a fixed momentum
    running_mean: torch.Tensor
    running_var: torch.Tensor
    num_batches_tracked: torch.Tensor
    momentum: float

    def __init__(
        self, channels: int, keras_momentum: float = 0.99, gamma_init: str = "ones"
    ) -> None:
        super().__init__(channels, eps=BN_EPSILON, momentum=1.0 - keras_momentum)
        self.gamma_init = gamma_init
        self.reset_parameters()

    def reset_parameters(self) -> None:
        super().reset_parameters()
        if getattr(self, "gamma_init", "ones") == "zeros":
            nn.init.zeros_(self.weight)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training:
            return functional.batch_norm(
                x, self.running_mean, self.running_var, self.weight, self.bias, False, 0.0, self.eps
            )
        if distributed.world_size() > 1:
            return self._global_batch_forward(x)
        # one pass: the native kernel normalises and updates copies of the moving averages
        # (autograd keeps them), with the unbiased batch variance; Keras takes the biased
        # one, put right after
        mean, var = self.running_mean.clone(), self.running_var.clone()
        out = functional.batch_norm(
            x, mean, var, self.weight, self.bias, True, self.momentum, self.eps
        )
        with torch.no_grad():
            count = x.numel() // x.shape[1]
            kept = self.running_var * (1.0 - self.momentum)
            unbiased_part = var - kept
            self.running_mean.copy_(mean)
            self.running_var.copy_(kept + unbiased_part * ((count - 1) / max(count, 1)))
            self.num_batches_tracked.add_(1)
        return out

    def _global_batch_forward(self, x: torch.Tensor) -> torch.Tensor:
        """Training-mode batch norm with statistics over every process's part of the batch,
        so that N processes compute what one process would on the whole batch."""
        out, mean, var = _GlobalBatchNorm.apply(x, self.weight, self.bias, self.eps)
        with torch.no_grad():
            self.running_mean.lerp_(mean.to(self.running_mean.dtype), self.momentum)
            self.running_var.lerp_(var.to(self.running_var.dtype), self.momentum)
            self.num_batches_tracked.add_(1)
        return out


def _per_channel(x: torch.Tensor, values: torch.Tensor) -> torch.Tensor:
    """`values` ``(C,)`` shaped to broadcast over `x` ``(B, C, ...)``."""
    return values.view((1, x.shape[1]) + (1,) * (x.dim() - 2))


def _moment_sums(x: torch.Tensor) -> torch.Tensor:
    """``[Σx per channel, Σx² per channel, count]`` over all but the channel axis, in
    float32 (float64 for float64 input), without a float32 copy of `x`."""
    dims = tuple(d for d in range(x.dim()) if d != 1)
    count = x.numel() // x.shape[1]
    if x.dtype in (torch.float32, torch.float64):  # one pass (Welford), exact on any device
        var, mean = torch.var_mean(x, dims, correction=0)
        sums = [mean * count, (var + mean * mean) * count]
    else:  # bf16/fp16 (autocast): float32 accumulation, exact on GPUs (tree reductions)
        wide = torch.float32
        sums = [x.sum(dims, dtype=wide), torch.linalg.vector_norm(x, 2, dims, dtype=wide) ** 2]
    return torch.cat([*sums, sums[0].new_full((1,), count)])


class _GlobalBatchNorm(torch.autograd.Function):
    """Batch norm over the global batch of all processes, forward and backward.

    Each pass sums per-channel statistics over this process's part (float32 sums, no
    float32 copy of the activations), adds them up over processes, and lets PyTorch's
    batch-norm kernels do the work: the inference kernel normalises with the global mean
    and variance in one pass; the backward kernel's gradient, computed with this
    process's sums, is corrected to the global sums in two more. What a step keeps is
    what one process's batch norm keeps: the input and two numbers per channel. Returns
    the output and the global (biased) mean and variance.
    """

    @staticmethod
    def forward(
        ctx: Any, x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor, eps: float
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        channels = x.shape[1]
        sums = distributed.sum_over_processes(_moment_sums(x))
        total = sums[-1]
        mean = sums[:channels] / total
        var = (sums[channels : 2 * channels] / total - mean * mean).clamp_min(0.0)
        # PyTorch's kernels take statistics in the weights' dtype (float32 under autocast)
        mean_w, var_w = mean.to(weight.dtype), var.to(weight.dtype)
        out = functional.batch_norm(x, mean_w, var_w, weight, bias, False, 0.0, eps)
        ctx.save_for_backward(x, weight, mean_w, torch.rsqrt(var + eps).to(weight.dtype), total)
        ctx.eps = eps
        ctx.mark_non_differentiable(mean, var)
        return out, mean, var

    @staticmethod
    def backward(
        ctx: Any, grad: torch.Tensor, _mean: torch.Tensor, _var: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, None]:
        x, weight, mean, invstd, total = ctx.saved_tensors
        # the kernel's gradient with this process's sums of grad and grad · x̂ (returned as
        # the bias's and the weight's gradients), corrected to the global batch's sums
        d_x, grad_weight, grad_bias = torch.ops.aten.native_batch_norm_backward(
            grad, x, weight, None, None, mean, invstd, True, ctx.eps, [True, True, True]
        )
        wide, channels, local = total.dtype, x.shape[1], x.numel() // x.shape[1]
        local_sums = torch.cat([grad_bias, grad_weight]).to(wide)
        shift = local_sums / local - distributed.sum_over_processes(local_sums) / total
        # d_x += weight·invstd·(shift of mean grad + x̂ · shift of mean grad·x̂), as b·x + c
        invstd, mean = invstd.to(wide), mean.to(wide)
        a = weight.to(wide) * invstd
        b = a * invstd * shift[channels:]
        c = a * shift[:channels] - b * mean
        d_x.addcmul_(_per_channel(x, b), x).add_(_per_channel(x, c))
        return d_x, grad_weight, grad_bias, None


class BatchSplitDropout(nn.Module):
    """Dropout whose masks do not depend on how a batch is split over processes.

    Each process draws the mask of the whole global batch (its part times the number of
    processes) from the random stream every process shares (the trainer seeds it per
    epoch) and applies its own contiguous slice, so N processes drop exactly what one
    process drops for the same examples. Drawing the global mask costs N times the random
    numbers of the local one, small beside the convolutions.
    """

    def __init__(self, rate: float) -> None:
        super().__init__()
        if not 0.0 < rate < 1.0:
            raise ValueError(f"dropout rate must be in (0, 1), got {rate}")
        self.rate = rate

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training:
            return x
        local, processes = x.shape[0], distributed.world_size()
        draws = torch.rand((local * processes, *x.shape[1:]), device=x.device)
        start = distributed.rank() * local
        keep = draws[start : start + local] >= self.rate
        return x * keep.to(x.dtype) * (1.0 / (1.0 - self.rate))

    def extra_repr(self) -> str:
        return f"rate={self.rate}"


class LengthConv(nn.Conv1d):
    """``Conv1d`` ("same" padding, stride 1) over ``(B, C, L)``, or over the trunk's
    channels-last ``(B, C, 1, L)`` as the 1 × k two-dimensional convolution of the same
    weights (cuDNN's NHWC kernels, which bf16 tensor cores prefer).

    On a GPU (:mod:`crossreg.model.gpu_forms`) an input narrower than
    :data:`~crossreg.model.gpu_forms.GPU_MULTIPLE` channels (the one-hot sequence's 4)
    is padded with zero channels, and a dilated convolution (odd kernel) takes its
    weight gradient from matrix products. Wider unaligned inputs (the tower's 339, 399,
    …) are not padded: their convolutions ran at a third of an H200's peak already, and
    padding would copy their whole input."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        weight, dilation = self.weight, self.dilation[0]
        if dilation > 1 and self.kernel_size[0] % 2 and dilated_wgrad_as_matmul(x):
            return dilated_conv(x, weight, self.bias, dilation)
        multiple = gpu_multiple(x)
        if self.in_channels < multiple:
            x, weight = pad_input_channels(x, weight, multiple)
        return convolve_same(x, weight, self.bias, dilation)


class ConvBlock(nn.Module):
    """Basenji ``conv_block``: ``(B, C_in, L)`` → ``(B, filters, ceil(L / pool_size))``."""

    def __init__(
        self,
        in_channels: int,
        filters: int,
        *,
        kernel_size: int = 1,
        dilation: int = 1,
        dropout: float = 0.0,
        pool_size: int = 1,
        activation: str = "gelu",
        gelu_form: str = "tanh",
        bn_momentum: float = 0.99,
        gamma_init: str = "ones",
    ) -> None:
        super().__init__()
        self.activation = make_activation(activation, gelu_form)
        self.conv = LengthConv(
            in_channels, filters, kernel_size, dilation=dilation, padding="same", bias=False
        )
        self.norm = KerasBatchNorm(filters, bn_momentum, gamma_init)
        self.dropout = BatchSplitDropout(dropout) if dropout > 0 else nn.Identity()
        # Keras "same" max-pooling with stride = pool (−inf padding where pool does not
        # divide L); a byte per output kept for backward (MaxPool1d keeps its input and
        # int64 indices); Basenji pools only where pool_size > 1
        self.pool = MaxPool(pool_size) if pool_size > 1 else nn.Identity()
        self.pool_size = pool_size

    @property
    def out_channels(self) -> int:
        return self.conv.out_channels

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.pool(self.dropout(self.norm(self.conv(self.activation(x)))))


class Residual(nn.Module):
    """One repeat of ``dilated_residual``: ``x + inner(x)``, shape kept."""

    def __init__(self, inner: nn.Sequential) -> None:
        super().__init__()
        self.inner = inner

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.inner(x)


class Crop(nn.Module):
    """Keras ``Cropping1D``: drop `left` and `right` positions of the length axis."""

    def __init__(self, left: int, right: int) -> None:
        super().__init__()
        self.left, self.right = left, right

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x[..., self.left : x.shape[-1] - self.right]

    def extra_repr(self) -> str:
        return f"left={self.left}, right={self.right}"


def _conv_kwargs(options: Mapping[str, Any], gelu_form: str) -> dict[str, Any]:
    return {
        "activation": options.get("activation", "gelu"),
        "gelu_form": gelu_form,
        "bn_momentum": float(options.get("bn_momentum", 0.99)),
    }


def _conv_block(
    in_channels: int, filters: int, options: Mapping[str, Any], gelu_form: str
) -> ConvBlock:
    """A conv block of `filters` channels with a ``conv_block``'s (or each of a
    ``conv_tower``'s convolutions') kernel, dilation, dropout, pooling and norm options."""
    return ConvBlock(
        in_channels,
        filters,
        kernel_size=int(options.get("kernel_size", 1)),
        dilation=int(options.get("dilation_rate", 1)),
        dropout=float(options.get("dropout", 0.0)),
        pool_size=int(options.get("pool_size", 1)),
        gamma_init=options.get("bn_gamma") or "ones",
        **_conv_kwargs(options, gelu_form),
    )


def build_block(block: Block, in_channels: int, gelu_form: str) -> Iterator[nn.Module]:
    """The modules of one params block (a tower or residual stack gives several)."""
    opts = block.options
    if block.name == "conv_block":
        yield _conv_block(in_channels, int(opts.get("filters", in_channels)), opts, gelu_form)
    elif block.name == "conv_tower":
        for filters in conv_tower_filters(opts):
            yield _conv_block(in_channels, filters, opts, gelu_form)
            in_channels = filters
    elif block.name == "dilated_residual":
        for dilation in residual_dilations(opts):
            inner = nn.Sequential(
                ConvBlock(
                    in_channels,
                    int(opts["filters"]),
                    kernel_size=int(opts.get("kernel_size", 3)),
                    dilation=dilation,
                    gamma_init="ones",
                    **_conv_kwargs(opts, gelu_form),
                ),
                ConvBlock(
                    int(opts["filters"]),
                    in_channels,
                    dropout=float(opts.get("dropout", 0.0)),
                    gamma_init="zeros",
                    **_conv_kwargs(opts, gelu_form),
                ),
            )
            yield Residual(inner)
    elif block.name == "Cropping1D":
        cropping = opts["cropping"]
        left, right = (cropping, cropping) if isinstance(cropping, int) else tuple(cropping)
        yield Crop(int(left), int(right))
    else:
        raise ValueError(f"block '{block.name}' is not supported")


def he_normal_(weight: torch.Tensor, fan_in: int, generator: torch.Generator | None) -> None:
    """Keras he_normal: truncated normal (±2 std) with std ``sqrt(2/fan_in)/0.87962566``."""
    std = math.sqrt(2.0 / fan_in) / TRUNCATED_NORMAL_STD_CORRECTION
    nn.init.trunc_normal_(weight, 0.0, std, -2 * std, 2 * std, generator=generator)


def init_weights(module: nn.Module, generator: torch.Generator | None = None) -> None:
    """Basenji's initialisation of every conv, dense and batch-norm layer under `module`:
    he_normal kernels, zero biases, BN gamma ones (zeros where a block asks), beta 0,
    moving mean 0 and variance 1."""
    for m in module.modules():
        if isinstance(m, nn.Conv1d):
            he_normal_(m.weight, m.in_channels * m.kernel_size[0], generator)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.Linear):
            he_normal_(m.weight, m.in_features, generator)
            nn.init.zeros_(m.bias)
        elif isinstance(m, KerasBatchNorm):
            m.reset_running_stats()
            m.reset_parameters()
