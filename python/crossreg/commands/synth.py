"""``crossreg synth``: write a synthetic human + mouse world with known truth."""

from __future__ import annotations

import argparse
import logging
import time

from crossreg.commands.help import OneOf
from crossreg.commands.inputs import require_output
from crossreg.commands.options import add_genomes_argument
from crossreg.commands.values import SEED

HELP = (
    "write a synthetic world of related genomes (mini human + mini mouse, optionally rat "
    "and dog): genomes, nets, tracks, variants, truth"
)
DESCRIPTION = (
    "Needs nothing but --out: writes into it, per genome, a FASTA, genes (GTF), BigWig "
    "tracks with their targets tables and the variants, with the truth behind them and "
    "the alignment nets between the genomes, listed in manifest.json."
)
EXAMPLES = (
    "crossreg synth --preset mini --seed 0 --out world/",
    "crossreg synth --preset tiny --genomes 3 --out world3/",
)

log = logging.getLogger("crossreg")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``crossreg synth``."""
    from crossreg.synth.presets import PRESETS

    parser.add_argument(
        "--preset",
        action=OneOf,
        choices=list(PRESETS),
        default="tiny",
        help="size of the world (default: tiny)",
    )
    parser.add_argument(
        "--seed", metavar="N", type=SEED, default=0, help="random seed (default: 0)"
    )
    add_genomes_argument(parser, "each with its own tracks and a net to every other")
    parser.add_argument(
        "--out",
        metavar="DIR",
        required=True,
        help="output directory, written whole: absent or empty, or a world to replace with "
        "--overwrite",
    )
    parser.add_argument(
        "--overwrite", action="store_true", help="replace the world already in --out"
    )
    parser.add_argument(
        "--no-cohorts",
        action="store_true",
        help="skip the de novo case/control sets, the eQTL-like summary statistics and the "
        "reference panel for SLDP",
    )


def run(args: argparse.Namespace) -> int:
    """Generate the world and report where its manifest is."""
    from crossreg.synth.world import synthesize

    require_output(args, folder=True)
    began = time.perf_counter()
    manifest = synthesize(
        args.out,
        args.preset,
        args.seed,
        cohort_sets=not args.no_cohorts,
        genomes=args.genomes,
        overwrite=args.overwrite,
    )
    log.info("wrote %s in %.1f s", manifest, time.perf_counter() - began)
    return 0
