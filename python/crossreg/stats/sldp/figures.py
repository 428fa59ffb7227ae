"""The paper's Figure 4b–d views of SLDP results: z of annotations (tracks) × phenotypes
(tissues), and how alike the tracks' z profiles are across phenotypes, both clustered;
drawn from ``results.tsv`` and written with :func:`crossreg.plots.save_figure`."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt
import polars as pl

from crossreg.plots import new_figure, save_figure

if TYPE_CHECKING:
    from matplotlib.figure import Figure

MAX_LABELS = 60  # tick labels beyond this many rows or columns are left off
# inches: room for the heat map's colour-bar label, which gives the z the flips resolve
HEATMAP_MIN_HEIGHT = 3.5
FIGURE_STEMS = ("z_heatmap", "z_correlation")  # each a .png (and a .svg with svg)


def z_matrix(results: pl.DataFrame) -> tuple[list[str], list[str], npt.NDArray[np.float64]]:
    """Annotations, phenotypes (first-seen order) and the ``(annotations, phenotypes)`` z."""
    annots = list(dict.fromkeys(results["annot"].to_list()))
    phenos = list(dict.fromkeys(results["pheno"].to_list()))
    z = np.full((len(annots), len(phenos)), np.nan)
    row = {a: i for i, a in enumerate(annots)}
    col = {p: j for j, p in enumerate(phenos)}
    for annot, pheno, value in results.select("annot", "pheno", "z").iter_rows():
        z[row[annot], col[pheno]] = value
    return annots, phenos, z


def cluster_order(values: npt.NDArray[np.float64]) -> npt.NDArray[np.integer]:
    """Rows of `values` in the leaf order of average-linkage clustering on correlation
    distance, NaN as 0; rows that do not vary (no correlation to cluster on) follow, as
    given; all rows as given when fewer than three vary or there are under two columns."""
    from scipy.cluster.hierarchy import leaves_list, linkage

    filled = np.nan_to_num(values)
    varies = np.flatnonzero(filled.std(axis=1) > 0)
    if len(varies) < 3 or filled.shape[1] < 2:
        return np.arange(len(filled))
    tree = linkage(filled[varies], method="average", metric="correlation")
    flat = np.setdiff1d(np.arange(len(filled)), varies)
    return np.concatenate([varies[leaves_list(tree)], flat])


def profile_correlation(z: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """Pearson correlation between the annotations' z profiles across phenotypes (NaN for
    an annotation whose z does not vary)."""
    filled = np.nan_to_num(z)
    centred = filled - filled.mean(axis=1, keepdims=True)
    norms = np.linalg.norm(centred, axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        unit = centred / norms[:, None]
    return unit @ unit.T


def largest_z(flips: int) -> float:
    """The largest |z| that `flips` sign flips can give: the z of their smallest p,
    ``1/flips`` (every cell whose score no flip reached)."""
    from scipy.stats import chi2

    return float(np.sqrt(chi2.isf(1.0 / flips, 1)))


def z_heatmap_figure(results: pl.DataFrame, flips: int | None = None) -> Figure:
    """z of annotations (rows) × phenotypes (columns) of a ``results.tsv``, both clustered;
    with `flips` the colour bar says the largest |z| they can resolve (cells there have a
    p below ``1/flips``, not a known z)."""
    annots, phenos, z = z_matrix(results)
    rows = cluster_order(z)
    cols = cluster_order(z.T) if len(phenos) > 2 else np.arange(len(phenos))
    limit = max(float(np.nanmax(np.abs(z))) if np.isfinite(z).any() else 1.0, 1.0)
    fig = _figure(len(phenos), len(annots), min_height=HEATMAP_MIN_HEIGHT)
    ax = fig.subplots()
    image = ax.imshow(z[np.ix_(rows, cols)], cmap="RdBu_r", vmin=-limit, vmax=limit, aspect="auto")
    _ticks(ax, [phenos[j] for j in cols], [annots[i] for i in rows])
    ax.set_xlabel("phenotype")
    ax.set_ylabel("annotation")
    ax.set_title("SLDP z (sign-flip), clustered")
    label = "z" if flips is None else f"z (|z| ≤ {largest_z(flips):.2f}:\np ≥ 1/{flips:,} flips)"
    fig.colorbar(image, ax=ax, label=label)
    return fig


def z_correlation_figure(results: pl.DataFrame) -> Figure:
    """The correlation of the annotations' z profiles across phenotypes, in the order of
    the heat map's rows (:func:`cluster_order` of the profiles on correlation distance,
    one minus what is drawn): of n annotations it clusters n profiles of a few
    phenotypes, not the n × n correlations."""
    annots, phenos, z = z_matrix(results)
    order = cluster_order(z)
    corr = profile_correlation(z[order]) if len(phenos) > 1 else np.eye(len(annots))
    fig = _figure(len(annots), len(annots))
    ax = fig.subplots()
    image = ax.imshow(corr, cmap="RdBu_r", vmin=-1, vmax=1)
    _ticks(ax, [annots[i] for i in order], [annots[i] for i in order])
    ax.set_title("correlation of annotations' z across phenotypes")
    fig.colorbar(image, ax=ax, label="Pearson r")
    return fig


def write_figures(
    results: pl.DataFrame,
    out: str | os.PathLike[str],
    *,
    flips: int | None = None,
    svg: bool = False,
) -> list[Path]:
    """``z_heatmap.png`` (its z range given by `flips`) and ``z_correlation.png`` in `out`
    (an SVG beside each with `svg`); returns the files written."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    heatmap, correlation = FIGURE_STEMS
    written = save_figure(z_heatmap_figure(results, flips), out / f"{heatmap}.png", svg=svg)
    written += save_figure(z_correlation_figure(results), out / f"{correlation}.png", svg=svg)
    return written


def _figure(columns: int, rows: int, min_height: float = 0.0) -> Figure:
    width = min(max(5.0, 3.0 + 0.25 * min(columns, MAX_LABELS)), 16.0)
    height = min(max(min_height, 2.5 + 0.2 * min(rows, MAX_LABELS)), 16.0)
    return new_figure(figsize=(width, height))


def _ticks(ax, x: list[str], y: list[str]) -> None:
    for labels, set_ticks, set_labels, rotation in (
        (x, ax.set_xticks, ax.set_xticklabels, 90),
        (y, ax.set_yticks, ax.set_yticklabels, 0),
    ):
        if len(labels) <= MAX_LABELS:
            set_ticks(range(len(labels)))
            set_labels(labels, rotation=rotation, fontsize=7)
        else:
            set_ticks([])
