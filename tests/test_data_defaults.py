"""``crossreg data`` and the data step share one set of defaults (crossreg.data.defaults),
which the command line reads without importing numpy."""

from __future__ import annotations

import argparse
import subprocess
import sys

from crossreg.commands import data as data_command
from crossreg.commands.help import DefaultsFormatter
from crossreg.data import BuildOptions, Layout, SplitOptions
from crossreg.data import defaults as d
from crossreg.data.plan import plan_windows


def parsed_defaults() -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    data_command.add_arguments(parser)
    return parser.parse_args(["--genome", "g", "--fasta", "f", "--targets", "t", "--out", "o"])


def test_command_line_and_dataclasses_share_the_defaults():
    args = parsed_defaults()
    assert Layout(args.seq_length, args.pool_width, args.crop, args.stride) == Layout()
    assert data_command.split_options(args) == SplitOptions()
    options = BuildOptions(genome="g")
    assert (args.min_n_run, args.max_unmappable) == (options.min_n_run, options.max_unmappable)
    assert (args.fill_quantile, args.memory_gb) == (options.fill_quantile, options.memory_gb)
    assert plan_windows.__kwdefaults__ == {
        "min_n_run": d.DEFAULT_MIN_N_RUN,
        "max_unmappable": d.DEFAULT_MAX_UNMAPPABLE,
    }
    assert Layout().target_bins == 896 and (args.seq_length, args.stride) == (131_072, 65_599)


def test_help_shows_the_defaults():
    parser = argparse.ArgumentParser(formatter_class=DefaultsFormatter)  # as the CLI's steps
    data_command.add_arguments(parser)
    text = " ".join(parser.format_help().split())
    for shown in (
        "input bp (default: 131072)",
        "tiling stride bp (default: 65599)",
        "(default: 1048576)",
        "(default: 44)",
        "(default: 8.0)",
    ):
        assert shown in text


def test_defaults_and_the_data_options_import_without_numpy():
    code = (
        "import argparse, sys\n"
        "import crossreg.data.defaults\n"
        "from crossreg.commands import data\n"
        "data.add_arguments(argparse.ArgumentParser())\n"
        "heavy = [m for m in ('numpy', 'torch') if m in sys.modules]\n"
        "assert not heavy, heavy\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
