"""Refusing NaN or infinite values where accuracy is measured: a store's targets (the
store is damaged: crossreg data never writes them) or a head's predictions (the weights
have diverged), told apart so that each message names what to replace."""

from __future__ import annotations

import os
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from crossreg.errors import first_few


def non_finite_columns(values: npt.ArrayLike) -> npt.NDArray[np.intp]:
    """The columns (last axis) of `values` that hold a NaN or infinite value."""
    array = np.asarray(values)
    return np.flatnonzero(~np.isfinite(array.reshape(-1, array.shape[-1])).all(axis=0))


def _named(identifiers: Sequence[str]) -> str:
    return f"{len(identifiers)} track(s) ({first_few(identifiers)})"


def check_finite_predictions(
    identifiers: Sequence[str],
    model_dir: str | os.PathLike[str],
    head: str,
    data_dir: str | os.PathLike[str],
) -> None:
    """Stop when `head` of the checkpoint in `model_dir` predicted NaN or infinite values
    on `data_dir` for the tracks `identifiers` (none: nothing to say)."""
    if identifiers:
        raise ValueError(
            f"{model_dir}: head '{head}' predicts NaN or infinite values for "
            f"{_named(identifiers)} on {data_dir}: the weights have diverged or are "
            "damaged; use another checkpoint (best/)"
        )


def check_finite_targets(
    identifiers: Sequence[str], data_dir: str | os.PathLike[str], where: str = ""
) -> None:
    """Stop when the store `data_dir` holds NaN or infinite targets (`where`: e.g. "in its
    'test' windows ") for the tracks `identifiers` (none: nothing to say)."""
    if identifiers:
        raise ValueError(
            f"dataset {data_dir} holds NaN or infinite targets {where}for "
            f"{_named(identifiers)}: crossreg data never writes them, so the store is "
            "damaged or not crossreg data's; rebuild it with crossreg data"
        )
