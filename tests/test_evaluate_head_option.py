"""``crossreg evaluate`` names the head's option as the user typed it (``--head`` or its
other spelling ``--genome``) in the messages that tell what to change: a resume with
another head, and a head whose tracks are not the store's."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from crossreg.cli import main
from crossreg.data.store import DataStore
from crossreg.evaluate import checkpoint as checkpoint_module
from crossreg.model.checkpoint import make_config, save_checkpoint
from crossreg.model.params import parse_params
from crossreg.model.seqnn import SeqNN
from tests.pipeline import small_params
from tests.test_evaluate_resume import stop_at_call


@pytest.fixture(scope="module")
def model(tmp_path_factory, stores) -> Path:
    """An untrained checkpoint of three heads: ``human`` and ``rat`` of the human store's
    tracks, ``short`` of all but its last."""
    targets = list(DataStore(stores["human"]).table.targets)
    heads = {"human": targets, "rat": targets, "short": targets[:-1]}
    params = small_params({name: len(tracks) for name, tracks in heads.items()})
    torch.manual_seed(0)
    seqnn = SeqNN(parse_params(params).model)
    folder = tmp_path_factory.mktemp("head_option") / "model"
    save_checkpoint(folder, seqnn, make_config(seqnn, params, heads))
    return folder


@pytest.mark.parametrize("spelling", ["--head", "--genome"])
def test_a_resume_with_another_head_names_the_option_as_typed(
    model, stores, tmp_path, monkeypatch, logs, spelling
):
    out = tmp_path / "out"
    argv = ["evaluate", "--model", str(model), "--data", str(stores["human"])]
    argv += ["--out", str(out), "--batch-size", "2"]
    with monkeypatch.context() as patch:
        patch.setattr(checkpoint_module, "SAVE_SECONDS", 0.0)
        stop_at_call(patch, checkpoint_module.Checkpoint, "save", 1, after=True)
        assert main([*argv, spelling, "human"]) == 130
    assert main([*argv, spelling, "rat", "--resume"]) == 1
    assert f"other settings ({spelling} human then, rat now)" in logs.text


@pytest.mark.parametrize("spelling", ["--head", "--genome"])
def test_a_head_of_other_tracks_is_told_to_change_the_option_as_typed(
    model, stores, tmp_path, logs, spelling
):
    argv = ["evaluate", "--model", str(model), "--data", str(stores["human"])]
    assert main([*argv, spelling, "short", "--out", str(tmp_path / "out")]) == 1
    assert f"hold different tracks; pass {spelling} naming a head" in logs.text
