"""The command line's own help, as a new user meets it: each step says what it reads and
writes, each option what goes there, and a mistyped word is answered with the near one."""

from __future__ import annotations

import argparse
import importlib
import shlex

import pytest

from crossreg.cli import COMMANDS, build_parser, main
from crossreg.commands.help import OneOf


def _steps() -> dict[str, argparse.ArgumentParser]:
    parser = build_parser()
    (subparsers,) = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    return dict(subparsers.choices)


def _options(sub: argparse.ArgumentParser) -> list[argparse.Action]:
    return [a for a in sub._actions if not isinstance(a, argparse._HelpAction)]


def error_line(capsys: pytest.CaptureFixture[str]) -> str:
    return capsys.readouterr().err.splitlines()[-1]


def test_a_mistyped_step_names_the_near_one(capsys):
    with pytest.raises(SystemExit) as stop:
        main(["trian", "--out", "x"])
    assert stop.value.code == 2
    error = capsys.readouterr().err
    assert "invalid choice: 'trian'; did you mean 'train'?" in error
    assert "'sad-merge'" in error  # the steps are still listed
    with pytest.raises(SystemExit):
        main(["sad-mrge"])
    assert "did you mean 'sad-merge'?" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["frobnicate"])
    assert "did you mean" not in capsys.readouterr().err


def test_a_mistyped_choice_names_the_near_one(capsys):
    with pytest.raises(SystemExit):
        main(["synth", "--out", "w", "--preset", "mnii"])
    assert "argument --preset: invalid choice: 'mnii'; did you mean 'mini'?" in (
        capsys.readouterr().err
    )


def test_a_choice_is_judged_after_its_type_and_listed_as_its_values(capsys):
    with pytest.raises(SystemExit):
        main(["synth", "--out", "w", "--genomes", "7"])
    assert error_line(capsys).endswith(
        "argument --genomes: invalid choice: 7 (choose from 2, 3, 4)"
    )
    with pytest.raises(SystemExit):
        main(["synth", "--out", "w", "--genomes", "two"])
    assert error_line(capsys).endswith("argument --genomes: invalid int value: 'two'")
    args = build_parser().parse_args(["synth", "--out", "w", "--genomes", "3", "--preset", "mini"])
    assert (args.genomes, args.preset) == (3, "mini")


def test_every_choice_names_the_near_one():
    """An option with choices refuses another value itself (OneOf), naming the near one;
    argparse's own check, which names none, is never left to answer."""
    plain = [
        f"crossreg {name} {action.option_strings[0]}"
        for name, sub in _steps().items()
        for action in _options(sub)
        if action.choices is not None
    ]
    assert not plain, f"choices argparse checks without naming the near one: {plain}"
    assert sum(isinstance(a, OneOf) for sub in _steps().values() for a in _options(sub)) >= 10


def test_the_step_is_the_first_word_that_is_not_an_option():
    """crossreg's own options take no value, so that the first word that is not an option
    is the step: the word checked before argparse reads the rest."""
    parser = build_parser()
    takes = [a.option_strings for a in _options(parser) if a.option_strings and a.nargs != 0]
    assert not takes


def test_an_abbreviated_option_is_refused_naming_the_whole_one(capsys):
    """An option is given by its whole name: an abbreviation would change meaning the day a
    longer option is added that it also shortens."""
    parser = build_parser()
    assert not parser.allow_abbrev
    assert not [name for name, sub in _steps().items() if sub.allow_abbrev]
    argv = ["train", "--params", "p.json", "--data", "d", "--out", "o"]
    with pytest.raises(SystemExit) as stop:
        parser.parse_args([*argv, "--step", "4"])
    assert stop.value.code == 2
    assert error_line(capsys) == (
        "crossreg train: error: unrecognized arguments: --step 4 (did you mean --steps-per-epoch?)"
    )
    with pytest.raises(SystemExit):
        parser.parse_args([*argv, "--seed=3", "--batch=4", "--rezume"])
    assert error_line(capsys).endswith(
        "(did you mean --batch-size for --batch, --resume for --rezume?)"
    )
    with pytest.raises(SystemExit):  # shortens two: both are named
        parser.parse_args(["denovo", "--cases", "c.vcf"])
    assert error_line(capsys).endswith("(did you mean --cases-vcf or --cases-sad?)")
    with pytest.raises(SystemExit):  # an abbreviation of a required option
        parser.parse_args(["data", "--genome", "g", "--fasta", "g.fa", "--targets", "t.txt",
                           "--ou", "o", "--thread", "4"])  # fmt: skip
    assert error_line(capsys) == (
        "crossreg data: error: the following arguments are required: --out; unrecognized "
        "arguments: --ou --thread (did you mean --out for --ou, --threads for --thread?)"
    )
    with pytest.raises(SystemExit):  # crossreg's own options too
        parser.parse_args(["--verb", "synth", "--out", "w"])
    assert error_line(capsys) == (
        "crossreg: error: unrecognized arguments: --verb (did you mean --verbose?)"
    )
    whole = parser.parse_args(["--verbose", "data", "--genome", "g", "--fasta", "g.fa",
                               "--targets", "t.txt", "--out", "o", "--threads", "4"])  # fmt: skip
    assert whole.verbose and whole.threads == 4


def test_an_unknown_option_is_refused_by_its_step_naming_the_near_one(capsys):
    argv = ["train", "--params", "p.json", "--data", "d", "--out", "o"]
    with pytest.raises(SystemExit) as stop:
        main([*argv, "--batchsize", "4"])
    assert stop.value.code == 2
    error = capsys.readouterr().err
    assert error.startswith("usage: crossreg train ")  # the step's usage, not crossreg's
    assert "crossreg train: error: unrecognized arguments: --batchsize 4 (did you mean " \
        "--batch-size?)" in error  # fmt: skip
    with pytest.raises(SystemExit):
        main([*argv, "--sede=3", "--rezume", "extra"])
    error = capsys.readouterr().err
    assert "(did you mean --seed for --sede, --resume for --rezume?)" in error
    with pytest.raises(SystemExit):
        main([*argv, "--zzz"])
    assert "unrecognized arguments: --zzz\n" in capsys.readouterr().err


def test_a_mistyped_option_of_crossreg_itself_names_the_near_one(capsys):
    """An option before the step is crossreg's: one it does not know is refused with its
    own usage and the near one, before the step judges the rest (which would blame a
    missing option of the step, or name one of the step's that is not meant)."""
    cases = {
        ("--verb", "sad"): "--verb (did you mean --verbose?)",
        ("--quite", "train", "--params", "p.json", "--data", "d", "--out", "o"): (
            "--quite (did you mean --quiet?)"
        ),
        ("-x", "synth", "--out", "w"): "-x",
        ("-q", "--verbos"): "--verbos (did you mean --verbose?)",
    }
    for argv, unknown in cases.items():
        with pytest.raises(SystemExit) as stop:
            main(list(argv))
        assert stop.value.code == 2, argv
        error = capsys.readouterr().err
        assert error.startswith("usage: crossreg [-h]"), argv
        assert error.splitlines()[-1] == f"crossreg: error: unrecognized arguments: {unknown}"
    args = build_parser().parse_args(["-q", "synth", "--out", "w"])  # the known ones read
    assert args.quiet and not args.verbose


@pytest.mark.parametrize(
    "argv", [["-h", "trian"], ["trian", "-h"], ["--help", "trian"], ["-q", "trian", "--help"]]
)
def test_help_of_a_mistyped_step_names_the_near_one(capsys, argv):
    with pytest.raises(SystemExit) as stop:
        main(argv)
    assert stop.value.code == 2
    error = capsys.readouterr().err
    assert error.startswith("usage: crossreg [-h]")
    assert error.splitlines()[-1].startswith(
        "crossreg: error: argument <command>: invalid choice: 'trian'; did you mean 'train'? "
        "(choose from 'synth', "
    )


def test_help_before_the_step_is_the_steps_help(capsys):
    with pytest.raises(SystemExit) as stop:
        main(["train", "-h"])
    assert stop.value.code == 0
    steps = capsys.readouterr().out
    assert steps.startswith("usage: crossreg train ")
    for argv in (["-h", "train"], ["--help", "train", "--out", "o"], ["-q", "-h", "train"]):
        with pytest.raises(SystemExit) as stop:
            main(argv)
        assert stop.value.code == 0, argv
        assert capsys.readouterr().out == steps, argv


@pytest.mark.parametrize(
    ("argv", "meant"),
    [
        (["help", "train"], "crossreg train --help"),
        (["help", "trian"], "crossreg train --help"),
        (["help", "-q", "sad-mrge"], "crossreg sad-merge --help"),
        (["help"], "crossreg --help"),
        (["help", "frobnicate"], "crossreg --help"),
        (["version"], "crossreg --version"),
        (["quiet", "train", "--out", "o"], "crossreg --quiet train ..."),
    ],
)
def test_a_help_step_names_the_help_option(capsys, argv, meant):
    """There is no help step (nor version...): ``crossreg help STEP`` is refused naming the
    command that gives the help meant, with the steps listed."""
    with pytest.raises(SystemExit) as stop:
        main(argv)
    assert stop.value.code == 2
    assert error_line(capsys).startswith(
        f"crossreg: error: argument <command>: invalid choice: '{argv[0]}'; did you mean "
        f"'{meant}'? (choose from 'synth', "
    )


def test_missing_required_options_are_named_with_the_steps_usage(capsys):
    with pytest.raises(SystemExit) as stop:
        main(["sad", "--model", "m"])
    assert stop.value.code == 2
    error = capsys.readouterr().err
    assert error.startswith("usage: crossreg sad ")
    assert "error: the following arguments are required: --fasta, --vcf, --out" in error
    assert "unrecognized" not in error
    with pytest.raises(SystemExit):  # a required option mistyped: both are said
        main(["sad", "--modle", "m", "--fasta", "g.fa", "--vcf", "v.vcf", "--out", "o.h5"])
    assert error_line(capsys) == (
        "crossreg sad: error: the following arguments are required: --model; "
        "unrecognized arguments: --modle (did you mean --model?)"
    )


def test_every_step_says_what_it_reads_and_writes():
    for name, sub in _steps().items():
        module = importlib.import_module(COMMANDS[name])
        assert sub.description == f"{module.HELP}\n\n{module.DESCRIPTION}", name
        text = " ".join(module.DESCRIPTION.split())
        assert text.startswith(("Reads ", "Needs ")) and "writes" in text, name
        assert len(text) < 400, f"crossreg {name}: the description is one or two sentences"


def test_every_value_has_a_metavar_that_says_what_goes_there():
    vague = []
    for name, sub in _steps().items():
        for action in _options(sub):
            if action.nargs == 0 or action.help == argparse.SUPPRESS:
                continue
            if action.metavar is None and action.choices is None:
                vague.append(f"crossreg {name} {(action.option_strings or [action.dest])[0]}")
    assert not vague, f"values named only by their option: {vague}"


def test_required_and_exclusive_options_are_marked_in_their_help():
    steps = _steps()
    for name, sub in steps.items():
        for action in _options(sub):
            if action.required and action.option_strings:
                shown = sub._get_formatter()._expand_help(action)
                assert shown.endswith("(required)"), f"crossreg {name} {action.option_strings}"
    predict = " ".join(steps["predict"].format_help().split())
    assert "or --bigwig: one is required" in predict and "or --out: one is required" in predict
    train = " ".join(steps["train"].format_help().split())
    assert "continue from DIR/last; not with --overwrite" in train
    assert "write each figure as SVG too; not with --no-plots" in train
    assert "--params FILE Basenji params JSON (required)" in train
    assert "--head GENOME=HEAD" in train and "(required)" not in train.split("--head")[1][:30]


@pytest.mark.parametrize("option", ["--device", "--shifts", "--rc", "--targets", "--out"])
def test_an_option_shared_by_steps_reads_alike(option):
    """The same option is described by one helper: its metavar, and for the options of a
    model's run its help up to what each step adds, are the same in every step."""
    found = {
        name: action
        for name, sub in _steps().items()
        for action in _options(sub)
        if option in action.option_strings
    }
    if option == "--targets":  # data and import-basenji's --targets is a targets table
        found = {n: a for n, a in found.items() if n in ("predict", "sad", "ism")}
        assert len(found) == 3
        starts = {
            a.help.split(" only these tracks")[1].split("cost less")[0] for a in found.values()
        }
        assert len(starts) == 1
    if option == "--out":
        assert {a.metavar for a in found.values()} == {"DIR", "FILE"}
        return
    assert len({a.metavar for a in found.values()}) == 1, option
    if option != "--targets":
        assert len({a.help for a in found.values()}) == 1, option


def test_every_example_in_a_help_is_a_command_line_the_step_takes():
    parser = build_parser()
    steps = _steps()
    examples = 0
    for name in steps:
        module = importlib.import_module(COMMANDS[name])
        for line in "\n".join(module.EXAMPLES).replace("\\\n", " ").splitlines():
            argv = shlex.split(line, comments=True)
            assert argv[:2] == ["crossreg", name], line
            parser.parse_args(argv[1:])  # a usage error raises SystemExit
            examples += 1
        assert "examples:" in steps[name].format_help(), name
    assert examples >= len(steps)


def test_the_top_level_help_says_where_to_go_next(capsys):
    with pytest.raises(SystemExit):
        main(["--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "Run 'crossreg <command> --help'" in text
    assert "crossreg demo --fast --out demo-fast" in text


def test_a_long_help_groups_its_options():
    """Past a dozen, the options of a step are read in groups (inference, figures, the
    run's schedule...), not as one list."""
    crowded = {}
    for name, sub in _steps().items():
        (general,) = [g for g in sub._action_groups if g is sub._optionals]
        options = [a for a in general._group_actions if not isinstance(a, argparse._HelpAction)]
        if len(options) > 12:
            crowded[name] = len(options)
    assert not crowded, f"steps whose options are not grouped: {crowded}"
