"""Figures, written as PNG files without a display."""

from __future__ import annotations

import os

import polars as pl

from crossreg.io.atomic import atomic_write


def joint_vs_single_scatter(
    pairs: pl.DataFrame, path: str | os.PathLike[str], *, title: str = ""
) -> None:
    """Scatter of per-track Pearson R, single-genome (x) vs joint (y), coloured by assay."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(4.5, 4.5), dpi=120)
    low = min(float(pairs["r_single"].min()), float(pairs["r_joint"].min()), 0.0)
    for (assay,), group in pairs.group_by(["assay"], maintain_order=True):
        ax.scatter(group["r_single"], group["r_joint"], s=10, alpha=0.7, label=assay)
    ax.plot([low, 1], [low, 1], color="grey", linewidth=0.8, linestyle="--")
    ax.set_xlim(low, 1)
    ax.set_ylim(low, 1)
    ax.set_xlabel("single-genome model, test Pearson R")
    ax.set_ylabel("joint model, test Pearson R")
    if title:
        ax.set_title(title)
    ax.legend(frameon=False, fontsize=8)
    fig.tight_layout()
    with atomic_write(path, "wb") as handle:
        fig.savefig(handle, format="png")
    plt.close(fig)
