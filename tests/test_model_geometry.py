"""A model fits a dataset store only when input length, bin width, bins and tracks all
agree; each mismatch is named, and predictions are cropped to the targets' centre."""

from __future__ import annotations

import re
from pathlib import Path
from types import SimpleNamespace

import pytest
import torch

from crossreg.model.geometry import check_compatible, crop_to_targets
from crossreg.model.params import load_params
from crossreg.model.seqnn import SeqNN

FIXTURES = Path(__file__).parent / "data" / "basenji_fixtures"


@pytest.fixture(scope="module")
def model() -> SeqNN:
    """The mini model: 8,192 bp in, 64-bp bins, 128 bins cropped 12 a side to 104."""
    params = load_params(FIXTURES / "params_joint_mini.json")
    with torch.device("meta"):
        return SeqNN(params.model)


def store_like(model: SeqNN, **changes: object) -> SimpleNamespace:
    """A store's geometry fitting `model`'s human head, with `changes`."""
    fields = {
        "path": Path("store"),
        "genome": "human",
        "seq_length": model.seq_length,
        "pool_width": model.stride,
        "target_length": model.output_length(),
        "num_targets": model.num_targets("human"),
    }
    return SimpleNamespace(**{**fields, **changes})


def test_a_fitting_store_and_narrower_targets_are_accepted(model):
    assert (model.seq_length, model.stride, model.output_length()) == (8192, 64, 104)
    check_compatible(model, store_like(model), "params.json")
    narrower = store_like(model, target_length=100)  # cropped 2 more bins a side
    check_compatible(model, narrower, "params.json")


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"seq_length": 4096}, "the model reads 8,192 bp but dataset store has 4,096-bp windows"),
        # 32-bp bins cropped to as many bins as the model predicts: the same count, half
        # the width, so only the bin width tells them apart
        (
            {"pool_width": 32},
            "the model predicts 64-bp bins but dataset store has 32-bp target bins",
        ),
        (
            {"target_length": 106},
            "the model predicts 104 bins but dataset store has 106 target bins",
        ),
        (
            {"target_length": 101},
            "the model predicts 104 bins but dataset store has 101 target bins",
        ),
        ({"num_targets": 99}, "head for 'human' has 5 units but dataset store has 99 tracks"),
    ],
)
def test_each_mismatch_is_named(model, changes, message):
    store = store_like(model, **changes)
    with pytest.raises(ValueError, match="^" + re.escape(f"params.json: {message}")):
        check_compatible(model, store, "params.json")


def test_predictions_are_cropped_to_the_targets_centre():
    pred = torch.arange(10.0).reshape(1, 10, 1)
    assert crop_to_targets(pred, 6).flatten().tolist() == [2.0, 3.0, 4.0, 5.0, 6.0, 7.0]
    assert crop_to_targets(pred, 10) is pred
    for bins in (11, 7):
        with pytest.raises(ValueError, match=f"predicts 10 bins but the targets have {bins}"):
            crop_to_targets(pred, bins)


REBUILD = "rebuild the dataset with crossreg data --seq-length 8192 --pool-width 64 --crop 12"


@pytest.mark.parametrize(
    ("changes", "model_side"),
    [
        ({"seq_length": 4096}, "set model.seq_length to 4096"),
        ({"pool_width": 32}, "build the dataset with --pool-width 64"),
        ({"target_length": 106}, "adjust the model's Cropping1D (or the dataset's --crop)"),
    ],
)
def test_the_fixed_side_chooses_the_advice(model, changes, model_side):
    """A fixed checkpoint (the default: evaluate, finetune) is met by rebuilding the
    store with the exact options; a model being configured (train) by its params."""
    store = store_like(model, **changes)
    with pytest.raises(ValueError, match=re.escape(REBUILD)) as fixed:
        check_compatible(model, store, "ckpt", training=True)
    assert "model.seq_length" not in str(fixed.value) and "Cropping1D" not in str(fixed.value)
    with pytest.raises(ValueError, match=re.escape(model_side)):
        check_compatible(model, store, "params.json", training=True, model_fixed=False)
