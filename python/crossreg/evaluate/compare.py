"""Joint versus single-genome models on the same test windows (the paper's Figure 2).

Per assay: how many tracks the joint model predicts better, and a two-sided binomial test
of that count against 1/2 over the tracks the models do not tie on (a sign test: a track
both models predict equally, such as a constant one both score 0, counts for neither).
"""

from __future__ import annotations

import os
from pathlib import Path

import polars as pl
from scipy.stats import binomtest

from crossreg.io.atomic import atomic_write
from crossreg.io.targets import assay_of
from crossreg.plots import check_plot_options, joint_vs_single_scatter, remove_stale_figures


def paired_tracks(joint: pl.DataFrame, single: pl.DataFrame) -> pl.DataFrame:
    """Join two metrics tables on identifier: columns identifier, description, assay,
    r_joint, r_single. Raises ValueError when the tables hold different tracks."""
    left = joint.select("identifier", "description", pl.col("pearson_r").alias("r_joint"))
    right = single.select("identifier", pl.col("pearson_r").alias("r_single"))
    pairs = left.join(right, on="identifier", how="inner")
    if pairs.height != joint.height or pairs.height != single.height:
        matched = set(pairs["identifier"])
        lone = next(
            f"'{identifier}' of the {side} table is not in the other"
            for side, table in (("joint", joint), ("single-genome", single))
            for identifier in table["identifier"]
            if identifier not in matched
        )
        raise ValueError(
            f"the joint table has {joint.height} tracks and the single-genome table "
            f"{single.height}, of which {pairs.height} match by identifier ({lone}); "
            "compare models evaluated on the same targets"
        )
    return pairs.with_columns(
        pl.col("description").map_elements(assay_of, return_dtype=pl.Utf8).alias("assay")
    )


def compare_by_assay(pairs: pl.DataFrame) -> pl.DataFrame:
    """Per assay (and ``ALL``): tracks, mean R of each model, tracks improved by the
    joint model, tracks tied, the improved share of the untied tracks, and the binomial
    test p-value over the untied tracks."""
    rows = []
    groups = [("ALL", pairs)] + [
        (assay, group) for (assay,), group in pairs.group_by(["assay"], maintain_order=True)
    ]
    for assay, group in sorted(groups, key=lambda g: (g[0] != "ALL", g[0])):
        improved = int((group["r_joint"] > group["r_single"]).sum())
        ties = int((group["r_joint"] == group["r_single"]).sum())
        untied = group.height - ties
        rows.append(
            {
                "assay": assay,
                "tracks": group.height,
                "mean_r_joint": float(group["r_joint"].mean()),
                "mean_r_single": float(group["r_single"].mean()),
                "improved": improved,
                "ties": ties,
                "share_improved": improved / untied if untied else float("nan"),
                "binomial_p": float(binomtest(improved, untied, 0.5).pvalue) if untied else 1.0,
            }
        )
    return pl.DataFrame(rows)


def write_comparison(
    joint: pl.DataFrame,
    single: pl.DataFrame,
    out: str | os.PathLike[str],
    *,
    title: str = "",
    plots: bool = True,
    svg: bool = False,
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The compare step: from two metrics tables of the same tracks, write
    ``comparison.tsv`` (per assay) and, unless `plots` is off, ``scatter.png`` (one panel
    per assay with its binomial test; ``scatter.svg`` too with `svg`) into `out`; returns
    the paired tracks and the per-assay comparison."""
    check_plot_options(plots, svg)
    pairs = paired_tracks(joint, single)
    comparison = compare_by_assay(pairs)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    with atomic_write(out / "comparison.tsv") as handle:
        handle.write(comparison.write_csv(separator="\t"))
    written = (
        joint_vs_single_scatter(pairs, comparison, out / "scatter.png", title=title, svg=svg)
        if plots
        else []
    )
    remove_stale_figures(out, ["scatter"], written)
    return pairs, comparison
