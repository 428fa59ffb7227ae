"""The forms of the model's products on a GPU (crossreg.model.gpu_forms): the same values
and gradients as the plain ones."""

from __future__ import annotations

import copy

import pytest
import torch

from crossreg.model import blocks, gpu_forms, seqnn
from crossreg.model.gpu_forms import (
    convolve_same,
    dilated_conv,
    pad_input_channels,
    padded_linear,
)
from crossreg.model.params import parse_params
from crossreg.model.seqnn import SeqNN
from tests.pipeline import small_params
from tests.test_model_seqnn import train_and_read


@pytest.mark.parametrize(("units", "bias"), [(13, True), (13, False), (16, True), (1, True)])
def test_a_padded_head_product_gives_the_plain_values_and_gradients(units, bias):
    """The head's product with its width padded to a multiple of 8 (as on a GPU) and cut
    back: the plain layer's outputs and the gradients of its input, weight and bias."""
    gen = torch.Generator().manual_seed(3)
    dense = torch.nn.Linear(6, units, bias=bias, dtype=torch.float64)
    x = torch.randn(2, 5, 6, generator=gen, dtype=torch.float64)
    weights = torch.randn(2, 5, units, generator=gen, dtype=torch.float64)
    reads = []
    for run in (dense, lambda x: padded_linear(x, dense, 8)):
        dense.zero_grad()
        x_run = x.clone().requires_grad_()
        out = run(x_run)
        assert out.shape == (2, 5, units)
        (out * weights).sum().backward()
        grads = [x_run.grad, *(p.grad for p in dense.parameters())]
        reads.append([out.detach(), *(g.clone() for g in grads)])
    for padded, plain in zip(reads[1], reads[0], strict=True):
        torch.testing.assert_close(padded, plain, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("channels_last", [False, True])
@pytest.mark.parametrize("channels", [4, 3, 8])
def test_padded_input_channels_give_the_plain_convolution_and_gradients(channels, channels_last):
    """A convolution of an input and weight padded with zero channels to a multiple of 8:
    the plain convolution's values and the gradients of the real input and weight, in
    both trunk layouts, the input's memory format kept; a multiple is left as it is."""
    gen = torch.Generator().manual_seed(5)
    x = torch.randn(2, channels, 40, generator=gen, dtype=torch.float64)
    weight = torch.randn(6, channels, 5, generator=gen, dtype=torch.float64)
    grad_out = torch.randn(2, 6, 40, generator=gen, dtype=torch.float64)
    if channels_last:
        x = x.unsqueeze(2).contiguous(memory_format=torch.channels_last)
        grad_out = grad_out.unsqueeze(2)

    def convolve(x: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
        if channels_last:
            return torch.nn.functional.conv2d(x, weight.unsqueeze(2), None, 1, "same", (1, 2))
        return torch.nn.functional.conv1d(x, weight, None, 1, "same", 2)

    reads = []
    for pad in (False, True):
        x_run, w_run = x.clone().requires_grad_(), weight.clone().requires_grad_()
        x_in, w_in = pad_input_channels(x_run, w_run, 8) if pad else (x_run, w_run)
        if pad:
            assert x_in.shape[1] == w_in.shape[1] == 8
            assert x_in.is_contiguous(
                memory_format=torch.channels_last if channels_last else torch.contiguous_format
            )
            if channels == 8:
                assert x_in is x_run and w_in is w_run
        out = convolve(x_in, w_in)
        (out * grad_out).sum().backward()
        reads.append((out.detach(), x_run.grad, w_run.grad))
    for padded, plain in zip(reads[1], reads[0], strict=True):
        torch.testing.assert_close(padded, plain, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("channels_last", [False, True])
def test_a_model_in_its_gpu_forms_trains_and_predicts_as_the_plain_one(monkeypatch, channels_last):
    """The whole model in its GPU forms, forced on the CPU (the 4-channel stem and the 5-
    and 3-track heads padded to 8, the dilated convolutions' weight gradients from matrix
    products): outputs in training and inference, gradients and batch-norm statistics
    equal the plain model's; only the narrow stem's input is padded, only the dilated
    convolutions take their form."""
    model = SeqNN(
        parse_params(small_params({"human": 5, "mouse": 3})).model,
        generator=torch.Generator().manual_seed(4),
        channels_last=channels_last,
    )
    x = torch.nn.functional.one_hot(
        torch.randint(0, 4, (3, model.seq_length), generator=torch.Generator().manual_seed(8)),
        4,
    ).float()
    plain = train_and_read(copy.deepcopy(model), x, "mouse")
    padded_inputs: list[int] = []
    heads: list[int] = []
    dilated: list[int] = []

    def pad_and_note(x, weight, multiple):
        padded_inputs.append(x.shape[1])
        return pad_input_channels(x, weight, multiple)

    def padded_head(x, dense, multiple):
        heads.append(dense.out_features)
        return padded_linear(x, dense, multiple)

    def dilated_and_note(x, weight, bias, dilation):
        dilated.append(dilation)
        return dilated_conv(x, weight, bias, dilation)

    monkeypatch.setattr(blocks, "gpu_multiple", lambda _x: gpu_forms.GPU_MULTIPLE)
    monkeypatch.setattr(seqnn, "gpu_multiple", lambda _x: gpu_forms.GPU_MULTIPLE)
    monkeypatch.setattr(blocks, "dilated_wgrad_as_matmul", lambda _x: True)
    monkeypatch.setattr(blocks, "pad_input_channels", pad_and_note)
    monkeypatch.setattr(seqnn, "padded_linear", padded_head)
    monkeypatch.setattr(blocks, "dilated_conv", dilated_and_note)
    forms = train_and_read(model, x, "mouse")
    assert padded_inputs == [4] * 3  # the stem's conv, in training and for both heads
    assert sorted(set(heads)) == [3, 5]
    # the residual blocks' dilated convolutions, and only they, in each of three passes
    dilations = [m.dilation[0] for m in model.modules() if isinstance(m, blocks.LengthConv)]
    assert dilated == [d for d in dilations if d > 1] * 3 and dilated
    assert plain.keys() == forms.keys()
    for key in plain:
        torch.testing.assert_close(forms[key], plain[key], rtol=1e-5, atol=1e-6, msg=key)


@pytest.mark.parametrize("channels_last", [False, True])
@pytest.mark.parametrize(
    ("taps", "dilation", "length"), [(3, 2, 40), (3, 9, 40), (5, 3, 17), (3, 50, 40), (1, 4, 9)]
)
@pytest.mark.parametrize("bias", [False, True])
def test_a_dilated_convolution_with_its_weight_gradient_from_products_is_the_convolution(
    taps, dilation, length, bias, channels_last
):
    """A "same" convolution at a dilation whose weight gradient is the taps' matrix
    products: the convolution's values and the gradients of its input, weight and bias
    (a reach past the whole sequence too), its output in the input's memory format."""
    gen = torch.Generator().manual_seed(7)
    x = torch.randn(2, 6, length, generator=gen, dtype=torch.float64)
    weight = torch.randn(5, 6, taps, generator=gen, dtype=torch.float64)
    b = torch.randn(5, generator=gen, dtype=torch.float64) if bias else None
    grad_out = torch.randn(2, 5, length, generator=gen, dtype=torch.float64)
    if channels_last:
        x = x.unsqueeze(2).contiguous(memory_format=torch.channels_last)
        grad_out = grad_out.unsqueeze(2).contiguous(memory_format=torch.channels_last)
    reads = []
    for form in (convolve_same, dilated_conv):
        leaves = [t.clone().requires_grad_() for t in (x, weight) + ((b,) if bias else ())]
        out = form(leaves[0], leaves[1], leaves[2] if bias else None, dilation)
        if channels_last:
            assert out.is_contiguous(memory_format=torch.channels_last)
        (out * grad_out).sum().backward()
        reads.append([out.detach(), *(leaf.grad for leaf in leaves)])
    for products, plain in zip(reads[1], reads[0], strict=True):
        torch.testing.assert_close(products, plain, rtol=1e-12, atol=1e-12)


def test_a_dilated_convolution_in_bf16_keeps_float32_weights_and_refuses_even_kernels():
    """Under autocast's dtypes (bf16 activations, float32 weights) the gradient reaches
    the float32 weight as the plain convolution's does, within bf16 rounding; an even
    kernel, whose "same" padding is lopsided, is refused."""
    gen = torch.Generator().manual_seed(9)
    x = torch.randn(4, 16, 64, generator=gen).to(torch.bfloat16)
    weight = torch.randn(8, 16, 3, generator=gen, requires_grad=True)
    grad_out = torch.randn(4, 8, 64, generator=gen).to(torch.bfloat16)
    grads = []
    for form in (convolve_same, dilated_conv):
        weight.grad = None
        out = form(x, weight.to(torch.bfloat16) if form is convolve_same else weight, None, 4)
        assert out.dtype == torch.bfloat16
        (out.float() * grad_out.float()).sum().backward()
        assert weight.grad is not None and weight.grad.dtype == torch.float32
        grads.append(weight.grad.clone())
    torch.testing.assert_close(grads[1], grads[0], rtol=2e-2, atol=2e-1)
    with pytest.raises(ValueError, match="odd kernels, got 4 taps"):
        dilated_conv(x, torch.zeros(8, 16, 4), None, 2)


@pytest.mark.parametrize("channels_last", [False, True])
def test_the_gpu_forms_compile_into_one_graph_that_gives_the_eager_pass(monkeypatch, channels_last):
    """torch.compile (Inductor, on the CPU here) of the model's forward and backward pass
    with the GPU forms forced (batch norm in inference mode, no dropout, so that both runs
    compute one function): one graph, the dilated convolutions' autograd function inside
    it, the eager outputs and gradients."""
    monkeypatch.setattr(blocks, "dilated_wgrad_as_matmul", lambda _x: True)
    monkeypatch.setattr(blocks, "gpu_multiple", lambda _x: gpu_forms.GPU_MULTIPLE)
    monkeypatch.setattr(seqnn, "gpu_multiple", lambda _x: gpu_forms.GPU_MULTIPLE)
    model = SeqNN(
        parse_params(small_params({"human": 5})).model,
        generator=torch.Generator().manual_seed(10),
        channels_last=channels_last,
    )
    assert any(m.dilation[0] > 1 for m in model.modules() if isinstance(m, blocks.LengthConv))
    model.eval()  # no dropout: the same function twice
    compiled = copy.deepcopy(model)
    runner = torch.compile(compiled, fullgraph=True)
    x = torch.nn.functional.one_hot(
        torch.randint(0, 4, (2, model.seq_length), generator=torch.Generator().manual_seed(11)),
        4,
    ).float()
    reads = []
    for run, module in ((model, model), (runner, compiled)):
        out = run(x, "human")
        (out * torch.linspace(0.5, 2.0, out.shape[-1])).sum().backward()
        reads.append([out.detach(), *(p.grad for p in module.parameters() if p.grad is not None)])
    assert len(reads[0]) == len(reads[1]) > 1
    for eager, fused in zip(*reads, strict=True):  # rounding differs: sums in other orders
        torch.testing.assert_close(fused, eager, rtol=1e-4, atol=1e-4 * eager.abs().max().item())
