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


def default_split(info: CheckpointInfo, store: DataStore, head: str) -> str:
    """The split to score `head` on when no --split is given: the fold the checkpoint's
    training held out (``train --test-fold``, recorded in its ``extra.train_options``)
    where `store` has it, else ``test``; logged when the checkpoint records a fold. A
    fine-tuned checkpoint records the fold its fine-tuning held out, which applies to its
    new head alone: its other heads, trained by its parent on other folds, get ``test``."""
    options = info.extra.get("train_options")
    fold = options.get("test_fold") if isinstance(options, dict) else None
    if not isinstance(fold, str):
        return "test"
    finetune = info.extra.get("finetune")
    tuned = finetune.get("head") if isinstance(finetune, dict) else None
    if tuned is not None and head != tuned:
        log.info(
            "no --split: %s records the fold %s that fine-tuning its head '%s' held out, not "
            "the one its parent's training held out for the head '%s'; scoring the split test "
            "(--split picks another)",
            info.directory,
            fold,
            tuned,
            head,
        )
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
