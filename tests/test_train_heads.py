"""Which params head trains on which dataset: the head of the dataset's genome, or the one
``--head GENOME=HEAD`` names; anything else stops before training."""

from __future__ import annotations

import csv
import json
import logging
import shutil
from pathlib import Path

import pytest

from crossreg.cli import main
from crossreg.data.store import DataStore
from crossreg.model.checkpoint import load_checkpoint, read_config
from crossreg.model.params import parse_params
from crossreg.train.heads import dataset_heads, head_map
from crossreg.train.options import TrainOptions
from crossreg.train.trainer import train
from tests.pipeline import small_params


@pytest.fixture(scope="module")
def mouse_params(tmp_path_factory, stores) -> Path:
    """Params whose only head is head_mouse, sized for the human store's tracks."""
    path = tmp_path_factory.mktemp("params") / "params.json"
    path.write_text(json.dumps(small_params({"mouse": DataStore(stores["human"]).num_targets})))
    return path


def test_a_store_without_its_head_stops_before_training(tmp_path, stores, mouse_params, logs):
    out = tmp_path / "run"
    args = ["train", "--params", str(mouse_params), "--data", str(stores["human"])]
    with logs.at_level(logging.ERROR, logger="crossreg"):
        assert main([*args, "--out", str(out), "--max-epochs", "1"]) == 1
    assert "no head for genome(s) human" in logs.text
    assert "the params define head_mouse" in logs.text
    assert "--head human=head_mouse" in logs.text
    assert not out.exists()
    with pytest.raises(ValueError, match=r"params.json: no head for genome\(s\) human"):
        train(mouse_params, [stores["human"]], out, TrainOptions(max_epochs=1))
    assert not out.exists()


@pytest.mark.parametrize("head", ["mouse", "head_mouse"])
def test_an_explicit_head_trains_and_the_checkpoint_names_the_store_genome(
    tmp_path, stores, mouse_params, head
):
    out = tmp_path / "run"
    args = ["-q", "train", "--params", str(mouse_params), "--data", str(stores["human"])]
    args += ["--head", f"human={head}", "--out", str(out), "--max-epochs", "1"]
    assert main([*args, "--steps-per-epoch", "2", "--batch-size", "2"]) == 0
    with open(out / "metrics.csv") as handle:
        rows = list(csv.DictReader(handle))
    assert [(r["epoch"], r["genome"], r["steps"]) for r in rows] == [("1", "human", "2")]
    for checkpoint in ("best", "last"):
        config = read_config(out / checkpoint)
        assert config.genomes == {"human": "head_mouse"}
        assert list(config.targets) == ["human"]
        model, _ = load_checkpoint(out / checkpoint)
        assert model.genomes == ["human"]
        assert model.num_targets("human") == DataStore(stores["human"]).num_targets
    assert json.loads((out / "train_options.json").read_text())["heads"] == {"human": head}


def test_head_map_by_name_and_by_choice():
    params = parse_params(small_params({"human": 3, "mouse": 4}), "p.json")
    assert head_map(params, ["mouse", "human"]) == {"mouse": "head_mouse", "human": "head_human"}
    assert head_map(params, ["dog"], {"dog": "mouse"}) == {"dog": "head_mouse"}
    assert head_map(params, ["dog", "human"], {"dog": "head_mouse"}) == {
        "dog": "head_mouse",
        "human": "head_human",
    }
    # a chosen head overrides the one of the genome's name
    assert head_map(params, ["human"], {"human": "mouse"}) == {"human": "head_mouse"}


@pytest.mark.parametrize(
    ("genomes", "explicit", "message"),
    [
        (["dog"], {}, r"p.json: no head for genome\(s\) dog .*define head_human, head_mouse"),
        (["dog"], {"dog": "cat"}, r"p.json: --head dog=cat: .*no head 'cat'.*head_human"),
        (["human"], {"dog": "mouse"}, r"--head dog=mouse: no dataset is of genome 'dog'"),
        (["dog", "mouse"], {"dog": "mouse"}, r"head head_mouse would serve genomes dog and mouse"),
    ],
)
def test_head_map_refuses_what_it_cannot_pair(genomes, explicit, message):
    params = parse_params(small_params({"human": 3, "mouse": 4}), "p.json")
    with pytest.raises(ValueError, match=message):
        head_map(params, genomes, explicit)


def test_two_stores_of_one_genome_are_named_by_their_paths():
    params = parse_params(small_params({"human": 3, "mouse": 4}), "p.json")
    genomes, paths = ["human", "mouse", "human"], ["data/hg38", "data/mm10", "data/hg19"]
    with pytest.raises(ValueError, match=r"datasets data/hg38 and data/hg19 are both of genome"):
        dataset_heads(params, genomes, sources=paths)
    with pytest.raises(ValueError, match=r"datasets #1 and #3 are both of genome human: .*once"):
        dataset_heads(params, genomes)


def test_cli_head_option_is_checked(tmp_path, capsys):
    args = ["train", "--params", "p.json", "--data", "d", "--out", str(tmp_path)]
    with pytest.raises(SystemExit):
        main([*args, "--head", "human"])
    assert "expected GENOME=HEAD" in capsys.readouterr().err


def test_a_genome_named_as_the_joint_phase_is_refused_when_fine_tuning(tmp_path, stores, logs):
    """A store of genome 'joint' beside another would fine-tune in a phase named as the
    joint one, taken for it and skipped (no finetune_joint/): refused before training, by
    the command line and by the Python call, naming the store."""
    joint = Path(shutil.copytree(stores["human"], tmp_path / "data_joint"))
    meta = json.loads((joint / "dataset.json").read_text())
    (joint / "dataset.json").write_text(json.dumps({**meta, "genome": "joint"}))
    data = [joint, stores["mouse"]]
    params = tmp_path / "params.json"
    params.write_text(
        json.dumps(small_params({g: DataStore(stores[g]).num_targets for g in stores}))
    )
    out = tmp_path / "run"
    args = ["-q", "train", "--params", str(params), "--head", "joint=human"]
    args += ["--data", str(joint), "--data", str(stores["mouse"]), "--out", str(out)]
    args += ["--max-epochs", "1", "--steps-per-epoch", "1", "--batch-size", "2"]
    with logs.at_level(logging.ERROR, logger="crossreg"):
        assert main([*args, "--finetune-epochs", "1"]) == 1
    assert f"dataset {joint} is of genome 'joint', the name of the joint" in logs.text
    assert not out.exists()
    options = TrainOptions(max_epochs=1, steps_per_epoch=1, batch_size=2, finetune_epochs=1)
    options.heads = {"joint": "human"}
    with pytest.raises(ValueError, match="never run; rebuild the store with another"):
        train(params, data, out, options)
    assert not out.exists()
