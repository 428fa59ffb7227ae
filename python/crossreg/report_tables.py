"""The tables and texts of a ``crossreg report`` page: the first rows and columns of a table
(with the settings written beside it and how many rows it holds), a text cut short."""

from __future__ import annotations

import csv
import html
import json
import math
import re
from pathlib import Path

from crossreg.report_figures import link
from crossreg.report_format import SIGNIFICANT_DIGITS, byte_size
from crossreg.report_scan import readable_file
from crossreg.report_summary import facts_html

TABLE_ROWS = 12  # rows shown per table
TABLE_COLUMNS = 14  # columns shown per table
TABLE_READ_BYTES = 1 << 20  # a table's head is read from its first MiB
COUNT_BYTES = 256 << 20  # the rows of a larger table are not counted
TEXT_BYTES = 20_000  # longer texts are cut
#: A table cell shown as a number: a plain decimal literal, or nan/inf (not ``1_27221``,
#: which Python's ``float`` reads as 127221).
NUMBER = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?|[+-]?(nan|inf|infinity)", re.I | re.A)


def _file_heading(path: Path, root: Path, page: Path) -> str:
    """The heading of a table or text the page shows: its name, linked to its file (by
    its path relative to the HTML file `page`), which holds what the page leaves out."""
    name = html.escape(str(path.relative_to(root)))
    return f'<h3><a href="{html.escape(link(path, page))}">{name}</a></h3>'


def table_html(path: Path, root: Path, page: Path) -> str:
    """The first rows and columns of a table, with its size, headed by its linked name."""
    with open(path, errors="replace") as handle:
        head = handle.read(TABLE_READ_BYTES)
    lines = head.splitlines()
    if len(head) == TABLE_READ_BYTES and lines:
        lines = lines[:-1]  # the last line may be cut
    delimiter = "," if path.suffix.lower() == ".csv" else "\t"
    heading = _file_heading(path, root, page)
    try:
        rows = list(csv.reader(lines[: TABLE_ROWS + 1], delimiter=delimiter))
    except csv.Error as error:  # a field longer than csv's limit (128 KiB)
        return f"{heading}<p class='note'>not shown: {html.escape(str(error))}</p>"
    if not rows:
        note = "empty" if not path.stat().st_size else "its first line is too long to show"
        return f"{heading}<p class='note'>{note}</p>"
    columns = len(rows[0])
    shown = [row[:TABLE_COLUMNS] for row in rows]
    cells = "".join(f"<th>{html.escape(c)}</th>" for c in shown[0])
    body = "".join("<tr>" + "".join(map(table_cell, row)) + "</tr>" for row in shown[1:])
    more = _rows_shown(len(shown) - 1, len(lines) > len(shown), path, lines, head)
    wide = f", first {TABLE_COLUMNS} of {columns} columns" if columns > TABLE_COLUMNS else ""
    size = byte_size(path.stat().st_size)
    return (
        f"{heading}{_sidecar_html(path)}<p class='note'>{more}{wide}; {size}</p>"
        f"<table><tr>{cells}</tr>{body}</table>"
    )


def _sidecar_html(path: Path) -> str:
    """The facts (:func:`facts_html`) of the settings a command wrote beside the table
    `path` as ``NAME.json`` (``sad``'s ``OUT.tsv.json``: the head, model and ensemble
    that scored it); empty without one of at most :data:`TABLE_READ_BYTES`."""
    side = path.with_name(path.name + ".json")
    if not readable_file(side) or side.stat().st_size > TABLE_READ_BYTES:
        return ""
    try:
        loaded = json.loads(side.read_text(errors="replace"))
    except json.JSONDecodeError:
        return ""
    return facts_html(loaded) if isinstance(loaded, dict) else ""


def _rows_shown(shown: int, cut: bool, path: Path, lines: list[str], head: str) -> str:
    """How many rows of the table at `path` the page shows, of how many (its lines but
    the header; `lines` of its `head`, read whole when shorter than
    :data:`TABLE_READ_BYTES`); the rows of a table over :data:`COUNT_BYTES` are not
    counted."""
    if not cut:
        return f"{shown} rows" if shown != 1 else "1 row"
    total = len(lines) if len(head) < TABLE_READ_BYTES else _line_count(path)
    return f"first {shown} rows" if total is None else f"first {shown} of {total - 1:,} rows"


def _line_count(path: Path) -> int | None:
    """The lines of a file of :data:`COUNT_BYTES` at most (a last one without its
    newline counted too); None for a larger file."""
    if path.stat().st_size > COUNT_BYTES:
        return None
    count, last = 0, b"\n"
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            count, last = count + block.count(b"\n"), block[-1:]
    return count + (last != b"\n")


def table_cell(value: str) -> str:
    """One table cell: a fractional number to :data:`SIGNIFICANT_DIGITS` (its full text on
    hover), an integer as it is, both right-aligned; any other text left-aligned."""
    if not NUMBER.fullmatch(value.strip()):
        return f"<td class='text'>{html.escape(value)}</td>"
    number = float(value)
    if value.strip().lstrip("+-").isdigit() or not math.isfinite(number):
        return f"<td>{html.escape(value)}</td>"
    return f"<td title='{html.escape(value)}'>{number:.{SIGNIFICANT_DIGITS}g}</td>"


def text_html(path: Path, root: Path, page: Path) -> str:
    """A text file, cut after :data:`TEXT_BYTES`, headed by its linked name."""
    with open(path, errors="replace") as handle:
        text = handle.read(TEXT_BYTES + 1)
    cut = "\n…" if len(text) > TEXT_BYTES else ""
    return f"{_file_heading(path, root, page)}<pre>{html.escape(text[:TEXT_BYTES])}{cut}</pre>"
