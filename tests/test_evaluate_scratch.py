"""``crossreg evaluate --scratch DIR``: the whole-column statistics' predictions and targets
kept in a folder of their own in DIR instead of in --out, with the same outputs; the disk
check on DIR's disk; killed runs' folders removed there, others' in use left alone."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from crossreg.cli import main
from crossreg.errors import CommandError
from crossreg.evaluate import spill as spill_module
from crossreg.evaluate import track_scores
from crossreg.evaluate.accuracy import evaluate_model
from crossreg.evaluate.checkpoint import CHECKPOINT, Checkpoint
from crossreg.evaluate.scratch import (
    CLAIM,
    PREFIX,
    claimed_folder,
    columns_folder,
    remove_stale,
)
from crossreg.evaluate.spill import ColumnOptions
from crossreg.io.folder_lock import lock_folder
from tests.pipeline import untrained_checkpoint

COLUMNS = ["--specificity", "--rank", "--peaks", "--no-plots"]


@pytest.fixture(scope="module")
def world(tmp_path_factory, stores):
    """A tiny human store and a checkpoint of one untrained human head."""
    root = tmp_path_factory.mktemp("evaluate_scratch")
    untrained_checkpoint(root / "model", stores["human"])
    return ["evaluate", "--model", str(root / "model"), "--data", str(stores["human"])]


def _spilled_into(monkeypatch) -> list[Path]:
    """The folders evaluate spills into, noted as each spill is made."""
    folders: list[Path] = []

    class Noted(spill_module.ColumnSpill):
        def __init__(self, folder, *args, **kwargs) -> None:
            folders.append(Path(folder))
            super().__init__(folder, *args, **kwargs)

    monkeypatch.setattr(track_scores, "ColumnSpill", Noted)
    return folders


def test_a_scratch_folder_gives_the_same_outputs_byte_for_byte(world, tmp_path, monkeypatch):
    folders = _spilled_into(monkeypatch)
    assert main([*world, "--out", str(tmp_path / "default"), *COLUMNS]) == 0
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    out = tmp_path / "moved"
    assert main([*world, "--out", str(out), *COLUMNS, "--scratch", str(scratch)]) == 0
    assert [f.parent for f in folders] == [tmp_path / "default", scratch]
    assert folders[1].name.startswith(PREFIX)
    for name in ("metrics.tsv", "summary.json"):
        assert (out / name).read_bytes() == (tmp_path / "default" / name).read_bytes()
    assert not list(scratch.iterdir())  # removed at the end
    assert not [p for p in out.iterdir() if p.name.startswith(PREFIX)]


def test_the_disk_check_is_of_the_scratch_folders_disk(world, tmp_path, monkeypatch, logs):
    scratch, out = tmp_path / "scratch", tmp_path / "out"
    scratch.mkdir()
    real = shutil.disk_usage

    def usage(path):  # a full disk under `full`, the real one elsewhere
        return real(path)._replace(free=0) if Path(path).is_relative_to(full) else real(path)

    monkeypatch.setattr(spill_module.shutil, "disk_usage", usage)
    full = scratch
    assert main([*world, "--out", str(out), *COLUMNS, "--scratch", str(scratch)]) == 1
    assert f"{scratch}/{PREFIX}" in logs.text and "but 0 MB are free" in logs.text
    assert "give --scratch a folder on a disk with room" in logs.text
    assert not (out / "metrics.tsv").exists() and not list(scratch.iterdir())
    full = out  # --out's disk full, the scratch disk with room: it runs
    assert main([*world, "--out", str(out), *COLUMNS, "--scratch", str(scratch)]) == 0
    assert (out / "metrics.tsv").exists()


def test_a_killed_runs_folder_is_removed_and_one_in_use_left(world, tmp_path):
    scratch = tmp_path / "scratch"
    (scratch / f"{PREFIX}killed").mkdir(parents=True)
    (scratch / f"{PREFIX}killed" / "pred.npy").write_bytes(b"0" * 100)
    (scratch / f"{PREFIX}running").mkdir()
    held = lock_folder(scratch / f"{PREFIX}running")  # another evaluate at work in it
    assert held is not None
    try:
        out = tmp_path / "out"
        assert main([*world, "--out", str(out), *COLUMNS, "--scratch", str(scratch)]) == 0
    finally:
        os.close(held)
    assert sorted(p.name for p in scratch.iterdir()) == [f"{PREFIX}running"]


def test_a_columns_folder_is_locked_in_use_kept_while_claimed_and_removed_after(tmp_path):
    checkpoint = tmp_path / "out" / ".partial"
    checkpoint.mkdir(parents=True)
    with columns_folder(tmp_path, checkpoint) as folder:
        assert folder.parent == tmp_path and folder.name.startswith(PREFIX)
        assert lock_folder(folder) is None  # held: no other run removes it
        (folder / "pred.npy").write_bytes(b"1")
    remove_stale(tmp_path)  # an interrupted run's, which its checkpoint keeps for --resume
    assert folder.is_dir()
    with columns_folder(tmp_path, checkpoint) as again:  # the resumed run takes it up
        assert again == folder and (again / "pred.npy").read_bytes() == b"1"
    shutil.rmtree(checkpoint)  # the checkpoint deleted to start again: the folder goes too
    remove_stale(tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_a_claimed_columns_folder_that_is_gone_is_named(tmp_path):
    checkpoint = tmp_path / ".partial"
    checkpoint.mkdir()
    with columns_folder(tmp_path, checkpoint) as folder:
        pass
    shutil.rmtree(folder)
    said = f"{folder}, where the interrupted run .* is gone"
    with pytest.raises(CommandError, match=said), columns_folder(tmp_path, checkpoint):
        pass


@pytest.mark.parametrize("claim", ["", ".", "..", "metrics.tsv"])
def test_a_damaged_claim_never_names_a_folder_but_a_columns_one(tmp_path, claim):
    """A checkpoint's claim that names no ``.columns-*`` folder (a damaged file) claims
    none: removing the checkpoint leaves --out's outputs, and its parent, alone."""
    out = tmp_path / "out"
    checkpoint = out / CHECKPOINT
    checkpoint.mkdir(parents=True)
    (out / "metrics.tsv").write_text("kept\n")
    (checkpoint / CLAIM).write_text(claim)
    assert claimed_folder(checkpoint) is None
    Checkpoint(out).remove()
    assert (out / "metrics.tsv").read_text() == "kept\n" and not checkpoint.exists()


def _unwritable(monkeypatch, folder: Path) -> None:
    """`folder` reads as not writable (a test as root writes anywhere, whatever the mode)."""
    real = os.access
    monkeypatch.setattr(
        os, "access", lambda p, m, **k: False if Path(p) == folder and m & os.W_OK else real(p, m)
    )


@pytest.mark.parametrize("kind", ["missing", "file", "unwritable"])
def test_a_scratch_that_cannot_hold_the_columns_is_refused_up_front(
    world, tmp_path, monkeypatch, logs, kind
):
    scratch = tmp_path / "scratch"
    said = {
        "missing": f"--scratch {scratch}: no such file or directory (check the path)",
        "file": f"--scratch {scratch}: is a file, where crossreg writes a folder",
        "unwritable": f"--scratch {scratch}: cannot be written ({scratch} is not a writable",
    }[kind]
    if kind == "file":
        scratch.write_text("")
    elif kind == "unwritable":
        scratch.mkdir()
        _unwritable(monkeypatch, scratch)
    monkeypatch.setattr(track_scores, "load_head", None)  # no model is loaded
    out = tmp_path / "out"
    assert main([*world, "--out", str(out), *COLUMNS, "--scratch", str(scratch)]) == 1
    assert said in logs.text
    assert not out.exists()


def test_scratch_without_a_column_statistic_is_refused(world, tmp_path, logs):
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    argv = [*world, "--out", str(tmp_path / "out"), "--no-plots", "--scratch", str(scratch)]
    assert main(argv) == 1
    assert f"--scratch {scratch} holds the columns of --specificity, --rank or --peaks" in logs.text


@pytest.mark.parametrize("kind", ["missing", "unwritable"])
def test_evaluate_model_refuses_a_bad_scratch_folder_before_any_work(tmp_path, monkeypatch, kind):
    scratch = tmp_path / "scratch"
    if kind == "unwritable":
        scratch.mkdir()
        _unwritable(monkeypatch, scratch)
    said = "no such folder" if kind == "missing" else "cannot be written"
    with pytest.raises(ValueError, match=f"scratch folder {scratch}: {said}"):
        evaluate_model(
            tmp_path / "no_model",
            tmp_path / "no_data",
            tmp_path / "out",
            columns=ColumnOptions(rank=True),
            scratch=scratch,
        )
    assert not (tmp_path / "out").exists()
