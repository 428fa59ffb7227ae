"""The rows of Basenji's targets table checked, each as a :class:`~crossreg.io.targets.Target`.

Columns crossreg reads: ``identifier``, ``file``, ``sum_stat``, ``description``
(required), ``clip`` and ``scale`` (optional as in Basenji: no clip and scale 1 when
absent), ``index`` (the first column, often unnamed), ``clip_soft``, ``strand_pair`` and
``genome`` (optional); other columns are kept. ``file`` may list several comma-separated
replicate files. A model's track list needs only ``identifier`` and ``description``.
"""

from __future__ import annotations

import math
import os
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

from crossreg.io.targets import Target, TargetsTable

REQUIRED_COLUMNS = ("identifier", "file", "sum_stat", "description")
# the columns a model's track list needs (the others describe how coverage becomes targets)
TRACK_COLUMNS = ("identifier", "description")
SUM_STATS = ("sum", "mean", "max", "sum_sqrt", "mean_sqrt")
# coverage cells when their column is absent (in a track list, also when empty), as Basenji
# reads them: no file, no clip, scale 1, sum
DEFAULTS = {"file": "", "clip": "inf", "scale": "1", "sum_stat": "sum"}


def parse_rows(
    path: Path, rows: list[tuple[int, list[str]]], header: list[str], tracks_only: bool
) -> tuple[TargetsTable, list[tuple[int, str]]]:
    """The table of the tracks of the (line, row) `rows` under `header` that parse (blank
    rows skipped), and each other row's (line, problem), a strand pair's among them
    (:func:`_strand_pair_problems`)."""
    col = {name: i for i, name in enumerate(header)}
    targets: list[Target] = []
    lines: dict[str, int] = {}  # identifier -> line
    found: list[tuple[int, str]] = []  # (line, problem)
    seen: dict[str, int] = {}
    for line, row in rows:
        if not any(cell.strip() for cell in row):
            continue
        try:
            target = _parse_row(path, line, row, header, col, seen, len(targets), tracks_only)
            targets.append(target)
            lines[target.identifier] = line
        except ValueError as err:
            found.append((line, str(err)))
    table = TargetsTable(path=path, targets=tuple(targets), lines=lines)
    return table, found + _strand_pair_problems(table)


def _strand_pair_problems(table: TargetsTable) -> list[tuple[int, str]]:
    """The (line, problem) of each track whose ``strand_pair`` is not its own index:
    crossreg does not model stranded pairs, and a pair naming no track's index is a typo."""
    indices = {t.index for t in table}
    found = []
    for t in table:
        pair = t.extra.get("strand_pair", "")
        if not pair or int(pair) == t.index:
            continue
        line = table.lines[t.identifier]
        where = f"{table.path}:{line}: strand_pair {pair}"
        if int(pair) not in indices:
            problem = (
                f"{where} of track '{t.identifier}' names no track (no row has index "
                f"{pair}); an unstranded track gives its own index ({t.index}) as its "
                "strand_pair"
            )
        else:
            problem = (
                f"{where} pairs track '{t.identifier}' (index {t.index}) with its other "
                "strand; crossreg does not model stranded pairs (reverse-complement "
                "augmentation and --rc flip the bins without swapping the strands): sum each "
                "pair into one track, as the paper's tables do, or give each track its own "
                "index as its strand_pair"
            )
        found.append((line, problem))
    return found


def _parse_row(
    path: Path,
    line: int,
    row: list[str],
    header: list[str],
    col: dict[str, int],
    seen: dict[str, int],
    position: int,
    tracks_only: bool = False,
) -> Target:
    """One row of a targets table as a Target; a ValueError naming the line otherwise.
    Absent coverage columns take Basenji's :data:`DEFAULTS`, and with `tracks_only` empty
    cells too; empty cells after the header's last column (trailing tabs) are ignored."""
    if len(row) > len(header) and not any(cell.strip() for cell in row[len(header) :]):
        row = row[: len(header)]
    if len(row) != len(header):
        raise ValueError(
            f"{path}:{line}: {len(row)} tab-separated fields but the header has "
            f"{len(header)}; check for a missing or extra tab"
        )
    cell = {name: row[i].strip() for name, i in col.items()}
    identifier = cell["identifier"]
    if not identifier:
        raise ValueError(f"{path}:{line}: the identifier is empty")
    if identifier in seen:
        raise ValueError(
            f"{path}:{line}: identifier '{identifier}' already used on line "
            f"{seen[identifier]}; identifiers must be unique"
        )
    seen[identifier] = line
    cell |= {
        k: value for k, value in DEFAULTS.items() if k not in cell or (tracks_only and not cell[k])
    }
    sum_stat = _sum_stat(path, line, cell["sum_stat"])
    index = _index(path, line, cell, position)
    clip_soft_text = cell.get("clip_soft", "")
    files = tuple(f.strip() for f in cell["file"].split(",") if f.strip())
    if not files and not tracks_only:
        raise ValueError(f"{path}:{line}: no track file given for '{identifier}'")
    _refuse_repeated_files(path, line, identifier, files)
    known = {"index", "clip_soft", *REQUIRED_COLUMNS, *DEFAULTS}
    return Target(
        index=index,
        identifier=identifier,
        files=files,
        clip=_number(path, line, "clip", cell["clip"]),
        scale=_number(path, line, "scale", cell["scale"], finite=True),
        sum_stat=sum_stat,
        description=cell["description"],
        clip_soft=(_number(path, line, "clip_soft", clip_soft_text) if clip_soft_text else None),
        extra={k: v for k, v in cell.items() if k not in known},
    )


def _number(path: Path, line: int, column: str, text: str, *, finite: bool = False) -> float:
    """A positive number from a cell; infinity (no clip) only when not `finite`."""
    try:
        value = float(text)
    except ValueError:
        raise ValueError(f"{path}:{line}: column '{column}' is '{text}', not a number") from None
    if math.isnan(value) or value <= 0 or (finite and math.isinf(value)):
        need = "a positive finite number" if finite else "a positive number"
        raise ValueError(f"{path}:{line}: column '{column}' is {text}; it must be {need}")
    return value


def _sum_stat(path: Path, line: int, text: str) -> str:
    """The ``sum_stat`` cell `text` as one of :data:`SUM_STATS` (``avg`` is ``mean``)."""
    sum_stat = text.lower()
    if sum_stat == "avg":
        sum_stat = "mean"
    if sum_stat not in SUM_STATS:
        raise ValueError(
            f"{path}:{line}: sum_stat '{text}' is unknown; use one of {', '.join(SUM_STATS)}"
        )
    return sum_stat


def _index(path: Path, line: int, cell: dict[str, str], position: int) -> int:
    """A row's ``index`` (its `position` among the tracks when the cell is absent or
    empty); a ``strand_pair`` that is not a whole number is refused (one naming another
    track, by :func:`_strand_pair_problems`)."""
    index_text = cell.get("index", "")
    try:
        index = int(index_text) if index_text else position
    except ValueError:
        raise ValueError(f"{path}:{line}: index '{index_text}' is not a whole number") from None
    pair = cell.get("strand_pair", "")
    try:
        int(pair or 0)
    except ValueError:
        raise ValueError(
            f"{path}:{line}: strand_pair '{pair}' is not a whole number; give the index of "
            f"the track's other strand, or its own ({index}) for an unstranded track"
        ) from None
    return index


def _refuse_repeated_files(path: Path, line: int, identifier: str, files: Sequence[str]) -> None:
    """Stop when the replicates of `identifier` name one file twice: averaged, it would
    count twice."""
    counts = Counter(os.path.normpath(f) for f in files)
    repeated = [f for f, count in counts.items() if count > 1]
    if repeated:
        raise ValueError(
            f"{path}:{line}: the file column of '{identifier}' names {repeated[0]} "
            f"{counts[repeated[0]]} times; its replicates are averaged, so name each file once"
        )
