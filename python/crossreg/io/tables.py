"""Tables written as tab-separated text, and their values read back as numbers."""

from __future__ import annotations

import math

import polars as pl


def as_float(value: object) -> float:
    """A number handed back untyped (a polars aggregate such as ``Series.mean()``, a row's
    cell, a JSON value) as a float; TypeError for anything else, a null included."""
    if isinstance(value, int | float):
        return float(value)
    raise TypeError(f"expected a number, got {value!r}")


def as_int(value: object) -> int:
    """As :func:`as_float`, for a whole number."""
    if isinstance(value, int):
        return int(value)
    raise TypeError(f"expected a whole number, got {value!r}")


def six_figures(value: float | None) -> str | None:
    """`value` to six significant figures; NaN as ``NaN`` (as polars writes and reads it)."""
    if value is None:
        return None
    return "NaN" if math.isnan(value) else f"{value:.6g}"


def tsv_text(frame: pl.DataFrame) -> str:
    """`frame` as tab-separated text with every float to six significant figures: compact
    like fixed decimals, but a q-value of 3e-36 or a SAD of 9e-6 keeps its digits where
    six decimals would write 0.000000. Nulls stay empty."""
    floats = [
        pl.Series(name, [six_figures(v) for v in column], dtype=pl.String)
        for name, column in frame.to_dict().items()
        if column.dtype.is_float()
    ]
    return frame.with_columns(floats).write_csv(separator="\t")
