"""The GPU's zero padding (crossreg.model.padding): the same values and gradients."""

from __future__ import annotations

import copy

import pytest
import torch

from crossreg.model import blocks, padding, seqnn
from crossreg.model.padding import pad_input_channels, padded_linear
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
def test_a_model_padded_as_on_a_gpu_trains_and_predicts_as_the_plain_one(
    monkeypatch, channels_last
):
    """The whole model with the GPU's padding forced on the CPU (the 4-channel stem and
    the 5- and 3-track heads padded to 8): outputs in training and inference, gradients
    and batch-norm statistics equal the unpadded model's; only the narrow stem's input
    is padded."""
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

    def pad_and_note(x, weight, multiple):
        padded_inputs.append(x.shape[1])
        return pad_input_channels(x, weight, multiple)

    def padded_head(x, dense, multiple):
        heads.append(dense.out_features)
        return padded_linear(x, dense, multiple)

    monkeypatch.setattr(blocks, "gpu_multiple", lambda _x: padding.GPU_MULTIPLE)
    monkeypatch.setattr(seqnn, "gpu_multiple", lambda _x: padding.GPU_MULTIPLE)
    monkeypatch.setattr(blocks, "pad_input_channels", pad_and_note)
    monkeypatch.setattr(seqnn, "padded_linear", padded_head)
    padded = train_and_read(model, x, "mouse")
    assert padded_inputs == [4] * 3  # the stem's conv, in training and for both heads
    assert sorted(set(heads)) == [3, 5]
    assert plain.keys() == padded.keys()
    for key in plain:
        torch.testing.assert_close(padded[key], plain[key], rtol=1e-5, atol=1e-6, msg=key)
