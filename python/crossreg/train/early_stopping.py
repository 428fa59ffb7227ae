"""When a phase stops: each genome's validation statistic (which also picks the best
checkpoint) and the per-genome patience of early stopping."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np


def validation_statistic(pearson_r: float, r2: float, *, alone: bool) -> float:
    """What a genome's validation scores as, for stopping and for the best checkpoint:
    its mean Pearson R in a phase of several genomes (Basenji's ``fit2``), and
    R + R²/4 for a genome trained alone (Basenji's ``fit_tape``), R² counted as 0 where it
    is undefined (every track constant)."""
    if not alone:
        return pearson_r
    return pearson_r + (r2 / 4 if np.isfinite(r2) else 0.0)


def validation_scores(results: Sequence[tuple[float, float, float]]) -> list[float]:
    """The :func:`validation_statistic` of each genome of a phase from its validation
    loss, R and R² (`results`, one per genome in the phase's order): a genome alone when
    the phase trains one."""
    alone = len(results) == 1
    return [validation_statistic(r, r2, alone=alone) for _, r, r2 in results]


@dataclass
class EarlyStopping:
    """Per-genome patience: stop once every genome has gone more than `patience` epochs
    unimproved (Basenji's rule: with patience 16, the 17th epoch without improving stops).

    A genome improves when its validation statistic (:func:`validation_statistic`) beats
    its best so far.
    Training never stops before `min_epochs` epochs.
    """

    n_genomes: int
    patience: int
    min_epochs: int = 1
    best: list[float] = field(init=False)
    unimproved: list[int] = field(init=False)
    epochs: int = field(init=False, default=0)

    def __post_init__(self) -> None:
        self.best = [-np.inf] * self.n_genomes
        self.unimproved = [0] * self.n_genomes

    def update(self, stats: Sequence[float]) -> list[bool]:
        """Record one epoch's statistic per genome; return which genomes improved."""
        self.epochs += 1
        improved = []
        for g, value in enumerate(stats):
            better = bool(value > self.best[g])
            if better:
                self.best[g] = float(value)
                self.unimproved[g] = 0
            else:
                self.unimproved[g] += 1
            improved.append(better)
        return improved

    @property
    def should_stop(self) -> bool:
        """True when every genome is past its patience (and `min_epochs` have run)."""
        return self.epochs >= self.min_epochs and min(self.unimproved) > self.patience

    def state_dict(self) -> dict:
        """JSON-serialisable state, for resuming."""
        return {"best": self.best, "unimproved": self.unimproved, "epochs": self.epochs}

    def load_state_dict(self, state: dict) -> None:
        """Restore the state written by :meth:`state_dict`."""
        self.best = [float(v) for v in state["best"]]
        self.unimproved = [int(v) for v in state["unimproved"]]
        self.epochs = int(state["epochs"])
