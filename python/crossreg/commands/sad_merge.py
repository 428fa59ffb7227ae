"""``crossreg sad-merge``: join the ``.h5`` or ``.tsv`` shards of a ``crossreg sad --shard``
run."""

from __future__ import annotations

import argparse
from pathlib import Path

from crossreg.commands.inputs import require_output, require_paths

HELP = "join the shards (.h5 or .tsv) of a crossreg sad --shard i/n run into one file"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``crossreg sad-merge``."""
    parser.add_argument(
        "--out",
        type=Path,
        required=True,
        help="the merged file, of the shards' kind: .h5 for .h5 shards, .tsv (with its "
        ".tsv.json) for .tsv shards; a --gtf run's gene tables are merged beside it",
    )
    parser.add_argument(
        "shards", type=Path, nargs="+", help="the shard files, in order 0/n, 1/n, ... n-1/n"
    )


def run(args: argparse.Namespace) -> int:
    """Merge the shards, with percentiles over all variants."""
    require_paths(args, "shards")
    require_output(args, folder=False)
    if any(shard.resolve() == args.out.resolve() for shard in args.shards):
        raise ValueError(f"--out {args.out} is one of the shards; merge into another file")
    from crossreg.variants.sad_files import merge_shards

    path, alleles = merge_shards(args.out, args.shards)
    print(f"{len(args.shards)} shards, {alleles} alleles in {path}")
    return 0
