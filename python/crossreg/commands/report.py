"""``crossreg report``: one self-contained HTML page of an output folder."""

from __future__ import annotations

import argparse
import math
from pathlib import Path

from crossreg.commands.inputs import require_output, require_suffix

HELP = "write one self-contained HTML page showing a crossreg output folder"
DESCRIPTION = (
    "Reads any folder crossreg wrote (a demo run, train, evaluate, sad, ... folders): "
    "its summary, the command lines that made it, its tables and figures; writes one "
    "HTML page (DIRECTORY/report.html by default)."
)
EXAMPLES = ("crossreg report demo-out",)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``crossreg report``."""
    parser.add_argument(
        "directory",
        metavar="DIRECTORY",
        type=Path,
        help="an output folder (a demo run, or train/sad/... folders)",
    )
    parser.add_argument(
        "--out",
        metavar="FILE",
        type=Path,
        default=None,
        help="the HTML file (default: DIRECTORY/report.html)",
    )
    parser.add_argument(
        "--figures-mib",
        metavar="MIB",
        type=float,
        default=None,
        help="MiB of figures the page embeds at most, as base64 (default: 12, a page a "
        "browser opens at once and a mail client takes); the figures left out are linked",
    )
    # a view of a folder, not an output of its own: its run is not logged beside the page
    parser.set_defaults(record_run=False)


def run(args: argparse.Namespace) -> int:
    """Write the report and print its path."""
    if args.out is not None:
        require_output(args, folder=False)
        require_suffix(args, "out", (".html", ".htm"))
    mib = args.figures_mib
    if mib is not None and not (mib >= 0 and math.isfinite(mib)):
        raise ValueError(f"--figures-mib {mib}: give the MiB of figures to embed, 0 or more")
    from crossreg.report import write_report

    figure_bytes = None if mib is None else round(mib * (1 << 20))
    print(write_report(args.directory, args.out, figure_bytes=figure_bytes))
    return 0
