"""benches/trace_breakdown.py: kernels charged to the parts of a step that launched them."""

from __future__ import annotations

import gzip
import importlib.util
import json
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parent.parent / "benches" / "trace_breakdown.py"


@pytest.fixture(scope="module")
def breakdown_module():
    spec = importlib.util.spec_from_file_location("trace_breakdown", SCRIPT)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules["trace_breakdown"] = module
    spec.loader.exec_module(module)
    return module


def _op(name: str, ts: float, dur: float, tid: int = 1) -> dict:
    return {"cat": "cpu_op", "ph": "X", "name": name, "ts": ts, "dur": dur, "tid": tid}


def _launch(correlation: int, ts: float, tid: int = 1) -> dict:
    return {
        "cat": "cuda_runtime",
        "ph": "X",
        "name": "cudaLaunchKernel",
        "ts": ts,
        "dur": 1,
        "tid": tid,
        "args": {"correlation": correlation},
    }


def _kernel(name: str, correlation: int, dur: float, cat: str = "kernel") -> dict:
    return {"cat": cat, "ph": "X", "name": name, "ts": 0, "dur": dur, "tid": 7,
            "args": {"correlation": correlation}}  # fmt: skip


def test_kernels_go_to_the_part_whose_ops_launched_them(breakdown_module, tmp_path):
    events = [
        _op("ProfilerStep#3", 0, 1000),
        _op("aten::conv1d", 10, 100),
        _op("aten::convolution", 11, 90),
        _launch(1, 20),
        _launch(2, 30),
        _op("autograd::engine::evaluate_function: ConvolutionBackward0", 200, 100),
        _op("aten::convolution_backward", 201, 90),
        _launch(3, 210),
        _op("autograd::engine::evaluate_function: _DilatedConvBackward", 320, 60),
        _op("aten::matmul", 330, 10),  # a dilated convolution's weight gradient, not the head
        _launch(7, 335),
        _op("_PoissonLoss", 400, 50),
        _op("aten::to", 401, 10),  # a cast inside the loss belongs to the loss
        _launch(4, 405),
        _op("aten::to", 500, 10),
        _launch(5, 505),
        _launch(6, 700),  # outside every op but the step: other
        _op("aten::gelu", 800, 10, tid=2),  # another thread's op holds nothing of tid 1
        _kernel("sm90_xmma_fprop_implicit_gemm", 1, 40),
        _kernel("cudnn::engines_precompiled::nchwToNhwcKernel", 2, 8),
        _kernel("wgrad_alg0_engine", 3, 60),
        _kernel("xlogy_kernel", 4, 5),
        _kernel("Memcpy DtoD", 5, 3, cat="gpu_memcpy"),
        _kernel("elementwise_kernel", 6, 2),
        _kernel("never launched", 99, 1),
        _kernel("nvjet_sm90_tst_bf16", 7, 4),
    ]
    path = tmp_path / "trace.json.gz"
    with gzip.open(path, "wt") as handle:
        json.dump({"traceEvents": events}, handle)
    events = breakdown_module.load_events(path)
    parts, kernels = breakdown_module.breakdown(breakdown_module.charge(events))
    assert parts == {
        "convolution forward": 40,
        "cuDNN layout conversions (NCHW <-> NHWC)": 8,
        "convolution backward": 64,
        "Poisson loss, forward and backward": 5,
        "dtype casts and copies": 3,
        "other": 3,
    }
    assert sum(kernels.values()) == 123


def test_convolutions_are_matched_to_the_models_layers_by_order(breakdown_module):
    """Forward convolutions of a step are the model's layers in order, backward ones in
    reverse (a dilated one's GPU form once, with the cuDNN op inside it); each layer's
    planted kernel time comes back under its kind, layout conversions launched inside the
    op included, and FLOPs sum to the model's."""
    tb = breakdown_module
    params = Path(__file__).parent / "data" / "basenji_fixtures" / "params_human.json"
    layers = tb.conv_layers(params)
    assert len(layers) == 30
    assert sum(layer.gflop_forward for layer in layers) == pytest.approx(218.6, abs=0.1)
    assert sum(layer.gflop_backward for layer in layers) == pytest.approx(432.7, abs=0.1)
    events, correlation, clock = [], 0, 0.0
    expected: dict[tuple[str, str], float] = {}
    for step in range(2):
        start = clock
        order = list(enumerate(layers))
        for direction, run in (("forward", order), ("backward", order[::-1])):
            for index, layer in run:
                if direction == "forward":
                    events.append(_op("aten::conv1d", clock, 10))
                elif layer.dilation > 1:  # the GPU form: cuDNN's input gradient inside
                    backward = "autograd::engine::evaluate_function: _DilatedConvBackward"
                    events.append(_op(backward, clock, 10))
                    events.append(_op("aten::convolution_backward", clock + 0.5, 2))
                else:
                    backward = "autograd::engine::evaluate_function: ConvolutionBackward0"
                    events.append(_op(backward, clock, 10))
                for kernel, dur in (("nchwToNhwcKernel", 1), ("conv_kernel", index + 2)):
                    correlation += 1
                    events += [_launch(correlation, clock + 1), _kernel(kernel, correlation, dur)]
                    key = (tb.layer_kind(layer), direction)
                    expected[key] = expected.get(key, 0) + dur
                clock += 20
        events.append({"cat": "user_annotation", "ph": "X", "name": f"ProfilerStep#{step}",
                       "ts": start, "dur": clock - start, "tid": 1})  # fmt: skip
        clock += 100
    charged = tb.charge(events)
    times = tb.convolution_times(events, charged, layers)
    assert dict(times) == pytest.approx(expected)
    assert {kind for kind, _ in times} == {"k=15", "k=5", "k=3", "k=3, dilated", "k=1"}
    with pytest.raises(SystemExit, match="30 forward convolutions, the model has 29"):
        tb.convolution_times(events, charged, layers[:-1])
