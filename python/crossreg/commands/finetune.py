"""``crossreg finetune``: a new head for a new targets table on a trained model's trunk."""

from __future__ import annotations

import argparse
from pathlib import Path

from crossreg.commands.help import OneOf
from crossreg.commands.inputs import require_output, require_paths
from crossreg.commands.options import add_plot_arguments, plot_options
from crossreg.commands.train import (
    add_training_arguments,
    check_epochs,
    check_shift,
    interrupted,
    open_training_store,
    report_outputs,
    training_options,
)
from crossreg.commands.values import COUNT, POSITIVE, whole
from crossreg.model.checkpoint_info import checkpoint_info, saved_checkpoint_id
from crossreg.step_defaults import (
    FINETUNE_MODES,
    LORA_RANK,
    LORA_SGD_LEARNING_RATE,
    UNFREEZE_BLOCKS,
)
from crossreg.train.new_head import check_free_name, check_head_name, new_head_name
from crossreg.train.run_folder import check_apart, check_run_folder, require_no_training

#: The largest adapter rank: above a layer's narrower side a rank adds nothing (Basenji2's
#: convolutions are 288-1,536 channels wide).
MAX_LORA_RANK = 1024

HELP = (
    "add a head for a dataset store's tracks to a checkpoint and train it on the frozen "
    "trunk (probe), with its own copy of the trunk's last blocks (unfreeze) or with "
    "low-rank adapters on its path (lora); the parent's heads are kept as they were"
)
DESCRIPTION = (
    "Reads a checkpoint (crossreg train, finetune or import-basenji) and a dataset "
    "store of the new tracks; writes into --out a checkpoint holding the parent's heads"
    " and the new one, as train does."
)
EXAMPLES = (
    "crossreg finetune --model joint/best --data data/mine --head-name mine --out ft --mode probe",
    "crossreg finetune --model joint/best --data data/mine --head-name mine --out ft_lora \\",
    "    --mode lora --lora-rank 8",
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``crossreg finetune``; unset training options come from the parent's
    params' ``train`` section."""
    parser.add_argument(
        "--model",
        metavar="DIR",
        type=Path,
        required=True,
        help="parent checkpoint directory (crossreg train, finetune or import-basenji)",
    )
    parser.add_argument(
        "--data",
        metavar="DIR",
        type=Path,
        required=True,
        help="dataset store of the new tracks (crossreg data; new tracks of a known genome, "
        "or a new genome)",
    )
    parser.add_argument(
        "--out", metavar="DIR", type=Path, required=True, help="output (checkpoint) directory"
    )
    parser.add_argument(
        "--mode",
        action=OneOf,
        choices=FINETUNE_MODES,
        default=FINETUNE_MODES[0],
        help="probe: the trunk frozen, only the new head trains; unfreeze: the new head's own "
        "copy of the trunk's last --unfreeze-blocks blocks trains too; lora: low-rank "
        "adapters on every trunk convolution, applied on the new head's path only, train too "
        "(in every mode the checkpoint keeps the parent's heads and trunk as they were, their "
        "predictions unchanged, beside the new head and its copy or adapters)",
    )
    parser.add_argument(
        "--head-name",
        metavar="NAME",
        default=None,
        help="name of the new head (default: the dataset's genome; needed when the parent "
        "already has a head of that name)",
    )
    parser.add_argument(
        "--unfreeze-blocks",
        type=COUNT,
        default=None,
        metavar="K",
        help="--mode unfreeze: train the trunk's last K blocks with weights "
        f"(default: {UNFREEZE_BLOCKS})",
    )
    parser.add_argument(
        "--lora-rank",
        type=whole(1, MAX_LORA_RANK),
        default=None,
        metavar="R",
        help=f"--mode lora: the adapters' rank (1-{MAX_LORA_RANK}; default: {LORA_RANK})",
    )
    parser.add_argument(
        "--lora-alpha",
        metavar="ALPHA",
        type=POSITIVE,
        default=None,
        help="--mode lora: adapters scale by alpha / rank (default: alpha = rank)",
    )
    parser.add_argument(
        "--learning-rate",
        metavar="RATE",
        type=POSITIVE,
        default=None,
        help="the optimiser's learning rate (default: the parent's params' train section; "
        f"with --mode lora and SGD, at most {LORA_SGD_LEARNING_RATE})",
    )
    add_training_arguments(parser)
    add_plot_arguments(parser)


#: Options that belong to one fine-tuning mode.
MODE_OPTIONS = {"unfreeze-blocks": "unfreeze", "lora-rank": "lora", "lora-alpha": "lora"}


def check_inputs(args: argparse.Namespace) -> None:
    """What ``finetune`` can check before torch loads: the options fit ``--mode``, the
    parent checkpoint reads, the store has train and valid windows and a whole batch of
    train windows (``--batch-size`` or the parent's params') that splits evenly over the
    processes of a consistent ``torchrun`` job, the new head's name (``--head-name``,
    else the store's genome) is well-formed and free in the parent, ``--out`` can be
    written and is apart from the checkpoint and the store, the epochs and shift fit
    and, with ``--resume``, ``--out`` holds a ``last/`` checkpoint to continue from
    (and, without it or ``--overwrite``, none)."""
    from crossreg.train.folds import training_windows
    from crossreg.train.launch import check_launch
    from crossreg.train.options import batch_size, check_batch_size

    check_mode_options(args)
    require_paths(args, folders=("model", "data"))
    require_output(args, folder=True)
    check_apart(args.out, [("--model checkpoint", args.model), ("--data store", args.data)])
    parent = checkpoint_info(args.model)
    check_epochs(args)
    store = open_training_store(args, args.data)
    source = str(args.data)
    windows = training_windows(store.splits, args.valid_fold, args.test_fold, source=source)
    batch = batch_size(args.batch_size, parent.train)
    check_batch_size(batch, {source: windows})
    check_launch(batch)
    name, what = new_head_name(args.head_name, store.genome, args.data)
    check_head_name(name, what)
    try:
        check_free_name(name, parent.keys, str(args.model))
    except ValueError as err:
        head = resumed_head(args)
        if head is None:
            raise
        raise ValueError(
            f"{err} (the run in {args.out} fine-tunes the head '{head}': resume with "
            f"--head-name {head})"
        ) from None
    check_shift(args.augment_shift, [store])
    require_no_training(args.out)
    check_run_folder(args.out, resume=args.resume, overwrite=args.overwrite)


def resumed_head(args: argparse.Namespace) -> str | None:
    """With ``--resume`` and no ``--head-name``, the head that the run in ``--out``
    fine-tunes (as its ``last/`` records it); None otherwise, or where ``last/`` does not
    say (:func:`check_run_folder` names what is wrong with it)."""
    if not args.resume or args.head_name is not None:
        return None
    try:
        recorded = checkpoint_info(Path(args.out) / "last").extra.get("finetune")
    except (OSError, ValueError):
        return None
    head = recorded.get("head") if isinstance(recorded, dict) else None
    return head if isinstance(head, str) else None


def check_mode_options(args: argparse.Namespace) -> None:
    """Stop on an option of another mode than ``--mode`` (``--lora-rank`` with
    ``--mode probe``), which would otherwise be ignored."""
    given = {k: v for k, v in MODE_OPTIONS.items() if getattr(args, k.replace("-", "_"))}
    stray = [f"--{k} (--mode {mode})" for k, mode in given.items() if mode != args.mode]
    if stray:
        what, it = ("not an option", "it") if len(stray) == 1 else ("not options", "them")
        raise ValueError(
            f"{', '.join(stray)}: {what} of this run's --mode {args.mode}; drop {it} or set "
            "the --mode named"
        )


def run(args: argparse.Namespace) -> int:
    """Fine-tune and report where the checkpoints are."""
    check_inputs(args)
    replaced = saved_checkpoint_id(Path(args.out) / "last") if args.overwrite else None
    try:
        return _finetune(args)
    except KeyboardInterrupt:
        raise interrupted(args.out, replaced) from None


def _finetune(args: argparse.Namespace) -> int:
    """Import the trainer, fine-tune and report where the checkpoints are."""
    from crossreg.train.finetune import FineTuneSpec, finetune

    defaults = FineTuneSpec()
    spec = FineTuneSpec(
        mode=args.mode,
        head=args.head_name,
        unfreeze_blocks=args.unfreeze_blocks or defaults.unfreeze_blocks,
        lora_rank=args.lora_rank or defaults.lora_rank,
        lora_alpha=args.lora_alpha,
    )
    spec.check()
    out = finetune(
        args.model,
        args.data,
        args.out,
        spec,
        training_options(args),
        learning_rate=args.learning_rate,
        resume=args.resume,
        overwrite=args.overwrite,
        **plot_options(args),
    )
    report_outputs(out, args)
    return 0
