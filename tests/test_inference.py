"""The one inference loop: batching, order, the reduce hook, read-ahead, options, bf16."""

from __future__ import annotations

import threading

import numpy as np
import pytest
import torch

from crossreg.model.ensemble import ensemble_predict
from crossreg.model.inference import InferenceOptions, predict_batch, run_inference
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


def test_bf16_runs_on_the_cpu_too_and_stays_close(model, inputs):
    plain = predict_batch(model, inputs, "human")
    low = predict_batch(model, inputs, "human", InferenceOptions(bf16=True))
    assert low.dtype == torch.float32 and low.shape == plain.shape
    r = np.corrcoef(low.numpy().ravel(), plain.numpy().ravel())[0, 1]
    assert r > 0.99
    assert not torch.equal(low, plain)  # it did compute in bfloat16
