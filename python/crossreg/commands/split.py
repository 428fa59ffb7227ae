"""``crossreg split``: train/valid/test (or folds) of several genomes by synteny."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from crossreg.commands.inputs import input_error, require_output
from crossreg.commands.values import FRACTION, MAX_BP, SEED, check_held_out, whole
from crossreg.commands.words import path_problem
from crossreg.errors import Interrupted

HELP = "split several genomes into train/valid/test regions by synteny (UCSC .net alignments)"
DESCRIPTION = (
    "Reads each genome's chromosome sizes and the UCSC .net alignments between them; "
    "writes into --out a <genome>.regions.bed per genome (the input of crossreg data "
    "--regions) with components.tsv, links.tsv, split.json and split.txt."
)
EXAMPLES = (
    "crossreg split --sizes hg38=hg38.chrom.sizes --sizes mm10=mm10.chrom.sizes \\",
    "    --net hg38,mm10=hg38.mm10.syn.net.gz --out split/",
)

log = logging.getLogger("crossreg")

#: The most folds: far more than cross-validation uses, few enough to list.
MAX_FOLDS = 1000


def _file_of(path: str) -> Path:
    """The FILE of ``NAME=FILE``; one :func:`path_problem` finds wrong is refused."""
    problem = path_problem(path)
    if problem is not None:
        raise argparse.ArgumentTypeError(problem)
    return Path(path)


def _sizes_arg(text: str) -> tuple[str, Path]:
    name, sep, path = text.partition("=")
    if not sep or not name or not path:
        raise argparse.ArgumentTypeError(f"expected NAME=FILE, got '{text}'")
    return name, _file_of(path)


def _net_arg(text: str) -> tuple[str, str, Path]:
    pair, sep, path = text.partition("=")
    target, comma, query = pair.partition(",")
    if not sep or not comma or not target or not query or not path:
        raise argparse.ArgumentTypeError(
            f"expected TARGET,QUERY=FILE (e.g. hg38,mm10=hg38.mm10.syn.net.gz), got '{text}'"
        )
    return target, query, _file_of(path)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``crossreg split``."""
    from crossreg.split import defaults as s

    parser.add_argument(
        "--sizes",
        type=_sizes_arg,
        action="append",
        required=True,
        metavar="NAME=FILE",
        help="chromosome sizes of genome NAME (chrom.sizes, .genome or .fai); repeat per genome",
    )
    parser.add_argument(
        "--net",
        type=_net_arg,
        action="append",
        default=[],
        metavar="TARGET,QUERY=FILE",
        help="UCSC .net alignment (plain or .gz) whose 'net' lines are on genome TARGET; "
        "repeat for more pairs or more files of one pair (aligned bases of all nets add up: "
        "give each alignment once, and one direction per pair)",
    )
    parser.add_argument(
        "--out",
        metavar="DIR",
        type=Path,
        required=True,
        help="output directory, written whole: absent, empty, or an earlier split to replace",
    )
    parser.add_argument(
        "--region-size",
        metavar="BP",
        type=whole(1, MAX_BP),
        default=s.DEFAULT_REGION_SIZE,
        help="region size in bp",
    )
    parser.add_argument(
        "--min-aligned",
        metavar="BP",
        type=whole(0, MAX_BP),
        default=s.DEFAULT_MIN_ALIGNED,
        help="join two regions when more than this many bases align between them",
    )
    parser.add_argument(
        "--valid",
        metavar="FRACTION",
        type=FRACTION,
        default=None,
        help=f"fraction of each genome for validation (default: {s.DEFAULT_VALID})",
    )
    parser.add_argument(
        "--test",
        metavar="FRACTION",
        type=FRACTION,
        default=None,
        help=f"fraction of each genome for test (default: {s.DEFAULT_TEST})",
    )
    parser.add_argument(
        "--folds",
        metavar="K",
        type=whole(2, MAX_FOLDS),
        default=None,
        help="K folds fold0..fold{K-1} of 1/K each instead of train/valid/test",
    )
    parser.add_argument(
        "--seed",
        metavar="N",
        type=SEED,
        default=s.DEFAULT_SEED,
        help="seed of the assignment",
    )
    parser.add_argument(
        "--skip-unknown-chroms",
        action="store_true",
        help="skip alignments to chromosomes missing from the sizes instead of stopping",
    )


def run(args: argparse.Namespace) -> int:
    """Compute the split, write it to ``--out`` and log the summary."""
    from crossreg.split.defaults import DEFAULT_TEST, DEFAULT_VALID
    from crossreg.split.report import check_out, write_split
    from crossreg.split.synteny import NetSpec, split_genomes

    if args.folds is not None and (args.valid is not None or args.test is not None):
        raise ValueError("give either --folds or --valid/--test, not both")
    valid = DEFAULT_VALID if args.valid is None else args.valid
    test = DEFAULT_TEST if args.test is None else args.test
    check_held_out(("--valid", valid), ("--test", test))
    require_output(args, folder=True)
    check_out(args.out)  # before the work, which a refused --out would lose
    names = [name for name, _ in args.sizes]
    duplicated = sorted({n for n in names if names.count(n) > 1})
    if duplicated:
        raise ValueError(f"--sizes given twice for genome {', '.join(duplicated)}")
    nets = [net for net in args.net if net[0] in names and net[1] in names]  # else: unknown
    for option, values in (("--sizes", args.sizes), ("--net", nets)):
        for *pair, path in values:
            error = input_error(path)
            if error is not None:
                raise ValueError(f"{option} {','.join(pair)}={path}: {error.strerror}")
    before = "is as it was" if args.out.exists() else "was not made"
    try:
        result = split_genomes(
            dict(args.sizes),
            [NetSpec(t, q, p) for t, q, p in args.net],
            region_size=args.region_size,
            min_aligned=args.min_aligned,
            valid=valid,
            test=test,
            folds=args.folds,
            seed=args.seed,
            skip_unknown_chroms=args.skip_unknown_chroms,
        )
    except KeyboardInterrupt:  # the nets are read: nothing is written yet
        raise Interrupted(f"nothing was written: --out {args.out} {before}") from None
    paths = write_split(result, args.out)
    for warning in result.warnings:
        log.warning("%s", warning)
    log.info("%s", paths["text"].read_text().rstrip())
    leakage = result.leakage()
    if not leakage.ok:
        log.error(
            "leakage check failed: %d bp in %d region pairs above the threshold cross splits",
            leakage.above_bases,
            leakage.above_pairs,
        )
        return 1
    log.info("wrote %s", ", ".join(str(p) for p in paths.values()))
    return 0
