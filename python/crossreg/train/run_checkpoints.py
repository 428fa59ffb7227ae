"""The checkpoints of a training run and the resume from ``last/``: ``best/`` and
``finetune_<genome>/`` written whole, ``last/`` with the training state of its epoch
(:class:`RunState`, the optimiser, the ``metrics.csv`` rows, the stores' fingerprints),
``train_options.json``, and a resume that restores them after the checks of
:mod:`crossreg.train.resume_checks`."""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Protocol

import torch

from crossreg.data.store import DataStore
from crossreg.io.atomic import atomic_write
from crossreg.io.atomic_dir import atomic_directory
from crossreg.model.checkpoint import CheckpointConfig, read_config, save_checkpoint
from crossreg.model.seqnn import SeqNN
from crossreg.train.options import TrainOptions
from crossreg.train.resume_checks import (
    check_finished_phases,
    check_running_phase,
    check_same_run,
    check_same_stores,
    damaged_last,
)
from crossreg.train.state import load_training_state, save_training_state
from crossreg.train.store_identity import store_fingerprint

log = logging.getLogger("crossreg")


@dataclass
class RunState:
    """Progress that a resume restores."""

    phase: str = "joint"
    epoch: int = 0
    best_mean_r: float = -math.inf  # the best mean validation statistic of the phase
    stopping: dict[str, Any] = field(default_factory=dict)
    finished_phases: list[str] = field(default_factory=list)
    #: the genomes whose last epoch showed signs of an optimisation gone wrong, with them
    #: (:func:`crossreg.train.health.symptoms`): the next epoch, resumed or not, warns
    #: when it shows them too
    unhealthy: dict[str, list[str]] = field(default_factory=dict)


class KeepsState(Protocol):
    """What a run's model setup (:class:`crossreg.train.trainer.ModelSetup`) does for
    ``last/``: its main phase, where its learning rate is set, and what it saves beside
    the weights and restores from a checkpoint."""

    phase: str
    learning_rate_setting: str

    def save_state(self, folder: Path, model: SeqNN) -> None: ...

    def restore(self, folder: Path, model: SeqNN) -> None: ...


def save_whole(folder: Path, model: SeqNN, config: CheckpointConfig) -> None:
    """Write the checkpoint `folder` (``best/``, ``finetune_<genome>/``) whole: a crash
    while saving leaves the previous one as it was."""
    with atomic_directory(folder) as work:
        save_checkpoint(work, model, config)


def save_last(
    folder: Path,
    model: SeqNN,
    config: CheckpointConfig,
    setup: KeepsState,
    optimizer: torch.optim.Optimizer,
    state: RunState,
    rows: Sequence[Mapping[str, Any]],
    stores: Sequence[DataStore],
) -> None:
    """Write ``last/`` (`folder`) whole: the weights, what `setup` keeps and the training
    state of one epoch (`optimizer`, `state`, the ``metrics.csv`` `rows` so far and the
    fingerprints of the `stores`) replace the previous epoch's together or not at all."""
    with atomic_directory(folder) as last:
        save_checkpoint(last, model, config)
        setup.save_state(last, model)
        save_training_state(
            last,
            optimizer,
            {
                "run": asdict(state),
                "rows": rows,
                "stores": [store_fingerprint(store) for store in stores],
            },
        )


def write_options(out: Path, options: TrainOptions) -> None:
    """Write ``train_options.json`` in `out`: the options the run trains with."""
    with atomic_write(out / "train_options.json") as handle:
        json.dump(asdict(options), handle, indent=1)


def load_last(
    last: Path,
    setup: KeepsState,
    model: SeqNN,
    optimizer: torch.optim.Optimizer,
    now: CheckpointConfig,
    options: TrainOptions,
    stores: Sequence[DataStore],
) -> tuple[RunState, list[dict[str, Any]]]:
    """Restore the run in `last` into `model` and `optimizer` (and torch's random state)
    once it is the run that `now` (the checkpoint config this run would save), `options`
    and `stores` continue (:mod:`crossreg.train.resume_checks`); returns its run state and
    its ``metrics.csv`` rows."""
    try:
        saved = read_config(last)
    except ValueError as err:
        raise damaged_last(last, err) from None
    chosen = asdict(options)
    check_same_run(last, saved, now, chosen, setup.learning_rate_setting)
    try:
        setup.restore(last, model)
        extra = load_training_state(last, optimizer)
    except ValueError as err:
        raise damaged_last(last, err) from None
    check_same_stores(last, extra.get("stores"), stores)
    state = RunState(**extra["run"])
    saved_options = saved.extra.get("train_options", {})
    check_finished_phases(last, saved_options, chosen, state.finished_phases, setup.phase)
    check_running_phase(last, saved_options, chosen, extra["run"], setup.phase)
    return state, list(extra["rows"])


def say_nothing_was_trained(last: Path, options: TrainOptions, state: RunState, main: str) -> None:
    """Log that the run resumed from `last` had finished already: its phase's epochs
    (`state`; `main` names the main phase), what ended it (the epoch cap or early
    stopping) and what would train on."""
    o, phase, epoch = options, state.phase, state.epoch
    flag, limit = (
        ("--max-epochs", o.max_epochs)
        if phase == main
        else ("--finetune-epochs", o.finetune_epochs)
    )
    if epoch >= int(limit or 0):
        ended = f"its {flag} {limit} epochs; a larger {flag} trains on"
    else:
        ended = (
            f"early stopping after {epoch} of {flag} {limit} epochs (--patience "
            f"{o.patience}); a larger --patience trains on"
        )
    log.info(
        "--resume: %s's run had finished (%s phase: %s): nothing more was trained",
        last,
        phase,
        ended,
    )
