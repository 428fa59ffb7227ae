"""A run whose optimisation has gone wrong while its figures stay finite is flagged in the
log once two epochs running show it; a healthy run is not."""

from __future__ import annotations

import csv
import json
import logging
import math
from pathlib import Path
from types import SimpleNamespace
from typing import cast

import numpy as np
import pytest
import torch

from crossreg.data.store import DataStore
from crossreg.model.metrics import TrackMetrics
from crossreg.train.divergence import (
    TARGETS_FIX,
    Advice,
    TrainingDivergedError,
    check_training_loss,
)
from crossreg.train.genome_data import GenomeData
from crossreg.train.health import (
    BLOWN_UP,
    LEAST_SIZE,
    VALIDATION_JUMP,
    EpochLosses,
    symptoms,
    validation_blowup,
    zero_loss,
)
from crossreg.train.options import TrainOptions
from crossreg.train.trainer import train
from tests.pipeline import small_params

DATA = Path(__file__).parent / "data"


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


def history(*losses: tuple[float, float | None]) -> list[EpochLosses]:
    """Earlier epochs 1, 2, ... of a phase, from their (validation, training) losses."""
    return [EpochLosses(n, valid, train) for n, (valid, train) in enumerate(losses, start=1)]


def test_a_validation_that_blows_up_alone_is_named_with_its_rise():
    before = history((0.5, 0.6))
    assert validation_blowup(49.0, 0.1, 0.55, before, 1.0) == [
        "its validation loss rose from 0.5 the epoch before to 49, by 97 times the former's size",
        "its training loss is 0.55 (0.6 the epoch before)",
    ]
    assert validation_blowup(0.5 * 10 * 0.99, 0.1, 0.55, before, 1.0) == []  # under 10 times
    assert validation_blowup(49.0, 0.1, 0.6 * 10, before, 1.0) == []  # training rose too
    # a negative loss (targets above 1): a rise of 9 times its size or more
    negative = history((-2.8, -2.6))
    assert validation_blowup(49.0, 0.1, -2.5, negative, 1.0)[0] == (
        "its validation loss rose from -2.8 the epoch before to 49, by 18.5 times the former's size"
    )
    assert validation_blowup(-2.8 + 0.99 * VALIDATION_JUMP * 2.8, 0.1, -2.5, negative, 1.0) == []
    assert validation_blowup(-2.0, 0.1, -2.5, negative, 1.0) == []  # an ordinary wobble
    assert validation_blowup(49.0, 0.1, 30.0, negative, 1.0) == []  # training rose too
    assert (
        validation_blowup(49.0, 0.1, 0.55, history((0.5, None)), 1.0)[1]
        == "its training loss is 0.55"
    )
    assert validation_blowup(math.nan, math.nan, 0.55, before, 1.0) == [
        "its validation loss is NaN",
        "its validation R is NaN",
        "its training loss is 0.55",
    ]
    # no step, or a training loss not finite itself: a divergence, reported as such
    assert validation_blowup(math.inf, 0.1, None, before, 1.0) == []
    assert validation_blowup(math.inf, 0.1, math.nan, before, 1.0) == []


def test_a_slow_climb_of_the_validation_is_measured_from_its_best_epoch():
    """Each epoch's validation loss rises less than 9 times the size of the one before's,
    but the last lies 9 times the best's size above it, while the training loss holds:
    the climb is named from the best epoch. It is not where the training loss rose as
    much from its own at that epoch, nor under 9 times."""
    climb = history(
        (-2.0, -1.9), (-3.0, -2.5), (-2.0, -2.6), (0.5, -2.7), (4.0, -2.8), (10.0, -2.9)
    )
    assert all(
        validation_blowup(now[0], 0.1, now[1], climb[: n - 1], 1.0) == []
        for n, now in enumerate([(e.valid, e.train) for e in climb], start=1)
        if n > 1
    )
    assert validation_blowup(25.0, 0.1, -3.0, climb, 1.0) == [
        "its validation loss rose from its best, -3 at epoch 2, to 25, by 9.33 times the "
        "former's size",
        "its training loss is -3 (-2.5 at epoch 2)",
    ]
    assert validation_blowup(-3.0 + 0.99 * VALIDATION_JUMP * 3.0, 0.1, -3.0, climb, 1.0) == []
    assert validation_blowup(25.0, 0.1, 20.0, climb, 1.0) == []  # training rose as much
    # a validation that stays blown up is named at every epoch, from the best
    stays = history((0.5, 0.6), (49.0, 0.55))
    assert validation_blowup(50.0, 0.1, 0.5, stays, 1.0)[0] == (
        "its validation loss rose from its best, 0.5 at epoch 1, to 50, by 99 times the "
        "former's size"
    )


def test_a_first_epoch_whose_validation_lies_far_above_its_training_is_named():
    """At a phase's first epoch nothing earlier is there to compare with: a validation
    loss 9 times the training loss's size above it is named where its predictions average
    no more than its targets (targets out of range); not where they average more (the
    batch-norm lag of a healthy run's first epoch), nor for a validation loss below the
    training loss (the end of an epoch's training is better than its mean) or near it."""
    assert validation_blowup(49.0, 0.1, 0.55, [], 0.002) == [
        "its validation loss is 49, above its training loss by 88.1 times the latter's size, "
        "with predictions averaging 0.002 times its targets",
        "its training loss is 0.55",
    ]
    assert validation_blowup(30.0, 0.1, -2.5, [], 1.0)[0].startswith(
        "its validation loss is 30, above its training loss by 13 times the latter's size"
    )
    assert validation_blowup(49.0, 0.1, 0.55, [], 1.01) == []  # predictions too high
    assert validation_blowup(49.0, 0.1, 0.55, [], math.nan) == []  # no targets
    assert validation_blowup(-2.5 + 0.99 * VALIDATION_JUMP * 2.5, 0.1, -2.5, [], 0.002) == []
    assert validation_blowup(-1.4, 0.1, -1.1, [], 0.002) == []


def test_a_loss_near_0_is_measured_against_a_least_size():
    """The Poisson loss is near 0 where the targets are near e (``y − y·ln y`` at
    predictions equal to targets ``y``). Measured against its own size alone, a wobble of
    a hundredth would be a blow-up, a loss of 0 (metrics.csv keeps 6 decimals) would hide
    one, and a training loss near 0 that wobbles would seem to rise as much as a
    validation blown up. The size is never below LEAST_SIZE."""
    assert LEAST_SIZE == 0.1
    assert validation_blowup(0.012, 0.1, 0.002, history((0.001, 0.002)), 1.0) == []
    assert validation_blowup(0.01, 0.1, 0.002, history((-0.001, 0.002)), 1.0) == []
    assert validation_blowup(0.04, 0.1, 0.003, [], 0.5) == []  # a first epoch
    assert validation_blowup(0.05 + 0.99 * VALIDATION_JUMP * LEAST_SIZE, 0.1, 0.05, [], 0.5) == []
    assert validation_blowup(0.05 + 1.01 * VALIDATION_JUMP * LEAST_SIZE, 0.1, 0.05, [], 0.5)
    assert validation_blowup(49.0, 0.1, 0.002, history((0.0, 0.002)), 1.0) == [
        "its validation loss rose from 0 the epoch before to 49, by 490 times 0.1 (the "
        "former's size is less)",
        "its training loss is 0.002 (0.002 the epoch before)",
    ]
    assert validation_blowup(49.0, 0.1, 0.012, history((0.3, 0.001)), 1.0)[0] == (
        "its validation loss rose from 0.3 the epoch before to 49, by 162 times the former's "
        "size"  # the training loss's rise of 0.011 is no jump
    )
    assert validation_blowup(49.0, 0.1, 0.0, [], 0.002)[0] == (
        "its validation loss is 49, above its training loss by 490 times 0.1 (the latter's "
        "size is less), with predictions averaging 0.002 times its targets"
    )


def closeness(valid: float, train: float, earlier: list[EpochLosses]) -> float:
    """How near an epoch comes to a warning: its validation loss's largest rise over the
    losses :func:`validation_blowup` compares it with, in units of :data:`VALIDATION_JUMP`
    times their size (1 warns, where the training loss did not rise as much)."""
    references = [earlier[-1].valid, min(e.valid for e in earlier)] if earlier else [train]
    return max((valid - ref) / (VALIDATION_JUMP * abs(ref)) for ref in references)


def test_the_demos_healthy_runs_stay_far_from_a_warning():
    """The demo's healthy SGD runs (seeds 0 and 1; the joint model's two genomes and the
    human and mouse models): no epoch is warned of, and none comes within a tenth of the
    threshold (the nearest, seed 1's human model at epoch 3 as batch-norm statistics lag,
    rises by 0.569 times the size of the epoch before's validation loss, against 9)."""
    runs: dict[tuple[str, str, str], list[EpochLosses]] = {}
    nearest = 0.0
    with open(DATA / "training" / "healthy_demo_losses.csv", newline="") as table:
        rows = list(csv.DictReader(table))
    for row in rows:
        earlier = runs.setdefault((row["seed"], row["model"], row["genome"]), [])
        valid, train = float(row["valid_loss"]), float(row["train_loss"])
        assert validation_blowup(valid, 0.5, train, earlier, 1.0) == []
        nearest = max(nearest, closeness(valid, train, earlier))
        earlier.append(EpochLosses(int(row["epoch"]), valid, train))
    assert len(runs) == 8 and sum(map(len, runs.values())) == 289
    assert nearest == pytest.approx(0.569 / VALIDATION_JUMP, abs=1e-3)


class _Scaled:
    """A store split's targets with every value read multiplied by `factor` (infinite:
    every value read as +inf)."""

    def __init__(self, rows, factor: float) -> None:
        self.rows, self.factor = rows, factor

    def __len__(self) -> int:
        return len(self.rows)

    def __getitem__(self, index):
        values = np.asarray(self.rows[index], dtype=np.float32)
        return values + self.factor if math.isinf(self.factor) else values * self.factor


def _validation_scaled(monkeypatch, genome: str, factor: float, from_read: int) -> None:
    """`genome`'s validation targets read `factor` times over (:class:`_Scaled`) from its
    `from_read`-th validation on (the first is 1), as a store with a bad validation
    window reads."""
    reads = {"n": 0}
    targets = DataStore.targets

    def scaled(self, split):
        rows = targets(self, split)
        if split != "valid" or self.genome != genome:
            return rows
        reads["n"] += 1
        return _Scaled(rows, factor) if reads["n"] >= from_read else rows

    monkeypatch.setattr(DataStore, "targets", scaled)


def test_a_validation_blown_up_while_training_is_not_is_warned_of(
    tmp_path, stores, logs, monkeypatch
):
    """Human's validation targets read 1,000 times over from the second epoch on (a bad
    validation window): the validation loss jumps while the training loss does not, and
    that epoch is warned of, naming the genome and the likely causes; so is the next,
    whose validation stays that far above its best (the first epoch's); the run goes on."""
    _validation_scaled(monkeypatch, "human", 1000.0, from_read=2)
    params = small_params({g: DataStore(d).num_targets for g, d in stores.items()})
    (tmp_path / "params.json").write_text(json.dumps(params))
    options = TrainOptions(max_epochs=3, steps_per_epoch=8, seed=0, patience=50)
    train(tmp_path / "params.json", list(stores.values()), tmp_path / "run", options, plots=False)
    warned = [r.getMessage() for r in logs.records if r.levelno == logging.WARNING]
    assert [m.split(":")[0] for m in warned] == ["epoch 2 (genome human)", "epoch 3 (genome human)"]
    message, stayed = warned
    assert " the epoch before to " in message and "times the former's size" in message
    assert "its validation loss rose from its best, " in stayed and " at epoch 1, to " in stayed
    said = "the validation blew up while the training did not; likely causes: a validation "
    assert said + "window whose targets are out of range" in message
    assert "too large a learning rate (lower train.learning_rate or set --clip-norm)" in message
    assert "bf16" not in message  # the run validated in float32
    assert (tmp_path / "run" / "best").is_dir()


def test_a_validation_bad_from_the_first_epoch_is_warned_of(tmp_path, stores, logs, monkeypatch):
    """Mouse's validation targets read 1,000 times over from the start: with no epoch
    before, the first epoch's validation loss is compared with its training loss, and
    warned of (before, a validation bad from the start was never named); then each epoch
    whose validation stays so far above its best so far."""
    _validation_scaled(monkeypatch, "mouse", 1000.0, from_read=1)
    params = small_params({g: DataStore(d).num_targets for g, d in stores.items()})
    (tmp_path / "params.json").write_text(json.dumps(params))
    options = TrainOptions(max_epochs=2, steps_per_epoch=8, seed=0, patience=50)
    train(tmp_path / "params.json", list(stores.values()), tmp_path / "run", options, plots=False)
    warned = [r.getMessage() for r in logs.records if r.levelno == logging.WARNING]
    assert [m.split(":")[0] for m in warned][:1] == ["epoch 1 (genome mouse)"]
    assert (
        "above its training loss by " in warned[0]
        and "with predictions averaging 0.00" in warned[0]
    )
    assert "the validation blew up while the training did not; likely causes: " in warned[0]


def test_a_non_finite_validation_beside_a_finite_training_loss_says_so(
    tmp_path, stores, logs, monkeypatch
):
    """Infinite validation targets: the run stops at the first epoch, as a divergence does
    (no best epoch can be chosen), but says that the training loss was finite and names
    the validation's likely causes, in a warning and in the error (bf16 among them, as
    the run validates in bf16); not "training diverged", whose advice is the learning
    rate alone."""
    _validation_scaled(monkeypatch, "mouse", math.inf, from_read=1)
    params = small_params({g: DataStore(d).num_targets for g, d in stores.items()})
    (tmp_path / "params.json").write_text(json.dumps(params))
    options = TrainOptions(max_epochs=2, steps_per_epoch=8, seed=0, bf16=True)
    with pytest.raises(TrainingDivergedError) as stopped:
        train(
            tmp_path / "params.json", list(stores.values()), tmp_path / "run", options, plots=False
        )
    said = str(stopped.value)
    assert said.startswith("validation loss is ")
    assert " at epoch 1 (genome mouse) while its training loss is " in said
    assert "no best epoch can be chosen by it, so the run stops; likely causes: a " in said
    assert "training diverged" not in said
    assert said.endswith(
        "; bf16 overflowing in the validation's predictions (train with --no-bf16)"
    )
    warned = [r.getMessage() for r in logs.records if r.levelno == logging.WARNING]
    assert [m.split(":")[0] for m in warned] == ["epoch 1 (genome mouse)"]
    assert "its validation R is NaN" in warned[0] and "window whose targets" in warned[0]
    # last/ holds the epoch: resumed, the run stops at once with the same error, training
    # no epoch after it
    with pytest.raises(TrainingDivergedError) as again:
        train(
            tmp_path / "params.json",
            list(stores.values()),
            tmp_path / "run",
            options,
            plots=False,
            resume=True,
        )
    assert str(again.value) == said
    with open(tmp_path / "run" / "metrics.csv") as handle:
        assert [row["epoch"] for row in csv.DictReader(handle)] == ["1", "1"]


def test_a_resumed_run_compares_its_validation_with_the_epoch_before_it_stopped(
    tmp_path, stores, logs, monkeypatch
):
    """Stopped after its first epoch and resumed, a run whose validation then blows up is
    warned of as an unbroken one is: the epoch before's figures come from ``last/``."""
    params = small_params({g: DataStore(d).num_targets for g, d in stores.items()})
    (tmp_path / "params.json").write_text(json.dumps(params))
    run = [tmp_path / "params.json", list(stores.values()), tmp_path / "run"]
    train(*run, TrainOptions(max_epochs=1, steps_per_epoch=8, seed=0), plots=False)
    _validation_scaled(monkeypatch, "human", 1000.0, from_read=1)
    options = TrainOptions(max_epochs=2, steps_per_epoch=8, seed=0)
    train(*run, options, plots=False, resume=True)
    warned = [r.getMessage() for r in logs.records if r.levelno == logging.WARNING]
    assert [m.split(":")[0] for m in warned] == ["epoch 2 (genome human)"]
    assert "times the former's size" in warned[0]


def test_a_training_loss_not_finite_at_a_read_names_its_steps_and_in_bf16_says_so():
    """The read of step 1 names that step alone, a later one the steps since the read
    before; in bf16 the advice adds --no-bf16. Finite sums, negative ones too, go on."""
    genomes = [cast(GenomeData, SimpleNamespace(name=name)) for name in ("human", "mouse")]
    advice = Advice("--learning-rate", 2.0, bf16=True)
    check_training_loss(genomes, [1.5, -3.0], 11, 1, "epoch 1", advice)
    with pytest.raises(TrainingDivergedError) as stopped:
        check_training_loss(genomes, [1.5, math.inf], 1, 0, "liver fine-tuning epoch 2", advice)
    assert str(stopped.value) == (
        "training diverged: the training loss turned inf in step 1 of liver fine-tuning "
        "epoch 2 (genome mouse); the run stops with nothing of the epoch saved; lower "
        "--learning-rate or lower --clip-norm in a new run (--resume keeps both), or, as "
        "bf16 may overflow, train with --no-bf16; or a training window's targets are out of "
        f"range ({TARGETS_FIX})"
    )
    with pytest.raises(TrainingDivergedError, match=r"turned NaN in steps 12 to 21 of epoch 3"):
        check_training_loss(genomes, [math.nan, 1.0], 21, 11, "epoch 3", advice)
