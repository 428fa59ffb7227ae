"""``crossreg finetune`` on the tiny world with a cell type held out of joint training: in
every mode the parent's heads and tensors stay bitwise as they were, and the new head
predicts after a save and a load what it did in memory."""

from __future__ import annotations

import copy
import csv
import dataclasses
import hashlib
import json
import logging
import re
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.torch import load_file

from crossreg.cli import build_parser, main
from crossreg.data.store import DataStore
from crossreg.model.checkpoint import load_checkpoint, make_config, read_config, save_checkpoint
from crossreg.model.params import parse_params
from crossreg.model.seqnn import SeqNN
from crossreg.train import epoch_loop, validation
from crossreg.train import finetune as finetune_module
from crossreg.train.finetune import (
    FineTuneSpec,
    default_learning_rate,
    finetune,
    finetune_trainer,
    new_head_params,
    trunk_blocks,
)
from crossreg.train.options import TrainOptions
from crossreg.train.run_folder import check_apart
from crossreg.train.trainer import Trainer, train
from tests.finetune_world import build_held_out_world
from tests.pipeline import SEQ_LENGTH, rebuilt_store, run_in_one_and_two_processes, small_params

STEPS = ["--max-epochs", "2", "--steps-per-epoch", "6", "--seed", "2", "--no-plots"]
BRIEF = ["--max-epochs", "1", "--steps-per-epoch", "2", "--seed", "2", "--no-plots"]
LORA_RATE = 0.01
BASENJI = Path(__file__).parent / "data" / "basenji_fixtures"


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


@pytest.fixture(scope="module")
def sequences(tmp_path_factory) -> tuple[Path, torch.Tensor]:
    """Three random windows of the model's length, as a FASTA file and as one-hot."""
    codes = torch.randint(0, 4, (3, SEQ_LENGTH), generator=torch.Generator().manual_seed(7))
    fasta = tmp_path_factory.mktemp("sequences") / "windows.fa"
    records = ["".join("ACGT"[c] for c in row) for row in codes.tolist()]
    fasta.write_text("".join(f">w{i}\n{seq}\n" for i, seq in enumerate(records)))
    return fasta, torch.nn.functional.one_hot(codes, 4).float()


def run_finetune(model: Path, data: Path, out: Path, head: str, *extra: str) -> Path:
    args = ["-q", "finetune", "--model", str(model), "--data", str(data)]
    args += ["--head-name", head, "--out", str(out), *extra, *STEPS]
    assert main(args) == 0
    return out


def predict(model: Path, genome: str, fasta: Path, out: Path) -> np.ndarray:
    """``crossreg predict`` of `genome`'s head for every record of `fasta`."""
    argv = ["-q", "predict", "--model", str(model), "--genome", genome, "--fasta", str(fasta)]
    assert main([*argv, "--out", str(out)]) == 0
    return np.load(out)


def predictions(model: SeqNN, x: torch.Tensor) -> dict[str, torch.Tensor]:
    with torch.no_grad():
        return {genome: model(x, genome) for genome in model.genomes}


def assert_same(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor], keys) -> None:
    for key in keys:
        assert torch.equal(a[key], b[key]), key


def assert_parent_kept(parent_dir: Path, child_dir: Path, x: torch.Tensor) -> set[str]:
    """Every tensor of the parent is bitwise the child's, and so are the parent's heads'
    predictions on `x`; returns the tensors the child adds."""
    parent, _ = load_checkpoint(parent_dir)
    child, _ = load_checkpoint(child_dir)
    a, b = parent.state_dict(), child.state_dict()
    assert_same(a, b, a)
    got = predictions(child, x)
    for genome, expected in predictions(parent, x).items():
        assert torch.equal(got[genome], expected), genome
    return set(b) - set(a)


@pytest.mark.parametrize("mode", ["probe", "unfreeze", "lora"])
def test_each_mode_keeps_the_parent_and_reloads_the_new_head(
    world, sequences, tmp_path, monkeypatch, mode
):
    fasta, x = sequences
    spec = FineTuneSpec(mode=mode, head="liver", unfreeze_blocks=2, lora_rank=2)
    options = TrainOptions(max_epochs=2, steps_per_epoch=6, seed=2)
    rate = LORA_RATE if mode == "lora" else None
    trainer = finetune_trainer(
        world["joint"], world["held_out"], tmp_path / mode, spec, options, learning_rate=rate
    )
    shown: list[str] = []  # what the progress lines say the run is doing
    original = epoch_loop.progress

    def progress(total, desc, *args, **kwargs):
        shown.append(desc)
        return original(total, desc, *args, **kwargs)

    monkeypatch.setattr(epoch_loop, "progress", progress)
    monkeypatch.setattr(validation, "progress", progress)
    out = trainer.fit()
    # validation names the head it scores, as the epoch lines do, not the store's genome
    epochs = [[f"finetune epoch {e}", "finetune validation liver"] for e in (1, 2)]
    assert shown == [desc for epoch in epochs for desc in epoch]
    # the new head after a save and a load predicts what it did in memory
    trainer.model.eval()
    with torch.no_grad():
        in_memory = trainer.model(x, "liver")
    last, _ = load_checkpoint(out / "last")
    with torch.no_grad():
        assert torch.equal(last(x, "liver"), in_memory)

    added = assert_parent_kept(world["joint"], out / "best", x)
    parent, parent_config = load_checkpoint(world["joint"])
    model, config = load_checkpoint(out / "best")
    assert model.genomes == ["human", "mouse", "liver"]
    held = DataStore(world["held_out"]).table
    assert [t.identifier for t in config.targets["liver"]] == held.identifiers
    assert all(t.description.endswith(":liver") for t in config.targets["liver"])
    finetuned = config.extra["finetune"]
    assert finetuned["mode"] == mode and finetuned["head"] == "liver"
    # the new head's validation score is filed under it, not under the store's genome
    assert list(config.metrics) == ["liver"]
    assert finetuned["parent_heads"] == ["human", "mouse"]
    weights = (world["joint"] / "model.safetensors").read_bytes()
    assert config.source["parent"]["sha256"] == hashlib.sha256(weights).hexdigest()
    assert config.source["parent"]["save_id"] == parent_config.save_id
    head = {"heads.liver.dense.weight", "heads.liver.dense.bias"}
    a, b = parent.state_dict(), model.state_dict()
    if mode == "probe":
        assert added == head and config.branches == {}
        assert finetuned["trained"] == ["heads.liver"] and finetuned["branch"] is None
        with open(out / "metrics.csv") as handle:
            rows = list(csv.DictReader(handle))
        # the rows name the head they score, not the store's genome
        assert [(r["phase"], r["genome"]) for r in rows] == [("finetune", "liver")] * 2
        assert float(rows[-1]["valid_loss"]) < float(rows[0]["valid_loss"])
    elif mode == "unfreeze":
        first, second = (int(name.split(".")[1]) for name, _ in trunk_blocks(parent)[-2:])
        branch = {"kind": "blocks", "start": first}
        assert config.branches == {"liver": branch} and finetuned["branch"] == branch
        copies = [f"branches.liver.blocks.{i}" for i in range(first, len(parent.trunk))]
        assert finetuned["trained"] == ["heads.liver", *copies[:1], copies[second - first]]
        assert added == head | {k for k in b if k.startswith(tuple(copies))}
        # the copies trained: their weights left the parent's blocks they started from
        trained = [k for k in added if k.endswith("conv.weight")]
        assert trained
        assert not any(
            torch.equal(b[k], a[k.replace("branches.liver.blocks", "trunk")]) for k in trained
        )
    else:
        branch = {"kind": "lora", "start": 0, "rank": 2, "alpha": 2.0}
        assert config.branches == {"liver": branch} and finetuned["branch"] == branch
        assert finetuned["trained"][0] == "heads.liver"
        assert all(p.startswith("branches.liver.adapters.") for p in finetuned["trained"][1:])
        ups = [k for k in added if k.endswith(".up")]
        assert len(ups) == sum(isinstance(m, torch.nn.Conv1d) for m in parent.trunk.modules())
        assert any(b[k].abs().sum() > 0 for k in ups)  # the adapters trained, unmerged

    # crossreg predict reads the checkpoint with either head: the parent's as the parent,
    # the new one as the model loaded here
    human = predict(out / "best", "human", fasta, tmp_path / "human.npy")
    assert np.array_equal(human, predict(world["joint"], "human", fasta, tmp_path / "p.npy"))
    liver = predict(out / "best", "liver", fasta, tmp_path / "liver.npy")
    with torch.no_grad():
        expected = model(x, "liver").numpy()
    np.testing.assert_allclose(liver, expected, rtol=1e-6, atol=1e-6)


def test_lora_resumes_exactly_and_is_finetuned_again(world, sequences, tmp_path, monkeypatch):
    args = ("--mode", "lora", "--lora-rank", "2", "--learning-rate", str(LORA_RATE))
    whole = run_finetune(world["joint"], world["held_out"], tmp_path / "whole", "liver", *args)
    # a resume without its --head-name: the store's genome names a head the parent has,
    # and the refusal says which head the run fine-tunes (before: only that 'human' is
    # taken)
    argv = ["finetune", "--model", str(world["joint"]), "--data", str(world["held_out"])]
    argv += ["--out", str(whole), "--resume", *args, *STEPS]
    parsed = build_parser().parse_args(argv)
    with pytest.raises(ValueError) as caught:
        parsed.run(parsed)
    assert str(caught.value).endswith(
        f"already has a head 'human'; name the new head with --head-name (the run in "
        f"{whole} fine-tunes the head 'liver': resume with --head-name liver)"
    )

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
        finetune(*common, learning_rate=LORA_RATE, plots=False)
    monkeypatch.setattr(Trainer, "_write_metrics", original)
    other, other_config = load_checkpoint(world["joint"])  # the same model, other weights
    with torch.no_grad():
        next(other.parameters()).add_(0.01)
    save_checkpoint(tmp_path / "other", other, other_config)
    with pytest.raises(ValueError, match=r"fine-tunes the checkpoint .*holds other weights"):
        finetune(tmp_path / "other", *common[1:], learning_rate=LORA_RATE, resume=True)
    with pytest.raises(ValueError, match="holds a run"):  # a new run would replace it
        finetune(*common, learning_rate=LORA_RATE, plots=False)
    # a resume in another mode names the option (not the settings of either mode)
    probe = (*common[:3], FineTuneSpec(mode="probe", head="liver"), options)
    with pytest.raises(ValueError) as caught:
        finetune(*probe, learning_rate=LORA_RATE, plots=False, resume=True)
    assert "other finetune settings (--mode lora then, probe now); resume" in str(caught.value)
    other_rank = dataclasses.replace(spec, lora_rank=3, lora_alpha=2.0)
    with pytest.raises(ValueError, match=r"settings \(--lora-rank 2 then, 3 now\); resume"):
        finetune(*common[:3], other_rank, options, learning_rate=LORA_RATE, resume=True)
    # the rate is named by --learning-rate, which sets it (before: by the params key
    # train.learning_rate, which a fine-tuning's user never gives); left out, it is the
    # parent's params' 0.002
    for rate, now in ((0.02, "0.02"), (None, "0.002")):
        with pytest.raises(ValueError) as caught:
            finetune(*common, learning_rate=rate, plots=False, resume=True)
        assert f"other settings (--learning-rate {LORA_RATE} then, {now} now); resume" in str(
            caught.value
        )
    # another --head-name is named so (before: by the params keys it adds, "other params
    # (model.head_liver, model.head_liver2)")
    renamed = dataclasses.replace(spec, head="liver2")
    with pytest.raises(ValueError) as caught:
        finetune(*common[:3], renamed, options, learning_rate=LORA_RATE, resume=True)
    assert "other finetune settings (--head-name liver then, liver2 now); resume" in str(
        caught.value
    )
    torch.manual_seed(123)
    expected = torch.rand(4)
    torch.manual_seed(123)
    finetune(*common, learning_rate=LORA_RATE, plots=False, resume=True)
    assert torch.equal(torch.rand(4), expected)  # the resume's random state stays inside
    x1 = load_file(str(whole / "last" / "model.safetensors"))
    x2 = load_file(str(tmp_path / "resumed" / "last" / "model.safetensors"))
    assert x1.keys() == x2.keys() and any(".adapters." in k for k in x1)
    assert_same(x1, x2, x1)
    # a finished two-epoch fine-tuning is not made a one-epoch one, as train refuses it
    fewer = dataclasses.replace(options, max_epochs=1)
    with pytest.raises(ValueError, match="has trained 2 epochs, more than --max-epochs 1"):
        finetune(*common[:4], fewer, learning_rate=LORA_RATE, plots=False, resume=True)

    # a fine-tuned checkpoint is a parent like any other: every head it has, the LoRA
    # one included, predicts as it did beside a new head with its own last block
    again = run_finetune(
        whole / "best", world["held_out"], tmp_path / "again", "liver2", "--mode", "unfreeze"
    )
    # a second run into the folder replaces it with --overwrite (before: no such option)
    extra = ("--mode", "unfreeze", "--overwrite")
    assert run_finetune(whole / "best", world["held_out"], again, "liver2", *extra) == again
    _, x = sequences
    added = assert_parent_kept(whole / "best", again / "best", x)
    model, config = load_checkpoint(again / "best")
    assert model.genomes == ["human", "mouse", "liver", "liver2"]
    assert set(config.branches) == {"liver", "liver2"}
    assert config.extra["finetune"]["parent_heads"] == ["human", "mouse", "liver"]
    joint_sha = hashlib.sha256((world["joint"] / "model.safetensors").read_bytes()).hexdigest()
    assert config.source["parent"]["source"]["parent"]["sha256"] == joint_sha
    assert all(k.startswith(("heads.liver2.", "branches.liver2.blocks.")) for k in added)
    # the other commands read it too: the LoRA head's BigWigs as from its own checkpoint,
    # and the newest head evaluated on the held-out store
    fasta = world["held_out"].parent / "synth" / "human" / "genome.fa"
    bed = tmp_path / "region.bed"
    bed.write_text("chr1\t20000\t40000\n")
    for name, checkpoint in (("whole", whole / "best"), ("again", again / "best")):
        argv = ["-q", "predict", "--model", str(checkpoint), "--genome", "liver"]
        argv += ["--fasta", str(fasta), "--bed", str(bed), "--bigwig", str(tmp_path / f"{name}_bw")]
        assert main(argv) == 0
    written = sorted((tmp_path / "whole_bw").glob("*.bw"))
    assert len(written) == model.num_targets("liver")
    for path in written:
        assert path.read_bytes() == (tmp_path / "again_bw" / path.name).read_bytes(), path.name
    argv = ["-q", "evaluate", "--model", str(again / "best"), "--data", str(world["held_out"])]
    assert main([*argv, "--genome", "liver2", "--out", str(tmp_path / "eval"), "--no-plots"]) == 0
    with open(tmp_path / "eval" / "metrics.tsv") as handle:
        assert len(list(csv.DictReader(handle, delimiter="\t"))) == model.num_targets("liver2")


def test_a_training_runs_folder_given_as_the_parent_names_its_best(world, tmp_path):
    # finetune("run", ...) from Python said only "not a crossreg checkpoint (no
    # config.json)", where --model names the run's best/
    run = world["joint"].parent
    assert (run / "best").is_dir() and world["joint"] == run / "best"
    spec = FineTuneSpec(mode="probe", head="liver")
    with pytest.raises(ValueError, match="it holds a training run: give its checkpoint"):
        finetune(run, world["held_out"], tmp_path / "x", spec)
    with pytest.raises(FileNotFoundError, match="no-such-run"):
        finetune(tmp_path / "no-such-run", world["held_out"], tmp_path / "x", spec)
    assert not (tmp_path / "x").exists()


def _listing(folder: Path) -> dict[str, bytes]:
    """Every file under `folder` with its bytes."""
    return {str(p.relative_to(folder)): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


def test_an_out_that_meets_an_input_is_refused_before_any_work(world, tmp_path, capsys):
    # before: --out run --overwrite with --model run/best trained, then deleted the parent
    # (and the run's finetune_<genome>/) to save its own best/; --out the parent, the
    # store, or any other store or checkpoint got the run's checkpoints written into it
    run = tmp_path / "run"
    shutil.copytree(world["joint"].parent, run)
    store = tmp_path / "store"
    shutil.copytree(world["held_out"], store)
    before = _listing(tmp_path)
    model, data = ["--model", str(run / "best")], ["--data", str(store)]
    cases = {
        (str(run), "--overwrite"): "holds the --model checkpoint .*best as its best/",
        (str(run / "best"),): "is the --model checkpoint",
        (str(store),): "is the --data store",
        (str(store / "ft"),): "lies inside the --data store",
    }
    for (out, *extra), message in cases.items():
        argv = ["finetune", *model, *data, "--head-name", "liver", "--out", out, *extra]
        assert main([*argv, *BRIEF]) == 1
        err = capsys.readouterr().err
        assert re.search(message, err) and "choose an --out apart" in err, err
        assert "Traceback" not in err
    others = tmp_path / "others"  # a store and a checkpoint that are not the run's inputs
    shutil.copytree(world["human"], others / "store")
    shutil.copytree(world["joint"], others / "checkpoint")
    before = _listing(tmp_path)
    for out, kind in (("store", "a dataset store"), ("checkpoint", "a checkpoint")):
        argv = ["finetune", *model, *data, "--head-name", "liver", "--out", str(others / out)]
        assert main([*argv, *BRIEF]) == 1
        assert f"is {kind}: a run writes its checkpoints" in capsys.readouterr().err
    own = tmp_path / "own"  # a folder holding the user's own files of those names
    own.mkdir()
    (own / "config.json").write_text('{"pipeline": "liver"}')
    (own / "dataset.json").write_text("not json")
    check_apart(own, [("--model checkpoint", run / "best"), ("--data store", store)])
    (own / "config.json").unlink()
    (own / "dataset.json").unlink()
    params = str(world["joint"].parent.parent / "params.json")
    argv = ["train", "--params", params, "--data", str(store), "--out", str(store), *BRIEF]
    assert main(argv) == 1
    assert "is the --data store" in capsys.readouterr().err
    spec = FineTuneSpec(mode="probe", head="liver")
    with pytest.raises(ValueError, match="holds the --model checkpoint"):
        finetune(run / "best", store, run, spec, overwrite=True)
    assert _listing(tmp_path) == before  # nothing written, nothing deleted


def test_more_blocks_than_the_trunk_holds_are_refused_naming_the_most(world, tmp_path):
    # before: the count alone, without the largest --unfreeze-blocks the trunk takes
    blocks = len(trunk_blocks(load_checkpoint(world["joint"])[0]))
    spec = FineTuneSpec(mode="unfreeze", head="liver", unfreeze_blocks=blocks + 1)
    message = f"has {blocks} blocks with weights; give {blocks} or fewer"
    with pytest.raises(ValueError, match=message):
        finetune(world["joint"], world["held_out"], tmp_path / "x", spec)
    assert not (tmp_path / "x").exists()


def test_a_head_of_an_existing_name_is_refused(world, tmp_path):
    spec = FineTuneSpec(mode="probe")  # the store's genome, human, has a head already
    with pytest.raises(
        ValueError, match=r"already has a head .human.; name the new head with --head-name"
    ):
        finetune(world["joint"], world["held_out"], tmp_path / "x", spec)
    # a head trained under another genome's params key keeps that key from a new head
    served = dataclasses.replace(
        read_config(world["joint"]), genomes={"human": "head_human", "rat": "head_mouse"}
    )
    with pytest.raises(ValueError, match=r"'rat' is stored under the params key 'head_mouse'"):
        new_head_params(served, "mouse", 3, "parent")
    with pytest.raises(ValueError, match="--unfreeze-blocks must be at least 1"):
        FineTuneSpec(mode="unfreeze", unfreeze_blocks=0).check()
    for name in ("my.liver", "", "a b"):  # a module name cannot hold a dot
        with pytest.raises(ValueError, match="a head's name holds letters, digits"):
            FineTuneSpec(mode="probe", head=name).check()
    for name in ("keys", "train", "to"):  # before: a KeyError from torch after loading
        with pytest.raises(ValueError, match=f"'{name}' is a name torch keeps for itself"):
            FineTuneSpec(mode="probe", head=name).check()
    dotted = tmp_path / "dotted"  # a store whose genome cannot name a head
    shutil.copytree(world["held_out"], dotted)
    meta = json.loads((dotted / "dataset.json").read_text())
    (dotted / "dataset.json").write_text(json.dumps({**meta, "genome": "rheMac10.v2"}))
    with pytest.raises(ValueError, match=r"the genome 'rheMac10\.v2' of .*dotted, the new head's"):
        finetune(world["joint"], dotted, tmp_path / "z", spec)
    assert not (tmp_path / "z").exists()
    argv = ["finetune", "--model", str(world["joint"]), "--data", str(world["held_out"])]
    argv += ["--out", str(tmp_path / "y"), "--head-name", "liver", "--lora-rank", "4"]
    args = build_parser().parse_args(argv)
    with pytest.raises(
        ValueError,
        match=r"^--lora-rank \(--mode lora\): not an option of this run's --mode probe; drop it",
    ):
        args.run(args)
    # before: "--unfreeze-blocks, --lora-rank apply to --mode unfreeze only"
    args = build_parser().parse_args([*argv, "--unfreeze-blocks", "2"])
    with pytest.raises(ValueError) as caught:
        args.run(args)
    assert str(caught.value) == (
        "--unfreeze-blocks (--mode unfreeze), --lora-rank (--mode lora): not options of this "
        "run's --mode probe; drop them or set the --mode named"
    )
    assert not (tmp_path / "y").exists()
    assert finetune_module.FINETUNE_MODES == ("probe", "unfreeze", "lora")


@pytest.mark.parametrize("mode", ["unfreeze", "lora"])
def test_a_branch_trains_under_torchrun(world, sequences, tmp_path, mode):
    # two gloo processes fine-tune as one: the same first step (before the parent's Adam
    # can amplify rounding), the parent kept bitwise, the branch saved and reloaded
    _, x = sequences
    args = ["finetune", "--model", str(world["joint"]), "--data", str(world["held_out"])]
    args += ["--head-name", "liver", "--mode", mode]
    args += ["--unfreeze-blocks", "2"] if mode == "unfreeze" else ["--lora-rank", "2"]
    args += ["--learning-rate", str(LORA_RATE), "--batch-size", "4"]
    args += ["--max-epochs", "1", "--steps-per-epoch", "1", "--seed", "2", "--no-plots"]
    one_dir, two_dir = run_in_one_and_two_processes(args, tmp_path)
    added = assert_parent_kept(world["joint"], two_dir / "last", x)
    a = load_file(str(one_dir / "last" / "model.safetensors"))
    b = load_file(str(two_dir / "last" / "model.safetensors"))
    assert added and any(k.startswith("branches.liver.") for k in added)
    for key in added:
        torch.testing.assert_close(a[key], b[key], rtol=1e-4, atol=1e-6, msg=key)
    # the processes validate their shares of the windows; the sums make one process's figures
    rows = []
    for run in (one_dir, two_dir):
        with open(run / "metrics.csv") as handle:
            rows.append(list(csv.DictReader(handle)))
    for one, two in zip(*rows, strict=True):
        for key in ("train_loss", "valid_loss", "valid_pearson_r", "valid_r2"):
            assert float(two[key]) == pytest.approx(float(one[key]), rel=1e-4), key


def human_head_alone(joint: Path, out: Path, mouse_key: str) -> Path:
    """`joint`'s model with its human head alone, as ``crossreg train --finetune-epochs``
    saves ``finetune_human/``: its params keep the mouse head's entry (as `mouse_key`)."""
    model, config = load_checkpoint(joint)
    raw = copy.deepcopy(config.params)
    raw["model"][mouse_key] = raw["model"].pop("head_mouse")
    heads = {"human": "head_human"}
    human = SeqNN(parse_params(raw).model.select_heads(heads), gelu_form=config.gelu_form)
    kept = {k: v for k, v in model.state_dict().items() if not k.startswith("heads.mouse.")}
    human.load_state_dict(kept)
    targets = {"human": config.targets["human"]}
    return save_checkpoint(out, human, make_config(human, raw, targets, genomes=heads))


@pytest.mark.parametrize(
    ("mouse_key", "head_name"), [("head_mouse", []), ("head1_mouse", ["--head-name", "mouse"])]
)
def test_a_head_only_the_params_name_is_free_for_the_new_head(
    world, sequences, tmp_path, mouse_key, head_name
):
    # the parent has no mouse head, only its params entry: a new mouse head is no clash
    parent = human_head_alone(world["joint"], tmp_path / "parent", mouse_key)
    out = tmp_path / "ft"
    args = ["-q", "finetune", "--model", str(parent), "--data", str(world["mouse"])]
    assert main([*args, *head_name, "--out", str(out), *BRIEF]) == 0
    model, config = load_checkpoint(out / "best")
    assert model.genomes == ["human", "mouse"]
    assert config.genomes == {"human": "head_human", "mouse": "head_mouse"}
    mouse = DataStore(world["mouse"]).table
    assert [t.identifier for t in config.targets["mouse"]] == mouse.identifiers
    assert_parent_kept(parent, out / "best", sequences[1])


def evaluate(model: Path, data: Path, out: Path, *genome: str) -> list[dict[str, str]]:
    """The rows of ``metrics.tsv`` of ``crossreg evaluate`` (with `genome`'s options)."""
    argv = ["-q", "evaluate", "--model", str(model), "--data", str(data), *genome]
    assert main([*argv, "--out", str(out), "--no-plots"]) == 0
    with open(out / "metrics.tsv") as handle:
        return list(csv.DictReader(handle, delimiter="\t"))


def test_evaluate_scores_a_store_with_the_head_fine_tuned_on_it(world, tmp_path):
    out = tmp_path / "ft"
    args = ["-q", "finetune", "--model", str(world["joint"]), "--data", str(world["held_out"])]
    assert main([*args, "--head-name", "liver", "--out", str(out), *BRIEF]) == 0
    checkpoint = out / "best"
    # without --genome: the liver store by the liver head, the human store by the human one
    held = DataStore(world["held_out"]).table
    rows = evaluate(checkpoint, world["held_out"], tmp_path / "liver")
    assert [r["identifier"] for r in rows] == held.identifiers
    rows = evaluate(checkpoint, world["human"], tmp_path / "human")
    assert [r["identifier"] for r in rows] == DataStore(world["human"]).table.identifiers
    # a head of other tracks: the advice is to choose a head, not to change the model
    argv = ["evaluate", "--model", str(checkpoint), "--data", str(world["held_out"])]
    args = build_parser().parse_args([*argv, "--genome", "human", "--out", str(tmp_path / "x")])
    with pytest.raises(ValueError, match="hold different tracks; pass --genome") as error:
        args.run(args)
    assert "set the head's units" not in str(error.value)


def test_a_store_of_other_bins_is_refused_before_the_fine_tuning_is_announced(
    world, tmp_path, logs
):
    """The start line ("fine-tuning (probe) a new head ...") came before the refusal of a
    store of 32-bp bins, which needs the built model; it now comes once the store fits."""
    other = rebuilt_store(world["held_out"], tmp_path / "bins32", "--pool-width", "32")
    args = ["finetune", "--model", str(world["joint"]), "--head-name", "liver", *STEPS]
    with logs.at_level(logging.INFO, logger="crossreg"):
        assert main([*args, "--data", str(other), "--out", str(tmp_path / "refused")]) == 1
    assert "the model predicts 128-bp bins but dataset" in logs.text
    assert "32-bp target bins" in logs.text and "new head" not in logs.text
    logs.clear()
    with logs.at_level(logging.INFO, logger="crossreg"):
        assert main([*args, "--data", str(world["held_out"]), "--out", str(tmp_path / "ok")]) == 0
    assert "fine-tuning (probe) a new head 'liver' of" in logs.text


def test_a_resume_of_other_settings_is_refused_before_the_fine_tuning_is_announced(
    world, tmp_path, logs
):
    # before: "fine-tuning (lora) a new head 'liver' ..., training ..." came first, as if
    # the run had started, then the refusal
    out = run_finetune(world["joint"], world["held_out"], tmp_path / "run", "liver")
    args = ["finetune", "--model", str(world["joint"]), "--data", str(world["held_out"])]
    args += ["--head-name", "liver", "--out", str(out), "--resume", *STEPS]
    with logs.at_level(logging.INFO, logger="crossreg"):
        assert main([*args, "--mode", "lora"]) == 1
    assert "(--mode probe then, lora now)" in logs.text and "new head" not in logs.text
    logs.clear()
    with logs.at_level(logging.INFO, logger="crossreg"):
        assert main([*args, "--max-epochs", "3"]) == 0
    assert "resuming finetune phase after epoch 2" in logs.text
    assert "fine-tuning (probe) a new head 'liver' of" in logs.text


def import_basenji_human(out: Path) -> Path:
    """``crossreg import-basenji`` of the joint mini model's human file (Basenji's own
    output; its params train with Basenji2's SGD: rate 0.15, momentum 0.99, clip 2)."""
    argv = ["-q", "import-basenji", "--params", str(BASENJI / "params_joint_mini.json")]
    argv += ["--weights", str(BASENJI / "model0_best.h5"), "--genome", "human"]
    argv += ["--targets", str(BASENJI / "targets_human_mini.txt"), "--out", str(out)]
    assert main(argv) == 0
    return out


def test_a_head_on_imported_basenji2_weights_keeps_basenji_s_predictions(
    world, sequences, tmp_path
):
    # the docs' first example: a new head on Basenji2's weights (the joint mini model's
    # human file, Basenji's own output), trained on a store rebuilt to their 64-bp bins
    imported = import_basenji_human(tmp_path / "basenji2_human")
    options = ("--pool-width", "64", "--crop", "12")
    store = rebuilt_store(world["held_out"], tmp_path / "bins64", *options)
    extra = ("--mode", "unfreeze", "--unfreeze-blocks", "2")
    out = run_finetune(imported, store, tmp_path / "ft", "liver", *extra)
    assert_parent_kept(imported, out / "best", sequences[1])
    model, config = load_checkpoint(out / "best")
    assert model.genomes == ["human", "liver"]
    assert config.gelu_form == read_config(imported).gelu_form == "tanh"
    # the human head of the fine-tuned checkpoint still predicts what Basenji did
    fasta = tmp_path / "inputs.fa"
    shutil.copy(BASENJI / "inputs.fa", fasta)
    human = predict(out / "best", "human", fasta, tmp_path / "human.npy")
    expected = np.load(BASENJI / "preds_human_tanh.npy")
    np.testing.assert_allclose(human, expected, rtol=0, atol=1e-4)
    liver = predict(out / "best", "liver", fasta, tmp_path / "liver.npy")
    assert liver.shape == (4, expected.shape[1], DataStore(store).num_targets)


def test_lora_on_imported_basenji2_weights_does_not_take_the_parent_s_sgd_rate(
    world, tmp_path, logs
):
    # at the imported params' SGD (0.15, momentum 0.99) the adapters' training loss went
    # 1.6, 1.3, 0.6, 3.8, 0.6, 4.8, 64, 734, 151, 156, 28, 46 in these 12 steps (a mean of
    # 99) and NaN by step 22; without --learning-rate, lora takes at most 0.005 of SGD
    imported = import_basenji_human(tmp_path / "basenji2_human")
    options = ("--pool-width", "64", "--crop", "12", "--stride", "4096")
    store = rebuilt_store(world["held_out"], tmp_path / "bins64", *options)
    args = ["finetune", "--model", str(imported), "--data", str(store), "--no-plots"]
    args += ["--head-name", "liver", "--out", str(tmp_path / "ft"), "--mode", "lora"]
    with logs.at_level(logging.INFO, logger="crossreg"):
        assert main([*args, "--max-epochs", "1", "--steps-per-epoch", "12", "--seed", "2"]) == 0
    assert "--mode lora trains the adapters at learning rate 0.005, not the parent's" in logs.text
    assert read_config(tmp_path / "ft" / "best").params["train"]["learning_rate"] == 0.005
    with open(tmp_path / "ft" / "metrics.csv") as handle:
        (row,) = csv.DictReader(handle)
    assert int(row["steps"]) == 12 and float(row["train_loss"]) < 2, row


@pytest.mark.parametrize(
    ("mode", "train", "rate"),
    [
        ("lora", {"optimizer": "sgd", "learning_rate": 0.15}, 0.005),
        ("lora", {"optimizer": "Momentum", "learning_rate": 0.05}, 0.005),
        ("lora", {"learning_rate": 0.05}, 0.005),  # Basenji's default optimiser: SGD
        ("lora", {"optimizer": "sgd"}, 0.005),  # the default rate, 0.01
        ("lora", {"optimizer": "sgd", "learning_rate": 0.005}, None),
        ("lora", {"optimizer": "sgd", "learning_rate": 0.001}, None),
        ("lora", {"optimizer": "adam", "learning_rate": 0.002}, None),
        ("probe", {"optimizer": "sgd", "learning_rate": 0.15}, None),
        ("unfreeze", {"optimizer": "sgd", "learning_rate": 0.15}, None),
    ],
)
def test_only_lora_of_an_sgd_parent_leaves_the_parent_s_rate(mode, train, rate):
    # the adapters train ahead of frozen batch norm; the head and a copy of trunk blocks
    # (batch norm training) keep the parent's rate, as Adam does (None: the parent's)
    assert default_learning_rate(FineTuneSpec(mode=mode), train) == rate


def test_the_frozen_trunk_stays_bitwise_under_bf16_and_channels_last(world, sequences, tmp_path):
    # the options that change how the trunk runs (bf16 autocast, the channels-last
    # layout) leave the frozen trunk's weights and moving statistics as they were
    extra = ("--mode", "lora", "--lora-rank", "2", "--bf16", "--trunk-layout", "channels-last")
    out = run_finetune(world["joint"], world["held_out"], tmp_path / "ft", "liver", *extra)
    added = assert_parent_kept(world["joint"], out / "last", sequences[1])
    assert added and all(k.startswith(("heads.liver.", "branches.liver.")) for k in added)


def test_a_new_head_may_repeat_a_head_s_track_identifiers(world, tmp_path):
    # a second head on the human head's own tracks: the identifiers repeat, each head
    # keeps its own, and the store is scored by the head fine-tuned on it
    out = tmp_path / "ft"
    args = ["-q", "finetune", "--model", str(world["joint"]), "--data", str(world["human"])]
    assert main([*args, "--head-name", "human2", "--out", str(out), *BRIEF]) == 0
    config = read_config(out / "best")
    tracks = {h: [t.identifier for t in config.targets[h]] for h in ("human", "human2")}
    assert tracks["human"] == tracks["human2"] == DataStore(world["human"]).table.identifiers
    rows = evaluate(out / "best", world["human"], tmp_path / "eval")
    assert json.loads((tmp_path / "eval" / "summary.json").read_text())["head"] == "human2"
    assert [r["identifier"] for r in rows] == tracks["human"]


def test_a_spec_or_options_of_another_kind_are_a_type_error_before_any_work(tmp_path):
    # before: "'dict' object has no attribute 'check'" (or 'device') from inside
    model, data, out = tmp_path / "model", tmp_path / "data", tmp_path / "x"
    with pytest.raises(TypeError, match=r"spec must be of type FineTuneSpec, e.g. FineTuneSpec\("):
        finetune(model, data, out, {"mode": "probe"})
    message = r"options must be of type TrainOptions, e.g. TrainOptions\(max_epochs=10\), not dict"
    with pytest.raises(TypeError, match=message):
        finetune(model, data, out, FineTuneSpec(mode="probe"), {"max_epochs": 1})
    with pytest.raises(TypeError, match=message):
        train(tmp_path / "params.json", [data], out, {"max_epochs": 1})
    assert sorted(tmp_path.iterdir()) == []
