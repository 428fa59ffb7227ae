"""``crossreg train``: train a model on one or more genomes' dataset stores."""

from __future__ import annotations

import argparse
import math
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from crossreg.commands.help import OneOf
from crossreg.commands.inputs import check_splits, require_output, require_paths
from crossreg.commands.options import add_device_argument, add_plot_arguments, plot_options
from crossreg.commands.values import (
    COUNT,
    MAX_COUNT,
    MAX_READ_AHEAD,
    MAX_SEQ_LENGTH,
    MAX_WORKERS,
    SEED,
    number,
    whole,
)
from crossreg.devices import check_device
from crossreg.errors import Interrupted
from crossreg.model.checkpoint_info import saved_checkpoint_id
from crossreg.progress import launched_rank
from crossreg.train.run_folder import check_apart, check_run_folder, require_no_training

if TYPE_CHECKING:
    from crossreg.data.store import DataStore
    from crossreg.model.params import ModelParams
    from crossreg.train.options import TrainOptions

HELP = "train a Basenji2 model jointly on the dataset stores of one or more genomes"
DESCRIPTION = (
    "Reads a Basenji params JSON and one dataset store per genome (crossreg data); "
    "writes into --out the checkpoints best/ and last/, metrics.csv per epoch and the "
    "training curves."
)
EXAMPLES = (
    "crossreg train --params params.json --data data/human --data data/mouse --out joint",
    "crossreg train --params params.json --data data/human --data data/mouse --out joint --resume",
)


def _head_arg(text: str) -> tuple[str, str]:
    genome, sep, head = text.partition("=")
    if not sep or not genome or not head:
        raise argparse.ArgumentTypeError(
            f"expected GENOME=HEAD (e.g. human=head_mouse or human=mouse), got '{text}'"
        )
    return genome, head


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``crossreg train``; unset ones come from the params' ``train`` section."""
    from crossreg.model.params import GELU_FORMS

    parser.add_argument(
        "--params", metavar="FILE", type=Path, required=True, help="Basenji params JSON"
    )
    parser.add_argument(
        "--data",
        metavar="DIR",
        type=Path,
        action="append",
        required=True,
        help="dataset store of one genome (crossreg data); repeat for joint training",
    )
    parser.add_argument(
        "--out", metavar="DIR", type=Path, required=True, help="output (checkpoint) directory"
    )
    parser.add_argument(
        "--head",
        type=_head_arg,
        action="append",
        default=[],
        metavar="GENOME=HEAD",
        help="train the params' head HEAD (its key, head_mouse, or its genome, mouse) on the "
        "dataset of genome GENOME; repeatable (default: each dataset trains head_<its genome>)",
    )
    add_training_arguments(parser)
    parser.add_argument(
        "--finetune-epochs",
        metavar="N",
        type=whole(0, MAX_COUNT),
        default=0,
        help="then fine-tune each genome alone for up to this many epochs (paper: yes)",
    )
    parser.add_argument(
        "--gelu",
        action=OneOf,
        choices=GELU_FORMS,
        default="tanh",
        help="GELU form: tanh (Basenji's since 2022), sigmoid1702 (the form the paper's "
        "models were trained with) or erf (default: tanh)",
    )
    add_plot_arguments(parser)


def add_training_arguments(parser: argparse.ArgumentParser) -> None:
    """The trainer's options that ``train`` and ``finetune`` share (schedule, stopping,
    batches, clipping, augmentation, seed, device, precision, loader, resume)."""
    run = parser.add_argument_group("the run folder")
    start = run.add_mutually_exclusive_group()
    start.add_argument("--resume", action="store_true", help="continue from DIR/last")
    start.add_argument(
        "--overwrite",
        action="store_true",
        help="replace the run DIR holds with a new one (its best/ and last/ stay until the "
        "new run's first epoch replaces them)",
    )
    schedule = parser.add_argument_group("schedule and stopping")
    augment = parser.add_argument_group("augmentation and randomness")
    device = parser.add_argument_group("device and speed")
    loading = parser.add_argument_group("folds and data loading")
    schedule.add_argument(
        "--max-epochs",
        metavar="N",
        type=COUNT,
        help="stop after this many epochs (default: the params' train_epochs_max, else 10000)",
    )
    schedule.add_argument(
        "--patience",
        metavar="N",
        type=whole(0, MAX_COUNT),
        help="stop once every genome has gone more than this many epochs without improving "
        "(default: the params' patience, else 16)",
    )
    schedule.add_argument(
        "--min-epochs",
        metavar="N",
        type=COUNT,
        help="never stop before this many epochs (default: the params' train_epochs_min, else 1)",
    )
    schedule.add_argument(
        "--batch-size",
        metavar="N",
        type=COUNT,
        help="examples per step, over all processes (default: the params' batch_size, else 4)",
    )
    schedule.add_argument(
        "--steps-per-epoch",
        metavar="N",
        type=COUNT,
        help="cap on training steps per epoch (default: every training window once)",
    )
    schedule.add_argument(
        "--clip-norm",
        metavar="NORM",
        type=number(0.0, math.inf),
        help="gradient clipping norm, 0 for none (default: the params' clip_norm, else none)",
    )
    schedule.add_argument(
        "--clip-mode",
        action=OneOf,
        choices=["per_tensor", "global"],
        default="per_tensor",
        help="per_tensor clips each weight's gradient (Keras/Basenji); global clips them jointly",
    )
    augment.add_argument(
        "--augment-rc",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="reverse-complement augmentation (default: the params' model.augment_rc; on, as "
        "in the paper, where the params name neither augmentation key)",
    )
    augment.add_argument(
        "--augment-shift",
        metavar="BP",
        type=whole(0, MAX_SEQ_LENGTH),
        help="max shift in bp, below the stores' bin width (default: the params' "
        "model.augment_shift; 3 where the params name neither augmentation key)",
    )
    augment.add_argument(
        "--seed",
        metavar="N",
        type=SEED,
        default=0,
        help="seed of initial weights, batch order and augmentation",
    )
    add_device_argument(device)
    device.add_argument(
        "--bf16",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="bf16 autocast (default: on CUDA only; --bf16 also on the CPU, faster on CPUs "
        "with bf16 instructions)",
    )
    device.add_argument("--compile", action="store_true", help="torch.compile the model")
    device.add_argument(
        "--trunk-layout",
        action=OneOf,
        choices=("plain", "channels-last"),
        default="plain",
        help="the trunk's memory layout while training (default: plain; channels-last trains "
        "small models 1.0-1.3x faster on a CPU, the paper's 0.74x; see benches/README.md)",
    )
    loading.add_argument(
        "--valid-fold",
        metavar="FOLD",
        help="in a store of crossreg split --folds K: the fold to validate on (with "
        "--test-fold; the run trains on the other folds)",
    )
    loading.add_argument(
        "--test-fold",
        metavar="FOLD",
        help="in a store of folds: the fold held out for crossreg evaluate --split FOLD",
    )
    loading.add_argument(
        "--workers",
        metavar="N",
        type=whole(0, MAX_WORKERS),
        default=0,
        help="data loader processes",
    )
    loading.add_argument(
        "--read-ahead",
        metavar="N",
        type=whole(0, MAX_READ_AHEAD),
        help="batches read ahead on threads while a step runs, without --workers (default: "
        "2; more keeps a slow disk or a compressed store's decoding busier)",
    )


def _heads(pairs: list[tuple[str, str]]) -> dict[str, str]:
    heads: dict[str, str] = {}
    for genome, head in pairs:
        if heads.get(genome, head) != head:
            raise ValueError(f"--head gives genome '{genome}' two heads: {heads[genome]}, {head}")
        heads[genome] = head
    return heads


def training_options(args: argparse.Namespace) -> TrainOptions:
    """The :class:`~crossreg.train.options.TrainOptions` of :func:`add_training_arguments`'
    options (and ``train``'s own, when present)."""
    from crossreg.train.options import TrainOptions

    check_device(args.device)
    return TrainOptions(
        max_epochs=args.max_epochs,
        patience=args.patience,
        min_epochs=args.min_epochs,
        batch_size=args.batch_size,
        clip_norm=args.clip_norm,
        clip_mode=args.clip_mode,
        augment_rc=args.augment_rc,
        augment_shift=args.augment_shift,
        steps_per_epoch=args.steps_per_epoch,
        finetune_epochs=getattr(args, "finetune_epochs", 0),
        gelu_form=getattr(args, "gelu", "tanh"),
        seed=args.seed,
        device=args.device,
        bf16=args.bf16,
        compile=args.compile,
        channels_last=args.trunk_layout == "channels-last",
        num_workers=args.workers,
        read_ahead=args.read_ahead,
        heads=_heads(getattr(args, "head", [])),
        valid_fold=args.valid_fold,
        test_fold=args.test_fold,
    )


def report_outputs(out: Path, args: argparse.Namespace) -> None:
    """Print where a training run's checkpoints (the folders it holds), metrics, curves and
    events are; under torchrun from process 0 alone, which wrote them."""
    from crossreg.train.board import FOLDER

    if launched_rank() != 0:
        return
    metrics = out / "metrics.csv"
    print(f"checkpoints in {out} ({checkpoint_folders(out)}), per-epoch metrics in {metrics}")
    if (out / "training.png").exists() and args.plots:
        print(f"training curves in {out / 'training.png'}")
    if (out / FOLDER).is_dir():
        print(f"TensorBoard events in {out / FOLDER} (tensorboard --logdir {out / FOLDER})")


def checkpoint_folders(out: Path) -> str:
    """The checkpoint folders a training run's `out` holds (``best/``, ``last/``,
    ``finetune_<genome>/``), in words."""
    named = [out / "best", out / "last", *sorted(out.glob("finetune_*"))]
    folders = [f"{path.name}/" for path in named if path.is_dir()]
    return ", ".join(folders) or "none"


def check_inputs(args: argparse.Namespace) -> None:
    """What ``train`` can check before torch loads: the params file parses, each ``--data``
    store has train and valid windows, a whole batch of train windows (``--batch-size``
    or the params') that splits evenly over the processes of a consistent ``torchrun``
    job (:func:`~crossreg.train.launch.check_launch`), the stores are of different
    genomes with a params head each (``--head``), the run's shift (``--augment-shift``
    or the params') is below their target bins, ``--out`` can be written and is apart
    from the stores and, with ``--resume``, holds a ``last/`` checkpoint to continue
    from (and, without it or ``--overwrite``, none)."""
    from crossreg.model.params import load_params
    from crossreg.model.train_section import check_train_section
    from crossreg.train.folds import training_windows
    from crossreg.train.heads import dataset_heads
    from crossreg.train.launch import check_launch
    from crossreg.train.options import batch_size, check_batch_size
    from crossreg.train.phases import check_phase_names

    require_paths(args, "params", folders=("data",))
    require_output(args, folder=True)
    check_apart(args.out, [("--data store", path) for path in args.data])
    check_epochs(args)
    params = load_params(args.params)
    check_train_section(params.train, params.source)
    stores = [open_training_store(args, path) for path in args.data]
    check_shift(args.augment_shift, stores, params.model)
    genomes, sources = [store.genome for store in stores], [str(p) for p in args.data]
    windows = {
        source: training_windows(store.splits, args.valid_fold, args.test_fold, source=source)
        for source, store in zip(sources, stores, strict=True)
    }
    batch = batch_size(args.batch_size, params.train)
    check_batch_size(batch, windows)
    check_launch(batch)
    dataset_heads(params, genomes, _heads(getattr(args, "head", [])), sources)
    check_phase_names(genomes, sources, args.finetune_epochs)
    require_no_training(args.out)
    check_run_folder(args.out, resume=args.resume, overwrite=args.overwrite)


def open_training_store(args: argparse.Namespace, path: Path) -> DataStore:
    """The store at `path`, whose splits to train and validate on (``train`` and
    ``valid``, or the folds ``--valid-fold``/``--test-fold`` leave) all hold windows."""
    from crossreg.data.store import DataStore
    from crossreg.train.folds import training_splits

    store = DataStore(path)  # require_paths has found it
    chosen = training_splits(store.splits, args.valid_fold, args.test_fold, source=str(path))
    check_splits(store, (*chosen.train, chosen.valid), option=None, each=True)
    return store


def check_epochs(args: argparse.Namespace) -> None:
    """``--min-epochs`` is not above ``--max-epochs``, when both are given."""
    least, most = args.min_epochs, args.max_epochs
    if least is not None and most is not None and least > most:
        raise ValueError(
            f"--min-epochs {least} is above --max-epochs {most}; raise --max-epochs or lower "
            "--min-epochs"
        )


def check_shift(
    shift: int | None, stores: Sequence[DataStore], model: ModelParams | None = None
) -> None:
    """The run's shift moves the sequence by less than one target bin of every store: the
    ``--augment-shift``, else (given the params' `model` section) the params' or the
    paper's (:func:`crossreg.train.augmentation.augment_shift`)."""
    from crossreg.train.augmentation import SHIFT_FLAG, augment_shift, check_augment_shift

    if model is not None:
        check_augment_shift(*augment_shift(shift, model), stores)
    elif shift is not None:
        check_augment_shift(shift, SHIFT_FLAG, stores)


def interrupted(out: Path, replaced: str | None = None) -> Interrupted:
    """The interrupt of a training run into `out`: what ``--resume`` would continue from.
    `replaced` is the save id (:func:`saved_checkpoint_id`) of the ``last/`` of the earlier
    run that an ``--overwrite`` run replaces, taken as it started: while ``last/`` is still
    that run's, a resume would continue the earlier run, not this one. Under ``torchrun``
    only rank 0 says so; the other processes' interrupt carries no message, so that the
    advice is printed once, not once per process."""
    if launched_rank() != 0:
        return Interrupted()
    if replaced is not None and saved_checkpoint_id(out / "last") == replaced:
        return Interrupted(
            f"no epoch had finished, so {out} still holds the earlier run; rerun with "
            "--overwrite to start again"
        )
    if (out / "last").is_dir():
        return Interrupted("rerun with --resume to continue from the last finished epoch")
    return Interrupted("no epoch had finished, so there is nothing to resume; rerun to start")


def run(args: argparse.Namespace) -> int:
    """Train and report where the checkpoints are."""
    check_inputs(args)
    replaced = saved_checkpoint_id(Path(args.out) / "last") if args.overwrite else None
    try:
        from crossreg.train.trainer import train

        options = training_options(args)
        out = train(
            args.params,
            args.data,
            args.out,
            options,
            resume=args.resume,
            overwrite=args.overwrite,
            **plot_options(args),
        )
    except KeyboardInterrupt:
        raise interrupted(args.out, replaced) from None
    report_outputs(out, args)
    return 0
