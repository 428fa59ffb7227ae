"""Default settings of evaluate's whole-column statistics (:mod:`crossreg.evaluate.spill`)
and of transfer's sites (:mod:`crossreg.evaluate.transfer_sites`), in a module of their own
so that ``crossreg --help`` can show them without importing numpy, and the split evaluate
scores by default (:func:`default_split`)."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from crossreg.data.store import DataStore
    from crossreg.model.checkpoint_info import CheckpointInfo

log = logging.getLogger("crossreg")

MIN_CLASS = 2  # Basenji's paper-era script: a class of one track has no specificity
VARIABLE_FRACTION = 0.1  # transfer: share of held-out bins taken as most variable (DNase)


def default_split(info: CheckpointInfo, store: DataStore) -> str:
    """The split to score when no --split is given: the fold the checkpoint's training held
    out (``train --test-fold``, recorded in its ``extra.train_options``) where `store`
    has it, else ``test``; logged when the checkpoint records a fold."""
    options = info.extra.get("train_options")
    fold = options.get("test_fold") if isinstance(options, dict) else None
    if not isinstance(fold, str):
        return "test"
    if fold in store.splits:
        log.info(
            "no --split: scoring %s, the fold %s was trained to hold out (train --test-fold "
            "%s); --split picks another",
            fold,
            info.directory,
            fold,
        )
        return fold
    log.info(
        "no --split: %s was trained to hold out the fold %s, which %s does not have; "
        "scoring its split test",
        info.directory,
        fold,
        store.path,
    )
    return "test"
