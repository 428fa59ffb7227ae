"""The names of the files ``crossreg denovo`` writes into its folder, without the
statistics' imports (the command checks its ``--out`` with them before they load)."""

from __future__ import annotations

FIGURE_STEMS = ("tracks_q", "components", "risk_score")  # the figures of plot_denovo
TABLES = ("tracks", "components", "component_scores", "individuals")  # .tsv, in writing order


def output_names() -> list[str]:
    """Every file a run may write, in writing order: the tables, ``summary.json``, then
    each figure as ``.png`` and ``.svg``."""
    names = [f"{table}.tsv" for table in TABLES] + ["summary.json"]
    return names + [f"{stem}{suffix}" for stem in FIGURE_STEMS for suffix in (".png", ".svg")]
