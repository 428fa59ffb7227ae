"""The words a new user types, read as meant or refused as a usage error (exit 2) that says
what to type instead: crossreg's own options after the step, values that start with
``-``, ``-`` for the standard input or output, ``--option=value``, options given twice
(said, then the last one counts), and paths with spaces and letters beyond ASCII."""

from __future__ import annotations

import argparse
import json
import logging
import shlex
from pathlib import Path

import pytest

from crossreg.cli import COMMANDS, build_parser, main
from crossreg.commands.help import OneOf
from crossreg.commands.words import names_path


def usage_error(capsys: pytest.CaptureFixture[str], argv: list[str]) -> str:
    """The last line of the usage error `argv` stops with (exit 2)."""
    with pytest.raises(SystemExit) as stop:
        main(argv)
    assert stop.value.code == 2, argv
    return capsys.readouterr().err.splitlines()[-1]


def test_every_step_without_arguments_names_what_it_requires(capsys):
    for step in COMMANDS:
        error = usage_error(capsys, [step])
        assert error.startswith(
            f"crossreg {step}: error: the following arguments are required: "
        ), error


@pytest.mark.parametrize(
    ("argv", "word", "name"),
    [
        (["synth", "--out", "w", "-v"], "-v", "-v"),
        (["synth", "-q", "--out", "w"], "-q", "-q"),
        (["report", "folder", "--verbose"], "--verbose", "--verbose"),
        (["report", "--quiet=1", "folder"], "--quiet=1", "--quiet"),
        (["synth", "--version"], "--version", "--version"),
    ],
)
def test_an_option_of_crossreg_after_the_step_says_where_it_goes(capsys, argv, word, name):
    """Not ``did you mean --overwrite?`` for ``--verbose``: the step's usage, and the
    place of crossreg's own options."""
    assert usage_error(capsys, argv) == (
        f"crossreg {argv[0]}: error: unrecognized arguments: {word} (an option of crossreg "
        f"itself: give it before the step, crossreg {name} {argv[0]} ...)"
    )


def test_an_option_after_the_end_of_options_is_a_plain_word(capsys):
    assert usage_error(capsys, ["synth", "--out", "w", "--", "-v"]) == (
        "crossreg synth: error: unrecognized arguments: -- -v"
    )
    # before the step, "--" ends nothing: argparse answered "invalid choice: '--'"
    args = build_parser().parse_args(["-q", "--", "synth", "--out", "w"])
    assert (args.command, args.quiet, args.out) == ("synth", True, "w")


def sizes_file(folder: Path) -> Path:
    """A chrom.sizes of two chromosomes, 0.9 Mbp in all: ``crossreg split`` takes well
    under a second on it."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "chrom.sizes"
    path.write_text("chr1\t500000\nchr2\t400000\n")
    return path


def test_an_option_given_twice_is_said_before_the_last_one_counts(tmp_path, logs):
    """argparse keeps the last value silently; a wrapper may override an option so, but a
    script that names ``--out`` twice by mistake writes where its author did not look: the
    run warns first, naming both."""
    first, last = tmp_path / "a", tmp_path / "b"
    sizes = sizes_file(tmp_path)
    argv = ["-q", "split", "--sizes", f"hu={sizes}", "--region-size", "50000"]
    with logs.at_level(logging.WARNING, logger="crossreg"):
        assert main([*argv, "--out", str(first), "--out", str(last)]) == 0
    assert not first.exists() and (last / "hu.regions.bed").is_file()
    assert logs.records[0].getMessage() == (
        f"--out is given more than once (--out {first}, then --out {last}); the last one counts"
    )
    logs.clear()
    with logs.at_level(logging.WARNING, logger="crossreg"):
        assert main([*argv, "--out", str(last)]) == 0  # once: nothing said
    assert "more than once" not in logs.text


def test_each_option_given_twice_is_named_with_its_values():
    cases = {
        ("-v", "-v", "synth", "--out", "w"): "-v/--verbose is given more than once (-v, then -v)",
        ("synth", "--out=w", "--out", "w"): "--out is given more than once (--out=w, then --out w)",
        ("evaluate", "--model", "m", "--data", "d", "--out", "o", "--head", "human",
         "--genome", "mouse"): (
            "--head/--genome is given more than once (--head human, then --genome mouse)"
        ),
        ("train", "--params", "p", "--data", "d", "--out", "o", "--augment-rc",
         "--no-augment-rc"): (
            "--augment-rc/--no-augment-rc is given more than once (--augment-rc, then "
            "--no-augment-rc)"
        ),
        ("synth", "--no-cohorts", "--out", "w", "--no-cohorts"): (
            "--no-cohorts is given more than once (--no-cohorts, then --no-cohorts)"
        ),
    }  # fmt: skip
    parser = build_parser()
    for argv, said in cases.items():
        args = parser.parse_args(list(argv))
        assert parser.repeated_options(args) == [f"{said}; the last one counts"], argv
    args = parser.parse_args(["synth", "--out", "w"])  # a later parse forgets the earlier
    assert parser.repeated_options(args) == []


def test_an_option_that_gathers_values_may_repeat():
    parser = build_parser()
    args = parser.parse_args(["train", "--params", "p", "--out", "o", "--data", "a", "--data=b"])
    assert args.data == [Path("a"), Path("b")]
    args = parser.parse_args(
        ["split", "--sizes", "a=a.sizes", "--sizes", "b=b.sizes", "--out", "o"]
    )
    assert len(args.sizes) == 2


def test_a_value_that_starts_with_a_dash_is_given_with_an_equals_sign(capsys):
    assert usage_error(capsys, ["synth", "--out", "-x"]) == (
        "crossreg synth: error: argument --out: expected one argument (a value that starts "
        "with '-' is given as --out=-x)"
    )
    error = usage_error(capsys, ["sldp", "--sad", "-1.sad", "--out", "o"])
    assert error.endswith(
        "argument --sad: expected at least one argument (a value that starts with '-' is "
        "given as --sad=-1.sad)"
    )
    for argv in (["synth", "--out"], ["synth", "--out", "--overwrite"]):  # a value left out
        error = usage_error(capsys, argv)
        assert error == "crossreg synth: error: argument --out: expected one argument"
    assert build_parser().parse_args(["synth", "--out=-x"]).out == "-x"


@pytest.mark.parametrize(
    ("argv", "argument"),
    [
        (["report", "-"], "DIRECTORY"),
        (["report", "folder", "--out", "-"], "--out"),
        (["synth", "--out", "-"], "--out"),
        (["sad-merge", "--out", "m.h5", "a.h5", "-"], "SHARD"),
        (["train", "--params", "p", "--out", "o", "--data", "a", "--data", "-"], "--data"),
    ],
)
def test_a_dash_is_not_the_standard_input_or_output(capsys, tmp_path, monkeypatch, argv, argument):
    """No step reads a standard input or writes a standard output: ``-`` is refused, not
    read as a file or written as a folder named ``-``."""
    monkeypatch.chdir(tmp_path)
    assert usage_error(capsys, argv) == (
        f"crossreg {argv[0]}: error: argument {argument}: '-' is not the standard input or "
        "output here: crossreg reads and writes named files and folders; give a path (./- for "
        "a file named -)"
    )
    empty = ["" if word == "-" else word for word in argv]  # an unset variable: not '.'
    assert usage_error(capsys, empty) == (
        f"crossreg {argv[0]}: error: argument {argument}: the path is empty (a shell variable "
        "that is not set?); give a path"
    )
    assert not list(tmp_path.iterdir())
    build_parser().parse_args(["./-" if word == "-" else word for word in argv])  # taken


def test_a_path_the_shell_left_with_its_tilde_is_refused(capsys, tmp_path, monkeypatch):
    """``--out=~/w`` reaches crossreg as written (the shell expands ``~`` only at the start
    of a word): it would write a folder named ``~`` into the current one."""
    monkeypatch.chdir(tmp_path)
    assert usage_error(capsys, ["synth", "--out=~/w"]) == (
        "crossreg synth: error: argument --out: '~/w' starts with '~', which the shell does "
        "not expand after '=' or in quotes: give the whole path ($HOME/w), or ./~/w for a "
        "folder named '~'"
    )
    assert usage_error(capsys, ["report", "~bob/runs"]).endswith(
        "argument DIRECTORY: '~bob/runs' starts with '~', which the shell does not expand "
        "after '=' or in quotes: give the whole path, or ./~bob/runs for a folder named '~bob'"
    )
    assert not list(tmp_path.iterdir())
    assert build_parser().parse_args(["synth", "--out", "./~/w", "--seed", "1"]).out == "./~/w"


@pytest.mark.parametrize("value", ["human=-", "human=~/hg.sizes", "human="])
def test_the_file_of_a_name_is_a_path_like_any_other(capsys, value):
    error = usage_error(capsys, ["split", "--sizes", value, "--out", "o"])
    assert error.startswith("crossreg split: error: argument --sizes: ")
    assert ("'-' is not the standard input" in error) == value.endswith("-")
    assert ("starts with '~'" in error) == ("~" in value)
    error = usage_error(capsys, ["split", "--sizes", "a=a", "--net", f"a,{value}", "--out", "o"])
    assert error.startswith("crossreg split: error: argument --net: ")


def test_equals_forms_read_as_spaced_ones(capsys):
    parser = build_parser()
    spaced = parser.parse_args(["synth", "--out", "w", "--genomes", "3", "--preset", "tiny"])
    joined = parser.parse_args(["synth", "--out=w", "--genomes=3", "--preset=tiny"])
    assert vars(spaced) == vars(joined)
    assert usage_error(capsys, ["synth", "--out", "w", "--no-cohorts=yes"]) == (
        "crossreg synth: error: argument --no-cohorts: ignored explicit argument 'yes'"
    )


def test_paths_with_spaces_and_accents_are_read_written_and_logged(tmp_path):
    """A run on such paths works, and its logged command line reruns it word for word."""
    sizes = sizes_file(tmp_path / "génomes à tester")
    sizes = sizes.rename(sizes.with_name("chrom sizes ü.txt"))
    out = tmp_path / "découpe finale"
    argv = ["-q", "split", "--sizes", f"human={sizes}", "--out", str(out)]
    assert main([*argv, "--region-size", "50000"]) == 0
    assert (out / "human.regions.bed").is_file()
    (run,) = [json.loads(line) for line in (out / "crossreg-runs.jsonl").read_text().splitlines()]
    assert shlex.split(run["command"]) == ["crossreg", *argv, "--region-size", "50000"]


def test_every_option_that_takes_text_is_known_as_a_path_or_not():
    """An option whose value is text is either a path (``-`` refused) or one of these
    words: a new kind of text value is sorted here, not let through unseen."""
    words = {"FOLD", "KEY", "NAME", "RULE", "SPEC", "SPLIT", "TEXT"}
    parser = build_parser()
    (steps,) = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    unsorted = [
        f"crossreg {name} {'/'.join(action.option_strings) or action.dest} {action.metavar}"
        for name, sub in steps.choices.items()
        for action in sub._actions
        if action.type is None and action.nargs != 0 and action.choices is None
        if not isinstance(action, argparse._HelpAction | OneOf)
        and not names_path(action)
        and action.metavar not in words
    ]
    assert not unsorted


@pytest.mark.parametrize(
    ("argv", "said"),
    [
        (["synth", "\u2013out", "w"], "crossreg synth: error: the following arguments are "
         "required: --out; unrecognized arguments: \u2013out (did you mean --out?)"),
        (["synth", "--out", "w", "\u2014no-cohorts"], "crossreg synth: error: unrecognized "
         "arguments: \u2014no-cohorts (did you mean --no-cohorts?)"),
        (["synth", "--out", "w", "\u2212\u2212seed=3"], "crossreg synth: error: unrecognized "
         "arguments: \u2212\u2212seed=3 (did you mean --seed?)"),
        (["\u2013verbose", "synth", "--out", "w"], "crossreg: error: unrecognized arguments: "
         "\u2013verbose (did you mean --verbose?)"),
        (["\u2212q", "synth", "--out", "w"], "crossreg: error: unrecognized arguments: "
         "\u2212q (did you mean -q?)"),
    ],
)  # fmt: skip
def test_an_option_copied_with_a_typeset_dash_names_the_one_meant(capsys, argv, said):
    """A page or a chat can turn ``--out`` into ``–out`` (an en dash): argparse takes it
    for a value; it is refused naming the option typed with '-'."""
    assert usage_error(capsys, argv) == said


@pytest.mark.parametrize(
    ("argv", "word", "name", "step"),
    [
        (["--out", "w", "synth"], "--out", "--out", "synth"),
        (["-q", "--preset=tiny", "synth", "--out", "w"], "--preset=tiny", "--preset", "synth"),
        (["--resume", "train"], "--resume", "--resume", "train"),
    ],
)
def test_an_option_of_the_step_before_it_says_where_it_goes(capsys, argv, word, name, step):
    """Not ``did you mean --quiet?`` for ``--out``: crossreg's usage, and the place of the
    step's options."""
    assert usage_error(capsys, argv) == (
        f"crossreg: error: unrecognized arguments: {word} (an option of {step}: give it after "
        f"the step, crossreg {step} {name} ...)"
    )
