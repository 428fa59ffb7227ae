"""Tables written as tab-separated text."""

from __future__ import annotations

import polars as pl

SIGNIFICANT_FIGURES = 6


def tsv_text(frame: pl.DataFrame) -> str:
    """`frame` as tab-separated text with every float rounded to six significant figures:
    compact like fixed decimals, but a q-value of 3e-36 or a SAD of 9e-6 keeps its digits
    where six decimals would write 0.000000."""
    floats = [name for name, dtype in frame.schema.items() if dtype.is_float()]
    return frame.with_columns(pl.col(floats).round_sig_figs(SIGNIFICANT_FIGURES)).write_csv(
        separator="\t"
    )
