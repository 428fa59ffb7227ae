"""SeqNN architecture: Basenji2 parameter counts, shapes, block semantics, init."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
import torch

from crossreg.model.activations import GELU, gelu
from crossreg.model.blocks import ConvBlock, KerasBatchNorm, Residual
from crossreg.model.params import load_params, parse_params
from crossreg.model.seqnn import SeqNN, count_parameters

FIXTURES = Path(__file__).parent / "data" / "basenji_fixtures"


def _meta_model(*names: str) -> SeqNN:
    """The cross2020 architecture with the heads of the named params files (no memory)."""
    data = json.loads((FIXTURES / f"params_{names[0]}.json").read_text())
    for name in names[1:]:
        other = json.loads((FIXTURES / f"params_{name}.json").read_text())
        data["model"][f"head_{name}"] = other["model"][f"head_{name}"]
    with torch.device("meta"):
        return SeqNN(parse_params(data).model)


@pytest.mark.parametrize(
    ("heads", "total", "trainable"),
    [
        (("human",), 30_123_584, 30_088_228),
        (("mouse",), 24_482_794, 24_447_438),
        (("human", "mouse"), 32_648_875, 32_613_519),
    ],
)
def test_cross2020_parameter_counts(heads, total, trainable):
    model = _meta_model(*heads)
    assert count_parameters(model) == total
    assert count_parameters(model, trainable_only=True) == trainable
    assert count_parameters(model.trunk) == 21_957_503
    assert sum(isinstance(m, KerasBatchNorm) for m in model.modules()) == 30
    assert sum(isinstance(m, torch.nn.Conv1d) for m in model.modules()) == 30


def test_mini_parameter_counts_match_keras():
    model = SeqNN(load_params(FIXTURES / "params_joint_mini.json").model)
    assert count_parameters(model) == 59_997
    assert count_parameters(model.trunk) == 59_605
    assert count_parameters(model.trunk) + count_parameters(model.heads["human"]) == 59_850
    assert count_parameters(model.trunk) + count_parameters(model.heads["mouse"]) == 59_752


def test_cross2020_shapes_and_dilations():
    model = _meta_model("human", "mouse")
    out = model(torch.empty(2, 131072, 4, device="meta"), "human")
    assert tuple(out.shape) == (2, 896, 5313)
    assert tuple(model(torch.empty(1, 131072, 4, device="meta"), "mouse").shape) == (1, 896, 1643)
    assert model.output_length() == 896
    assert model.stride == 128
    assert model.crop == (64, 64)
    residuals = [m for m in model.trunk if isinstance(m, Residual)]
    assert [r.inner[0].conv.dilation[0] for r in residuals] == [
        1,
        2,
        3,
        4,
        6,
        9,
        14,
        21,
        32,
        48,
        72,
    ]
    widths = [m.conv.out_channels for m in model.trunk if isinstance(m, ConvBlock)]
    assert widths == [288, 339, 399, 470, 554, 652, 768, 1536]


def test_cross2020_dropout_and_batch_norm_are_basenjis():
    # dropout 0.3 on each residual block's second (1-wide) conv, 0.05 on the last conv
    # block, nowhere else; the params' bn_momentum 0.9 in every batch norm (PyTorch's 0.1)
    from crossreg.model.blocks import BatchSplitDropout

    model = _meta_model("human")
    rates = {n: m.rate for n, m in model.named_modules() if isinstance(m, BatchSplitDropout)}
    residual = [f"trunk.{i}.inner.1.dropout" for i in range(7, 18)]
    assert rates == {**dict.fromkeys(residual, 0.3), "trunk.19.dropout": 0.05}
    assert all(isinstance(model.trunk[i], Residual) for i in range(7, 18))
    norms = [m for m in model.modules() if isinstance(m, KerasBatchNorm)]
    assert {(round(m.momentum, 12), m.eps) for m in norms} == {(0.1, 1e-3)}


def test_gelu_forms_at_one():
    one = torch.ones(1, dtype=torch.float64)
    assert gelu(one, "tanh").item() == pytest.approx(0.841192, abs=1e-6)
    assert gelu(one, "sigmoid1702").item() == pytest.approx(0.845796, abs=1e-6)
    assert gelu(one, "erf").item() == pytest.approx(0.841345, abs=1e-6)
    x = torch.linspace(-4, 4, 81, dtype=torch.float64)
    expected_tanh = 0.5 * x * (1 + torch.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x**3)))
    torch.testing.assert_close(GELU("tanh")(x), expected_tanh)
    torch.testing.assert_close(GELU("sigmoid1702")(x), x / (1 + torch.exp(-1.702 * x)))
    with pytest.raises(ValueError, match="GELU form 'fast'"):
        GELU("fast")


def _numpy_conv_block(x, kernel, gamma, beta, mean, var, dilation, pool):
    """Plain numpy conv_block on (C, L): sigmoid GELU, 'same' conv, BN, max-pool 'same'."""
    h = x / (1 + np.exp(-1.702 * x))
    c_out, _, k = kernel.shape
    length = h.shape[1]
    pad = dilation * (k - 1) // 2
    padded = np.pad(h, ((0, 0), (pad, pad)))
    y = np.zeros((c_out, length))
    for t in range(length):
        for j in range(k):
            y[:, t] += kernel[:, :, j] @ padded[:, t + j * dilation]
    y = gamma[:, None] * (y - mean[:, None]) / np.sqrt(var[:, None] + 1e-3) + beta[:, None]
    out_len = -(-length // pool)
    return np.stack([y[:, i * pool : (i + 1) * pool].max(axis=1) for i in range(out_len)], 1)


def test_conv_block_matches_numpy_reference():
    rng = np.random.default_rng(7)
    block = ConvBlock(3, 5, kernel_size=3, dilation=2, pool_size=2, gelu_form="sigmoid1702")
    with torch.no_grad():
        for tensor in (
            block.conv.weight,
            block.norm.weight,
            block.norm.bias,
            block.norm.running_mean,
        ):
            tensor.copy_(torch.from_numpy(rng.normal(size=tuple(tensor.shape))))
        block.norm.running_var.copy_(torch.from_numpy(rng.uniform(0.5, 2, 5)))
    block.eval()
    x = rng.normal(size=(3, 7))  # odd length: Keras "same" pooling keeps a short last window
    got = block(torch.from_numpy(x[None]).float())[0].detach().double().numpy()
    n = block.norm
    expected = _numpy_conv_block(
        x,
        block.conv.weight.detach().double().numpy(),
        *(t.detach().double().numpy() for t in (n.weight, n.bias, n.running_mean, n.running_var)),
        dilation=2,
        pool=2,
    )
    assert got.shape == (5, 4)
    np.testing.assert_allclose(got, expected, atol=1e-5)


def test_batch_norm_training_uses_keras_momentum_and_biased_variance():
    rng = np.random.default_rng(3)
    bn = KerasBatchNorm(4, keras_momentum=0.9)
    start_mean, start_var = rng.normal(size=4), rng.uniform(0.5, 2, 4)
    with torch.no_grad():
        bn.running_mean.copy_(torch.from_numpy(start_mean))
        bn.running_var.copy_(torch.from_numpy(start_var))
    x = rng.normal(2.0, 3.0, size=(3, 4, 6))
    out = bn.train()(torch.from_numpy(x).float()).detach().numpy()
    mean, var = x.mean(axis=(0, 2)), x.var(axis=(0, 2))  # biased, over batch and length
    np.testing.assert_allclose(bn.running_mean.numpy(), 0.9 * start_mean + 0.1 * mean, rtol=1e-5)
    np.testing.assert_allclose(bn.running_var.numpy(), 0.9 * start_var + 0.1 * var, rtol=1e-5)
    expected = (x - mean[None, :, None]) / np.sqrt(var[None, :, None] + 1e-3)
    np.testing.assert_allclose(out, expected, atol=1e-5)
    assert bn.eps == 1e-3


def test_basenji_initialisation():
    model = SeqNN(
        load_params(FIXTURES / "params_joint_mini.json").model,
        generator=torch.Generator().manual_seed(1),
    )
    residual = next(m for m in model.trunk if isinstance(m, Residual))
    assert torch.all(residual.inner[0].norm.weight == 1)
    assert torch.all(residual.inner[1].norm.weight == 0)  # Basenji: gamma zeros on the add path
    assert torch.all(model.trunk[0].norm.weight == 1)
    assert torch.all(model.trunk[0].norm.running_var == 1)
    assert model.trunk[0].conv.bias is None
    assert torch.all(model.heads["human"].dense.bias == 0)
    # he_normal: truncated at 2 std of N(0, sqrt(2/fan_in)/0.8796), so std sqrt(2/fan_in)
    big = ConvBlock(256, 256, kernel_size=5)
    from crossreg.model.blocks import init_weights

    init_weights(big, torch.Generator().manual_seed(0))
    w = big.conv.weight.detach()
    fan_in = 256 * 5
    assert w.std().item() == pytest.approx(math.sqrt(2 / fan_in), rel=0.02)
    assert w.abs().max().item() <= 2 * math.sqrt(2 / fan_in) / 0.87962566 + 1e-6
    # the Dense head too, with fan_in its 1,536 input channels (not its units)
    from crossreg.model.seqnn import TrackHead

    head = TrackHead(1536, 300, "softplus")
    init_weights(head, torch.Generator().manual_seed(0))
    w = head.dense.weight.detach()
    assert w.std().item() == pytest.approx(math.sqrt(2 / 1536), rel=0.02)
    assert w.abs().max().item() <= 2 * math.sqrt(2 / 1536) / 0.87962566 + 1e-6
    assert torch.all(head.dense.bias == 0)
    # the same seed gives the same model
    again = SeqNN(model.params, generator=torch.Generator().manual_seed(1))
    for a, b in zip(model.state_dict().values(), again.state_dict().values(), strict=True):
        assert torch.equal(a, b)


def test_head_selection_by_genome():
    model = SeqNN(load_params(FIXTURES / "params_joint_mini.json").model).eval()
    x = torch.zeros(1, 8192, 4)
    assert model(x, "human").shape == (1, 104, 5)
    assert model(x, "mouse").shape == (1, 104, 3)
    assert torch.equal(model(x.to(torch.uint8), "mouse"), model(x, "mouse"))
    with pytest.raises(ValueError, match="name the genome"):
        model(x)
    with pytest.raises(ValueError, match="no head for genome 'rat'"):
        model(x, "rat")
    with pytest.raises(ValueError, match=r"one-hot \(batch, length, 4\)"):
        model(torch.zeros(1, 4, 8192), "human")


def _residual_branch_before_zero_gamma(name: str) -> bool:
    return ".inner.0." in name or name.endswith(".inner.1.conv.weight")


def test_training_mode_gradients():
    """In training mode dropout is active and BN uses batch statistics. At Basenji's
    initialisation each residual branch ends in a BN with gamma 0, so the layers before it
    get exactly zero gradient; every other parameter of the trunk and used head gets one."""
    model = SeqNN(
        load_params(FIXTURES / "params_joint_mini.json").model,
        generator=torch.Generator().manual_seed(2),
    ).train()
    gen = torch.Generator().manual_seed(3)
    x = torch.nn.functional.one_hot(torch.randint(0, 4, (2, 8192), generator=gen), 4).float()
    first, second = model(x, "human"), model(x, "human")
    assert not torch.equal(first, second)  # dropout noise differs between passes
    (first.mean() + second.mean()).backward()
    for name, param in model.named_parameters():
        if name.startswith("heads.mouse."):
            assert param.grad is None
        elif _residual_branch_before_zero_gamma(name):
            assert param.grad is not None and torch.all(param.grad == 0), name
        else:
            assert param.grad is not None and param.grad.abs().sum() > 0, name
    assert int(model.trunk[0].norm.num_batches_tracked) == 2
    with torch.no_grad():
        for residual in (m for m in model.trunk if isinstance(m, Residual)):
            residual.inner[1].norm.weight.fill_(1.0)
    model.zero_grad()
    model(x, "human").mean().backward()
    for name, param in model.named_parameters():
        if not name.startswith("heads.mouse."):
            assert param.grad.abs().sum() > 0, name


def test_windows_of_another_length_are_refused():
    from crossreg.model.params import parse_params
    from crossreg.model.seqnn import SeqNN
    from tests.pipeline import small_params

    model = SeqNN(parse_params(small_params({"human": 3})).model)
    length = model.seq_length
    with pytest.raises(ValueError, match=f"windows of {length + 8:,} bp given to a model of"):
        model(torch.zeros(1, length + 8, 4), "human")
    assert model(torch.zeros(1, length, 4, dtype=torch.uint8), "human").dtype == torch.float32


def test_dropout_masks_do_not_depend_on_the_process_count(monkeypatch):
    """Two processes with half the batch each drop exactly what one process drops on the
    whole batch (same seeded stream): each draws the global mask and keeps its slice."""
    from crossreg import distributed
    from crossreg.model.blocks import BatchSplitDropout

    layer = BatchSplitDropout(0.25).train()
    x = torch.randn(6, 5, 40)
    torch.manual_seed(3)
    whole = layer(x)
    parts = []
    for rank in range(2):
        monkeypatch.setattr(distributed, "world_size", lambda: 2)
        monkeypatch.setattr(distributed, "rank", lambda rank=rank: rank)
        torch.manual_seed(3)
        parts.append(layer(x[rank * 3 : (rank + 1) * 3]))
    torch.testing.assert_close(torch.cat(parts), whole, rtol=0, atol=0)
    dropped = (whole == 0).float().mean().item()
    assert 0.2 < dropped < 0.3
    torch.testing.assert_close(whole[whole != 0], x[whole != 0] / 0.75)
    assert torch.equal(layer.eval()(x), x)


def train_and_read(model: SeqNN, x: torch.Tensor, genome: str) -> dict[str, torch.Tensor]:
    """One training-mode pass of `model` on `x` through `genome`'s head (dropout drawn
    from seed 5) with a loss, then an inference pass of every head: the outputs, every
    gradient and every buffer."""
    model.train()
    torch.manual_seed(5)
    out = model(x, genome)
    (out * torch.linspace(0.5, 2.0, out.shape[-1])).mean().backward()
    read = {"train": out.detach()}
    read |= {f"grad {n}": p.grad for n, p in model.named_parameters() if p.grad is not None}
    read |= {f"buffer {n}": b.float() for n, b in model.named_buffers()}
    model.eval()
    with torch.no_grad():
        read |= {f"eval {g}": model(x, g) for g in model.genomes}
    return read


@pytest.mark.parametrize("branch", [None, ("blocks", 9, None, None), ("lora", 8, 2, 4.0)])
def test_channels_last_trunk_computes_what_the_plain_one_does(branch):
    """The (B, C, 1, L) channels-last trunk is the same function: outputs in training and
    inference, gradients and batch-norm statistics equal the (B, C, L) trunk's, through a
    head's branch too, and its convolutions really see channels-last tensors."""
    import copy

    from crossreg.model.blocks import LengthConv
    from crossreg.model.branches import BranchSpec
    from tests.pipeline import small_params

    model = SeqNN(
        parse_params(small_params({"human": 5, "mouse": 3})).model,
        generator=torch.Generator().manual_seed(4),
    )
    with torch.no_grad():  # residual branches start at zero: give them a say
        for residual in (m for m in model.trunk if isinstance(m, Residual)):
            residual.inner[1].norm.weight.fill_(0.7)
    if branch is not None:
        model.add_branch("mouse", BranchSpec(*branch), torch.Generator().manual_seed(6))
        with torch.no_grad():
            for name, param in model.branches.named_parameters():
                if name.endswith(".up"):
                    param.normal_(0.0, 0.05, generator=torch.Generator().manual_seed(7))
    gen = torch.Generator().manual_seed(8)
    x = torch.nn.functional.one_hot(
        torch.randint(0, 4, (3, model.seq_length), generator=gen), 4
    ).float()
    plain = train_and_read(copy.deepcopy(model), x, "mouse")
    model.channels_last = True
    seen: list[bool] = []
    for conv in (m for m in model.modules() if isinstance(m, LengthConv)):
        conv.register_forward_pre_hook(
            lambda _m, args: seen.append(
                args[0].dim() == 4 and args[0].is_contiguous(memory_format=torch.channels_last)
            )
        )
    last = train_and_read(model, x, "mouse")
    assert seen and all(seen)
    assert plain.keys() == last.keys()
    for key in plain:
        torch.testing.assert_close(last[key], plain[key], rtol=1e-4, atol=1e-5, msg=key)


@pytest.mark.parametrize(
    ("dtype", "weight_dtype"),
    [(torch.float32, torch.float32), (torch.bfloat16, torch.float32), (torch.bfloat16,) * 2],
)
def test_global_batch_norm_equals_the_one_process_kernel(
    tmp_path, monkeypatch, dtype, weight_dtype
):
    """Batch norm with statistics over every process's part of the batch (the torchrun
    path, here over a group of one) gives what the one-process kernel gives: output,
    gradients of input, weight and bias, moving statistics; for (B, C, L) and for the
    channels-last (B, C, 1, L) form; float32, autocast-like (bf16 input, float32 weights)
    and bf16 throughout. (Two real processes: tests/test_train.py.)"""
    import torch.distributed as dist

    from crossreg import distributed

    gen = torch.Generator().manual_seed(9)
    x = (torch.randn(4, 6, 20, generator=gen) * 3 + 1).to(dtype)
    grad = torch.randn(4, 6, 20, generator=gen).to(dtype)

    def run(norm: KerasBatchNorm, inputs: torch.Tensor, grads: torch.Tensor):
        with torch.no_grad():
            norm.weight.copy_(torch.linspace(0.5, 1.5, 6))
            norm.bias.copy_(torch.linspace(-1.0, 1.0, 6))
        leaf = inputs.clone().requires_grad_(True)
        out = norm.train()(leaf)
        out.backward(grads)
        assert leaf.grad is not None
        return [
            out.reshape(x.shape),
            leaf.grad.reshape(x.shape),
            norm.weight.grad,
            norm.bias.grad,
            norm.running_mean,
            norm.running_var,
        ]

    expected = run(KerasBatchNorm(6).to(weight_dtype), x, grad)
    dist.init_process_group(
        "gloo", init_method=f"file://{tmp_path / 'rendezvous'}", rank=0, world_size=1
    )
    monkeypatch.setattr(distributed, "world_size", lambda: 2)  # take the torchrun path
    try:
        flat = run(KerasBatchNorm(6).to(weight_dtype), x, grad)
        image = run(
            KerasBatchNorm(6).to(weight_dtype),
            x.unsqueeze(2).contiguous(memory_format=torch.channels_last),
            grad.unsqueeze(2).contiguous(memory_format=torch.channels_last),
        )
    finally:
        dist.destroy_process_group()
    tolerance = (
        {"rtol": 1e-5, "atol": 1e-5} if dtype == torch.float32 else {"rtol": 2e-2, "atol": 2e-2}
    )
    for got in (flat, image):
        for value, want in zip(got, expected, strict=True):
            torch.testing.assert_close(value.float(), want.float(), **tolerance)


@pytest.mark.parametrize("channels_last", [False, True])
def test_compiled_training_pass_equals_eager(channels_last):
    """torch.compile (Inductor, on the CPU here) of a training pass through the trunk's
    own modules (the byte-keeping max pooling's autograd function among them) gives the
    eager outputs and gradients, in either layout of the trunk."""
    import copy

    from tests.pipeline import small_params

    model = SeqNN(
        parse_params(small_params({"human": 4})).model,
        generator=torch.Generator().manual_seed(10),
        channels_last=channels_last,
    )
    model.trunk = model.trunk[:3]  # stem, tower and a residual block: what pools
    model.train()
    compiled = copy.deepcopy(model)
    runner = torch.compile(compiled.embed, fullgraph=True)
    gen = torch.Generator().manual_seed(11)
    x = torch.nn.functional.one_hot(
        torch.randint(0, 4, (2, model.seq_length), generator=gen), 4
    ).float()
    reads = []
    for run, module in ((model.embed, model), (runner, compiled)):
        out = run(x)
        (out * torch.linspace(0.5, 2.0, out.shape[-1])).sum().backward()
        reads.append([out.detach(), *(p.grad for p in module.parameters() if p.grad is not None)])
    for eager, fused in zip(*reads, strict=True):  # rounding differs: sums in other orders
        torch.testing.assert_close(fused, eager, rtol=1e-4, atol=1e-4 * eager.abs().max().item())


def _probe_params(trunk: list[dict]) -> dict:
    """A 64-bp model of kernel-1 convolutions (no position mixes with another before the
    pooling) with `trunk` and one 2-track head."""
    return {
        "model": {
            "seq_length": 64,
            "norm_type": "batch",
            "trunk": trunk,
            "head_human": {"name": "final", "units": 2},
        }
    }


def _bp_read_by_each_bin(model: SeqNN) -> list[set[int]]:
    """The input positions each output bin's value depends on (non-zero gradients)."""
    model.eval()
    x = torch.rand(1, model.seq_length, 4, generator=torch.Generator().manual_seed(0))
    x.requires_grad_(True)
    out = model(x)
    read = []
    for j in range(out.shape[1]):
        (grad,) = torch.autograd.grad(out[0, j].sum(), x, retain_graph=True)
        read.append(set(grad[0].abs().sum(-1).nonzero().flatten().tolist()))
    return read


@pytest.mark.parametrize(
    ("trunk", "crop"),
    [
        # crop 4 positions of 2 bp before pooling by 4: 8 bp, one 8-bp output bin
        (
            [
                {"name": "conv_block", "filters": 3, "pool_size": 2},
                {"name": "Cropping1D", "cropping": 4},
                {"name": "conv_block", "filters": 3, "pool_size": 4},
            ],
            1,
        ),
        # crop 16 bp of the raw input: two 8-bp output bins
        (
            [
                {"name": "Cropping1D", "cropping": 16},
                {"name": "conv_block", "filters": 3, "pool_size": 8},
            ],
            2,
        ),
        # crop after every pooling, as Basenji2's models do
        (
            [
                {"name": "conv_block", "filters": 3, "pool_size": 8},
                {"name": "Cropping1D", "cropping": 1},
            ],
            1,
        ),
    ],
)
def test_crop_is_counted_in_output_bins_wherever_the_trunk_crops(trunk, crop):
    # before: a crop ahead of pooling was counted at its own resolution (4 and 16 bins
    # here), and tiling put every predicted bin that many bins off
    model = SeqNN(parse_params(_probe_params(trunk)).model)
    assert model.stride == 8
    assert model.crop == (crop, crop)
    bins = model.output_length()
    assert bins == 8 - 2 * crop
    for j, read in enumerate(_bp_read_by_each_bin(model)):
        start = (crop + j) * model.stride
        assert read and read <= set(range(start, start + model.stride)), j


@pytest.mark.parametrize("pool_size", [0, 1])
def test_a_pool_size_of_0_or_1_pools_nothing(pool_size):
    # before: a pool_size of 0 made the bins 0 bp wide
    trunk = [
        {"name": "conv_block", "filters": 3, "pool_size": 8},
        {"name": "conv_block", "filters": 3, "pool_size": pool_size},
    ]
    model = SeqNN(parse_params(_probe_params(trunk)).model)
    assert model.stride == 8
    assert model.output_length() == 8
    assert tuple(model(torch.zeros(1, 64, 4)).shape) == (1, 8, 2)
