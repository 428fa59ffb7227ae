"""Cross-species transfer at TSSs: TSS placement, pairing, normalisation and the command."""

from __future__ import annotations

import json

import numpy as np
import polars as pl
import pytest
import torch

from crossreg.cli import build_parser
from crossreg.data.loader import codes_to_one_hot
from crossreg.data.store import DataStore
from crossreg.evaluate.transfer import predict_at, transfer_table, tss_bins
from crossreg.io.gtf import GtfRecord, gene_tss, read_gtf
from crossreg.model.checkpoint import make_config, save_checkpoint
from crossreg.model.geometry import crop_to_targets
from crossreg.model.inference import InferenceOptions
from crossreg.model.params import parse_params
from crossreg.model.seqnn import SeqNN
from tests.pipeline import build_tiny_stores, small_params


def _record(feature: str, start: int, end: int, strand: str, gene: str) -> GtfRecord:
    return GtfRecord("chr1", "t", feature, start, end, ".", strand, ".", {"gene_id": gene})


def test_gene_tss_is_strand_aware():
    records = [
        _record("gene", 100, 500, "+", "A"),
        _record("transcript", 100, 500, "+", "A"),
        _record("transcript", 150, 500, "+", "A"),
        _record("transcript", 1000, 2000, "-", "B"),
        _record("gene", 3000, 4000, "-", "C"),  # no transcript record: the gene's end
    ]
    assert gene_tss(records) == {
        "A": [("chr1", 100), ("chr1", 150)],
        "B": [("chr1", 1999)],
        "C": [("chr1", 3999)],
    }


def test_transfer_table_pairs_by_description_and_normalises_per_experiment():
    rng = np.random.default_rng(0)
    specificity = rng.normal(size=(50, 3))
    gene_level = rng.normal(scale=2.0, size=(50, 1))
    measured = np.expm1(specificity + gene_level + 12)
    # the head sees the tissue pattern but not the gene's overall level, in another order
    predicted = np.expm1(specificity[:, [2, 0, 1]] + 12)
    table = transfer_table(
        measured,
        predicted,
        ["hs_CAGE_liver", "hs_CAGE_kidney", "hs_CAGE_blood"],
        ["CAGE:liver", "CAGE:kidney", "CAGE:blood"],
        ["CAGE:blood", "CAGE:liver", "CAGE:kidney", "DNASE:liver"],
    )
    assert table["identifier"].to_list() == ["hs_CAGE_liver", "hs_CAGE_kidney", "hs_CAGE_blood"]
    assert (table["pearson_r"] < 0.7).all()  # the gene level dominates the raw values
    np.testing.assert_allclose(table["pearson_r_normalised"].to_numpy(), 1.0)
    with pytest.raises(ValueError, match="no track of the head"):
        transfer_table(measured, predicted, ["a"] * 3, ["X:1", "X:2", "X:3"], ["Y:1"])


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    root = tmp_path_factory.mktemp("transfer")
    stores = build_tiny_stores(root)
    tracks = {g: DataStore(p).num_targets for g, p in stores.items()}
    params = small_params(tracks)
    torch.manual_seed(0)
    model = SeqNN(parse_params(params).model)
    targets = {g: list(DataStore(p).table.targets) for g, p in stores.items()}
    save_checkpoint(root / "model", model, make_config(model, params, targets))
    return root, stores, model


def test_tss_bins_place_each_gene_once_in_its_bin(world):
    root, stores, _ = world
    store = DataStore(stores["human"])
    records = read_gtf(root / "synth" / "human" / "genes.gtf")
    sites = tss_bins(store, "train", records)
    assert sites and len({s.gene_id for s in sites}) == len(sites)
    windows = store.windows("train")
    tss = gene_tss(records)
    for s in sites:
        first = windows[s.row].start + store.metadata["crop_bp"] + s.bin * store.pool_width
        assert any(first <= pos < first + store.pool_width for _, pos in tss[s.gene_id])


def test_transfer_command_predicts_at_the_tss_bins(world, capsys):
    root, stores, model = world
    out = root / "mouse_on_human"
    argv = ["transfer", "--model", str(root / "model"), "--head", "mouse", "--data"]
    argv += [str(stores["human"]), "--gtf", str(root / "synth" / "human" / "genes.gtf")]
    args = build_parser().parse_args([*argv, "--split", "train", "--out", str(out)])
    assert args.run(args) == 0
    table = pl.read_csv(out / "transfer.tsv", separator="\t")
    summary = json.loads((out / "summary.json").read_text())
    assert summary["head"] == "mouse" and summary["tss"] == table["tss"][0] > 2
    # every paired track is a human track whose description a mouse track shares
    mouse = {t.description for t in DataStore(stores["mouse"]).table.targets}
    assert set(table["description"]) == mouse & set(DataStore(stores["human"]).table.descriptions)
    assert "mouse head on human CAGE" in capsys.readouterr().out
    # the predictions it used: the model's, at those bins (reference computed directly)
    store = DataStore(stores["human"])
    sites = tss_bins(store, "train", read_gtf(root / "synth" / "human" / "genes.gtf"))
    model.eval()
    with torch.inference_mode():
        x = codes_to_one_hot(torch.from_numpy(store.sequences("train")[[s.row for s in sites]]))
        pred = crop_to_targets(model(x, "mouse"), store.target_length).numpy()
    got = predict_at(model, store, "train", sites, "mouse", InferenceOptions(batch_size=3))
    np.testing.assert_allclose(got, pred[np.arange(len(sites)), [s.bin for s in sites]], atol=1e-5)
