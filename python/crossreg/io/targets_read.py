"""Basenji's targets table read from its text: tab-separated with a header, plain or
gzipped (:func:`crossreg.io.text.numbered_lines`), every problem of its rows
(:mod:`crossreg.io.targets_rows`) and, when asked, of its track files
(:mod:`crossreg.io.track_files`) told at once. Rows are tracks in output order (row
order, not the ``index`` value); relative track paths are relative to the table's folder.
"""

from __future__ import annotations

import csv
import os
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

from crossreg.io.targets import TargetsTable
from crossreg.io.targets_rows import REQUIRED_COLUMNS, TRACK_COLUMNS, parse_rows
from crossreg.io.text import numbered_lines
from crossreg.io.track_files import missing_track_files
from crossreg.shard import Shard

MAX_PROBLEMS = 25  # problems listed at most in one error about a targets table


def read_targets(
    path: str | os.PathLike[str],
    *,
    check_files: bool = False,
    tracks_only: bool = False,
    shard: Shard | None = None,
) -> TargetsTable:
    """Read and check a targets table.

    Every row is checked before anything is raised: one ValueError lists every problem
    in line order (up to :data:`MAX_PROBLEMS`), each naming its line — a wrong number of
    fields, a bad number, an unknown ``sum_stat``, a duplicate identifier and, with
    `check_files`, a track file that does not exist (when none exists, a last line says
    that the table names another machine's files, and Basenji's HDF5 ones when it does).

    With `tracks_only` the table is read as a model's track list: only ``identifier`` and
    ``description`` are required. A ``file``, ``clip``, ``scale`` or ``sum_stat`` cell
    that is absent or empty then means no track file, no clip, scale 1 and ``sum``
    (Basenji's defaults); one that is given is checked as usual. A dataset's table may
    lack the ``clip`` and ``scale`` columns alone (no clip, scale 1, as in Basenji).

    With a `shard`, `check_files` checks only the files of its share of the tracks (a
    shard of ``crossreg data --tracks i/n`` reads those alone, wherever the others lie).
    """
    path = Path(path)
    rows = _read_rows(path)
    header = _header(path, rows, TRACK_COLUMNS if tracks_only else REQUIRED_COLUMNS)
    table, found = parse_rows(path, rows[1:], header, tracks_only)
    summary = ""
    if check_files:
        first, stop = shard.bounds(len(table)) if shard else (0, len(table))
        tracks = [
            (table.lines[t.identifier], t.identifier, table.track_files(t))
            for t in table.targets[first:stop]
        ]
        absent, summary = missing_track_files(path, tracks)
        found += absent
    _raise_problems(path, found, summary)
    if not table.targets:
        raise ValueError(f"{path}: the targets table has a header but no tracks")
    return table


def _header(path: Path, rows: list[tuple[int, list[str]]], required: Sequence[str]) -> list[str]:
    """The column names of the table at `path` from its first row (an unnamed first
    column is ``index``; empty names after the last column, left by trailing tabs, are
    dropped); a table without one, or whose header repeats a column or lacks one of
    `required`, stops."""
    if not rows:
        raise ValueError(f"{path}: the targets table is empty (it needs a header row)")
    header = [h.strip() for h in rows[0][1]]
    while len(header) > 1 and not header[-1]:
        header.pop()
    if header and header[0] == "":
        header[0] = "index"
    _refuse_repeated_columns(path, rows[0][0], header)
    missing = [c for c in required if c not in header]
    if missing:
        raise ValueError(
            f"{path}:1: the header lacks column(s) {', '.join(missing)}; a targets table needs "
            f"tab-separated columns {' '.join(required)}{_no_tab_hint(header)}"
        )
    return header


def _raise_problems(path: Path, found: list[tuple[int, str]], summary: str) -> None:
    """Stop with the (line, problem)s `found`, in line order (at most
    :data:`MAX_PROBLEMS` of them) and then `summary`, when there are any."""
    problems = [problem for _, problem in sorted(found, key=lambda item: item[0])]
    if not problems:
        return
    shown = problems[:MAX_PROBLEMS]
    more = f"\n  ... and {len(problems) - len(shown)} more" if len(problems) > len(shown) else ""
    head = f"{path}: {len(problems)} problems in the targets table:\n  "
    raise ValueError((head if len(problems) > 1 else "") + "\n  ".join(shown) + more + summary)


def _refuse_repeated_columns(path: Path, line: int, header: list[str]) -> None:
    """Stop when the header on `line` names a column twice: which copy holds the value
    would be a guess."""
    counts = Counter(name for name in header if name)
    repeated = [name for name, count in counts.items() if count > 1]
    if repeated:
        raise ValueError(
            f"{path}:{line}: the header repeats column '{repeated[0]}'; each column must "
            "appear once, so remove or rename the extra one"
        )


def _no_tab_hint(header: list[str]) -> str:
    """Why a header of one cell has none of the columns: the file is a FASTA, or its
    columns are separated by something other than tabs."""
    if len(header) != 1:
        return ""
    if header[0].startswith(">"):
        return " (this file starts like a FASTA: is it the --fasta?)"
    for name, separator in (("commas", ","), ("spaces", " ")):
        if separator in header[0]:
            return f" (its header has no tab: the columns are separated by {name}; use tabs)"
    return ""


def _read_rows(path: Path) -> list[tuple[int, list[str]]]:
    """The tab-separated rows of the table at `path` (plain or gzipped), each with its line
    in the file (the last line of a row whose quoted cell spans lines)."""
    lines = (line for _, line in numbered_lines(path))
    reader = csv.reader(lines, delimiter="\t", strict=True)
    try:
        return [(reader.line_num, row) for row in reader]
    except csv.Error as err:  # most often a quote that never closes, which ate the rest
        raise ValueError(
            f"{path}:{reader.line_num}: {err}; a cell that starts with a double quote must "
            "end with one (a quote inside a cell that starts with one is written twice)"
        ) from None
