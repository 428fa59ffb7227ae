"""Default settings of evaluate's whole-column statistics (:mod:`crossreg.evaluate.spill`)
and of transfer's sites (:mod:`crossreg.evaluate.transfer_sites`), in a module of their own
so that ``crossreg --help`` can show them without importing numpy, and the split evaluate
scores by default (:func:`default_split`)."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from crossreg.model.checkpoint_info import CheckpointInfo, held_out_fold

if TYPE_CHECKING:
    from crossreg.data.store import DataStore

log = logging.getLogger("crossreg")

MIN_CLASS = 2  # Basenji's paper-era script: a class of one track has no specificity
VARIABLE_FRACTION = 0.1  # transfer: share of held-out bins taken as most variable (DNase)
#: transfer: how each side is normalised across its tracks of an experiment (``mean``:
#: each site minus its mean over the tracks; ``quantile``: the tracks quantile-normalised
#: first), the default first
NORMALIZATIONS = ("mean", "quantile")


def default_split(info: CheckpointInfo, store: DataStore, head: str) -> str:
    """The split to score `head` on when no --split is given: the fold held out in
    training that head (:func:`~crossreg.model.checkpoint_info.held_out_fold`: ``train
    --test-fold``; a fine-tuned checkpoint records its parent's heads' and its new head's)
    where `store` has it, else ``test``; logged when the checkpoint records a fold."""
    fold = held_out_fold(info.extra, head)
    if fold is None:
        options = info.extra.get("train_options")
        recorded = options.get("test_fold") if isinstance(options, dict) else None
        if isinstance(recorded, str):
            log.info(
                "no --split: %s records no fold held out in training its head '%s' (one "
                "fine-tuned from a parent whose folds it does not record); scoring the split "
                "test (--split picks another)",
                info.directory,
                head,
            )
        return "test"
    if fold in store.splits:
        log.info(
            "no --split: scoring %s, the fold %s was trained to hold out for its head '%s' "
            "(train --test-fold %s); --split picks another",
            fold,
            info.directory,
            head,
            fold,
        )
        return fold
    log.info(
        "no --split: %s was trained to hold out the fold %s for its head '%s', which %s "
        "does not have; scoring its split test",
        info.directory,
        fold,
        head,
        store.path,
    )
    return "test"
