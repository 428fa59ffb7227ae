"""Metrics tables, per-assay summaries and the joint-vs-single comparison."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import polars as pl
import pytest
import torch

from crossreg.cli import main
from crossreg.data.store import DataStore
from crossreg.evaluate.accuracy import evaluate_model
from crossreg.evaluate.compare import compare_by_assay, paired_tracks
from crossreg.evaluate.table import (
    assay_summary,
    mean_r2,
    metrics_table,
    read_metrics,
    write_metrics,
)
from crossreg.model.checkpoint import make_config, save_checkpoint
from crossreg.model.params import parse_params
from crossreg.model.seqnn import SeqNN
from crossreg.plots import joint_vs_single_scatter
from crossreg.runlog import RUNS_FILE
from tests.pipeline import untrained_checkpoint


def table(r: list[float], descriptions: list[str]) -> pl.DataFrame:
    ids = [f"T{i}" for i in range(len(r))]
    return metrics_table(ids, descriptions, np.array(r), np.array(r) ** 2)


def test_metrics_round_trip_and_summary(tmp_path):
    t = table([0.5, 0.7, 0.2], ["DNASE:liver", "DNASE:lung", "CAGE:liver, adult"])
    path = tmp_path / "metrics.tsv"
    write_metrics(path, t)
    assert path.read_text().splitlines()[0] == "identifier\tdescription\tpearson_r\tr2"
    back = read_metrics(path)
    assert back.equals(t)
    summary = assay_summary(back)
    assert summary["assay"].to_list() == ["CAGE", "DNASE"]
    assert summary["tracks"].to_list() == [1, 2]
    assert summary["pearson_r"].to_list() == pytest.approx([0.2, 0.6])


def test_metrics_table_checks_lengths(tmp_path):
    with pytest.raises(ValueError, match="one each per track"):
        metrics_table(["a"], ["b", "c"], np.zeros(1), np.zeros(1))
    bad = tmp_path / "bad.tsv"
    bad.write_text("identifier\tpearson_r\nA\t0.1\n")
    with pytest.raises(ValueError, match="missing column"):
        read_metrics(bad)


def test_compare_counts_and_binomial_test():
    descriptions = ["DNASE:x"] * 10 + ["CAGE:y"] * 4
    single = table([0.5] * 14, descriptions)
    joint = table([0.6] * 8 + [0.4] * 2 + [0.4] * 4, descriptions)
    result = compare_by_assay(paired_tracks(joint, single))
    rows = {row["assay"]: row for row in result.iter_rows(named=True)}
    assert result["assay"].to_list() == ["ALL", "CAGE", "DNASE"]
    assert rows["DNASE"]["improved"] == 8
    assert rows["DNASE"]["binomial_p"] == pytest.approx(0.109375)
    assert rows["CAGE"]["share_improved"] == 0.0
    assert rows["ALL"]["tracks"] == 14
    assert rows["DNASE"]["mean_r_joint"] == pytest.approx(0.56)


def test_compare_leaves_ties_out_of_the_sign_test():
    descriptions = ["DNASE:x"] * 10 + ["CAGE:y"] * 2
    single = table([0.5] * 8 + [0.0] * 2 + [0.0] * 2, descriptions)
    joint = table([0.6] * 8 + [0.0] * 2 + [0.0] * 2, descriptions)  # constant tracks: R 0
    result = compare_by_assay(paired_tracks(joint, single))
    rows = {r["assay"]: r for r in result.iter_rows(named=True)}
    assert (rows["DNASE"]["improved"], rows["DNASE"]["ties"]) == (8, 2)
    assert rows["DNASE"]["binomial_p"] == pytest.approx(2 / 2**8)  # 8 of 8, not 8 of 10
    assert rows["DNASE"]["share_improved"] == 1.0
    assert rows["CAGE"]["ties"] == 2 and rows["CAGE"]["binomial_p"] == 1.0
    assert math.isnan(rows["CAGE"]["share_improved"])


@pytest.mark.parametrize(("improved", "worse"), [(0, 1), (3, 3), (7, 2), (2, 9), (13, 0), (25, 14)])
def test_compare_p_is_the_two_sided_sign_test_by_the_binomial_sum(improved, worse):
    # a plain reference: twice the tail of Binomial(untied, 1/2) at or beyond the count
    # of the side more tracks fall on, capped at 1 (the tails are symmetric at 1/2)
    r_joint = [0.6] * improved + [0.4] * worse + [0.5] * 3  # 3 ties: in no count
    pairs = paired_tracks(
        table(r_joint, ["DNASE:x"] * len(r_joint)),
        table([0.5] * len(r_joint), ["DNASE:x"] * len(r_joint)),
    )
    row = compare_by_assay(pairs).row(0, named=True)
    n, far = improved + worse, max(improved, worse)
    tail = sum(math.comb(n, k) for k in range(far, n + 1)) / 2**n
    assert row["binomial_p"] == pytest.approx(min(1.0, 2 * tail), rel=1e-12)
    assert (row["improved"], row["ties"], row["tracks"]) == (improved, 3, n + 3)


def test_identifiers_are_read_as_text(tmp_path):
    # numeric identifiers were read as integers: "001" paired with "1", and a table of
    # numbers against one of names failed in polars' join
    head = "identifier\tdescription\tpearson_r\tr2\n"
    (tmp_path / "j.tsv").write_text(head + "001\tDNASE:x\t0.5\t0.1\n002\tDNASE:y\t0.7\t0.1\n")
    (tmp_path / "s.tsv").write_text(head + "1\tDNASE:x\t0.6\t0.1\n2\tDNASE:y\t0.1\t0.1\n")
    (tmp_path / "n.tsv").write_text(head + "1\tDNASE:x\t0.6\t0.1\nB2\tDNASE:y\t0.1\t0.1\n")
    joint = read_metrics(tmp_path / "j.tsv")
    assert joint["identifier"].to_list() == ["001", "002"]
    for other in ("s.tsv", "n.tsv"):
        with pytest.raises(ValueError, match="of which 0 match by identifier"):
            paired_tracks(joint, read_metrics(tmp_path / other))
    with pytest.raises(ValueError, match="of which 1 match by identifier"):
        paired_tracks(read_metrics(tmp_path / "s.tsv"), read_metrics(tmp_path / "n.tsv"))


def test_compare_refuses_different_tracks():
    a = table([0.1, 0.2], ["DNASE:a", "DNASE:b"])
    b = table([0.1], ["DNASE:a"])
    with pytest.raises(ValueError, match="same targets"):
        paired_tracks(a, b)


def test_compare_of_two_genomes_names_the_files_and_a_track(tmp_path, logs):
    # before: neither the two metrics files nor any track was named
    human = table([0.1, 0.2], ["DNASE:a", "DNASE:b"])
    mouse = human.with_columns((pl.lit("m_") + pl.col("identifier")).alias("identifier"))
    write_metrics(tmp_path / "human.tsv", human)
    write_metrics(tmp_path / "mouse.tsv", mouse)
    argv = ["compare", "--joint", str(tmp_path / "human.tsv"), "--single"]
    assert main([*argv, str(tmp_path / "mouse.tsv"), "--out", str(tmp_path / "out")]) == 1
    assert (
        f"--joint {tmp_path}/human.tsv, --single {tmp_path}/mouse.tsv: the joint table has 2 "
        "tracks and the single-genome table 2, of which 0 match by identifier ('T0' of "
        "the joint table is not in the other)" in logs.text
    )


def test_scatter_is_a_png(tmp_path):
    descriptions = ["DNASE:x", "CAGE:y", "CHIP:H3K4me3:z"]
    pairs = paired_tracks(
        table([0.6, 0.7, 0.2], descriptions), table([0.5, 0.8, 0.1], descriptions)
    )
    out = tmp_path / "scatter.png"
    joint_vs_single_scatter(pairs, compare_by_assay(pairs), out, title="human")
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "empty file"),
        ("identifier\tdescription\tpearson_r\tr2\n", "no tracks"),
        ("identifier\tdescription\tpearson_r\tr2\nA\tDNASE:x\tabc\t0.1\n", "not a number"),
        (  # compare counted a NaN R as the joint model's win (NaN sorts above numbers)
            "identifier\tdescription\tpearson_r\tr2\nA\tDNASE:x\t0.4\t0.1\nB\tDNASE:y\tNaN\t0.1\n",
            "track B has pearson_r nan, not a finite number",
        ),
        ("identifier\tdescription\tpearson_r\tr2\nA\tDNASE:x\tinf\t0.1\n", "track A has"),
        (  # compare paired one track twice and dropped another
            "identifier\tdescription\tpearson_r\tr2\nA\tDNASE:x\t0.5\t0.1\nA\tDNASE:x\t0.7\t0.1\n",
            "track A is listed more than once",
        ),
    ],
)
def test_unreadable_metrics_tables_are_refused(tmp_path, text, message):
    path = tmp_path / "metrics.tsv"
    path.write_text(text)
    with pytest.raises(ValueError, match=message):
        read_metrics(path)


def test_a_track_without_r2_is_left_out_of_the_r2_means():
    t = metrics_table(
        ["A", "B", "C"],
        ["DNASE:x", "DNASE:y", "CAGE:z"],
        np.array([0.5, 0.3, 0.2]),
        np.array([0.4, np.nan, np.nan]),  # B and C constant over the split
    )
    summary = {row["assay"]: row for row in assay_summary(t).iter_rows(named=True)}
    assert summary["DNASE"]["r2"] == pytest.approx(0.4)
    assert summary["CAGE"]["r2"] is None
    assert mean_r2(t) == pytest.approx(0.4)
    assert mean_r2(t.filter(pl.col("identifier") == "C")) is None


def test_a_track_with_constant_targets_keeps_r_0_and_r2_nan(tmp_path):
    path = tmp_path / "metrics.tsv"
    path.write_text("identifier\tdescription\tpearson_r\tr2\nA\tDNASE:x\t0.0\tNaN\n")
    table = read_metrics(path)
    assert table["pearson_r"][0] == 0 and np.isnan(table["r2"][0])


def test_a_metrics_table_that_is_not_text_is_refused_by_name(tmp_path):
    # before: polars' ComputeError 'invalid utf-8 sequence' came out as a traceback
    path = tmp_path / "sad.h5"
    path.write_bytes(b"identifier\tdescription\tpearson_r\tr2\n\xff\xfe\x00\t\x80\t0.5\t0.2\n")
    with pytest.raises(ValueError, match=r"sad\.h5: not a tab-separated metrics table"):
        read_metrics(path)


def test_the_folder_of_crossreg_evaluate_gives_its_metrics_table(tmp_path, caplog):
    # before: a folder was polars' InvalidOperationError, a traceback
    t = table([0.5, 0.7], ["DNASE:liver", "CAGE:lung"])
    write_metrics(tmp_path / "metrics.tsv", t)
    with caplog.at_level("INFO", logger="crossreg"):
        assert read_metrics(tmp_path).equals(t)
    assert "reading its metrics.tsv" in caplog.text
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(ValueError, match=r"empty: is a folder without a metrics\.tsv; give"):
        read_metrics(empty)


@pytest.fixture(scope="module")
def world(tmp_path_factory, stores):
    """A tiny human store and a checkpoint of one untrained human head."""
    root = tmp_path_factory.mktemp("evaluate")
    store = stores["human"]
    model, params, targets = untrained_checkpoint(root / "model", store)
    return root, store, model, params, targets


def test_a_nan_target_is_blamed_on_the_store_not_the_head(world, tmp_path):
    # before: "head 'human' predicts NaN or infinite values ... the weights have diverged"
    root, source, _, _, targets = world
    store = tmp_path / "store"
    store.mkdir()
    for path in Path(source).iterdir():
        if path.name == "targets.npy":
            (store / path.name).write_bytes(path.read_bytes())
        else:
            (store / path.name).symlink_to(path)
    values = np.load(store / "targets.npy", mmap_mode="r+")
    values[DataStore(store).splits["test"]["offset"], 3, 1] = np.nan
    values.flush()
    del values
    said = (
        f"dataset {store} holds NaN or infinite targets in its 'test' windows for 1 track(s) "
        f"({targets[1].identifier}): crossreg data never writes them"
    )
    with pytest.raises(ValueError, match=r"rebuild it with crossreg data$") as caught:
        evaluate_model(root / "model", store, tmp_path / "eval", plots=False)
    assert said in str(caught.value) and "predicts" not in str(caught.value)
    assert not (tmp_path / "eval").exists()


def test_a_head_predicting_nan_is_named_with_its_tracks(world, tmp_path):
    _, store, model, params, targets = world
    broken = SeqNN(parse_params(params).model)
    broken.load_state_dict(model.state_dict())
    with torch.no_grad():
        broken.head("human").dense.bias[[0, 2]] = float("inf")
    save_checkpoint(tmp_path / "inf", broken, make_config(broken, params, {"human": targets}))
    said = (
        f"head 'human' predicts NaN or infinite values for 2 track(s) ({targets[0].identifier}, "
        f"{targets[2].identifier}) on {store}: the weights have diverged or are damaged"
    )
    with pytest.raises(ValueError, match=r"use another checkpoint \(best/\)$") as caught:
        evaluate_model(tmp_path / "inf", store, tmp_path / "eval", plots=False)
    assert said in str(caught.value) and "holds NaN" not in str(caught.value)


def test_compare_refuses_evaluations_of_different_splits(world, tmp_path, logs):
    # before: a test-split and a valid-split evaluation compared as one Figure 2
    root, store, _, _, _ = world
    evaluate_model(root / "model", store, tmp_path / "test", plots=False)
    evaluate_model(root / "model", store, tmp_path / "valid", split="valid", plots=False)
    summary = json.loads((tmp_path / "test" / "summary.json").read_text())
    assert summary["store"]["path"] == str(store) and summary["head"] == "human"
    assert summary["ensemble"] == {"rc": False, "shifts": [0], "bf16": False}
    argv = ["compare", "--joint", str(tmp_path / "test"), "--single", str(tmp_path / "valid")]
    assert main([*argv, "--out", str(tmp_path / "out")]) == 1
    assert f"the valid split of store {store} (another split)" in logs.text
    argv[-1] = str(tmp_path / "test")
    assert main([*argv, "--out", str(tmp_path / "out")]) == 0


def test_an_interrupt_while_drawing_leaves_no_figure_of_the_earlier_run(
    world, tmp_path, monkeypatch
):
    # before: the earlier run's tracks.png and r_by_assay.png stayed beside the new tables
    import crossreg.evaluate.figures as figures

    root, store, _, _, _ = world
    out = tmp_path / "eval"
    evaluate_model(root / "model", store, out, split="valid")
    assert (out / "tracks.png").exists() and (out / "r_by_assay.png").exists()

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(figures, "plot_evaluation", interrupted)
    with pytest.raises(KeyboardInterrupt):
        evaluate_model(root / "model", store, out)
    assert json.loads((out / "summary.json").read_text())["split"] == "test"
    assert not list(out.glob("*.png"))


def test_the_log_names_the_checkpoint_and_head_scored(world, tmp_path, logs):
    # before: "best on human test", the last part of every training run's checkpoint
    root, store, _, _, _ = world
    table = evaluate_model(root / "model", store, tmp_path / "eval", plots=False)
    mean = float(table["pearson_r"].mean())
    windows = DataStore(store).splits["test"]["count"]
    said = f"{root / 'model'} head 'human' on human test ({windows} windows): mean Pearson R"
    assert f"{said} {mean:.4f}" in logs.text


def test_evaluate_r_and_r2_equal_numpy_over_the_central_bins_of_float16_targets(world, tmp_path):
    # each track's R and R² over every target bin of every test window, against the plain
    # ones of the store's float16 targets and the predictions' central bins, cut here by
    # hand from a model that crops 3 bins a side fewer than the store's windows need
    from crossreg.dna import one_hot
    from crossreg.model.inference import InferenceOptions, predict_batch
    from tests.pipeline import CROP_BINS, small_params

    _, store, _, _, targets_table = world
    params = small_params({"human": len(targets_table)})
    (crop,) = [block for block in params["model"]["trunk"] if block["name"] == "Cropping1D"]
    crop["cropping"] = CROP_BINS - 3
    torch.manual_seed(4)
    model = SeqNN(parse_params(params).model)
    save_checkpoint(tmp_path / "wide", model, make_config(model, params, {"human": targets_table}))
    table = evaluate_model(tmp_path / "wide", store, tmp_path / "eval", plots=False)
    data = DataStore(store)
    targets = np.asarray(data.targets("test"))
    assert targets.dtype == np.float16
    codes = np.asarray(data.sequences("test"))
    with torch.inference_mode():
        full = predict_batch(model.eval(), one_hot(codes), "human", InferenceOptions()).numpy()
    assert full.shape[1] == targets.shape[1] + 6
    y = targets.reshape(-1, targets.shape[-1]).astype(np.float64)
    p = full[:, 3:-3].reshape(-1, targets.shape[-1]).astype(np.float64)
    assert np.ptp(y, axis=0).min() > 0 and np.ptp(p, axis=0).min() > 0
    want_r = [np.corrcoef(p[:, t], y[:, t])[0, 1] for t in range(y.shape[1])]
    want_r2 = 1 - ((y - p) ** 2).sum(0) / ((y - y.mean(0)) ** 2).sum(0)
    np.testing.assert_allclose(table["pearson_r"], want_r, rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(table["r2"], want_r2, rtol=1e-6, atol=1e-7)
    # any other cut of the predictions gives other numbers: the test tells them apart
    off = full[:, 2:-4].reshape(-1, targets.shape[-1]).astype(np.float64)
    assert not np.allclose(
        table["pearson_r"],
        [np.corrcoef(off[:, t], y[:, t])[0, 1] for t in range(y.shape[1])],
        atol=1e-4,
    )


def test_the_head_is_chosen_by_head_as_in_every_step(world, tmp_path):
    # before: evaluate_model alone took genome= (write_sad, write_ism, write_predictions
    # and write_transfer take head=), so head= was "an unexpected keyword argument"
    root, store, _, _, _ = world
    named = evaluate_model(root / "model", store, tmp_path / "named", head="human", plots=False)
    default = evaluate_model(root / "model", store, tmp_path / "default", plots=False)
    assert named.equals(default)
    assert json.loads((tmp_path / "named" / "summary.json").read_text())["head"] == "human"
    with pytest.raises(ValueError, match="no head for genome 'mouse'; its genomes are human"):
        evaluate_model(root / "model", store, tmp_path / "mouse", head="mouse", plots=False)


def test_genome_the_former_name_of_head_is_taken_with_a_warning(world, tmp_path):
    # before: genome=, the keyword's name until head= replaced it, was "an unexpected
    # keyword argument", breaking callers of the release before
    root, store, _, _, _ = world
    with pytest.warns(DeprecationWarning, match=r"evaluate_model\(genome=...\) is deprecated"):
        former = evaluate_model(root / "model", store, tmp_path / "g", genome="human", plots=False)
    named = evaluate_model(root / "model", store, tmp_path / "h", head="human", plots=False)
    assert former.equals(named)
    for name in ("metrics.tsv", "summary.json"):
        assert (tmp_path / "g" / name).read_bytes() == (tmp_path / "h" / name).read_bytes()
    # the head it names is the one scored
    missing = pytest.raises(ValueError, match="no head for genome 'mouse'")
    with pytest.warns(DeprecationWarning) as warned, missing:
        evaluate_model(root / "model", store, tmp_path / "m", genome="mouse", plots=False)
    assert warned[0].filename == __file__  # the caller's line, where the keyword is to change
    with pytest.raises(TypeError, match="genome= is the former name of head=: pass head= alone"):
        evaluate_model(root / "model", store, tmp_path / "b", head="human", genome="human")
    assert not (tmp_path / "b").exists() and not (tmp_path / "m").exists()


def test_a_first_run_stopped_before_it_logged_itself_is_rerun_into_its_folder(
    world, tmp_path, monkeypatch
):
    """A first evaluate stopped after writing its files, before its run log (SIGTERM at
    the end), leaves them with no log and no checkpoint; its rerun was refused until they
    were removed. They are evaluate's own files: a rerun writes them anew."""
    import crossreg.cli as cli

    root, store, _, _, _ = world
    out = tmp_path / "eval"
    argv = ["-q", "evaluate", "--model", str(root / "model"), "--data", str(store)]
    argv += ["--out", str(out)]

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(cli, "record_run", interrupted)
    assert main(argv) == 130
    written = {"metrics.tsv", "summary.json", "tracks.npz", "tracks.png", "r_by_assay.png"}
    assert {p.name for p in out.iterdir()} == written
    monkeypatch.undo()
    assert main(argv) == 0
    assert {p.name for p in out.iterdir()} == {*written, RUNS_FILE}
