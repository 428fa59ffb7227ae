"""The names of the files ``crossreg evaluate``, ``compare`` and ``transfer`` write into
their folders, without numpy: each command checks its ``--out`` against them before its
step loads (:func:`crossreg.commands.inputs.require_own_folder`)."""

from __future__ import annotations

SUMMARY_FILE = "summary.json"  # evaluate's and transfer's
METRICS_FILE = "metrics.tsv"  # evaluate's table
TRACKS_FILE = "tracks.npz"  # the values evaluate's tracks figure draws
FIGURE_STEMS = ("r_by_assay", "tracks")  # evaluate's figures (plot_evaluation)
COMPARISON_FILE = "comparison.tsv"  # compare's table
SCATTER_STEM = "scatter"  # compare's figure
TRANSFER_FILES = ("transfer.tsv", "matrix.tsv")  # transfer's tables, in writing order
MATRIX_PREFIX = "matrix_"  # transfer's heat maps: one per assay, named after it


def _figures(*stems: str) -> list[str]:
    """Each of `stems` as ``.png`` and ``.svg``."""
    return [f"{stem}{suffix}" for stem in stems for suffix in (".png", ".svg")]


def evaluate_names() -> list[str]:
    """Every file ``crossreg evaluate`` may write into its folder."""
    return [METRICS_FILE, SUMMARY_FILE, TRACKS_FILE, *_figures(*FIGURE_STEMS)]


def compare_names() -> list[str]:
    """Every file ``crossreg compare`` may write into its folder."""
    return [COMPARISON_FILE, *_figures(SCATTER_STEM)]


def transfer_names() -> list[str]:
    """Every file ``crossreg transfer`` may write into its folder, its heat maps as the
    glob pattern of their names."""
    return [*TRANSFER_FILES, SUMMARY_FILE, *_figures(f"{MATRIX_PREFIX}*")]
