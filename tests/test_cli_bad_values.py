"""A bad option value is refused before any work starts: one message that names the
option (exit status 1, or 2 from argparse), no traceback, no endless loop and nothing
written at --out."""

from __future__ import annotations

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

    monkeypatch.setattr(trainer_module, "make_loader", started)
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


def bug(reason: str):
    return pytest.mark.xfail(strict=True, reason=reason)


# ------------------------------------------------------------------------- split


@pytest.mark.parametrize(
    ("extra", "option"),
    [
        (["--folds", "1"], "--folds"),
        pytest.param(
            ["--valid", "0.6", "--test", "0.6"],
            "--valid",
            marks=bug(
                "split --valid 0.6 --test 0.6: 'valid 0.6 + test 0.6 leave nothing for train' "
                "names neither --valid nor --test (split/synteny.py:213)"
            ),
        ),
        (["--folds", "3", "--valid", "0.1"], "--folds"),
        pytest.param(
            ["--region-size", HUGE],
            "--region-size",
            marks=bug(
                "split --region-size 1e30: OverflowError traceback from _native.split_genomes "
                "(split/synteny.py:283); no upper bound is checked"
            ),
        ),
        pytest.param(
            ["--min-aligned", HUGE],
            "--min-aligned",
            marks=bug(
                "split --min-aligned 1e30: OverflowError traceback from _native.split_genomes "
                "(split/synteny.py:283)"
            ),
        ),
        pytest.param(
            ["--folds", HUGE],
            "--folds",
            marks=bug(
                "split --folds 1e30: builds a dict of 1e30 fold labels (split/synteny.py:208) and "
                "never returns; folds are not bounded by the regions there are"
            ),
        ),
        pytest.param(
            ["--region-size", "0"],
            "--region-size",
            marks=bug(
                "split --region-size 0: 'the region size must be at least 1 bp' does not name "
                "--region-size (split/synteny.py:246)"
            ),
        ),
        pytest.param(
            ["--min-aligned", "-1"],
            "--min-aligned",
            marks=bug(
                "split --min-aligned -1: 'min_aligned must be non-negative' names the Python "
                "argument, not --min-aligned (split/synteny.py:248)"
            ),
        ),
        pytest.param(
            ["--valid", "1.5"],
            "--valid",
            marks=bug(
                "split --valid 1.5: 'the valid fraction must lie in [0, 1)' does not name --valid "
                "(split/synteny.py:211)"
            ),
        ),
        pytest.param(
            ["--test", "nan"],
            "--test",
            marks=bug(
                "split --test nan: 'the test fraction must lie in [0, 1)' does not name --test "
                "(split/synteny.py:211)"
            ),
        ),
        pytest.param(
            ["--seed", "-1"],
            "--seed",
            marks=bug(
                "split --seed -1: 'the seed must lie in [0, 2**64)' does not name --seed "
                "(split/synteny.py:250)"
            ),
        ),
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
        pytest.param(
            ["--threads", HUGE],
            "--threads",
            True,
            marks=bug(
                "data --threads 1e30: passes check_numbers (data/checks.py:199) and the native "
                "call raises OverflowError as a traceback (data/bigwig.py:93) once the build runs"
            ),
        ),
        pytest.param(
            ["--seq-length", HUGE],
            "--seq-length",
            True,
            marks=bug(
                "data --seq-length 1e30: numpy's 'Maximum allowed size exceeded', no option named"
            ),
        ),
        pytest.param(
            ["--memory-gb", "nan"],
            "--memory-gb",
            True,
            marks=bug(
                "data --memory-gb nan: never checked; the budget becomes NaN and tracks_per_chunk "
                "(data/build.py:90) silently ignores it, building as if unlimited"
            ),
        ),
        pytest.param(
            ["--memory-gb", "0"],
            "--memory-gb",
            True,
            marks=bug(
                "data --memory-gb 0: never checked, accepted (and -1 too): chunks of one track and "
                "a negative merge block size (data/build.py:160)"
            ),
        ),
        pytest.param(
            ["--min-n-run", "-1"],
            "--min-n-run",
            True,
            marks=bug(
                "data --min-n-run -1: accepted silently as 'never' (data/windows.py:90); not "
                "checked by check_numbers (data/checks.py:174)"
            ),
        ),
        pytest.param(
            ["--seed", "-1"],
            "--seed",
            False,
            marks=bug(
                "data --seed -1: numpy's 'expected non-negative integer' from "
                "data/fractions.py:59, no option named"
            ),
        ),
        pytest.param(
            ["--valid-fraction", "1.5"],
            "--valid-fraction",
            False,
            marks=bug(
                "data --valid-fraction 1.5: 'split fractions valid=1.5, test=0.05 must...' does "
                "not name --valid-fraction (data/fractions.py:35)"
            ),
        ),
        pytest.param(
            ["--split-block", "0"],
            "--split-block",
            False,
            marks=bug(
                "data --split-block 0: 'the split block size must be positive' does not name "
                "--split-block (data/fractions.py:38)"
            ),
        ),
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
        pytest.param(
            ["--clip-norm", "-1"],
            "--clip-norm",
            marks=bug(
                "train --clip-norm -1: refused inside Trainer by TrainOptions.check "
                "(train/trainer.py:148) as 'clip_norm must be ...', the Python field, not "
                "--clip-norm"
            ),
        ),
        (["--device", ""], "--device"),
        pytest.param(
            ["--clip-norm", "nan"],
            "--clip-norm",
            marks=bug(
                "train --clip-norm nan: refused (since cc8a662; before, NaN weights and exit 0) "
                "only inside Trainer by TrainOptions.check (train/trainer.py:148) as 'clip_norm "
                "must be a finite number', which does not name --clip-norm"
            ),
        ),
        pytest.param(
            ["--workers", HUGE],
            "--workers",
            marks=bug(
                "train --workers 1e30: only a lower bound (commands/train.py:146); the DataLoader "
                "forks worker processes until the machine runs out"
            ),
        ),
        pytest.param(
            ["--augment-shift", "100000"],
            "--augment-shift",
            marks=bug(
                "train --augment-shift 100000 with 8,192-bp windows: accepted (commands/train.py"
                ":124 bounds it below only); shifted windows are all N padding"
            ),
        ),
        pytest.param(
            ["--augment-shift", HUGE],
            "--augment-shift",
            marks=bug(
                "train --augment-shift 1e30: OverflowError traceback from augmentation_draws "
                "(data/loader.py:78) in the first epoch, after train_options.json is written"
            ),
        ),
        pytest.param(
            ["--min-epochs", "5"],
            "--min-epochs",
            marks=bug(
                "train --min-epochs 5 --max-epochs 2: refused (since cc8a662; before, --min-epochs "
                "was silently ignored) as 'min_epochs (5) is above max_epochs (2)' "
                "(train/trainer.py:151), naming neither option"
            ),
        ),
        pytest.param(
            ["--seed", "-1"],
            "--seed",
            marks=bug(
                "train --seed -1: accepted; fails in the first epoch with numpy's 'expected "
                "non-negative integer' (train/trainer.py:450), leaving OUT/train_options.json"
            ),
        ),
        pytest.param(
            ["--seed", HUGE],
            "--seed",
            marks=bug(
                "train --seed 1e30: torch's 'Overflow when unpacking long long', no option named"
            ),
        ),
        pytest.param(
            ["--device", "cuda:99"],
            "--device",
            marks=bug(
                "train --device cuda:99 on a machine without it: RuntimeError traceback from "
                "model.to(device) (train/trainer.py:310); train does not check the device as "
                "inference_options does (commands/options.py:117)"
            ),
        ),
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
        pytest.param(
            ["--mode", "lora", "--lora-rank", HUGE],
            "--lora-rank",
            marks=bug(
                "finetune --lora-rank 1e30: TypeError traceback from torch.empty "
                "(model/adapters.py:35); the rank has no upper bound"
            ),
        ),
        pytest.param(
            ["--clip-norm", "nan"],
            "--clip-norm",
            marks=bug(
                "finetune --clip-norm nan: as in train, 'clip_norm must be a finite number' "
                "(train/trainer.py:148) does not name --clip-norm"
            ),
        ),
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
        pytest.param(
            "sad",
            ["--stats", ""],
            "--stats",
            marks=bug("sad --stats '': 'no SAD statistic; choose among ...' does not name --stats"),
        ),
        ("ism", ["--width", HUGE], "--width"),
        pytest.param(
            "predict",
            ["--shifts", "100000"],
            "--shifts",
            marks=bug(
                "predict --shifts 100000 (past the model's 8,192 bp): parse_shifts "
                "(commands/options.py:13) has no bound; every window is shifted out to padding "
                "and the predictions of an empty input are written, exit 0"
            ),
        ),
        pytest.param(
            "sad",
            ["--shifts", HUGE],
            "--shifts",
            marks=bug("sad --shifts 1e30: accepted, scores of all-padding windows, exit 0"),
        ),
        pytest.param(
            "predict",
            ["--device", "xla"],
            "--device",
            marks=bug(
                "predict --device xla (or vulkan, meta): parse_device accepts every torch device "
                "type (commands/options.py:49) but inference_options checks only cuda and mps "
                "(commands/options.py:117); RuntimeError traceback when the model moves"
            ),
        ),
        pytest.param(
            "bigwig",
            ["--shard", f"1/{HUGE}"],
            "--shard",
            marks=bug(
                "predict --bigwig --shard 1/1e30: builds a list of 1e30 shard folders "
                "(predict/bigwig.py:229) and never returns; leaves OUTDIR.shard-1-of-N.partial/"
            ),
        ),
        pytest.param(
            "sad",
            ["--shard", f"0/{HUGE}"],
            "--shard",
            marks=bug(
                "sad --shard 0/1e30: h5py TypeError traceback writing the shard_count attribute "
                "(variants/sad.py:210); leaves OUT.partial/"
            ),
        ),
        pytest.param(
            "predict",
            ["--batch-size", "0"],
            "--batch-size",
            marks=bug(
                "predict --batch-size 0 (and sad, ism, evaluate, transfer): 'batch size must be at "
                "least 1' does not name --batch-size (model/inference.py:68)"
            ),
        ),
        pytest.param(
            "sad",
            ["--chunk-size", "0"],
            "--chunk-size",
            marks=bug(
                "sad --chunk-size 0: 'the chunk size must be at least 1' does not name "
                "--chunk-size (variants/sad.py:172)"
            ),
        ),
        pytest.param(
            "sad",
            ["--cluster-bp", "-1"],
            "--cluster-bp",
            marks=bug(
                "sad --cluster-bp -1: 'cluster_bp must be at least 0' names the Python argument, "
                "not --cluster-bp (variants/scoring.py:112)"
            ),
        ),
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
        pytest.param(
            "sldp",
            ["--alpha", "nan"],
            "--alpha",
        ),
        pytest.param(
            "sldp",
            ["--alpha", "inf"],
            "--alpha",
        ),
        pytest.param(
            "sldp",
            ["--verbose-thresh", "nan"],
            "--verbose-thresh",
            marks=bug(
                "sldp --verbose-thresh nan (or -1): a p threshold never checked; no chunk table is "
                "ever written, silently"
            ),
        ),
        pytest.param(
            "sldp",
            ["--seed", "-1"],
            "--seed",
            marks=bug(
                "sldp --seed -1 (or >= 2**32): numpy's 'Seed must be between 0 and 2**32 - 1' "
                "(stats/sldp/regression.py:212), no option named"
            ),
        ),
        pytest.param(
            "sldp",
            ["--background-maf-bins", HUGE],
            "--background-maf-bins",
            marks=bug(
                "sldp --background-maf-bins 1e30: numpy's 'Maximum allowed size exceeded', no "
                "option named"
            ),
        ),
        pytest.param(
            "sldp",
            ["--jk-blocks", "1"],
            "--jk-blocks",
            marks=bug(
                "sldp --jk-blocks 1 (or --flips 0): 'flips must be ≥ 1 and jk-blocks ≥ 2' names "
                "neither option nor the value given (stats/sldp/run.py:165)"
            ),
        ),
        pytest.param(
            "denovo",
            ["--seed", "-1"],
            "--seed",
            marks=bug(
                "denovo --seed -1: numpy's 'expected non-negative integer' "
                "(stats/denovo.py:158), no option named"
            ),
        ),
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


@bug(
    "demo --seed -1: not checked up front (commands/demo.py:72 checks --epochs and "
    "--panel-snps only); numpy's 'expected non-negative integer' after the world is begun, "
    "leaving OUT; --seed 1e30 fails in split after synth ran"
)
def test_demo_refuses_a_negative_seed_before_writing(tmp_path, capsys):
    out = tmp_path / "demo"
    status, lines = run_cli(["demo", "--fast", "--out", str(out), "--seed", "-1"], capsys)
    assert_refused(status, lines, "--seed", out)


@pytest.mark.parametrize(
    "command",
    [
        pytest.param(
            "synth", marks=bug("synth --out FILE: '[Errno 17] File exists: FILE', no option named")
        ),
        pytest.param(
            "split", marks=bug("split --out FILE: '[Errno 17] File exists: FILE', no option named")
        ),
        pytest.param(
            "denovo",
            marks=bug(
                "denovo --out FILE: require_output (commands/inputs.py:37) accepts an existing "
                "file for a folder; after the tests run, '[Errno 17] File exists', no option "
                "named"
            ),
        ),
        pytest.param(
            "train",
            marks=bug(
                "train --out FILE: passes require_output (commands/inputs.py:37); '[Errno 17] File "
                "exists' once the model is built, no option named"
            ),
        ),
        pytest.param(
            "bigwig",
            marks=bug(
                "predict --bigwig FILE: '[Errno 17] File exists' after the first chunk is "
                "predicted, no option named; leaves FILE.partial/ and FILE.lock"
            ),
        ),
        "data",
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
    }[command]()
    option = "--bigwig" if command == "bigwig" else "--out"
    status, lines = run_cli(argv, capsys)
    assert status == 1 and len(lines) == 1 and option in lines[0], lines
    assert taken.read_text() == "keep me\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["taken.txt"]


@bug(
    "ism --out DIR.h5 where DIR.h5 is a folder: require_output (commands/inputs.py:37) "
    "accepts an existing folder; the whole ISM is computed, then '[Errno 21] Is a "
    "directory' without naming --out"
)
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
