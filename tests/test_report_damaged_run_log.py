"""``crossreg report`` on a run log with damaged records: what cannot be read counts as
nothing, as lines that are not JSON objects already do, and the page is still written."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from crossreg.cli import main
from crossreg.report_runs import run_entries, runs_html
from crossreg.runlog import record_run, run_seconds


@pytest.mark.parametrize("seconds", [None, "twelve", [12.5], {"s": 1}])
def test_a_record_without_a_number_of_seconds_counts_none(seconds: object) -> None:
    assert run_seconds({"command": "crossreg train", "seconds": seconds}) == 0.0


def test_a_record_with_seconds_counts_them() -> None:
    assert run_seconds({"seconds": 12.5}) == 12.5
    assert run_seconds({"seconds": 3}) == 3.0
    assert run_seconds({}) == 0.0


def test_the_run_table_lists_a_record_whose_seconds_are_unreadable(tmp_path: Path) -> None:
    runs = [
        {"command": "crossreg train", "started": "2026-01-01T10:00:00+0000", "seconds": 30},
        {"command": "crossreg killed", "started": "2026-01-01T11:00:00+0000", "seconds": None},
        {"command": "crossreg edited", "started": "2026-01-01T12:00:00+0000", "seconds": "n/a"},
    ]
    lines = [json.dumps(r) for r in runs] + ["not json"]
    (tmp_path / "crossreg-runs.jsonl").write_text("\n".join(lines) + "\n")
    text = runs_html(tmp_path, *run_entries(tmp_path))
    assert "3 commands over 30 s" in text
    assert text.index("crossreg train") < text.index("crossreg killed")
    assert text.index("crossreg killed") < text.index("crossreg edited")
    assert text.count("<td>0.0</td>") == 2 and "<td>30.0</td>" in text


def test_an_unreadable_run_log_is_noted_and_the_rest_reported(tmp_path: Path) -> None:
    # before: a broken crossreg-runs.jsonl link stopped the whole report with Errno 2
    record_run(tmp_path, ["sad", "--out", "s"], 1_700_000_000.0, 2.0)
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "crossreg-runs.jsonl").symlink_to(tmp_path / "moved.jsonl")
    assert main(["report", str(tmp_path)]) == 0
    page = (tmp_path / "report.html").read_text()
    assert "1 command over 2 s" in page and "crossreg sad --out s" in page
    assert "sub/crossreg-runs.jsonl not read (a broken link); its commands are not listed" in page
    only_broken = tmp_path / "sub"
    assert "No run log (crossreg-runs.jsonl) in this folder." in runs_html(
        only_broken, *run_entries(only_broken)
    )
    assert "crossreg-runs.jsonl not read (a broken link)" in runs_html(
        only_broken, *run_entries(only_broken)
    )
