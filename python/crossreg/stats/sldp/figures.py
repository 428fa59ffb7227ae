"""The paper's Figure 4b–d views of SLDP results: z of annotations (tracks) × phenotypes
(tissues), and how alike the tracks' z profiles are across phenotypes, both clustered."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import numpy.typing as npt
import polars as pl

from crossreg.io.atomic import atomic_write

MAX_LABELS = 60  # tick labels beyond this many rows or columns are left off


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


def cluster_order(values: npt.NDArray[np.float64]) -> npt.NDArray[np.int64]:
    """Rows of `values` in the leaf order of average-linkage clustering on correlation
    distance (rows as given when fewer than three, or when a row is constant)."""
    from scipy.cluster.hierarchy import leaves_list, linkage

    filled = np.nan_to_num(values)
    if len(filled) < 3 or filled.shape[1] < 2 or np.any(filled.std(axis=1) == 0):
        return np.arange(len(filled))
    return leaves_list(linkage(filled, method="average", metric="correlation"))


def profile_correlation(z: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """Pearson correlation between the annotations' z profiles across phenotypes (NaN for
    an annotation whose z does not vary)."""
    filled = np.nan_to_num(z)
    centred = filled - filled.mean(axis=1, keepdims=True)
    norms = np.linalg.norm(centred, axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        unit = centred / norms[:, None]
    return unit @ unit.T


def write_figures(
    results: pl.DataFrame, out: str | os.PathLike[str], *, formats: tuple[str, ...] = ("png",)
) -> list[Path]:
    """``z_heatmap`` and ``z_correlation`` in `out`, one file per format; returns them."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    annots, phenos, z = z_matrix(results)
    rows = cluster_order(z)
    cols = cluster_order(z.T) if len(phenos) > 2 else np.arange(len(phenos))
    written: list[Path] = []
    limit = max(float(np.nanmax(np.abs(z))) if np.isfinite(z).any() else 1.0, 1.0)

    fig, ax = _figure(plt, len(phenos), len(annots))
    image = ax.imshow(z[np.ix_(rows, cols)], cmap="RdBu_r", vmin=-limit, vmax=limit, aspect="auto")
    _ticks(ax, [phenos[j] for j in cols], [annots[i] for i in rows])
    ax.set_xlabel("phenotype")
    ax.set_ylabel("annotation")
    ax.set_title("SLDP z (sign-flip), clustered")
    fig.colorbar(image, ax=ax, label="z")
    written += _save(plt, fig, Path(out) / "z_heatmap", formats)

    corr = profile_correlation(z) if len(phenos) > 1 else np.eye(len(annots))
    order = cluster_order(np.nan_to_num(corr))
    fig, ax = _figure(plt, len(annots), len(annots))
    image = ax.imshow(corr[np.ix_(order, order)], cmap="RdBu_r", vmin=-1, vmax=1)
    _ticks(ax, [annots[i] for i in order], [annots[i] for i in order])
    ax.set_title("correlation of annotations' z across phenotypes")
    fig.colorbar(image, ax=ax, label="Pearson r")
    written += _save(plt, fig, Path(out) / "z_correlation", formats)
    return written


def _figure(plt, columns: int, rows: int):
    width = min(max(5.0, 3.0 + 0.25 * min(columns, MAX_LABELS)), 16.0)
    height = min(2.5 + 0.2 * min(rows, MAX_LABELS), 16.0)
    return plt.subplots(figsize=(width, height), dpi=120)


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


def _save(plt, fig, stem: Path, formats: tuple[str, ...]) -> list[Path]:
    fig.tight_layout()
    paths = []
    stem.parent.mkdir(parents=True, exist_ok=True)
    for fmt in formats:
        path = stem.with_suffix(f".{fmt}")
        with atomic_write(path, "wb") as handle:
            fig.savefig(handle, format=fmt, bbox_inches="tight")
        paths.append(path)
    plt.close(fig)
    return paths
