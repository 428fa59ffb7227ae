"""Progress reporting: log lines off a terminal, nothing on other ranks, figures and ETA."""

from __future__ import annotations

import logging

import pytest

from crossreg.progress import Progress, format_seconds, progress_mode, track


def test_mode_follows_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CROSSREG_PROGRESS", raising=False)
    monkeypatch.setenv("RANK", "1")
    assert progress_mode() == "off"
    monkeypatch.setenv("RANK", "0")
    assert progress_mode() == "log"  # pytest captures stderr: not a terminal
    monkeypatch.setenv("CROSSREG_PROGRESS", "bar")
    assert progress_mode() == "bar"
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
    assert len(lines) == 3


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
