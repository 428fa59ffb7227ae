"""The ``crossreg`` command line: one subcommand per pipeline step.

Each step lives in its own module of :mod:`crossreg.commands`, which provides ``HELP``
(one line), ``DESCRIPTION`` (what it reads and writes), optionally ``EXAMPLES`` (command
lines), ``add_arguments`` (its options) and ``run`` (does the work, returns an exit
code). Command modules keep
heavy imports (torch) inside ``run`` so that ``crossreg --help`` stays fast.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import signal
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from crossreg.commands.help import DefaultsFormatter, note_exclusive_options
from crossreg.commands.inputs import input_error, option_name
from crossreg.commands.words import StepParser
from crossreg.errors import CommandError
from crossreg.interrupts import sigterm_as_interrupt
from crossreg.io.text import GZIP_ERRORS, is_gzipped
from crossreg.logs import setup_logging
from crossreg.memory import tune_malloc
from crossreg.progress import launched_rank
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
    "ism-merge": "crossreg.commands.ism_merge",
    "sldp": "crossreg.commands.sldp",
    "denovo": "crossreg.commands.denovo",
    "demo": "crossreg.commands.demo",
    "report": "crossreg.commands.report",
}

# the end of ``crossreg --help``: where a new user goes next
EPILOG = (
    "Run 'crossreg <command> --help' for what a command reads, writes and takes. To see "
    "every step work on generated genomes (under 10 minutes on two CPU cores): crossreg "
    "demo --fast --out demo-fast"
)


class _PrintVersion(argparse.Action):
    """``--version``: prints the native core's version, loading the core (and numpy) only
    when asked, so that building the parser for ``--help`` stays light."""

    def __init__(self, option_strings: Sequence[str], dest: str, **kwargs: object) -> None:
        super().__init__(
            option_strings,
            dest,
            nargs=0,
            default=argparse.SUPPRESS,
            help="show program's version number and exit",
        )

    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        values: object,
        option_string: str | None = None,
    ) -> None:
        from crossreg import __version__

        print(f"crossreg {__version__}")
        parser.exit()


def build_parser() -> StepParser:
    """The argument parser with every registered subcommand."""
    parser = StepParser(
        prog="crossreg",
        description="Train and apply cross-species regulatory sequence activity models.",
        epilog=EPILOG,
        formatter_class=DefaultsFormatter,
    )
    parser.add_argument("--version", action=_PrintVersion)
    verbosity = parser.add_mutually_exclusive_group()
    verbosity.add_argument("-v", "--verbose", action="store_true", help="log debug messages")
    verbosity.add_argument(
        "-q", "--quiet", action="store_true", help="log warnings and errors only"
    )
    subparsers = parser.add_subparsers(dest="command", metavar="<command>")
    for name, module_name in COMMANDS.items():
        module = importlib.import_module(module_name)
        sub = subparsers.add_parser(
            name,
            help=module.HELP,
            description=f"{module.HELP}\n\n{module.DESCRIPTION}",
            epilog=_examples(getattr(module, "EXAMPLES", ())),
            formatter_class=DefaultsFormatter,
        )
        module.add_arguments(sub)
        note_exclusive_options(sub)
        sub.set_defaults(run=module.run)
    return parser


def _examples(lines: Sequence[str]) -> str | None:
    """The epilog of a step's help: its example command lines, kept as written."""
    if not lines:
        return None
    return "examples:\n\n" + "\n".join(f"  {line}" for line in lines)


def input_error_message(
    args: argparse.Namespace, err: FileNotFoundError | IsADirectoryError | PermissionError
) -> str:
    """An input that is missing, a folder where a file is read, or unreadable, named by the
    option that gave it (``--vcf calls: is a folder; give the file``) when an option's value
    is the path of the error and in that state; the error's own text otherwise. An error
    without a filename is matched by its text against the options that hold paths (a
    :class:`~pathlib.Path`) only, so that a word such as a command or a head's name is
    never blamed."""
    text = str(err)
    failed = str(err.filename) if err.filename is not None else None
    for name, value in vars(args).items():
        for item in value if isinstance(value, list | tuple) else [value]:
            if isinstance(item, os.PathLike):
                path = str(item)
                named = path in text if failed is None else path == failed
            else:
                path = item if isinstance(item, str) else ""
                named = path == failed
            if not path or not named:
                continue
            # a folder is what is wrong only when the error says so
            found = input_error(Path(path), folder=not isinstance(err, IsADirectoryError))
            if isinstance(found, type(err)):
                return f"{option_name(name)} {path}: {found.strerror}"
    return text


def _is_gzipped_file(path: Path) -> bool:
    try:
        return path.is_file() and is_gzipped(path)
    except OSError:
        return False


def compression_message(args: argparse.Namespace, err: BaseException) -> str:
    """A compressed input that ends early or is damaged, for readers that do not name it
    themselves (those raise a ValueError that does): named by its option when it is the
    only option value that may be or hold a gzip file (``--vcf x.vcf.gz: the gzip stream
    is truncated or corrupt (...)``), else the candidates as ``one of ...``: a gzip file,
    a folder (``--directory data/*``) or a prefix of gzip files (``--sannot-chr annot.*``),
    so that a file read from a folder or a prefix is never blamed on another option."""

    def candidate(item: str | os.PathLike[str]) -> str | None:
        """`item` as it may be or hold the damaged file: ``x.gz``, ``folder/*``, ``prefix*``."""
        path = Path(item)
        if not str(item) or path.name in ("", "-"):
            return None
        if path.is_dir():
            return f"{item}{os.sep}*"
        if _is_gzipped_file(path):
            return str(item)
        if path.exists() or not path.parent.is_dir():
            return None
        try:
            files = [p for p in path.parent.iterdir() if p.name.startswith(path.name)]
        except OSError:
            return None
        return f"{item}*" if any(_is_gzipped_file(p) for p in files) else None

    detail = str(err) or type(err).__name__
    named = []
    for name, value in vars(args).items():
        if name in ("out", "bigwig", "run"):
            continue
        for item in value if isinstance(value, list | tuple) else [value]:
            found = candidate(item) if isinstance(item, str | os.PathLike) else None
            if found is not None:
                named.append(f"{option_name(name)} {found}")
    if not named:
        return f"an input is truncated or corrupt ({detail}); check or re-download it"
    which = named[0] if len(named) == 1 else "one of " + ", ".join(named)
    return (
        f"{which}: the gzip stream is truncated or corrupt ({detail}); re-download or "
        "re-compress it"
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``crossreg`` command. SIGTERM stops a command as Ctrl-C does
    (:func:`sigterm_as_interrupt`); it exits with 143 instead of 130. A reader of the
    standard output that stops early (``crossreg --version | head -0``) ends it with 141,
    as SIGPIPE would, without a traceback (:func:`_output_gone`)."""
    with sigterm_as_interrupt() as terminated:
        try:
            try:
                return _main(argv, terminated)
            finally:
                sys.stdout.flush()  # a reader gone is met here, not as Python exits
        except BrokenPipeError:
            return _output_gone()


def _output_gone() -> int:
    """The exit status of a command whose standard output's reader went away; the output
    goes to the null device from here, so that Python's last flush has nothing to fail on."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)
    return 128 + int(signal.SIGPIPE)


def _interrupted(terminated: list[float], err: KeyboardInterrupt | None = None) -> int:
    """Log an interrupt (Ctrl-C, or SIGTERM when `terminated` holds it) and its message;
    the exit status."""
    what = "terminated (SIGTERM)" if terminated else "interrupted"
    log.error("%s%s", what, f"; {err}" if err is not None and str(err) else "")
    return 128 + int(signal.SIGTERM) if terminated else 130


def _main(argv: Sequence[str] | None, terminated: list[float]) -> int:
    """:func:`main` once SIGTERM is handled."""
    try:
        parser = build_parser()  # imports every command's module: about a second
        argv = list(sys.argv[1:] if argv is None else argv)
        args = parser.parse_args(argv)
    except KeyboardInterrupt:
        setup_logging()
        return _interrupted(terminated)
    setup_logging(args.verbose, args.quiet)
    for repeated in parser.repeated_options(args):
        log.warning("%s", repeated)
    tune_malloc()
    if getattr(args, "run", None) is None:  # no subcommand: a usage error, as argparse's
        parser.print_help(sys.stderr)
        return 2
    started, clock = time.time(), time.perf_counter()
    status = 1
    try:
        status = int(args.run(args) or 0)
        if status == 0:
            _after_run(args, argv, started, time.perf_counter() - clock)
    except (FileNotFoundError, IsADirectoryError, PermissionError) as err:
        log.error("%s", input_error_message(args, err))
    except GZIP_ERRORS as err:
        log.error("%s", compression_message(args, err))
    except (ValueError, OSError, CommandError) as err:
        log.error("%s", err)
    except KeyboardInterrupt as err:
        status = _interrupted(terminated, err)
    return status


def _log_folder(args: argparse.Namespace) -> Path | None:
    """The folder this process logs a command that succeeded into, or ``None``: the one
    the command says this process wrote, ``args.written_folder`` (set by a command whose
    output the process that finishes last writes, whatever its rank: ``predict --bigwig``,
    ``sad``; ``None`` in the other processes), else the folder of ``--out`` from rank 0 of
    a ``torchrun`` job."""
    if "written_folder" in vars(args):
        return args.written_folder
    out = getattr(args, "out", None)
    return output_folder(out) if out is not None and launched_rank() == 0 else None


def _after_run(
    args: argparse.Namespace, argv: Sequence[str], started: float, seconds: float
) -> None:
    """Log a command that succeeded in its output folder (once per ``torchrun`` job,
    :func:`_log_folder`; never ``report``'s) and, for the demo, write its report page."""
    folder = _log_folder(args)
    if folder is None or not folder.is_dir():
        return
    if getattr(args, "record_run", True):
        record_run(folder, argv, started, seconds)
    if getattr(args, "report_after_run", False):  # the page lists this command too
        from crossreg.report import write_report

        print(f"report: {write_report(folder)}")


if __name__ == "__main__":
    sys.exit(main())
