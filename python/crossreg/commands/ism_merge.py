"""``crossreg ism-merge``: join the ``.h5`` shards of a ``crossreg ism --shard`` run, and
draw the joined file's figures as ``crossreg ism`` does."""

from __future__ import annotations

import argparse
from pathlib import Path

from crossreg.commands.inputs import require_output, require_paths, require_suffix
from crossreg.commands.ism import add_motifs_argument, read_motif_option
from crossreg.commands.options import add_plot_arguments, plot_options

HELP = "join the shards of a crossreg ism --shard i/n run into the .h5 one run writes"
DESCRIPTION = (
    "Reads the N shard files that crossreg ism --shard I/N wrote, in order; writes the "
    ".h5 one unsharded run writes and draws its figures."
)
EXAMPLES = ("crossreg ism-merge --out ism.h5 ism0.h5 ism1.h5 ism2.h5",)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``crossreg ism-merge``."""
    parser.add_argument(
        "--out",
        metavar="FILE",
        type=Path,
        required=True,
        help="the merged .h5: byte for byte the file one crossreg ism run with the shards' "
        "inputs and options writes, when they share one --chunk-size and --batch-size "
        "(else its scores to float16 rounding, with the sizes recorded), ran on one device "
        "(whatever each shard's --device said) and read their inputs at one place (else "
        "each shard's devices and paths are recorded)",
    )
    parser.add_argument(
        "--figures",
        type=Path,
        default=None,
        metavar="DIR",
        help="where to draw the figures crossreg ism draws (one PNG per site, for its "
        "strongest track or, when the shards were scored with --targets, for each track); "
        "default: beside --out, named after it (ism.h5: ism.figures/)",
    )
    parser.add_argument(
        "shards",
        metavar="SHARD",
        type=Path,
        nargs="+",
        help="the shard files in the order of their sites: 0/n, 1/n, ... n-1/n; shards "
        "scored again with another --chunk-size or n join them when the sites tile the run",
    )
    add_motifs_argument(parser)
    add_plot_arguments(
        parser, redraw="rerun the merge without --no-plots to draw them", outputs="the .h5"
    )


def run(args: argparse.Namespace) -> int:
    """Merge the shards into one ISM file and draw its figures."""
    require_paths(args, "shards", "motifs")
    require_suffix(args, "out", [".h5"])
    require_output(args, folder=False)
    from crossreg.variants.ism_draw import figures_folder
    from crossreg.variants.ism_merge import merge_ism

    args.figures = args.figures or figures_folder(args.out)
    if args.plots:
        require_output(args, "figures", folder=True)
    motifs = read_motif_option(args)
    result = merge_ism(
        args.out, args.shards, figures=args.figures, motifs=motifs, **plot_options(args)
    )
    pngs = sum(p.suffix == ".png" for p in result.figures)
    note = f"; {pngs} figures in {args.figures}" if args.plots else ""
    print(
        f"{len(args.shards)} shards, ISM of {result.sites} sites × {result.width} bp × "
        f"{result.tracks} tracks in {result.path}{note}"
    )
    return 0
