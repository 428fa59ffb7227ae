"""Training end to end on the tiny synthetic world: loss, resume, torchrun, evaluation."""

from __future__ import annotations

import argparse
import contextlib
import csv
import importlib
import json
import math
import os
import signal
import subprocess
import sys
import textwrap
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.torch import load_file

from crossreg.cli import main
from crossreg.commands.train import report_outputs
from crossreg.data.dataset import SplitDataset
from crossreg.data.device_batches import codes_to_one_hot
from crossreg.data.store import DataStore
from crossreg.model.checkpoint import load_checkpoint, read_config
from crossreg.model.metrics import TrackMetrics
from crossreg.train import epoch_loop, run_checkpoints
from crossreg.train import genome_data as genome_data_module
from crossreg.train import trainer as trainer_module
from crossreg.train.board import FOLDER
from crossreg.train.divergence import TARGETS_FIX, TrainingDivergedError
from crossreg.train.figures import read_rows, training_figure
from crossreg.train.options import TrainOptions
from crossreg.train.step import train_step
from crossreg.train.trainer import train
from tests.pipeline import run_in_one_and_two_processes, small_params


def write_params(path: Path, stores: dict[str, Path], **kwargs) -> Path:
    """Small params with one head per store, sized to its tracks."""
    tracks = {name: DataStore(d).num_targets for name, d in stores.items()}
    path.write_text(json.dumps(small_params(tracks, **kwargs)))
    return path


def metric_rows(run: Path) -> list[dict[str, str]]:
    with open(run / "metrics.csv") as handle:
        return [{k: v for k, v in row.items() if k != "seconds"} for row in csv.DictReader(handle)]


@pytest.fixture(scope="module")
def joint_run(tmp_path_factory, stores) -> Path:
    root = tmp_path_factory.mktemp("joint")
    params = write_params(root / "params.json", stores)
    out = root / "run"
    args = ["-q", "train", "--params", str(params), "--out", str(out), "--max-epochs", "4"]
    args += ["--steps-per-epoch", "12"]
    for d in stores.values():
        args += ["--data", str(d)]
    assert main(args) == 0
    return out


def test_joint_training_lowers_the_loss_and_writes_checkpoints(joint_run):
    rows = metric_rows(joint_run)
    assert [(r["epoch"], r["genome"]) for r in rows[:2]] == [("1", "human"), ("1", "mouse")]
    for genome in ("human", "mouse"):
        losses = [float(r["train_loss"]) for r in rows if r["genome"] == genome]
        assert len(losses) == 4 and losses[-1] < losses[0]
    config = read_config(joint_run / "best")
    assert sorted(config.genomes) == ["human", "mouse"]
    assert config.params["model"]["seq_length"] == 8192
    model, _ = load_checkpoint(joint_run / "last")
    assert model.genomes == ["human", "mouse"]


def test_resume_continues_exactly(tmp_path, stores, monkeypatch):
    params = write_params(tmp_path / "params.json", stores, dropout=0.1)
    options = TrainOptions(max_epochs=2, steps_per_epoch=5, seed=3)
    whole = train(params, list(stores.values()), tmp_path / "whole", options)

    original = trainer_module.Trainer._write_metrics
    calls = {"n": 0}

    def crash_after_first_epoch(self):
        original(self)
        calls["n"] += 1
        if calls["n"] == 1:
            raise RuntimeError("interrupted")

    monkeypatch.setattr(trainer_module.Trainer, "_write_metrics", crash_after_first_epoch)
    with pytest.raises(RuntimeError, match="interrupted"):
        train(params, list(stores.values()), tmp_path / "resumed", options)
    assert len(metric_rows(tmp_path / "resumed")) == 2  # one epoch, two genomes
    monkeypatch.setattr(trainer_module.Trainer, "_write_metrics", original)
    resumed = train(params, list(stores.values()), tmp_path / "resumed", options, resume=True)

    assert metric_rows(resumed) == metric_rows(whole)
    a = load_file(str(whole / "last" / "model.safetensors"))
    b = load_file(str(resumed / "last" / "model.safetensors"))
    assert a.keys() == b.keys()
    for key in a:
        torch.testing.assert_close(a[key], b[key], rtol=0, atol=0)


def test_a_crash_while_saving_last_resumes_from_the_epoch_before(tmp_path, stores, monkeypatch):
    """``last/`` is replaced whole: killed after the second epoch's weights were written but
    before its training state, the run resumes from the first epoch's weights and state
    together and ends as an uninterrupted run."""
    params = write_params(tmp_path / "params.json", stores)
    options = TrainOptions(max_epochs=2, steps_per_epoch=3, seed=4, patience=50)
    whole = train(params, list(stores.values()), tmp_path / "whole", options)

    original = run_checkpoints.save_training_state
    calls = {"n": 0}

    def killed_in_the_second_save(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 2:
            raise KeyboardInterrupt
        original(*args, **kwargs)

    monkeypatch.setattr(run_checkpoints, "save_training_state", killed_in_the_second_save)
    with pytest.raises(KeyboardInterrupt):
        train(params, list(stores.values()), tmp_path / "killed", options)
    monkeypatch.setattr(run_checkpoints, "save_training_state", original)
    assert sorted(p.name for p in (tmp_path / "killed").glob(".last*")) == []
    resumed = train(params, list(stores.values()), tmp_path / "killed", options, resume=True)
    assert metric_rows(resumed) == metric_rows(whole)


def test_resume_extends_a_finished_run_with_more_epochs(tmp_path, stores):
    params = write_params(tmp_path / "params.json", stores)
    short = TrainOptions(max_epochs=1, steps_per_epoch=3, seed=5, patience=50)
    train(params, list(stores.values()), tmp_path / "extended", short)
    longer = TrainOptions(max_epochs=2, steps_per_epoch=3, seed=5, patience=50)
    extended = train(params, list(stores.values()), tmp_path / "extended", longer, resume=True)
    whole = train(params, list(stores.values()), tmp_path / "whole", longer)
    assert [r["epoch"] for r in metric_rows(extended)] == ["1", "1", "2", "2"]
    assert metric_rows(extended) == metric_rows(whole)


def test_training_leaves_the_callers_random_state_as_it_was(tmp_path, stores):
    """Training seeds torch's generator every epoch and a resume restores the stopped
    run's; a script that trains and then draws numbers of its own draws what it would
    have drawn without the training, not numbers fixed by the training's seed."""
    params = write_params(tmp_path / "params.json", stores, dropout=0.1)
    torch.manual_seed(123)
    expected = torch.rand(4)
    torch.manual_seed(123)
    options = TrainOptions(max_epochs=1, steps_per_epoch=2, seed=6)
    train(params, list(stores.values()), tmp_path / "run", options, plots=False)
    more = TrainOptions(max_epochs=2, steps_per_epoch=2, seed=6)
    train(params, list(stores.values()), tmp_path / "run", more, resume=True, plots=False)
    assert torch.equal(torch.rand(4), expected)


def test_training_leaves_the_callers_cuda_math_settings_as_they_were(tmp_path, stores, monkeypatch):
    """Training on a GPU turns on TF32 matrix products (and cuDNN's algorithm search); a
    script's own float32 products after it keep the precision it chose. The settings
    are made here as a GPU training makes them, on the CPU."""
    real = trainer_module.tune_cuda
    monkeypatch.setattr(
        trainer_module, "tune_cuda", lambda device, tf32: real(torch.device("cuda"), tf32=tf32)
    )
    kept = (torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.benchmark)
    torch.backends.cuda.matmul.allow_tf32 = torch.backends.cudnn.benchmark = False  # defaults
    try:
        params = write_params(tmp_path / "params.json", stores)
        options = TrainOptions(max_epochs=1, steps_per_epoch=1, device="cpu")
        train(params, list(stores.values()), tmp_path / "run", options, plots=False)
        after = (torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.benchmark)
    finally:
        torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.benchmark = kept
    assert after == (False, False)


def test_a_genome_without_a_step_in_an_epoch_has_no_training_loss(tmp_path, stores, logs):
    """An epoch capped by ``--steps-per-epoch`` may draw none of a genome's batches: its
    training loss is left empty in metrics.csv, out of the curve and the TensorBoard
    events, and the log line says so, rather than a loss of 0."""
    params = write_params(tmp_path / "params.json", stores)
    options = TrainOptions(max_epochs=3, steps_per_epoch=3, seed=5, patience=50)
    out = train(params, list(stores.values()), tmp_path / "run", options, plots=False)
    rows = metric_rows(out)
    idle = [r for r in rows if r["steps"] == "0"]
    assert idle, "seed 5's schedule leaves a genome without a step in its second epoch"
    assert [r["train_loss"] for r in idle] == [""] * len(idle)
    assert all(float(r["train_loss"]) > 0 for r in rows if r["steps"] != "0")
    genome, epoch = idle[0]["genome"], int(idle[0]["epoch"])
    assert f"{genome}: no training step, valid loss" in logs.text

    [curve] = [
        line
        for line in training_figure(read_rows(out / "metrics.csv")).axes[0].lines
        if line.get_label() == f"{genome} (joint)"
    ]
    trained = [int(r["epoch"]) for r in rows if r["genome"] == genome and r["steps"] != "0"]
    np.testing.assert_array_equal(curve.get_xdata(), trained)
    assert epoch not in trained

    try:
        reader = importlib.import_module("tensorboard.backend.event_processing.event_accumulator")
    except ImportError:  # the events are an optional extra
        return
    events = reader.EventAccumulator(str(out / FOLDER))
    events.Reload()
    assert [e.step for e in events.Scalars(f"joint/{genome}/train_loss")] == trained
    assert [e.step for e in events.Scalars(f"joint/{genome}/valid_loss")] == [1, 2, 3]


def test_a_channels_last_trunk_takes_the_plain_trunks_steps(tmp_path, stores, monkeypatch):
    """``--trunk-layout channels-last`` trains the same function: SGD from one seed takes
    the plain trunk's steps to float32 rounding, and the options record the layout."""
    layouts: list[bool] = []
    original = trainer_module.Trainer._write_metrics

    def note_layout(self):
        layouts.append(self.model.channels_last)
        original(self)

    monkeypatch.setattr(trainer_module.Trainer, "_write_metrics", note_layout)
    params = write_params(tmp_path / "params.json", stores, dropout=0.2)
    config = json.loads(params.read_text())
    config["train"].update(optimizer="sgd", learning_rate=0.05, momentum=0.98, clip_norm=2)
    params.write_text(json.dumps(config))
    common = ["-q", "train", "--params", str(params), "--max-epochs", "1"]
    common += ["--steps-per-epoch", "4", "--batch-size", "4", "--seed", "5"]
    for d in stores.values():
        common += ["--data", str(d)]
    for layout in ("plain", "channels-last"):
        assert main([*common, "--out", str(tmp_path / layout), "--trunk-layout", layout]) == 0
    assert layouts == [False, True]
    plain, last = tmp_path / "plain", tmp_path / "channels-last"
    recorded = json.loads((last / "train_options.json").read_text())
    assert recorded["channels_last"] is True
    for one, other in zip(metric_rows(plain), metric_rows(last), strict=True):
        for key in ("train_loss", "valid_loss", "valid_pearson_r"):
            assert float(other[key]) == pytest.approx(float(one[key]), rel=1e-4), key
    a = load_file(str(plain / "last" / "model.safetensors"))
    b = load_file(str(last / "last" / "model.safetensors"))
    for key in a:
        torch.testing.assert_close(a[key], b[key], rtol=1e-4, atol=1e-5, msg=key)
    model, _ = load_checkpoint(last / "last")
    assert model.channels_last is False  # a layout is how a run computes, not a weight


def test_two_processes_take_the_same_steps_as_one(tmp_path, stores):
    # Basenji's SGD with momentum and clipping: Adam divides each gradient by its own
    # magnitude, so the rounding of a near-zero gradient can flip a whole step's sign
    params = write_params(tmp_path / "params.json", stores, dropout=0.2)
    config = json.loads(params.read_text())
    config["train"].update(optimizer="sgd", learning_rate=0.05, momentum=0.98, clip_norm=2)
    params.write_text(json.dumps(config))
    common = ["train", "--params", str(params), "--max-epochs", "1", "--steps-per-epoch", "4"]
    common += ["--batch-size", "4", "--seed", "5"]
    for d in stores.values():
        common += ["--data", str(d)]
    one_dir, two_dir = run_in_one_and_two_processes(common, tmp_path)
    # metrics.csv logs the global batch's training loss, not rank 0's share of it, and the
    # validation of the whole split, which the processes share out
    for one, two in zip(metric_rows(one_dir), metric_rows(two_dir), strict=True):
        for key in ("train_loss", "valid_loss", "valid_pearson_r", "valid_r2"):
            assert float(two[key]) == pytest.approx(float(one[key]), rel=1e-4), key
    a = load_file(str(one_dir / "last" / "model.safetensors"))
    b = load_file(str(two_dir / "last" / "model.safetensors"))
    for key in a:
        torch.testing.assert_close(a[key], b[key], rtol=1e-4, atol=1e-5, msg=key)


def test_under_torchrun_the_progress_shows_the_global_loss_and_the_outputs_are_named_once(
    tmp_path, stores
):
    # the two processes' shares of each batch differ, so rank 0's own mean loss is not the
    # global batch's that metrics.csv logs
    params = write_params(tmp_path / "params.json", stores)
    args = ["train", "--params", str(params), "--max-epochs", "2", "--steps-per-epoch", "4"]
    args += ["--seed", "5", "--no-plots", "--out", str(tmp_path / "two")]
    for d in stores.values():
        args += ["--data", str(d)]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    env.pop("CROSSREG_PROGRESS", None)  # stderr is no terminal: process 0 logs progress
    torchrun = [sys.executable, "-m", "torch.distributed.run", "--standalone"]
    torchrun += ["--nproc-per-node", "2", "-m", "crossreg", *args]
    result = subprocess.run(torchrun, env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-3000:]
    rows = metric_rows(tmp_path / "two")
    for epoch in (1, 2):
        done = [
            line
            for line in result.stderr.splitlines()
            if f"joint epoch {epoch}: 4/4 steps" in line and "done in" in line
        ]
        assert len(done) == 1, result.stderr
        shown = float(done[0].split("loss=")[1].split(",")[0])
        mine = [r for r in rows if r["epoch"] == str(epoch) and r["train_loss"]]
        steps = sum(int(r["steps"]) for r in mine)
        mean = sum(int(r["steps"]) * float(r["train_loss"]) for r in mine) / steps
        assert shown == pytest.approx(mean, rel=1e-3)
    assert result.stdout.count("checkpoints in") == 1, result.stdout
    # process 0 validates its share of each split: the first half of its batches of 4 (the
    # params' batch size; of an odd number, the larger half), the other process the rest
    for name, store in stores.items():
        count = DataStore(store).splits["valid"]["count"]
        batches = -(-count // 4)
        share = min(-(-batches // 2) * 4, count)
        assert 0 < share < count
        done = [line for line in result.stderr.splitlines() if f"validation {name}:" in line]
        assert len(done) == 2 and all(f" {share}/{share} windows" in line for line in done), done


def test_evaluate_matches_a_numpy_reference(tmp_path, joint_run, stores):
    out = tmp_path / "eval"
    args = ["-q", "evaluate", "--model", str(joint_run / "best"), "--data", str(stores["human"])]
    assert main([*args, "--out", str(out)]) == 0
    lines = (out / "metrics.tsv").read_text().splitlines()
    assert lines[0] == "identifier\tdescription\tpearson_r\tr2"
    got = np.array([float(line.split("\t")[2]) for line in lines[1:]])

    model, _ = load_checkpoint(joint_run / "best")
    data = SplitDataset(stores["human"], "test", sequence="codes")
    batch = data.batch(np.arange(len(data)))
    with torch.no_grad():
        pred = model(codes_to_one_hot(batch["sequence"]), "human").numpy()
    y = batch["targets"].numpy().astype(np.float64)
    extra = (pred.shape[1] - y.shape[1]) // 2
    pred = pred[:, extra : extra + y.shape[1]].astype(np.float64)
    expect = [
        np.corrcoef(pred[..., t].ravel(), y[..., t].ravel())[0, 1] for t in range(y.shape[-1])
    ]
    np.testing.assert_allclose(got, expect, atol=1e-4)
    summary = json.loads((out / "summary.json").read_text())
    assert {row["assay"] for row in summary["by_assay"]} == {"DNASE", "ATAC", "CHIP", "CAGE"}


def test_single_genome_model_compares_with_the_joint_one(tmp_path, joint_run, stores):
    params = write_params(tmp_path / "params.json", {"human": stores["human"]})
    single = tmp_path / "single"
    args = ["-q", "train", "--params", str(params), "--data", str(stores["human"])]
    assert main([*args, "--out", str(single), "--max-epochs", "2"]) == 0
    for name, run in [("joint", joint_run), ("single", single)]:
        args = ["-q", "evaluate", "--model", str(run / "best"), "--data", str(stores["human"])]
        assert main([*args, "--out", str(tmp_path / f"eval_{name}")]) == 0
    out = tmp_path / "compare"
    args = ["-q", "compare", "--joint", str(tmp_path / "eval_joint" / "metrics.tsv")]
    args += ["--single", str(tmp_path / "eval_single" / "metrics.tsv"), "--out", str(out)]
    assert main(args) == 0
    table = (out / "comparison.tsv").read_text().splitlines()
    assert table[0].split("\t")[:3] == ["assay", "tracks", "mean_r_joint"]
    tracks = DataStore(stores["human"]).num_targets
    assert table[1].startswith(f"ALL\t{tracks}\t")
    assert (out / "scatter.png").read_bytes()[:4] == b"\x89PNG"


def test_mismatched_params_are_refused(tmp_path, stores):
    params = tmp_path / "params.json"
    params.write_text(json.dumps(small_params({"human": 5})))
    tracks = DataStore(stores["human"]).num_targets
    with pytest.raises(ValueError, match=rf"has 5 units but dataset .* has {tracks} tracks"):
        train(params, [stores["human"]], tmp_path / "run", TrainOptions(max_epochs=1))
    with pytest.raises(ValueError, match="no head for genome"):
        train(params, list(stores.values()), tmp_path / "run2", TrainOptions(max_epochs=1))


def test_a_genome_alone_is_scored_by_r_plus_a_quarter_r2_and_several_by_mean_r(
    tmp_path, stores, monkeypatch
):
    # epoch 1: R 0.50, R² 0.40 (R + R²/4 = 0.60); epoch 2: R 0.55, R² -0.20 (0.50)
    scripted = iter([(1.0, 0.50, 0.40), (1.0, 0.55, -0.20)] * 2)
    monkeypatch.setattr(
        trainer_module, "validate", lambda model, data, **_: (next(scripted), TrackMetrics(1))
    )
    options = TrainOptions(max_epochs=2, steps_per_epoch=1, batch_size=2, patience=5)
    human = {"human": stores["human"]}
    alone = train(write_params(tmp_path / "p1.json", human), [stores["human"]], tmp_path / "a",
                  options, plots=False)  # fmt: skip
    best = read_config(alone / "best").metrics["human"]["valid_pearson_r"]
    assert best == 0.50  # Basenji's fit_tape: R + R²/4 was best after epoch 1
    scripted = iter([(1.0, 0.50, 0.40), (1.0, 0.50, 0.40), (1.0, 0.55, -0.20), (1.0, 0.55, -0.2)])
    both = train(write_params(tmp_path / "p2.json", stores), list(stores.values()),
                 tmp_path / "b", options, plots=False)  # fmt: skip
    assert read_config(both / "best").metrics["human"]["valid_pearson_r"] == 0.55  # mean R


def test_the_validation_statistic_counts_an_undefined_r2_as_zero():
    from crossreg.train.early_stopping import validation_statistic

    assert validation_statistic(0.5, 0.4, alone=True) == pytest.approx(0.6)
    assert validation_statistic(0.5, float("nan"), alone=True) == 0.5
    assert validation_statistic(0.5, 0.4, alone=False) == 0.5


def test_a_phase_scores_a_genome_alone_by_r_and_r2_and_several_by_r():
    from crossreg.train.early_stopping import validation_scores

    assert validation_scores([(1.0, 0.5, 0.4)]) == [pytest.approx(0.6)]
    assert validation_scores([(1.0, 0.5, 0.4), (2.0, 0.3, float("nan"))]) == [0.5, 0.3]


def test_a_run_that_diverges_stops_at_the_next_read_of_its_training_loss(tmp_path, stores, logs):
    """A learning rate of a million sends the weights, and with them the training loss, to
    NaN after the first step: the run stops at the next read of the loss, at step 11 of
    30, with a message saying what to change and saving nothing (no last/, best/,
    metrics.csv or fine-tuning from NaN weights), and numpy warns of nothing."""
    data = json.loads(write_params(tmp_path / "params.json", stores).read_text())
    data["train"] = {"batch_size": 4, "optimizer": "sgd", "learning_rate": 1e6, "momentum": 0.99}
    (tmp_path / "params.json").write_text(json.dumps(data))
    out = tmp_path / "run"
    args = ["-q", "train", "--params", str(tmp_path / "params.json"), "--out", str(out)]
    args += ["--max-epochs", "2", "--steps-per-epoch", "30", "--seed", "3"]
    args += ["--finetune-epochs", "1"]
    for d in stores.values():
        args += ["--data", str(d)]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert main(args) == 1
    assert not [w for w in caught if "empty slice" in str(w.message)]
    said = (
        "training diverged: the training loss turned NaN in steps 2 to 11 of epoch 1 (genome "
        "human); the run stops with nothing of the epoch saved; lower train.learning_rate "
        "or set --clip-norm in a new run (--resume keeps both); or a training window's "
        f"targets are out of range ({TARGETS_FIX})"
    )
    assert said in logs.text
    assert sorted(p.name for p in out.iterdir()) == ["train_options.json"]


def bad_batch_at(monkeypatch: pytest.MonkeyPatch, step: int) -> dict[str, int]:
    """Infinite targets in the batch of the `step`-th training step (counted over the
    epochs, the first is 1), as a window whose targets overflowed float16 reads; returns
    the count of steps taken, under ``"n"``."""
    taken = {"n": 0}
    original = epoch_loop.on_device

    def planted(batch, device):
        x, y = original(batch, device)
        taken["n"] += 1
        return x, torch.full_like(y, float("inf")) if taken["n"] == step else y

    monkeypatch.setattr(epoch_loop, "on_device", planted)
    return taken


def test_a_training_loss_turned_nan_stops_its_epoch_and_keeps_the_epoch_before(
    tmp_path, stores, monkeypatch
):
    """A bad batch at the 3rd of the second epoch's 14 steps sends the loss and the weights
    to NaN: the run stops at the read of step 11, naming the steps, the epoch and what to
    change; last/ and best/ keep the first epoch's weights as saved, metrics.csv its rows,
    training.png is drawn from them, and resumed (without the bad batch) the run ends as
    an uninterrupted one."""
    params = write_params(tmp_path / "params.json", stores)
    options = TrainOptions(max_epochs=2, steps_per_epoch=14, seed=2, patience=50)
    data, out = list(stores.values()), tmp_path / "run"
    saved: dict[int, dict[str, torch.Tensor]] = {}
    save_last = trainer_module.Trainer._save_last

    def noting_last(self):
        save_last(self)
        saved[self.state.epoch] = load_file(str(self.out / "last" / "model.safetensors"))

    monkeypatch.setattr(trainer_module.Trainer, "_save_last", noting_last)
    taken = bad_batch_at(monkeypatch, 14 + 3)
    with pytest.raises(TrainingDivergedError) as stopped:
        train(params, data, out, options)
    assert str(stopped.value) == (
        "training diverged: the training loss turned NaN in steps 2 to 11 of epoch 2 (genome "
        "human); the run stops with nothing of the epoch saved; lower train.learning_rate "
        "or set --clip-norm in a new run (--resume keeps both); or a training window's "
        f"targets are out of range ({TARGETS_FIX})"
    )
    assert taken["n"] == 14 + 11 and list(saved) == [1]
    last = load_file(str(out / "last" / "model.safetensors"))
    assert last.keys() == saved[1].keys()
    for key in last:
        torch.testing.assert_close(last[key], saved[1][key], rtol=0, atol=0, msg=key)
    assert read_config(out / "last").epoch == 1 and read_config(out / "best").epoch == 1
    assert [(r["epoch"], r["genome"]) for r in metric_rows(out)] == [("1", "human"), ("1", "mouse")]
    assert (out / "training.png").is_file()
    monkeypatch.undo()
    resumed = train(params, data, out, options, resume=True)
    whole = train(params, data, tmp_path / "whole", options)
    assert metric_rows(resumed) == metric_rows(whole)
    a = load_file(str(whole / "last" / "model.safetensors"))
    b = load_file(str(resumed / "last" / "model.safetensors"))
    for key in a:
        torch.testing.assert_close(a[key], b[key], rtol=0, atol=0, msg=key)


def test_a_replacing_run_whose_loss_turns_nan_in_its_first_epoch_leaves_the_earlier_run(
    tmp_path, stores, monkeypatch
):
    """An --overwrite run with a bad batch at its first step stops at the read of that
    step, before it has an epoch to save: the earlier run's files are as they were, its
    training.png too (not removed as a figure this run did not draw)."""
    params = write_params(tmp_path / "params.json", stores)
    options = TrainOptions(max_epochs=1, steps_per_epoch=3, seed=2)
    data, out = list(stores.values()), tmp_path / "run"
    train(params, data, out, options)
    before = {str(p.relative_to(out)): p.read_bytes() for p in out.rglob("*") if p.is_file()}
    assert "training.png" in before
    bad_batch_at(monkeypatch, 1)
    with pytest.raises(TrainingDivergedError, match=" in step 1 of epoch 1 "):
        train(params, data, out, options, overwrite=True, plots=False)
    after = {str(p.relative_to(out)): p.read_bytes() for p in out.rglob("*") if p.is_file()}
    assert after == before


def test_under_torchrun_a_bad_batch_in_one_process_stops_both(tmp_path, stores):
    """Infinite targets in the second process's share of one batch: its loss alone turns
    NaN, but both processes read the processes' mean, so both stop at the same read (no
    process left waiting in a collective), each with the message and status 1 (noted
    before it exits 0, which torchrun's ending the other on a failure would otherwise
    race); last/ keeps the first epoch."""
    script = tmp_path / "planted.py"
    script.write_text(
        textwrap.dedent(
            """
            import os
            import sys
            from pathlib import Path

            import torch

            from crossreg import distributed
            from crossreg.cli import main
            from crossreg.train import epoch_loop

            original, taken = epoch_loop.on_device, [0]

            def planted(batch, device):
                x, y = original(batch, device)
                taken[0] += 1
                if taken[0] == 14 + 3 and distributed.rank() == 1:
                    return x, torch.full_like(y, float("inf"))
                return x, y

            epoch_loop.on_device = planted
            status = main(sys.argv[1:])
            Path(sys.argv[0]).with_name(f"status-{os.environ['RANK']}").write_text(str(status))
            """
        )
    )
    params = write_params(tmp_path / "params.json", stores)
    out = tmp_path / "two"
    args = ["train", "--params", str(params), "--max-epochs", "2", "--steps-per-epoch", "14"]
    args += ["--seed", "2", "--no-plots", "--out", str(out)]
    for d in stores.values():
        args += ["--data", str(d)]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    torchrun = [sys.executable, "-m", "torch.distributed.run", "--standalone"]
    torchrun += ["--nproc-per-node", "2", str(script), *args]
    result = subprocess.run(torchrun, env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    assert [(tmp_path / f"status-{rank}").read_text() for rank in (0, 1)] == ["1", "1"]
    said = "training diverged: the training loss turned NaN in steps 2 to 11 of epoch 2"
    assert result.stderr.count(said) == 2, result.stderr[-3000:]
    assert read_config(out / "last").epoch == 1
    assert [r["epoch"] for r in metric_rows(out)] == ["1", "1"]


def test_the_report_names_only_the_checkpoints_a_run_holds(tmp_path, capsys):
    (tmp_path / "last").mkdir()
    (tmp_path / "finetune_mouse").mkdir()
    report_outputs(tmp_path, argparse.Namespace(plots=False))
    said = capsys.readouterr().out
    assert f"checkpoints in {tmp_path} (last/, finetune_mouse/)" in said
    assert "best/" not in said


def test_read_ahead_reaches_the_loader_and_takes_the_same_steps(
    tmp_path, stores, monkeypatch, capsys
):
    """``--read-ahead N`` is the loader's: it reads N batches ahead on threads and the run
    takes the default's steps (the batches are a function of the seed and the epoch);
    with ``--workers`` it is refused, naming both."""
    seen: list[int] = []
    original = genome_data_module.make_loader

    def note(*args, **kwargs):
        seen.append(kwargs["read_ahead"])
        return original(*args, **kwargs)

    monkeypatch.setattr(genome_data_module, "make_loader", note)
    params = write_params(tmp_path / "params.json", stores)
    common = ["-q", "train", "--params", str(params), "--max-epochs", "1"]
    common += ["--steps-per-epoch", "3", "--batch-size", "4", "--seed", "5"]
    for d in stores.values():
        common += ["--data", str(d)]
    runs = {"default": [], "none": ["--read-ahead", "0"], "six": ["--read-ahead", "6"]}
    for name, extra in runs.items():
        assert main([*common, "--out", str(tmp_path / name), *extra]) == 0
    assert seen == [2] * len(stores) + [0] * len(stores) + [6] * len(stores)
    assert json.loads((tmp_path / "six" / "train_options.json").read_text())["read_ahead"] == 6
    rows = {name: metric_rows(tmp_path / name) for name in runs}
    for name in ("none", "six"):
        for one, other in zip(rows["default"], rows[name], strict=True):
            assert other["train_loss"] == one["train_loss"]
            assert other["valid_loss"] == one["valid_loss"]
    both = ["--out", str(tmp_path / "both"), "--read-ahead", "4", "--workers", "1"]
    assert main([*common, *both]) != 0
    assert "--read-ahead (read_ahead) is for the loader without worker" in capsys.readouterr().err
    assert not (tmp_path / "both" / "last").exists()


def test_worker_processes_take_the_steps_of_the_loader_without_them(tmp_path, stores):
    """``--workers 2`` reads each genome's batches in two processes, kept across epochs:
    the same batches in the same order (a function of the seed, the epoch and the window,
    not of the process that reads it), so the run takes the steps of a run without
    workers, also in a second epoch after a first cut short by ``--steps-per-epoch``
    (which leaves batches read ahead by the workers untaken)."""
    params = write_params(tmp_path / "params.json", stores)
    common = ["-q", "train", "--params", str(params), "--max-epochs", "2"]
    common += ["--steps-per-epoch", "3", "--batch-size", "4", "--seed", "3"]
    for d in stores.values():
        common += ["--data", str(d)]
    runs = {"threads": [], "workers": ["--workers", "2"]}
    for name, extra in runs.items():
        assert main([*common, "--out", str(tmp_path / name), *extra]) == 0
    threads, workers = (metric_rows(tmp_path / name) for name in runs)
    assert len(threads) == 2 * len(stores)
    for one, other in zip(threads, workers, strict=True):
        assert (other["epoch"], other["genome"]) == (one["epoch"], one["genome"])
        assert other["train_loss"] == one["train_loss"]
        assert other["valid_loss"] == one["valid_loss"]


SIDE_BY_SIDE = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    from crossreg.interrupts import sigterm_as_interrupt
    from crossreg.logs import setup_logging
    from crossreg.train.side_by_side import TrainRun, train_side_by_side
    from crossreg.train.options import TrainOptions

    params, store, out = map(Path, sys.argv[1:])
    setup_logging()
    options = TrainOptions(max_epochs=10_000, patience=10_000)
    groups = [[TrainRun(params, (store,), out / name, options)] for name in ("a", "b")]
    with sigterm_as_interrupt():
        try:
            train_side_by_side(groups, 1)
        except KeyboardInterrupt:
            sys.exit(130)
    """
)


def test_sigterm_to_the_process_that_trains_side_by_side_stops_its_workers(tmp_path, stores):
    """`kill` of the demo's process alone (not its process group) stops the trainings of
    its worker processes too, their finished epochs kept; it used to wait for them to
    train to the end."""
    params = write_params(tmp_path / "params.json", {"human": stores["human"]})
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1"}
    argv = [sys.executable, "-c", SIDE_BY_SIDE, str(params), str(stores["human"]), str(tmp_path)]
    process = subprocess.Popen(  # a session of its own: the workers can be killed with it
        argv, env=env, stderr=subprocess.PIPE, text=True, start_new_session=True
    )
    assert process.stderr is not None
    finished = set()
    for line in process.stderr:  # until each run has finished an epoch
        if "epoch 1/" in line:
            finished.add(line.split(": ")[0].split()[-1])
        if finished == {"a", "b"}:
            break
    process.send_signal(signal.SIGTERM)
    try:
        assert process.wait(timeout=120) == 130
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
    for name in ("a", "b"):
        assert (tmp_path / name / "last").is_dir() and (tmp_path / name / "metrics.csv").exists()
        assert not [p.name for p in (tmp_path / name).iterdir() if p.suffix in (".tmp", ".partial")]


def test_weights_turned_nan_by_an_epoch_s_last_update_stop_it(tmp_path, stores, monkeypatch):
    """The last update of an epoch sends a weight to NaN after every loss read was finite
    (a step's loss comes before its update): the run stops before validating, naming the
    weights rather than the validation's targets, and saves nothing of the epoch."""
    spec = small_params({"human": DataStore(stores["human"]).num_targets})
    (tmp_path / "params.json").write_text(json.dumps(spec))
    options = TrainOptions(max_epochs=1, steps_per_epoch=4, batch_size=2, seed=1)
    taken = {"n": 0}

    def last_update_nan(runner, *args, **kwargs):
        loss = train_step(runner, *args, **kwargs)
        taken["n"] += 1
        if taken["n"] == 4:
            with torch.no_grad():
                next(runner.parameters()).fill_(math.nan)
        return loss

    monkeypatch.setattr(epoch_loop, "train_step", last_update_nan)
    out = tmp_path / "run"
    with pytest.raises(TrainingDivergedError) as stopped:
        train(tmp_path / "params.json", [stores["human"]], out, options, plots=False)
    assert str(stopped.value).startswith(
        "training diverged: the weights turned NaN or infinite in the last steps of epoch 1, "
        "after every training loss read was finite; the run stops with nothing of the epoch "
        "saved; lower train.learning_rate"
    )
    assert not (out / "last").exists() and not (out / "best").exists()
