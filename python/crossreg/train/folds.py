"""Which splits of a dataset store a run trains and validates on.

A store of ``train``/``valid``/``test`` trains on ``train`` and validates on ``valid``. A
store of the folds of ``crossreg split --folds K`` (``fold0..fold{K-1}``) trains one
cross-validation model per choice of a validation fold and a test fold: on every other
fold, validating (early stopping, ``best/``) on the one and leaving the other untouched
for ``crossreg evaluate --split``. Needs no torch, so that commands check it first.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

#: A fold's split name, as ``crossreg split --folds`` labels regions.
FOLD = re.compile(r"fold\d+")


@dataclass(frozen=True)
class TrainingSplits:
    """The splits a run trains on (in the store's order) and the one it validates on."""

    train: tuple[str, ...]
    valid: str


def training_splits(
    splits: Iterable[str], valid_fold: str | None, test_fold: str | None, *, source: str
) -> TrainingSplits:
    """The training and validation splits of a store whose splits are `splits` (named
    `source` in messages): ``train``/``valid``, or with `valid_fold` and `test_fold`
    (both or neither) every fold but those two, and `valid_fold`."""
    names = list(splits)
    folds = [name for name in names if FOLD.fullmatch(name)]
    if valid_fold is None and test_fold is None:
        if folds and "train" not in names:
            raise ValueError(
                f"dataset {source} holds the folds {', '.join(folds)} of crossreg split "
                "--folds: choose the fold to validate on and the one to hold out with "
                f"--valid-fold and --test-fold (e.g. --valid-fold {folds[0]} --test-fold "
                f"{folds[-1]}); the run trains on the others"
            )
        return TrainingSplits(("train",), "valid")
    if valid_fold is None or test_fold is None:
        given, missing = ("--valid-fold", "--test-fold")[:: 1 if valid_fold else -1]
        raise ValueError(f"{given} needs {missing} too: a run holds out one fold of each kind")
    if not folds:
        raise ValueError(
            f"--valid-fold/--test-fold: dataset {source} holds no folds (its splits are "
            f"{', '.join(names)}); build it from the regions of crossreg split --folds K, "
            "or drop the two options"
        )
    for option, fold in (("--valid-fold", valid_fold), ("--test-fold", test_fold)):
        if fold not in folds:
            raise ValueError(
                f"{option} {fold}: dataset {source} has no such fold; it has {', '.join(folds)}"
            )
    if valid_fold == test_fold:
        raise ValueError(f"--valid-fold and --test-fold are both {valid_fold}: choose two folds")
    train = tuple(fold for fold in folds if fold not in (valid_fold, test_fold))
    if not train:
        raise ValueError(
            f"dataset {source} has only the folds {valid_fold} and {test_fold}, none left to "
            "train on; split into 3 folds or more"
        )
    return TrainingSplits(train, valid_fold)


def training_windows(
    splits: Mapping[str, Mapping[str, int]],
    valid_fold: str | None,
    test_fold: str | None,
    *,
    source: str,
) -> int:
    """How many windows a run trains on in a store whose splits are `splits` (each name's
    entry in its ``dataset.json``, with its ``count``), as :func:`training_splits` chooses."""
    chosen = training_splits(splits, valid_fold, test_fold, source=source)
    return sum(int(splits[name].get("count", 0)) for name in chosen.train)
