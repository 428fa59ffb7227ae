"""Whitespace- and tab-separated text tables (plain or gzip) read as strings, and typed
columns whose bad values are errors naming the file and line.

Every line of a table is a row: a blank line, a ``#`` comment or a row whose number of
fields differs from the header's (or, without a header, the first line's) stops with an
error naming the file and the line; blank lines at the end of a file are ignored. Runs
of spaces and tabs separate fields, but in tables read with ``whitespace=False`` and in the
rows of a tab-separated table with an empty field (:func:`read_table_batches`), where tabs
alone do and an empty field is ``""``, a missing value as pandas reads it. Tables
are parsed by polars, whole or (:func:`read_table_batches`, for files of any length) a
batch of lines at a time; only when that fails, or leaves a field missing, are the lines
read one by one to name the bad one."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import numpy.typing as npt
import polars as pl

from crossreg.errors import plural
from crossreg.io.text import BOM, GZIP_ERRORS, numbered_lines, open_text

# the strings pandas reads as missing (the reference reads its numbers with pandas)
PANDAS_NA = [
    "", "#N/A", "#N/A N/A", "#NA", "-1.#IND", "-1.#QNAN", "-NaN", "-nan", "1.#IND",
    "1.#QNAN", "<NA>", "N/A", "NA", "NULL", "NaN", "None", "n/a", "nan", "null",
]  # fmt: skip

#: Characters of text :func:`read_table_batches` parses at a time (16 MiB of ASCII text,
#: some 500,000 rows of summary statistics).
BATCH_CHARS = 1 << 24


def read_text_table(
    path: str | os.PathLike[str], *, header: bool, whitespace: bool = True
) -> pl.DataFrame:
    """Every column as a string, names taken literally (``NA`` is a name, not a missing
    value; an empty field is ``""``). With `whitespace`, runs of spaces and tabs separate
    fields; else tabs do. A blank line, a comment or a row with too few or too many
    fields stops naming the file and the line."""
    text = table_text(path, whitespace=whitespace)
    table = _parsed(path, text, header=header)
    if header and "_duplicated_" in "".join(table.columns):
        _refuse_repeated_names(path, text.split("\n", 1)[0])
    return table


def read_table_batches(path: str | os.PathLike[str]) -> Iterator[tuple[int, pl.DataFrame]]:
    """The whitespace-separated table with a header at `path` as :func:`read_text_table`
    reads it, in batches of rows from about :data:`BATCH_CHARS` characters of text each:
    ``(rows before the batch, its rows)``, every batch with the header's columns, so that
    a file of any length is held a batch at a time. A row of a tab-separated table with an
    empty field is split on its tabs, the field ``""`` (:func:`_rows_text`).
    Bad lines stop as with :func:`read_text_table`, naming the file's line."""
    names = ""
    for line, raw in _text_batches(path, whitespace=False, size=BATCH_CHARS):
        if line == 1:
            header, newline, rows = raw.partition("\n")
            names = _normalised(header, whitespace=True)
            text = names + newline + _rows_text(rows, names.count("\t"))
            table = _parsed(path, text, header=True)
            if "_duplicated_" in "".join(table.columns):
                _refuse_repeated_names(path, names)
        else:  # the header again, at the line before the batch's first
            text = _rows_text(raw, names.count("\t"))
            table = _parsed(path, f"{names}\n{text}", header=True, first_line=line - 1)
        yield max(line - 2, 0), table


def _parsed(
    path: str | os.PathLike[str], text: str, *, header: bool, first_line: int = 1
) -> pl.DataFrame:
    """`text` (tab-separated, its first line line `first_line` of `path`) as a table of
    strings; a blank line, a comment or a row with too few or too many fields stops
    naming the line."""
    try:
        table = pl.read_csv(
            (text + "\n").encode(),
            separator="\t",
            has_header=header,
            infer_schema=False,
            null_values=None,
            quote_char=None,
        )
    except pl.exceptions.PolarsError as error:  # a row with more fields than the first
        problem = _bad_line(path, text, header=header, first_line=first_line)
        raise problem or ValueError(f"{path}: {error}") from None
    if sum(table.null_count().row(0)) or _has_blank_or_comment(text):
        problem = _bad_line(path, text, header=header, first_line=first_line)
        if problem:
            raise problem
        table = table.fill_null("")  # only empty fields of a tab-separated table are null
    return table


def read_first_fields(path: str | os.PathLike[str]) -> npt.NDArray[np.str_]:
    """The first whitespace-separated field of every line (no header); a blank line or a
    comment stops naming the file and the line."""
    text = table_text(path, whitespace=True)
    if _has_blank_or_comment(text):
        problem = _bad_line(path, text, header=False, ragged=True)
        if problem:
            raise problem
    first = re.sub(r"(?m)\t.*$", "", text)
    return np.array(first.split("\n"), dtype=str)


def table_text(path: str | os.PathLike[str], *, whitespace: bool) -> str:
    """The text of the table at `path` without its final newline; with `whitespace`, its
    fields separated by single tabs. An empty file, a gzip stream cut short and bytes that
    are not UTF-8 stop naming the file."""
    return "\n".join(text for _, text in _text_batches(path, whitespace=whitespace, size=-1))


def _text_batches(
    path: str | os.PathLike[str], *, whitespace: bool, size: int
) -> Iterator[tuple[int, str]]:
    """:func:`table_text` in pieces of whole lines read about `size` characters at a time
    (all at once when `size` is -1): ``(line number of the piece's first line, piece)``.
    Blank lines that end a piece wait for the next, for only those at the end of the file
    are dropped."""
    line, pending, emitted = 1, "", False
    try:
        with open_text(path) as handle:
            chunk = handle.read(size)
            if chunk.startswith(BOM):
                chunk = chunk[1:] or handle.read(size)
            while chunk:
                text, chunk = pending + chunk, handle.read(size)
                cut = text.rfind("\n") if chunk else len(text)
                if cut == -1:  # a line longer than `size`: read on
                    pending = text
                    continue
                body, pending = text[:cut], text[cut + 1 :]
                kept = _without_blank_end(body) if body.strip(" \t\n") else ""
                if chunk and (not kept or len(kept) < len(body)):  # blank lines wait
                    rest = body[len(kept) + 1 :] if kept else body
                    pending = f"{rest}\n{pending}"
                if kept:
                    yield line, _normalised(kept, whitespace)
                    line, emitted = line + kept.count("\n") + 1, True
    except (UnicodeDecodeError, *GZIP_ERRORS):
        for _ in numbered_lines(path):  # reads again, to raise a ValueError naming the line
            pass
        raise
    if not emitted:
        raise ValueError(f"{path}: empty file")


def _normalised(text: str, whitespace: bool) -> str:
    """`text` with, when `whitespace`, its fields separated by single tabs and no space or
    tab at a line's ends (by whole-text replacements: a regular expression would build a
    string for every field, ten times the text's size)."""
    if not whitespace or _tab_separated(text):
        return text
    text = text.replace(" ", "\t")
    while "\t\t" in text:
        text = text.replace("\t\t\t\t", "\t").replace("\t\t", "\t")
    return text.replace("\n\t", "\n").replace("\t\n", "\n").strip("\t")


def _rows_text(raw: str, tabs: int) -> str:
    """Rows `raw` of a table whose header has `tabs` tabs, fields separated by single
    tabs: a row with the header's tabs and an empty field (a tab-separated table with a
    missing value, which pandas reads as NaN, as the reference reads its tables) is split
    on its tabs alone, the empty field kept; every other row on runs of spaces and tabs.
    Spaces around fields are dropped either way; each row is read alike in any batch."""
    if tabs and not _tab_separated(raw):  # (fields between single tabs: none is empty)
        unpadded = _unpadded(raw)
        if _has_empty_field(unpadded):
            return "\n".join(
                row if row.count("\t") == tabs and _has_empty_field(row) else _normalised(row, True)
                for row in unpadded.split("\n")
            )
    return _normalised(raw, whitespace=True)


def _has_empty_field(text: str) -> bool:
    """Whether tab-separated `text` (without padding) has an empty field: two tabs in a
    row, or a tab at a line's ends."""
    return (
        "\t\t" in text or "\n\t" in text or "\t\n" in text or text[:1] == "\t" or text[-1:] == "\t"
    )


def _unpadded(text: str) -> str:
    """`text` without the spaces around its tabs and at its lines' ends (by
    :meth:`str.replace`: a regular expression's substitution holds a piece per match,
    several times a batch's size)."""
    for run, pad, cut in (("    \t", " \t", "\t"), ("\t    ", "\t ", "\t"),
                          ("    \n", " \n", "\n"), ("\n    ", "\n ", "\n")):  # fmt: skip
        while pad in text:
            text = text.replace(run, cut).replace(pad, cut)
    return text.strip(" ")


def _without_blank_end(text: str) -> str:
    """`text` up to the end of its last line holding more than spaces and tabs (that line's
    own spaces and tabs kept: a tab-separated row may end in an empty field)."""
    newline = text.find("\n", len(text.rstrip(" \t\n")))
    return text if newline == -1 else text[:newline]


def _tab_separated(text: str) -> bool:
    """Whether fields in `text` are already separated by single tabs, with no space and no
    tab at a line's ends (a few fast scans, to skip the slow substitutions)."""
    return " " not in text and not _has_empty_field(text)


def _has_blank_or_comment(text: str) -> bool:
    """Whether `text` (without its final newline) may hold a blank line or a comment."""
    return text.startswith(("\n", "#")) or text.endswith("\n") or "\n\n" in text or "\n#" in text


def _bad_line(
    path: str | os.PathLike[str],
    text: str,
    *,
    header: bool,
    ragged: bool = False,
    first_line: int = 1,
) -> ValueError | None:
    """An error naming the first blank line, comment or (unless `ragged`) row whose field
    count differs from the first line's in `text` (tab-separated, its first line line
    `first_line` of `path`); None if there is none."""
    lines = text.split("\n")
    width = lines[0].count("\t") + 1
    first = "the header" if header else "line 1"
    for number, line in enumerate(lines, start=first_line):
        if not line.strip():
            return ValueError(f"{path} line {number}: blank line; remove it")
        if line.startswith("#"):
            return ValueError(f"{path} line {number}: a comment (starts with #); remove it")
        fields = line.count("\t") + 1
        if fields != width and not ragged:
            return ValueError(
                f"{path} line {number}: {plural(fields, 'field')} but {first} has "
                f"{width}; every row needs one field per column"
            )
    return None


def _refuse_repeated_names(path: str | os.PathLike[str], header: str) -> None:
    """Stop naming the first column name that `header` repeats."""
    names = header.split("\t")
    repeated = next((n for i, n in enumerate(names) if n in names[:i]), None)
    if repeated is not None:
        raise ValueError(f"{path} line 1: column {repeated!r} appears twice; rename one")


def require_columns(table: pl.DataFrame, names: list[str], path: str | os.PathLike[str]) -> None:
    """Stop naming the file and the columns it lacks."""
    missing = [n for n in names if n not in table.columns]
    if missing:
        raise ValueError(
            f"{path}: missing column(s) {', '.join(missing)} (has {', '.join(table.columns)})"
        )


def numbers(
    table: pl.DataFrame,
    name: str,
    path: str | os.PathLike[str],
    *,
    header: bool,
    dtype: type = np.float64,
    na: bool = False,
    rows_before: int = 0,
) -> npt.NDArray:
    """Column `name` as `dtype`; with `na`, pandas' missing-value strings become NaN. A
    value that is not a number stops naming file, line and column (`rows_before`: the
    file's rows before the table's first, for a batch of :func:`read_table_batches`)."""
    column = table[name]
    is_na = column.is_in(PANDAS_NA).to_numpy() if na else np.zeros(len(column), dtype=bool)
    target = pl.Int64 if np.issubdtype(dtype, np.integer) else pl.Float64
    values = column.set(pl.Series(is_na), None).cast(target, strict=False)
    bad = (values.is_null().to_numpy() & ~is_na).nonzero()[0]
    if len(bad):
        line = int(bad[0]) + 1 + int(header) + rows_before
        raise ValueError(
            f"{path} line {line}: column {name} has {column[int(bad[0])]!r}, not a number"
        )
    if target == pl.Int64:
        return values.to_numpy().astype(dtype)
    return values.fill_null(np.nan).to_numpy().astype(dtype)


def file_stem(path: str | os.PathLike[str]) -> str:
    """The name without directory and without ``.gz``/``.tsv``/``.txt``/``.sumstats`` tails."""
    name = Path(path).name
    for tail in (".gz", ".tsv", ".txt", ".sumstats"):
        name = name.removesuffix(tail)
    return name


def require_usable(
    values: npt.NDArray[np.float64],
    name: str,
    path: Path,
    *,
    positive: bool,
    rows_before: int = 0,
) -> None:
    """Stop at the first value of column `name` that is infinite (or, with `positive`, not
    above 0), naming file and line (`rows_before`: the file's rows before these values');
    missing values (NaN) pass."""
    bad = np.isinf(values) | ((values <= 0) if positive else False)
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        need = "a finite number above 0" if positive else "a finite number"
        raise ValueError(
            f"{path} line {row + 2 + rows_before}: column {name} has {float(values[row])}; "
            f"it must be {need} (or NA to drop the row)"
        )
