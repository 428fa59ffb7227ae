"""A kill at any point of an epoch's end leaves outputs that a resume makes whole again:
``metrics.csv`` holds the rows of ``last/``, ``best/`` is the previous one or the new one,
and a resume on another store of the same genome and tracks is refused."""

from __future__ import annotations

import csv
import json
import math
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import torch
from safetensors.torch import load_file

import crossreg.model.checkpoint as checkpoint_module
from crossreg.cli import main
from crossreg.data.store import DataStore
from crossreg.model.checkpoint import load_checkpoint, read_config
from crossreg.train import trainer as trainer_module
from crossreg.train.board import MetricsBoard
from crossreg.train.divergence import TrainingDivergedError
from crossreg.train.metrics_table import METRIC_FIELDS
from crossreg.train.options import TrainOptions
from crossreg.train.state import JSON_FILE
from crossreg.train.trainer import train
from tests.pipeline import rebuilt_store, small_params
from tests.test_train_health import _validation_scaled


def options(max_epochs: int) -> TrainOptions:
    """The options of the human runs here, for `max_epochs` epochs."""
    return TrainOptions(max_epochs=max_epochs, steps_per_epoch=2, batch_size=2, seed=1, patience=50)


@pytest.fixture(scope="module")
def params(tmp_path_factory, stores) -> Path:
    path = tmp_path_factory.mktemp("params") / "params.json"
    tracks = {name: DataStore(d).num_targets for name, d in stores.items()}
    path.write_text(json.dumps(small_params(tracks)))
    return path


@pytest.fixture(scope="module")
def finished(tmp_path_factory, params, stores) -> Path:
    """A finished two-epoch run on the human store."""
    out = tmp_path_factory.mktemp("finished") / "out"
    return train(params, [stores["human"]], out, options(2), plots=False)


def copy_of(run: Path, tmp_path: Path) -> Path:
    return Path(shutil.copytree(run, tmp_path / "run"))


def csv_rows(run: Path) -> list[dict[str, str]]:
    with open(run / "metrics.csv", newline="") as handle:
        return list(csv.DictReader(handle))


def last_rows(run: Path) -> list[dict[str, str]]:
    """The metric rows that ``last/``'s training state holds, as ``metrics.csv`` spells them."""
    rows = json.loads((run / "last" / JSON_FILE).read_text())["extra"]["rows"]
    return [{k: "" if row[k] is None else str(row[k]) for k in METRIC_FIELDS} for row in rows]


def resume(params: Path, data: list[Path], out: Path, max_epochs: int = 2) -> Path:
    return train(params, data, out, options(max_epochs), resume=True, plots=False)


@pytest.mark.parametrize(
    ("owner", "method"),
    [(trainer_module.Trainer, "_save_last"), (MetricsBoard, "epoch")],
    ids=["right after last/ is saved", "while the events are written"],
)
def test_a_kill_at_the_end_of_the_last_epoch_loses_no_metrics(
    tmp_path, params, stores, monkeypatch, owner, method
):
    """Killed at the end of a run's last epoch, before or after ``last/`` records it, the
    resumed run's metrics.csv holds every epoch, as ``last/`` does."""
    original = getattr(owner, method)
    calls = {"n": 0}

    def killed_in_the_second_epoch(self, *args):
        original(self, *args)
        calls["n"] += 1
        if calls["n"] == 2:
            raise KeyboardInterrupt

    monkeypatch.setattr(owner, method, killed_in_the_second_epoch)
    with pytest.raises(KeyboardInterrupt):
        train(params, [stores["human"]], tmp_path / "out", options(2))
    monkeypatch.setattr(owner, method, original)
    out = resume(params, [stores["human"]], tmp_path / "out")
    assert [row["epoch"] for row in csv_rows(out)] == ["1", "2"]
    assert csv_rows(out) == last_rows(out)


def test_a_resume_rewrites_metrics_csv_from_last(tmp_path, params, stores, finished):
    """A metrics.csv that lost an epoch (as a kill left it in earlier versions) holds every
    row of ``last/`` again once the run is resumed, though no epoch is left to train."""
    out = copy_of(finished, tmp_path)
    lines = (out / "metrics.csv").read_text().splitlines(keepends=True)
    (out / "metrics.csv").write_text("".join(lines[:2]))  # the header and epoch 1
    resume(params, [stores["human"]], out)
    assert [row["epoch"] for row in csv_rows(out)] == ["1", "2"]
    assert csv_rows(out) == last_rows(out)


def test_a_kill_while_saving_best_keeps_the_previous_best(tmp_path, params, stores, monkeypatch):
    """Killed between the weights and the config of the second epoch's ``best/``, the
    first epoch's ``best/`` is still there whole."""
    original = checkpoint_module.atomic_write
    writes = {"n": 0}

    def killed_in_the_second_best_config(path: Path, mode: str = "w") -> Any:
        if path.name == checkpoint_module.CONFIG_NAME and "best" in path.parent.name:
            writes["n"] += 1
            if writes["n"] == 2:
                raise KeyboardInterrupt
        return original(path, mode)

    monkeypatch.setattr(checkpoint_module, "atomic_write", killed_in_the_second_best_config)
    joint = TrainOptions(max_epochs=2, steps_per_epoch=2, seed=1, patience=50)
    with pytest.raises(KeyboardInterrupt):  # epoch 2 improved on epoch 1: best/ was saved again
        train(params, [stores["human"], stores["mouse"]], tmp_path / "out", joint, plots=False)
    out = tmp_path / "out"
    model, config = load_checkpoint(out / "best")
    assert config.epoch == 1
    first = load_file(str(out / "last" / checkpoint_module.WEIGHTS_NAME))  # epoch 1's weights
    for key, value in model.state_dict().items():
        torch.testing.assert_close(value, first[key], rtol=0, atol=0)
    assert read_config(out / "last").epoch == 1
    assert sorted(p.name for p in out.iterdir() if p.name.startswith(".best")) == []


def test_a_resume_on_another_store_of_the_genome_is_refused(tmp_path, params, stores, finished):
    out = copy_of(finished, tmp_path)
    other = rebuilt_store(stores["human"], tmp_path / "human_8192", "--stride", "8192")
    before = (out / "metrics.csv").read_text()
    with pytest.raises(ValueError) as refused:
        resume(params, [other], out, max_epochs=3)
    message = str(refused.value)
    assert f"--data {other} is not the human store" in message
    assert f"trained on ({stores['human']})" in message
    assert "stride 4096 there, 8192 here" in message and "train windows" in message
    assert (out / "metrics.csv").read_text() == before


def test_a_moved_store_resumes(tmp_path, params, stores, finished):
    out = copy_of(finished, tmp_path)
    moved = Path(shutil.copytree(stores["human"], tmp_path / "moved"))
    resume(params, [moved], out, max_epochs=3)
    assert [row["epoch"] for row in csv_rows(out)] == ["1", "2", "3"]


def test_a_last_without_its_stores_resumes_with_a_warning(tmp_path, params, stores, finished, logs):
    """``last/`` written before crossreg recorded its stores: nothing to check against."""
    out = copy_of(finished, tmp_path)
    state = json.loads((out / "last" / JSON_FILE).read_text())
    del state["extra"]["stores"]
    (out / "last" / JSON_FILE).write_text(json.dumps(state))
    resume(params, [stores["human"]], out)
    assert "does not record its run's stores" in logs.text


def test_a_resume_with_fewer_epochs_than_the_run_trained_is_refused(
    tmp_path, params, stores, finished, logs
):
    """``--resume --max-epochs 1`` on a finished two-epoch run kept its two-epoch weights
    while ``train_options.json`` said one: it is refused naming both numbers, and nothing
    in the run changes."""
    out = copy_of(finished, tmp_path)
    before = {p.name: p.read_bytes() for p in out.iterdir() if p.is_file()}
    args = ["train", "--params", str(params), "--data", str(stores["human"]), "--out", str(out)]
    args += ["--steps-per-epoch", "2", "--batch-size", "2", "--seed", "1", "--patience", "50"]
    assert main([*args, "--resume", "--max-epochs", "1", "--no-plots"]) == 1
    assert "the joint phase of" in logs.text
    assert "has trained 2 epochs, more than --max-epochs 1" in logs.text
    assert "resume with --max-epochs 2 or more" in logs.text
    assert {p.name: p.read_bytes() for p in out.iterdir() if p.is_file()} == before


def test_a_resume_of_a_finished_run_says_nothing_was_trained(
    tmp_path, params, stores, finished, logs
):
    out = copy_of(finished, tmp_path)
    before = (out / "last" / "model.safetensors").read_bytes()
    resume(params, [stores["human"]], out, max_epochs=2)
    assert "had finished (joint phase: its --max-epochs 2 epochs; a larger" in logs.text
    assert "nothing more was trained" in logs.text
    assert (out / "last" / "model.safetensors").read_bytes() == before
    assert [row["epoch"] for row in csv_rows(out)] == ["1", "2"]


def stopping_options(max_epochs: int, patience: int) -> TrainOptions:
    """Options with which the tiny human run's validation R falls at epoch 2 (seed 3)."""
    return TrainOptions(
        max_epochs=max_epochs, steps_per_epoch=2, batch_size=2, seed=3, patience=patience
    )


@pytest.fixture(scope="module")
def stopped(tmp_path_factory, params, stores) -> Path:
    """A run that early stopping (patience 0) ended at epoch 2 of at most 6."""
    out = tmp_path_factory.mktemp("stopped") / "out"
    train(params, [stores["human"]], out, stopping_options(6, 0), plots=False)
    assert [row["epoch"] for row in csv_rows(out)] == ["1", "2"]
    return out


def test_a_resume_after_early_stopping_trains_on_only_with_more_patience(
    tmp_path, params, stores, stopped, logs
):
    """More epochs alone do not undo early stopping: the resume says that nothing more
    was trained and why; a larger patience trains on as one run with it would have."""
    out = copy_of(stopped, tmp_path)
    train(params, [stores["human"]], out, stopping_options(8, 0), resume=True, plots=False)
    assert "early stopping after 2 of --max-epochs 8 epochs (--patience 0)" in logs.text
    assert [row["epoch"] for row in csv_rows(out)] == ["1", "2"]
    train(params, [stores["human"]], out, stopping_options(3, 5), resume=True, plots=False)
    whole = train(params, [stores["human"]], tmp_path / "whole", stopping_options(3, 5))
    assert [row["epoch"] for row in csv_rows(out)] == ["1", "2", "3"]
    assert without_seconds(csv_rows(out)) == without_seconds(csv_rows(whole))


def without_seconds(rows: list[dict[str, str]]) -> list[dict[str, str]]:
    return [{k: v for k, v in row.items() if k != "seconds"} for row in rows]


def test_a_resume_with_a_patience_that_would_have_stopped_the_run_is_refused(
    tmp_path, params, stores
):
    """Two epochs with patience 5, the second unimproved: patience 0 would have stopped
    there, so resuming with it cannot make a patience-0 run of the weights."""
    out = train(params, [stores["human"]], tmp_path / "out", stopping_options(2, 5), plots=False)
    with pytest.raises(ValueError) as refused:
        train(params, [stores["human"]], out, stopping_options(4, 0), resume=True, plots=False)
    message = str(refused.value)
    assert "has trained 2 epochs without stopping early, and --patience 0 would" in message
    assert "resume with --patience 5 and --min-epochs 1" in message


def test_a_second_run_into_a_folder_being_trained_is_refused(
    tmp_path, params, stores, finished, logs
):
    """A resume (or a new run) into an --out that another run is training into wrote
    ``last/`` and ``metrics.csv`` in turn with it; it is refused while the folder is held,
    here by another process, and goes on once it is free."""
    out = copy_of(finished, tmp_path)
    holder = (
        "import fcntl, os, sys\n"
        f"fd = os.open({str(out)!r}, os.O_RDONLY | os.O_DIRECTORY)\n"
        "fcntl.flock(fd, fcntl.LOCK_EX)\n"
        "print('held', flush=True)\n"
        "sys.stdin.read()\n"
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", holder], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    try:
        assert proc.stdout is not None and proc.stdout.readline() == "held\n"
        before = (out / "metrics.csv").read_text()
        with pytest.raises(ValueError, match="another crossreg run is training into it now"):
            resume(params, [stores["human"]], out, max_epochs=3)
        assert (out / "metrics.csv").read_text() == before
        # the command line says so before the folder's run: not "continue it with --resume"
        argv = ["train", "--params", str(params), "--data", str(stores["human"])]
        logs.clear()
        assert main([*argv, "--out", str(out), "--max-epochs", "3", "--no-plots"]) == 1
        assert "another crossreg run is training into it now" in logs.text
        assert "--resume" not in logs.text.split("training into it now")[0]
    finally:
        proc.communicate("")
    resume(params, [stores["human"]], out, max_epochs=3)
    assert [row["epoch"] for row in csv_rows(out)] == ["1", "2", "3"]


def test_a_run_refused_before_its_first_file_leaves_no_folder(tmp_path, params, stores):
    """A resume into a folder that does not exist is refused and does not make it."""
    with pytest.raises(ValueError, match="does not exist"):
        resume(params, [stores["human"]], tmp_path / "absent")
    assert not (tmp_path / "absent").exists()


def _stopped_replacing(tmp_path, params, stores, finished, monkeypatch, owner, method) -> Path:
    """A copy of the finished run, replaced (overwrite) by a run of another seed that is
    stopped at its first call of `owner.method`."""
    out = copy_of(finished, tmp_path)

    def stopped(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(owner, method, stopped)
    with pytest.raises(KeyboardInterrupt):
        replacing = TrainOptions(max_epochs=1, steps_per_epoch=2, batch_size=2, seed=9)
        train(params, [stores["human"]], out, replacing, overwrite=True, plots=False)
    monkeypatch.undo()
    return out


def test_a_replacing_run_stopped_before_its_first_epoch_leaves_the_earlier_run_whole(
    tmp_path, params, stores, finished, monkeypatch
):
    """Stopped while its first epoch validates, a run that replaces another (overwrite)
    has changed none of the earlier run's files: its train_options.json included."""
    out = _stopped_replacing(
        tmp_path, params, stores, finished, monkeypatch, trainer_module, "validate"
    )
    for name in ("train_options.json", "metrics.csv", "best/model.safetensors", "last/config.json"):
        assert (out / name).read_bytes() == (finished / name).read_bytes(), name


def test_a_replacing_run_stopped_once_best_is_saved_leaves_no_earlier_last(
    tmp_path, params, stores, finished, monkeypatch
):
    """Stopped between the ``best/`` and the ``last/`` of its first epoch, a run that
    replaces another has removed the earlier run's ``last/`` first: a resume is refused,
    rather than continuing the earlier run with the new run's weights in ``best/`` (which
    it would never replace, having finished)."""
    out = _stopped_replacing(tmp_path, params, stores, finished, monkeypatch, MetricsBoard, "epoch")
    assert read_config(out / "best").extra["train_options"]["seed"] == 9
    assert not (out / "last").exists()
    assert sorted(p.name for p in out.iterdir() if p.name.startswith(".last")) == []
    assert json.loads((out / "train_options.json").read_text())["seed"] == 9
    assert not (out / "metrics.csv").exists()  # the earlier run's rows
    with pytest.raises(ValueError, match="no finished epoch to continue from"):
        resume(params, [stores["human"]], out)


def test_a_replacing_run_whose_validation_blows_up_leaves_no_earlier_best(
    tmp_path, params, stores, finished, monkeypatch
):
    """A run that replaces another and whose first validation comes out NaN (infinite
    validation targets) saves no ``best/``: the earlier run's is gone with its ``last/``,
    not left beside the new run's for evaluate."""
    out = copy_of(finished, tmp_path)
    other = json.loads(params.read_text())
    other["train"] = {**other.get("train", {}), "learning_rate": 0.0123}
    (tmp_path / "other.json").write_text(json.dumps(other))
    _validation_scaled(monkeypatch, "human", math.inf, from_read=1)
    with pytest.raises(TrainingDivergedError, match="while its training loss is"):
        train(tmp_path / "other.json", [stores["human"]], out, options(1), overwrite=True)
    assert read_config(out / "last").params["train"]["learning_rate"] == 0.0123
    assert not (out / "best").exists()
