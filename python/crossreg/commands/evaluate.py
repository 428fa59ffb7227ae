"""``crossreg evaluate``: per-track test accuracy of a checkpoint on a dataset store."""

from __future__ import annotations

import argparse
from pathlib import Path

from crossreg.commands.inputs import open_store, require_output, require_paths
from crossreg.commands.options import (
    add_inference_arguments,
    add_plot_arguments,
    inference_options,
    plot_options,
)
from crossreg.model.checkpoint_info import checkpoint_info

HELP = "per-track Pearson R and R² of a checkpoint on one split of a dataset store"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``crossreg evaluate``."""
    parser.add_argument("--model", type=Path, required=True, help="checkpoint directory")
    parser.add_argument("--data", type=Path, required=True, help="dataset store")
    parser.add_argument("--split", default="test", help="split to score (default test)")
    parser.add_argument("--out", type=Path, required=True, help="output directory")
    parser.add_argument("--genome", help="head to use (default: the dataset's genome)")
    add_inference_arguments(parser, batch_size=4)
    add_plot_arguments(
        parser, redraw="r_by_assay.png can be redrawn from metrics.tsv; tracks.png needs the model"
    )


def run(args: argparse.Namespace) -> int:
    """Write ``metrics.tsv`` (one row per track) and ``summary.json`` (means per assay),
    and the figures ``tracks.png`` (with ``tracks.npz``) and ``r_by_assay.png``."""
    require_paths(args, "model", "data")
    require_output(args, folder=True)
    store = open_store(args.data, [args.split])
    info = checkpoint_info(args.model)
    if args.genome is not None:
        info.choose(args.genome)
    elif store.genome not in info.heads:
        raise ValueError(
            f"{args.model} has no head for the dataset's genome '{store.genome}' (its heads: "
            f"{', '.join(info.heads)}); name the head to score with --genome"
        )
    from crossreg.evaluate.accuracy import evaluate_model
    from crossreg.evaluate.table import assay_summary

    table = evaluate_model(
        args.model,
        args.data,
        args.out,
        split=args.split,
        genome=args.genome,
        options=inference_options(args),
        **plot_options(args),
    )
    print(assay_summary(table))
    return 0
