"""A resume continues only the run it was started as; damaged checkpoints and a head
scored on a store of other tracks are refused with one message."""

from __future__ import annotations

import importlib.util
import json
import re
import shutil
from pathlib import Path

import pytest

from crossreg.cli import main
from crossreg.data.store import DataStore
from crossreg.evaluate.accuracy import evaluate_model
from crossreg.train.options import TrainOptions
from crossreg.train.state import JSON_FILE, TENSORS_FILE
from crossreg.train.trainer import train
from tests.pipeline import small_params


@pytest.fixture(scope="module")
def run(tmp_path_factory, stores) -> tuple[Path, Path]:
    """A one-epoch run on the human store: its params and output folder."""
    root = tmp_path_factory.mktemp("run")
    params = root / "params.json"
    params.write_text(json.dumps(small_params({"human": DataStore(stores["human"]).num_targets})))
    options = TrainOptions(max_epochs=1, steps_per_epoch=2, batch_size=2, seed=1)
    return params, train(params, [stores["human"]], root / "out", options, plots=False)


def resume(params: Path, data: list[Path], out: Path, **changes) -> Path:
    options = {"max_epochs": 2, "steps_per_epoch": 2, "batch_size": 2, "seed": 1, **changes}
    return train(params, data, out, TrainOptions(**options), resume=True, plots=False)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"batch_size": 4}, "trained with other settings (--batch-size 2 then, 4 now)"),
        ({"seed": 2}, "trained with other settings (--seed 1 then, 2 now)"),
        ({"augment_rc": False}, "trained with other settings (--augment-rc on then, off now)"),
    ],
)
def test_resume_with_other_step_options_is_refused(run, stores, changes, message):
    params, out = run
    before = (out / "train_options.json").read_text()
    with pytest.raises(ValueError, match=re.escape(message)):
        resume(params, [stores["human"]], out, **changes)
    assert (out / "train_options.json").read_text() == before


def test_resume_with_other_params_or_data_is_refused(run, stores, tmp_path):
    params, out = run
    raw = json.loads(params.read_text())
    raw["model"]["trunk"][0]["filters"] += 2
    other = tmp_path / "params.json"
    other.write_text(json.dumps(raw))
    with pytest.raises(ValueError, match=r"other params \(model.trunk\)"):
        resume(other, [stores["human"]], out)
    raw = json.loads(params.read_text())
    raw["train"]["learning_rate"] = 0.5
    other.write_text(json.dumps(raw))
    # the values are named: finetune's --learning-rate sets this one, unseen in any file
    with pytest.raises(
        ValueError, match=r"other params \(train.learning_rate 0.002 there, 0.5 here\)"
    ):
        resume(other, [stores["human"]], out)
    with pytest.raises(ValueError, match=r"has the heads human \(head_human\) but this run"):
        resume(params, [stores["mouse"]], out, heads={"mouse": "human"})


def test_damaged_training_state_is_named(run, stores, tmp_path):
    params, out = run
    copy = tmp_path / "copy"
    (copy / "last").mkdir(parents=True)
    for path in (out / "last").iterdir():
        (copy / "last" / path.name).write_bytes(path.read_bytes())
    (copy / "last" / JSON_FILE).write_text("{")
    with pytest.raises(ValueError, match=f"{JSON_FILE}: not valid JSON"):
        resume(params, [stores["human"]], copy)
    state = copy / "last" / TENSORS_FILE
    state.write_bytes(state.read_bytes()[:100])
    with pytest.raises(ValueError, match=f"{TENSORS_FILE}: not a readable safetensors"):
        resume(params, [stores["human"]], copy)


def test_a_damaged_last_checkpoint_says_how_to_go_on(run, stores, tmp_path):
    """A truncated ``last/model.safetensors`` was refused with the advice for a checkpoint
    one predicts with ("use another checkpoint (best/, last/) or save this one again"),
    and one without its config.json with none: a resume cannot go on from either, so the
    message says to train again."""
    params, out = run
    copy = Path(shutil.copytree(out, tmp_path / "copy"))
    weights = copy / "last" / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[:1000])
    fix = "--resume cannot continue from .*last: train again with --overwrite"
    with pytest.raises(ValueError, match=f"model.safetensors: not a readable safetensors.*{fix}"):
        resume(params, [stores["human"]], copy)
    (copy / "last" / "config.json").unlink()
    with pytest.raises(ValueError, match=f"not a crossreg checkpoint .no config.json.; {fix}"):
        resume(params, [stores["human"]], copy)


def swapped_tracks_store(source: Path, store: Path) -> tuple[Path, list[str]]:
    """A store linking `source`'s files but with its first two tracks swapped in
    ``targets.txt``; also the source's targets lines."""
    store.mkdir()
    for path in source.iterdir():
        (store / path.name).symlink_to(path)
    (store / "targets.txt").unlink()
    lines = (source / "targets.txt").read_text().splitlines()
    header, rows = lines[0], lines[1:]
    rows[0], rows[1] = rows[1], rows[0]
    (store / "targets.txt").write_text("\n".join([header, *rows]) + "\n")
    return store, lines


def test_a_head_on_a_store_of_other_tracks_is_refused(run, stores, tmp_path):
    _, out = run
    store, _ = swapped_tracks_store(Path(stores["human"]), tmp_path / "store")
    with pytest.raises(ValueError, match=r"track 0 is .* but dataset .* there"):
        evaluate_model(out / "best", store, tmp_path / "eval", plots=False)
    assert not (tmp_path / "eval").exists()


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"max_epochs": 0}, "max_epochs must be at least 1, got 0"),
        ({"batch_size": 0}, "batch_size must be at least 1, got 0"),
        ({"steps_per_epoch": -1}, "steps_per_epoch must be at least 1, got -1"),
        ({"patience": -1}, "patience must be a finite number, 0 or more, got -1"),
        ({"clip_norm": float("nan")}, "clip_norm must be a finite number, 0 or more, got nan"),
        ({"min_epochs": 5, "max_epochs": 2}, "min_epochs (5) is above max_epochs (2)"),
        ({"device": "gpu"}, "unknown device 'gpu': give auto, cpu, cuda, cuda:N, mps or xpu"),
        ({"device": "cuda:99"}, "device cuda:99: this machine has"),
    ],
)
def test_options_that_cannot_be_meant_are_refused(run, stores, tmp_path, changes, message):
    params, _ = run
    with pytest.raises(ValueError, match=re.escape(message)):
        train(params, [stores["human"]], tmp_path / "out", TrainOptions(**changes), plots=False)


def test_the_command_line_refuses_zero_epochs(run, stores, tmp_path, capsys):
    params, _ = run
    args = ["train", "--params", str(params), "--data", str(stores["human"])]
    with pytest.raises(SystemExit):
        main([*args, "--out", str(tmp_path / "out"), "--max-epochs", "0"])
    assert "--max-epochs: must be a whole number from 1 to 2,147,483,647, got 0" in (
        capsys.readouterr().err
    )


def test_a_batch_larger_than_the_training_windows_is_refused(run, stores, tmp_path):
    params, _ = run
    windows = DataStore(stores["human"]).splits["train"]["count"]
    options = TrainOptions(max_epochs=1, batch_size=windows + 1)
    with pytest.raises(ValueError, match=f"has {windows} train windows, fewer than one batch"):
        train(params, [stores["human"]], tmp_path / "out", options, plots=False)
    assert not (tmp_path / "out" / "last").exists()
    # of several stores, the one with the fewest windows is named: its advice fits them all
    counts = {g: DataStore(stores[g]).splits["train"]["count"] for g in ("human", "mouse")}
    tracks = {g: DataStore(stores[g]).num_targets for g in counts}
    two = tmp_path / "two.json"
    two.write_text(json.dumps(small_params(tracks)))
    fewest = min(counts, key=counts.__getitem__)
    options = TrainOptions(max_epochs=1, batch_size=max(counts.values()) + 1)
    message = f"dataset {stores[fewest]} has {counts[fewest]} train windows (the fewest of the 2"
    with pytest.raises(ValueError, match=re.escape(message)):
        train(two, [stores["human"], stores["mouse"]], tmp_path / "out", options, plots=False)


def test_a_new_run_into_a_finished_runs_folder_is_refused(run, stores, logs):
    params, out = run
    before = (out / "last" / "model.safetensors").read_bytes()
    args = ["train", "--params", str(params), "--data", str(stores["human"]), "--out", str(out)]
    assert main([*args, "--max-epochs", "1"]) == 1
    assert "holds a run" in logs.text and "continue it with --resume" in logs.text
    assert (out / "last" / "model.safetensors").read_bytes() == before


def test_the_command_line_replaces_a_finished_run_with_overwrite(run, stores, tmp_path, capsys):
    # before: crossreg train had no --overwrite (only the Python train did): to start
    # again, a user deleted the folder, losing best/ before the new run had an epoch
    params, out = run
    copy = tmp_path / "copy"
    shutil.copytree(out, copy)
    before = (copy / "last" / "model.safetensors").read_bytes()
    args = ["-q", "train", "--params", str(params), "--data", str(stores["human"])]
    args += ["--out", str(copy), "--max-epochs", "1", "--steps-per-epoch", "1", "--seed", "3"]
    assert main([*args, "--overwrite", "--no-plots"]) == 0
    assert (copy / "last" / "model.safetensors").read_bytes() != before
    assert '"seed": 3' in (copy / "train_options.json").read_text()
    with pytest.raises(SystemExit):
        main([*args, "--overwrite", "--resume"])
    assert "--resume: not allowed with argument --overwrite" in capsys.readouterr().err


def test_the_python_train_refuses_a_finished_runs_folder_unless_told_to_replace_it(
    run, stores, tmp_path
):
    params, out = run
    before = (out / "last" / "model.safetensors").read_bytes()
    options = TrainOptions(max_epochs=1, steps_per_epoch=1, batch_size=2, seed=3)
    with pytest.raises(ValueError, match=r"holds a run .*Python: resume=True.*overwrite=True"):
        train(params, [stores["human"]], out, options, plots=False)
    assert (out / "last" / "model.safetensors").read_bytes() == before
    with pytest.raises(ValueError, match="resume and overwrite exclude each other"):
        train(params, [stores["human"]], out, options, resume=True, overwrite=True)
    with pytest.raises(ValueError, match="no finished epoch to continue from"):
        train(params, [stores["human"]], tmp_path / "new", options, resume=True)
    copy = tmp_path / "copy"
    shutil.copytree(out, copy)
    # the replaced run's fine-tuned heads and TensorBoard curves are not the new run's
    (copy / "finetune_human").mkdir()
    (copy / "finetune_human" / "config.json").write_text("{}")
    (copy / "finetune_notes").mkdir()  # the user's own, no checkpoint: it stays
    (copy / "finetune_notes" / "plan.txt").write_text("lr 0.1 next")
    (copy / "tensorboard").mkdir(exist_ok=True)
    (copy / "tensorboard" / "events.out.tfevents.1.earlier").write_bytes(b"")
    train(params, [stores["human"]], copy, options, overwrite=True, plots=False)
    assert (copy / "last" / "model.safetensors").read_bytes() != before
    assert not (copy / "finetune_human").exists()
    assert (copy / "finetune_notes" / "plan.txt").read_text() == "lr 0.1 next"
    if importlib.util.find_spec("tensorboard") is not None:
        events = [p.name for p in (copy / "tensorboard").iterdir()]
        assert len(events) == 1 and "earlier" not in events[0]
    # a resume continues the same run: it keeps them
    (copy / "finetune_human").mkdir()
    resume(params, [stores["human"]], copy, seed=3, steps_per_epoch=1)
    assert (copy / "finetune_human").is_dir()
    assert len(list((copy / "tensorboard").iterdir())) == (
        2 if importlib.util.find_spec("tensorboard") is not None else 0
    )


def test_a_fresh_run_drops_the_events_a_run_stopped_before_its_first_save_left(
    run, stores, tmp_path
):
    """A run stopped after writing its first epoch's TensorBoard events but before saving
    ``last/`` leaves them beside no saved epoch; the run started again in that folder (no
    ``--resume``: there is nothing to continue) draws only its own."""
    params, _ = run
    out = tmp_path / "out"
    (out / "tensorboard").mkdir(parents=True)
    (out / "tensorboard" / "events.out.tfevents.1.stopped").write_bytes(b"")
    options = TrainOptions(max_epochs=1, steps_per_epoch=1, batch_size=2, seed=3)
    train(params, [stores["human"]], out, options, plots=False)
    events = [p.name for p in (out / "tensorboard").iterdir()]
    assert "events.out.tfevents.1.stopped" not in events
    assert len(events) == (1 if importlib.util.find_spec("tensorboard") is not None else 0)


def test_finetune_epochs_with_one_genome_say_there_is_no_such_phase(run, stores, tmp_path, logs):
    params, _ = run
    options = TrainOptions(max_epochs=1, steps_per_epoch=1, batch_size=2, finetune_epochs=2)
    out = train(params, [stores["human"]], tmp_path / "out", options, plots=False)
    assert "--finetune-epochs 2: no fine-tuning phase, the run trains one genome alone" in (
        logs.text
    )
    assert not list(out.glob("finetune_*"))


def test_finetune_refuses_a_learning_rate_not_above_0(run, stores, tmp_path, capsys):
    _, out = run
    args = ["finetune", "--model", str(out / "best"), "--data", str(stores["mouse"])]
    with pytest.raises(SystemExit):
        main([*args, "--out", str(tmp_path / "ft"), "--learning-rate", "-1"])
    assert "--learning-rate: must be a finite number in (0, inf), got -1" in capsys.readouterr().err
    lora = [*args, "--out", str(tmp_path / "ft"), "--mode", "lora", "--lora-alpha", "nan"]
    with pytest.raises(SystemExit):
        main(lora)
    assert "--lora-alpha: must be a finite number in (0, inf), got nan" in capsys.readouterr().err
    assert not (tmp_path / "ft").exists()


@pytest.fixture(scope="module")
def tuned(tmp_path_factory, stores) -> tuple[Path, Path]:
    """A finished run of one joint epoch and one fine-tuning epoch per genome."""
    root = tmp_path_factory.mktemp("tuned")
    params = root / "params.json"
    tracks = {g: DataStore(stores[g]).num_targets for g in ("human", "mouse")}
    params.write_text(json.dumps(small_params(tracks)))
    options = TrainOptions(max_epochs=1, steps_per_epoch=2, batch_size=2, seed=1, finetune_epochs=1)
    data = [stores["human"], stores["mouse"]]
    return params, train(params, data, root / "out", options, plots=False)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"max_epochs": 2}, "the joint phase of .* finished with --max-epochs 1"),
        ({"patience": 7}, "the joint phase of .* finished with --patience"),
        ({"finetune_epochs": 2}, "the human phase of .* finished with --finetune-epochs 1"),
    ],
)
def test_a_resume_that_would_change_a_finished_phase_is_refused(tuned, stores, changes, message):
    params, out = tuned
    before = (out / "metrics.csv").read_text()
    options = {"max_epochs": 1, "finetune_epochs": 1, **changes}
    with pytest.raises(ValueError, match=message):
        resume(params, [stores["human"], stores["mouse"]], out, **options)
    assert (out / "metrics.csv").read_text() == before


def test_a_resume_with_the_stores_in_another_order_is_refused(tuned, stores):
    params, out = tuned
    with pytest.raises(ValueError, match="give the stores in the same --data order"):
        resume(params, [stores["mouse"], stores["human"]], out, max_epochs=1, finetune_epochs=1)


def test_a_shift_of_a_target_bin_or_more_is_refused_wherever_it_comes_from(
    run, stores, tmp_path, logs
):
    params, _ = run
    data = json.loads(params.read_text())
    data["model"]["augment_shift"] = 300
    shifted = tmp_path / "shifted.json"
    shifted.write_text(json.dumps(data))
    width = DataStore(stores["human"]).pool_width
    options = TrainOptions(max_epochs=1, steps_per_epoch=1, batch_size=2)
    with pytest.raises(ValueError, match=f"the params' model.augment_shift 300: .* below {width}"):
        train(shifted, [stores["human"]], tmp_path / "api", options, plots=False)
    options.augment_shift = 300
    with pytest.raises(ValueError, match=f"--augment-shift 300: .* below {width}"):
        train(params, [stores["human"]], tmp_path / "api", options, plots=False)
    assert not (tmp_path / "api" / "last").exists()
    args = ["train", "--params", str(shifted), "--data", str(stores["human"])]
    assert main([*args, "--out", str(tmp_path / "cli"), "--max-epochs", "1"]) == 1
    assert f"set model.augment_shift below {width} in the params" in logs.text
    assert not (tmp_path / "cli" / "last").exists()


def test_resume_finds_a_last_checkpoint_a_killed_swap_left_aside(tmp_path, caplog):
    # a run killed between the two renames of a swap (file systems that cannot exchange
    # two names) leaves last/ as .last.old; before, --resume said last/ did not exist
    from crossreg.train.run_folder import check_run_folder

    (tmp_path / ".last.old").mkdir()
    (tmp_path / ".last.old" / "state.json").write_text("{}")
    check_run_folder(tmp_path, resume=True)
    assert (tmp_path / "last" / "state.json").read_text() == "{}"
    assert "restored" in caplog.text


def test_a_resume_on_a_store_of_reordered_tracks_names_the_first_that_differs(
    run, stores, tmp_path
):
    """A store rebuilt with its tracks in another order was refused as having "other
    tracks" without saying which; the message names the first track that differs."""
    params, out = run
    store, lines = swapped_tracks_store(Path(stores["human"]), tmp_path / "store")
    first, second = (row.split("\t")[2] for row in lines[1:3])
    message = rf"other tracks than this run's dataset \(track 0 is {first} there, {second} here\)"
    with pytest.raises(ValueError, match=message):
        resume(params, [store], out)
