"""Each command records its command line, time and versions in its output folder."""

from __future__ import annotations

from pathlib import Path

import pytest

from crossreg.runlog import RUNS_FILE, output_folder, read_runs, record_run, start_time
from tests.test_split_cli import inputs, run_split  # noqa: F401 (the fixture)


def _text(value: object) -> str:
    """A run record's field that must be text (the records are parsed JSON)."""
    assert isinstance(value, str), value
    return value


def test_a_command_appends_its_run(inputs: dict[str, Path], tmp_path: Path) -> None:  # noqa: F811
    out = tmp_path / "out"
    assert run_split(inputs, out, "--seed", "5") == 0
    assert run_split(inputs, out, "--seed", "6") == 0
    runs = read_runs(out / RUNS_FILE)
    commands = [_text(r["command"]) for r in runs]
    assert [c.split()[:2] for c in commands] == [["crossreg", "split"]] * 2
    seconds, versions = runs[0]["seconds"], runs[0]["versions"]
    assert isinstance(seconds, (int, float)) and isinstance(versions, dict)
    assert commands[1].endswith("--seed 6") and seconds >= 0
    assert set(versions) >= {"python", "crossreg", "torch", "numpy"}
    # a failed run records nothing
    assert run_split(inputs, out, "--valid", "0.5", "--test", "0.5") != 0
    assert len(read_runs(out / RUNS_FILE)) == 2


def test_output_folder_and_unreadable_lines(tmp_path: Path) -> None:
    assert output_folder(tmp_path / "scores.h5") == tmp_path
    assert output_folder(tmp_path / "train_dir") == tmp_path / "train_dir"
    path = record_run(tmp_path, ["sad", "--out", "x.h5"], 0.0, 1.5)
    with open(path, "a") as handle:
        handle.write("not json\n[1, 2]\n")
    with open(path, "ab") as handle:  # before: one byte that is not UTF-8 failed the report
        handle.write(b'{"command": "crossreg caf\xe9"}\n')
    assert [r["command"] for r in read_runs(path)] == [
        "crossreg sad --out x.h5",
        "crossreg caf\ufffd",
    ]


def test_a_command_given_as_one_string_is_refused(tmp_path: Path) -> None:
    # before: "train x" was logged letter by letter, as "crossreg t r a i n ' ' x"
    with pytest.raises(TypeError, match="argv is a list of words"):
        record_run(tmp_path, "train x", 0.0, 1.0)
    assert not (tmp_path / RUNS_FILE).exists()


def test_a_recorded_start_reads_back_as_its_epoch(tmp_path: Path) -> None:
    path = record_run(tmp_path, ["synth"], 1_700_000_123.0, 2.0)
    assert start_time(str(read_runs(path)[0]["started"])) == 1_700_000_123.0
    assert start_time("yesterday") is None


def test_only_rank_0_of_a_torchrun_job_logs_an_out_command(
    inputs: dict[str, Path],  # noqa: F811
    tmp_path: Path,
    monkeypatch,
) -> None:
    out = tmp_path / "out"
    monkeypatch.setenv("RANK", "1")
    assert run_split(inputs, out) == 0
    assert not (out / RUNS_FILE).exists()
    monkeypatch.setenv("RANK", "0")
    assert run_split(inputs, out) == 0
    assert len(read_runs(out / RUNS_FILE)) == 1
