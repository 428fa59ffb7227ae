"""Which tracks cross-species transfer compares, from their descriptions, and why a
normalised R may be missing.

A track's *experiment* is its description without the cell type (``CAGE``,
``CHIP:H3K27ac``; DNASE and ATAC together as ``DNASE``); its cell type is the rest
(``CAGE:liver`` → ``liver``; :func:`crossreg.io.targets.split_description`).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from crossreg.io.targets import assay_of, split_description

ACCESSIBILITY = ("DNASE", "ATAC")


def experiment_of(description: str) -> str | None:
    """The experiment of a track: its description without the cell type
    (``CHIP:H3K27ac:liver`` → ``CHIP:H3K27ac``), ``DNASE`` for any accessibility track,
    ``None`` for a description without a cell type (no ``:``)."""
    if ":" not in description:
        return None
    if assay_of(description) in ACCESSIBILITY:
        return "DNASE"
    return split_description(description)[0]


def cell_type_of(description: str) -> str:
    """The cell type of a track: its description after the assay (and a ChIP's target),
    ``CAGE:liver`` → ``liver``."""
    return split_description(description)[1]


def is_accessibility(description: str) -> bool:
    """DNASE and ATAC tracks (compared at variable sites, not at TSSs)."""
    return assay_of(description) in ACCESSIBILITY


def assay_of_experiment(experiment: str) -> str:
    """The assay an experiment's numbers are summarised under (``CHIP:H3K27ac`` → ``CHIP``)."""
    return experiment.split(":", 1)[0]


def normalised_r_gap(
    experiment: str,
    sites: int,
    head_cells: Sequence[str],
    measured_cells: Sequence[str],
    values: npt.NDArray,
    matched: npt.NDArray[np.bool_],
) -> str | None:
    """Why an experiment's matrix `values` ``(head tracks, measured tracks)`` of
    normalised R (`matched` cells marked; the tracks' cell types given) has no finite
    matched cell or no finite unmatched one; ``None`` when it has both."""
    values = np.asarray(values, dtype=np.float64)
    if np.isfinite(values[matched]).any() and np.isfinite(values[~matched]).any():
        return None
    sides = [
        f"{who} has one track ({cells[0]})"
        for who, cells in (("the head", head_cells), ("the genome", measured_cells))
        if len(cells) == 1
    ]
    if sites < 3:
        why = f"{sites} sites, and R needs 3"
    elif sides:
        why = (
            f"{' and '.join(sides)}: mean-normalising over a side's tracks leaves 0 at every "
            "site, so normalised R needs two or more cell types on each side"
        )
    elif not (~matched).any():
        why = "every head track has the cell type of every measured track: no unmatched pair"
    elif not matched.any():
        why = "no head track has the cell type of a measured track: no matched pair"
    else:
        why = "the tracks of a side are equal at every site once mean-normalised"
    return f"{experiment}: {why}"
