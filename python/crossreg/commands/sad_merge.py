"""``crossreg sad-merge``: join the ``.h5`` or ``.tsv`` shards of a ``crossreg sad --shard``
run, and draw the joined file's figures as ``crossreg sad`` does."""

from __future__ import annotations

import argparse
from pathlib import Path

from crossreg.commands.inputs import require_output, require_paths
from crossreg.commands.options import add_plot_arguments, plot_options

HELP = "join the shards (.h5 or .tsv) of a crossreg sad --shard i/n run into one file"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``crossreg sad-merge``."""
    parser.add_argument(
        "--out",
        type=Path,
        required=True,
        help="the merged file, of the shards' kind: .h5 for .h5 shards, .tsv (with its "
        ".tsv.json) for .tsv shards; the gene tables of a --gtf run are merged beside it, "
        "and the figures drawn beside it as crossreg sad draws them",
    )
    parser.add_argument(
        "shards", type=Path, nargs="+", help="the shard files, in order 0/n, 1/n, ... n-1/n"
    )
    add_plot_arguments(parser)


def run(args: argparse.Namespace) -> int:
    """Merge the shards, with percentiles over all variants, and draw the figures."""
    require_paths(args, "shards")
    require_output(args, folder=False)
    if any(shard.resolve() == args.out.resolve() for shard in args.shards):
        raise ValueError(f"--out {args.out} is one of the shards; merge into another file")
    from crossreg.variants.sad_figures import draw_figures
    from crossreg.variants.sad_files import merge_shards, read_attrs

    path, alleles = merge_shards(args.out, args.shards)
    head = str(read_attrs(path).get("genome", ""))
    draw_figures(path, title=head, **plot_options(args))
    print(f"{len(args.shards)} shards, {alleles} alleles in {path}")
    return 0
