"""The one inference loop: batching, order, the reduce hook, read-ahead, options, bf16."""

from __future__ import annotations

import argparse
import threading

import numpy as np
import pytest
import torch

from crossreg.errors import CommandError
from crossreg.evaluate.accuracy import evaluate_model
from crossreg.model.ensemble import ensemble_predict
from crossreg.model.inference import (
    InferenceOptions,
    device_label,
    load_head,
    predict_batch,
    run_inference,
)
from crossreg.model.params import parse_params
from crossreg.model.seqnn import SeqNN
from tests.pipeline import SEQ_LENGTH, small_params


@pytest.fixture(scope="module")
def model() -> SeqNN:
    params = parse_params(small_params({"human": 3, "mouse": 2}, dropout=0.0))
    return SeqNN(params.model, generator=torch.Generator().manual_seed(3)).eval()


@pytest.fixture(scope="module")
def inputs() -> np.ndarray:
    rng = np.random.default_rng(0)
    return np.eye(4, dtype=np.uint8)[rng.integers(0, 4, (7, SEQ_LENGTH))]


def test_chunks_come_in_order_and_match_one_plain_forward(model, inputs):
    seen: list[list[int]] = []

    def load(rows):
        seen.append(list(rows))
        return inputs[rows[0] : rows[-1] + 1]

    options = InferenceOptions(batch_size=3, rc=True, shifts=(1, 0, -1))
    got = list(
        run_inference(
            model, "mouse", range(7), options, load=load, reduce=lambda p, rows: (list(rows), p)
        )
    )
    assert [rows for rows, _ in got] == [[0, 1, 2], [3, 4, 5], [6]]
    assert seen == [[0, 1, 2], [3, 4, 5], [6]]
    with torch.no_grad():
        x = torch.from_numpy(inputs).float()
        expect = ensemble_predict(lambda s: model(s, "mouse"), x, rc=True, shifts=(1, 0, -1))
    torch.testing.assert_close(torch.cat([p for _, p in got]), expect, atol=1e-5, rtol=0)


def test_the_next_chunk_loads_while_the_current_one_is_reduced(model, inputs):
    second_loaded = threading.Event()

    def load(rows):
        if rows[0] == 2:
            second_loaded.set()
        return inputs[rows[0] : rows[-1] + 1]

    def reduce(pred, rows):
        if rows[0] == 0:  # the read-ahead of chunk 2 was submitted before this reduce
            assert second_loaded.wait(timeout=30)
        return len(rows)

    options = InferenceOptions(batch_size=2)
    assert list(run_inference(model, "human", range(4), options, load=load, reduce=reduce)) == [
        2,
        2,
    ]


def test_no_items_no_batches_and_load_errors_propagate(model, inputs):
    options = InferenceOptions()
    assert list(run_inference(model, "human", [], options, load=None, reduce=None)) == []

    def broken(rows):
        raise ValueError("window 0 is off the genome")

    with pytest.raises(ValueError, match="off the genome"):
        list(run_inference(model, "human", [0], options, load=broken, reduce=lambda p, r: p))


def test_options_are_checked():
    with pytest.raises(ValueError, match="at least 1"):
        InferenceOptions(batch_size=0)
    with pytest.raises(ValueError, match="at least one shift"):
        InferenceOptions(shifts=())
    assert InferenceOptions(shifts=[1, 0]).shifts == (1, 0)
    assert InferenceOptions().describe() == ""
    assert "bf16" in InferenceOptions(bf16=True).describe()


@pytest.mark.parametrize(
    ("given", "error", "message"),
    [
        ({"shifts": (1, 1, 0)}, ValueError, r"shift 1 is given more than once"),
        ({"shifts": (0.5,)}, TypeError, r"whole numbers of bp such as \(1, 0, -1\), got 0\.5"),
        ({"shifts": (True,)}, TypeError, r"whole numbers of bp"),
        ({"shifts": "1,0,-1"}, TypeError, r"not the string '1,0,-1'"),
        ({"shifts": 1}, TypeError, r"a sequence of whole numbers"),
        ({"batch_size": 2.5}, TypeError, r"batch size must be a whole number"),
        ({"batch_size": "4"}, TypeError, r"batch size must be a whole number"),
        ({"batch_size": True}, TypeError, r"batch size must be a whole number"),
        ({"device": "gpu"}, ValueError, r"unknown device 'gpu': give auto, cpu, cuda"),
        ({"device": "cuda:x"}, ValueError, r"unknown device 'cuda:x'"),
        # before: any truthy value was taken, so "false" turned bf16 on
        ({"bf16": "false"}, TypeError, r"bf16 must be True or False, got 'false'"),
        ({"rc": "no"}, TypeError, r"rc must be True or False"),
        ({"compile": 1}, TypeError, r"compile must be True or False"),
        ({"channels_last": "auto"}, TypeError, r"channels_last must be True or False"),
    ],
)
def test_options_are_checked_as_the_command_line_checks_them(given, error, message):
    with pytest.raises(error, match=message):
        InferenceOptions(**given)


@pytest.mark.parametrize("given", ["rc", {"rc": True}, None])
def test_options_of_another_kind_are_a_type_error_before_any_work(model, inputs, tmp_path, given):
    # before: "'str' object has no attribute 'shifts'" (an AttributeError) from inside
    message = r"options must be of type InferenceOptions, e.g. InferenceOptions\(rc=True"
    with pytest.raises(TypeError, match=message):
        predict_batch(model, inputs[:1], "human", given)
    with pytest.raises(TypeError, match=message):
        next(run_inference(model, "human", [0], given, load=lambda r: inputs[:1], reduce=None))
    with pytest.raises(TypeError, match=message):
        load_head(tmp_path / "model", "human", given)
    with pytest.raises(TypeError, match=message):  # the step, before its inputs are read
        evaluate_model(tmp_path / "model", tmp_path / "data", tmp_path / "out", options=given)
    assert sorted(tmp_path.iterdir()) == []


def test_checked_options_keep_plain_values():
    options = InferenceOptions(
        shifts=[np.int64(1), 0, -1], batch_size=np.int32(3), device=torch.device("cpu")
    )
    assert options.shifts == (1, 0, -1) and type(options.shifts[0]) is int
    assert options.batch_size == 3 and type(options.batch_size) is int
    assert options.device == "cpu"
    flags = InferenceOptions(rc=np.bool_(True), bf16=np.False_, channels_last=None)
    assert flags.rc is True and flags.bf16 is False and flags.channels_last is None


def test_a_device_this_machine_lacks_is_refused(monkeypatch):
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 0)
    with pytest.raises(ValueError, match="this machine has no CUDA device"):
        InferenceOptions(device="cuda")
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 1)
    assert InferenceOptions(device="cuda:0").device == "cuda:0"
    with pytest.raises(ValueError, match="this machine has 1 CUDA device"):
        InferenceOptions(device="cuda:1")


def test_shifts_of_a_whole_bin_or_more_are_refused_at_inference(model, inputs):
    from crossreg.predict import predict

    bin_width = model.stride
    for shifts in ((bin_width,), (0, -bin_width), (SEQ_LENGTH,)):
        options = InferenceOptions(shifts=shifts)
        far = f"past whole {bin_width}-bp output bins"
        with pytest.raises(ValueError, match=far):
            predict_batch(model, inputs, "human", options)
        with pytest.raises(ValueError, match=far):
            predict(model, inputs, "human", options)
        with pytest.raises(ValueError, match=far):
            list(run_inference(model, "human", [0], options, load=lambda c: inputs[:1], reduce=min))
    widest = (bin_width - 1, 0, 1 - bin_width)
    got = predict_batch(model, inputs[:2], "human", InferenceOptions(shifts=widest))
    with torch.no_grad():
        x = torch.from_numpy(inputs[:2]).float()
        expect = ensemble_predict(lambda s: model(s, "human"), x, shifts=widest)
    torch.testing.assert_close(got, expect, atol=1e-5, rtol=1e-5)


def test_bf16_runs_on_the_cpu_too_and_stays_close(model, inputs):
    plain = predict_batch(model, inputs, "human")
    low = predict_batch(model, inputs, "human", InferenceOptions(bf16=True))
    assert low.dtype == torch.float32 and low.shape == plain.shape
    r = np.corrcoef(low.numpy().ravel(), plain.numpy().ravel())[0, 1]
    assert r > 0.99
    assert not torch.equal(low, plain)  # it did compute in bfloat16


def _trunk_input_dims(model, run) -> list[int]:
    """The dimensions of the first convolution's input each time `run()` runs the model."""
    from crossreg.model.blocks import LengthConv

    dims: list[int] = []
    first_conv = next(m for m in model.modules() if isinstance(m, LengthConv))
    hook = first_conv.register_forward_pre_hook(lambda _m, args: dims.append(args[0].dim()))
    try:
        run()
    finally:
        hook.remove()
    return dims


def test_cpu_inference_runs_the_trunk_channels_last_and_restores_the_model(model, inputs):
    """By default a CPU runs the trunk channels-last at inference (faster there) and a GPU
    the plain trunk; the options can say either; the model's own setting is back
    afterwards, and the predictions are the plain trunk's to float32 rounding."""
    default = InferenceOptions()
    assert default.trunk_channels_last(torch.device("cpu"))
    assert not default.trunk_channels_last(torch.device("cuda"))
    assert not InferenceOptions(channels_last=False).trunk_channels_last(torch.device("cpu"))
    assert InferenceOptions(channels_last=True).trunk_channels_last(torch.device("cuda"))
    got: dict[bool | None, torch.Tensor] = {}
    for layout, dims in ((None, 4), (False, 3)):
        options = InferenceOptions(channels_last=layout)

        def run(options: InferenceOptions = options, layout: bool | None = layout) -> None:
            got[layout] = predict_batch(model, inputs, "human", options)

        assert _trunk_input_dims(model, run) == [dims]
        assert model.channels_last is False
    with torch.no_grad():
        plain = model(torch.from_numpy(inputs).float(), "human")
    assert torch.equal(got[False], plain)
    torch.testing.assert_close(got[None], plain, rtol=1e-5, atol=1e-5)


def test_layout_and_compile_options_reach_the_inference_options():
    from crossreg.commands.options import add_inference_arguments, inference_options

    parser = argparse.ArgumentParser()
    add_inference_arguments(parser, batch_size=4)
    for text, wanted in (("auto", None), ("plain", False), ("channels-last", True)):
        args = parser.parse_args(["--trunk-layout", text])
        assert inference_options(args).channels_last is wanted
    default = inference_options(parser.parse_args([]))
    assert default.channels_last is None and default.compile is False
    assert inference_options(parser.parse_args(["--compile"])).compile is True
    with pytest.raises(SystemExit):
        parser.parse_args(["--trunk-layout", "nhwc"])


def test_compiled_inference_predicts_what_eager_inference_does(model, inputs):
    """``compile=True`` runs the model through ``torch.compile``: the same predictions to
    float32 rounding, over a last batch of another size (the batch dimension then becomes
    dynamic) and with the rc ensemble; logs say it is compiled."""
    options = InferenceOptions(batch_size=4, rc=True, compile=True)
    assert "compiled" in options.describe()
    eager = InferenceOptions(batch_size=4, rc=True)

    def predictions(o: InferenceOptions) -> torch.Tensor:
        parts = run_inference(
            model,
            "human",
            range(len(inputs)),
            o,
            load=lambda c: inputs[c.start : c.stop],
            reduce=lambda pred, _c: pred,
        )
        return torch.cat(list(parts))

    got = predictions(options)
    assert got.shape[0] == len(inputs)
    torch.testing.assert_close(got, predictions(eager), rtol=1e-4, atol=1e-5)


def test_a_compilation_that_fails_names_the_option_to_drop(model, inputs, monkeypatch):
    import crossreg.model.inference as inference

    def broken(*_args):
        raise torch._dynamo.exc.TorchDynamoException("InvalidCxxCompiler: no working compiler")

    monkeypatch.setattr(inference, "_compiled_forward", lambda: broken)
    with pytest.raises(CommandError, match=r"InvalidCxxCompiler.*run without --compile"):
        predict_batch(model, inputs, "human", InferenceOptions(compile=True))
    predict_batch(model, inputs, "human", InferenceOptions())  # eager is untouched


def test_inference_sets_full_float32_matrix_products_after_a_training():
    from crossreg.model.inference import tune_cuda

    matmul, cudnn = torch.backends.cuda.matmul, torch.backends.cudnn
    saved = (matmul.allow_tf32, cudnn.allow_tf32, cudnn.benchmark)
    try:
        tune_cuda(torch.device("cuda"), tf32=True)  # as a training does
        assert matmul.allow_tf32 and cudnn.allow_tf32
        tune_cuda(torch.device("cuda"))  # then an evaluation in the same process
        assert not matmul.allow_tf32 and cudnn.allow_tf32 and cudnn.benchmark
        tune_cuda(torch.device("cpu"), tf32=True)
        assert not matmul.allow_tf32  # nothing changes on other devices
    finally:
        matmul.allow_tf32, cudnn.allow_tf32, cudnn.benchmark = saved


def test_device_label_names_the_gpu_a_model_ran_on(monkeypatch):
    """What sad and ism record as `device`: the kind of device, and a GPU's name, since
    --device auto says nothing of where a job array's shard ran."""
    names = {0: "NVIDIA H100 80GB HBM3", 1: "NVIDIA A100-SXM4-40GB"}
    monkeypatch.setattr(torch.cuda, "get_device_name", lambda device: names[device.index])
    assert device_label(torch.device("cuda:1")) == "cuda: NVIDIA A100-SXM4-40GB"
    assert device_label(torch.device("cpu")) == "cpu"
    assert device_label(torch.device("mps")) == "mps"


def test_a_step_function_without_a_head_names_its_argument_too(model, tmp_path):
    # write_sad(model_dir, ...) of a two-head checkpoint said "choose one with --genome",
    # an option a pipeline calling the function does not have: it passes head=
    from crossreg.io.targets import Target
    from crossreg.model.checkpoint import make_config, save_checkpoint
    from crossreg.model.inference import load_head

    targets = {
        g: [
            Target(i, f"{g}{i}", (f"{g}{i}.bw",), 32.0, 1.0, "sum", f"DNASE:{g}{i}")
            for i in range(n)
        ]
        for g, n in (("human", 3), ("mouse", 2))
    }
    params = small_params({"human": 3, "mouse": 2}, dropout=0.0)
    save_checkpoint(tmp_path, model, make_config(model, params, targets))
    with pytest.raises(ValueError, match="choose one with --head") as err:
        load_head(tmp_path, None, InferenceOptions())
    assert str(err.value).endswith("(head= in Python)")
    assert load_head(tmp_path, "mouse", InferenceOptions())[2] == "mouse"
