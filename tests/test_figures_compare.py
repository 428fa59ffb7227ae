"""``crossreg compare``'s figure: one scatter per assay, its binomial test in the title."""

from __future__ import annotations

import json

import numpy as np
import polars as pl
import pytest

import crossreg.evaluate.compare
from crossreg.cli import main
from crossreg.evaluate.compare import (
    check_same_windows,
    compare_by_assay,
    compare_metrics,
    paired_tracks,
    write_comparison,
)
from crossreg.evaluate.table import metrics_table, write_metrics
from crossreg.plots import format_p, joint_vs_single_figure
from crossreg.runlog import RUNS_FILE

DESCRIPTIONS = ["DNASE:a", "DNASE:b", "DNASE:c", "CAGE:a", "CAGE:b", "CHIP:H3K27ac:a"]


def tables() -> tuple[pl.DataFrame, pl.DataFrame]:
    ids = [f"t{i}" for i in range(len(DESCRIPTIONS))]
    joint = metrics_table(ids, DESCRIPTIONS, np.array([0.6, 0.7, 0.5, 0.4, 0.3, 0.2]), np.zeros(6))
    single = metrics_table(ids, DESCRIPTIONS, np.array([0.5, 0.6, 0.4, 0.5, 0.2, 0.1]), np.zeros(6))
    return joint, single


def test_each_assay_has_a_panel_with_its_binomial_test(tmp_path):
    joint, single = tables()
    pairs, comparison = write_comparison(joint, single, tmp_path, title="human", svg=True)
    assert (tmp_path / "scatter.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert (tmp_path / "scatter.svg").read_text().lstrip().startswith("<?xml")
    fig = joint_vs_single_figure(pairs, compare_by_assay(pairs), title="human")
    panels = [ax for ax in fig.axes if ax.get_visible()]
    tests = {row["assay"]: row for row in comparison.iter_rows(named=True)}
    assert len(panels) == 3
    for ax in panels:
        assay = ax.get_title().split(":")[0]
        test = tests[assay]
        assert f"{test['improved']}/{test['tracks']}" in ax.get_title()
        assert format_p(test["binomial_p"]) in ax.get_title()
        group = pairs.filter(pl.col("assay") == assay)
        points = ax.collections[0].get_offsets()
        np.testing.assert_allclose(points[:, 0], group["r_single"])
        np.testing.assert_allclose(points[:, 1], group["r_joint"])
    assert format_p(tests["ALL"]["binomial_p"]) in fig.get_suptitle()


def test_no_plots_writes_the_table_only(tmp_path):
    joint, single = tables()
    write_metrics(tmp_path / "joint.tsv", joint)
    write_metrics(tmp_path / "single.tsv", single)
    base = ["-q", "compare", "--joint", str(tmp_path / "joint.tsv")]
    base += ["--single", str(tmp_path / "single.tsv")]
    assert main([*base, "--out", str(tmp_path / "a"), "--no-plots"]) == 0
    assert sorted(p.name for p in (tmp_path / "a").iterdir() if p.suffix != ".jsonl") == [
        "comparison.tsv"
    ]
    assert main([*base, "--out", str(tmp_path / "b"), "--svg"]) == 0
    assert (tmp_path / "b" / "scatter.png").exists() and (tmp_path / "b" / "scatter.svg").exists()
    # a rerun without figures leaves none of the earlier ones beside its table
    assert main([*base, "--out", str(tmp_path / "b"), "--no-plots"]) == 0
    assert not list((tmp_path / "b").glob("scatter.*"))
    assert len((tmp_path / "b" / RUNS_FILE).read_text().splitlines()) == 2


def test_only_rank_0_of_a_torchrun_job_logs_the_run(tmp_path, monkeypatch):
    # before: every rank appended the same record
    joint, single = tables()
    write_metrics(tmp_path / "joint.tsv", joint)
    write_metrics(tmp_path / "single.tsv", single)
    base = ["-q", "compare", "--joint", str(tmp_path / "joint.tsv"), "--no-plots"]
    base += ["--single", str(tmp_path / "single.tsv"), "--out", str(tmp_path / "c")]
    monkeypatch.setenv("RANK", "0")
    assert main(base) == 0
    assert len((tmp_path / "c" / RUNS_FILE).read_text().splitlines()) == 1
    monkeypatch.setenv("RANK", "1")
    assert main(base) == 0
    assert len((tmp_path / "c" / RUNS_FILE).read_text().splitlines()) == 1


def evaluated(folder, table, split, store=None):
    """A folder as crossreg evaluate leaves it: metrics.tsv and a summary.json of its split
    (and the store's fingerprint)."""
    folder.mkdir()
    write_metrics(folder / "metrics.tsv", table)
    summary = {"split": split, "tracks": table.height}
    if store is not None:
        summary["store"] = store
    (folder / "summary.json").write_text(json.dumps(summary))
    return folder


STORE = {"genome": "human", "path": "data/human", "stride": 65599, "windows": {"test": 9}}


def test_tables_of_different_splits_are_refused(tmp_path, logs):
    # before: a joint model scored on test and a single-genome one on valid compared as
    # if they were the same windows, a Figure 2 of nothing
    joint, single = tables()
    first = evaluated(tmp_path / "joint", joint, "test", {**STORE, "sha256": "a"})
    second = evaluated(tmp_path / "single", single, "valid", {**STORE, "sha256": "a"})
    argv = ["compare", "--joint", str(first), "--single", str(second / "metrics.tsv")]
    assert main([*argv, "--out", str(tmp_path / "out")]) == 1
    assert (
        f"--joint {first} scores the test split of store data/human, --single "
        f"{second / 'metrics.tsv'} the valid split of store data/human (another split)"
    ) in logs.text
    assert "evaluate both models on the same split of the same store" in logs.text
    assert not (tmp_path / "out" / "comparison.tsv").exists()


def test_the_python_step_checks_the_windows_and_names_the_split_as_the_command(
    tmp_path, monkeypatch
):
    # before: the step's function took two tables as they came: a joint model scored on
    # test and a single one on valid were compared, the axes labelled "test" whatever
    joint, single = tables()
    first = evaluated(tmp_path / "joint", joint, "valid", {**STORE, "sha256": "a"})
    other = evaluated(tmp_path / "other", single, "test", {**STORE, "sha256": "a"})
    with pytest.raises(ValueError, match=r"the test split of store data/human \(another split"):
        compare_metrics(first, other / "metrics.tsv", tmp_path / "refused")
    assert not (tmp_path / "refused").exists()
    second = evaluated(tmp_path / "single", single, "valid", {**STORE, "sha256": "a"})
    drawn = []
    monkeypatch.setattr(
        crossreg.evaluate.compare,
        "joint_vs_single_scatter",
        lambda pairs, comparison, path, **kwargs: drawn.append(kwargs["split"]),
    )
    _, comparison = compare_metrics(first, second, tmp_path / "out", title="human")
    assert drawn == ["valid"]
    assert comparison.equals(compare_by_assay(paired_tracks(joint, single)))
    assert (tmp_path / "out" / "comparison.tsv").exists()


def test_tables_of_different_stores_are_refused(tmp_path, logs):
    joint, single = tables()
    first = evaluated(tmp_path / "joint", joint, "test", {**STORE, "sha256": "a"})
    other = {**STORE, "path": "data/human2", "stride": 131072, "windows": {"test": 5}}
    second = evaluated(tmp_path / "single", single, "test", {**other, "sha256": "b"})
    argv = ["compare", "--joint", str(first), "--single", str(second)]
    assert main([*argv, "--out", str(tmp_path / "out")]) == 1
    assert (
        "the test split of store data/human2 (stride 65599 for --joint, 131072 for --single, "
        "test windows 9 for --joint, 5 for --single)"
    ) in logs.text


def test_the_axes_name_the_split_the_tables_score(tmp_path):
    joint, single = tables()
    first = evaluated(tmp_path / "joint", joint, "valid", {**STORE, "sha256": "a"})
    second = evaluated(tmp_path / "single", single, "valid", {**STORE, "path": "x", "sha256": "a"})
    assert check_same_windows(first, second) == "valid"  # a moved store is the same store
    pairs, comparison = write_comparison(joint, single, tmp_path / "out", split="valid")
    fig = joint_vs_single_figure(pairs, comparison, split="valid")
    assert fig.axes[0].get_xlabel() == "single-genome model, valid Pearson R"
    assert fig.axes[0].get_ylabel() == "joint model, valid Pearson R"
    # tables without evaluate's summary (made elsewhere) are compared unchecked
    write_metrics(tmp_path / "j.tsv", joint)
    assert check_same_windows(tmp_path / "j.tsv", second) is None
    fig = joint_vs_single_figure(pairs, comparison, split=None)
    assert fig.axes[0].get_xlabel() == "single-genome model, Pearson R"


def test_an_interrupt_while_drawing_leaves_no_scatter_of_the_earlier_tables(tmp_path, monkeypatch):
    # before: the earlier run's scatter.png stayed beside the new comparison.tsv
    import crossreg.evaluate.compare as compare

    joint, single = tables()
    write_comparison(joint, single, tmp_path)
    assert (tmp_path / "scatter.png").exists()

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(compare, "joint_vs_single_scatter", interrupted)
    with pytest.raises(KeyboardInterrupt):
        write_comparison(single, joint, tmp_path)
    assert (tmp_path / "comparison.tsv").exists() and not (tmp_path / "scatter.png").exists()


def test_the_lowest_r_is_inside_the_axes():
    # before: the axes began at the lowest R, cutting its point in half on the edge
    joint, single = tables()
    single = single.with_columns(pl.Series("pearson_r", [-0.13, 0.6, 0.4, 0.5, 0.2, 0.1]))
    pairs = paired_tracks(joint, single)
    fig = joint_vs_single_figure(pairs, compare_by_assay(pairs))
    for ax in fig.axes:
        if ax.get_visible():
            assert ax.get_xlim()[0] < -0.13 and ax.get_ylim()[0] < -0.13


def test_tables_of_different_ensembles_are_warned_about(tmp_path, logs):
    joint, single = tables()
    first = evaluated(tmp_path / "joint", joint, "test", {**STORE, "sha256": "a"})
    second = evaluated(tmp_path / "single", single, "test", {**STORE, "sha256": "a"})
    for folder, rc in ((first, True), (second, False)):
        summary = json.loads((folder / "summary.json").read_text())
        summary["ensemble"] = {"rc": rc, "shifts": [1, 0, -1] if rc else [0], "bf16": False}
        (folder / "summary.json").write_text(json.dumps(summary))
    assert check_same_windows(first, second) == "test"
    assert (
        f"--joint {first} was evaluated with --rc, --shifts 1,0,-1, --single {second} with "
        "no --rc, --shifts 0: an ensemble"
    ) in logs.text


def test_thousands_of_tracks_do_not_fill_their_panel():
    """At the paper's 3,991 ChIP tracks the points' ink (marker area × opacity, summed
    over the points) stays a small share of the panel's area, so the cloud shows where it
    is dense and the diagonal shows through; a panel of a few tracks keeps full-size
    points. Before: 12-pt² points at opacity 0.7 inked 90% of the ChIP panel."""
    rng = np.random.default_rng(1)
    descriptions = ["CHIP:x"] * 3991 + ["CAGE:x"] * 6
    ids = [f"t{i}" for i in range(len(descriptions))]
    single_r = rng.uniform(0.2, 0.8, len(ids))
    joint = metrics_table(ids, descriptions, single_r + 0.02, np.zeros(len(ids)))
    single = metrics_table(ids, descriptions, single_r, np.zeros(len(ids)))
    pairs = paired_tracks(joint, single)
    fig = joint_vs_single_figure(pairs, compare_by_assay(pairs))
    fig.canvas.draw()
    ink = {}
    for ax in (ax for ax in fig.axes if ax.get_visible()):
        (points,) = ax.collections
        box = ax.get_window_extent()
        area = box.width * box.height * (72 / fig.dpi) ** 2  # points²
        share = len(points.get_offsets()) * points.get_sizes().mean() * points.get_alpha()
        ink[ax.get_title().split(":")[0]] = (share / area, points.get_sizes().mean())
    assert ink["CHIP"][0] < 0.15
    assert ink["CAGE"][1] == 12.0  # a few tracks: full size


def test_a_first_run_stopped_while_drawing_is_rerun_into_its_folder(tmp_path, monkeypatch, capsys):
    """A first compare into a new folder stopped while drawing leaves its table and no
    run log; its rerun was refused until the table was removed. A folder holding only
    compare's own files is taken for its stopped run; one with anyone else's is not."""
    import crossreg.evaluate.compare as compare

    joint, single = tables()
    write_metrics(tmp_path / "joint.tsv", joint)
    write_metrics(tmp_path / "single.tsv", single)
    out = tmp_path / "out"
    argv = ["-q", "compare", "--joint", str(tmp_path / "joint.tsv")]
    argv += ["--single", str(tmp_path / "single.tsv"), "--out", str(out)]

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    scatter = compare.joint_vs_single_scatter
    monkeypatch.setattr(compare, "joint_vs_single_scatter", interrupted)
    assert main(argv) == 130
    stopped = f"{out} may hold some of this run's files; rerun the same command to write them"
    assert stopped in capsys.readouterr().err
    assert [p.name for p in out.iterdir()] == ["comparison.tsv"]
    monkeypatch.setattr(compare, "joint_vs_single_scatter", scatter)
    (out / "notes.txt").write_text("mine\n")
    assert main(argv) == 1
    (out / "notes.txt").unlink()
    assert main(argv) == 0
    assert (out / "scatter.png").is_file() and (out / RUNS_FILE).is_file()
