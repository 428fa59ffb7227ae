"""What made an output folder: one JSON line per command run into it.

Every ``crossreg`` command that writes with ``--out`` (or ``predict --bigwig``, into its
folder; and every step of ``crossreg demo``) but ``report`` appends a record to
:data:`RUNS_FILE` in its output folder (the folder itself, or the folder of an output
file) when it succeeds, once per ``torchrun`` job (rank 0; for ``predict --bigwig``
the process that writes the BigWigs): the
command line, when it started, how long it took, and the versions of crossreg, Python,
torch and numpy. ``crossreg report`` shows them beside the tables and figures.
"""

from __future__ import annotations

import json
import os
import platform
import shlex
import time
from collections.abc import Mapping, Sequence
from datetime import datetime
from importlib import metadata
from pathlib import Path

RUNS_FILE = "crossreg-runs.jsonl"
VERSIONED = ("crossreg", "torch", "numpy")
STARTED_FORMAT = "%Y-%m-%dT%H:%M:%S%z"  # a record's "started": local time with its offset


def versions() -> dict[str, str]:
    """The versions a result depends on: Python, crossreg, torch, numpy, and the machine."""
    found = {"python": platform.python_version(), "platform": platform.platform()}
    for name in VERSIONED:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            found[name] = "not installed"
    return found


def output_folder(out: str | os.PathLike[str]) -> Path:
    """The folder an ``--out`` writes into: `out` itself, or its parent for a file name."""
    out = Path(out)
    return out.parent if out.suffix and not out.is_dir() else out


def record_run(
    folder: str | os.PathLike[str], argv: Sequence[str], started: float, seconds: float
) -> Path:
    """Append one finished run (``crossreg`` + `argv`, started at epoch `started`, lasting
    `seconds`) to the folder's :data:`RUNS_FILE`; returns its path. `argv` is a list of
    words (a string would be logged letter by letter, so it is refused)."""
    if isinstance(argv, str | bytes):
        raise TypeError(f"argv is a list of words such as ['train', '--out', 'x'], not {argv!r}")
    path = Path(folder) / RUNS_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    entry = {
        "command": "crossreg " + shlex.join(argv),
        "started": time.strftime(STARTED_FORMAT, time.localtime(started)),
        "seconds": round(seconds, 3),
        "cwd": os.getcwd(),
        "versions": versions(),
    }
    with open(path, "a") as handle:
        handle.write(json.dumps(entry) + "\n")
    return path


def read_runs(path: str | os.PathLike[str]) -> list[dict[str, object]]:
    """The records of a :data:`RUNS_FILE` (lines that are not JSON objects are skipped;
    bytes that are not UTF-8 read as U+FFFD)."""
    runs = []
    for line in Path(path).read_bytes().decode("utf-8", errors="replace").splitlines():
        try:
            entry = json.loads(line)
        except json.JSONDecodeError:
            continue
        if isinstance(entry, dict):
            runs.append(entry)
    return runs


def run_seconds(run: Mapping[str, object]) -> float:
    """A run record's ``seconds``; 0 when it has no number there (as when it has none)."""
    seconds = run.get("seconds", 0)
    return float(seconds) if isinstance(seconds, int | float) else 0.0


def logged_command(line: str) -> str:
    """The command of a run log's command line: its first word after ``crossreg`` that is
    not a global option (``crossreg -q compare ...`` → ``compare``)."""
    words = [word for word in line.split()[1:] if not word.startswith("-")]
    return words[0] if words else ""


def start_time(started: str) -> float | None:
    """Epoch seconds of a record's ``started`` text (``None`` if unreadable), so runs
    logged in different time zones order and overlap as they happened."""
    try:
        return datetime.strptime(started, STARTED_FORMAT).timestamp()
    except ValueError:
        return None
