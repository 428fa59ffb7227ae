"""Which genome each training step draws its batch from, and when to stop.

Basenji's multi-genome epoch: every genome contributes ``windows // batch_size`` batches;
the list of genome indices is shuffled, so genomes are drawn in proportion to their
training windows and each batch comes from one genome.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np


def epoch_schedule(batches_per_genome: Sequence[int], rng: np.random.Generator) -> np.ndarray:
    """The shuffled genome index of every step of one epoch, int64 ``(sum(batches),)``."""
    if any(b < 0 for b in batches_per_genome):
        raise ValueError(f"batch counts must be >= 0, got {list(batches_per_genome)}")
    order = np.repeat(np.arange(len(batches_per_genome)), batches_per_genome)
    rng.shuffle(order)
    return order


def validation_statistic(pearson_r: float, r2: float, *, alone: bool) -> float:
    """What a genome's validation scores as, for stopping and for the best checkpoint:
    its mean Pearson R in a phase of several genomes (Basenji's ``fit2``), and
    R + R²/4 for a genome trained alone (Basenji's ``fit_tape``), R² counted as 0 where it
    is undefined (every track constant)."""
    if not alone:
        return pearson_r
    return pearson_r + (r2 / 4 if np.isfinite(r2) else 0.0)


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
