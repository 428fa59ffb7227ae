"""A bad option value is refused before any work starts: one message that names the
option (exit status 1, or 2 from argparse), no traceback, no endless loop and nothing
written at --out."""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import random
import shutil
import signal
from collections.abc import Iterator
from pathlib import Path

import pytest

from crossreg.cli import main
from crossreg.commands import values
from crossreg.commands.options import parse_device
from crossreg.data.store import DataStore
from crossreg.model.checkpoint import load_checkpoint
from crossreg.shard import MAX_SHARDS, Shard
from crossreg.train import genome_data as genome_data_module
from crossreg.train import trainer as trainer_module
from tests.data_inputs import small_inputs
from tests.split_reference import syntenic_net, write
from tests.test_data_store import cli_args
from tests.test_denovo import _planted, _write_inputs
from tests.test_sldp_estimator import CHROM, JK_BLOCKS, write_world

FIXTURES = Path(__file__).parent / "data" / "basenji_fixtures"
HUGE = str(10**30)


class TookTooLongError(Exception):
    """A command still running when its time limit ran out."""


class TrainingStartedError(RuntimeError):
    """Raised where training would build its loaders or run its first epoch."""


@contextlib.contextmanager
def time_limit(seconds: float) -> Iterator[None]:
    def stop(signum, frame):
        raise TookTooLongError(f"still running after {seconds} s")

    previous = signal.signal(signal.SIGALRM, stop)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def run_cli(argv: list[str], capsys, seconds: float = 30.0) -> tuple[int, list[str]]:
    """``crossreg -q ARGV``'s exit status and its error lines (logged or argparse's)."""
    capsys.readouterr()
    with time_limit(seconds):
        try:
            status = main(["-q", *argv])
        except SystemExit as stop:
            # argparse's exit: always an int status (SystemExit.code may be any str | int | None)
            assert isinstance(stop.code, int), stop.code
            status = stop.code
    err = capsys.readouterr().err
    assert "Traceback" not in err
    return status, [line for line in err.splitlines() if " ERROR " in line or ": error: " in line]


def leftovers(out: Path) -> list[str]:
    """`out` and anything beside it named after it (``out.partial``, ``.out.tmp``...)."""
    return sorted(
        p.name
        for p in out.parent.iterdir()
        if p.name == out.name or p.name.startswith((f"{out.name}.", f".{out.name}"))
    )


def assert_refused(status: int, lines: list[str], option: str, out: Path | None = None) -> None:
    assert status in (1, 2), (status, lines)
    assert len(lines) == 1 and option in lines[0], lines
    if out is not None:
        assert leftovers(out) == []


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


# ------------------------------------------------------------------------- inputs


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> dict[str, Path]:
    """Small data inputs, a dataset store in the geometry of the Basenji mini model, that
    model imported, params to train a head on the store, split sizes and nets, an SLDP
    world and de novo inputs."""
    root = tmp_path_factory.mktemp("world")
    paths = small_inputs(root / "inputs")
    store = root / "store"
    argv = cli_args(paths, store)[1:]
    argv[argv.index("--seq-length") + 1] = "8192"
    argv[argv.index("--crop") + 1] = "12"
    assert main(["-q", *argv, "--pool-width", "64"]) == 0
    paths["store"] = store
    model_args = ["-q", "import-basenji", "--params", str(FIXTURES / "params_joint_mini.json")]
    for genome, weights in (("human", "model0_best.h5"), ("mouse", "model1_best.h5")):
        model_args += ["--weights", str(FIXTURES / weights), "--genome", genome]
        model_args += ["--targets", str(FIXTURES / f"targets_{genome}_mini.txt")]
    assert main([*model_args, "--out", str(root / "model")]) == 0
    paths["model"] = root / "model"
    params = json.loads((FIXTURES / "params_joint_mini.json").read_text())
    params["model"]["head_test"] = {"name": "final", "units": 4, "activation": "softplus"}
    paths["params"] = root / "params.json"
    paths["params"].write_text(json.dumps(params))
    for name in ("genome_chr2.fa", "sad_snps.vcf", "inputs.fa"):
        shutil.copy(FIXTURES / name, root / name)
    paths["chr2"], paths["vcf"], paths["seqs"] = (
        root / n for n in ("genome_chr2.fa", "sad_snps.vcf", "inputs.fa")
    )
    paths["bed"] = write(root / "site.bed", "chr2\t40000\t40002\tsite\n")
    sizes = {
        "hg": {f"chr{i}": 200_000 + 37_000 * i for i in range(1, 4)},
        "mm": {f"chr{i}": 180_000 + 41_000 * i for i in range(1, 3)},
    }
    for name, chroms in sizes.items():
        text = "".join(f"{c}\t{n}\n" for c, n in chroms.items())
        paths[f"{name}_sizes"] = write(root / f"{name}.sizes", text)
    net = syntenic_net(random.Random(11), sizes["hg"], sizes["mm"])
    paths["net"] = write(root / "hg.mm.net", net)
    (root / "sldp").mkdir()
    write_world(root / "sldp")
    paths["sldp"] = root / "sldp"
    (root / "denovo").mkdir()
    sad, people, is_case = _planted(n_people=12)
    for group, (vcf, table) in _write_inputs(root / "denovo", sad, people, is_case).items():
        paths[f"{group}_vcf"], paths[f"{group}_sad"] = vcf, table
    return paths


@pytest.fixture
def no_training(monkeypatch):
    """Training stops with :class:`TrainingStartedError` where it would build its data loaders
    or run its first epoch: whatever is refused must be refused before that."""

    def started(*args, **kwargs):
        raise TrainingStartedError

    monkeypatch.setattr(genome_data_module, "make_loader", started)
    monkeypatch.setattr(trainer_module.Trainer, "fit", started)


def split_argv(w: dict[str, Path], out: Path, *extra: str) -> list[str]:
    return [
        "split", "--sizes", f"hg={w['hg_sizes']}", "--sizes", f"mm={w['mm_sizes']}",
        "--net", f"hg,mm={w['net']}", "--out", str(out), "--region-size", "2000",
        "--min-aligned", "300", *extra,
    ]  # fmt: skip


def data_argv(w: dict[str, Path], out: Path, *extra: str, regions: bool = True) -> list[str]:
    argv = cli_args(w, out, *extra)[1:]
    if not regions:
        at = argv.index("--regions")
        del argv[at : at + 2]
    return argv


def train_argv(w: dict[str, Path], out: Path, *extra: str) -> list[str]:
    return [
        "train", "--params", str(w["params"]), "--data", str(w["store"]), "--out", str(out),
        "--no-plots", "--device", "cpu", "--max-epochs", "2", "--steps-per-epoch", "1", *extra,
    ]  # fmt: skip


def finetune_argv(w: dict[str, Path], out: Path, *extra: str) -> list[str]:
    return [
        "finetune", "--model", str(w["model"]), "--data", str(w["store"]), "--out", str(out),
        "--no-plots", "--device", "cpu", "--max-epochs", "1", "--steps-per-epoch", "1", *extra,
    ]  # fmt: skip


def predict_argv(w: dict[str, Path], out: Path, *extra: str) -> list[str]:
    fasta = str(w["seqs"])
    return ["predict", "--model", str(w["model"]), "--genome", "human", "--fasta", fasta,
            "--out", str(out), *extra]  # fmt: skip


def bigwig_argv(w: dict[str, Path], out: Path, *extra: str) -> list[str]:
    fasta = str(w["seqs"])
    return ["predict", "--model", str(w["model"]), "--genome", "human", "--fasta", fasta,
            "--bigwig", str(out), *extra]  # fmt: skip


def sad_argv(w: dict[str, Path], out: Path, *extra: str) -> list[str]:
    return ["sad", "--model", str(w["model"]), "--genome", "human", "--fasta", str(w["chr2"]),
            "--vcf", str(w["vcf"]), "--no-plots", "--out", str(out), *extra]  # fmt: skip


def ism_argv(w: dict[str, Path], out: Path, *extra: str) -> list[str]:
    return ["ism", "--model", str(w["model"]), "--genome", "human", "--fasta", str(w["chr2"]),
            "--bed", str(w["bed"]), "--width", "2", "--no-plots", "--out", str(out),
            *extra]  # fmt: skip


def evaluate_argv(w: dict[str, Path], out: Path) -> list[str]:
    return ["evaluate", "--model", str(w["model"]), "--data", str(w["store"]), "--genome",
            "human", "--split", "train", "--out", str(out)]  # fmt: skip


def sldp_argv(w: dict[str, Path], out: Path, *extra: str) -> list[str]:
    r = w["sldp"]
    return [
        "sldp", "--bfile-chr", f"{r}/panel.", "--print-snps", f"{r}/print_snps.txt",
        "--ld-blocks", f"{r}/blocks.bed", "--ldscores-chr", f"{r}/ld.", "--sannot-chr",
        f"{r}/annot.", "--sumstats", f"{r}/trait.sumstats.gz", "--chroms", CHROM, "--flips",
        "1000", "--jk-blocks", str(JK_BLOCKS), "--no-plots", "--out", str(out), *extra,
    ]  # fmt: skip


def denovo_argv(w: dict[str, Path], out: Path, *extra: str) -> list[str]:
    argv = ["denovo", "--no-plots", "--out", str(out), *extra]
    for group in ("cases", "controls"):
        argv += [f"--{group}-vcf", str(w[f"{group}_vcf"]), f"--{group}-sad", str(w[f"{group}_sad"])]
    return argv


# ------------------------------------------------------------------------- split


@pytest.mark.parametrize(
    ("extra", "option"),
    [
        (["--folds", "1"], "--folds"),
        (["--valid", "0.6", "--test", "0.6"], "--valid"),
        (["--folds", "3", "--valid", "0.1"], "--folds"),
        (["--region-size", HUGE], "--region-size"),
        (["--min-aligned", HUGE], "--min-aligned"),
        (["--folds", HUGE], "--folds"),
        (["--region-size", "0"], "--region-size"),
        (["--min-aligned", "-1"], "--min-aligned"),
        (["--valid", "1.5"], "--valid"),
        (["--test", "nan"], "--test"),
        (["--seed", "-1"], "--seed"),
    ],
)
def test_split_refuses_a_bad_number_naming_it(world, tmp_path, capsys, extra, option):
    out = tmp_path / "split"
    status, lines = run_cli(split_argv(world, out, *extra), capsys, seconds=1.5)
    assert_refused(status, lines, option, out)


# ------------------------------------------------------------------------- data


@pytest.mark.parametrize(
    ("extra", "option", "regions"),
    [
        (["--stride", "0"], "--stride", True),
        (["--crop", "16"], "--crop", True),
        (["--max-unmappable", "nan"], "--max-unmappable", True),
        (["--fill-quantile", "nan"], "--fill-quantile", True),
        (["--threads", "0"], "--threads", True),
        (["--compress-targets", "13"], "--compress-targets", True),
        (["--tracks", "2/2"], "--tracks", True),
        (["--threads", HUGE], "--threads", True),
        (["--seq-length", HUGE], "--seq-length", True),
        (["--memory-gb", "nan"], "--memory-gb", True),
        (["--memory-gb", "0"], "--memory-gb", True),
        (["--min-n-run", "-1"], "--min-n-run", True),
        (["--seed", "-1"], "--seed", False),
        (["--valid-fraction", "1.5"], "--valid-fraction", False),
        (["--split-block", "0"], "--split-block", False),
    ],
)
def test_data_refuses_a_bad_number_naming_it(world, tmp_path, capsys, extra, option, regions):
    out = tmp_path / "store"
    status, lines = run_cli(data_argv(world, out, *extra, regions=regions), capsys)
    assert_refused(status, lines, option, out)


# ------------------------------------------------------------------------- train, finetune


def test_valid_training_options_reach_training(world, tmp_path, capsys, no_training):
    with pytest.raises(TrainingStartedError):
        run_cli(train_argv(world, tmp_path / "run"), capsys)
    with pytest.raises(TrainingStartedError):
        run_cli(finetune_argv(world, tmp_path / "ft", "--mode", "lora"), capsys)


@pytest.mark.parametrize(
    ("extra", "option"),
    [
        (["--batch-size", "0"], "--batch-size"),
        (["--clip-norm", "-1"], "--clip-norm"),
        (["--device", ""], "--device"),
        (["--clip-norm", "nan"], "--clip-norm"),
        (["--workers", HUGE], "--workers"),
        (["--augment-shift", "100000"], "--augment-shift"),
        (["--augment-shift", HUGE], "--augment-shift"),
        (["--min-epochs", "5"], "--min-epochs"),
        (["--seed", "-1"], "--seed"),
        (["--seed", HUGE], "--seed"),
        (["--device", "cuda:99"], "--device"),
    ],
)
def test_train_refuses_a_bad_value_before_training(
    world, tmp_path, capsys, no_training, extra, option
):
    out = tmp_path / "run"
    status, lines = run_cli(train_argv(world, out, *extra), capsys)
    assert_refused(status, lines, option, out)


@pytest.mark.parametrize(
    ("extra", "option"),
    [
        (["--learning-rate", "nan"], "--learning-rate"),
        (["--mode", "lora", "--lora-rank", "0"], "--lora-rank"),
        (["--mode", "unfreeze", "--unfreeze-blocks", HUGE], "--unfreeze-blocks"),
        (["--learning-rate", "inf"], "--learning-rate"),
        (["--mode", "lora", "--lora-alpha", "nan"], "--lora-alpha"),
        (["--mode", "lora", "--lora-alpha", "inf"], "--lora-alpha"),
        (["--mode", "lora", "--lora-rank", HUGE], "--lora-rank"),
        (["--clip-norm", "nan"], "--clip-norm"),
    ],
)
def test_finetune_refuses_a_bad_value_before_training(
    world, tmp_path, capsys, no_training, extra, option
):
    out = tmp_path / "ft"
    status, lines = run_cli(finetune_argv(world, out, *extra), capsys)
    assert_refused(status, lines, option, out)


# ------------------------------------------------------------------------- inference


@pytest.mark.parametrize(
    ("command", "extra", "option"),
    [
        ("bigwig", ["--chunk-size", "0"], "--chunk-size"),
        ("bigwig", ["--shard", "0/0"], "--shard"),
        ("predict", ["--shifts", "nan"], "--shifts"),
        ("predict", ["--device", "cuda:99"], "--device"),
        ("sad", ["--stats", ""], "--stats"),
        ("sad", ["--stats", "SAD,logd2"], "unknown SAD statistic logd2; choose among SAD,"),
        ("ism", ["--width", HUGE], "--width"),
        ("predict", ["--shifts", "100000"], "--shifts"),
        ("sad", ["--shifts", HUGE], "--shifts"),
        ("sad", ["--shifts", "1,,-1"], "an empty shift between two commas"),
        ("predict", ["--device", "xla"], "--device"),
        ("bigwig", ["--shard", f"1/{HUGE}"], "--shard"),
        ("sad", ["--shard", f"0/{HUGE}"], "--shard"),
        ("predict", ["--batch-size", "0"], "--batch-size"),
        ("sad", ["--chunk-size", "0"], "--chunk-size"),
        ("sad", ["--cluster-bp", "-1"], "--cluster-bp"),
    ],
)
def test_inference_refuses_a_bad_value_naming_it(world, tmp_path, capsys, command, extra, option):
    outs = {"predict": "p.npy", "bigwig": "bw", "sad": "sad.h5", "ism": "ism.h5"}
    build = {"predict": predict_argv, "bigwig": bigwig_argv, "sad": sad_argv, "ism": ism_argv}
    out = tmp_path / outs[command]
    status, lines = run_cli(build[command](world, out, *extra), capsys, seconds=1.5)
    assert_refused(status, lines, option, out)


# ------------------------------------------------------------------------- statistics


@pytest.mark.parametrize(
    ("command", "extra", "option"),
    [
        ("sldp", ["--spectrum-percent", "nan"], "--spectrum-percent"),
        ("sldp", ["--background-maf-bins", "-1"], "--background-maf-bins"),
        ("denovo", ["--folds", "1"], "--folds"),
        ("denovo", ["--folds", HUGE], "--folds"),
        ("denovo", ["--components", "0"], "--components"),
        ("sldp", ["--alpha", "nan"], "--alpha"),
        ("sldp", ["--alpha", "inf"], "--alpha"),
        ("sldp", ["--background-alpha", "nan"], "--background-alpha"),
        ("sldp", ["--background-alpha", "-inf"], "--background-alpha"),
        ("sldp", ["--verbose-thresh", "nan"], "--verbose-thresh"),
        ("sldp", ["--seed", "-1"], "--seed"),
        ("sldp", ["--background-maf-bins", HUGE], "--background-maf-bins"),
        ("sldp", ["--jk-blocks", "1"], "--jk-blocks"),
        ("denovo", ["--seed", "-1"], "--seed"),
    ],
)
def test_statistics_refuse_a_bad_number_naming_it(world, tmp_path, capsys, command, extra, option):
    out = tmp_path / command
    argv = (sldp_argv if command == "sldp" else denovo_argv)(world, out, *extra)
    status, lines = run_cli(argv, capsys)
    assert_refused(status, lines, option, out)


# ------------------------------------------------------------------------- outputs


def test_demo_and_synth_refuse_a_bad_seed_before_writing(world, tmp_path, capsys):
    status, lines = run_cli(["synth", "--out", str(tmp_path / "w"), "--seed", "-1"], capsys)
    assert_refused(status, lines, "--seed", tmp_path / "w")
    status, lines = run_cli(
        ["demo", "--fast", "--out", str(tmp_path / "d"), "--epochs", "0"], capsys
    )
    assert_refused(status, lines, "--epochs", tmp_path / "d")


def test_demo_refuses_a_negative_seed_before_writing(tmp_path, capsys):
    out = tmp_path / "demo"
    status, lines = run_cli(["demo", "--fast", "--out", str(out), "--seed", "-1"], capsys)
    assert_refused(status, lines, "--seed", out)


@pytest.mark.parametrize(
    "command",
    [
        "synth",
        "split",
        "denovo",
        "train",
        "bigwig",
        "data",
        "finetune",
        "evaluate",
        "sldp",
        "demo",
    ],
)
def test_an_out_folder_that_is_a_file_is_refused_naming_out(
    world, tmp_path, capsys, no_training, command
):
    taken = write(tmp_path / "taken.txt", "keep me\n")
    argv = {
        "synth": lambda: ["synth", "--out", str(taken)],
        "split": lambda: split_argv(world, taken),
        "denovo": lambda: denovo_argv(world, taken),
        "train": lambda: train_argv(world, taken),
        "bigwig": lambda: bigwig_argv(world, taken),
        "data": lambda: data_argv(world, taken),
        "finetune": lambda: finetune_argv(world, taken),
        "evaluate": lambda: evaluate_argv(world, taken),
        "sldp": lambda: sldp_argv(world, taken),
        "demo": lambda: ["demo", "--fast", "--out", str(taken)],
    }[command]()
    option = "--bigwig" if command == "bigwig" else "--out"
    status, lines = run_cli(argv, capsys)
    assert status == 1 and len(lines) == 1 and option in lines[0], lines
    assert taken.read_text() == "keep me\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["taken.txt"]


def test_ism_refuses_an_out_that_is_a_folder(world, tmp_path, capsys):
    out = tmp_path / "ism.h5"
    out.mkdir()
    status, lines = run_cli(ism_argv(world, out), capsys)
    assert status == 1 and len(lines) == 1 and "--out" in lines[0], lines
    assert list(out.iterdir()) == []


def test_sad_merge_refuses_to_write_over_one_of_its_shards(world, tmp_path, capsys):
    shards = [tmp_path / f"s{i}.h5" for i in range(2)]
    for i, shard in enumerate(shards):
        assert run_cli(sad_argv(world, shard, "--shard", f"{i}/2"), capsys)[0] == 0
    before = digest(shards[0])
    status, lines = run_cli(["sad-merge", "--out", str(shards[0]), *map(str, shards)], capsys)
    assert status == 1 and len(lines) == 1 and "--out" in lines[0], lines
    assert digest(shards[0]) == before


# ------------------------------------------------------------------------- the bounds


@pytest.mark.parametrize(
    ("text", "accepted"),
    [("2", True), ("1", False), ("7", True), ("8", False), ("-0", False), ("3.0", False)],
)
def test_a_whole_number_is_refused_outside_its_bounds_exactly(text, accepted):
    parse = values.whole(2, 7)
    if accepted:
        assert parse(text) == int(text)
    else:
        with pytest.raises(argparse.ArgumentTypeError, match=f"from 2 to 7, got {text}|whole"):
            parse(text)


@pytest.mark.parametrize(
    ("bounds", "text", "accepted"),
    [
        ({}, "0", True),
        ({}, "1", True),
        ({"above": True}, "0", False),
        ({"below": True}, "1", False),
        ({"below": True}, "0.999", True),
        ({}, "-1e-12", False),
        ({}, "nan", False),
        ({}, "1.0000001", False),
    ],
)
def test_a_number_is_refused_outside_its_interval_exactly(bounds, text, accepted):
    parse = values.number(0.0, 1.0, **bounds)
    if accepted:
        assert parse(text) == float(text)
    else:
        with pytest.raises(argparse.ArgumentTypeError, match=f"finite number in .*got {text}"):
            parse(text)


def test_no_bound_of_infinity_admits_infinity():
    assert values.POSITIVE("1e300") == 1e300
    for text in ("inf", "-inf", "0", "-1"):
        with pytest.raises(argparse.ArgumentTypeError, match=r"in \(0, inf\)"):
            values.POSITIVE(text)


def test_held_out_fractions_must_leave_some_to_train():
    values.check_held_out(("--valid", 0.5), ("--test", 0.4999))
    with pytest.raises(ValueError, match=r"--valid 0.5 \+ --test 0.5 leave nothing to train"):
        values.check_held_out(("--valid", 0.5), ("--test", 0.5))


def test_the_most_shards_are_accepted_and_one_more_is_not():
    assert Shard.parse(f"{MAX_SHARDS - 1}/{MAX_SHARDS}") == Shard(MAX_SHARDS - 1, MAX_SHARDS)
    with pytest.raises(ValueError, match="at most 10,000 shares"):
        Shard.parse(f"0/{MAX_SHARDS + 1}", "--tracks")


@pytest.mark.parametrize(
    ("command", "text", "problem"),
    [
        ("sad", "4/4", "need 0 <= i < n"),
        ("sad", "first", "write it i/n"),
        ("predict", "3/2", "need 0 <= i < n"),
        ("data", "0/10001", "at most 10,000 shares"),
        ("data", "a/b", "write it i/n"),
    ],
)
def test_a_bad_share_is_a_usage_error_before_any_input_is_read(
    command: str, text: str, problem: str, tmp_path: Path, capsys
) -> None:
    # before: checked after the model's config (or the inputs) were read, exit 1
    nope = str(tmp_path / "missing")
    argv = {
        "sad": ["sad", "--model", nope, "--fasta", nope, "--vcf", nope, "--shard", text],
        "predict": ["predict", "--model", nope, "--fasta", nope, "--bigwig", nope],
        "data": ["data", "--genome", "g", "--fasta", nope, "--targets", nope, "--out", nope],
    }[command]
    argv += {"sad": [], "predict": ["--shard", text], "data": ["--tracks", text]}[command]
    status, lines = run_cli(argv, capsys)
    option = "--tracks" if command == "data" else "--shard"
    assert status == 2 and lines and f"{option} '{text}': {problem}" in lines[0], lines


def test_shifts_within_a_bin_predict_and_a_bin_is_refused(world, tmp_path, capsys):
    stride = load_checkpoint(world["model"])[0].stride
    out = tmp_path / "p.npy"
    edge = f"{stride - 1},0,{1 - stride}"
    assert run_cli(predict_argv(world, out, "--shifts", edge), capsys)[0] == 0
    assert out.is_file()
    status, lines = run_cli(
        predict_argv(world, tmp_path / "q.npy", "--shifts", f"0,-{stride}"), capsys
    )
    assert_refused(status, lines, "--shifts", tmp_path / "q.npy")
    assert f"a shift of -{stride} bp moves the sequence past whole {stride}-bp" in lines[0]


def test_an_augment_shift_below_the_bin_width_reaches_training(
    world, tmp_path, capsys, no_training
):
    width = DataStore(world["store"]).pool_width
    with pytest.raises(TrainingStartedError):
        run_cli(train_argv(world, tmp_path / "a", "--augment-shift", str(width - 1)), capsys)
    status, lines = run_cli(
        train_argv(world, tmp_path / "b", "--augment-shift", str(width)), capsys
    )
    assert_refused(status, lines, "--augment-shift", tmp_path / "b")


def test_equal_min_and_max_epochs_reach_training(world, tmp_path, capsys, no_training):
    with pytest.raises(TrainingStartedError):
        run_cli(train_argv(world, tmp_path / "a", "--min-epochs", "2"), capsys)


@pytest.mark.parametrize("command", ["predict", "sad"])
def test_a_file_output_that_is_a_folder_is_refused_naming_it(world, tmp_path, capsys, command):
    taken = tmp_path / "taken.h5"
    (taken / "inside").mkdir(parents=True)
    argv = {
        "predict": lambda: predict_argv(world, taken),
        "sad": lambda: sad_argv(world, taken),
    }[command]()
    status, lines = run_cli(argv, capsys)
    assert status == 1 and len(lines) == 1, lines
    assert f"--out {taken}: is a folder, where crossreg writes a file" in lines[0]
    assert [p.name for p in taken.iterdir()] == ["inside"]


def test_compare_refuses_an_out_folder_that_is_a_file(tmp_path, capsys):
    taken = write(tmp_path / "taken", "keep me\n")
    metrics = write(tmp_path / "metrics.tsv", "x\n")
    argv = ["compare", "--joint", str(metrics), "--single", str(metrics), "--out", str(taken)]
    status, lines = run_cli(argv, capsys)
    assert status == 1 and f"--out {taken}: is a file, where crossreg writes a folder" in lines[0]
    assert taken.read_text() == "keep me\n"


@pytest.mark.parametrize("device", ["xla", "meta", "vulkan", "cuda:x"])
def test_a_device_type_no_model_runs_on_is_a_usage_error(device):
    with pytest.raises(argparse.ArgumentTypeError, match=f"unknown device '{device}'"):
        parse_device(device)


@pytest.mark.parametrize("chroms", ["7,", ",7", "7,,8", " , "])
@pytest.mark.parametrize("command", ["sldp", "bigwig"])
def test_an_empty_chromosome_name_in_chroms_is_refused(world, tmp_path, capsys, command, chroms):
    """``--chroms 7,`` has a stray comma: refused by argparse naming the option and the
    text, where it looked for a chromosome with no name."""
    out = tmp_path / "out"
    build = {"sldp": sldp_argv, "bigwig": bigwig_argv}[command]
    argv = [a for a in build(world, out) if a != "--chroms"]
    if command == "sldp":  # its argv names --chroms CHROM already
        argv.remove(CHROM)
    status, lines = run_cli([*argv, "--chroms", chroms], capsys)
    assert status == 2 and "--chroms" in lines[-1] and "empty chromosome name" in lines[-1]
    assert repr(chroms)[1:-1] in lines[-1]
    assert not out.exists()


def test_chromosome_lists_lose_the_spaces_around_names():
    assert values.chrom_list("7, chr8 ,X") == ["7", "chr8", "X"]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("abc", "expected a number, got 'abc'"),
        ("0", "must be a finite number in (0, 1], got 0"),
        ("nan", "must be a finite number in (0, 1], got nan"),
        ("1.5", "must be a finite number in (0, 1], got 1.5"),
    ],
)
def test_transfer_refuses_a_bad_variable_fraction_saying_what_it_takes(
    tmp_path, capsys, text, message
):
    """``--variable-fraction`` says what it takes, as every number option does: a word was
    refused as an 'invalid _fraction value', the name of a function inside crossreg."""
    out = tmp_path / "transfer"
    argv = ["transfer", "--model", "m", "--head", "mouse", "--data", "d", "--gtf", "g.gtf"]
    with pytest.raises(SystemExit) as stop:
        main([*argv, "--variable-fraction", text, "--out", str(out)])
    assert stop.value.code == 2
    assert f"argument --variable-fraction: {message}\n" in capsys.readouterr().err
    assert not out.exists()
