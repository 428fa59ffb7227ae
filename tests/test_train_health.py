"""A run whose optimisation has gone wrong while its figures stay finite is flagged in the
log once two epochs running show it; a healthy run is not."""

from __future__ import annotations

import json
import logging
import math

import pytest
import torch

from crossreg.data.store import DataStore
from crossreg.model.metrics import TrackMetrics
from crossreg.train.health import BLOWN_UP, symptoms, zero_loss
from crossreg.train.options import TrainOptions
from crossreg.train.trainer import train
from tests.pipeline import small_params


def metrics_of(pred: torch.Tensor, target: torch.Tensor) -> TrackMetrics:
    metrics = TrackMetrics(pred.shape[-1])
    metrics.update(pred, target)
    return metrics


def test_flat_tracks_are_signs_beside_a_training_loss_near_that_of_predicting_zero():
    generator = torch.Generator().manual_seed(0)
    target = torch.rand(3, 50, 4, generator=generator) * 4
    pred = torch.rand(3, 50, 4, generator=generator) + 0.5
    zero = -math.log(1e-7) * float(target.double().mean())
    assert zero_loss(metrics_of(pred, target)) == pytest.approx(zero)
    high = 0.6 * zero
    assert symptoms(metrics_of(pred, target), high) == []  # every track's predictions vary
    pred[..., 1] = 0.0  # an output the softplus has flattened at 0
    pred[..., 3] = 2.5
    metrics = metrics_of(pred, target)
    loss = f"its training loss is {high:.4g}, 0.6 times that of predicting 0 everywhere "
    loss += f"({zero:.4g})"
    flat = "2 of its 4 tracks are predicted the same in every validation bin (R 0)"
    assert symptoms(metrics, high) == [flat, loss]
    # a low training loss: lagging batch statistics, not a broken model; no step: no loss
    assert symptoms(metrics, 0.4 * zero) == [] and symptoms(metrics, None) == []
    all_flat = symptoms(metrics_of(torch.zeros_like(pred), target), high)
    assert all_flat == ["all 4 tracks are predicted the same in every validation bin (R 0)", loss]


def test_predictions_far_above_the_targets_are_named_with_their_ratio():
    target = torch.full((2, 10, 3), 2.0)
    target[0, 0] = 4.0
    pred = torch.linspace(1, 2, 60).reshape(2, 10, 3)
    mean = float(target.mean())
    high = -math.log(1e-7) * mean
    below = pred * BLOWN_UP * mean / float(pred.mean()) * 0.99
    assert symptoms(metrics_of(below, target), high) == []
    seen = symptoms(metrics_of(pred * 300 * mean / float(pred.mean()), target), high)
    assert seen[0] == "its predictions average 300 times its targets" and len(seen) == 2


def test_a_non_finite_validation_is_left_to_the_divergence_check():
    pred = torch.zeros(1, 4, 2)
    pred[0, 0, 0] = float("nan")
    assert symptoms(metrics_of(pred, torch.ones(1, 4, 2)), 100.0) == []


def test_targets_all_zero_give_no_scale_to_judge_by():
    assert symptoms(metrics_of(torch.zeros(1, 4, 2), torch.zeros(1, 4, 2)), 5.0) == []


def test_a_run_sent_off_by_a_huge_learning_rate_is_flagged_once_two_epochs_show_it(
    tmp_path, stores, logs
):
    """Adam at a learning rate of 100 sends the tiny model's heads to a flat softplus in
    the first epoch, with finite figures: from the second epoch on, a warning names it for
    each genome; the run goes on and keeps its best epoch."""
    params = small_params({g: DataStore(d).num_targets for g, d in stores.items()})
    params["train"]["learning_rate"] = 100.0
    (tmp_path / "params.json").write_text(json.dumps(params))
    options = TrainOptions(max_epochs=3, steps_per_epoch=8, seed=0, patience=50)
    train(tmp_path / "params.json", list(stores.values()), tmp_path / "run", options, plots=False)
    warned = [r.getMessage() for r in logs.records if r.levelno == logging.WARNING]
    assert [m.split(":")[0] for m in warned] == [
        f"epoch {e} (genome {g})" for e in (2, 3) for g in ("human", "mouse")
    ]
    said = "times that of predicting 0 everywhere ({}), and the epoch before showed such signs "
    said += "too: too large a learning rate does this; lower train.learning_rate or set "
    said += "--clip-norm"
    assert all("tracks are predicted the same in every validation bin (R 0)" in m for m in warned)
    assert all(m.endswith(said.format(m.split("everywhere (")[1].split(")")[0])) for m in warned)
    assert (tmp_path / "run" / "best").is_dir()


def test_a_healthy_run_is_not_flagged(tmp_path, stores, logs):
    """The tiny model's healthy runs, whose valid R stays near 0 in their first epochs:
    Adam at the params' 0.002 and at 1, and SGD at the paper's 0.15 with clipping."""
    for name, train_section, clip in [
        ("adam", {"optimizer": "adam", "learning_rate": 0.002}, None),
        ("adam1", {"optimizer": "adam", "learning_rate": 1.0}, None),
        ("sgd", {"optimizer": "sgd", "learning_rate": 0.15, "momentum": 0.99}, 2.0),
    ]:
        params = small_params({g: DataStore(d).num_targets for g, d in stores.items()})
        params["train"].update(train_section)
        (tmp_path / f"{name}.json").write_text(json.dumps(params))
        options = TrainOptions(max_epochs=2, steps_per_epoch=8, seed=0, clip_norm=clip)
        train(
            tmp_path / f"{name}.json", list(stores.values()), tmp_path / name, options, plots=False
        )
    assert not [r.getMessage() for r in logs.records if r.levelno >= logging.WARNING]


def test_a_resumed_run_remembers_the_signs_of_the_epoch_before_it_stopped(tmp_path, stores, logs):
    """A run stopped after its first epoch (as a job of a time-limited queue is) and
    resumed warns at its second, as an unbroken run does: the epoch before's signs are kept
    in ``last/`` (before, a resumed run's first epoch was never warned of, and a run
    resumed every epoch never was)."""
    params = small_params({g: DataStore(d).num_targets for g, d in stores.items()})
    params["train"]["learning_rate"] = 100.0
    (tmp_path / "params.json").write_text(json.dumps(params))
    run = [tmp_path / "params.json", list(stores.values()), tmp_path / "run"]
    options = TrainOptions(max_epochs=1, steps_per_epoch=8, seed=0, patience=50)
    train(*run, options, plots=False)
    assert not [r for r in logs.records if r.levelno == logging.WARNING]
    options = TrainOptions(max_epochs=2, steps_per_epoch=8, seed=0, patience=50)
    train(*run, options, plots=False, resume=True)
    warned = [r.getMessage() for r in logs.records if r.levelno == logging.WARNING]
    assert [m.split(":")[0] for m in warned] == [
        f"epoch 2 (genome {g})" for g in ("human", "mouse")
    ]
