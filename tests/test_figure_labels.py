"""Figures that label tracks by their description keep the paper's long descriptions
(``DNASE:LNCaP clone FGC treated with 1 nM 17B-hydroxy-...``, up to 170 characters)
inside the figure and apart from each other."""

from __future__ import annotations

import warnings
from itertools import combinations
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import polars as pl

from crossreg.evaluate.figures import tracks_figure
from crossreg.evaluate.transfer_figures import PlottedMatrix, matrix_figure
from crossreg.plots import TRACK_LABEL_CHARS, track_label
from crossreg.variants.sad_figures import (
    distribution_figure,
    summarise,
    top_variants_figure,
    track_order,
)
from crossreg.variants.sad_tsv import write_tsv

if TYPE_CHECKING:
    from matplotlib.figure import Figure
    from matplotlib.text import Text

TABLES = Path(__file__).parent / "data" / "basenji_targets"


def _longest(table: str, n: int) -> tuple[list[str], list[str]]:
    """The identifiers and descriptions of the `n` tracks of `table` with the longest
    descriptions."""
    targets = pl.read_csv(TABLES / table, separator="\t")
    targets = targets.sort(pl.col("description").str.len_chars(), descending=True).head(n)
    return targets["identifier"].to_list(), targets["description"].to_list()


def _labels(fig: Figure) -> list[Text]:
    """Every tick label and axis label `fig` draws, laid out (no warning may come of it:
    the constrained layout gave up when long labels left the axes no room)."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        fig.draw_without_rendering()
    texts = []
    for ax in fig.axes:
        texts += [*ax.get_xticklabels(), *ax.get_yticklabels(), ax.xaxis.label, ax.yaxis.label]
    return [t for t in texts if t.get_text()]


def _inside(fig: Figure, texts: list[Text]) -> bool:
    box = fig.bbox
    extents = [t.get_window_extent() for t in texts]
    return all(
        e.x0 >= box.x0 - 1 and e.x1 <= box.x1 + 1 and e.y0 >= box.y0 - 1 and e.y1 <= box.y1 + 1
        for e in extents
    )


def test_track_labels_are_cut_with_an_ellipsis():
    assert track_label("CAGE:liver, adult") == "CAGE:liver, adult"
    label = track_label("DNASE:" + "x" * 100)
    assert len(label) == TRACK_LABEL_CHARS and label.endswith("…")


def _paper_sad(folder: Path, sad: np.ndarray) -> tuple[Path, list[str]]:
    """A SAD ``.tsv`` in `folder` of the scores `sad` (alleles × tracks) on the paper's
    human tracks with the longest descriptions, and those descriptions."""
    identifiers, descriptions = _longest("targets_human.txt", sad.shape[1])
    n = len(sad)
    part = {
        "snp": np.array([f"rs{i}" for i in range(n)], dtype="S"),
        "chr": np.array([b"chr1"] * n),
        "pos": np.arange(1, n + 1) * 1000,
        "ref_allele": np.array([b"A"] * n),
        "alt_allele": np.array([b"G"] * n),
        "SAD": sad,
    }
    out = folder / "sad.tsv"
    write_tsv(out, [part], ["SAD"], identifiers, descriptions, {"stats": "SAD"})
    return out, descriptions


def test_sad_top_variants_keep_the_paper_descriptions_inside(tmp_path):
    # before: three alleles' heat map under 24 descriptions of up to 170 characters
    # collapsed (matplotlib warned), and the labels ran off the figure
    out, _ = _paper_sad(tmp_path, np.linspace(-1, 2, 3 * 24, dtype=np.float32).reshape(3, 24))
    fig = top_variants_figure(summarise(out))
    texts = _labels(fig)
    assert _inside(fig, texts)


def test_sad_distribution_names_tracks_as_the_top_variants_do(tmp_path):
    # before: score_distribution.png named the tracks by identifier (hs_CAGE_liver, or
    # the paper's CNhs11760) where top_variants.png beside it names them by description
    out, descriptions = _paper_sad(
        tmp_path, np.random.default_rng(0).normal(size=(30, 24)).astype(np.float32)
    )
    summary = summarise(out)
    fig = distribution_figure(summary)
    _labels(fig)  # laid out without a warning
    (ax,) = fig.axes
    ticks = ax.get_xticklabels()  # (the y axis's include ticks past its limits, not drawn)
    assert _inside(fig, [*ticks, ax.xaxis.label, ax.yaxis.label])
    shown = [t.get_text() for t in ticks]
    assert shown == [track_label(descriptions[t]) for t in track_order(summary)]
    shown = [t.get_text() for t in fig.axes[0].get_xticklabels()]
    assert all(len(label) <= TRACK_LABEL_CHARS for label in shown)
    assert all(any(d.startswith(label.rstrip("…")) for d in descriptions) for label in shown)


def test_transfer_matrix_keeps_the_paper_descriptions_inside():
    rows, row_labels = _longest("targets_mouse.txt", 6)
    columns, column_labels = _longest("targets_human.txt", 6)
    values = np.linspace(-0.5, 0.5, 36).reshape(6, 6)
    matched = np.eye(6, dtype=bool)
    matrix = PlottedMatrix("DNASE", rows, columns, row_labels, column_labels, values, matched)
    fig, _ = matrix_figure(matrix, title="mouse head on human")
    assert _inside(fig, _labels(fig))


def test_evaluate_tracks_keep_the_paper_descriptions_apart():
    identifiers, descriptions = _longest("targets_human.txt", 3)
    bins = 48
    rng = np.random.default_rng(0)
    data = {
        "chrom": np.array(["chr2"] * 3),
        "start": np.array([0, 10_000, 20_000]),
        "bin_width": np.array(128),
        "identifier": np.array(identifiers),
        "description": np.array(descriptions),
        "pearson_r": np.array([0.1, 0.2, 0.3]),
        "measured": rng.random((3, 3, bins)),
        "predicted": rng.random((3, 3, bins)),
    }
    fig = tracks_figure(data, split="valid")
    _labels(fig)
    ylabels = [ax.yaxis.label for ax in fig.axes if ax.get_ylabel()]
    assert len(ylabels) == 3 and _inside(fig, ylabels)
    extents = [t.get_window_extent() for t in ylabels]
    assert not any(a.overlaps(b) for a, b in combinations(extents, 2))


def test_the_tracks_legend_covers_no_panel():
    # before: the legend sat in the upper right of the last window's first panel, over
    # the measured peaks there
    n_windows, n_tracks, n_bins = 3, 2, 48
    signal = np.tile(np.linspace(0, 10, n_bins, dtype=np.float32), (n_windows, n_tracks, 1))
    data = {
        "chrom": np.array(["chr1"] * n_windows),
        "start": np.arange(n_windows) * 10_000,
        "bin_width": np.array(128),
        "identifier": np.array(["t0", "t1"]),
        "description": np.array(["DNASE:liver", "CAGE:liver"]),
        "pearson_r": np.array([0.8, 0.6]),
        "measured": signal,
        "predicted": signal[..., ::-1].copy(),
    }
    fig = tracks_figure(data, title="human head (model of human) on human test")
    _labels(fig)  # laid out without a warning
    legends = [*fig.legends, *(ax.get_legend() for ax in fig.axes if ax.get_legend())]
    assert [t.get_text() for t in legends[0].get_texts()] == ["measured", "predicted"]
    for legend in legends:
        box = legend.get_window_extent()
        assert not any(box.overlaps(ax.get_window_extent()) for ax in fig.axes)
        assert _inside(fig, legend.get_texts())
