"""``crossreg predict``: tracks for FASTA records or BED regions from a checkpoint."""

from __future__ import annotations

import argparse
from pathlib import Path

from crossreg.commands.options import add_inference_arguments, inference_options

HELP = "predict tracks for each FASTA record (or each BED region of a FASTA) with a checkpoint"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``crossreg predict``."""
    parser.add_argument("--model", type=Path, required=True, help="checkpoint directory")
    parser.add_argument(
        "--genome", default=None, help="which head to use (required when the model has several)"
    )
    parser.add_argument("--fasta", type=Path, required=True, help="sequences (FASTA)")
    parser.add_argument(
        "--bed",
        type=Path,
        default=None,
        help="regions of the FASTA to predict, each centred in a window of the model's length",
    )
    parser.add_argument(
        "--out", type=Path, required=True, help="output .npy (N, bins, tracks) or .h5 with labels"
    )
    add_inference_arguments(parser, batch_size=4)


def run(args: argparse.Namespace) -> int:
    """Predict and write the output file."""
    from crossreg.predict import write_predictions

    write_predictions(
        args.model,
        args.fasta,
        args.out,
        head=args.genome,
        bed=args.bed,
        options=inference_options(args),
    )
    return 0
