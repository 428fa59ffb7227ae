"""Progress reporting: log lines off a terminal, nothing on other ranks, figures and ETA."""

from __future__ import annotations

import io
import logging
import os
import re
import subprocess
import sys
import textwrap
from collections.abc import Iterator

import pytest
import tqdm.std

import crossreg.progress
from crossreg.progress import Progress, format_seconds, progress_mode, track


@pytest.fixture
def crossreg_logger() -> Iterator[logging.Logger]:
    """The ``crossreg`` logger, its level put back after the test."""
    logger = logging.getLogger("crossreg")
    level = logger.level
    yield logger
    logger.setLevel(level)


def test_mode_follows_environment(
    monkeypatch: pytest.MonkeyPatch, crossreg_logger: logging.Logger
) -> None:
    monkeypatch.delenv("CROSSREG_PROGRESS", raising=False)
    monkeypatch.setenv("RANK", "1")
    assert progress_mode() == "off"
    monkeypatch.setenv("RANK", "0")
    crossreg_logger.setLevel(logging.INFO)
    assert progress_mode() == "log"  # pytest captures stderr: not a terminal
    monkeypatch.setenv("CROSSREG_PROGRESS", "bar")
    assert progress_mode() == "bar"
    monkeypatch.setenv("RANK", "1")
    assert progress_mode() == "off"  # a torchrun job's log holds each line once
    monkeypatch.setenv("CROSSREG_PROGRESS", "loud")
    with pytest.raises(ValueError, match="bar, log, off"):
        progress_mode()


def test_log_mode_reports_counts_rate_and_end(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("CROSSREG_PROGRESS_INTERVAL", "0")
    caplog.set_level(logging.INFO, logger="crossreg")
    with Progress(4, "scoring", "alleles", mode="log") as meter:
        meter.update(1, loss=0.5)
        meter.update(3)
    lines = [r.getMessage() for r in caplog.records]
    assert lines[0].startswith("scoring: 1/4 alleles (25.0%)")
    assert "ETA" in lines[0] and "loss=0.5" in lines[0]
    assert lines[-1].startswith("scoring: 4/4 alleles (100.0%)") and "done in" in lines[-1]
    assert len(lines) == 2  # before: 4/4 twice, the second with "done in"


def test_log_mode_is_modest(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("CROSSREG_PROGRESS_INTERVAL", "3600")
    caplog.set_level(logging.INFO, logger="crossreg")
    assert list(track(range(1000), "sites", "sites")) == list(range(1000))
    assert [r.getMessage().split(",")[0] for r in caplog.records] == [
        "sites: 1000/1000 sites (100.0%)"
    ]


def test_off_and_interrupted_runs_say_nothing(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="crossreg")
    with Progress(3, "quiet", mode="off") as meter:
        meter.update(3)
    with pytest.raises(KeyboardInterrupt), Progress(3, "stopped", mode="log") as meter:
        meter.update(1)
        raise KeyboardInterrupt
    assert not caplog.records


def test_bar_mode_draws_tqdm(capsys: pytest.CaptureFixture[str]) -> None:
    with Progress(10, "windows", "windows", initial=2, mode="bar") as meter:
        meter.update(8, loss=1.25)
    err = capsys.readouterr().err
    assert "windows" in err and "10/10" in err and "loss=1.25" in err


def test_format_seconds() -> None:
    assert format_seconds(75) == "1:15"
    assert format_seconds(3725) == "1:02:05"
    assert format_seconds(float("inf")) == "?"


class _Terminal(io.StringIO):
    """A stderr that says it is a terminal."""

    def isatty(self) -> bool:
        return True


def test_quiet_logger_hides_the_bar_on_a_terminal(
    monkeypatch: pytest.MonkeyPatch, crossreg_logger: logging.Logger
) -> None:
    monkeypatch.delenv("CROSSREG_PROGRESS", raising=False)
    monkeypatch.delenv("RANK", raising=False)
    monkeypatch.setattr(sys, "stderr", _Terminal())
    crossreg_logger.setLevel(logging.INFO)
    assert progress_mode() == "bar"
    crossreg_logger.setLevel(logging.WARNING)  # crossreg -q
    assert progress_mode() == "off"
    crossreg_logger.setLevel(logging.NOTSET)  # a library caller who set no level
    assert progress_mode() == "bar"
    crossreg_logger.setLevel(logging.WARNING)
    monkeypatch.setenv("CROSSREG_PROGRESS", "bar")  # asked for all the same
    assert progress_mode() == "bar"


def test_bar_shows_slow_rates_per_unit(monkeypatch: pytest.MonkeyPatch) -> None:
    clock = iter(range(0, 1000, 2))  # each reading of tqdm's clock 2 s after the last
    monkeypatch.setattr(tqdm.std, "time", lambda: float(next(clock)))
    stderr = io.StringIO()
    monkeypatch.setattr(sys, "stderr", stderr)
    with Progress(10, "training", "steps", mode="bar") as meter:
        for _ in range(3):
            meter.update()
    drawn = stderr.getvalue()
    assert re.search(r"\ds/steps\]", drawn), drawn
    assert "s/ steps" not in drawn


class _Clock:
    """``time.monotonic`` of a run whose every reading is `step` seconds after the last."""

    def __init__(self, step: float) -> None:
        self.now, self.step = 0.0, step

    def monotonic(self) -> float:
        self.now += self.step
        return self.now


def test_work_a_stopped_run_finished_counts_as_done_but_not_in_the_rate(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    # a resumed run takes 90 of 100 units from its files at once: with them counted as
    # new work its rate would be 90 units in a second and the time left wrong throughout
    monkeypatch.setattr(crossreg.progress, "time", _Clock(1.0))
    monkeypatch.setenv("CROSSREG_PROGRESS_INTERVAL", "0")
    caplog.set_level(logging.INFO, logger="crossreg")
    with pytest.raises(KeyboardInterrupt), Progress(100, "targets", "tracks", mode="log") as meter:
        meter.skip(90)  # clock 1 at the start
        meter.update(2)  # clock 2, its line's rate at 3: 2 tracks in 2 s, 8 left
        raise KeyboardInterrupt
    lines = [r.getMessage() for r in caplog.records]
    assert lines == [
        "targets: 92/100 tracks (92.0%), 1 tracks/s, 90 kept from the stopped run, ETA 0:08"
    ]  # stopped short of its total: no "done in" line


def test_bar_counts_skipped_work_apart_from_its_rate(monkeypatch: pytest.MonkeyPatch) -> None:
    clock = iter(range(0, 1000, 2))
    monkeypatch.setattr(tqdm.std, "time", lambda: float(next(clock)))
    stderr = _Terminal()
    monkeypatch.setattr(sys, "stderr", stderr)
    with Progress(100, "targets", "tracks", mode="bar") as meter:
        meter.skip(90)
        meter.update(2)
    last = stderr.getvalue().split("\r")[-1]
    # 2 tracks in 10 s of tqdm's clock (5 s a track, 8 left), not 92 of them
    assert "92/100 [00:10<00:40,  5.00s/tracks]" in last, last


def test_bar_without_a_total_spaces_its_count_and_unit(capsys: pytest.CaptureFixture[str]) -> None:
    with Progress(None, "counting the VCF's records", "records", mode="bar") as meter:
        meter.update(60)
    last = capsys.readouterr().err.strip().split("\r")[-1]
    assert last.startswith("counting the VCF's records: 60 records [00:00, "), last
    assert last.endswith("records/s]")


def test_a_terminal_that_reports_no_size_still_gets_a_bar(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # a pseudo-terminal given no size (0 rows, 0 columns): tqdm's own sizing draws nothing
    class _Sizeless(_Terminal):
        def fileno(self) -> int:
            return 2

    stderr = _Sizeless()
    monkeypatch.setattr(sys, "stderr", stderr)
    monkeypatch.setattr(os, "get_terminal_size", lambda *fd: os.terminal_size((0, 0)))
    monkeypatch.setenv("COLUMNS", "100")
    monkeypatch.setenv("LINES", "30")
    with Progress(3, "ISM", "sequences", mode="bar") as meter:
        meter.update(3)
    drawn = stderr.getvalue()
    assert "ISM: 100%" in drawn and "3/3" in drawn, repr(drawn)
    assert max(len(line.rstrip("\n")) for line in drawn.split("\r")) == 99  # the width less 1


def test_a_python_warning_goes_above_the_bar() -> None:
    # numpy's and torch's warnings are printed to stderr, not logged: not into the bar's line
    script = textwrap.dedent("""
        import warnings
        from crossreg.progress import Progress
        with Progress(2, "evaluating", "windows", mode="bar") as meter:
            meter.update()
            warnings.warn("invalid value encountered in divide", RuntimeWarning)
            meter.update()
    """)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    run = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, env=env, check=True
    )
    lines = [segment.split("\r")[-1] for segment in run.stderr.split("\n")]
    shown = [line for line in lines if "RuntimeWarning" in line]
    assert shown == ["<string>:6: RuntimeWarning: invalid value encountered in divide"], lines
    assert lines[-2].startswith("evaluating: 100%")  # drawn again below it, then finished
