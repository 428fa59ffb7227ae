"""Cross-validation on the folds of ``crossreg split --folds K``: a store of folds trains
one model per choice of validation and test fold, on the other folds."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import numpy as np
import pytest

from crossreg.cli import main
from crossreg.data.dataset import SplitDataset
from crossreg.data.store import DataStore
from crossreg.evaluate.accuracy import evaluate_model
from crossreg.evaluate.defaults import default_split
from crossreg.model.checkpoint_info import CheckpointInfo, checkpoint_info
from crossreg.train.folds import TrainingSplits, training_splits
from tests.pipeline import CROP_BINS, SEQ_LENGTH, small_params


@pytest.fixture(scope="module")
def fold_stores(tmp_path_factory, stores) -> dict[str, Path]:
    """The tiny world's human genome split into 3 folds by synteny, as a plain store and
    as one of compressed targets."""
    root = tmp_path_factory.mktemp("folds")
    synth = stores["human"].parent / "synth"
    manifest = json.loads((synth / "manifest.json").read_text())
    args = ["-q", "split", "--out", str(root / "split"), "--folds", "3"]
    args += ["--region-size", "50000", "--min-aligned", "10000"]
    for name, files in manifest["genomes"].items():
        args += ["--sizes", f"{name}={synth / files['sizes']}"]
    for net in manifest["nets"]:
        args += ["--net", f"{','.join(net['genomes'])}={synth / net['file']}"]
    assert main(args) == 0
    files = manifest["genomes"]["human"]
    args = ["-q", "data", "--genome", "human"]
    args += ["--fasta", str(synth / files["fasta"]), "--targets", str(synth / files["targets"])]
    args += ["--regions", str(root / "split" / "human.regions.bed")]
    args += ["--seq-length", str(SEQ_LENGTH), "--stride", "4096", "--crop", str(CROP_BINS)]
    assert main([*args, "--out", str(root / "plain")]) == 0
    assert main([*args, "--out", str(root / "compressed"), "--compress-targets", "1"]) == 0
    return {"plain": root / "plain", "compressed": root / "compressed"}


@pytest.fixture
def fold_store(fold_stores: dict[str, Path]) -> Path:
    return fold_stores["plain"]


def test_the_splits_trained_and_validated_on():
    folds = ["fold0", "fold1", "fold2", "fold3"]
    assert training_splits(["train", "valid", "test"], None, None, source="s") == TrainingSplits(
        ("train",), "valid"
    )
    assert training_splits(folds, "fold2", "fold0", source="s") == TrainingSplits(
        ("fold1", "fold3"), "fold2"
    )
    for valid, test, message in (
        (None, None, r"holds the folds fold0, .* --valid-fold fold0 --test-fold fold3\)"),
        ("fold1", None, "--valid-fold needs --test-fold too"),
        (None, "fold1", "--test-fold needs --valid-fold too"),
        ("fold1", "fold9", "--test-fold fold9: dataset s has no such fold; it has fold0, "),
        ("fold1", "fold1", "both fold1: choose two folds"),
    ):
        with pytest.raises(ValueError, match=message):
            training_splits(folds, valid, test, source="s")
    with pytest.raises(ValueError, match=r"holds no folds .* drop the two options"):
        training_splits(["train", "valid", "test"], "fold0", "fold1", source="s")
    with pytest.raises(ValueError, match="none left to train on; split into 3 folds or more"):
        training_splits(folds[:2], "fold0", "fold1", source="s")


@pytest.mark.parametrize("kind", ["plain", "compressed"])
def test_a_dataset_of_several_splits_reads_them_one_after_another(fold_stores, kind):
    store = DataStore(fold_stores[kind])
    parts = [SplitDataset(store, name, sequence="codes") for name in ("fold2", "fold0")]
    joined = SplitDataset(store, ["fold2", "fold0"], sequence="codes")
    assert len(joined) == sum(map(len, parts)) > len(parts[0]) > 0
    assert joined.split == "fold2+fold0"
    whole = joined.batch(np.arange(len(joined)))
    for key in ("sequence", "targets"):
        expected = np.concatenate([p.batch(np.arange(len(p)))[key].numpy() for p in parts])
        np.testing.assert_array_equal(whole[key].numpy(), expected)
    ranges = [store.splits[name] for name in ("fold2", "fold0")]
    rows = np.concatenate([np.arange(r["offset"], r["offset"] + r["count"]) for r in ranges])
    np.testing.assert_array_equal(store.rows_of(["fold2", "fold0"]), rows)
    np.testing.assert_array_equal(np.asarray(store.all_targets()[rows]), whole["targets"].numpy())
    with pytest.raises(ValueError, match="give the split to read"):
        SplitDataset(store, [])


def test_a_fold_model_trains_on_the_other_folds_and_validates_on_its_own(
    fold_store, tmp_path, capsys
):
    params = tmp_path / "params.json"
    params.write_text(json.dumps(small_params({"human": DataStore(fold_store).num_targets})))
    base = ["-q", "train", "--params", str(params), "--data", str(fold_store), "--max-epochs", "1"]
    assert main([*base, "--out", str(tmp_path / "plain")]) == 1  # a store of folds: choose
    assert "holds the folds fold0, fold1, fold2 of crossreg split" in capsys.readouterr().err
    assert not (tmp_path / "plain").exists()
    out = tmp_path / "fold1"
    assert main([*base, "--valid-fold", "fold1", "--test-fold", "fold2", "--out", str(out)]) == 0
    options = json.loads((out / "train_options.json").read_text())
    assert (options["valid_fold"], options["test_fold"]) == ("fold1", "fold2")
    assert (out / "best").is_dir()
    rows = (out / "metrics.csv").read_text().splitlines()
    assert len(rows) == 2  # a header and the one epoch
    evaluate = ["evaluate", "--model", str(out / "best"), "--data", str(fold_store)]
    assert main(["-q", *evaluate, "--split", "fold2", "--out", str(tmp_path / "eval")]) == 0
    # no --split: the fold the model held out, not 'test' (which a store of folds lacks)
    assert main([*evaluate, "--no-plots", "--out", str(tmp_path / "held_out")]) == 0
    said = f"no --split: scoring fold2, the fold {out / 'best'} was trained to hold out"
    assert said in capsys.readouterr().err
    assert json.loads((tmp_path / "held_out" / "summary.json").read_text())["split"] == "fold2"
    evaluate_model(out / "best", fold_store, tmp_path / "api", plots=False)  # as the command
    assert json.loads((tmp_path / "api" / "summary.json").read_text())["split"] == "fold2"
    runs = ("eval", "held_out", "api")
    metrics = [(tmp_path / name / "metrics.tsv").read_bytes() for name in runs]
    assert metrics[0] == metrics[1] == metrics[2]
    # a resume must hold out the same folds
    again = [*base, "--max-epochs", "2", "--resume", "--out", str(out)]
    assert main([*again, "--valid-fold", "fold0", "--test-fold", "fold2"]) == 1
    assert (
        "was trained with other settings (--valid-fold fold1 then, fold0 now)"
        in capsys.readouterr().err
    )
    assert main([*again, "--valid-fold", "fold1", "--test-fold", "fold2"]) == 0


def test_evaluate_scores_the_held_out_fold_where_the_store_has_it(fold_store, logs):
    store = DataStore(fold_store)

    def held_out(fold: str | None) -> str:
        return default_split(
            CheckpointInfo(Path("m"), {}, {"train_options": {"test_fold": fold}}), store, "human"
        )

    assert held_out("fold0") == "fold0"
    assert "no --split: scoring fold0, the fold m was trained to hold out" in logs.text
    # a model trained on train/valid/test, or one whose fold this store lacks: its test split
    assert held_out(None) == "test"
    assert default_split(CheckpointInfo(Path("m"), {}), store, "human") == "test"
    assert held_out("fold7") == "test"
    assert f"to hold out the fold fold7 for its head 'human', which {fold_store} does not have" in (
        logs.text
    )


def test_a_fine_tuned_checkpoints_folds_are_each_heads_own(fold_store, tmp_path, logs):
    """Fine-tuning records, per head, the fold held out in training it: the parent's heads
    keep their parent's (scoring one on the fine-tuning's test fold would score windows
    it was trained on), the new head has its own; a fine-tuned checkpoint recorded before
    the per-head record gives its parent's heads the split test (which --split replaces)."""
    store = DataStore(fold_store)
    params = tmp_path / "params.json"
    params.write_text(json.dumps(small_params({"human": store.num_targets})))
    folds = ["--data", str(fold_store), "--valid-fold", "fold1", "--test-fold", "fold2"]
    brief = ["--max-epochs", "1", "--steps-per-epoch", "2", "--no-plots"]
    assert (
        main(["-q", "train", "--params", str(params), *folds, *brief, "--out", str(tmp_path / "p")])
        == 0
    )
    tune = ["-q", "finetune", "--model", str(tmp_path / "p" / "best"), "--data", str(fold_store)]
    tune += ["--valid-fold", "fold2", "--test-fold", "fold0", "--head-name", "tuned", *brief]
    assert main([*tune, "--out", str(tmp_path / "t")]) == 0
    info = checkpoint_info(tmp_path / "t" / "best")
    assert info.extra["held_out_folds"] == {"human": "fold2", "tuned": "fold0"}
    assert default_split(info, store, "human") == "fold2"
    assert default_split(info, store, "tuned") == "fold0"
    before = {"train_options": {"test_fold": "fold0"}, "finetune": {"head": "tuned"}}
    older = CheckpointInfo(Path("m"), {}, before)
    assert default_split(older, store, "tuned") == "fold0"
    with logs.at_level(logging.INFO, logger="crossreg"):  # -q above quietened the log
        assert default_split(older, store, "human") == "test"
    assert "m records no fold held out in training its head 'human'" in logs.text
