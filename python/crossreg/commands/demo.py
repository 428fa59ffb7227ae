"""``crossreg demo``: the whole pipeline on a generated mini human and mini mouse."""

from __future__ import annotations

import argparse
from pathlib import Path

from crossreg.commands.help import OneOf
from crossreg.commands.inputs import require_output, require_own_folder
from crossreg.commands.options import add_genomes_argument
from crossreg.commands.values import COUNT, SEED
from crossreg.demo_clock import CLOCK_FILE
from crossreg.demo_settings import CONFIGURATIONS, FAST, MINI, SMALL, WORLD
from crossreg.io.atomic_dir import partial_path

HELP = (
    "the whole pipeline on generated genomes: synth → split → data → train (joint and "
    "single) → evaluate → compare → transfer → SAD of planted variants → de novo tests → "
    "SLDP → ISM, then summary.txt and report.html"
)
DESCRIPTION = (
    "Needs nothing but --out: generates the genomes, runs every step on them and writes "
    "each step's outputs into --out, with summary.txt and report.html at the end."
)
EXAMPLES = (
    "crossreg demo --fast --out demo-fast   # tiny genomes: the whole chain, under 10 min",
    "crossreg demo --out demo-out           # the mini world",
    "crossreg demo --out demo-out --resume  # continue a run that stopped",
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``crossreg demo``."""
    parser.add_argument("--out", metavar="DIR", type=Path, required=True, help="output directory")
    size = parser.add_mutually_exclusive_group()
    size.add_argument(
        "--fast",
        action="store_true",
        help="tiny genomes and two short epochs: checks the pipeline in under 10 minutes on "
        "two CPU cores (the same as --preset tiny)",
    )
    size.add_argument(
        "--preset",
        action=OneOf,
        choices=tuple(CONFIGURATIONS),
        default=MINI.preset,
        help=f"size of the run: tiny (= --fast); mini (the demo: a few-Mbp world, "
        f"{MINI.seq_length:,}-bp windows, {MINI.max_epochs} epochs, 21–43 minutes on two "
        "CPU cores); small (the paper's proportions: a world ten times larger, 1-Mbp "
        f"regions, {SMALL.seq_length:,}-bp windows, a deeper trunk, {SMALL.max_epochs} "
        "epochs; for a GPU)",
    )
    parser.add_argument(
        "--epochs",
        metavar="N",
        type=COUNT,
        help=f"maximum training epochs of the joint model (default: {MINI.max_epochs}; "
        f"tiny/--fast {FAST.max_epochs}, small {SMALL.max_epochs}); each single-genome model "
        "may take as many steps, in as many of its own shorter epochs as that makes",
    )
    parser.add_argument(
        "--panel-snps",
        type=COUNT,
        metavar="N",
        help="score every ceil(M/N)-th of the reference panel's M SNPs for SLDP instead of "
        "all of them: at most N, evenly spaced (M is about 2,000 for tiny, 6,500 for mini "
        "and 20,000 for small; --fast sets N to 150, which scores 143 of tiny's 1,994)",
    )
    parser.add_argument(
        "--seed",
        metavar="N",
        type=SEED,
        default=0,
        help="seed of the synthetic world, the split and training",
    )
    parser.add_argument(
        "--resume",
        action="store_true",
        help="continue a run stopped in DIR (same --preset, --seed, --genomes): keep its "
        "world, continue each training from its last finished epoch, keep finished SAD "
        "tables and continue interrupted ones (SAD from its last chunk, SLDP from its last "
        "chromosome); the steps that take seconds run again",
    )
    add_genomes_argument(
        parser,
        "one trunk trained on all of them, every head evaluated and transferred to every genome",
    )
    parser.set_defaults(report_after_run=True)  # report.html then lists `crossreg demo` too


def run(args: argparse.Namespace) -> int:
    """Run the demo and print its summary."""
    from dataclasses import replace

    settings = CONFIGURATIONS["tiny" if args.fast else args.preset]
    settings = replace(settings, seed=args.seed, genomes=args.genomes)
    require_output(args, folder=True)
    # a stopped demo leaves its time record and world before anything else (or, killed
    # while writing the world, the hidden folder it is written in), which it judges
    # itself: the settings on --resume, crossreg synth's own check on a new run
    unfinished = (CLOCK_FILE, WORLD, partial_path(Path(WORLD)).name)
    require_own_folder(args, unfinished=unfinished)
    if args.epochs:
        settings = replace(settings, max_epochs=args.epochs)
    if args.panel_snps:
        settings = replace(settings, panel_snps=args.panel_snps)
    from crossreg.demo import run_demo
    from crossreg.demo_summary import format_summary

    summary = run_demo(args.out, settings, resume=args.resume, report=False)  # the CLI writes it
    print(format_summary(summary))
    return 0
