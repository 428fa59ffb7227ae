"""``crossreg finetune`` on the tiny world with a cell type held out of joint training."""

from __future__ import annotations

import csv
import hashlib
import json
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.torch import load_file

from crossreg.cli import main
from crossreg.data.loader import SplitDataset, codes_to_one_hot
from crossreg.data.store import DataStore
from crossreg.model.adapters import add_adapters, merge_adapters
from crossreg.model.checkpoint import load_checkpoint, read_config
from crossreg.model.seqnn import SeqNN, TrackHead
from crossreg.train import finetune as finetune_module
from crossreg.train.finetune import FineTuneSpec, finetune, trunk_blocks
from crossreg.train.trainer import Trainer, TrainOptions
from tests.finetune_world import build_held_out_world
from tests.pipeline import small_params

STEPS = ["--max-epochs", "2", "--steps-per-epoch", "6", "--seed", "2", "--no-plots"]


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> dict[str, Path]:
    """Stores without the liver tracks (human, mouse), the human liver store, and a joint
    model trained briefly on the first two (``joint``)."""
    root = tmp_path_factory.mktemp("finetune")
    stores = build_held_out_world(root, cell="liver")
    tracks = {g: DataStore(stores[g]).num_targets for g in ("human", "mouse")}
    params = root / "params.json"
    params.write_text(json.dumps(small_params(tracks)))
    joint = root / "joint"
    args = ["-q", "train", "--params", str(params), "--out", str(joint), "--no-plots"]
    args += ["--data", str(stores["human"]), "--data", str(stores["mouse"])]
    assert main([*args, "--max-epochs", "1", "--steps-per-epoch", "8"]) == 0
    return {**stores, "joint": joint / "best"}


def run_finetune(world: dict[str, Path], out: Path, *extra: str) -> Path:
    args = ["-q", "finetune", "--model", str(world["joint"]), "--data", str(world["held_out"])]
    args += ["--head-name", "liver", "--out", str(out), *extra, *STEPS]
    assert main(args) == 0
    return out


def held_out_windows(world: dict[str, Path]) -> torch.Tensor:
    data = SplitDataset(DataStore(world["held_out"]), "test", sequence="codes")
    return codes_to_one_hot(data.batch(np.arange(min(4, len(data))))["sequence"])


def assert_same(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor], keys) -> None:
    for key in keys:
        assert torch.equal(a[key], b[key]), key


def test_probe_trains_the_new_head_only_and_keeps_the_parent_heads(world, tmp_path):
    out = run_finetune(world, tmp_path / "probe", "--mode", "probe")
    parent, parent_config = load_checkpoint(world["joint"])
    model, config = load_checkpoint(out / "best")
    assert model.genomes == ["human", "mouse", "liver"]
    held = DataStore(world["held_out"]).table
    assert [t.identifier for t in config.targets["liver"]] == held.identifiers
    assert all(t.description.endswith(":liver") for t in config.targets["liver"])
    # every parent tensor is bitwise the parent's: the trunk (and its batch-norm moving
    # statistics) and both heads
    a, b = parent.state_dict(), model.state_dict()
    assert set(b) - set(a) == {"heads.liver.dense.weight", "heads.liver.dense.bias"}
    assert_same(a, b, a)
    x = held_out_windows(world)
    with torch.no_grad():
        for genome in ("human", "mouse"):
            assert torch.equal(parent(x, genome), model(x, genome))
        liver = model(x, "liver")
    assert liver.shape[-1] == len(held.identifiers)
    finetuned = config.extra["finetune"]
    assert finetuned["mode"] == "probe" and finetuned["trained"] == ["heads.liver"]
    assert finetuned["parent_heads"] == ["human", "mouse"]
    weights = (world["joint"] / "model.safetensors").read_bytes()
    assert config.source["parent"]["sha256"] == hashlib.sha256(weights).hexdigest()
    assert config.source["parent"]["save_id"] == parent_config.save_id
    with open(out / "metrics.csv") as handle:
        rows = list(csv.DictReader(handle))
    assert [(r["phase"], r["genome"]) for r in rows] == [("finetune", "human")] * 2
    assert float(rows[-1]["train_loss"]) < float(rows[0]["train_loss"])


def test_unfreeze_trains_the_last_blocks_and_keeps_the_others(world, tmp_path):
    out = run_finetune(world, tmp_path / "unfreeze", "--mode", "unfreeze", "--unfreeze-blocks", "2")
    parent, _ = load_checkpoint(world["joint"])
    model, config = load_checkpoint(out / "best")
    assert model.genomes == ["liver"]  # the trunk changed: the parent's heads are not kept
    blocks = [name for name, _ in trunk_blocks(parent)]
    assert config.extra["finetune"]["trained"] == [*blocks[-2:], "heads.liver"]
    a, b = parent.state_dict(), model.state_dict()
    frozen = [k for k in a if k.startswith("trunk.") and ".".join(k.split(".")[:2]) in blocks[:-2]]
    changed = [k for k in a if ".".join(k.split(".")[:2]) in blocks[-2:] and "weight" in k]
    assert frozen and changed
    assert_same(a, b, frozen)
    assert not all(torch.equal(a[k], b[k]) for k in changed)


def test_lora_checkpoint_is_merged_and_resumes_exactly(world, tmp_path, monkeypatch):
    args = ("--mode", "lora", "--lora-rank", "2", "--learning-rate", "0.01")
    whole = run_finetune(world, tmp_path / "whole", *args)
    parent, _ = load_checkpoint(world["joint"])
    model, config = load_checkpoint(whole / "best")  # merged: a plain checkpoint
    assert config.extra["finetune"]["lora_rank"] == 2
    assert config.extra["finetune"]["adapters"] == "merged into the weights"
    a, b = parent.state_dict(), model.state_dict()
    convs = [k for k in a if k.endswith("conv.weight")]
    others = [k for k in a if k.startswith("trunk.") and k not in convs]
    assert_same(a, b, others)  # batch norm and everything else of the trunk: untouched
    assert not all(torch.equal(a[k], b[k]) for k in convs)
    assert (whole / "last" / "adapters.safetensors").exists()
    # the merged checkpoint predicts as the adapted model it came from
    model, _ = load_checkpoint(whole / "last")
    adapted, _ = load_checkpoint(world["joint"])
    trainer_model = _adapted_like(adapted, model, whole / "last")
    x = held_out_windows(world)
    with torch.no_grad():
        torch.testing.assert_close(
            model(x, "liver"), trainer_model(x, "liver"), rtol=1e-4, atol=1e-5
        )
    # every command loads it: predict with the new head
    bed = tmp_path / "region.bed"
    bed.write_text("chr2\t100000\t100100\n")
    out = tmp_path / "pred.npy"
    argv = ["-q", "predict", "--model", str(whole / "best"), "--genome", "liver", "--bed", str(bed)]
    fasta = world["held_out"].parent / "synth" / "human" / "genome.fa"
    assert main([*argv, "--fasta", str(fasta), "--out", str(out)]) == 0
    assert np.load(out).shape == (1, model.output_length(), model.num_targets("liver"))

    # killed after its first epoch, then resumed: the same run
    original = Trainer._write_metrics
    calls = {"n": 0}

    def crash_after_first_epoch(self):
        original(self)
        calls["n"] += 1
        if calls["n"] == 1:
            raise RuntimeError("killed")

    monkeypatch.setattr(Trainer, "_write_metrics", crash_after_first_epoch)
    spec = FineTuneSpec(mode="lora", head="liver", lora_rank=2)
    options = TrainOptions(max_epochs=2, steps_per_epoch=6, seed=2)
    common = (world["joint"], world["held_out"], tmp_path / "resumed", spec, options)
    with pytest.raises(RuntimeError, match="killed"):
        finetune(*common, learning_rate=0.01, plots=False)
    monkeypatch.setattr(Trainer, "_write_metrics", original)
    finetune(*common, learning_rate=0.01, plots=False, resume=True)
    for name in ("model.safetensors", "adapters.safetensors"):
        x1 = load_file(str(whole / "last" / name))
        x2 = load_file(str(tmp_path / "resumed" / "last" / name))
        assert x1.keys() == x2.keys()
        assert_same(x1, x2, x1)


def _adapted_like(parent: SeqNN, merged: SeqNN, last: Path) -> SeqNN:
    """The parent with adapters loaded from `last` and the new head of `merged`: the
    model as it trained, before merging."""
    parent.heads["liver"] = TrackHead(parent.channels, merged.num_targets("liver"), "softplus")
    parent.heads["liver"].load_state_dict(merged.heads["liver"].state_dict())
    config = read_config(last).extra["finetune"]
    add_adapters(parent.trunk, config["lora_rank"], config["lora_alpha"])
    state = parent.state_dict()
    state.update(load_file(str(last / "adapters.safetensors")))
    parent.load_state_dict(state)
    parent.eval()
    return parent


def test_merging_adapters_keeps_the_predictions(world):
    model, _ = load_checkpoint(world["joint"])
    add_adapters(model.trunk, 3, 6.0, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        for name, tensor in model.state_dict().items():
            if name.endswith(".up"):
                tensor.normal_(0, 0.05)
    x = held_out_windows(world)
    with torch.no_grad():
        before = model(x, "human")
        merge_adapters(model)
        after = model(x, "human")
    assert not any(".parametrizations." in k for k in model.state_dict())
    torch.testing.assert_close(after, before, rtol=1e-4, atol=1e-5)


def test_a_head_of_an_existing_name_is_refused(world, tmp_path):
    spec = FineTuneSpec(mode="probe")  # the store's genome, human, has a head already
    with pytest.raises(
        ValueError, match=r"already has a head .human.; name the new head with --head-name"
    ):
        finetune(world["joint"], world["held_out"], tmp_path / "x", spec)
    with pytest.raises(ValueError, match="--unfreeze-blocks must be at least 1"):
        FineTuneSpec(mode="unfreeze", unfreeze_blocks=0).check()
    assert finetune_module.MODES == ("probe", "unfreeze", "lora")
