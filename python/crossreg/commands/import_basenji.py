"""``crossreg import-basenji``: Basenji Keras weights → a crossreg checkpoint."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from crossreg.commands.help import OneOf
from crossreg.commands.inputs import require_output, require_paths
from crossreg.errors import Interrupted
from crossreg.model.checkpoint_info import saved_checkpoint_id
from crossreg.model.params import GELU_FORMS, load_params

log = logging.getLogger("crossreg")

HELP = "convert Basenji2 Keras .h5 weights (e.g. the cross2020 models) into a crossreg checkpoint"
DESCRIPTION = (
    "Reads the params JSON, and per head the Keras .h5 weights and targets table; "
    "writes the checkpoint --out (model.safetensors and config.json) that every "
    "crossreg step takes as --model."
)
EXAMPLES = (
    "crossreg import-basenji --params params_human.json --weights model_human.h5 \\",
    "    --targets targets_human.txt --genome human --gelu sigmoid1702 --out basenji2_human",
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``crossreg import-basenji``."""
    parser.add_argument(
        "--params",
        metavar="FILE",
        type=Path,
        required=True,
        help="the Basenji params JSON the weights belong to",
    )
    parser.add_argument(
        "--weights",
        type=Path,
        action="append",
        required=True,
        metavar="MODEL.h5",
        help="Keras HDF5 weights (trunk + one head); repeat with --targets/--genome per head",
    )
    parser.add_argument(
        "--targets",
        type=Path,
        action="append",
        required=True,
        metavar="TARGETS.txt",
        help="the targets table of that head, one row per output track (only its identifier "
        "and description columns are needed)",
    )
    parser.add_argument(
        "--genome",
        action="append",
        required=True,
        metavar="NAME",
        help="genome the head predicts; with several heads in params, the head's genome "
        "(head_human -> human); human or mouse must agree with the params' only head and the "
        "table's genome column (0 human, 1 mouse)",
    )
    parser.add_argument(
        "--out",
        metavar="DIR",
        type=Path,
        required=True,
        help="checkpoint directory to write: absent or empty, or a checkpoint with --overwrite",
    )
    parser.add_argument(
        "--overwrite", action="store_true", help="replace a checkpoint already in --out"
    )
    parser.add_argument(
        "--gelu",
        action=OneOf,
        choices=GELU_FORMS,
        default=None,
        help="GELU form (default: the form the file records, else tanh); the cross2020 "
        "models were trained with sigmoid1702 = x*sigmoid(1.702x)",
    )
    parser.add_argument(
        "--trunk-from",
        metavar="NAME",
        default=None,
        help="with several files whose trunks differ, use this genome's trunk for all heads",
    )


def run(args: argparse.Namespace) -> int:
    """Import, then save the checkpoint."""
    counts = {len(args.weights), len(args.targets), len(args.genome)}
    if len(counts) != 1:
        raise ValueError(
            f"give --weights, --targets and --genome once per head: got {len(args.weights)}, "
            f"{len(args.targets)} and {len(args.genome)}"
        )
    require_paths(args, "params", "weights", "targets")
    require_output(args, folder=True)
    load_params(args.params)  # a mistyped params file stops before torch (read again there)
    from crossreg.model.keras_import import BasenjiSource, import_checkpoint

    sources = [
        BasenjiSource(genome, weights, targets)
        for genome, weights, targets in zip(args.genome, args.weights, args.targets, strict=True)
    ]
    before = saved_checkpoint_id(args.out)
    try:
        import_checkpoint(
            args.params,
            sources,
            args.out,
            gelu=args.gelu,
            trunk_from=args.trunk_from,
            overwrite=args.overwrite,
        )
    except KeyboardInterrupt:
        if saved_checkpoint_id(args.out) in (None, before):
            state = "is as it was" if args.out.exists() else "was not made"
            raise Interrupted(
                f"nothing was written: {args.out} {state}; rerun the command"
            ) from None
        # stopped once the new checkpoint had replaced the old: it is whole, so the run
        # is finished and is recorded as such
        log.warning("interrupted after %s was written whole: the checkpoint is complete", args.out)
    return 0
