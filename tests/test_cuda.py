"""The model on a CUDA device: Basenji parity in float32, bf16 close to it, training steps.

Skipped where no GPU is present (CI has none); run on a GPU machine to check the CUDA path.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

from crossreg.genome import Genome
from crossreg.model.inference import InferenceOptions, predict_batch
from crossreg.model.keras_import import BasenjiSource, import_basenji
from crossreg.model.params import load_params
from crossreg.model.seqnn import SeqNN
from crossreg.train.optim import build_optimizer
from crossreg.train.step import train_step

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")

FIXTURES = Path(__file__).parent / "data" / "basenji_fixtures"
PARAMS = FIXTURES / "params_joint_mini.json"


@pytest.fixture(scope="module")
def inputs(tmp_path_factory) -> np.ndarray:
    fasta = tmp_path_factory.mktemp("fasta") / "inputs.fa"
    shutil.copy(FIXTURES / "inputs.fa", fasta)
    genome = Genome(fasta)
    return genome.one_hot_many(genome.names, [0] * 4, 8192, dtype=np.float32)


@pytest.fixture(scope="module")
def model():
    sources = [
        BasenjiSource(g, FIXTURES / f"model{i}_best.h5", FIXTURES / f"targets_{g}_mini.txt")
        for i, g in enumerate(["human", "mouse"])
    ]
    return import_basenji(PARAMS, sources, gelu="sigmoid1702").model.to("cuda")


@pytest.mark.parametrize("rc", [False, True])
def test_float32_predictions_match_basenji_on_gpu(model, inputs, rc):
    torch.backends.cudnn.allow_tf32 = False
    torch.backends.cuda.matmul.allow_tf32 = False
    for genome in ("human", "mouse"):
        options = InferenceOptions(rc=rc, shifts=(1, 0, -1) if rc else (0,))
        got = predict_batch(model, inputs, genome, options).cpu().numpy()
        tag = "_rc_shifts" if rc else ""
        expect = np.load(FIXTURES / f"preds_{genome}_gelu1702{tag}.npy")
        np.testing.assert_allclose(got, expect, atol=1e-4, rtol=0)


def test_bf16_predictions_stay_close(model, inputs):
    got = predict_batch(model, inputs, "human", InferenceOptions(bf16=True)).cpu().numpy()
    expect = np.load(FIXTURES / "preds_human_gelu1702.npy")
    r = np.corrcoef(got.ravel(), expect.ravel())[0, 1]
    error = np.abs(got - expect)
    print(
        f"bf16 vs float32 Basenji: r {r:.5f}, mean |diff| {error.mean():.4f}, max {error.max():.4f}"
    )
    assert r > 0.99
    assert error.mean() < 0.05 * np.abs(expect).mean()


@pytest.mark.parametrize("bf16", [False, True])
def test_training_steps_fit_one_batch_on_gpu(bf16):
    torch.manual_seed(0)
    params = load_params(PARAMS)
    net = SeqNN(params.model).to("cuda")
    optimizer = build_optimizer(net.parameters(), {"learning_rate": 0.01, "momentum": 0.9})
    assert optimizer.defaults["fused"]  # CUDA parameters take the fused update
    x = torch.nn.functional.one_hot(torch.randint(0, 4, (2, 8192)), 4).float().cuda()
    y = torch.poisson(torch.full((2, net.output_length(), 5), 3.0)).cuda()
    losses = [
        float(train_step(net, optimizer, x, y, "human", clip_norm=2.0, bf16=bf16))
        for _ in range(30)
    ]
    assert losses[-1] < losses[0]


@pytest.mark.parametrize("bf16", [False, True])
def test_training_step_waits_on_the_host_nowhere(bf16):
    """After warm-up, forward, loss, backward, clipping and the fused update queue on the
    GPU without one synchronising call (a `.item()`, a device-to-host copy, a
    data-dependent shape), so the CPU runs ahead and the GPU never idles within a step."""
    from crossreg.data.device_batches import codes_to_one_hot

    torch.manual_seed(0)
    net = SeqNN(load_params(PARAMS).model).to("cuda")
    optimizer = build_optimizer(net.parameters(), {"learning_rate": 0.01, "momentum": 0.9})
    codes = torch.tensor(list(b"ACGT"), dtype=torch.uint8)[torch.randint(0, 4, (2, 8192))]
    codes = codes.cuda()
    y = torch.poisson(torch.full((2, net.output_length(), 5), 3.0)).half().cuda()
    for _ in range(2):
        train_step(net, optimizer, codes_to_one_hot(codes), y, "human", clip_norm=2.0, bf16=bf16)
    torch.cuda.synchronize()
    torch.cuda.set_sync_debug_mode("error")
    try:
        for _ in range(2):
            x = codes_to_one_hot(codes)
            train_step(net, optimizer, x, y, "human", clip_norm=2.0, bf16=bf16)
    finally:
        torch.cuda.set_sync_debug_mode("default")


@pytest.mark.parametrize("variant", ["channels-last", "compiled", "compiled channels-last"])
def test_other_inference_variants_predict_what_the_plain_trunk_does(model, inputs, variant):
    """The channels-last trunk and compiled inference on the GPU: Basenji's float32
    predictions, as the plain eager trunk gives them."""
    torch.backends.cudnn.allow_tf32 = False
    torch.backends.cuda.matmul.allow_tf32 = False
    options = InferenceOptions(
        channels_last="channels-last" in variant, compile="compiled" in variant
    )
    got = predict_batch(model, inputs, "human", options).cpu().numpy()
    expect = np.load(FIXTURES / "preds_human_gelu1702.npy")
    np.testing.assert_allclose(got, expect, atol=1e-4, rtol=0)
    assert model.channels_last is False


@pytest.mark.parametrize("channels_last", [False, True])
def test_compiled_training_steps_take_the_eager_steps(channels_last):
    """Training through torch.compile (inductor lowers the pooling's saved offsets and the
    head's padded product) takes the eager steps: the same losses and weights."""
    torch.backends.cudnn.allow_tf32 = False
    torch.backends.cuda.matmul.allow_tf32 = False
    x = torch.nn.functional.one_hot(torch.randint(0, 4, (2, 8192)), 4).float().cuda()
    losses, weights = [], []
    for compiled in (False, True):
        torch.manual_seed(0)
        net = SeqNN(load_params(PARAMS).model, channels_last=channels_last).to("cuda")
        y = torch.poisson(torch.full((2, net.output_length(), 5), 3.0)).cuda()
        optimizer = build_optimizer(net.parameters(), {"learning_rate": 0.01, "momentum": 0.9})
        runner = torch.compile(net) if compiled else net
        losses.append(
            [float(train_step(runner, optimizer, x, y, "human", clip_norm=2.0)) for _ in range(3)]
        )
        weights.append(torch.cat([p.detach().flatten() for p in net.parameters()]))
    np.testing.assert_allclose(losses[1], losses[0], rtol=1e-4)
    torch.testing.assert_close(weights[1], weights[0], rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("channels_last", [False, True])
def test_the_gpu_forms_change_no_prediction_or_gradient(monkeypatch, channels_last):
    """The 4-channel stem and the 5-track head padded to 8 on the GPU (cuDNN and cuBLAS
    then take aligned kernels) and the dilated convolutions' weight gradients from matrix
    products: float32 outputs and gradients equal those of the plain forms."""
    from crossreg.model import gpu_forms

    torch.backends.cudnn.allow_tf32 = False
    torch.backends.cuda.matmul.allow_tf32 = False
    x = torch.nn.functional.one_hot(torch.randint(0, 4, (2, 8192)), 4).float().cuda()
    torch.manual_seed(0)
    net = SeqNN(load_params(PARAMS).model, channels_last=channels_last).to("cuda")
    reads = []
    for multiple, as_matmul in ((1, False), (gpu_forms.GPU_MULTIPLE, True)):
        monkeypatch.setattr(gpu_forms, "GPU_MULTIPLE", multiple)
        monkeypatch.setattr(gpu_forms, "DILATED_WGRAD_AS_MATMUL", as_matmul)
        net.zero_grad()
        torch.manual_seed(1)  # the same dropout masks
        out = net(x, "human")
        out.square().mean().backward()
        reads.append(
            [out.detach(), *(p.grad.clone() for p in net.parameters() if p.grad is not None)]
        )
    for padded, plain in zip(reads[1], reads[0], strict=True):
        torch.testing.assert_close(padded, plain, rtol=1e-4, atol=1e-5)
