"""The names of the files ``crossreg evaluate``, ``compare`` and ``transfer`` write into
their folders, without numpy: each command checks its ``--out`` against them before its
step loads (:func:`crossreg.commands.inputs.require_own_folder`)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from pathlib import Path

from crossreg.io.file_names import SAFE_CHARACTERS, safe_stem

SUMMARY_FILE = "summary.json"  # evaluate's and transfer's
METRICS_FILE = "metrics.tsv"  # evaluate's table
TRACKS_FILE = "tracks.npz"  # the values evaluate's tracks figure draws
FIGURE_STEMS = ("r_by_assay", "tracks")  # evaluate's figures (plot_evaluation)
COMPARISON_FILE = "comparison.tsv"  # compare's table
SCATTER_STEM = "scatter"  # compare's figure
TRANSFER_FILES = ("transfer.tsv", "matrix.tsv")  # transfer's tables, in writing order
MATRIX_PREFIX = "matrix_"  # transfer's heat maps: one per experiment, named after it

#: A heat map's file name as :func:`heat_map_stem` forms it, with ``.png`` or ``.svg``.
_HEAT_MAP_NAME = re.compile(rf"{MATRIX_PREFIX}[{SAFE_CHARACTERS}]+\.(png|svg)")


def _figures(*stems: str) -> list[str]:
    """Each of `stems` as ``.png`` and ``.svg``."""
    return [f"{stem}{suffix}" for stem in stems for suffix in (".png", ".svg")]


def evaluate_names() -> list[str]:
    """Every file ``crossreg evaluate`` may write into its folder."""
    return [METRICS_FILE, SUMMARY_FILE, TRACKS_FILE, *_figures(*FIGURE_STEMS)]


def compare_names() -> list[str]:
    """Every file ``crossreg compare`` may write into its folder."""
    return [COMPARISON_FILE, *_figures(SCATTER_STEM)]


def heat_map_stem(experiment: str) -> str:
    """The file name, less its suffix, of transfer's heat map of `experiment`
    (``matrix_CHIP_H3K27ac``): the experiment's
    :func:`~crossreg.io.file_names.safe_stem`, ``experiment`` when it has none."""
    return f"{MATRIX_PREFIX}{safe_stem(experiment, 'experiment')}"


def transfer_names(experiments: Iterable[str]) -> list[str]:
    """Every file ``crossreg transfer`` may write into its folder when it compares
    `experiments`: its tables, ``summary.json`` and each experiment's heat map as ``.png``
    and ``.svg``."""
    return [*TRANSFER_FILES, SUMMARY_FILE, *_figures(*map(heat_map_stem, experiments))]


def recorded_heat_maps(folder: str | Path) -> list[str]:
    """The heat maps that the ``summary.json`` in `folder` lists as its transfer run's
    (``figures``): only names :func:`heat_map_stem` forms, so that a damaged or edited
    summary names nothing else; none where there is no summary that reads."""
    try:
        summary = json.loads((Path(folder) / SUMMARY_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):  # absent, unreadable, not JSON
        return []
    figures = summary.get("figures") if isinstance(summary, dict) else None
    names = figures if isinstance(figures, list) else []
    return sorted({n for n in names if isinstance(n, str) and _HEAT_MAP_NAME.fullmatch(n)})
