"""Heat maps of cross-species transfer (the paper's Figure 3): per experiment, the
normalised R (mean-normalised, or quantile- and mean-normalised: the colour bar says which)
of every head track (rows) × every measured track (columns), drawn from ``matrix.tsv``.

Rows and columns are ordered by hierarchical clustering (scipy, average linkage on the
Euclidean distance between rows, or columns, of R; NaN counted as 0 there, drawn blank),
matched cells (same cell type, or the pairs of a pairs file) are outlined, and a panel
beside the map shows the distribution of the matched cells (the diagonal) against the
unmatched ones, titled with the rule that matched them.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

import numpy as np
import numpy.typing as npt
import polars as pl

from crossreg.evaluate.defaults import NORMALIZATIONS
from crossreg.evaluate.files import SUMMARY_FILE, heat_map_stem
from crossreg.evaluate.transfer_stats import NORMALISED_AS
from crossreg.evaluate.transfer_tracks import (
    BY_CELL_TYPE,
    BY_PAIRS_FILE,
    MATRIX_SCHEMA,
    cell_type_of,
    experiment_label,
    gap_notes,
    normalised_r_gap,
)
from crossreg.io.tables import as_int
from crossreg.io.text import read_json
from crossreg.plots import new_figure, save_figure, track_label
from crossreg.progress import track

if TYPE_CHECKING:
    from matplotlib.figure import Figure

log = logging.getLogger("crossreg")

LABELS_UP_TO = 60  # tracks per axis beyond which tick labels are left off
#: The rules that match a heat map's cells.
PAIRINGS = (BY_CELL_TYPE, BY_PAIRS_FILE)


def heat_map_title(
    head: str, genome: str, splits: Sequence[str] = (), normalize: str = "mean"
) -> str:
    """The title of a transfer run's heat maps: the `head` scored on the store of `genome`,
    at the sites of its `splits` windows (the held-out ones) when given, and, where the
    tracks were quantile-normalised (`normalize`), that they were."""
    where = f" ({' + '.join(splits)} windows)" if splits else ""
    how = ", quantile-normalised" if normalize == "quantile" else ""
    return f"{head} head on {genome}{where}{how}"


class DrawnAs(NamedTuple):
    """How a transfer run drew its heat maps: their `title`, the `pairing` rule that
    matched their cells and how each side was normalised, `normalize`
    (:data:`~crossreg.evaluate.defaults.NORMALIZATIONS`), which the colour bar names."""

    title: str
    pairing: str
    normalize: str


def colour_bar_label(normalize: str) -> str:
    """What a heat map's cells are under `normalize`: Pearson R across the sites of the
    tracks' log(1 + x), normalised as it names."""
    return f"R of log(1 + x), {NORMALISED_AS[normalize]}"


def drawn_as(path: str | os.PathLike[str]) -> DrawnAs | None:
    """How the transfer run that wrote the ``matrix.tsv`` at `path` drew its heat maps,
    read from the ``summary.json`` beside it (None: there is none)."""
    summary_path = Path(path).parent / SUMMARY_FILE
    if not summary_path.is_file():
        return None
    summary = read_json(summary_path, "run the transfer again")
    fields = summary if isinstance(summary, dict) else {}
    head, genome, pairing = (fields.get(k) for k in ("head", "store_genome", "pairing"))
    splits = fields.get("splits")
    splits = splits if isinstance(splits, list) and all(isinstance(s, str) for s in splits) else []
    normalize = fields.get("normalize", "mean")  # before the option, every run was "mean"
    if not (
        isinstance(head, str)
        and isinstance(genome, str)
        and pairing in PAIRINGS
        and normalize in NORMALIZATIONS
    ):
        raise ValueError(
            f"{summary_path}: not the summary of a transfer run (its head, store_genome or "
            f"pairing, '{BY_CELL_TYPE}' or '{BY_PAIRS_FILE}', is missing, or its normalize "
            f"is not one of {', '.join(NORMALIZATIONS)}); pass title, pairing and normalize, "
            "or run the transfer again"
        )
    normalize = str(normalize)
    return DrawnAs(heat_map_title(head, genome, splits, normalize), str(pairing), normalize)


@dataclass
class PlottedMatrix:
    """One experiment's matrix as drawn: `values` ``(rows, columns)`` in the clustered
    order of `rows` (head identifiers) and `columns` (measured identifiers)."""

    experiment: str
    rows: list[str]
    columns: list[str]
    row_labels: list[str]
    column_labels: list[str]
    values: npt.NDArray[np.float64]
    matched: npt.NDArray[np.bool_]
    paths: list[Path] = field(default_factory=list)
    sites: int = 0  # the sites its R are computed over (0: not known)


def read_matrix(path: str | os.PathLike[str]) -> pl.DataFrame:
    """A ``matrix.tsv`` (long form), as :func:`crossreg.evaluate.transfer.write_transfer`
    writes it: identifiers are text (``001`` is not ``1``), however they look."""
    return pl.read_csv(os.fspath(path), separator="\t", schema_overrides=MATRIX_SCHEMA)


def wide(frame: pl.DataFrame, experiment: str) -> PlottedMatrix:
    """The experiment's cells of a long matrix as a ``(head tracks, measured tracks)``
    array, in the order the tracks first appear."""
    part = frame.filter(pl.col("experiment") == experiment)
    rows = list(dict.fromkeys(part["head_identifier"]))
    columns = list(dict.fromkeys(part["identifier"]))
    r_at = {r: i for i, r in enumerate(rows)}
    c_at = {c: i for i, c in enumerate(columns)}
    values = np.full((len(rows), len(columns)), np.nan)
    matched = np.zeros(values.shape, dtype=bool)
    row_labels, column_labels = [""] * len(rows), [""] * len(columns)
    for cell in part.iter_rows(named=True):
        i, j = r_at[cell["head_identifier"]], c_at[cell["identifier"]]
        value = cell["pearson_r_normalised"]
        values[i, j] = np.nan if value is None else value
        matched[i, j] = bool(cell["matched"])
        row_labels[i], column_labels[j] = cell["head_description"], cell["description"]
    sites = as_int(part["n"].max() or 0) if "n" in part.columns else 0
    return PlottedMatrix(
        experiment, rows, columns, row_labels, column_labels, values, matched, sites=sites
    )


def cluster_order(values: npt.NDArray) -> npt.NDArray[np.integer]:
    """The leaf order of the rows of `values` under average-linkage clustering (Euclidean,
    NaN as 0), optimally ordered; the identity for fewer than 3 rows."""
    n = values.shape[0]
    if n < 3:
        return np.arange(n)
    from scipy.cluster.hierarchy import leaves_list, linkage, optimal_leaf_ordering
    from scipy.spatial.distance import pdist

    filled = np.nan_to_num(np.asarray(values, dtype=np.float64), nan=0.0)
    distances = pdist(filled)
    tree = linkage(distances, method="average")
    if distances.any():
        tree = optimal_leaf_ordering(tree, distances)
    return leaves_list(tree)


def clustered(matrix: PlottedMatrix) -> PlottedMatrix:
    """`matrix` with rows and columns in their clustered order."""
    r, c = cluster_order(matrix.values), cluster_order(matrix.values.T)
    return PlottedMatrix(
        matrix.experiment,
        [matrix.rows[i] for i in r],
        [matrix.columns[j] for j in c],
        [matrix.row_labels[i] for i in r],
        [matrix.column_labels[j] for j in c],
        matrix.values[np.ix_(r, c)],
        matrix.matched[np.ix_(r, c)],
        sites=matrix.sites,
    )


def matrix_figure(
    matrix: PlottedMatrix,
    *,
    title: str = "",
    pairing: str = BY_CELL_TYPE,
    normalize: str = "mean",
) -> tuple[Figure, PlottedMatrix]:
    """The clustered heat map of `matrix` with its diagonal-vs-off-diagonal panel (titled
    with the rule `pairing` that matched the cells) and its colour bar labelled with how
    the R was normalised (`normalize`), and the matrix as drawn (rows and columns in their
    clustered order)."""
    from matplotlib.collections import PatchCollection
    from matplotlib.patches import Rectangle

    drawn = clustered(matrix)
    n_rows, n_cols = drawn.values.shape
    row_labels = [track_label(t) for t in drawn.row_labels] if n_rows <= LABELS_UP_TO else []
    column_labels = [track_label(t) for t in drawn.column_labels] if n_cols <= LABELS_UP_TO else []
    heat_width = min(20.0, 3.5 + 0.25 * n_cols)
    height = min(20.0, max(4.0, 2.5 + 0.25 * n_rows))
    # inches of the 7-pt tick labels, beside and below the heat map
    label_width, label_height = (
        0.045 * max(map(len, t), default=0) for t in (row_labels, column_labels)
    )
    fig = new_figure(figsize=(heat_width + 3.0 + label_width, height + label_height))
    heat, panel = fig.subplots(1, 2, width_ratios=[heat_width, 2.2])
    image = heat.imshow(
        np.ma.masked_invalid(drawn.values),
        cmap="RdBu_r",
        vmin=-1.0,
        vmax=1.0,
        aspect="auto",
        interpolation="nearest",
    )
    rows, cols = np.nonzero(drawn.matched)
    outline = [Rectangle((j - 0.5, i - 0.5), 1, 1) for i, j in zip(rows, cols, strict=True)]
    heat.add_collection(
        PatchCollection(outline, facecolor="none", edgecolor="black", linewidth=1.2)
    )
    if column_labels:
        heat.set_xticks(range(n_cols), column_labels, rotation=90, fontsize=7)
    else:
        heat.set_xticks([])
    if row_labels:
        heat.set_yticks(range(n_rows), row_labels, fontsize=7)
    else:
        heat.set_yticks([])
    heat.set_xlabel("measured tracks")
    heat.set_ylabel("head tracks")
    what = experiment_label(drawn.experiment) + (f", {drawn.sites:,} sites" if drawn.sites else "")
    heat.set_title(f"{title}: {what}" if title else what, fontsize=9)
    fig.colorbar(image, ax=heat, label=colour_bar_label(normalize), shrink=0.8)
    groups = []
    for name, cells in (("matched", drawn.matched), ("unmatched", ~drawn.matched)):
        values = drawn.values[cells]
        groups.append((name, values[np.isfinite(values)]))
    rng = np.random.default_rng(0)
    for x, (_, values) in enumerate(groups):
        if values.size:
            shown = values if values.size <= 2000 else rng.choice(values, 2000, replace=False)
            jitter = rng.uniform(-0.15, 0.15, shown.size)
            panel.scatter(x + jitter, shown, s=6, alpha=0.5, color=("#c0392b", "#7f8c8d")[x])
            panel.hlines(values.mean(), x - 0.3, x + 0.3, color="black", lw=1.5)
    panel.set_xticks([0, 1], [f"{name}\n(n={v.size})" for name, v in groups], fontsize=7)
    panel.set_xlim(-0.6, 1.6)
    panel.set_ylim(-1.05, 1.05)
    panel.axhline(0, color="0.7", lw=0.5)
    panel.set_title(f"diagonal vs\noff-diagonal\n(matched by {pairing})", fontsize=9)
    return fig, drawn


def plot_matrix(
    out: str | os.PathLike[str],
    matrix: PlottedMatrix,
    *,
    title: str = "",
    svg: bool = False,
    pairing: str = BY_CELL_TYPE,
    normalize: str = "mean",
) -> PlottedMatrix:
    """Draw :func:`matrix_figure` of `matrix` to the PNG `out` (and an SVG beside it with
    `svg`); returns the matrix as drawn, with the files written as its `paths`."""
    fig, drawn = matrix_figure(matrix, title=title, pairing=pairing, normalize=normalize)
    drawn.paths = save_figure(fig, out, svg=svg)
    return drawn


def plot_matrix_file(
    path: str | os.PathLike[str],
    directory: str | os.PathLike[str],
    *,
    title: str | None = None,
    svg: bool = False,
    pairing: str | None = None,
    normalize: str | None = None,
) -> list[Path]:
    """One heat map per experiment of a ``matrix.tsv`` (with any finite cell), as
    ``matrix_<experiment>.png`` in `directory` (and ``.svg`` beside each with `svg`);
    `pairing` is the rule that set its ``matched`` cells (``"cell type"`` or
    ``"pairs file"``), `normalize` how its R was normalised (``"mean"`` or
    ``"quantile"``). A `title`, `pairing` or `normalize` not given is the one the transfer
    run drew with, from the ``summary.json`` beside `path` (:func:`drawn_as`), so that a
    redraw from the path alone is the run's figure (without one, no title, ``"mean"``, and
    `pairing` must be given). Returns the files written."""
    given = (title, pairing, normalize)
    run = drawn_as(path) if None in given else None
    if pairing is None:
        if run is None:
            raise ValueError(
                f"{path}: no {SUMMARY_FILE} beside it to say how its cells were matched (a "
                f"transfer run writes it last); pass pairing='{BY_CELL_TYPE}' or "
                f"'{BY_PAIRS_FILE}'"
            )
        pairing = run.pairing
    if title is None:
        title = "" if run is None else run.title
    if normalize is None:
        normalize = "mean" if run is None else run.normalize
    if pairing not in PAIRINGS:
        raise ValueError(f"pairing {pairing!r}: give '{BY_CELL_TYPE}' or '{BY_PAIRS_FILE}'")
    if normalize not in NORMALIZATIONS:
        raise ValueError(f"normalize {normalize!r}: give one of {', '.join(NORMALIZATIONS)}")
    frame = read_matrix(path)
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    experiments = sorted(set(frame["experiment"]))  # dozens at the paper's width
    gaps: dict[str, str] = {}  # experiment -> why it has no heat map
    for experiment in track(experiments, "transfer heat maps", "experiments"):
        matrix = wide(frame, experiment)
        if not np.isfinite(matrix.values).any():
            sites = as_int(frame.filter(pl.col("experiment") == experiment)["n"].max() or 0)
            rows = [cell_type_of(label) for label in matrix.row_labels]
            columns = [cell_type_of(label) for label in matrix.column_labels]
            gap = normalised_r_gap(
                experiment, sites, rows, columns, matrix.values, matrix.matched, pairing
            )
            assert gap is not None  # no finite cell at all: a reason is always found
            gaps[experiment] = gap
            continue
        name = directory / f"{heat_map_stem(experiment)}.png"
        drawn = plot_matrix(
            name, matrix, title=title, svg=svg, pairing=pairing, normalize=normalize
        )
        written += drawn.paths
    for note in gap_notes(gaps):
        log.warning("no heat map of normalised R for %s", note)
    return written
