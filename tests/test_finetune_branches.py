"""Heads with their own path through the trunk's tail (crossreg.model.branches) on a tiny
model: the other heads compute exactly what they did, the branched head what a plain model
with its tail (or its adapted weights) computes, and checkpoints keep both."""

from __future__ import annotations

import json

import pytest
import torch

from crossreg.io.targets import Target
from crossreg.model.branches import BranchSpec
from crossreg.model.checkpoint import load_checkpoint, make_config, save_checkpoint
from crossreg.model.params import parse_params
from crossreg.model.seqnn import SeqNN
from tests.pipeline import SEQ_LENGTH, small_params

TRACKS = {"human": 3, "mouse": 2, "liver": 2}


def tiny(seed: int = 0) -> tuple[SeqNN, dict]:
    raw = small_params(TRACKS)
    model = SeqNN(parse_params(raw).model, generator=torch.Generator().manual_seed(seed))
    return model.eval(), raw


def windows(n: int = 2, seed: int = 1) -> torch.Tensor:
    codes = torch.randint(0, 4, (n, SEQ_LENGTH), generator=torch.Generator().manual_seed(seed))
    return torch.nn.functional.one_hot(codes, 4).float()


def plant(module: torch.nn.Module, seed: int, scale: float = 0.05) -> None:
    """Move every parameter of `module` by noise, as training would."""
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for parameter in module.parameters():
            parameter.add_(scale * torch.randn(parameter.shape, generator=generator))


def predictions(model: SeqNN, x: torch.Tensor) -> dict[str, torch.Tensor]:
    with torch.no_grad():
        return {genome: model(x, genome) for genome in model.genomes}


def last_block(model: SeqNN) -> int:
    return max(i for i, m in enumerate(model.trunk) if any(True for _ in m.parameters()))


def test_a_blocks_branch_is_the_head_s_own_tail(tmp_path):
    model, raw = tiny()
    x = windows()
    before = predictions(model, x)
    start = last_block(model) - 1
    branch = model.add_branch("mouse", BranchSpec("blocks", start))
    assert torch.equal(model(x, "mouse"), before["mouse"])  # a copy: nothing changed yet
    plant(branch, seed=3)
    after = predictions(model, x)
    assert torch.equal(after["human"], before["human"])
    assert torch.equal(after["liver"], before["liver"])
    assert not torch.equal(after["mouse"], before["mouse"])
    # a plain model whose trunk tail is the branch's blocks predicts the branched head
    plain = SeqNN(parse_params(raw).model).eval()
    state = {k: v for k, v in model.state_dict().items() if not k.startswith("branches.")}
    for key, tensor in branch.state_dict().items():
        state[f"trunk.{key.removeprefix('blocks.')}"] = tensor
    plain.load_state_dict(state)
    with torch.no_grad():
        assert torch.equal(plain(x, "mouse"), after["mouse"])


def test_an_adapter_branch_is_the_head_s_adapted_trunk():
    model, raw = tiny()
    x = windows()
    before = predictions(model, x)
    branch = model.add_branch(
        "liver", BranchSpec("lora", 0, rank=2, alpha=4.0), torch.Generator().manual_seed(5)
    )
    assert torch.equal(model(x, "liver"), before["liver"])  # `up` starts at zero
    plant(branch, seed=4)
    after = predictions(model, x)
    assert torch.equal(after["human"], before["human"])
    assert torch.equal(after["mouse"], before["mouse"])
    assert not torch.equal(after["liver"], before["liver"])
    # a plain model whose convolutions hold W + (alpha / rank) · up @ down
    plain = SeqNN(parse_params(raw).model).eval()
    state = {k: v for k, v in model.state_dict().items() if not k.startswith("branches.")}
    adapted = 0
    for index, deltas in branch.adapters.items():
        for name, delta in deltas.items():
            key = f"trunk.{index}.{name.replace('-', '.')}.weight"
            low_rank = (delta.up @ delta.down).view_as(state[key])
            state[key] = state[key] + 2.0 * low_rank
            adapted += 1
    assert adapted == sum(isinstance(m, torch.nn.Conv1d) for m in model.trunk.modules())
    plain.load_state_dict(state)
    with torch.no_grad():
        assert torch.equal(plain(x, "liver"), after["liver"])


def test_the_other_heads_never_run_a_branch():
    model, _ = tiny()
    x = windows(1)
    before = predictions(model, x)
    model.add_branch("mouse", BranchSpec("blocks", 2))
    model.add_branch("liver", BranchSpec("lora", 1, rank=1, alpha=1.0))
    calls = []
    for genome, branch in model.branches.items():
        branch.register_forward_hook(lambda *_, g=genome: calls.append(g))
        with torch.no_grad():
            for parameter in branch.parameters():
                parameter.fill_(float("nan"))
    with torch.no_grad():
        assert torch.equal(model(x, "human"), before["human"])
        assert calls == []
        assert model(x, "mouse").isnan().all() and calls == ["mouse"]
        assert model(x, "liver").isnan().all() and calls == ["mouse", "liver"]


def test_branches_are_saved_unmerged_and_loaded(tmp_path):
    model, raw = tiny()
    model.add_branch("mouse", BranchSpec("blocks", last_block(model)))
    model.add_branch("liver", BranchSpec("lora", 3, rank=2, alpha=2.0))
    plant(model.branches, seed=6)
    targets = {
        g: [Target(i, f"{g}{i}", ("x.bw",), 32.0, 1.0, "sum", f"CAGE:{g}") for i in range(n)]
        for g, n in TRACKS.items()
    }
    folder = save_checkpoint(tmp_path / "ckpt", model, make_config(model, raw, targets))
    config = json.loads((folder / "config.json").read_text())
    assert config["branches"] == {
        "mouse": {"kind": "blocks", "start": last_block(model)},
        "liver": {"kind": "lora", "start": 3, "rank": 2, "alpha": 2.0},
    }
    assert config["format_version"] == 2  # a crossreg without branches refuses it by version
    loaded, _ = load_checkpoint(folder)
    assert loaded.state_dict().keys() == model.state_dict().keys()
    x = windows()
    got = predictions(loaded, x)
    for genome, expected in predictions(model, x).items():
        assert torch.equal(got[genome], expected), genome

    config["branches"]["mouse"]["kind"] = "copy"
    (folder / "config.json").write_text(json.dumps(config))
    with pytest.raises(ValueError, match=r"config.json: .*branch kind 'copy' is unknown"):
        load_checkpoint(folder)
    config["branches"] = {"rat": {"kind": "blocks", "start": 1}}
    (folder / "config.json").write_text(json.dumps(config))
    with pytest.raises(ValueError, match=r"config.json: branches for rat, which have no head"):
        load_checkpoint(folder)
    config["branches"] = [{"kind": "blocks", "start": 1}]
    (folder / "config.json").write_text(json.dumps(config))
    with pytest.raises(ValueError, match=r"config.json: 'branches' must be an object"):
        load_checkpoint(folder)


def test_an_ordinary_model_has_no_branch_state():
    model, _ = tiny()
    assert model.branch_specs == {}
    assert not any(k.startswith("branches.") for k in model.state_dict())
    with pytest.raises(ValueError, match="outside the trunk's"):
        model.add_branch("human", BranchSpec("blocks", len(model.trunk)))
    with pytest.raises(ValueError, match="no head for genome 'rat'"):
        model.add_branch("rat", BranchSpec("blocks", 1))
