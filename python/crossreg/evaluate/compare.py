"""Joint versus single-genome models on the same test windows (the paper's Figure 2).

Per assay: how many tracks the joint model predicts better, and a two-sided binomial test
of that count against 1/2 over the tracks the models do not tie on (a sign test: a track
both models predict equally, such as a constant one both score 0, counts for neither).
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import Any

import polars as pl
from scipy.stats import binomtest

from crossreg.evaluate.files import COMPARISON_FILE, SCATTER_STEM, SUMMARY_FILE
from crossreg.evaluate.table import read_metrics
from crossreg.io.assays import assay_of
from crossreg.io.atomic import atomic_write
from crossreg.plots import check_plot_options, joint_vs_single_scatter, remove_stale_figures
from crossreg.train.store_identity import fingerprint_differences

log = logging.getLogger("crossreg")


def scored_windows(metrics: str | os.PathLike[str]) -> dict[str, Any] | None:
    """What the ``summary.json`` beside a metrics table (or in its folder) records of the
    windows crossreg evaluate scored: its ``split`` and, from evaluate's that record it,
    ``store`` (the store's fingerprint) and ``ensemble`` (rc, shifts, bf16); None without
    such a summary (a table of other making)."""
    table = Path(metrics)
    path = (table if table.is_dir() else table.parent) / SUMMARY_FILE
    try:
        summary = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return None
    if not isinstance(summary, dict) or not isinstance(summary.get("split"), str):
        return None
    store, ensemble = summary.get("store"), summary.get("ensemble")
    return {
        "split": summary["split"],
        "store": store if isinstance(store, dict) else None,
        "ensemble": ensemble if isinstance(ensemble, dict) else None,
    }


def _windows_text(scored: dict[str, Any]) -> str:
    store = scored["store"]
    return f"the {scored['split']} split" + (f" of store {store.get('path')}" if store else "")


def check_same_windows(joint: str | os.PathLike[str], single: str | os.PathLike[str]) -> str | None:
    """The split both metrics tables score, from the ``summary.json`` evaluate wrote beside
    each (None when one has none); raises ValueError when they score different windows:
    another split, or a store of other windows or targets. Predictions of different
    ensembles or precision are warned about."""
    sides = {"--joint": scored_windows(joint), "--single": scored_windows(single)}
    first, second = sides["--joint"], sides["--single"]
    if first is None or second is None:
        return None
    differs = ""
    if first["split"] != second["split"]:
        differs = "another split"
    elif first["store"] and second["store"]:
        differs = fingerprint_differences(
            first["store"], second["store"], ("for --joint", "for --single")
        )
    if differs:
        raise ValueError(
            f"--joint {joint} scores {_windows_text(first)}, --single {single} "
            f"{_windows_text(second)} ({differs}): per-track R of different windows do "
            "not compare; evaluate both models on the same split of the same store "
            "(crossreg evaluate --split)"
        )
    if first["ensemble"] and second["ensemble"] and first["ensemble"] != second["ensemble"]:
        log.warning(
            "--joint %s was evaluated with %s, --single %s with %s: an ensemble (rc, shifts) "
            "raises R, so the comparison favours the model that had more of it; evaluate "
            "both alike",
            joint,
            _ensemble_text(first["ensemble"]),
            single,
            _ensemble_text(second["ensemble"]),
        )
    return str(first["split"])


def _ensemble_text(ensemble: dict[str, Any]) -> str:
    rc = "--rc" if ensemble.get("rc") else "no --rc"
    shifts = ",".join(str(s) for s in ensemble.get("shifts", [0]))
    return f"{rc}, --shifts {shifts}" + (", --bf16" if ensemble.get("bf16") else "")


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
    split: str | None = "test",
    plots: bool = True,
    svg: bool = False,
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """From two metrics tables of the same tracks, in memory, write ``comparison.tsv``
    (per assay) and, unless `plots` is off, ``scatter.png`` (one panel per assay with its
    binomial test, its axes the R on `split`, or plain R when None; ``scatter.svg`` too
    with `svg`) into `out`; returns the paired tracks and the per-assay comparison. The
    tables are taken as they come: :func:`compare_metrics`, the step on evaluate's files,
    also checks that they score the same windows and names their split."""
    check_plot_options(plots, svg)
    pairs = paired_tracks(joint, single)
    comparison = compare_by_assay(pairs)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    # an earlier run's scatter goes first: one interrupted while drawing leaves none of
    # other tables beside the new one
    remove_stale_figures(out, [SCATTER_STEM], [])
    with atomic_write(out / COMPARISON_FILE) as handle:
        handle.write(comparison.write_csv(separator="\t"))
    if plots:
        joint_vs_single_scatter(
            pairs, comparison, out / f"{SCATTER_STEM}.png", title=title, split=split, svg=svg
        )
    return pairs, comparison


def compare_metrics(
    joint: str | os.PathLike[str],
    single: str | os.PathLike[str],
    out: str | os.PathLike[str],
    *,
    title: str = "",
    plots: bool = True,
    svg: bool = False,
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The compare step as ``crossreg compare`` runs it: read the metrics tables `joint`
    and `single` (``metrics.tsv`` files, or evaluate output folders holding one), refuse
    two that score different windows (:func:`check_same_windows`, a ValueError naming
    both), and :func:`write_comparison` with the split they score naming the scatter's
    axes (plain R for tables without evaluate's ``summary.json``); returns its tables."""
    check_plot_options(plots, svg)
    joint_table, single_table = read_metrics(joint), read_metrics(single)
    split = check_same_windows(joint, single)
    try:
        return write_comparison(
            joint_table, single_table, out, title=title, split=split, plots=plots, svg=svg
        )
    except ValueError as err:
        raise ValueError(f"--joint {joint}, --single {single}: {err}") from None
