"""``crossreg data``: build one genome's training dataset store."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path
from typing import TYPE_CHECKING

from crossreg.commands.inputs import require_output
from crossreg.commands.options import accept_negative_values
from crossreg.commands.values import (
    FRACTION,
    MAX_BP,
    MAX_SEQ_LENGTH,
    POSITIVE,
    SEED,
    WORKERS,
    check_held_out,
    number,
    shard_of,
    whole,
)
from crossreg.errors import Interrupted

if TYPE_CHECKING:
    from crossreg.data.plan import SplitOptions

HELP = "build a genome's training dataset (windows, sequences, binned BigWig targets)"
DESCRIPTION = (
    "Reads a genome's FASTA and a Basenji targets table naming one BigWig per track, "
    "with the regions of crossreg split (or a random split); writes the dataset store "
    "--out that train, finetune, evaluate and transfer read."
)
EXAMPLES = (
    "crossreg data --genome human --fasta hg38.fa --targets targets_human.txt \\",
    "    --regions split/hg38.regions.bed --out data/human",
)

log = logging.getLogger("crossreg")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``crossreg data``; defaults from :mod:`crossreg.data.defaults`."""
    from crossreg.data import defaults as d

    accept_negative_values(parser)  # --tracks -1/3: refused by its own message
    inputs = parser.add_argument_group("inputs")
    inputs.add_argument(
        "--genome", metavar="NAME", required=True, help="genome name stored in the dataset"
    )
    inputs.add_argument(
        "--assembly",
        metavar="NAME",
        help="assembly name (default: read from the FASTA's file name: Ensembl's "
        "Homo_sapiens.GRCh38.dna.*.fa gives GRCh38, NCBI's GCF_000001405.40_*_genomic.fna "
        "GCF_000001405.40, others the name up to its first dot: hg38.fa gives hg38)",
    )
    inputs.add_argument(
        "--fasta", metavar="FASTA", required=True, help="genome FASTA (plain, gzip or bgzip)"
    )
    inputs.add_argument("--targets", metavar="FILE", required=True, help="Basenji targets table")
    inputs.add_argument("--out", metavar="DIR", required=True, help="dataset directory to create")
    inputs.add_argument(
        "--regions",
        metavar="BED",
        help="BED of regions with a split label in column 4: train, valid or test, or the "
        "folds fold0..fold{K-1} of `crossreg split --folds K`",
    )
    inputs.add_argument(
        "--blacklist", metavar="BED", action="append", default=[], help="blacklist BED (repeatable)"
    )
    inputs.add_argument("--unmappable", metavar="BED", help="BED of unmappable regions")
    inputs.add_argument(
        "--gaps", metavar="BED", help="BED of assembly gaps (contigs lie between them)"
    )
    geometry = parser.add_argument_group("windows")
    geometry.add_argument(
        "--seq-length",
        metavar="BP",
        type=whole(1, MAX_SEQ_LENGTH),
        default=d.DEFAULT_SEQ_LENGTH,
        help="input bp",
    )
    geometry.add_argument(
        "--stride",
        metavar="BP",
        type=whole(1, MAX_BP),
        default=d.DEFAULT_STRIDE,
        help="tiling stride bp",
    )
    geometry.add_argument(
        "--stride-test",
        type=whole(1, MAX_BP),
        default=None,
        metavar="BP",
        help="tiling stride bp of the valid and test windows, as Basenji's --stride_test "
        "(131072 leaves them apart: no base is scored twice; not with folds) "
        "(default: the --stride)",
    )
    geometry.add_argument(
        "--crop",
        metavar="BINS",
        type=whole(0, MAX_SEQ_LENGTH),
        default=d.DEFAULT_CROP_BINS,
        help="bins cropped per side",
    )
    geometry.add_argument(
        "--pool-width",
        metavar="BP",
        type=whole(1, MAX_SEQ_LENGTH),
        default=d.DEFAULT_POOL_WIDTH,
        help="bin width bp",
    )
    geometry.add_argument(
        "--min-n-run",
        metavar="BP",
        type=whole(0, MAX_BP),
        default=d.DEFAULT_MIN_N_RUN,
        help="N runs this long end contigs; 0: never",
    )
    geometry.add_argument(
        "--max-unmappable",
        metavar="FRACTION",
        type=number(0.0, 1.0, above=True),
        default=d.DEFAULT_MAX_UNMAPPABLE,
        help="drop windows with at least this fraction of unmappable target bins",
    )
    geometry.add_argument(
        "--fill-quantile",
        metavar="Q",
        type=number(0.0, 1.0),
        default=d.DEFAULT_FILL_QUANTILE,
        help="masked bins get this quantile of the track's bins",
    )
    split = parser.add_argument_group("split (without --regions)")
    split.add_argument(
        "--valid-fraction",
        metavar="FRACTION",
        type=FRACTION,
        default=None,
        help=f"share of the windows for validation (default: {d.DEFAULT_VALID_FRACTION})",
    )
    split.add_argument(
        "--test-fraction",
        metavar="FRACTION",
        type=FRACTION,
        default=None,
        help=f"share of the windows for test (default: {d.DEFAULT_TEST_FRACTION})",
    )
    split.add_argument(
        "--split-block",
        metavar="BP",
        type=whole(1, MAX_BP),
        default=None,
        help=f"bp per randomly assigned block (default: {d.DEFAULT_SPLIT_BLOCK})",
    )
    split.add_argument(
        "--seed",
        metavar="N",
        type=SEED,
        default=None,
        help=f"seed of the block assignment (default: {d.DEFAULT_SEED})",
    )
    run_group = parser.add_argument_group("resources")
    run_group.add_argument(
        "--threads", metavar="N", type=WORKERS, help="worker threads (default: all cores)"
    )
    run_group.add_argument(
        "--memory-gb",
        metavar="GIB",
        type=POSITIVE,
        default=d.DEFAULT_MEMORY_GB,
        help="peak memory of the build in GiB, the FASTA included: a cluster job's memory request",
    )
    run_group.add_argument(
        "--overwrite",
        action="store_true",
        help="replace an existing dataset (or start over an interrupted build)",
    )
    run_group.add_argument(
        "--resume",
        action="store_true",
        help="continue the interrupted build of --out (the same inputs and options): its "
        "finished sequences and chunks of tracks are kept, the store is the bytes an "
        "unbroken build writes",
    )
    run_group.add_argument(
        "--strict",
        action="store_true",
        help="a track whose BigWigs lack some of the FASTA's chromosomes is an error "
        "(default: warn and mask those bins with the track's fill value)",
    )
    run_group.add_argument(
        "--compress-targets",
        type=whole(0, 12),
        metavar="LEVEL",
        help="store the targets compressed, each window on its own (byte shuffle + deflate "
        "at LEVEL 0-12; 1 is fast) with a CRC32 checked when it is read: for stores larger "
        "than the page cache, read from disk",
    )
    run_group.add_argument(
        "--tracks",
        type=shard_of("--tracks"),
        metavar="I/N",
        help="build only the I-th (from 0) of N contiguous shares of the targets table's "
        "tracks, as a shard directory at --out (every window; sequences in shard 0 only); "
        "join the N shards with crossreg data-merge",
    )


#: The options of the split without --regions: option → its field of ``SplitOptions``.
SPLIT_OPTIONS = {
    "--valid-fraction": "valid_fraction",
    "--test-fraction": "test_fraction",
    "--split-block": "block_size",
    "--seed": "seed",
}


def split_options(args: argparse.Namespace) -> SplitOptions:
    """The split of a build without ``--regions``: the options given, the defaults of
    :class:`SplitOptions` for the others. Given with ``--regions``, whose labels make the
    split, they would do nothing: a ValueError names them."""
    from crossreg.data.plan import SplitOptions

    values = {option: getattr(args, option[2:].replace("-", "_")) for option in SPLIT_OPTIONS}
    given = {option: value for option, value in values.items() if value is not None}
    if given and args.regions is not None:
        raise ValueError(
            f"{', '.join(given)}: only without --regions (the regions BED's labels make the "
            "split); drop them, or the --regions"
        )
    split = SplitOptions(**{SPLIT_OPTIONS[option]: value for option, value in given.items()})
    check_held_out(
        ("--valid-fraction", split.valid_fraction), ("--test-fraction", split.test_fraction)
    )
    return split


def run(args: argparse.Namespace) -> int:
    """Build the dataset; returns 0 on success."""
    from crossreg.data.build import BuildOptions, build_dataset, build_shard
    from crossreg.data.plan import Layout

    split = split_options(args)
    require_output(args, folder=True)
    options = BuildOptions(
        genome=args.genome,
        assembly=args.assembly,
        layout=Layout(args.seq_length, args.pool_width, args.crop, args.stride, args.stride_test),
        split=split,
        min_n_run=args.min_n_run,
        max_unmappable=args.max_unmappable,
        fill_quantile=args.fill_quantile,
        threads=args.threads,
        memory_gb=args.memory_gb,
        overwrite=args.overwrite,
        strict=args.strict,
        compress_targets=args.compress_targets,
        resume=args.resume,
    )
    inputs = {
        "fasta": args.fasta,
        "targets": args.targets,
        "options": options,
        "regions": args.regions,
        "gaps": args.gaps,
        "blacklist": args.blacklist,
        "unmappable": args.unmappable,
    }
    before = "is as it was" if Path(args.out).exists() else "was not made"
    try:
        if args.tracks is not None:
            log.info(
                "wrote shard %s of the tracks in %s",
                args.tracks,
                build_shard(args.out, args.tracks, **inputs),
            )
        else:
            log.info("wrote %r", build_dataset(args.out, **inputs))
    except Interrupted:  # the build says what it kept for --resume
        raise
    except KeyboardInterrupt:
        raise Interrupted(
            f"nothing was written: {args.out} {before}; no work had finished, so rerun the command"
        ) from None
    return 0
