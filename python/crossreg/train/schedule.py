"""Which genome each training step draws its batch from, how far a batch may shift, when
to stop, and the names of a run's phases.

Basenji's multi-genome epoch: every genome contributes ``windows // batch_size`` batches;
the list of genome indices is shuffled, so genomes are drawn in proportion to their
training windows and each batch comes from one genome. Torch-free, so the command line
checks the shift before torch loads.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from crossreg.data.store import DataStore
    from crossreg.model.params import ModelParams

#: the phase that trains every genome together; each genome's fine-tuning phase after it
#: is named after the genome (in ``metrics.csv``, the checkpoints and the resume state)
JOINT_PHASE = "joint"
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


def check_batch_size(batch_size: int, windows: Mapping[str, int]) -> None:
    """Stop unless every store (its path -> the windows the run trains on in it) holds one
    whole batch of `batch_size`: batches are whole, so a smaller store would train no step.
    The message names the store with the fewest windows, so that the batch size it advises
    fits every store at once."""
    source, fewest = min(windows.items(), key=lambda item: item[1])
    if fewest < batch_size:
        among = f" (the fewest of the {len(windows)} stores)" if len(windows) > 1 else ""
        raise ValueError(
            f"dataset {source} has {fewest} train windows{among}, fewer than one batch of "
            f"{batch_size} (batches are whole); lower --batch-size to {fewest} or less"
        )


def check_phase_names(genomes: Sequence[str], sources: Sequence[str], finetune_epochs: int) -> None:
    """Stop when a run that fine-tunes each of several genomes after the joint phase
    (`finetune_epochs` above 0) has a genome named :data:`JOINT_PHASE` (`sources`: the
    stores' paths, in the order of `genomes`): its fine-tuning phase would bear the joint
    phase's name, be taken for the finished joint phase and never run."""
    if finetune_epochs <= 0 or len(genomes) < 2 or JOINT_PHASE not in genomes:
        return
    source = sources[list(genomes).index(JOINT_PHASE)]
    raise ValueError(
        f"dataset {source} is of genome '{JOINT_PHASE}', the name of the joint training "
        f"phase: with --finetune-epochs its fine-tuning phase would be taken for the joint "
        f"one and never run; rebuild the store with another crossreg data --genome, or "
        "train without --finetune-epochs"
    )


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
