"""Multi-genome training: one shared trunk, one head per genome, Basenji's schedule.

Each step draws one genome (in proportion to its training batches) and one batch of it
(:mod:`crossreg.train.epoch_loop`); after every epoch each genome is validated (mean
Pearson R over its tracks, :mod:`crossreg.train.validation`) and training stops once
every genome has gone more than `patience` epochs without improving, or with
:class:`crossreg.train.divergence.TrainingDivergedError` at the first read of an epoch's
training loss that is not finite (nothing of that epoch saved) or once a validation loss
or score is NaN (an epoch that shows, as the one before did, the finite signs of an
optimisation gone wrong, :mod:`crossreg.train.health`, is warned of, as is one whose
validation blew up while its training did not). An optional fine-tuning phase then
trains each genome alone from the best joint weights, as the paper did. Everything
random is a function of the seed, the phase and the epoch (each stream seeded on its
own, :mod:`crossreg.train.seeds`), so a run resumed from its last checkpoint
(:mod:`crossreg.train.run_checkpoints`) continues exactly as an uninterrupted one. A
:class:`ModelSetup` says which model trains, which of its parameters the optimiser
updates and what a checkpoint holds: by default a new model, all of it; ``crossreg
finetune`` passes :class:`crossreg.train.finetune.FineTune`.

Output directory::

    best/                  checkpoint with the best mean validation R over genomes
    last/                  checkpoint of the last finished epoch + training state (resume)
    finetune_<genome>/     per-genome fine-tuned checkpoint (with fine-tuning)
    metrics.csv            one row per epoch, phase and genome (the ``genome`` column
                           names the head scored: a new head's name under finetune)
    training.png           its curves (crossreg.train.figures), unless plots are off (an
                           earlier run's figures that this one did not redraw are removed)
    tensorboard/           the same figures (and the learning rate) as TensorBoard events,
                           when ``tensorboard`` is installed (``crossreg[tensorboard]``)

Each checkpoint folder is replaced whole, an epoch's TensorBoard events are written before
``last/`` records it and a resume rewrites ``metrics.csv`` from the rows ``last/`` holds,
so a kill at any moment leaves what a resume completes.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any, cast

import numpy as np
import torch

from crossreg import distributed
from crossreg.data.store import DataStore
from crossreg.errors import require_path_list
from crossreg.model.checkpoint import CheckpointConfig, load_checkpoint, make_config
from crossreg.model.geometry import check_compatible
from crossreg.model.inference import bf16_wanted, model_device, tune_cuda
from crossreg.model.params import Params, load_params
from crossreg.model.seqnn import SeqNN
from crossreg.model.train_section import check_train_section
from crossreg.plots import check_plot_options
from crossreg.train.augmentation import augment_shift, check_augment_shift
from crossreg.train.board import MetricsBoard
from crossreg.train.divergence import (
    Advice,
    TrainingDivergedError,
    check_diverged,
    check_saved_epoch,
    earlier_epochs,
    epoch_name,
    warn_unhealthy,
    warn_validation_blowup,
)
from crossreg.train.early_stopping import EarlyStopping, validation_scores
from crossreg.train.epoch_loop import train_epoch
from crossreg.train.genome_data import GenomeData, check_windows, genome_data
from crossreg.train.heads import dataset_heads
from crossreg.train.health import prediction_ratio, symptoms
from crossreg.train.metrics_table import epoch_rows, epoch_summary, write_metrics
from crossreg.train.optim import CLIP_MODES, build_optimizer
from crossreg.train.options import TrainOptions, batch_size, require_train_options
from crossreg.train.phases import JOINT_PHASE, check_phase_names
from crossreg.train.run_checkpoints import (
    RunState,
    load_last,
    save_last,
    save_whole,
    say_nothing_was_trained,
    write_options,
)
from crossreg.train.run_folder import remove_earlier_run, remove_events, training_into
from crossreg.train.torch_state import callers_torch_state
from crossreg.train.validation import validate

log = logging.getLogger("crossreg")


class ModelSetup:
    """What the trainer trains and what its checkpoints hold. This default builds a new
    model from the params, with a head per dataset genome, and trains every parameter;
    :class:`crossreg.train.finetune.FineTune` starts from a checkpoint and trains part of it."""

    #: the name of the main phase in ``metrics.csv`` and checkpoints
    phase = JOINT_PHASE
    #: where the user sets the learning rate, as advice names it
    learning_rate_setting = "train.learning_rate"
    #: whether the model's geometry is fixed (a checkpoint): a store that does not fit is
    #: then to be rebuilt, rather than the model's params changed
    #: (:func:`crossreg.model.geometry.check_geometry`)
    model_fixed = False

    def build(self, trainer: Trainer) -> SeqNN:
        """The model to train (on the CPU; the trainer moves it)."""
        return SeqNN(
            trainer.params.model.select_heads(trainer.heads),
            gelu_form=trainer.options.gelu_form,
            generator=torch.Generator().manual_seed(trainer.options.seed),
        )

    def head_of(self, genome: str) -> str:
        """The model head that the dataset of `genome` trains."""
        return genome

    def announce(self, trainer: Trainer) -> None:
        """Log what the run trains, once its stores are known to fit the model and a
        resume to continue the run in ``last/`` (as training starts)."""

    def trainable(self, model: SeqNN) -> list[torch.nn.Parameter]:
        """The parameters the optimiser updates."""
        return list(model.parameters())

    def checkpoint(
        self, trainer: Trainer, genomes: Sequence[str], metrics: dict
    ) -> tuple[SeqNN, CheckpointConfig]:
        """The model and config to save, with the heads of `genomes` (all the trainer's
        genomes, or one genome's after its fine-tuning phase) and `metrics` per head."""
        model = trainer.model
        if list(genomes) != model.genomes:
            model = SeqNN(
                trainer.params.model.select_heads({g: trainer.heads[g] for g in genomes}),
                gelu_form=trainer.options.gelu_form,
            )
            model.load_state_dict(
                {
                    k: v
                    for k, v in trainer.model.state_dict().items()
                    if not k.startswith("heads.") or k.split(".")[1] in genomes
                }
            )
        config = make_config(
            model,
            trainer.params.raw,
            {g.name: list(g.store.table.targets) for g in trainer.genomes},
            genomes={g: trainer.heads[g] for g in genomes},
            epoch=trainer.state.epoch,
            metrics=metrics,
            source={"params": trainer.params.source, "phase": trainer.state.phase},
            extra={"train_options": asdict(trainer.options)},
        )
        return model, config

    def save_state(self, folder: Path, model: SeqNN) -> None:
        """Write beside ``last/``'s checkpoint what a resume needs that it lacks."""

    def restore(self, folder: Path, model: SeqNN) -> None:
        """Load the weights of checkpoint `folder` (``last/``, ``best/``) into `model`."""
        saved, _ = load_checkpoint(folder, device=model_device(model))
        model.load_state_dict(saved.state_dict())


class Trainer:
    """Trains one model on the dataset stores of one or more genomes; `setup` says what
    model and which of its parameters (default :class:`ModelSetup`: a new model, all)."""

    def __init__(
        self,
        params: Params,
        data_dirs: Sequence[str | os.PathLike[str]],
        out: str | os.PathLike[str],
        options: TrainOptions,
        setup: ModelSetup | None = None,
    ) -> None:
        self.params = params
        self.setup = setup or ModelSetup()
        self.out = Path(out)
        self.options = options.resolved(params.train, params.model)
        self.options.check()
        #: ``--batch-size``, else the params' (the rule ``crossreg train`` checks by)
        self.batch_size = batch_size(options.batch_size, params.train)
        if self.options.clip_mode not in CLIP_MODES:
            raise ValueError(f"clip mode must be one of {', '.join(CLIP_MODES)}")
        stores = [DataStore(d) for d in data_dirs]
        check_augment_shift(*augment_shift(options.augment_shift, params.model), stores)
        check_windows(stores, self.options, self.batch_size)
        genomes, sources = [s.genome for s in stores], [str(s.path) for s in stores]
        self.heads = dataset_heads(params, genomes, self.options.heads, sources)
        check_phase_names(genomes, sources, self.options.finetune_epochs)
        self.device = distributed.resolve_device(self.options.device)
        tune_cuda(self.device, tf32=True)
        self.model = self.setup.build(self).to(self.device)
        self.model.channels_last = self.options.channels_last
        for store in stores:
            head = self.setup.head_of(store.genome)
            check_compatible(
                self.model,
                store,
                params.source,
                head,
                training=True,
                model_fixed=self.setup.model_fixed,
            )
        self.genomes = [self._genome_data(s, self.setup.phase) for s in stores]
        self.runner = distributed.wrap(self.model, self.device)
        if self.options.compile:
            self.runner = cast(torch.nn.Module, torch.compile(self.runner))
        self.optimizer = build_optimizer(self.setup.trainable(self.model), params.train)
        self.state = RunState(phase=self.setup.phase)
        self.rows: list[dict[str, Any]] = []
        self.epochs_trained = 0  # by this call (a resume may find none left)
        # a new run into an earlier run's folder (overwrite): that run goes once this one
        # has trained an epoch to save (:meth:`_replace_earlier_run`)
        self.replacing = (self.out / "last").is_dir()
        self.board = MetricsBoard(self.out, enabled=distributed.is_main())
        #: what the warnings and errors of an epoch gone wrong advise
        bf16 = bf16_wanted(self.device, self.options.bf16)
        self.advice = Advice(self.setup.learning_rate_setting, self.options.clip_norm, bf16)

    def _genome_data(self, store: DataStore, phase: str) -> GenomeData:
        """`store`'s training loader for `phase`, its head and validation split
        (:func:`crossreg.train.genome_data.genome_data` with this run's options)."""
        head = self.setup.head_of(store.genome)
        return genome_data(store, phase, head, self.options, self.batch_size, self.device)

    # ----------------------------------------------------------------- checkpoints

    def _save_last(self) -> None:
        """Write ``out/last`` whole: weights, head state and training state of one epoch
        (:func:`crossreg.train.run_checkpoints.save_last`)."""
        genomes = [g.name for g in self.genomes]
        model, config = self.setup.checkpoint(self, genomes, {})
        stores = [g.store for g in self.genomes]
        last = self.out / "last"
        save_last(last, model, config, self.setup, self.optimizer, self.state, self.rows, stores)

    def _replace_earlier_run(self) -> None:
        """Remove the earlier run that this one replaces (``overwrite``) before this run
        saves its first epoch, ``last/`` first (:func:`remove_earlier_run`), and write
        this run's ``train_options.json`` in place of that run's."""
        remove_earlier_run(self.out)
        write_options(self.out, self.options)
        self.replacing = False

    def resume(self) -> None:
        """Continue from ``out/last`` exactly where the previous run stopped
        (:func:`crossreg.train.run_checkpoints.load_last`)."""
        self.replacing = False
        _, now = self.setup.checkpoint(self, [g.name for g in self.genomes], {})
        stores = [g.store for g in self.genomes]
        self.state, self.rows = load_last(
            self.out / "last", self.setup, self.model, self.optimizer, now, self.options, stores
        )
        if distributed.is_main():  # the rows of last/, whatever a crash left in metrics.csv
            self._write_metrics()
        log.info("resuming %s phase after epoch %d", self.state.phase, self.state.epoch)

    def _write_metrics(self) -> None:
        """Write ``metrics.csv`` whole from the rows so far."""
        write_metrics(self.out / "metrics.csv", self.rows)

    # ----------------------------------------------------------------- loops

    def _epoch_name(self) -> str:
        """The epoch just finished, in words (:func:`crossreg.train.divergence.epoch_name`)."""
        return epoch_name(self.state.phase, self.state.epoch, self.setup.phase)

    def _run_phase(self, phase: str, genomes: Sequence[GenomeData], max_epochs: int) -> None:
        """Train `genomes` epoch by epoch in `phase` (continuing a resumed phase) until
        `max_epochs` or early stopping; after each epoch the main process saves the best
        weights, ``last/`` and ``metrics.csv``."""
        o = self.options
        stopping = EarlyStopping(len(genomes), int(o.patience or 0), int(o.min_epochs or 1))
        if self.state.phase == phase and self.state.stopping:
            stopping.load_state_dict(self.state.stopping)
        else:
            self.state = RunState(phase=phase, finished_phases=self.state.finished_phases, epoch=0)
        first = phase == self.setup.phase
        best_folder = self.out / ("best" if first else f"finetune_{phase}")
        check_saved_epoch(
            self.rows, phase, self.state.epoch, genomes, self._epoch_name(), self.advice
        )
        size, device = self.batch_size, self.device
        while self.state.epoch < max_epochs and not stopping.should_stop:
            started = time.perf_counter()
            train = train_epoch(
                self.runner,
                self.optimizer,
                genomes,
                phase=phase,
                epoch=self.state.epoch,
                options=o,
                batch_size=size,
                device=device,
                when=epoch_name(phase, self.state.epoch + 1, self.setup.phase),
                advice=self.advice,
            )
            validated = {
                g.name: validate(
                    self.model, g, phase=phase, options=o, batch_size=size, device=device
                )
                for g in genomes
            }
            results = {name: figures for name, (figures, _) in validated.items()}
            # the signs that the optimisation has gone wrong, in each validation beside
            # the epoch's training loss
            seen = {g.name: symptoms(validated[g.name][1], train[g.name][1]) for g in genomes}
            scores = validation_scores([results[g.name] for g in genomes])
            stopping.update(scores)
            self.state.epoch += 1
            self.epochs_trained += 1
            heads = {g.name: g.head for g in genomes}
            seconds = time.perf_counter() - started
            rows = epoch_rows(phase, self.state.epoch, heads, train, results, seconds)
            self.rows += rows
            score = float(np.mean(scores))
            earlier = self.state.unhealthy  # the epoch before's signs of trouble
            self.state.unhealthy = {name: signs for name, signs in seen.items() if signs}
            if distributed.is_main():
                if self.replacing:
                    self._replace_earlier_run()
                if score > self.state.best_mean_r:
                    self.state.best_mean_r = score
                    metrics = {g.head: {"valid_pearson_r": results[g.name][1]} for g in genomes}
                    best = self.setup.checkpoint(self, [g.name for g in genomes], metrics)
                    save_whole(best_folder, *best)
                self.state.stopping = stopping.state_dict()
                # the events and the log line go out before last/ records the epoch (killed
                # in between, a resume runs it again); metrics.csv after, as a resume
                # rewrites it from last/'s rows
                self.board.epoch(rows, float(self.optimizer.param_groups[0]["lr"]))
                log.info("%s", epoch_summary(rows, max_epochs, stopping.should_stop))
                when = self._epoch_name()
                for g in genomes:
                    if earlier.get(g.name):
                        warn_unhealthy(g, seen[g.name], when, self.advice)
                    ratio = prediction_ratio(validated[g.name][1])
                    before = earlier_epochs(self.rows, phase, self.state.epoch, g.head)
                    loss = train[g.name][1]
                    warn_validation_blowup(
                        g, results[g.name], loss, ratio, before, when, self.advice
                    )
                self._save_last()
                self._write_metrics()
            distributed.barrier()
            losses = {name: loss for name, (_, loss) in train.items()}
            check_diverged(genomes, results, scores, losses, self._epoch_name(), self.advice)
        self.state.finished_phases.append(phase)

    def fit(self) -> Path:
        """Train (joint phase, then fine-tuning if asked); returns the output directory."""
        self.setup.announce(self)
        self.out.mkdir(parents=True, exist_ok=True)
        if distributed.is_main() and not self.replacing:  # else with its first epoch
            if not (self.out / "last").is_dir():  # a fresh run: no saved epoch's events
                remove_events(self.out)
            write_options(self.out, self.options)
        try:
            self._fit()
        finally:
            self.board.close()
        if not self.epochs_trained:
            say_nothing_was_trained(self.out / "last", self.options, self.state, self.setup.phase)
        return self.out

    def _fit(self) -> None:
        o = self.options
        if self.setup.phase not in self.state.finished_phases:
            self._run_phase(self.setup.phase, self.genomes, int(o.max_epochs or 1))
        if o.finetune_epochs > 0 and len(self.genomes) == 1:
            log.warning(
                "--finetune-epochs %d: no fine-tuning phase, the run trains one genome alone "
                "already",
                o.finetune_epochs,
            )
        if o.finetune_epochs > 0 and len(self.genomes) > 1:
            for i, data in enumerate(self.genomes):
                if data.name in self.state.finished_phases:
                    continue
                if self.state.phase != data.name:
                    self.setup.restore(self.out / "best", self.model)
                    self.optimizer = build_optimizer(
                        self.setup.trainable(self.model), self.params.train
                    )
                # the phase's own window order and augmentation, not the joint phase's again
                self.genomes[i] = data = self._genome_data(data.store, data.name)
                self._run_phase(data.name, [data], o.finetune_epochs)


def train(
    params: str | os.PathLike[str],
    data_dirs: Sequence[str | os.PathLike[str]],
    out: str | os.PathLike[str],
    options: TrainOptions | None = None,
    *,
    resume: bool = False,
    overwrite: bool = False,
    plots: bool = True,
    svg: bool = False,
) -> Path:
    """Train a model from a params file on one or more dataset stores; see :class:`Trainer`.
    With `resume`, continue the run in `out` from its ``last/``; an earlier run there is
    otherwise refused unless `overwrite` lets this one replace it
    (:func:`crossreg.train.run_folder.check_run_folder`), and a second run into `out`
    while this one trains is refused (:func:`crossreg.train.run_folder.training_into`).
    At the end (or once training diverged) the main process draws ``training.png`` from
    ``metrics.csv`` (with `svg`, ``training.svg`` too) unless `plots` is off, and removes
    an earlier run's figures that it did not redraw (a run that replaces another and
    diverged before saving an epoch leaves that run's). Torch's random state and CUDA math
    settings are as they were before the call
    (:func:`crossreg.train.torch_state.callers_torch_state`)."""
    check_plot_options(plots, svg)
    require_path_list(data_dirs, "data_dirs")
    require_train_options(options)
    options = options or TrainOptions()
    options.check()
    stores = [("--data store", path) for path in data_dirs]
    with training_into(out, resume=resume, overwrite=overwrite, inputs=stores):
        distributed.init(options.device)
        try:
            with callers_torch_state(options):
                loaded = load_params(params)
                check_train_section(loaded.train, loaded.source)
                trainer = Trainer(loaded, data_dirs, out, options)
                return run_trainer(trainer, resume=resume, plots=plots, svg=svg)
        finally:
            distributed.shutdown()


def run_trainer(trainer: Trainer, *, resume: bool, plots: bool, svg: bool) -> Path:
    """Fit `trainer` (after a resume from ``last/`` if asked) and draw ``training.png``
    from the main process unless `plots` is off (also when training diverged, before the
    error goes on, unless it diverged before replacing an earlier run); returns the
    output directory."""
    check_plot_options(plots, svg)
    if resume:
        trainer.resume()
    try:
        trainer.fit()
    except TrainingDivergedError:  # the curves up to the epoch that diverged
        if not trainer.replacing:  # else the earlier run's, left as they were
            _draw_figures(trainer.out, plots=plots, svg=svg)
        raise
    _draw_figures(trainer.out, plots=plots, svg=svg)
    return trainer.out


def _draw_figures(out: Path, *, plots: bool, svg: bool) -> None:
    """From the main process, draw the training figures unless `plots` is off and remove
    an earlier run's that this one did not redraw (:func:`update_training_figures`)."""
    if distributed.is_main():
        from crossreg.train.figures import update_training_figures

        update_training_figures(out, plots=plots, svg=svg)
