"""``crossreg synth``: write a synthetic human + mouse world with known truth."""

from __future__ import annotations

import argparse
import logging
import time

HELP = (
    "write a synthetic world of related genomes (mini human + mini mouse, optionally rat "
    "and dog): genomes, nets, tracks, variants, truth"
)

log = logging.getLogger("crossreg")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``crossreg synth``."""
    from crossreg.synth.presets import PRESETS
    from crossreg.synth.species import CATALOGUE, DEFAULT_GENOMES, MAX_GENOMES, MIN_GENOMES

    parser.add_argument(
        "--preset", choices=list(PRESETS), default="tiny", help="size of the world (default: tiny)"
    )
    parser.add_argument("--seed", type=int, default=0, help="random seed (default: 0)")
    parser.add_argument(
        "--genomes",
        type=int,
        choices=range(MIN_GENOMES, MAX_GENOMES + 1),
        default=DEFAULT_GENOMES,
        metavar="N",
        help=f"how many species from the same ancestor, each with its own tracks and a net "
        f"to every other ({MIN_GENOMES}-{MAX_GENOMES}: "
        f"{', '.join(s.name for s in CATALOGUE)}, in this order; default: {DEFAULT_GENOMES})",
    )
    parser.add_argument("--out", required=True, help="output directory")
    parser.add_argument(
        "--no-cohorts",
        action="store_true",
        help="skip the de novo case/control sets and summary statistics",
    )


def run(args: argparse.Namespace) -> int:
    """Generate the world and report where its manifest is."""
    from crossreg.synth.world import synthesize

    if args.seed < 0:
        raise ValueError(f"--seed must be a non-negative integer, got {args.seed}")
    began = time.perf_counter()
    manifest = synthesize(
        args.out, args.preset, args.seed, cohort_sets=not args.no_cohorts, genomes=args.genomes
    )
    log.info("wrote %s in %.1f s", manifest, time.perf_counter() - began)
    return 0
