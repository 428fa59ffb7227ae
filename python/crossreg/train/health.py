"""Signs that a run's optimisation has gone wrong while its figures stay finite (a NaN
stops the run instead: :class:`crossreg.train.divergence.TrainingDivergedError`), and signs
that its validation blew up while its training did not (:func:`validation_blowup`).

Too large a learning rate sends a head's outputs to where the softplus is flat: each
output so sent is the same in every bin (0 where the input is far below zero), little
gradient reaches it and its Pearson R is 0; or it sends the predictions orders of
magnitude above the targets. Either shows in the validation, and the training loss stays
near that of predicting 0 everywhere (:func:`zero_loss`) or above it. A healthy run
shows them together in no epoch: an untrained head's outputs vary from bin to bin and
are of the targets' order, a validation R near 0 in the first epochs comes with neither,
and where batch-norm statistics lag behind fast-moving weights early on (SGD at the
paper's settings, Adam at a large rate) the validation can show a few flat tracks or
predictions far too large while the training loss is already low.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from crossreg.model.metrics import TrackMetrics
from crossreg.train.loss import POISSON_EPSILON

#: Predictions whose mean over every bin and track is this many times the targets' are
#: taken for blown up (an untrained softplus head predicts about 0.7 everywhere).
BLOWN_UP = 100.0
#: A validation loss that rises by this many times the size of the loss it is compared
#: with (so to 10 times it where it is positive) is taken for a validation blown up:
#: compared with the epoch before's or the phase's best so far (the training loss not
#: rising as much from its own figure at that epoch), or, at a phase's first epoch, with
#: that epoch's training loss. The Poisson loss of targets above 1 is often negative, hence
#: a rise measured against the size rather than a ratio.
VALIDATION_JUMP = 9.0
#: The least size a rise is measured against (:func:`jumped`): the Poisson loss is near 0
#: where the targets are near e (``y − y·ln y`` at predictions equal to targets ``y``), and
#: a wobble of a loss near 0 is no jump; a tenth of the loss of targets of 1 predicted
#: exactly. The validation targets' own mean would not do: targets out of range, the
#: likeliest cause of a blow-up, raise it with the loss.
LEAST_SIZE = 0.1


@dataclass(frozen=True)
class EpochLosses:
    """An earlier epoch of a genome's phase as ``metrics.csv`` holds it: its number, its
    validation loss and its training loss (None where the genome took no step)."""

    epoch: int
    valid: float
    train: float | None


def zero_loss(metrics: TrackMetrics) -> float:
    """The Poisson loss of predicting 0 in every bin of every track of a validation's
    summed `metrics`: ``−log(1e-7)`` (Basenji's epsilon) times the mean target."""
    sums, count = metrics.state()
    return -math.log(POISSON_EPSILON) * float(sums[0].sum()) / max(count * metrics.n_tracks, 1)


def symptoms(metrics: TrackMetrics, train_loss: float | None) -> list[str]:
    """What says the optimisation has gone wrong, in words: in a validation's summed
    `metrics`, tracks whose predictions are the same in every bin and predictions that
    average :data:`BLOWN_UP` times the targets or more, when the epoch's `train_loss` is
    half or more of :func:`zero_loss`. Empty for a healthy epoch, one whose genome took no
    step (`train_loss` None), validation targets all 0 (no scale to judge by) and one given
    a non-finite value (a divergence, reported as such)."""
    zero = zero_loss(metrics)
    if metrics.non_finite().any() or train_loss is None or not train_loss >= zero / 2 > 0:
        return []
    found = []
    constant, tracks = int(metrics.constant_predictions().sum()), metrics.n_tracks
    if constant:
        which = f"all {tracks}" if constant == tracks else f"{constant} of its {tracks}"
        found.append(f"{which} tracks are predicted the same in every validation bin (R 0)")
    ratio = prediction_ratio(metrics)
    if ratio >= BLOWN_UP:
        found.append(f"its predictions average {ratio:.3g} times its targets")
    if found:
        found.append(
            f"its training loss is {train_loss:.4g}, {train_loss / zero:.2g} times that of "
            f"predicting 0 everywhere ({zero:.4g})"
        )
    return found


def prediction_ratio(metrics: TrackMetrics) -> float:
    """How many times its targets a validation's summed `metrics` predict on average, over
    every bin and track (infinite where the targets are all 0 and the predictions not, NaN
    where both are)."""
    sums, _ = metrics.state()
    targets, predictions = float(sums[0].sum()), float(sums[1].sum())
    if targets > 0:
        return predictions / targets
    return math.inf if predictions > 0 else math.nan


def validation_blowup(
    valid_loss: float,
    valid_r: float,
    train_loss: float | None,
    earlier: Sequence[EpochLosses],
    ratio: float,
) -> list[str]:
    """What says a genome's validation blew up while its training did not, in words: at an
    epoch whose `train_loss` is finite, a validation loss or mean R that is not; or a
    validation loss risen by :data:`VALIDATION_JUMP` times the size of the loss it is
    compared with or more (a size never below :data:`LEAST_SIZE`, :func:`jumped`): the
    epoch before's, or else the lowest of the phase's `earlier` epochs (a slow climb),
    while the training loss did not rise as much from its own at that epoch; or, at the
    phase's first epoch (`earlier` empty), the epoch's training loss, where its
    predictions average no more than its targets (`ratio`, :func:`prediction_ratio`): a
    validation bad from the start, by its targets. Empty otherwise: a genome that took no
    step (`train_loss` None), a non-finite training loss (a divergence, reported as such),
    or a first epoch whose predictions average above its targets (batch-norm statistics
    lagging behind fast-moving weights send a healthy run's validation predictions far
    too high in its first epoch, and its loss with them)."""
    if train_loss is None or not math.isfinite(train_loss):
        return []
    training = f"its training loss is {train_loss:.4g}"
    undefined = [
        f"its validation {name} is {number_text(value)}"
        for name, value in (("loss", valid_loss), ("R", valid_r))
        if not math.isfinite(value)
    ]
    if undefined:
        return [*undefined, training]
    if not earlier:
        if not ratio <= 1 or not jumped(train_loss, valid_loss):
            return []
        gap = rise_text(train_loss, valid_loss, "the latter's")
        return [
            f"its validation loss is {valid_loss:.4g}, above its training loss {gap}, with "
            f"predictions averaging {ratio:.3g} times its targets",
            training,
        ]
    before = earlier[-1]
    best = min(earlier, key=lambda e: e.valid)
    for reference, when in ((before, "the epoch before"), (best, f"at epoch {best.epoch}")):
        if not jumped(reference.valid, valid_loss):
            continue
        if reference.train is not None and jumped(reference.train, train_loss):
            continue  # the training loss rose as much: not the validation's alone
        start = f"{reference.valid:.4g} {when}"
        if reference is not before:
            start = f"its best, {start},"
        rise = rise_text(reference.valid, valid_loss, "the former's")
        if reference.train is not None:
            training += f" ({reference.train:.4g} {when})"
        return [f"its validation loss rose from {start} to {valid_loss:.4g}, {rise}", training]
    return []


def jumped(before: float, now: float) -> bool:
    """Whether a loss rose from `before` to `now` by :data:`VALIDATION_JUMP` times the
    size of `before`, or of :data:`LEAST_SIZE` where that is larger, or more: a loss near
    0 that wobbles by a hundredth has not jumped, and one risen from 0 is measured too."""
    return now - before >= VALIDATION_JUMP * max(abs(before), LEAST_SIZE)


def rise_text(before: float, now: float, whose: str) -> str:
    """How far a loss rose from `before` to `now`, in the size :func:`jumped` measures it
    by (`whose`: ``the former's``): ``by 97 times the former's size``, or, where that is
    below :data:`LEAST_SIZE`, ``by 490 times 0.1 (the former's size is less)``."""
    if abs(before) >= LEAST_SIZE:
        return f"by {(now - before) / abs(before):.3g} times {whose} size"
    return f"by {(now - before) / LEAST_SIZE:.3g} times {LEAST_SIZE:g} ({whose} size is less)"


def number_text(value: float) -> str:
    """A non-finite figure in words: NaN, inf or -inf."""
    return "NaN" if math.isnan(value) else str(value)
