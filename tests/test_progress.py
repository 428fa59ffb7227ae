"""Progress reporting: log lines off a terminal, nothing on other ranks, figures and ETA."""

from __future__ import annotations

import io
import logging
import re
import sys
from collections.abc import Iterator

import pytest
import tqdm.std

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
