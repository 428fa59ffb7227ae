"""``crossreg sad-merge``: join the ``.h5`` or ``.tsv`` shards of a ``crossreg sad --shard``
run, and draw the joined file's figures as ``crossreg sad`` does."""

from __future__ import annotations

import argparse
from pathlib import Path

from crossreg.commands.inputs import require_output, require_paths
from crossreg.commands.options import add_plot_arguments, plot_options

HELP = "join the shards (.h5 or .tsv) of a crossreg sad --shard i/n run into one file"
DESCRIPTION = (
    "Reads the N shard files that crossreg sad --shard I/N wrote, in order; writes the "
    "file one unsharded run writes, with its figures."
)
EXAMPLES = ("crossreg sad-merge --out sad.h5 shard0.h5 shard1.h5 shard2.h5 shard3.h5",)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``crossreg sad-merge``."""
    parser.add_argument(
        "--out",
        metavar="FILE",
        type=Path,
        required=True,
        help="the merged file, of the shards' kind: .h5 for .h5 shards, .tsv (with its "
        ".tsv.json) for .tsv shards; the gene tables of a --gtf run are merged beside it, "
        "and the figures drawn beside it as crossreg sad draws them. Shards of several "
        "--batch-size merge (the file records the sizes: its scores are one run's to "
        "float16 rounding), as do shards given another --device, or that ran on other "
        "devices or read their inputs at other paths (the file records each shard's)",
    )
    parser.add_argument(
        "shards",
        metavar="SHARD",
        type=Path,
        nargs="+",
        help="the shard files, in order 0/n, 1/n, ... n-1/n",
    )
    add_plot_arguments(parser)


def run(args: argparse.Namespace) -> int:
    """Merge the shards, with percentiles over all variants, and draw the figures."""
    require_paths(args, "shards")
    require_output(args, folder=False)
    from crossreg.variants.sad_merge import merge_sad

    path, alleles = merge_sad(args.out, args.shards, **plot_options(args))
    print(f"{len(args.shards)} shards, {alleles} alleles in {path}")
    return 0
