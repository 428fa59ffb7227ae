"""The ``crossreg`` command line: one subcommand per pipeline step.

Each step lives in its own module of :mod:`crossreg.commands`, which provides ``HELP``
(one line), ``add_arguments`` (its options) and ``run`` (does the work, returns an exit
code). Command modules keep
heavy imports (torch) inside ``run`` so that ``crossreg --help`` stays fast.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import sys
import time
from collections.abc import Sequence

from crossreg import __version__
from crossreg.errors import CommandError
from crossreg.logs import setup_logging
from crossreg.memory import tune_malloc
from crossreg.runlog import output_folder, record_run

log = logging.getLogger("crossreg")

# subcommand name -> module implementing it, in the order of the pipeline
COMMANDS: dict[str, str] = {
    "synth": "crossreg.commands.synth",
    "split": "crossreg.commands.split",
    "data": "crossreg.commands.data",
    "data-merge": "crossreg.commands.data_merge",
    "train": "crossreg.commands.train",
    "finetune": "crossreg.commands.finetune",
    "evaluate": "crossreg.commands.evaluate",
    "compare": "crossreg.commands.compare",
    "predict": "crossreg.commands.predict",
    "import-basenji": "crossreg.commands.import_basenji",
    "transfer": "crossreg.commands.transfer",
    "sad": "crossreg.commands.sad",
    "sad-merge": "crossreg.commands.sad_merge",
    "ism": "crossreg.commands.ism",
    "sldp": "crossreg.commands.sldp",
    "denovo": "crossreg.commands.denovo",
    "demo": "crossreg.commands.demo",
    "report": "crossreg.commands.report",
}


class DefaultsFormatter(argparse.HelpFormatter):
    """Help that shows each option's default, unless its text already says it or there is
    none to show: no default (``None``, ``False``, an empty string or list), or a flag
    (``--svg``, ``--no-plots``), whose default is that it is not given."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        text = action.help or ""
        default = action.default
        shown = default is not None and default is not False and default != argparse.SUPPRESS
        shown = shown and default != "" and not isinstance(default, list)
        shown = shown and bool(action.option_strings) and action.nargs != 0
        if shown and "default" not in text.lower():
            text += " (default: %(default)s)"
        return text


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every registered subcommand."""
    parser = argparse.ArgumentParser(
        prog="crossreg",
        description="Train and apply cross-species regulatory sequence activity models.",
    )
    parser.add_argument("--version", action="version", version=f"crossreg {__version__}")
    verbosity = parser.add_mutually_exclusive_group()
    verbosity.add_argument("-v", "--verbose", action="store_true", help="log debug messages")
    verbosity.add_argument(
        "-q", "--quiet", action="store_true", help="log warnings and errors only"
    )
    subparsers = parser.add_subparsers(dest="command", metavar="<command>")
    for name, module_name in COMMANDS.items():
        module = importlib.import_module(module_name)
        sub = subparsers.add_parser(
            name, help=module.HELP, description=module.HELP, formatter_class=DefaultsFormatter
        )
        module.add_arguments(sub)
        sub.set_defaults(run=module.run)
    return parser


def missing_file_message(args: argparse.Namespace, err: FileNotFoundError) -> str:
    """A missing file named by the option that gave it (``--vcf nope.vcf: no such file``)
    when an option's value is the missing path; the error's own text otherwise."""
    text = str(err)
    missing = str(err.filename) if err.filename is not None else None
    for name, value in vars(args).items():
        for item in value if isinstance(value, list | tuple) else [value]:
            path = str(item) if isinstance(item, str | os.PathLike) else None
            named = path == missing or (missing is None and path in text)
            if path and named and not os.path.exists(path):
                option = name if name in ("directory", "shards") else f"--{name.replace('_', '-')}"
                return f"{option} {path}: no such file or directory (check the path)"
    return text


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``crossreg`` command."""
    try:
        parser = build_parser()  # imports every command's module: about a second
        argv = list(sys.argv[1:] if argv is None else argv)
        args = parser.parse_args(argv)
    except KeyboardInterrupt:
        setup_logging()
        log.error("interrupted")
        return 130
    setup_logging(args.verbose, args.quiet)
    tune_malloc()
    if getattr(args, "run", None) is None:  # no subcommand: a usage error, as argparse's
        parser.print_help(sys.stderr)
        return 2
    started, clock = time.time(), time.perf_counter()
    status = 1
    try:
        status = int(args.run(args) or 0)
    except FileNotFoundError as err:
        log.error("%s", missing_file_message(args, err))
    except (ValueError, OSError, CommandError) as err:
        log.error("%s", err)
    except KeyboardInterrupt as err:
        log.error("interrupted%s", f"; {err}" if str(err) else "")
        status = 130
    out = getattr(args, "out", None) or getattr(args, "bigwig", None)  # predict --bigwig OUTDIR
    if status == 0 and out is not None and output_folder(out).is_dir():
        record_run(output_folder(out), argv, started, time.perf_counter() - clock)
    return status


if __name__ == "__main__":
    sys.exit(main())
