"""Figures of ``crossreg denovo`` (the paper's Figure 5a and 5c), drawn from the tables it
writes, so they can be redrawn:

* ``tracks_q.png``: −log10 BH q of every track's case/control test, tracks ordered by cell
  type (then assay), coloured by assay, with the q = 0.05 line (Figure 5a);
* ``components.png``: case vs control distributions of the variants' scores on the first
  principal components (``component_scores.tsv``), each titled with its test;
* ``risk_score.png``: the per-person out-of-fold risk score of cases and controls, with its
  AUC and test (Figure 5c).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt
import polars as pl

from crossreg.io.assays import assay_of, split_description
from crossreg.plots import assay_colours, format_p, new_figure, save_figure

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from crossreg.progress import Progress

SHOWN_COMPONENTS = 3
GROUP_COLOURS = {"case": "#c0392b", "control": "#7f8c8d"}
LABELS_UP_TO = 60  # tick labels on the x axis at most
LABEL_CHARS = 32
NO_COMPONENTS = "no principal components:\nevery variant has the same scores"


def cell_type(description: str, identifier: str) -> str:
    """A track's cell type: its description after the assay (else its identifier)."""
    return split_description(description)[1] if description else identifier


def q_order(tracks: pl.DataFrame) -> pl.DataFrame:
    """``tracks.tsv`` ordered by cell type, then assay, then identifier, with columns
    cell_type, assay and minus_log10_q."""
    descriptions = tracks["description"].fill_null("").cast(pl.Utf8).to_list()
    ids = tracks["identifier"].cast(pl.Utf8).to_list()
    q = tracks["q"].cast(pl.Float64).to_numpy()
    return tracks.with_columns(
        pl.Series("cell_type", [cell_type(d, i) for d, i in zip(descriptions, ids, strict=True)]),
        pl.Series("assay", [assay_of(d) for d in descriptions]),
        pl.Series("minus_log10_q", -np.log10(np.clip(q, 1e-300, 1.0))),
    ).sort("cell_type", "assay", "identifier")


def tracks_q_figure(tracks: pl.DataFrame) -> Figure:
    """Bars of −log10 q per track in :func:`q_order`, coloured by assay."""
    shown = q_order(tracks)
    assays = sorted(set(shown["assay"]))
    palette = assay_colours(assays)
    fig = new_figure(figsize=(min(16.0, max(6.0, 0.2 * shown.height + 2)), 5.0))
    ax = fig.subplots()
    x = np.arange(shown.height)
    ax.bar(
        x,
        shown["minus_log10_q"].to_numpy(),
        color=[palette[a] for a in shown["assay"]],
        width=0.85,
    )
    ax.axhline(-np.log10(0.05), color="black", lw=0.8, ls="--", label="q = 0.05")
    for assay in assays:
        ax.bar([0], [0], color=palette[assay], label=assay)  # legend entries only
    cells = shown["cell_type"].to_list()
    xlabel = "track, ordered by cell type"
    if shown.height <= LABELS_UP_TO:
        ax.set_xticks(x, [_short(f"{c} ({a})") for c, a in zip(cells, shown["assay"], strict=True)])
        ax.tick_params(axis="x", rotation=90, labelsize=7)
    else:  # one label per cell type, at its first track
        first = [i for i in range(len(cells)) if i == 0 or cells[i] != cells[i - 1]]
        if len(first) > LABELS_UP_TO:
            first = labelled_cell_types(first, shown["minus_log10_q"].to_numpy())
            xlabel += ", those with the smallest q labelled"
        ax.set_xticks(first, [_short(cells[i]) for i in first], rotation=90, fontsize=6)
    ax.set_xlabel(xlabel)
    ax.set_ylabel("−log10 q (BH), case vs control SAD")
    n = int((shown["q"] < 0.05).sum())
    ax.set_title(f"de novo variants: {n} of {shown.height} tracks differ at q < 0.05", fontsize=10)
    ax.legend(frameon=False, fontsize=8)
    return fig


def labelled_cell_types(first: list[int], minus_log10_q: npt.NDArray[np.float64]) -> list[int]:
    """Of the cell types starting at the tracks `first` (in order), at most
    :data:`LABELS_UP_TO` to label, those with the smallest q (largest `minus_log10_q` over
    their tracks) first, ties to the earlier, each at least 1/:data:`LABELS_UP_TO` of the
    tracks from every other so that no two labels overlap; returned in order."""
    best = np.maximum.reduceat(minus_log10_q, first)
    gap = len(minus_log10_q) / LABELS_UP_TO
    kept: list[int] = []
    for i in np.argsort(-best, kind="stable"):
        if all(abs(first[i] - first[j]) >= gap for j in kept):
            kept.append(int(i))
    return [first[i] for i in sorted(kept)]


def _short(label: str) -> str:
    """A tick label of at most :data:`LABEL_CHARS` characters."""
    return label if len(label) <= LABEL_CHARS else label[: LABEL_CHARS - 1] + "…"


def components_figure(scores: pl.DataFrame, components: pl.DataFrame) -> Figure:
    """Per shown component, the histograms of case and control variants' scores; with no
    component (scores the same for every variant), a panel that says so."""
    names = [c for c in scores.columns if c.startswith("PC")][:SHOWN_COMPONENTS]
    tests = {row["component"]: row for row in components.iter_rows(named=True)}
    fig = new_figure(figsize=(3.8 * max(1, len(names)), 3.4))
    axes = fig.subplots(1, max(1, len(names)), squeeze=False)[0]
    for ax, name in zip(axes, names, strict=False):
        values = scores[name].to_numpy()
        bins = np.histogram_bin_edges(values, bins=30)
        for group, colour in GROUP_COLOURS.items():
            part = scores.filter(pl.col("group") == group)[name].to_numpy()
            ax.hist(part, bins=bins, density=True, alpha=0.55, color=colour, label=group)
        test = tests.get(name)
        if test is not None:
            ax.set_title(
                f"{name} ({100 * test['explained']:.0f}% of variance)\n"
                f"AUC {test['auc']:.2f}, {format_p(test['p'])}",
                fontsize=9,
            )
        ax.set_xlabel(f"variant score on {name}")
        ax.set_ylabel("density")
    if names:
        axes[0].legend(frameon=False, fontsize=8)
    else:
        axes[0].set_axis_off()
        axes[0].text(0.5, 0.5, NO_COMPONENTS, ha="center", va="center", fontsize=9)
    fig.suptitle("case vs control de novo variants on the principal components", fontsize=10)
    return fig


def risk_figure(people: pl.DataFrame, summary: dict) -> Figure:
    """Histograms of the per-person risk score, cases and controls."""
    from matplotlib.ticker import MaxNLocator

    fig = new_figure(figsize=(5.0, 3.6))
    ax = fig.subplots()
    bins = np.histogram_bin_edges(people["risk_score"].to_numpy(), bins=25).tolist()
    for group, colour in GROUP_COLOURS.items():
        part = people.filter(pl.col("group") == group)["risk_score"].to_numpy()
        ax.hist(part, bins=bins, alpha=0.55, color=colour, label=f"{group}s (n={part.size})")
    ax.set_xlabel("risk score (sum over a person's variants, out of fold)")
    ax.set_ylabel("people")
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))  # a count: no 1.5 people
    ax.set_title(
        f"per-person risk score: AUC {summary['risk_auc']:.2f}, {format_p(summary['risk_p'])}",
        fontsize=10,
    )
    ax.legend(frameon=False, fontsize=8)
    return fig


def plot_denovo(
    out: str | os.PathLike[str], *, svg: bool = False, meter: Progress | None = None
) -> list[Path]:
    """Draw the three figures in the denovo output directory `out` from its tables;
    returns the files written, each counted on `meter` once written."""
    out = Path(out)

    def read(name: str) -> pl.DataFrame:
        return pl.read_csv(out / name, separator="\t", infer_schema_length=None)

    def save(figure: Figure, name: str) -> list[Path]:
        files = save_figure(figure, out / name, svg=svg)
        if meter is not None:
            meter.update(len(files))
        return files

    written = save(tracks_q_figure(read("tracks.tsv")), "tracks_q.png")
    if (out / "component_scores.tsv").exists():
        written += save(
            components_figure(read("component_scores.tsv"), read("components.tsv")),
            "components.png",
        )
    summary = json.loads((out / "summary.json").read_text())
    return written + save(risk_figure(read("individuals.tsv"), summary), "risk_score.png")
