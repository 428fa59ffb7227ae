"""What a run does with the signs of trouble: it stops with :class:`TrainingDivergedError`
at the first read of an epoch's training loss that is not finite
(:func:`check_training_loss`), and, in an epoch it finished, once a validation loss or
score is not finite; it warns
of an optimisation gone wrong two epochs running (:func:`crossreg.train.health.symptoms`)
and of a validation blown up while the training was not
(:func:`crossreg.train.health.validation_blowup`), saying what to change."""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import torch

from crossreg.errors import CommandError
from crossreg.train.early_stopping import validation_scores
from crossreg.train.genome_data import GenomeData
from crossreg.train.health import EpochLosses, number_text, validation_blowup

log = logging.getLogger("crossreg")


#: What to do about a store's targets out of range, which a NaN loss may come from.
TARGETS_FIX = (
    "crossreg data warns of tracks beyond float16's range: lower their clip or scale in the "
    "targets table and rebuild the store"
)


class TrainingDivergedError(CommandError):
    """A training loss, validation loss or score came out NaN or infinite: the weights
    diverged or, where the training loss stayed finite, the validation blew up."""


@dataclass(frozen=True)
class Advice:
    """What to tell a run whose optimisation or validation went wrong: where its user
    sets the learning rate (`learning_rate_setting`), its clipping norm and whether it
    runs in bf16."""

    learning_rate_setting: str
    clip_norm: float | None
    bf16: bool

    def optimisation(self) -> str:
        """What to change in a run whose optimisation went wrong."""
        clip = "lower --clip-norm" if self.clip_norm else "set --clip-norm"
        return f"lower {self.learning_rate_setting} or {clip}"

    def training(self) -> str:
        """What to change in a run whose training loss turned NaN or infinite: a resume
        keeps the learning rate and the clipping, and would take the same steps again."""
        text = f"{self.optimisation()} in a new run (--resume keeps both)"
        if self.bf16:
            text += ", or, as bf16 may overflow, train with --no-bf16"
        return f"{text}; or a training window's targets are out of range ({TARGETS_FIX})"

    def validation(self) -> str:
        """The likely causes of a validation blown up while the training was not, and what
        to do about each."""
        causes = [
            "a validation window whose targets are out of range (look at the store's "
            f"validation targets; {TARGETS_FIX})",
            f"too large a learning rate ({self.optimisation()})",
        ]
        if self.bf16:
            causes.append("bf16 overflowing in the validation's predictions (train with --no-bf16)")
        return "likely causes: " + "; ".join(causes)


def epoch_name(phase: str, epoch: int, main_phase: str) -> str:
    """An epoch in words: ``epoch 3`` of the `main_phase`, ``human fine-tuning epoch 2``."""
    words = "epoch" if phase == main_phase else f"{phase} fine-tuning epoch"
    return f"{words} {epoch}"


def saved_loss(value: object) -> float | None:
    """A training loss as a row of ``metrics.csv`` holds it: None for an epoch in which
    the genome took no step."""
    return None if value is None or value == "" else float(str(value))


def check_training_loss(
    genomes: Sequence[GenomeData],
    sums: Sequence[float],
    step: int,
    finite_at: int,
    when: str,
    advice: Advice,
) -> None:
    """Stop the epoch in progress (`when`, :func:`epoch_name`) at its `step`-th step once
    a genome's training loss summed over its steps so far (`sums`, the processes' mean,
    which every process reads alike and so stops alike) is not finite: every later step
    would train NaN weights. `finite_at` is the step of the read before, whose sums were
    finite (0 for none). Nothing of the epoch is saved: ``last/``, ``best/`` and
    ``metrics.csv`` keep the epochs that finished."""
    for data, total in zip(genomes, sums, strict=True):
        if math.isfinite(total):
            continue
        steps = f"step {step}" if step - finite_at == 1 else f"steps {finite_at + 1} to {step}"
        raise TrainingDivergedError(
            f"training diverged: the training loss turned {number_text(total)} in {steps} "
            f"of {when} (genome {data.name}); the run stops with nothing of the epoch "
            f"saved; {advice.training()}"
        )


def check_weights(model: torch.nn.Module, when: str, advice: Advice) -> None:
    """Stop the epoch `when` (:func:`epoch_name`) once its steps are done when a weight of
    `model` is not finite: the last update diverged after every loss read was finite (a
    step's loss comes before its update), and the validation would blame its own targets.
    One read of the device per epoch; the processes of a torchrun job hold the same
    weights and so stop alike. Nothing of the epoch is saved, as
    :func:`check_training_loss` says."""
    if bool(torch.stack([p.detach().isfinite().all() for p in model.parameters()]).all()):
        return
    raise TrainingDivergedError(
        f"training diverged: the weights turned NaN or infinite in the last steps of {when}, "
        "after every training loss read was finite; the run stops with nothing of the epoch "
        f"saved; {advice.training()}"
    )


def check_diverged(
    genomes: Sequence[GenomeData],
    results: Mapping[str, tuple[float, float, float]],
    scores: Sequence[float],
    train_losses: Mapping[str, float | None],
    when: str,
    advice: Advice,
) -> None:
    """Stop once a genome's validation loss or score is not finite (NaN): its weights
    have diverged, and later epochs or fine-tuning from them would train on NaN; or,
    where its training loss (`train_losses`) is finite, its validation blew up, and no
    best epoch can be chosen by it. Called once ``last/`` and ``metrics.csv`` hold the
    epoch (`when`, :func:`epoch_name`), for the user to inspect."""
    for data, score in zip(genomes, scores, strict=True):
        loss = results[data.name][0]
        figure, value = ("loss", loss) if not math.isfinite(loss) else ("score", score)
        if math.isfinite(value):
            continue
        train_loss = train_losses.get(data.name)
        if train_loss is not None and math.isfinite(train_loss):
            raise TrainingDivergedError(
                f"validation {figure} is {number_text(value)} at {when} "
                f"(genome {data.name}) while its training loss is {train_loss:.4g}: no "
                f"best epoch can be chosen by it, so the run stops; {advice.validation()}"
            )
        raise TrainingDivergedError(
            f"training diverged: validation {figure} is {number_text(value)} at "
            f"{when} (genome {data.name}); {advice.optimisation()}"
        )


def check_saved_epoch(
    rows: Sequence[Mapping[str, Any]],
    phase: str,
    epoch: int,
    genomes: Sequence[GenomeData],
    when: str,
    advice: Advice,
) -> None:
    """Stop a resumed phase whose last saved epoch (`epoch` of `phase`, `when` in words)
    diverged (:func:`check_diverged` on its ``metrics.csv`` `rows`) before it trains
    another epoch from NaN weights."""
    saved = {row["genome"]: row for row in rows if row["phase"] == phase and row["epoch"] == epoch}
    if epoch == 0 or any(g.head not in saved for g in genomes):
        return
    results = {
        g.name: (
            float(saved[g.head]["valid_loss"]),
            float(saved[g.head]["valid_pearson_r"]),
            float(saved[g.head]["valid_r2"]),
        )
        for g in genomes
    }
    scores = validation_scores([results[g.name] for g in genomes])
    losses = {g.name: saved_loss(saved[g.head]["train_loss"]) for g in genomes}
    check_diverged(genomes, results, scores, losses, when, advice)


def warn_unhealthy(data: GenomeData, seen: Sequence[str], when: str, advice: Advice) -> None:
    """Warn that the epoch just finished (`when`) shows, in `data`'s validation, the
    `seen` signs of an optimisation gone wrong (:func:`crossreg.train.health.symptoms`),
    as the epoch before did, naming them and what to change. One epoch's alone is not
    warned of: early epochs move fast, and a run that has recovered by the next one has
    not gone wrong."""
    if seen:
        log.warning(
            "%s (genome %s): %s, and the epoch before showed such signs too: too large "
            "a learning rate does this; %s",
            when,
            data.name,
            ", ".join(seen),
            advice.optimisation(),
        )


def warn_validation_blowup(
    data: GenomeData,
    figures: tuple[float, float, float],
    train_loss: float | None,
    ratio: float,
    earlier: Sequence[EpochLosses],
    when: str,
    advice: Advice,
) -> None:
    """Warn that `data`'s validation (its loss, R and R², `figures`; its predictions
    `ratio` times its targets) blew up at the epoch just finished (`when`) while its
    training (`train_loss`) did not (:func:`crossreg.train.health.validation_blowup`: a
    non-finite figure, or a loss risen by 9 times the size of the epoch before's, of
    the phase's best so far among the `earlier` epochs or, at its first epoch, of its
    training loss), naming what was seen and its likely causes."""
    seen = validation_blowup(figures[0], figures[1], train_loss, earlier, ratio)
    if seen:
        log.warning(
            "%s (genome %s): %s: the validation blew up while the training did not; %s",
            when,
            data.name,
            ", ".join(seen),
            advice.validation(),
        )


def earlier_epochs(
    rows: Sequence[Mapping[str, Any]], phase: str, epoch: int, head: str
) -> list[EpochLosses]:
    """The losses of `head` in the epochs of `phase` before `epoch`, in order, as
    ``metrics.csv``'s `rows` hold them (resumed runs' included)."""
    return [
        EpochLosses(int(row["epoch"]), float(row["valid_loss"]), saved_loss(row["train_loss"]))
        for row in rows
        if row["phase"] == phase and int(row["epoch"]) < epoch and row["genome"] == head
    ]
