"""The crossreg command line."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

import crossreg
from crossreg.cli import build_parser, main

ROOT = Path(__file__).parent.parent


def test_version_comes_from_cargo_toml(capsys):
    cargo = (ROOT / "Cargo.toml").read_text()
    version = re.search(r'^version = "([^"]+)"', cargo, flags=re.MULTILINE)
    assert version is not None and crossreg.__version__ == version.group(1)
    try:
        main(["--version"])
    except SystemExit as stop:
        assert stop.code == 0
    assert capsys.readouterr().out.strip() == f"crossreg {crossreg.__version__}"


def test_help_runs_as_a_module():
    result = subprocess.run(
        [sys.executable, "-m", "crossreg", "--help"], capture_output=True, text=True, check=True
    )
    assert "usage: crossreg" in result.stdout


@pytest.mark.parametrize("argv", [["--version"], ["--help"], ["sad", "--help"]])
def test_a_reader_that_stops_early_ends_the_command_without_a_traceback(argv):
    """``crossreg --version | head -0``: the pipe's reader is gone before crossreg writes.
    The command ends as SIGPIPE would end it (141), saying nothing. (Unbuffered, argparse
    drops the help it cannot write and exits 0.)"""
    read, write = os.pipe()
    os.close(read)
    env = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}
    try:
        result = subprocess.run(
            [sys.executable, "-m", "crossreg", *argv],
            stdout=write,
            stderr=subprocess.PIPE,
            text=True,
            check=False,
            env={**env, "PYTHONPATH": str(ROOT / "python")},
        )
    finally:
        os.close(write)
    assert (result.returncode, result.stderr) == (141, "")


def test_no_subcommand_prints_help_and_exits_2(capsys):
    assert main([]) == 2
    assert "usage: crossreg" in capsys.readouterr().err


def test_a_missing_input_names_its_option(tmp_path, logs):
    missing = tmp_path / "nope.txt"
    assert main(["compare", "--joint", str(missing), "--single", str(missing), "--out",
                 str(tmp_path / "out")]) == 1  # fmt: skip
    assert f"--joint {missing}: no such file or directory" in logs.text


def test_every_option_says_what_it_does_and_its_default():
    import argparse

    from crossreg.cli import build_parser

    parser = build_parser()
    subparsers = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    for name, sub in subparsers.choices.items():
        for action in sub._actions:
            if action.option_strings and action.help != argparse.SUPPRESS:
                assert action.help, f"crossreg {name} {action.option_strings[0]} has no help"
        text = sub.format_help()
        assert "%(default)" not in text, name
    train = subparsers.choices["train"].format_help()
    assert "(default: 0)" in train  # --seed
    assert "else 16" in train  # --patience from the params


@pytest.mark.parametrize(
    ("command", "option", "module", "function", "parameter"),
    [
        ("predict", "--chunk-size", "crossreg.predict.bigwig", "write_bigwigs", "chunk_windows"),
        ("ism", "--chunk-size", "crossreg.variants.ism", "write_ism", "chunk_size"),
        ("sad", "--chunk-size", "crossreg.variants.sad", "write_sad", "chunk_size"),
        ("predict", "--batch-size", "crossreg.predict", "write_predictions", "options"),
        ("predict", "--batch-size", "crossreg.predict.bigwig", "write_bigwigs", "options"),
        ("evaluate", "--batch-size", "crossreg.evaluate.accuracy", "evaluate_model", "options"),
        ("ism", "--batch-size", "crossreg.variants.ism", "write_ism", "options"),
        ("sad", "--batch-size", "crossreg.variants.sad", "write_sad", "options"),
        ("sad", "--batch-size", "crossreg.variants.scoring", "score_stats", "options"),
        ("ism", "--width", "crossreg.variants.ism", "write_ism", "width"),
        ("ism", "--width", "crossreg.variants.ism_score", "mutation_effects", "width"),
        (
            "finetune",
            "--unfreeze-blocks",
            "crossreg.train.finetune",
            "FineTuneSpec",
            "unfreeze_blocks",
        ),
        ("finetune", "--lora-rank", "crossreg.train.finetune", "FineTuneSpec", "lora_rank"),
    ],
)
def test_the_help_gives_the_default_the_library_uses(command, option, module, function, parameter):
    import argparse
    import importlib
    import inspect

    subparsers = next(
        a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction)
    )
    sub = subparsers.choices[command]
    action = next(a for a in sub._actions if option in a.option_strings)
    text = sub._get_formatter()._expand_help(action)
    shown = re.findall(r"[(;] ?default:? ([^);]+)[);]", text)
    called = getattr(importlib.import_module(module), function)
    default = inspect.signature(called).parameters[parameter].default
    used = default.batch_size if parameter == "options" else default  # an InferenceOptions
    assert shown == [str(used)]


def test_the_demo_help_gives_each_presets_epochs():
    import argparse

    from crossreg.demo_settings import CONFIGURATIONS

    subparsers = next(
        a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction)
    )
    text = " ".join(subparsers.choices["demo"].format_help().split())
    shown = re.search(r"\(default: (\d+); tiny/--fast (\d+), small (\d+)\)", text)
    assert shown is not None, text
    presets = ("mini", "tiny", "small")
    assert shown.groups() == tuple(str(CONFIGURATIONS[p].max_epochs) for p in presets)
    for preset in ("mini", "small"):
        assert f"{CONFIGURATIONS[preset].max_epochs} epochs" in text


def test_flags_and_empty_defaults_show_no_default():
    import argparse

    from crossreg.cli import build_parser

    parser = build_parser()
    subparsers = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    for name, sub in subparsers.choices.items():
        text = sub.format_help()
        assert "(default: )" not in text, name
        assert "(default: True)" not in text and "(default: False)" not in text, name
    compare = subparsers.choices["compare"]  # figures are drawn unless --no-plots is given
    assert compare.parse_args(["--joint", "j", "--single", "s", "--out", "o"]).plots
    help_text = " ".join(compare.format_help().split())
    assert "--title TEXT title of the scatter plot figures:" in help_text
    assert "(redraw them later from the tables); not with --svg --svg write" in help_text


def test_no_plots_and_svg_together_are_refused_by_every_drawing_command(capsys):
    import argparse

    subparsers = next(
        a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction)
    )
    drawing = [n for n, sub in subparsers.choices.items() if "--svg" in sub.format_help()]
    assert {"evaluate", "sad", "sldp", "denovo", "train"} <= set(drawing)
    for name in drawing:  # SVGs of figures not drawn: refused rather than ignored
        with pytest.raises(SystemExit):
            subparsers.choices[name].parse_args(["--no-plots", "--svg"])
        assert "argument --svg: not allowed with argument --no-plots" in capsys.readouterr().err


def test_sad_merge_out_names_both_kinds_of_shards():
    import argparse

    from crossreg.cli import build_parser

    parser = build_parser()
    subparsers = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    merge = subparsers.choices["sad-merge"]
    (out,) = (a for a in merge._actions if "--out" in a.option_strings)
    assert ".h5" in out.help and ".tsv" in out.help


def test_a_mistyped_device_is_a_usage_error(capsys):
    from crossreg.cli import build_parser

    parser = build_parser()
    evaluate = ["evaluate", "--model", "m", "--data", "d", "--out", "o", "--device"]
    train = ["train", "--params", "p", "--data", "d", "--out", "o", "--device"]
    for base in (evaluate, train):
        for device in ("auto", "cpu", "cuda", "cuda:1", "mps"):
            assert parser.parse_args([*base, device]).device == device
        for device in ("cdua", "cuda:", "cuda:x", "gpu"):
            try:
                parser.parse_args([*base, device])
            except SystemExit as stop:
                assert stop.code == 2
            else:
                raise AssertionError(f"{base[0]} --device {device} was accepted")
            assert f"unknown device '{device}'" in capsys.readouterr().err


def test_a_cuda_device_the_machine_lacks_is_named():
    import argparse

    from crossreg.commands.options import add_inference_arguments, inference_options

    parser = argparse.ArgumentParser()
    add_inference_arguments(parser, batch_size=2)

    def args(device: str) -> argparse.Namespace:
        return parser.parse_args(["--device", device])

    assert inference_options(args("cpu")).device == "cpu"
    with pytest.raises(ValueError, match=r"--device cuda:99: this machine has .*CUDA device"):
        inference_options(args("cuda:99"))


def test_an_interrupt_while_the_parser_is_built_is_one_line():
    script = (
        "import sys, crossreg.cli as cli\n"
        "def build_parser():\n"
        "    raise KeyboardInterrupt  # Ctrl-C while the commands' modules load\n"
        "cli.build_parser = build_parser\n"
        "sys.exit(cli.main(['train', '--help']))\n"
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert result.returncode == 130
    assert result.stderr.strip().endswith("ERROR interrupted")
    assert len(result.stderr.strip().splitlines()) == 1 and not result.stdout


@pytest.mark.parametrize("rank", ["0", "1"])
@pytest.mark.parametrize("finished_epoch", [True, False])
def test_an_interrupted_training_says_whether_resume_can_continue(
    tmp_path, monkeypatch, logs, finished_epoch, rank
):
    """Under torchrun only rank 0 gives the advice; the others say they were interrupted."""
    import json

    import crossreg.train.trainer
    from tests.pipeline import small_params

    store = tmp_path / "store"
    store.mkdir()
    splits = {"train": {"offset": 0, "count": 4}, "valid": {"offset": 4, "count": 2}}
    meta = {"format": "crossreg-dataset", "format_version": 1, "genome": "dog", "splits": splits}
    meta["pool_width"] = 128  # a real store has one: the shift is checked against it
    (store / "dataset.json").write_text(json.dumps(meta))
    params = tmp_path / "params.json"
    params.write_text(json.dumps(small_params({"dog": 2})))
    out = tmp_path / "run"

    def train(*args, **kwargs):  # an epoch finishes (or not), then Ctrl-C
        if finished_epoch:
            (out / "last").mkdir(parents=True)
        raise KeyboardInterrupt

    monkeypatch.setattr(crossreg.train.trainer, "train", train)
    # the environment of a torchrun job's process (of two): one the run's checks accept
    for name, value in [("WORLD_SIZE", "2"), ("RANK", rank), ("LOCAL_RANK", rank)]:
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("MASTER_ADDR", "127.0.0.1")
    monkeypatch.setenv("MASTER_PORT", "29500")
    argv = ["train", "--params", str(params), "--data", str(store), "--out", str(out)]
    assert main(argv) == 130
    expected = (
        "interrupted"
        if rank != "0"
        else "interrupted; rerun with --resume to continue from the last finished epoch"
        if finished_epoch
        else "interrupted; no epoch had finished, so there is nothing to resume; rerun to start"
    )
    assert [r.getMessage() for r in logs.records] == [expected]


@pytest.mark.parametrize("command", ["train", "finetune"])
@pytest.mark.parametrize("finished_epoch", [True, False])
def test_an_interrupted_overwrite_says_whether_its_own_epoch_finished(
    tmp_path, monkeypatch, logs, command, finished_epoch
):
    """Before the new run's first epoch, last/ is still the earlier run's: --resume would
    continue that run, not the one interrupted."""
    import json

    import crossreg.train.finetune
    import crossreg.train.trainer
    from tests.pipeline import small_params

    store = tmp_path / "store"
    store.mkdir()
    splits = {"train": {"offset": 0, "count": 4}, "valid": {"offset": 4, "count": 2}}
    meta = {"format": "crossreg-dataset", "format_version": 1, "genome": "dog", "splits": splits}
    meta["pool_width"] = 128
    (store / "dataset.json").write_text(json.dumps(meta))
    params = tmp_path / "params.json"
    params.write_text(json.dumps(small_params({"dog": 2})))
    parent = tmp_path / "parent"  # what finetune reads of its --model before torch loads
    parent.mkdir()
    config = {"format": "crossreg-checkpoint", "genomes": {"cat": "head_cat"}}
    (parent / "config.json").write_text(json.dumps({**config, "targets": {"cat": []}}))
    (parent / "model.safetensors").write_bytes(b"")
    out = tmp_path / "run"
    (out / "last").mkdir(parents=True)  # the earlier run that --overwrite replaces
    (out / "last" / "config.json").write_text(json.dumps({"save_id": "earlier"}))

    def run(*args, **kwargs):  # the new run's first epoch finishes (or not), then Ctrl-C
        if finished_epoch:
            (out / "last" / "config.json").write_text(json.dumps({"save_id": "new"}))
        raise KeyboardInterrupt

    monkeypatch.setattr(crossreg.train.trainer, "train", run)
    monkeypatch.setattr(crossreg.train.finetune, "finetune", run)
    inputs = ["--params", str(params)] if command == "train" else ["--model", str(parent)]
    argv = [command, *inputs, "--data", str(store), "--out", str(out), "--overwrite"]
    assert main(argv) == 130
    expected = (
        "interrupted; rerun with --resume to continue from the last finished epoch"
        if finished_epoch
        else f"interrupted; no epoch had finished, so {out} still holds the earlier run; "
        "rerun with --overwrite to start again"
    )
    assert [r.getMessage() for r in logs.records] == [expected]


@pytest.mark.parametrize(
    "argv",
    [
        ["predict", "--model", "m", "--fasta", "f", "--out", "o.npy"],
        ["sad", "--model", "m", "--fasta", "f", "--vcf", "v", "--out", "o.h5"],
        ["ism", "--model", "m", "--fasta", "f", "--vcf", "v", "--out", "o.h5"],
        ["evaluate", "--model", "m", "--data", "d", "--out", "o"],
        ["transfer", "--model", "m", "--head", "h", "--data", "d", "--gtf", "g", "--out", "o"],
    ],
)
def test_shifts_may_start_with_a_negative_one(argv):
    from crossreg.cli import build_parser

    parser = build_parser()
    assert parser.parse_args([*argv, "--shifts", "-1,0,1"]).shifts == [-1, 0, 1]
    assert parser.parse_args([*argv, "--shifts", "-2", "--rc"]).shifts == [-2]
    assert parser.parse_args([*argv, "--shifts=1,0,-1"]).shifts == [1, 0, -1]


@pytest.mark.parametrize(
    ("argv", "option"),
    [
        (["data", "--genome", "g", "--fasta", "f", "--targets", "t", "--out", "o"], "--tracks"),
        (["sad", "--model", "m", "--fasta", "f", "--vcf", "v", "--out", "o.h5"], "--shard"),
        (["predict", "--model", "m", "--fasta", "f", "--bigwig", "o"], "--shard"),
    ],
)
def test_a_negative_shard_is_refused_by_its_option(capsys, argv, option):
    # before: argparse took -1/3 for an option ("expected one argument")
    with pytest.raises(SystemExit):
        build_parser().parse_args([*argv, option, "-1/3"])
    assert f"{option} '-1/3': need 0 <= i < n" in capsys.readouterr().err


def test_a_shift_given_twice_is_named(capsys):
    from crossreg.cli import build_parser

    base = ["predict", "--model", "m", "--fasta", "f", "--out", "o.npy", "--shifts"]
    for shifts, twice in (("0,0", "0"), ("-1,1,-1,1", "-1, 1")):
        with pytest.raises(SystemExit) as stop:
            build_parser().parse_args([*base, shifts])
        assert stop.value.code == 2
        assert f"shift {twice} is given more than once in '{shifts}'" in capsys.readouterr().err


def test_worker_counts_do_not_depend_on_this_machines_cpus():
    # before: the bound was 4 per CPU, so a job script's --threads 16 failed on 2 CPUs
    argv = ["data", "--genome", "g", "--fasta", "f.fa", "--targets", "t.txt", "--out", "o"]
    assert build_parser().parse_args([*argv, "--threads", "64"]).threads == 64
