"""A torchrun environment that cannot train is refused before torch loads (train and
finetune alike): a batch the processes do not divide, ranks outside the job, no
rendezvous address."""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from crossreg.commands import finetune, train
from tests.pipeline import small_params

#: The variables torchrun sets that the check reads.
TORCHRUN = ("WORLD_SIZE", "RANK", "LOCAL_RANK", "LOCAL_WORLD_SIZE", "MASTER_ADDR", "MASTER_PORT")


def job(n: int, **more: str) -> dict[str, str]:
    """A consistent torchrun environment of `n` processes on one machine, process 0's
    unless `more` says otherwise."""
    env = {"WORLD_SIZE": str(n), "RANK": "0", "LOCAL_RANK": "0", "LOCAL_WORLD_SIZE": str(n)}
    return {**env, "MASTER_ADDR": "127.0.0.1", "MASTER_PORT": "29500", **more}


DRIVER = textwrap.dedent(
    """
    import json, logging, os, sys
    from crossreg.cli import main

    class Last(logging.Handler):
        def emit(self, record):
            self.text = record.getMessage()

    results = []
    for env, argv in json.loads(sys.argv[1]):
        for name in json.loads(sys.argv[2]):
            os.environ.pop(name, None)
        os.environ.update(env)
        last = Last()
        logging.getLogger("crossreg").addHandler(last)
        rc = main(argv)
        logging.getLogger("crossreg").removeHandler(last)
        log = getattr(last, "text", "")
        results.append({"rc": rc, "log": log, "torch": "torch" in sys.modules})
    print(json.dumps(results))
    """
)


@pytest.fixture
def inputs(tmp_path: Path) -> dict[str, list[str]]:
    """Each command's inputs as far as it reads them before torch loads: a store of 8
    train windows, params of batch 4 and a parent checkpoint's config."""
    store = tmp_path / "store"
    store.mkdir()
    splits = {"train": {"offset": 0, "count": 8}, "valid": {"offset": 8, "count": 2}}
    meta = {"format": "crossreg-dataset", "format_version": 1, "genome": "dog", "splits": splits}
    (store / "dataset.json").write_text(json.dumps({**meta, "pool_width": 128}))
    params = tmp_path / "params.json"
    params.write_text(json.dumps(small_params({"dog": 2})))
    parent = tmp_path / "parent"
    parent.mkdir()
    config = {"format": "crossreg-checkpoint", "genomes": {"cat": "head_cat"}}
    (parent / "config.json").write_text(json.dumps({**config, "targets": {"cat": []}}))
    (parent / "model.safetensors").write_bytes(b"")
    common = ["--data", str(store), "--out", str(tmp_path / "run")]
    return {
        "train": ["train", "--params", str(params), *common],
        "finetune": ["finetune", "--model", str(parent), *common],
    }


CASES = [
    (job(3), [], "a batch of 4 (--batch-size, else the params' batch_size) cannot be split "
     "evenly over the 3 processes of this torchrun job (WORLD_SIZE): each takes an equal slice "
     "of every batch; set --batch-size to a multiple of 3 (3 or 6), or start a number of "
     "processes that divides 4"),
    (job(4), ["--batch-size", "2"], "set --batch-size to a multiple of 4 (4), or start"),
    ({**job(2), "RANK": ""}, [], "WORLD_SIZE=2 in the environment but no RANK; launch with "
     "torchrun --nproc-per-node N -m crossreg ..., which sets them all"),
    ({"RANK": "1"}, [], "RANK=1 in the environment is not below WORLD_SIZE=1 (the number of "
     "processes; 1 when unset): this process would train without writing"),
    (job(2, RANK="2"), [], "RANK=2 in the environment is not below WORLD_SIZE=2"),
    (job(2, LOCAL_RANK="2"), [], "LOCAL_RANK=2 in the environment is not below "
     "LOCAL_WORLD_SIZE=2"),
    (job(2, LOCAL_WORLD_SIZE="4"), [], "LOCAL_WORLD_SIZE=4 in the environment is above "
     "WORLD_SIZE=2"),
    (job(2, MASTER_PORT=""), [], "WORLD_SIZE=2 in the environment but no MASTER_PORT: the "
     "processes could not find each other"),
    (job(2, WORLD_SIZE="two"), [], "WORLD_SIZE=two in the environment is not a whole number "
     "of at least 1"),
]  # fmt: skip


def test_a_torchrun_job_that_cannot_train_is_refused_before_torch_loads(inputs):
    runs = [
        (env, [*inputs[command], *more])
        for env, more, _ in CASES
        for command in ("train", "finetune")
    ]
    result = subprocess.run(
        [sys.executable, "-c", DRIVER, json.dumps(runs), json.dumps(TORCHRUN)],
        capture_output=True,
        text=True,
        check=True,
    )
    got = json.loads(result.stdout)
    messages = [message for _, _, message in CASES for _ in ("train", "finetune")]
    for (env, argv), message, outcome in zip(runs, messages, got, strict=True):
        assert outcome["rc"] == 1 and message in outcome["log"], (env, argv[0], outcome)
        assert not outcome["torch"], f"{argv[0]} under {env} imported torch"


@pytest.mark.parametrize("command", ["train", "finetune"])
@pytest.mark.parametrize("env", [{}, job(1), job(2), job(4), job(2, RANK="1", LOCAL_RANK="1")])
def test_a_consistent_launch_passes_the_checks(inputs, monkeypatch, command, env):
    """One process, and a torchrun job whose processes divide the batch of 4, on any rank."""
    for name in TORCHRUN:
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    module = {"train": train, "finetune": finetune}[command]
    parser = argparse.ArgumentParser()
    module.add_arguments(parser)
    module.check_inputs(parser.parse_args(inputs[command][1:]))
