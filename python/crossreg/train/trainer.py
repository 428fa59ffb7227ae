"""Multi-genome training: one shared trunk, one head per genome, Basenji's schedule.

Each step draws one genome (in proportion to its training batches) and one batch of it;
after every epoch each genome is validated (mean Pearson R over its tracks) and training
stops once every genome has gone more than `patience` epochs without improving, or with
:class:`TrainingDivergedError` once a validation loss or score is NaN (an epoch that
shows, as the one before did, the finite signs of an optimisation gone wrong,
:mod:`crossreg.train.health`, is warned of, as is one whose validation blew up while its
training did not). An optional
fine-tuning phase then trains each genome alone from the best joint weights, as the paper
did. Everything random is a function of the seed, the phase and the epoch (each stream
seeded on its own, :mod:`crossreg.train.seeds`), so a run resumed from its last checkpoint
continues exactly as an uninterrupted one. A :class:`ModelSetup` says
which model trains, which of its parameters the optimiser updates and what a checkpoint
holds: by default a new model, all of it; ``crossreg finetune`` passes
:class:`crossreg.train.finetune.FineTune`.

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

import json
import logging
import math
import os
import time
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, cast

import numpy as np
import torch

from crossreg import distributed
from crossreg.data.loader import (
    READ_AHEAD,
    EpochBatchSampler,
    ReadAheadLoader,
    SplitDataset,
    codes_to_one_hot,
    make_loader,
)
from crossreg.data.store import DataStore
from crossreg.errors import CommandError, require_path_list
from crossreg.io.atomic import atomic_directory, atomic_write
from crossreg.model.checkpoint import (
    CheckpointConfig,
    load_checkpoint,
    make_config,
    read_config,
    save_checkpoint,
)
from crossreg.model.geometry import check_compatible
from crossreg.model.inference import InferenceOptions, model_device, tune_cuda
from crossreg.model.metrics import TrackMetrics, array_metrics
from crossreg.model.params import Params, load_params
from crossreg.model.seqnn import SeqNN
from crossreg.model.train_section import check_train_section
from crossreg.plots import check_plot_options
from crossreg.progress import CountedRows, progress
from crossreg.train.board import MetricsBoard
from crossreg.train.folds import training_splits, training_windows
from crossreg.train.heads import dataset_heads
from crossreg.train.health import (
    EpochLosses,
    number_text,
    prediction_ratio,
    symptoms,
    validation_blowup,
)
from crossreg.train.loss import poisson_loss
from crossreg.train.metrics_table import epoch_summary, write_metrics
from crossreg.train.optim import CLIP_MODES, build_optimizer
from crossreg.train.options import TrainOptions, batch_size, require_train_options
from crossreg.train.resume_checks import (
    check_finished_phases,
    check_running_phase,
    check_same_run,
    check_same_stores,
    damaged_last,
)
from crossreg.train.run_folder import remove_earlier_run, remove_events, training_into
from crossreg.train.schedule import (
    JOINT_PHASE,
    EarlyStopping,
    augment_shift,
    check_augment_shift,
    check_batch_size,
    check_phase_names,
    epoch_schedule,
    validation_statistic,
)
from crossreg.train.seeds import DROPOUT, SCHEDULE, WINDOWS, stream_seed
from crossreg.train.state import load_training_state, save_training_state
from crossreg.train.step import train_step
from crossreg.train.store_identity import store_fingerprint
from crossreg.train.torch_state import callers_torch_state

log = logging.getLogger("crossreg")

#: Steps between two reads of the epoch's mean loss shown beside the progress (a read
#: waits for the device and, under torchrun, averages over the processes, so it is not
#: done every step).
LOSS_EVERY = 10


class TrainingDivergedError(CommandError):
    """A validation loss or score came out NaN or infinite: the weights diverged or, where
    the training loss stayed finite, the validation blew up."""


def _mean_defined(values: np.ndarray) -> float:
    """The mean of `values` that are not NaN (NaN if none is, without numpy's warning)."""
    defined = values[~np.isnan(values)]
    return float(defined.mean()) if defined.size else math.nan


def _saved_loss(value: object) -> float | None:
    """A training loss as a row of ``metrics.csv`` holds it: None for an epoch in which
    the genome took no step."""
    return None if value is None or value == "" else float(str(value))


@dataclass
class GenomeData:
    """One genome's store, its training loader (validation reads the store directly) and
    the model head it trains (its genome's, unless a :class:`ModelSetup` routes it)."""

    store: DataStore
    train: torch.utils.data.DataLoader | ReadAheadLoader
    head: str
    valid: str  # the split validated on

    @property
    def name(self) -> str:
        """The genome of the store."""
        return self.store.genome


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
        self._check_windows(stores)
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

    def _check_windows(self, stores: Sequence[DataStore]) -> None:
        """Stop unless each store's training and validation splits hold windows and, for
        every store at once, its training windows make a whole batch
        (:func:`check_batch_size`)."""
        o, windows = self.options, {}
        for store in stores:
            source = str(store.path)
            splits = training_splits(store.splits, o.valid_fold, o.test_fold, source=source)
            for split in (*splits.train, splits.valid):
                if store.window_counts.get(split, 0) == 0:
                    raise ValueError(f"dataset {source} has no {split} windows")
            windows[source] = training_windows(
                store.splits, o.valid_fold, o.test_fold, source=source
            )
        check_batch_size(self.batch_size, windows)

    def _genome_data(self, store: DataStore, phase: str) -> GenomeData:
        """`store` with its training loader for `phase` (its training splits, augmented, in
        whole batches; the window order and augmentation seeded by the run's seed, the
        phase and the genome), head and validation split (:meth:`_check_windows` has
        checked them)."""
        o = self.options
        splits = training_splits(store.splits, o.valid_fold, o.test_fold, source=str(store.path))
        seed = stream_seed(o.seed, WINDOWS, phase, store.genome)
        train = SplitDataset(
            store,
            splits.train,
            augment_rc=bool(o.augment_rc),
            augment_shift=int(o.augment_shift or 0),
            seed=seed,
            sequence="codes",
        )
        return GenomeData(
            store=store,
            train=make_loader(
                train,
                self.batch_size,
                shuffle=True,
                seed=seed,
                drop_last=True,
                num_workers=o.num_workers,
                pin_memory=self.device.type == "cuda",
                read_ahead=READ_AHEAD if o.read_ahead is None else o.read_ahead,
                # each process reads only its own part of every global batch
                share=(distributed.rank(), distributed.world_size()),
            ),
            head=self.setup.head_of(store.genome),
            valid=splits.valid,
        )

    # ----------------------------------------------------------------- checkpoints

    def _save_model(self, folder: Path, genomes: Sequence[str], metrics: dict) -> None:
        model, config = self.setup.checkpoint(self, genomes, metrics)
        save_checkpoint(folder, model, config)

    def _save_whole(self, folder: Path, genomes: Sequence[str], metrics: dict) -> None:
        """Write the checkpoint `folder` (``best/``, ``finetune_<genome>/``) whole: a
        crash while saving leaves the previous one as it was."""
        with atomic_directory(folder) as work:
            self._save_model(work, genomes, metrics)

    def _save_last(self) -> None:
        """Write ``out/last`` whole: weights, head state and training state of one epoch
        replace the previous epoch's together or not at all."""
        with atomic_directory(self.out / "last") as last:
            self._save_model(last, [g.name for g in self.genomes], {})
            self.setup.save_state(last, self.model)
            save_training_state(
                last,
                self.optimizer,
                {
                    "run": asdict(self.state),
                    "rows": self.rows,
                    "stores": [store_fingerprint(g.store) for g in self.genomes],
                },
            )

    def _replace_earlier_run(self) -> None:
        """Remove the earlier run that this one replaces (``overwrite``) before this run
        saves its first epoch, ``last/`` first (:func:`remove_earlier_run`), and write
        this run's ``train_options.json`` in place of that run's."""
        remove_earlier_run(self.out)
        self._write_options()
        self.replacing = False

    def _write_options(self) -> None:
        """Write ``train_options.json``: the options this run trains with."""
        with atomic_write(self.out / "train_options.json") as handle:
            json.dump(asdict(self.options), handle, indent=1)

    def resume(self) -> None:
        """Continue from ``out/last`` exactly where the previous run stopped (after the
        checks of :mod:`crossreg.train.resume_checks`)."""
        last = self.out / "last"
        self.replacing = False
        try:
            saved = read_config(last)
        except ValueError as err:
            raise damaged_last(last, err) from None
        _, now = self.setup.checkpoint(self, [g.name for g in self.genomes], {})
        options = asdict(self.options)
        check_same_run(last, saved, now, options, self.setup.learning_rate_setting)
        try:
            self.setup.restore(last, self.model)
            extra = load_training_state(last, self.optimizer)
        except ValueError as err:
            raise damaged_last(last, err) from None
        check_same_stores(last, extra.get("stores"), [g.store for g in self.genomes])
        self.state = RunState(**extra["run"])
        self.rows = list(extra["rows"])
        saved_options = saved.extra.get("train_options", {})
        check_finished_phases(
            last,
            saved_options,
            options,
            self.state.finished_phases,
            self.setup.phase,
        )
        check_running_phase(last, saved_options, options, extra["run"], self.setup.phase)
        if distributed.is_main():  # the rows of last/, whatever a crash left in metrics.csv
            self._write_metrics()
        log.info("resuming %s phase after epoch %d", self.state.phase, self.state.epoch)

    def _write_metrics(self) -> None:
        """Write ``metrics.csv`` whole from the rows so far."""
        write_metrics(self.out / "metrics.csv", self.rows)

    # ----------------------------------------------------------------- loops

    def _batches(self, data: GenomeData, epoch: int) -> Iterator[dict[str, torch.Tensor]]:
        """`data`'s training batches of `epoch` (its own order and augmentation)."""
        sampler = cast(EpochBatchSampler, data.train.sampler)
        sampler.epoch = epoch  # this epoch's permutation and augmentation
        return iter(data.train)

    def _train_epoch(self, genomes: Sequence[GenomeData]) -> dict[str, tuple[int, float | None]]:
        """Train one epoch; each genome's steps and mean training loss (None without a
        step: a capped epoch may draw none of a genome's batches)."""
        epoch, o, phase = self.state.epoch, self.options, self.state.phase
        torch.manual_seed(stream_seed(o.seed, DROPOUT, phase, epoch))  # dropout draws
        order = epoch_schedule(
            [len(g.train) for g in genomes],
            np.random.default_rng(stream_seed(o.seed, SCHEDULE, phase, epoch)),
        )
        if o.steps_per_epoch:
            order = order[: o.steps_per_epoch]
        iterators = [self._batches(g, epoch) for g in genomes]
        # losses stay on the device until the epoch ends: no synchronisation per step
        steps = [0] * len(genomes)
        loss_sums = torch.zeros(len(genomes), device=self.device)
        desc, start = f"{self.state.phase} epoch {epoch + 1}", time.perf_counter()
        with progress(len(order), desc, "steps") as meter:
            for step, g in enumerate(order, start=1):
                batch = next(iterators[g])
                x, y = self._on_device(batch)
                loss = train_step(
                    self.runner,
                    self.optimizer,
                    x,
                    y,
                    genomes[g].head,
                    clip_norm=o.clip_norm,
                    clip_mode=o.clip_mode,
                    bf16=o.bf16,
                )
                steps[g] += 1
                loss_sums[g] += loss
                rate = step * self.batch_size / max(time.perf_counter() - start, 1e-9)
                figures: dict[str, object] = {"seq/s": round(rate, 1)}
                if step % LOSS_EVERY == 1 or step == len(order):
                    # the global batches' mean so far, as metrics.csv logs it: every
                    # process takes part in the collective, the main one shows it
                    so_far = distributed.mean_over_processes(loss_sums.sum())
                    if distributed.is_main():
                        figures["loss"] = float(so_far) / step
                meter.update(1, **figures)
        # each process's loss is its share's mean; the global batch's is their mean
        loss_sums = distributed.mean_over_processes(loss_sums)
        means = (loss_sums / torch.tensor(steps, device=self.device).clamp_min(1)).tolist()
        return {
            g.name: (n, m if n else None) for g, n, m in zip(genomes, steps, means, strict=True)
        }

    def _on_device(self, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
        """This process's part of a global batch (as its loader reads it) on the device:
        one-hot float32 sequences, targets as stored (float16; the loss reads them in
        float32)."""
        codes = batch["sequence"].to(self.device, non_blocking=True)
        return codes_to_one_hot(codes), batch["targets"].to(self.device, non_blocking=True)

    def _validate(self, data: GenomeData) -> tuple[tuple[float, float, float], TrackMetrics]:
        """The validation loss, mean Pearson R and mean R² (over the tracks that have one)
        of `data`'s head on its validation split, and the summed metrics they come from
        (under torchrun, every process's the same: each scores its share of the windows and
        the sums are added over the processes)."""
        o = self.options
        options = InferenceOptions(
            bf16=o.bf16 if o.bf16 is not None else self.device.type == "cuda",
            batch_size=self.batch_size,
            # a channels-last run validates so too; a plain one in the device's layout
            channels_last=True if o.channels_last else None,
        )
        store = data.store
        # under torchrun each process scores its share of the windows, in the batches one
        # process would, and the metrics' sums are added up over the processes
        count = store.window_counts[data.valid]
        windows = distributed.share(count, options.batch_size)
        # named by the head it scores, as the epoch's log line is: a new head's own name
        desc = f"{self.state.phase} validation {data.head}"
        with progress(len(windows), desc, "windows") as meter:
            metrics, loss = array_metrics(
                self.model,
                data.head,
                store.sequences(data.valid),
                CountedRows(store.targets(data.valid), meter),
                options,
                loss=poisson_loss,
                start=windows.start,
                stop=windows.stop,
            )
        metrics.sum_over_processes()
        loss_sum = torch.tensor(loss * len(windows), dtype=torch.float64, device=self.device)
        loss = float(distributed.sum_over_processes(loss_sum)) / count
        figures = (loss, float(np.mean(metrics.pearson_r())), _mean_defined(metrics.r2()))
        return figures, metrics

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
        self._check_resumed_epoch(genomes)
        while self.state.epoch < max_epochs and not stopping.should_stop:
            started = time.perf_counter()
            train = self._train_epoch(genomes)
            validated = {g.name: self._validate(g) for g in genomes}
            results = {name: figures for name, (figures, _) in validated.items()}
            # the signs that the optimisation has gone wrong, in each validation beside
            # the epoch's training loss
            seen = {g.name: symptoms(validated[g.name][1], train[g.name][1]) for g in genomes}
            alone = len(genomes) == 1
            scores = [validation_statistic(*results[g.name][1:], alone=alone) for g in genomes]
            stopping.update(scores)
            self.state.epoch += 1
            self.epochs_trained += 1
            rows = self._epoch_rows(genomes, train, results, time.perf_counter() - started)
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
                    self._save_whole(best_folder, [g.name for g in genomes], metrics)
                self.state.stopping = stopping.state_dict()
                # the events and the log line go out before last/ records the epoch (killed
                # in between, a resume runs it again); metrics.csv after, as a resume
                # rewrites it from last/'s rows
                self.board.epoch(rows, float(self.optimizer.param_groups[0]["lr"]))
                log.info("%s", epoch_summary(rows, max_epochs, stopping.should_stop))
                for g in genomes:
                    if earlier.get(g.name):
                        self._warn_unhealthy(g, seen[g.name])
                    ratio = prediction_ratio(validated[g.name][1])
                    self._warn_validation_blowup(g, results[g.name], train[g.name][1], ratio)
                self._save_last()
                self._write_metrics()
            distributed.barrier()
            losses = {name: loss for name, (_, loss) in train.items()}
            self._check_diverged(genomes, results, scores, losses)
        self.state.finished_phases.append(phase)

    def _epoch_rows(
        self,
        genomes: Sequence[GenomeData],
        train: dict[str, tuple[int, float | None]],
        results: dict[str, tuple[float, float, float]],
        seconds: float,
    ) -> list[dict[str, Any]]:
        """The ``metrics.csv`` rows of the epoch just finished: per genome, its steps and
        training loss (`train`), its validation loss, R and R² (`results`)."""
        rows = []
        for g in genomes:
            valid_loss, r, r2 = results[g.name]
            steps, train_loss = train[g.name]
            rows.append(
                {
                    "phase": self.state.phase,
                    "epoch": self.state.epoch,
                    "genome": g.head,  # the head it scores: a new head's own name
                    "steps": steps,
                    "train_loss": None if train_loss is None else round(train_loss, 6),
                    "valid_loss": round(valid_loss, 6),
                    "valid_pearson_r": round(r, 6),
                    "valid_r2": round(r2, 6),
                    "seconds": round(seconds, 2),
                }
            )
        return rows

    def _warn_unhealthy(self, data: GenomeData, seen: list[str]) -> None:
        """Warn that the epoch just finished shows, in `data`'s validation, the `seen`
        signs of an optimisation gone wrong (:func:`crossreg.train.health.symptoms`), as
        the epoch before did, naming them and what to change. One epoch's alone is not
        warned of: early epochs move fast, and a run that has recovered by the next one
        has not gone wrong."""
        if seen:
            log.warning(
                "%s (genome %s): %s, and the epoch before showed such signs too: too large "
                "a learning rate does this; %s",
                self._epoch_name(),
                data.name,
                ", ".join(seen),
                self._advice(),
            )

    def _warn_validation_blowup(
        self,
        data: GenomeData,
        figures: tuple[float, float, float],
        train_loss: float | None,
        ratio: float,
    ) -> None:
        """Warn that `data`'s validation (its loss, R and R², `figures`; its predictions
        `ratio` times its targets) blew up at the epoch just finished while its training
        (`train_loss`) did not (:func:`crossreg.train.health.validation_blowup`: a
        non-finite figure, or a loss risen by 9 times the size of the epoch before's, of
        the phase's best so far or, at its first epoch, of its training loss), naming what
        was seen and its likely causes."""
        earlier = self._earlier_epochs(data)
        seen = validation_blowup(figures[0], figures[1], train_loss, earlier, ratio)
        if seen:
            log.warning(
                "%s (genome %s): %s: the validation blew up while the training did not; %s",
                self._epoch_name(),
                data.name,
                ", ".join(seen),
                self._validation_advice(),
            )

    def _earlier_epochs(self, data: GenomeData) -> list[EpochLosses]:
        """The losses of `data`'s head in this phase's epochs before the one just
        finished, in order, as ``metrics.csv``'s rows hold them (resumed runs' included)."""
        phase, epoch = self.state.phase, self.state.epoch
        return [
            EpochLosses(int(row["epoch"]), float(row["valid_loss"]), _saved_loss(row["train_loss"]))
            for row in self.rows
            if row["phase"] == phase and int(row["epoch"]) < epoch and row["genome"] == data.head
        ]

    def _validation_advice(self) -> str:
        """The likely causes of a validation blown up while the training was not, and what
        to do about each."""
        o = self.options
        bf16 = o.bf16 if o.bf16 is not None else self.device.type == "cuda"
        causes = [
            "a validation window whose targets are out of range (look at the store's "
            "validation targets; crossreg data warns of tracks beyond float16's range: "
            "lower their clip or scale in the targets table and rebuild the store)",
            f"too large a learning rate ({self._advice()})",
        ]
        if bf16:
            causes.append("bf16 overflowing in the validation's predictions (train with --no-bf16)")
        return "likely causes: " + "; ".join(causes)

    def _epoch_name(self) -> str:
        """The epoch just finished, in words: ``epoch 3``, ``human fine-tuning epoch 2``."""
        phase = self.state.phase
        epoch = "epoch" if phase == self.setup.phase else f"{phase} fine-tuning epoch"
        return f"{epoch} {self.state.epoch}"

    def _advice(self) -> str:
        """What to change in a run whose optimisation went wrong."""
        clip = "lower --clip-norm" if self.options.clip_norm else "set --clip-norm"
        return f"lower {self.setup.learning_rate_setting} or {clip}"

    def _check_resumed_epoch(self, genomes: Sequence[GenomeData]) -> None:
        """Stop a resumed phase whose last saved epoch diverged (:meth:`_check_diverged`
        on its ``metrics.csv`` rows) before it trains another epoch from NaN weights."""
        saved = {
            row["genome"]: row
            for row in self.rows
            if row["phase"] == self.state.phase and row["epoch"] == self.state.epoch
        }
        if self.state.epoch == 0 or any(g.head not in saved for g in genomes):
            return
        results = {
            g.name: (
                float(saved[g.head]["valid_loss"]),
                float(saved[g.head]["valid_pearson_r"]),
                float(saved[g.head]["valid_r2"]),
            )
            for g in genomes
        }
        alone = len(genomes) == 1
        scores = [validation_statistic(*results[g.name][1:], alone=alone) for g in genomes]
        losses = {g.name: _saved_loss(saved[g.head]["train_loss"]) for g in genomes}
        self._check_diverged(genomes, results, scores, losses)

    def _check_diverged(
        self,
        genomes: Sequence[GenomeData],
        results: dict[str, tuple[float, float, float]],
        scores: Sequence[float],
        train_losses: dict[str, float | None],
    ) -> None:
        """Stop once a genome's validation loss or score is not finite (NaN): its weights
        have diverged, and later epochs or fine-tuning from them would train on NaN; or,
        where its training loss (`train_losses`) is finite, its validation blew up, and no
        best epoch can be chosen by it. Called once ``last/`` and ``metrics.csv`` hold the
        epoch, for the user to inspect."""
        for data, score in zip(genomes, scores, strict=True):
            loss = results[data.name][0]
            figure, value = ("loss", loss) if not math.isfinite(loss) else ("score", score)
            if math.isfinite(value):
                continue
            train_loss = train_losses.get(data.name)
            if train_loss is not None and math.isfinite(train_loss):
                raise TrainingDivergedError(
                    f"validation {figure} is {number_text(value)} at {self._epoch_name()} "
                    f"(genome {data.name}) while its training loss is {train_loss:.4g}: no "
                    f"best epoch can be chosen by it, so the run stops; "
                    f"{self._validation_advice()}"
                )
            raise TrainingDivergedError(
                f"training diverged: validation {figure} is {number_text(value)} at "
                f"{self._epoch_name()} (genome {data.name}); {self._advice()}"
            )

    def fit(self) -> Path:
        """Train (joint phase, then fine-tuning if asked); returns the output directory."""
        self.setup.announce(self)
        self.out.mkdir(parents=True, exist_ok=True)
        if distributed.is_main() and not self.replacing:  # else with its first epoch
            if not (self.out / "last").is_dir():  # a fresh run: no saved epoch's events
                remove_events(self.out)
            self._write_options()
        try:
            self._fit()
        finally:
            self.board.close()
        if not self.epochs_trained:
            self._say_nothing_was_trained()
        return self.out

    def _say_nothing_was_trained(self) -> None:
        """Log that a resumed run had finished already: its phase's epochs, and what
        ended it (the epoch cap or early stopping) and what would train on."""
        o, phase, epoch = self.options, self.state.phase, self.state.epoch
        main = phase == self.setup.phase
        flag, limit = (
            ("--max-epochs", o.max_epochs) if main else ("--finetune-epochs", o.finetune_epochs)
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
            self.out / "last",
            phase,
            ended,
        )

    def _fit(self) -> None:
        o = self.options
        if self.setup.phase not in self.state.finished_phases:
            self._run_phase(self.setup.phase, self.genomes, int(o.max_epochs or 1))
        if o.finetune_epochs > 0 and len(self.genomes) == 1:
            log.warning(
                "finetune_epochs %d: no fine-tuning phase, the run trains one genome alone already",
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
    an earlier run's figures that it did not redraw. Torch's random state and CUDA math
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
    error goes on); returns the output directory."""
    check_plot_options(plots, svg)
    if resume:
        trainer.resume()
    try:
        trainer.fit()
    except TrainingDivergedError:  # the curves up to the epoch that diverged
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
