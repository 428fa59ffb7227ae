"""Signs that a run's optimisation has gone wrong while its figures stay finite (a NaN
stops the run instead: :class:`crossreg.train.trainer.TrainingDivergedError`), and signs
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

from crossreg.model.metrics import TrackMetrics
from crossreg.train.loss import POISSON_EPSILON

#: Predictions whose mean over every bin and track is this many times the targets' are
#: taken for blown up (an untrained softplus head predicts about 0.7 everywhere).
BLOWN_UP = 100.0
#: A validation loss that rises from the epoch before's by this many times that loss's
#: size (so to 10 times it where it is positive), while the training loss did not rise as
#: much, is taken for a validation blown up. The Poisson loss of targets above 1 is often
#: negative, hence a rise measured against the size rather than a ratio.
VALIDATION_JUMP = 9.0


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
    sums, _ = metrics.state()
    targets, predictions = float(sums[0].sum()), float(sums[1].sum())
    if predictions >= BLOWN_UP * targets > 0:
        found.append(f"its predictions average {predictions / targets:.3g} times its targets")
    if found:
        found.append(
            f"its training loss is {train_loss:.4g}, {train_loss / zero:.2g} times that of "
            f"predicting 0 everywhere ({zero:.4g})"
        )
    return found


def validation_blowup(
    valid_loss: float,
    valid_r: float,
    train_loss: float | None,
    before: tuple[float, float | None] | None,
) -> list[str]:
    """What says a genome's validation blew up while its training did not, in words: at an
    epoch whose `train_loss` is finite, a validation loss or mean R that is not, or a
    validation loss risen from the epoch before's by :data:`VALIDATION_JUMP` times that
    loss's size or more (`before`: its validation and training loss) while the training
    loss did not rise as much. Empty otherwise: a genome that took no step (`train_loss`
    None), a non-finite training loss (a divergence, reported as such), a first epoch, or
    an epoch before whose validation loss was 0 (no size to judge a rise by)."""
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
    if before is None:
        return []
    valid_before, train_before = before
    if not jumped(valid_before, valid_loss):
        return []
    if train_before is not None and jumped(train_before, train_loss):
        return []  # the training loss rose as much: not the validation's alone
    if train_before is not None:
        training += f" ({train_before:.4g} the epoch before)"
    rise = (valid_loss - valid_before) / abs(valid_before)
    return [
        f"its validation loss rose from {valid_before:.4g} the epoch before to "
        f"{valid_loss:.4g}, by {rise:.3g} times the former's size",
        training,
    ]


def jumped(before: float, now: float) -> bool:
    """Whether a loss rose from `before` to `now` by :data:`VALIDATION_JUMP` times the
    size of `before` or more (never where `before` is 0)."""
    return before != 0 and now - before >= VALIDATION_JUMP * abs(before)


def number_text(value: float) -> str:
    """A non-finite figure in words: NaN, inf or -inf."""
    return "NaN" if math.isnan(value) else str(value)
