"""The ``train`` section of a Basenji params file (:mod:`crossreg.model.params`), checked
when a run trains from it: the keys crossreg reads (:data:`TRAIN_KEYS`), their types, the
optimiser, and the range of each count and rate. Importing weights or predicting reads no
``train`` key, so they do not check it."""

from __future__ import annotations

import difflib
import math
from collections.abc import Iterable, Mapping
from typing import Any

# the train keys crossreg reads (train.trainer, train.optim); numbers unless named here
TRAIN_KEYS = (
    "batch_size", "optimizer", "learning_rate", "momentum", "adam_beta1", "adam_beta2",
    "clip_norm", "clipnorm", "patience", "train_epochs_min", "train_epochs_max", "loss",
)  # fmt: skip
TRAIN_TEXT_KEYS = ("optimizer", "loss")
#: the loss crossreg trains with (Basenji's default, which its tutorial params name)
TRAIN_LOSS = "poisson"
# keys of Basenji's or baskerville's params that crossreg does not implement, and what to do
TRAIN_KEY_HINTS = {
    "global_clipnorm": "give clip_norm and train with --clip-mode global",
    "train_epochs": "Basenji's trainer does not read it either (its epochs are "
    "train_epochs_min and train_epochs_max); give train_epochs_max for a cap",
}
#: the names of SGD with momentum ("momentum": Basenji's other name for it)
SGD_NAMES = ("sgd", "momentum")
#: the optimiser names crossreg trains with
TRAIN_OPTIMIZERS = (*SGD_NAMES, "adam")
#: train keys that count batches or epochs: whole numbers from this least value
TRAIN_COUNTS = {"batch_size": 1, "patience": 0, "train_epochs_min": 1, "train_epochs_max": 1}
#: train keys of a rate or norm: (least, above: whether the least itself is refused, bound
#: the value stays below)
TRAIN_RANGES = {
    "learning_rate": (0.0, True, math.inf),
    "momentum": (0.0, False, math.inf),
    "clip_norm": (0.0, False, math.inf),
    "clipnorm": (0.0, False, math.inf),
    "adam_beta1": (0.0, False, 1.0),
    "adam_beta2": (0.0, False, 1.0),
}


def unknown_train_keys(train: Mapping[str, Any]) -> list[str]:
    """The keys of a ``train`` section that crossreg does not read, sorted."""
    return sorted(set(train) - set(TRAIN_KEYS))


def misspelt(unknown: Iterable[str], known: Iterable[str]) -> str:
    """``; 'learning_rat' may be learning_rate`` for each of the `unknown` keys that is
    close to one of the `known` (a typo), "" when none is."""
    names = list(known)
    hints = []
    for key in unknown:
        near = difflib.get_close_matches(key, names, n=1, cutoff=0.8)
        if near:
            hints.append(f"; {key!r} may be {near[0]}")
    return "".join(hints)


def check_train_section(train: Mapping[str, Any], source: str) -> None:
    """Stop on a ``train`` key crossreg does not read (training would ignore it: a
    ``global_clipnorm`` would leave the run unclipped), a value of the wrong type, an
    optimiser crossreg lacks, a count that is not a whole number or a rate out of range:
    all before torch loads."""
    unknown = unknown_train_keys(train)
    if unknown:
        hints = "".join(f"; {k}: {TRAIN_KEY_HINTS[k]}" for k in unknown if k in TRAIN_KEY_HINTS)
        typos = [k for k in unknown if k not in TRAIN_KEY_HINTS]
        raise ValueError(
            f"{source}: train key(s) {', '.join(unknown)} are not implemented by crossreg "
            f"(it reads {', '.join(TRAIN_KEYS)}){hints}{misspelt(typos, TRAIN_KEYS)}; "
            "correct or remove them"
        )
    for key, value in train.items():
        text = key in TRAIN_TEXT_KEYS
        if text != isinstance(value, str) or (not text and isinstance(value, bool)):
            kind = "a name" if text else "a number"
            raise ValueError(f"{source}: train.{key} must be {kind}, not {value!r}")
    _check_optimizer(train, source)
    loss = train.get("loss", TRAIN_LOSS)
    if loss.lower() != TRAIN_LOSS:
        raise ValueError(
            f"{source}: train.loss '{loss}' is not supported; crossreg trains with Basenji's "
            f"Poisson loss ('{TRAIN_LOSS}', also its default): set it or remove the key"
        )
    _check_train_counts(train, source)
    _check_train_ranges(train, source)


def _check_optimizer(train: Mapping[str, Any], source: str) -> None:
    """``train.optimizer`` names an optimiser crossreg has (any case)."""
    name = train.get("optimizer", "sgd")
    if name.lower() not in TRAIN_OPTIMIZERS:
        raise ValueError(
            f"{source}: train.optimizer '{name}' is not supported; use 'sgd' (or 'momentum', "
            "the same SGD with momentum) or 'adam'"
        )


def _check_train_counts(train: Mapping[str, Any], source: str) -> None:
    """Batch size, patience and epoch limits are whole numbers (2.0 is 2; 2.7 is refused
    rather than cut to 2) from their least value."""
    for key, least in TRAIN_COUNTS.items():
        value = train.get(key)
        if value is not None and not (float(value).is_integer() and value >= least):
            raise ValueError(
                f"{source}: train.{key} must be a whole number, {least} or more, got {value!r}; "
                "correct it in the params file"
            )


def _check_train_ranges(train: Mapping[str, Any], source: str) -> None:
    """The learning rate is above 0, momentum and clipping norms 0 or more (all finite) and
    Adam's betas from 0 to below 1."""
    for key, (least, above, bound) in TRAIN_RANGES.items():
        value = train.get(key)
        if value is None or (least < value < bound) or (value == least and not above):
            continue
        raise ValueError(
            f"{source}: train.{key} must be {_range_words(least, above, bound)}, got "
            f"{value!r}; correct it in the params file"
        )


def _range_words(least: float, above: bool, bound: float) -> str:
    """A :data:`TRAIN_RANGES` range in words."""
    if bound < math.inf:
        return f"a number from {least:g} up to (not including) {bound:g}"
    return f"a finite number above {least:g}" if above else f"a finite number, {least:g} or more"
