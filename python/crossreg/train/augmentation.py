"""A run's augmentation shift: where it comes from (``--augment-shift``, the params'
``model.augment_shift``, or the paper's), and the check that it moves the sequence by
less than one target bin of every store. Torch-free, so the command line checks the
shift before torch loads."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from crossreg.data.store import DataStore
    from crossreg.model.params import ModelParams

#: the paper's augmentation shift in bp, taken where the params name no augmentation key
PAPER_SHIFT = 3
#: where a run's shift came from (:func:`augment_shift`), in words for messages
SHIFT_FLAG = "--augment-shift {shift}"
SHIFT_PARAMS = "the params' model.augment_shift {shift}"
SHIFT_PAPER = (
    "the paper's shift of {shift} bp (the params name neither model.augment_rc nor "
    "model.augment_shift)"
)


def names_augmentation(model: ModelParams) -> bool:
    """Whether the params' model section names either augmentation key (even to turn it
    off): then they decide the augmentation, else the paper's is taken."""
    return model.augment_rc is not None or model.augment_shift is not None


def augment_shift(given: int | None, model: ModelParams) -> tuple[int, str]:
    """A run's largest shift in bp and where it came from: `given` (``--augment-shift``),
    else the params' ``model.augment_shift`` (its largest), else :data:`PAPER_SHIFT`."""
    if given is not None:
        return given, SHIFT_FLAG
    if names_augmentation(model):
        return max((abs(s) for s in model.augment_shift or ()), default=0), SHIFT_PARAMS
    return PAPER_SHIFT, SHIFT_PAPER


def check_augment_shift(shift: int, origin: str, stores: Sequence[DataStore]) -> None:
    """Stop unless `shift` (from `origin`, :func:`augment_shift`) moves the sequence by less
    than one target bin of every store: a larger one would move it off the bins its
    targets measure."""
    for store in stores:
        width = store.pool_width
        if shift >= width:
            fix = f"give --augment-shift below {width}"
            if origin == SHIFT_PARAMS:
                fix = f"set model.augment_shift below {width} in the params, or {fix}"
            raise ValueError(
                f"{origin.format(shift=shift)}: the sequence would move past whole {width}-bp "
                f"target bins of {store.path}; {fix} (the paper's is {PAPER_SHIFT})"
            )
