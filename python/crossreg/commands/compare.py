"""``crossreg compare``: a joint model against a single-genome model, track by track."""

from __future__ import annotations

import argparse
from pathlib import Path

from crossreg.commands.inputs import (
    require_output,
    require_own_folder,
    require_paths,
    rerun_when_stopped,
)
from crossreg.commands.options import add_plot_arguments, plot_options
from crossreg.evaluate.files import compare_names

HELP = "compare per-track test accuracy of a joint and a single-genome model (paper Fig. 2)"
DESCRIPTION = (
    "Reads the metrics.tsv of crossreg evaluate for both models (or their folders); "
    "writes into --out comparison.tsv (per assay: tracks the joint model predicts "
    "better, with a sign test) and scatter.png."
)
EXAMPLES = (
    "crossreg compare --joint eval/joint/metrics.tsv --single eval/single/metrics.tsv --out cmp",
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``crossreg compare``."""
    parser.add_argument(
        "--joint", metavar="FILE", type=Path, required=True, help="metrics.tsv of the joint model"
    )
    parser.add_argument(
        "--single",
        metavar="FILE",
        type=Path,
        required=True,
        help="metrics.tsv of the single-genome model",
    )
    parser.add_argument("--out", metavar="DIR", type=Path, required=True, help="output directory")
    parser.add_argument("--title", metavar="TEXT", default="", help="title of the scatter plot")
    add_plot_arguments(parser)


def run(args: argparse.Namespace) -> int:
    """Write ``comparison.tsv`` (per assay) and ``scatter.png`` (per assay panels)."""
    require_paths(args, folders=("joint", "single"))  # a metrics.tsv, or the folder of one
    require_output(args, folder=True)
    require_own_folder(args, own_files=compare_names())
    from crossreg.evaluate.compare import compare_metrics

    with rerun_when_stopped(args):
        _, comparison = compare_metrics(
            args.joint, args.single, args.out, title=args.title, **plot_options(args)
        )
    print(comparison)
    return 0
