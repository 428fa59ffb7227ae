"""crossreg.io.tables.tsv_text: floats to six significant figures, whatever their size."""

from __future__ import annotations

import io
import math

import polars as pl

from crossreg.io.tables import tsv_text


def test_floats_keep_six_significant_figures_at_any_size():
    frame = pl.DataFrame(
        {
            "track": ["a", "b", "c", "d"],
            "q": [2.8522486953254953e-36, 0.49666123, float("nan"), None],
            "sad": pl.Series([-9.2123456e-6, 1234567.0, 0.0, 1.5], dtype=pl.Float32),
            "count": [1, 2, 3, 4],
        }
    )
    text = tsv_text(frame)
    assert text.splitlines()[0] == "track\tq\tsad\tcount"
    assert text.splitlines()[1].split("\t")[:2] == ["a", "2.85225e-36"]
    back = pl.read_csv(io.StringIO(text), separator="\t")
    assert back["q"][1] == 0.496661 and math.isnan(back["q"][2]) and back["q"][3] is None
    assert abs(back["sad"][0] / -9.21235e-6 - 1) < 1e-6 and back["sad"][1] == 1234570.0
    assert back["count"].to_list() == [1, 2, 3, 4]
