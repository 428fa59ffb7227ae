"""crossreg's max pooling against PyTorch's MaxPool1d on Keras' "same" padding, and what it
keeps."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn
from torch.nn import functional

from crossreg.model.pooling import MaxPool


def _keras_same_pool(size: int):
    """Keras' (TensorFlow's) "same" max pooling with stride `size`, written plainly: pad
    with −inf to a multiple of `size`, ``pad // 2`` at the start, then PyTorch's pooling."""

    def pool(x: torch.Tensor) -> torch.Tensor:
        pad = math.ceil(x.shape[-1] / size) * size - x.shape[-1]
        padded = functional.pad(x, (pad // 2, pad - pad // 2), value=float("-inf"))
        return functional.max_pool1d(padded, size)

    return pool


def _pool_both(x: torch.Tensor, size: int, grad_seed: int = 0):
    """Output and input gradient of the plain reference pooling and of crossreg's on
    copies of `x`."""
    results = []
    for pool in (_keras_same_pool(size), MaxPool(size)):
        leaf = x.clone().requires_grad_(True)
        out = pool(leaf)
        grad = torch.randn(out.shape, generator=torch.Generator().manual_seed(grad_seed))
        out.backward(grad.to(out.dtype))
        results.append((out.detach(), leaf.grad))
    return results


@pytest.mark.parametrize("size", [2, 3, 4, 5])
@pytest.mark.parametrize("length", [1, 7, 8, 9, 11])
@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16, torch.float64])
def test_equals_keras_same_pooling_with_ties_and_padding(size, length, dtype):
    # small integers: most windows hold ties, where the first maximum takes the gradient
    x = torch.randint(-2, 3, (2, 3, length), generator=torch.Generator().manual_seed(1)).to(dtype)
    (ref_out, ref_grad), (out, grad) = _pool_both(x, size)
    assert out.shape == (2, 3, math.ceil(length / size))
    assert torch.equal(out, ref_out)
    assert torch.equal(grad, ref_grad)


def test_equals_maxpool1d_on_real_valued_input():
    x = torch.randn(4, 16, 1001, generator=torch.Generator().manual_seed(2))
    (ref_out, ref_grad), (out, grad) = _pool_both(x, 2)
    assert torch.equal(out, ref_out)
    assert torch.equal(grad, ref_grad)


def test_gradient_passes_gradcheck():
    x = torch.randn(2, 3, 13, dtype=torch.float64, generator=torch.Generator().manual_seed(3))
    assert torch.autograd.gradcheck(MaxPool(3), (x.requires_grad_(True),))


def test_keeps_one_byte_per_output_and_not_its_input():
    x = torch.randn(2, 8, 64, requires_grad=True)
    kept: list[torch.Tensor] = []

    def keep(t: torch.Tensor) -> torch.Tensor:
        kept.append(t)
        return t

    with torch.autograd.graph.saved_tensors_hooks(keep, lambda t: t):
        out = MaxPool(2)(x)
    assert [(t.dtype, tuple(t.shape)) for t in kept] == [(torch.uint8, tuple(out.shape))]


def test_inference_builds_no_graph():
    x = torch.randn(2, 4, 10, requires_grad=True)
    expected = nn.MaxPool1d(2, ceil_mode=True)(x.detach())
    with torch.no_grad():
        out = MaxPool(2)(x)
    assert out.grad_fn is None and torch.equal(out, expected)
    with torch.inference_mode():
        assert torch.equal(MaxPool(2)(x.detach()), expected)


def test_a_window_with_nan_gives_nan():
    x = torch.tensor([[[1.0, float("nan"), float("nan"), 2.0, 3.0, 4.0]]], requires_grad=True)
    out = MaxPool(2)(x)
    assert torch.isnan(out[0, 0, :2]).all() and out[0, 0, 2] == 4.0
    with torch.no_grad():
        assert torch.isnan(MaxPool(2)(x)[0, 0, :2]).all()


@pytest.mark.parametrize("size", [0, 1, 256])
def test_refuses_a_size_without_pooling_or_beyond_a_byte(size):
    with pytest.raises(ValueError, match="pool size"):
        MaxPool(size)


@pytest.mark.parametrize("channels_last", [False, True])
def test_keras_same_padding_puts_the_smaller_half_at_the_start(channels_last):
    x = torch.tensor([[[5.0, 1.0, 2.0, 3.0, 9.0, 4.0, 0.0, 6.0, 8.0]]])
    if channels_last:
        x = x.unsqueeze(2).contiguous(memory_format=torch.channels_last)
    x.requires_grad_(True)
    # 9 positions by 4: 3 windows, 3 −inf positions, 1 at the start and 2 at the end:
    # [−inf, 5, 1, 2], [3, 9, 4, 0], [6, 8, −inf, −inf]
    out = MaxPool(4)(x)
    out.backward(torch.tensor([1.0, 10.0, 100.0]).view(out.shape))
    assert out.flatten().tolist() == [5.0, 9.0, 8.0]
    assert x.grad.flatten().tolist() == [1.0, 0.0, 0.0, 0.0, 10.0, 0.0, 0.0, 0.0, 100.0]
    with torch.no_grad():
        assert MaxPool(4)(x).flatten().tolist() == [5.0, 9.0, 8.0]
