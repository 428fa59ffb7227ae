"""``crossreg data-merge``: join the shards of a ``crossreg data --tracks i/n`` build."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from crossreg.commands.inputs import require_output
from crossreg.errors import Interrupted

HELP = "join the shard directories of a crossreg data --tracks i/n build into one dataset"
DESCRIPTION = (
    "Reads the N shard directories that crossreg data --tracks I/N wrote; writes the "
    "dataset store one unsharded build writes."
)
EXAMPLES = ("crossreg data-merge --out data/human shards/0 shards/1 shards/2",)

log = logging.getLogger("crossreg")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``crossreg data-merge``."""
    parser.add_argument(
        "--out", metavar="DIR", type=Path, required=True, help="dataset directory to create"
    )
    parser.add_argument("--overwrite", action="store_true", help="replace an existing dataset")
    parser.add_argument(
        "shards",
        metavar="SHARD",
        type=Path,
        nargs="+",
        help="the shard directories, in order 0/n, 1/n, ...",
    )


def run(args: argparse.Namespace) -> int:
    """Merge the shards into the store one build would have written."""
    require_output(args, folder=True)
    from crossreg.data.shards import merge_shards

    before = "is as it was" if Path(args.out).exists() else "was not made"
    try:
        store = merge_shards(args.out, args.shards, overwrite=args.overwrite)
    except KeyboardInterrupt:
        raise Interrupted(
            f"nothing was written: {args.out} {before} and the shards are kept; rerun "
            "crossreg data-merge"
        ) from None
    log.info("wrote %r", store)
    return 0
