"""crossreg.io.finished: what a --resume of a finished run reads of the settings its
outputs record, and what it says when it computes them again."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from crossreg.io.finished import Unreadable, finished_run, recorded_settings


def changes(before, now) -> list[str]:
    return [
        f"--{key} {before.get(key)} then, {now.get(key)} now"
        for key in now
        if before.get(key) != now.get(key)
    ]


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ('{"settings": {"seed": 0}, "fig', "Unterminated string"),  # cut short
        ("", "Expecting value"),
        ("[1, 2]", "a JSON list, not an object"),
        ('{"settings": [0]}', "its 'settings' is not a JSON object"),
    ],
)
def test_a_summary_that_cannot_be_read_is_said_to_be_so(tmp_path, caplog, text, reason):
    # before: a cut-short summary.json was taken for one of an earlier crossreg, and the
    # log said so ("records no settings (an earlier crossreg wrote it)")
    summary = tmp_path / "summary.json"
    summary.write_text(text)
    recorded = recorded_settings(summary)
    assert isinstance(recorded, Unreadable) and recorded.path == summary
    assert reason in recorded.reason
    with caplog.at_level(logging.INFO, logger="crossreg"):
        assert not finished_run(tmp_path, recorded, {"seed": 0}, changes)
    assert caplog.messages == [
        f"{tmp_path}: its record of the settings, {summary}, cannot be read "
        f"({recorded.reason}); computing it again"
    ]


def test_a_summary_of_an_earlier_crossreg_records_none(tmp_path: Path, caplog):
    summary = tmp_path / "summary.json"
    summary.write_text(json.dumps({"phenotypes": {}}))
    assert recorded_settings(summary) is None
    with caplog.at_level(logging.INFO, logger="crossreg"):
        assert not finished_run(tmp_path, None, {"seed": 0}, changes)
    assert caplog.messages == [
        f"{tmp_path} records no settings (an earlier crossreg wrote it); computing it again"
    ]


def test_recorded_settings_are_compared(tmp_path: Path, caplog):
    summary = tmp_path / "summary.json"
    summary.write_text(json.dumps({"run": {"seed": 0}}))
    recorded = recorded_settings(summary, "run")
    assert recorded == {"seed": 0}
    with caplog.at_level(logging.INFO, logger="crossreg"):
        assert finished_run(tmp_path, recorded, {"seed": 0}, changes)
    assert caplog.messages == [f"{tmp_path} is complete for these settings; nothing to do"]
    with pytest.raises(ValueError, match=r"other settings \(--seed 0 then, 1 now\); rerun"):
        finished_run(tmp_path, recorded, {"seed": 1}, changes)


def test_figures_a_finished_run_lacks_are_said_to_be_drawn(tmp_path: Path, caplog):
    with caplog.at_level(logging.INFO, logger="crossreg"):
        assert finished_run(tmp_path, {"seed": 0}, {"seed": 0}, changes, redrawn=["a.png"])
        assert not finished_run(
            tmp_path, {"seed": 0}, {"seed": 0}, changes, ["t.npz"], redrawn=["a.png"]
        )
    assert caplog.messages == [
        f"{tmp_path} is complete for these settings but lacks a.png; drawing them from its outputs",
        f"{tmp_path} lacks t.npz, which this run writes; computing it again",
    ]
