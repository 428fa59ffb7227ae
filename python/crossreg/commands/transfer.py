"""``crossreg transfer``: a head's predictions at a genome's gene TSSs against its tracks."""

from __future__ import annotations

import argparse
from pathlib import Path

from crossreg.commands.options import add_inference_arguments, inference_options

HELP = "compare a head's predictions (e.g. mouse) with a genome's measured tracks at gene TSSs"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``crossreg transfer``."""
    parser.add_argument("--model", type=Path, required=True, help="checkpoint directory")
    parser.add_argument(
        "--head", required=True, help="the head that predicts (e.g. mouse on a human store)"
    )
    parser.add_argument(
        "--data", type=Path, required=True, help="dataset store with the measured tracks"
    )
    parser.add_argument("--gtf", type=Path, required=True, help="genes of the store's genome")
    parser.add_argument("--split", default="test", help="windows to use (default test)")
    parser.add_argument("--out", type=Path, required=True, help="output directory")
    add_inference_arguments(parser, batch_size=8)


def run(args: argparse.Namespace) -> int:
    """Predict at the TSSs, pair tracks by description and write the tables."""
    from crossreg.evaluate.transfer import write_transfer

    summary = write_transfer(
        args.model,
        args.head,
        args.data,
        args.gtf,
        args.out,
        split=args.split,
        options=inference_options(args),
    )
    for assay, row in summary["assays"].items():
        r, normalised = (
            "n/a" if v is None else f"{v:.3f}"
            for v in (row["pearson_r"], row["pearson_r_normalised"])
        )
        print(
            f"{summary['head']} head on {summary['store_genome']} {assay}: R {r}, "
            f"mean-normalised {normalised} ({row['tracks']} tracks, {summary['tss']} TSSs)"
        )
    return 0
