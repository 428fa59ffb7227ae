"""A folder's summary on a ``crossreg report`` page: its ``summary.txt``, its
``summary.json`` folded with its top-level values on one line, and the notes on a summary
possibly out of date and on a demo not finished."""

from __future__ import annotations

import html
import json
import os
import time
from collections.abc import Mapping
from pathlib import Path

from crossreg.errors import plural
from crossreg.report_format import SIGNIFICANT_DIGITS, TIME_FORMAT
from crossreg.report_runs import RunEntry
from crossreg.report_scan import SUMMARY_FILES, readable_file
from crossreg.runlog import RUNS_FILE, logged_command, start_time

FACT_ITEMS = 8  # a list in a summary.json is shown among its facts when this short
FACT_CHARS = 200  # and a text (a longer one, such as settings as JSON text, is not)
#: The folders ``crossreg demo`` writes, in the order of its steps, with what they hold:
#: a demo folder without one is told so (the demo writes its summary.txt last).
DEMO_FOLDERS = {
    "synth": "the generated genomes, tracks and truth",
    "split": "the synteny split",
    "data": "the training stores",
    "models": "the joint and single-genome models",
    "evaluate": "test accuracy per track",
    "compare": "joint vs single-genome models",
    "transfer": "cross-species transfer",
    "variants": "SAD of the planted variants",
    "denovo": "de novo case/control tests",
    "sldp": "SLDP of the GWAS-like panel",
    "ism": "saturation mutagenesis",
}


def summary_html(root: Path) -> str:
    """A folder's own summary: summary.txt, and summary.json folded (the page's Summary
    for the report's folder, the top of its section for a sub-folder's)."""
    parts = []
    text = root / "summary.txt"
    if readable_file(text):
        parts.append(f"<pre>{html.escape(text.read_text(errors='replace'))}</pre>")
    data = root / "summary.json"
    if readable_file(data):
        raw = data.read_text(errors="replace")
        try:
            loaded = json.loads(raw)
            pretty = json.dumps(loaded, indent=1)
        except json.JSONDecodeError as error:  # shown as it is, with what is wrong
            loaded, pretty = None, f"(not valid JSON: {error})\n{raw}"
        if not parts and isinstance(loaded, dict):  # no summary.txt: its plain values lead
            parts.append(facts_html(loaded))
        parts.append(
            f"<details><summary>summary.json</summary><pre>{html.escape(pretty)}</pre></details>"
        )
    return "".join(parts)


def facts_html(data: Mapping[str, object]) -> str:
    """The top-level numbers, texts, flags and short lists of them of a summary.json, in
    its order, on one line (which split, head and model, how many tracks, the means), so
    that its section says what its tables are of without the JSON unfolded; nested
    objects stay in the folded JSON. Empty when there are none."""
    facts = [
        f"<span class='key'>{html.escape(key)}</span> {html.escape(shown)}"
        for key, value in data.items()
        if (shown := _fact(value)) is not None
    ]
    return f"<p class='facts'>{' · '.join(facts)}</p>" if facts else ""


def _fact(value: object) -> str | None:
    """A summary.json value as its facts show it: a fraction to
    :data:`SIGNIFICANT_DIGITS`, a flag as JSON writes it, a text of at most
    :data:`FACT_CHARS`, a list of at most :data:`FACT_ITEMS` such values joined; None for
    what is left in the JSON alone (nested objects, longer lists and texts, null, empty
    text)."""
    if isinstance(value, bool):
        return json.dumps(value)
    if isinstance(value, float):
        return f"{value:.{SIGNIFICANT_DIGITS}g}"
    if isinstance(value, int) or (isinstance(value, str) and 0 < len(value) <= FACT_CHARS):
        return str(value)
    if isinstance(value, list) and 0 < len(value) <= FACT_ITEMS:
        items = [_fact(item) for item in value]
        return None if None in items else ", ".join(str(item) for item in items)
    return None


def later_runs_html(root: Path, entries: list[RunEntry]) -> str:
    """The note on the folder's summary when commands logged under the folder started
    after it was written (a step run again, with other settings or inputs) and rewrote a
    file in their folder: its numbers may be those of their earlier outputs. Empty
    without such commands."""
    written = [path.stat().st_mtime for path in (root / n for n in SUMMARY_FILES) if path.is_file()]
    if not written:
        return ""
    since = min(written)
    started_later = [entry for entry in entries if (start_time(entry[0]) or 0.0) > since]
    rewrote = {folder for folder in {e[1] for e in started_later} if _written_after(folder, since)}
    later = [entry for entry in started_later if entry[1] in rewrote]
    if not later:
        return ""
    folders = sorted({str(folder.relative_to(root)) for _, folder, _ in later})
    named = ", ".join(html.escape(name) for name in folders[:5])
    named += f" and {len(folders) - 5} more folders" if len(folders) > 5 else ""
    made = time.strftime(TIME_FORMAT, time.localtime(since))
    return (
        f"<p class='stale'>Possibly out of date: {plural(len(later), 'command')} ran after this "
        f"summary was written ({made}), in {named} (see Commands), so its numbers may be "
        "those of their earlier outputs; run the command that wrote it again to bring it "
        "up to date.</p>"
    )


def _written_after(folder: Path, since: float) -> bool:
    """Whether a file in `folder`, at any depth, was modified after `since` (epoch
    seconds), but for run logs and report pages: a finished step run again with --resume
    rewrites none of its outputs."""
    for current, _, files in os.walk(folder):
        for name in files:
            if name in (RUNS_FILE, "report.html"):
                continue
            try:
                if os.lstat(os.path.join(current, name)).st_mtime > since:
                    return True
            except OSError:  # removed meanwhile
                continue
    return False


def no_summary_html(root: Path, entries: list[RunEntry]) -> str:
    """The Summary section of a folder without summary.txt or summary.json: of a demo
    folder, that the demo has not finished (it writes them last)."""
    if not _demo_folder(root, entries):
        return "<p class='note'>No summary.txt or summary.json in this folder.</p>"
    return (
        "<p class='unfinished'>No summary: the crossreg demo that wrote this folder has not "
        "finished (it was stopped, or is still running; it writes summary.txt last), so the "
        "sections below hold only the steps it finished. Continue it with crossreg demo "
        "--resume and the options it was started with.</p>"
    )


def missing_steps_html(root: Path, entries: list[RunEntry], summary: bool) -> str:
    """Of a demo folder, the demo's folders (:data:`DEMO_FOLDERS`) it lacks, one line
    each: not written yet, or, beside a `summary`, removed since. Empty for another
    folder, or a demo folder that has them all."""
    missing = [name for name in DEMO_FOLDERS if not (root / name).is_dir()]
    if not missing or not _demo_folder(root, entries):
        return ""
    why = "removed since the demo wrote its summary" if summary else "not written yet"
    items = "".join(
        f"<li>{html.escape(name)}/ ({DEMO_FOLDERS[name]}): {why}, so it has no section</li>"
        for name in missing
    )
    heading = "<p class='note'>Steps of the demo without their folder:</p>"
    return f"{heading}<ul class='note'>{items}</ul>"


def _demo_folder(root: Path, entries: list[RunEntry]) -> bool:
    """Whether `root` is a ``crossreg demo`` folder, by its run logs' `entries`: its own
    records the demo (logged once the demo finishes), or its synth/ the demo's first
    step."""
    world = root / next(iter(DEMO_FOLDERS))
    for _, folder, run in entries:
        command = logged_command(str(run.get("command", "")))
        if (folder, command) in ((root, "demo"), (world, "synth")):
            return True
    return False
