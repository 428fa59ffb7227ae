"""Basenji's targets table: one row per output track.

Tab-separated with a header. Columns crossreg reads: ``identifier``, ``file``,
``sum_stat``, ``description`` (required), ``clip`` and ``scale`` (optional as in Basenji:
no clip and scale 1 when absent), ``index`` (the first column, often unnamed),
``clip_soft``, ``strand_pair`` and ``genome`` (optional); other columns are kept. Rows are
tracks in output order (row order, not the ``index`` value). ``file`` may list several
comma-separated replicate files; relative paths are relative to the table's folder.
The table may be gzipped (:func:`crossreg.io.text.numbered_lines`).
A model's track list (``read_targets(..., tracks_only=True)``) needs only ``identifier``
and ``description``.
"""

from __future__ import annotations

import csv
import fnmatch
import math
import os
import re
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from crossreg.io.atomic import atomic_write
from crossreg.io.text import numbered_lines
from crossreg.io.track_files import missing_track_files
from crossreg.shard import Shard

REQUIRED_COLUMNS = ("identifier", "file", "sum_stat", "description")
# the columns a model's track list needs (the others describe how coverage becomes targets)
TRACK_COLUMNS = ("identifier", "description")
SUM_STATS = ("sum", "mean", "max", "sum_sqrt", "mean_sqrt")


def assay_of(description: str) -> str:
    """The assay of a track description: its prefix before ':' (``DNASE``, ``CAGE``, ...),
    or ``OTHER`` when it has none."""
    return description.split(":", 1)[0] if ":" in description else "OTHER"


def split_description(description: str) -> tuple[str, str]:
    """A track description ``ASSAY:CELL TYPE`` (``CHIP:TARGET:CELL TYPE`` for ChIP) as
    (what was measured, the cell type): ``CHIP:H3K27ac:liver`` → (``CHIP:H3K27ac``,
    ``liver``). The cell type is all that follows, colons and all, as in the paper's tables
    (``CAGE:acute myeloid leukemia (FAB M5) cell line:THP-1`` → (``CAGE``, ``acute myeloid
    leukemia (FAB M5) cell line:THP-1``)). A description without ':' is (itself, itself)."""
    fields = description.split(":")
    if len(fields) == 1:
        return description, description
    measured = 2 if fields[0] == "CHIP" and len(fields) > 2 else 1
    return ":".join(fields[:measured]), ":".join(fields[measured:])


@dataclass(frozen=True)
class Target:
    """One output track and how its coverage becomes training targets."""

    index: int
    identifier: str
    files: tuple[str, ...]
    clip: float
    scale: float
    sum_stat: str
    description: str
    clip_soft: float | None = None
    extra: dict[str, str] = field(default_factory=dict, compare=False)

    @property
    def assay(self) -> str:
        """The description's prefix before ':' (``DNASE``, ``ATAC``, ``CHIP``, ``CAGE``)."""
        return assay_of(self.description)

    @property
    def soft_clip_threshold(self) -> float:
        """Threshold of the soft clip: ``clip_soft`` when given, else ``clip``."""
        return self.clip if self.clip_soft is None else self.clip_soft

    @property
    def hard_clip(self) -> float:
        """The ceiling after the soft clip: ``clip`` when the table also gives ``clip_soft``
        (Basenji's later tables), else none (infinity): ``clip`` is then the soft clip's
        threshold, as in the paper."""
        return math.inf if self.clip_soft is None else self.clip


@dataclass(frozen=True)
class TargetsTable:
    """A parsed targets table; relative track paths resolve against its folder. `lines`
    gives each track's line in the file by identifier (identifiers are unique)."""

    path: Path
    targets: tuple[Target, ...]
    lines: Mapping[str, int] = field(default_factory=dict, compare=False)

    def __len__(self) -> int:
        return len(self.targets)

    def __iter__(self) -> Iterator[Target]:
        return iter(self.targets)

    def __getitem__(self, i: int) -> Target:
        return self.targets[i]

    @property
    def identifiers(self) -> list[str]:
        """Track identifiers in output order."""
        return [t.identifier for t in self.targets]

    @property
    def descriptions(self) -> list[str]:
        """Track descriptions in output order."""
        return [t.description for t in self.targets]

    def resolve(self, file: str) -> Path:
        """Absolute path of a track file named in the table."""
        p = Path(file)
        return p if p.is_absolute() else (self.path.parent / p).resolve()

    def track_files(self, target: Target) -> list[Path]:
        """The resolved replicate files of `target`."""
        return [self.resolve(f) for f in target.files]

    def line_of(self, target: Target) -> int | None:
        """The line of `target`'s row in the file (None when unknown)."""
        return self.lines.get(target.identifier)


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


# coverage cells when their column is absent (in a track list, also when empty), as Basenji
# reads them: no file, no clip, scale 1, sum
DEFAULTS = {"file": "", "clip": "inf", "scale": "1", "sum_stat": "sum"}

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
    table, found = _parse_rows(path, rows[1:], header, tracks_only)
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


def _parse_rows(
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


def _format_number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(value)


def write_targets(
    path: str | os.PathLike[str],
    targets: Iterable[Target],
    *,
    extra_columns: Sequence[str] = (),
) -> None:
    """Write a targets table atomically (its ``clip_soft`` column empty where not given)."""
    targets = list(targets)
    columns = ["index", *extra_columns, "identifier", "file", "clip", "clip_soft", "scale"]
    columns += ["sum_stat", "description"]
    with atomic_write(path) as handle:
        handle.write("\t".join(columns) + "\n")
        for t in targets:
            values = {
                "index": str(t.index),
                "identifier": t.identifier,
                "file": ",".join(t.files),
                "clip": _format_number(t.clip),
                "clip_soft": "" if t.clip_soft is None else _format_number(t.clip_soft),
                "scale": _format_number(t.scale),
                "sum_stat": t.sum_stat,
                "description": t.description,
                **t.extra,
            }
            handle.write("\t".join(values.get(c, "") for c in columns) + "\n")


def select_targets(targets: Sequence[Target], spec: str | Sequence[str] | None) -> list[int]:
    """The indices of the tracks `spec` names, in the order named (each once); all tracks
    when `spec` is ``None``. `spec` is comma-separated items (or a list of them), each an
    index (``5``), a range of indices (``0-9``, both ends included), an identifier, a
    glob pattern over identifiers and descriptions (``CAGE:*liver*``), or a word found in
    a description (``CAGE``, ``liver``); patterns and words ignore case. A whole
    description holding commas (``CAGE:liver, adult, pool1``, as hundreds of the paper's
    tracks have) is one item, not three words. An item that selects nothing is an error
    naming it; an item that is not a string (an int index: write ``"5"``) a TypeError."""
    if spec is None:
        return list(range(len(targets)))
    pieces = [spec] if isinstance(spec, str) or not isinstance(spec, Iterable) else list(spec)
    for piece in pieces:
        if not isinstance(piece, str):
            raise TypeError(
                f"tracks are named by strings such as '5', '0-9', an identifier or 'CAGE', "
                f"not {type(piece).__name__} {piece!r}"
            )
    identifiers = {t.identifier: i for i, t in enumerate(targets)}
    whole = {t.description.strip().lower() for t in targets if "," in t.description}
    whole |= {t.identifier.lower() for t in targets if "," in t.identifier}
    longest = 1 + max((name.count(",") for name in whole), default=0)
    chosen: dict[int, None] = {}
    for item in (i for piece in pieces for i in _items(piece, whole, longest)):
        found = _select_item(targets, identifiers, item)
        if not found:
            raise ValueError(
                f"--targets '{item}' selects no track: give indices 0-{len(targets) - 1}, "
                "identifiers, or a word or glob pattern found in the descriptions"
            )
        chosen |= dict.fromkeys(found)
    if not chosen:
        raise ValueError(f"--targets '{spec}' selects no track")
    return list(chosen)


def _items(spec: str, whole: set[str], longest: int) -> list[str]:
    """`spec` cut at its commas, except where a run of comma-joined pieces is one of the
    `whole` names holding commas (lower case; at most `longest` pieces): that run stays
    one item, the longest first."""
    pieces = spec.split(",")
    items, i = [], 0
    while i < len(pieces):
        end = next(
            (
                j
                for j in range(min(len(pieces), i + longest), i + 1, -1)
                if ",".join(pieces[i:j]).strip().lower() in whole
            ),
            i + 1,
        )
        items.append(",".join(pieces[i:end]).strip())
        i = end
    return [item for item in items if item]


def _select_item(targets: Sequence[Target], identifiers: dict[str, int], item: str) -> list[int]:
    if item in identifiers:
        return [identifiers[item]]
    bounds = re.fullmatch(r"(\d+)(?:-(\d+))?", item)
    if bounds:
        lo, hi = int(bounds[1]), int(bounds[2] or bounds[1])
        if hi < lo or hi >= len(targets):
            raise ValueError(f"--targets '{item}': the head's tracks are 0-{len(targets) - 1}")
        return list(range(lo, hi + 1))
    wanted = item.lower()
    if any(c in item for c in "*?["):
        return [
            i
            for i, t in enumerate(targets)
            if fnmatch.fnmatchcase(t.identifier.lower(), wanted)
            or fnmatch.fnmatchcase(t.description.lower(), wanted)
        ]
    if "," in item:  # a whole description holding commas (:func:`_items`)
        exact = [i for i, t in enumerate(targets) if t.description.strip().lower() == wanted]
        if exact:
            return exact
    return [i for i, t in enumerate(targets) if wanted in t.description.lower()]
