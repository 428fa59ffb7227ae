"""``crossreg report``: one self-contained HTML page of an output folder."""

from __future__ import annotations

import argparse
from pathlib import Path

from crossreg.commands.inputs import require_output, require_suffix

HELP = "write one self-contained HTML page showing a crossreg output folder"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``crossreg report``."""
    parser.add_argument(
        "directory", type=Path, help="an output folder (a demo run, or train/sad/... folders)"
    )
    parser.add_argument(
        "--out", type=Path, default=None, help="the HTML file (default DIRECTORY/report.html)"
    )
    # a view of a folder, not an output of its own: its run is not logged beside the page
    parser.set_defaults(record_run=False)


def run(args: argparse.Namespace) -> int:
    """Write the report and print its path."""
    if args.out is not None:
        require_output(args, folder=False)
        require_suffix(args, "out", (".html", ".htm"))
    from crossreg.report import write_report

    print(write_report(args.directory, args.out))
    return 0
