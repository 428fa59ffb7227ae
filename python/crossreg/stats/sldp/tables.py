"""Whitespace- and tab-separated text tables (plain or gzip) read as strings, and typed
columns whose bad values are errors naming the file and line."""

from __future__ import annotations

import io
import os
import re
from pathlib import Path

import numpy as np
import numpy.typing as npt
import polars as pl

from crossreg.io.text import open_text

# the strings pandas reads as missing (the reference reads its numbers with pandas)
PANDAS_NA = [
    "", "#N/A", "#N/A N/A", "#NA", "-1.#IND", "-1.#QNAN", "-NaN", "-nan", "1.#IND",
    "1.#QNAN", "<NA>", "N/A", "NA", "NULL", "NaN", "None", "n/a", "nan", "null",
]  # fmt: skip


def read_text_table(
    path: str | os.PathLike[str], *, header: bool, whitespace: bool = True
) -> pl.DataFrame:
    """Every column as a string, names taken literally (``NA`` is a name, not a missing
    value). With `whitespace`, runs of spaces and tabs separate fields; else tabs do."""
    with open_text(path) as handle:
        text = handle.read()
    if whitespace:
        text = re.sub(r"[ \t]+", "\t", re.sub(r"(?m)^[ \t]+|[ \t]+$", "", text))
    text = "\n".join(line for line in text.splitlines() if line)
    if not text:
        raise ValueError(f"{path}: empty file")
    return pl.read_csv(
        io.StringIO(text + "\n"),
        separator="\t",
        has_header=header,
        infer_schema=False,
        null_values=None,
        quote_char=None,
    )


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
) -> npt.NDArray:
    """Column `name` as `dtype`; with `na`, pandas' missing-value strings become NaN. A
    value that is not a number stops naming file, line and column."""
    column = table[name]
    is_na = column.is_in(PANDAS_NA).to_numpy() if na else np.zeros(len(column), dtype=bool)
    target = pl.Int64 if np.issubdtype(dtype, np.integer) else pl.Float64
    values = column.set(pl.Series(is_na), None).cast(target, strict=False)
    bad = (values.is_null().to_numpy() & ~is_na).nonzero()[0]
    if len(bad):
        line = int(bad[0]) + 1 + int(header)
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
