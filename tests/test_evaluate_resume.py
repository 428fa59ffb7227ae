"""``crossreg evaluate --resume``: a run stopped in the model pass, in the column
statistics or while writing ends, once resumed, with the same bytes as an uninterrupted
run; a resume with other settings is refused naming them; a left-over checkpoint is
refused without --resume; the kept columns survive another run's cleanup."""

from __future__ import annotations

import errno
import hashlib
import json
import logging
import os
import shutil
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import torch

from crossreg.cli import main
from crossreg.evaluate import accuracy as accuracy_module
from crossreg.evaluate import checkpoint as checkpoint_module
from crossreg.evaluate import figures as figures_module
from crossreg.evaluate import spill as spill_module
from crossreg.evaluate import track_scores
from crossreg.evaluate.checkpoint import CHECKPOINT
from crossreg.evaluate.scratch import PREFIX
from crossreg.io import space
from crossreg.io.folder_lock import lock_folder
from tests.pipeline import untrained_checkpoint

COLUMNS = ["--specificity", "--rank", "--peaks"]


@pytest.fixture(scope="module")
def world(tmp_path_factory, stores):
    """A tiny human store and a checkpoint of one untrained human head."""
    root = tmp_path_factory.mktemp("evaluate_resume")
    untrained_checkpoint(root / "model", stores["human"])
    return ["evaluate", "--model", str(root / "model"), "--data", str(stores["human"])]


@pytest.fixture(scope="module")
def whole(world, tmp_path_factory) -> dict[str, str]:
    """The SHA-256 of each output of an uninterrupted run (batches of 2 windows)."""
    out = tmp_path_factory.mktemp("whole") / "out"
    assert main([*world, "--out", str(out), "--batch-size", "2", *COLUMNS]) == 0
    found = digests(out)
    assert {"metrics.tsv", "summary.json", "tracks.npz", "tracks.png", "r_by_assay.png"} <= set(
        found
    )
    return found


def digests(out: Path) -> dict[str, str]:
    """Each output file's SHA-256 (the run log, which records times, left out)."""
    return {
        p.name: hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(out.iterdir())
        if p.is_file() and p.name != "crossreg-runs.jsonl"
    }


def stop_at_call(monkeypatch, owner, name: str, call: int, *, after: bool = False) -> list[int]:
    """Make `owner.name` raise KeyboardInterrupt at its `call`-th call (1-based), before
    its work or, with `after`, once it is done; the list counts the calls."""
    real = getattr(owner, name)
    calls: list[int] = []

    def stopping(*args, **kwargs):
        calls.append(1)
        if len(calls) == call and not after:
            raise KeyboardInterrupt
        result = real(*args, **kwargs)
        if len(calls) == call:
            raise KeyboardInterrupt
        return result

    monkeypatch.setattr(owner, name, stopping)
    return calls


@pytest.mark.parametrize(
    ("owner", "name", "call", "after"),
    [
        (checkpoint_module.Checkpoint, "save", 1, True),  # after the first batch is kept
        (checkpoint_module.Checkpoint, "save", 3, False),  # in a batch, two kept
        (spill_module, "class_specificity", 2, False),  # a class of specificity done
        (spill_module, "_rank_and_peaks", 2, False),  # in rank and peaks, a group done
        (figures_module, "plot_evaluation", 1, False),  # everything computed, drawing
    ],
    ids=["pass-after-batch", "pass-in-batch", "specificity", "rank-peaks", "drawing"],
)
def test_a_resumed_run_ends_with_the_same_bytes(
    world, whole, tmp_path, monkeypatch, logs, owner, name, call, after
):
    monkeypatch.setattr(checkpoint_module, "SAVE_SECONDS", 0.0)  # keep every batch
    monkeypatch.setattr(spill_module, "GROUP_BYTES", 1)  # rank and peaks: a track a group
    out = tmp_path / "out"
    argv = [*world, "--out", str(out), "--batch-size", "2", *COLUMNS]
    with monkeypatch.context() as patch:
        calls = stop_at_call(patch, owner, name, call, after=after)
        assert main(argv) == 130
    assert len(calls) == call
    assert "rerun with --resume to continue" in logs.text
    assert (out / CHECKPOINT).is_dir() and len(list(out.glob(f"{PREFIX}*"))) == 1
    assert not (out / "metrics.tsv").exists() or name == "plot_evaluation"
    assert main([*argv, "--resume"]) == 0
    assert digests(out) == whole
    assert not (out / CHECKPOINT).exists() and not list(out.glob(f"{PREFIX}*"))


def test_a_resume_continues_after_the_last_kept_batch(world, whole, tmp_path, monkeypatch):
    monkeypatch.setattr(checkpoint_module, "SAVE_SECONDS", 0.0)
    out = tmp_path / "out"
    argv = [*world, "--out", str(out), "--batch-size", "2", *COLUMNS]
    with monkeypatch.context() as patch:
        stop_at_call(patch, checkpoint_module.Checkpoint, "save", 2, after=True)
        assert main(argv) == 130
    added: list[int] = []
    real = spill_module.ColumnSpill.add

    def noted(self, rows, *args):
        added.append(rows[0])
        real(self, rows, *args)

    monkeypatch.setattr(spill_module.ColumnSpill, "add", noted)
    assert main([*argv, "--resume"]) == 0
    assert added[0] == 4  # windows 0-3 (two batches of 2) were kept, not scored again
    assert digests(out) == whole


def interrupted(world, out: Path, monkeypatch, *extra: str) -> list[str]:
    """A run into `out` stopped after its first kept batch; its arguments."""
    argv = [*world, "--out", str(out), "--batch-size", "2", *extra]
    with monkeypatch.context() as patch:
        patch.setattr(checkpoint_module, "SAVE_SECONDS", 0.0)
        stop_at_call(patch, checkpoint_module.Checkpoint, "save", 1, after=True)
        assert main(argv) == 130
    return argv


@pytest.mark.parametrize(
    ("changed", "said"),
    [
        (["--batch-size", "3", "--rank"], "--batch-size 2 then, 3 now"),
        (["--batch-size", "2", "--rank", "--rc"], "--rc off then, on now"),
        (["--batch-size", "2", "--rank", "--split", "valid"], "--split test then, valid now"),
        (["--batch-size", "2", "--peaks"], "--peaks off then, on now; --rank on then"),
    ],
)
def test_a_resume_with_other_settings_is_refused_naming_them(
    world, tmp_path, monkeypatch, logs, changed, said
):
    out = tmp_path / "out"
    interrupted(world, out, monkeypatch, "--rank")
    kept = sorted(p.name for p in (out / CHECKPOINT).iterdir())
    assert main([*world, "--out", str(out), *changed, "--resume"]) == 1
    assert "was left by a run with other settings" in logs.text and said in logs.text
    assert sorted(p.name for p in (out / CHECKPOINT).iterdir()) == kept  # left as it was


def test_a_resume_naming_the_device_auto_picked_continues(world, whole, tmp_path, monkeypatch):
    """A run with --device auto resumed with the device it picked (and the reverse) is the
    same run: it continues, to the same bytes."""
    picked = "cuda" if torch.cuda.is_available() else "cpu"
    out = tmp_path / "out"
    argv = interrupted(world, out, monkeypatch, *COLUMNS)
    assert main([*argv, "--device", picked, "--resume"]) == 0
    assert digests(out) == whole


def test_a_resume_of_another_model_is_refused(world, stores, tmp_path, monkeypatch, logs):
    out = tmp_path / "out"
    interrupted(world, out, monkeypatch)
    other = tmp_path / "other_model"
    untrained_checkpoint(other, stores["human"])  # the same weights, saved anew
    argv = [world[0], "--model", str(other), *world[3:], "--out", str(out)]
    assert main([*argv, "--batch-size", "2", "--resume"]) == 1
    assert "--model: another checkpoint (save id" in logs.text


def test_a_left_over_checkpoint_is_refused_without_resume(world, tmp_path, monkeypatch, logs):
    out = tmp_path / "out"
    argv = interrupted(world, out, monkeypatch)
    assert main(argv) == 1
    assert f"{out / CHECKPOINT} is left from an interrupted run: rerun with --resume" in logs.text


def test_resume_without_a_checkpoint_starts_from_the_beginning(world, whole, tmp_path, logs):
    out = tmp_path / "out"
    argv = [*world, "--out", str(out), "--batch-size", "2", *COLUMNS]
    with logs.at_level(logging.INFO, logger="crossreg"):
        assert main([*argv, "--resume"]) == 0
    assert "no checkpoint to resume; starting from the beginning" in logs.text
    assert digests(out) == whole


def finished(world, out: Path) -> tuple[list[str], dict[str, int]]:
    """A finished run into `out`; its arguments and :func:`mtimes`."""
    argv = [*world, "--out", str(out), "--batch-size", "2", "--rank"]
    assert main(argv) == 0
    return argv, mtimes(out)


def mtimes(out: Path) -> dict[str, int]:
    """Each output's modification time (the run log, which records each run, left out)."""
    return {p.name: p.stat().st_mtime_ns for p in out.iterdir() if p.name != "crossreg-runs.jsonl"}


def test_a_resume_of_a_finished_run_does_nothing(world, tmp_path, monkeypatch, logs):
    """A job requeued after it finished: its outputs are left as they are, no model runs."""
    out = tmp_path / "out"
    argv, written = finished(world, out)
    before = digests(out)
    loaded: list[int] = []
    monkeypatch.setattr(track_scores, "load_head", lambda *a, **k: loaded.append(1))
    with logs.at_level(logging.INFO, logger="crossreg"):
        assert main([*argv, "--resume"]) == 0
    assert f"{out} is complete for these settings; nothing to do" in logs.text
    assert not loaded and digests(out) == before
    assert mtimes(out) == written
    assert main([*argv, "--device", "cpu", "--resume"]) == 0  # the device auto picked
    assert not loaded


@pytest.mark.parametrize(
    ("changed", "said"),
    [
        (["--batch-size", "3", "--rank"], "--batch-size 2 then, 3 now"),
        (["--batch-size", "2", "--rank", "--split", "valid"], "--split test then, valid now"),
        (["--batch-size", "2", "--peaks"], "--peaks off then, on now; --rank on then"),
    ],
)
def test_a_resume_of_a_run_finished_with_other_settings_is_refused(
    world, tmp_path, logs, changed, said
):
    out = tmp_path / "out"
    _, written = finished(world, out)
    before = digests(out)
    assert main([*world, "--out", str(out), *changed, "--resume"]) == 1
    assert f"{out} is complete from a run with other settings" in logs.text and said in logs.text
    assert digests(out) == before
    assert mtimes(out) == written


@pytest.mark.parametrize("lost", [["tracks.png"], ["r_by_assay.png", "tracks.png"]])
def test_a_resume_of_a_finished_run_without_figures_draws_them_without_the_model(
    world, tmp_path, monkeypatch, logs, lost
):
    """Figures deleted, or never drawn (a stop after the tables): drawn again from
    metrics.tsv and tracks.npz, the same bytes, with no model pass (there was a whole one)."""
    out = tmp_path / "out"
    argv, _ = finished(world, out)
    before = digests(out)
    for name in lost:
        (out / name).unlink()
    loaded: list[int] = []
    monkeypatch.setattr(track_scores, "load_head", lambda *a, **k: loaded.append(1))
    with logs.at_level(logging.INFO, logger="crossreg"):
        assert main([*argv, "--resume"]) == 0
    said = f"{out} is complete for these settings but lacks {', '.join(lost)}; drawing them"
    assert said in logs.text
    assert not loaded and digests(out) == before
    assert main([*argv, "--resume", "--svg"]) == 0  # the SVGs too
    assert {"tracks.svg", "r_by_assay.svg"} <= set(digests(out)) and not loaded


def test_a_resume_of_a_finished_run_redraws_figures_cut_short(world, tmp_path, monkeypatch, logs):
    """A figure emptied or cut short (a copy that stopped, a full disk) was taken as drawn:
    the resume said nothing to do and left it broken. It is drawn again, as a lost one."""
    out = tmp_path / "out"
    argv, _ = finished(world, out)
    before = digests(out)
    (out / "r_by_assay.png").write_bytes(b"")
    whole = (out / "tracks.png").read_bytes()
    (out / "tracks.png").write_bytes(whole[: len(whole) // 2])
    loaded: list[int] = []
    monkeypatch.setattr(track_scores, "load_head", lambda *a, **k: loaded.append(1))
    with logs.at_level(logging.INFO, logger="crossreg"):
        assert main([*argv, "--resume"]) == 0
    said = f"{out} is complete for these settings but lacks r_by_assay.png, tracks.png; drawing"
    assert said in logs.text
    assert not loaded and digests(out) == before


@pytest.mark.parametrize("lost", ["tracks.npz", "metrics.tsv"])
def test_a_resume_of_a_finished_run_without_its_tables_computes_them_again(
    world, tmp_path, logs, lost
):
    """What the figures are drawn from, or the table itself, deleted: a whole pass (the
    run said nothing to do, then failed reading the missing table)."""
    out = tmp_path / "out"
    argv, _ = finished(world, out)
    before = digests(out)
    (out / lost).unlink()
    with logs.at_level(logging.INFO, logger="crossreg"):
        assert main([*argv, "--resume"]) == 0
    assert f"{out} lacks {lost}, which this run writes; computing it again" in logs.text
    assert digests(out) == before


def test_a_resume_of_outputs_recording_no_settings_computes_them_again(world, tmp_path, logs):
    """Outputs of an earlier crossreg, whose summary has no settings: computed again."""
    out = tmp_path / "out"
    argv, _ = finished(world, out)
    summary = json.loads((out / "summary.json").read_text())
    del summary["settings"]
    (out / "summary.json").write_text(json.dumps(summary))
    with logs.at_level(logging.INFO, logger="crossreg"):
        assert main([*argv, "--resume"]) == 0
    assert "records no settings (an earlier crossreg wrote it); computing it again" in logs.text
    assert "settings" in json.loads((out / "summary.json").read_text())


def test_another_runs_cleanup_leaves_the_kept_columns(world, whole, tmp_path, monkeypatch):
    scratch, out = tmp_path / "scratch", tmp_path / "out"
    scratch.mkdir()
    argv = interrupted(world, out, monkeypatch, *COLUMNS, "--scratch", str(scratch))
    (kept,) = scratch.iterdir()
    other = [*world, "--out", str(tmp_path / "other"), "--rank", "--scratch", str(scratch)]
    assert main([*other, "--no-plots"]) == 0  # removes the folders no run holds or keeps
    assert list(scratch.iterdir()) == [kept]
    assert main([*argv, "--resume"]) == 0
    assert digests(out) == whole and not list(scratch.iterdir())


def test_an_input_error_removes_the_checkpoint(world, tmp_path, monkeypatch, logs):
    out = tmp_path / "out"
    monkeypatch.setattr(
        "crossreg.evaluate.track_scores.check_finite_predictions",
        lambda *a: (_ for _ in ()).throw(ValueError("the head predicts NaN")),
    )
    assert main([*world, "--out", str(out), "--rank"]) == 1
    assert "the head predicts NaN" in logs.text
    assert not (out / CHECKPOINT).exists() and not list(out.glob(f"{PREFIX}*"))


def test_the_checkpoint_records_the_settings_that_decide_the_numbers(world, tmp_path, monkeypatch):
    out = tmp_path / "out"
    interrupted(world, out, monkeypatch, "--specificity", "--min-class", "3")
    settings = json.loads((out / CHECKPOINT / "settings.json").read_text())
    assert settings["columns"] == {
        "specificity": True,
        "rank": False,
        "peaks": False,
        "min_class": 3,
    }
    assert settings["options"]["batch_size"] == 2 and settings["split"] == "test"
    # --device auto is recorded as the kind of device it picked
    assert settings["options"]["device"] == ("cuda" if torch.cuda.is_available() else "cpu")
    assert settings["classes"] == spill_module.CLASS_SCHEME  # how --specificity forms them
    assert set(settings) == {
        *("identity", "model", "data", "split", "genome", "options", "columns", "classes")
    }


def without_classes(path: Path, key: str | None = None) -> None:
    """Make the settings `path` records (under `key`) as an earlier crossreg recorded
    them, whose --specificity formed other classes: without how they are formed."""
    record = json.loads(path.read_text())
    settings = record[key] if key else record
    settings.pop("classes", None)
    path.write_text(json.dumps(record, indent=1, sort_keys=True))


def test_a_resume_of_specificity_classes_formed_earlier_is_refused(
    world, tmp_path, monkeypatch, logs
):
    out = tmp_path / "out"
    argv = interrupted(world, out, monkeypatch, "--specificity")
    without_classes(out / CHECKPOINT / "settings.json")
    kept = digests(out / CHECKPOINT)
    assert main([*argv, "--resume"]) == 1
    assert f"{out / CHECKPOINT} cannot be continued: its --specificity classes" in logs.text
    assert f"delete {out / CHECKPOINT} to start again" in logs.text
    assert digests(out / CHECKPOINT) == kept  # left as it was


def test_a_partial_without_specificity_records_no_classes_and_resumes(world, tmp_path, monkeypatch):
    """A checkpoint of a run without --specificity is the same as an earlier crossreg's:
    it still resumes, to the bytes of an uninterrupted run."""
    out, whole = tmp_path / "out", tmp_path / "whole"
    assert main([*world, "--out", str(whole), "--batch-size", "2", "--rank"]) == 0
    argv = interrupted(world, out, monkeypatch, "--rank")
    assert "classes" not in json.loads((out / CHECKPOINT / "settings.json").read_text())
    assert main([*argv, "--resume"]) == 0
    assert digests(out) == digests(whole)


def test_a_resume_of_a_run_finished_with_specificity_classes_formed_earlier_is_refused(
    world, tmp_path, logs
):
    out = tmp_path / "out"
    argv = [*world, "--out", str(out), "--batch-size", "2", "--specificity"]
    assert main(argv) == 0
    without_classes(out / "summary.json", "settings")
    before = digests(out)
    assert main([*argv, "--resume"]) == 1
    assert f"{out} is complete from a run with other settings" in logs.text
    assert "its --specificity classes were formed by an earlier crossreg" in logs.text
    assert "or without --resume to compute it again" in logs.text
    assert digests(out) == before


SLOW_RUN = """
import sys, time
from crossreg.cli import main
from crossreg.evaluate import accuracy as accuracy_module
from crossreg.evaluate import checkpoint

checkpoint.SAVE_SECONDS = 0.0
real = checkpoint.Checkpoint.save

def slow(self, *args, **kwargs):
    real(self, *args, **kwargs)
    print("saved", flush=True)
    time.sleep(0.5)

checkpoint.Checkpoint.save = slow
sys.exit(main(sys.argv[1:]))
"""


def test_a_killed_run_resumes_to_the_same_bytes(world, whole, tmp_path):
    # kill -9: no handler runs; what was saved before is all there is
    out = tmp_path / "out"
    argv = [*world, "--out", str(out), "--batch-size", "2", *COLUMNS]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    with subprocess.Popen(
        [sys.executable, "-c", SLOW_RUN, *argv], stdout=subprocess.PIPE, env=env, text=True
    ) as run:
        assert run.stdout is not None
        for _ in range(2):
            assert run.stdout.readline() == "saved\n"
        run.kill()
    assert (out / CHECKPOINT / "pass.npz").exists()
    assert main([*argv, "--resume"]) == 0
    assert digests(out) == whole


@pytest.mark.parametrize("scratch", [False, True], ids=["columns-in-out", "columns-in-scratch"])
def test_a_moved_out_resumes_to_the_same_bytes(world, whole, tmp_path, monkeypatch, scratch):
    """An OUT moved (or reached by another path) after the stop keeps its claim on the
    predictions and targets: those in OUT move with it, those in --scratch are found
    where they are; neither is removed as a left-over by the resume's cleanup."""
    folder = tmp_path / "scratch"
    folder.mkdir()
    extra = ["--scratch", str(folder)] if scratch else []
    argv = interrupted(world, tmp_path / "out", monkeypatch, *COLUMNS, *extra)
    moved = tmp_path / "elsewhere" / "out"
    moved.parent.mkdir()
    (tmp_path / "out").rename(moved)
    assert main([*world, "--out", str(moved), *argv[len(world) + 2 :], "--resume"]) == 0
    assert digests(moved) == whole
    assert not list(folder.iterdir()) and not list(moved.glob(f"{PREFIX}*"))


def test_a_scratch_folder_relinked_is_found_under_the_scratch_given(
    world, whole, tmp_path, monkeypatch
):
    """--scratch through a symbolic link that now leads to another disk holding the same
    folder (a scratch file system relinked): the resume finds its folder there."""
    first, second, link = tmp_path / "disk1", tmp_path / "disk2", tmp_path / "scratch"
    first.mkdir()
    link.symlink_to(first)
    argv = interrupted(world, tmp_path / "out", monkeypatch, *COLUMNS, "--scratch", str(link))
    first.rename(second)
    link.unlink()
    link.symlink_to(second)
    assert main([*argv, "--resume"]) == 0
    assert digests(tmp_path / "out") == whole and not list(second.iterdir())


def test_a_scratch_folder_not_found_is_refused_naming_the_fix(world, tmp_path, monkeypatch, logs):
    scratch, moved = tmp_path / "scratch", tmp_path / "moved"
    scratch.mkdir()
    argv = interrupted(world, tmp_path / "out", monkeypatch, *COLUMNS, "--scratch", str(scratch))
    scratch.rename(moved)
    scratch.mkdir()
    (kept,) = moved.iterdir()
    assert main([*argv, "--resume"]) == 1
    assert f"{scratch / kept.name}, where the interrupted run" in logs.text
    assert (
        f"is gone; if it was moved, resume with --scratch naming the folder that holds {kept.name}"
        in logs.text
    )
    assert (tmp_path / "out" / CHECKPOINT / "pass.npz").exists()  # left as it was
    assert main([*argv[:-1], str(moved), "--resume"]) == 0


def test_a_resume_from_copies_of_the_model_and_store_continues(world, whole, tmp_path, monkeypatch):
    """The model and store are recorded by content: copies at other paths resume."""
    out = tmp_path / "out"
    argv = interrupted(world, out, monkeypatch, *COLUMNS)
    model, data = tmp_path / "model", tmp_path / "data"
    shutil.copytree(world[2], model)
    shutil.copytree(world[4], data)
    moved = [world[0], "--model", str(model), "--data", str(data), *argv[len(world) :]]
    assert main([*moved, "--resume"]) == 0
    found = digests(out)
    assert {k: v for k, v in found.items() if k != "summary.json"} == {
        k: v for k, v in whole.items() if k != "summary.json"
    }
    summary = json.loads((out / "summary.json").read_text())
    assert summary["model"] == str(model) and summary["store"]["path"] == str(data)


def test_a_full_disk_while_saving_the_pass_keeps_the_last_save(
    world, whole, tmp_path, monkeypatch, logs
):
    """pass.npz is replaced whole or not at all: a disk full while it is written leaves
    the previous save, and no half-written file, for the resume."""
    out = tmp_path / "out"
    monkeypatch.setattr(checkpoint_module, "SAVE_SECONDS", 0.0)
    real = np.savez
    calls: list[int] = []

    def full(handle, **arrays):
        calls.append(1)
        if len(calls) == 2:
            handle.write(b"\0" * 100)
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        real(handle, **arrays)

    argv = [*world, "--out", str(out), "--batch-size", "2", *COLUMNS]
    with monkeypatch.context() as patch:
        patch.setattr(checkpoint_module.np, "savez", full)
        assert main(argv) == 1
    partial = out / CHECKPOINT
    assert f"{partial / 'pass.npz'}: No space left on device" in logs.text
    assert "free space there and rerun with --resume to continue" in logs.text
    with np.load(partial / "pass.npz") as kept:
        assert int(kept["windows"]) == 2
    assert sorted(p.name for p in partial.iterdir() if p.name.startswith(".")) == []
    assert main([*argv, "--resume"]) == 0
    assert digests(out) == whole


def test_a_second_run_into_an_out_in_use_is_told_to_wait(world, tmp_path, monkeypatch, logs):
    """A checkpoint another evaluate holds is not called an interrupted run's, and a
    second run is told so before it loads the model."""
    out = tmp_path / "out"
    argv = interrupted(world, out, monkeypatch)
    held = lock_folder(out / CHECKPOINT)  # the first run, still at work
    assert held is not None
    monkeypatch.setattr(track_scores, "load_head", None)  # told before the model loads
    try:
        for resume in ([], ["--resume"]):
            logs.clear()
            assert main([*argv, *resume]) == 1
            assert f"{out / CHECKPOINT} is in use by another evaluate" in logs.text
            assert "interrupted run" not in logs.text
    finally:
        os.close(held)


def test_a_stop_while_writing_leaves_no_summary_of_an_earlier_run(
    world, whole, tmp_path, monkeypatch
):
    """An OUT holding an earlier run's outputs (another split), stopped after the new
    metrics.tsv is written: no summary.json of the earlier run is left beside it."""
    out = tmp_path / "out"
    argv = [*world, "--out", str(out), "--batch-size", "2", *COLUMNS]
    assert main([*argv, "--split", "valid", "--no-plots"]) == 0
    with monkeypatch.context() as patch:
        stop_at_call(patch, accuracy_module, "write_metrics", 1, after=True)
        assert main(argv) == 130
    assert (out / "metrics.tsv").exists() and not (out / "summary.json").exists()
    assert main([*argv, "--resume"]) == 0
    assert digests(out) == whole


def test_a_stop_while_the_kept_columns_are_removed_leaves_a_finished_out(
    world, whole, tmp_path, monkeypatch, logs
):
    """Ctrl-C while the predictions and targets are deleted at the end (tens of GB: it
    takes a while) leaves the finished outputs and no checkpoint; the next run removes
    what was left of the folder."""
    out = tmp_path / "out"
    argv = [*world, "--out", str(out), "--batch-size", "2", *COLUMNS]
    real = shutil.rmtree

    def stopped(path, *args, **kwargs):
        if Path(path).name.startswith(PREFIX):
            (Path(path) / "pred.npy").unlink()
            raise KeyboardInterrupt
        real(path, *args, **kwargs)

    with monkeypatch.context() as patch:
        patch.setattr(shutil, "rmtree", stopped)
        assert main(argv) == 0
    assert "the next evaluate using" in logs.text and "removes what is left of it" in logs.text
    assert digests(out) == whole
    assert not (out / CHECKPOINT).exists() and len(list(out.glob(f"{PREFIX}*"))) == 1
    assert main([*argv, "--no-plots"]) == 0  # an evaluate's OUT: the left-over removed
    assert not list(out.glob(f"{PREFIX}*"))


@pytest.mark.parametrize("left", [0.5, 0.0])
@pytest.mark.parametrize("name", ["pass.npz", "columns-rank_and_peaks.npy"])
def test_a_damaged_checkpoint_file_is_named_and_the_checkpoint_kept(
    world, tmp_path, monkeypatch, logs, name, left
):
    """A kept file cut short or emptied (a failed copy) is refused naming it; the
    checkpoint is left as it was, not removed as an input error's."""
    monkeypatch.setattr(spill_module, "GROUP_BYTES", 1)  # rank: a track a group
    out = tmp_path / "out"
    argv = [*world, "--out", str(out), "--rank"]
    with monkeypatch.context() as patch:
        stop_at_call(patch, spill_module, "_rank_and_peaks", 2)
        assert main(argv) == 130
    path = out / CHECKPOINT / name
    os.truncate(path, int(path.stat().st_size * left))
    assert main([*argv, "--resume"]) == 1
    assert f"{path} cannot be read (" in logs.text
    assert f"delete {out / CHECKPOINT} to start again" in logs.text and path.exists()


@pytest.mark.parametrize("damage", ["missing", "truncated"])
@pytest.mark.parametrize("kept", ["pred.npy", "window_sums.npy"])
def test_kept_files_that_cannot_be_read_are_named_and_the_checkpoint_kept(
    world, tmp_path, monkeypatch, logs, damage, kept
):
    """A kept memory map that is gone or cut short (numpy would grow it with zeros) is
    refused naming it and what to delete; the checkpoint is kept, as it was."""
    out = tmp_path / "out"
    argv = interrupted(world, out, monkeypatch, "--rank")
    (folder,) = out.glob(f"{PREFIX}*")
    path = folder / kept if kept == "pred.npy" else out / CHECKPOINT / kept
    if damage == "missing":
        path.unlink()
    else:
        os.truncate(path, path.stat().st_size // 2)
    assert main([*argv, "--resume"]) == 1
    assert f"{path.parent}: the kept " in logs.text and f"cannot be read ({kept}: " in logs.text
    fix = (
        "the checkpoint that keeps them (.partial in --out)"
        if kept == "pred.npy"
        else out / CHECKPOINT
    )
    assert f"delete {fix} to start again" in logs.text
    assert (out / CHECKPOINT / "pass.npz").exists()  # not removed as an input error


def _disk_full(monkeypatch) -> None:
    """Every allocation of a file's blocks ahead of writing it (crossreg.io.space) finds
    the disk full."""

    def full(path, size, **kwargs):
        raise space.SpaceError(size, 0)

    monkeypatch.setattr(space, "reserve", full)


def test_the_window_sums_are_allocated_before_the_pass(world, tmp_path, monkeypatch, logs):
    """window_sums.npy, a memory map, takes its blocks before it is written: a full disk
    is an error naming it, not a bus error part-way through the pass."""
    out = tmp_path / "out"
    _disk_full(monkeypatch)
    assert main([*world, "--out", str(out)]) == 1
    path = out / CHECKPOINT / "window_sums.npy"
    assert f"{path}: No space left on device while writing it; free space there" in logs.text


def test_the_kept_columns_are_allocated_before_the_pass(world, tmp_path, monkeypatch, logs):
    """So are the spilled predictions and targets: another writer filling the disk after
    the check of its free space cannot make the pass die of a bus error."""
    out = tmp_path / "out"
    roomy = SimpleNamespace(total=1 << 40, used=0, free=1 << 40)  # as it was checked
    monkeypatch.setattr(spill_module.shutil, "disk_usage", lambda path: roomy)
    _disk_full(monkeypatch)
    assert main([*world, "--out", str(out), "--rank"]) == 1
    assert (
        "for --specificity/--rank/--peaks needs" in logs.text and "but 0 MB are free" in logs.text
    )
    assert not (out / CHECKPOINT).exists() and not list(out.glob(f"{PREFIX}*"))
