"""The Commands section of a ``crossreg report`` page: the commands logged under the folder
(:mod:`crossreg.runlog`), oldest first, with their start, duration and versions."""

from __future__ import annotations

import html
from collections.abc import Iterable
from pathlib import Path

from crossreg.errors import plural
from crossreg.report_scan import run_logs
from crossreg.runlog import RUNS_FILE, read_runs, run_seconds, start_time

RUN_ROWS = 100  # commands listed at most (the first and last half of them)


RunEntry = tuple[str, Path, dict[str, object]]  # a record's started, its folder, itself


def run_entries(root: Path) -> tuple[list[RunEntry], str]:
    """Every command logged in the folder, oldest first, and the notes on the run logs
    that could not be read."""
    entries: list[RunEntry] = []
    unread: list[str] = []
    for path in run_logs(root):
        try:
            runs = read_runs(path)
        except OSError as error:  # a broken link, a file without read permission
            unread.append(_unread_run_log(path, root, error))
            continue
        entries.extend((str(run.get("started", "")), path.parent, run) for run in runs)
    entries.sort(key=lambda entry: (start_time(entry[0]) or 0.0, entry[0]))
    return entries, "".join(unread)


def runs_html(root: Path, entries: list[RunEntry], skipped: str) -> str:
    """The commands that wrote into the folder, `entries` of :func:`run_entries` (with
    its notes on the run logs `skipped`), oldest first (the first and last
    :data:`RUN_ROWS` / 2 of more)."""
    if not entries:
        return f"<p class='note'>No run log ({RUNS_FILE}) in this folder.</p>{skipped}"
    half = RUN_ROWS // 2
    if len(entries) > RUN_ROWS:  # e.g. a job array's shards: the first and the last
        more = len(entries) - 2 * half
        left_out = f"<tr><td colspan='4' class='text'>… {more:,} more …</td></tr>"
        rows = _run_rows(entries[:half], root) + left_out + _run_rows(entries[-half:], root)
    else:
        rows = _run_rows(entries, root)
    wall = wall_seconds((started, run_seconds(run)) for started, _, run in entries)
    used = entries[-1][2].get("versions", {})
    return (
        f"<p class='note'>{plural(len(entries), 'command')} over "
        f"{wall:.0f} s (commands run inside "
        "or beside others counted once); versions of the "
        f"last: {html.escape(_versions_text(used))}</p>"
        "<table><tr><th>started</th><th>seconds</th><th>folder</th>"
        "<th class='command'>command</th></tr>"
        f"{rows}</table>{skipped}"
    )


def _unread_run_log(path: Path, root: Path, error: OSError) -> str:
    """The note on a run log that could not be read, whose commands are not listed."""
    reason = error.strerror or str(error)
    if path.is_symlink() and not path.exists():
        reason = "a broken link"
    name = html.escape(str(path.relative_to(root)))
    return (
        f"<p class='note'>{name} not read ({html.escape(reason)}); its commands are not listed.</p>"
    )


def _run_rows(entries: list[tuple[str, Path, dict[str, object]]], root: Path) -> str:
    return "".join(
        f"<tr><td>{html.escape(started)}</td><td>{run_seconds(run):.1f}</td>"
        f"<td>{html.escape(str(folder.relative_to(root)) or '.')}</td>"
        f"<td class='command'><code>{html.escape(str(run.get('command', '')))}</code></td></tr>"
        for started, folder, run in entries
    )


def wall_seconds(runs: Iterable[tuple[str, float]]) -> float:
    """Seconds covered by runs given as (``started`` text of a run log, duration): a run
    inside another (the demo's steps) or beside it (parallel trainings) counts once; a run
    whose start cannot be read counts its own seconds."""
    spans, loose = [], 0.0
    for started, seconds in runs:
        begin = start_time(started)
        if begin is None:
            loose += seconds
        else:
            spans.append((begin, begin + seconds))
    covered, reach = 0.0, float("-inf")
    for begin, end in sorted(spans):
        covered += max(0.0, end - max(begin, reach))
        reach = max(reach, end)
    return covered + loose


def _versions_text(found: object) -> str:
    if not isinstance(found, dict):
        return ""
    return ", ".join(f"{key} {value}" for key, value in found.items())
