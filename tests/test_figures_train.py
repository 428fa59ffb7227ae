"""``crossreg train``'s figure: loss and validation R per epoch, per genome and phase."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest

from crossreg.cli import main
from crossreg.data.store import DataStore
from crossreg.train.figures import best_epoch, plot_training, read_rows, training_figure
from crossreg.train.metrics_table import METRIC_FIELDS
from tests.pipeline import small_params


def write_metrics(path, rows) -> None:
    with open(path, "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=METRIC_FIELDS)
        writer.writeheader()
        writer.writerows(rows)


def row(phase: str, epoch: int, genome: str, loss: float, r: float) -> dict:
    return {
        "phase": phase,
        "epoch": epoch,
        "genome": genome,
        "steps": 5,
        "train_loss": loss,
        "valid_loss": loss + 0.1,
        "valid_pearson_r": r,
        "valid_r2": r * r,
        "seconds": 1.0,
    }


def curves_of(ax) -> list:
    """The plotted curves of a panel (not the guide lines, whose labels start with _)."""
    return [line for line in ax.lines if not line.get_label().startswith("_")]


def test_curves_follow_metrics_csv_and_fine_tuning_continues_the_axis(tmp_path):
    rows = [row("joint", e, g, 1.0 / e, 0.1 * e) for e in (1, 2, 3) for g in ("human", "mouse")]
    rows += [row("human", e, "human", 0.3 / e, 0.35 + 0.01 * e) for e in (1, 2)]
    write_metrics(tmp_path / "metrics.csv", rows)
    written = plot_training(tmp_path, svg=True)
    assert [p.name for p in written] == ["training.png", "training.svg"]
    assert written[0].read_bytes()[:4] == b"\x89PNG"

    fig = training_figure(read_rows(tmp_path / "metrics.csv"))
    loss, valid, r = fig.axes
    assert [ax.get_title() for ax in fig.axes] == [
        "training loss",
        "validation loss",
        "validation Pearson R",
    ]
    labels = [line.get_label() for line in curves_of(r)]
    assert labels == ["human (joint)", "mouse (joint)", "human (fine-tuned)"]
    mouse = r.lines[1]
    np.testing.assert_allclose(mouse.get_xdata(), [1, 2, 3])
    np.testing.assert_allclose(mouse.get_ydata(), [0.1, 0.2, 0.3])
    tuned = loss.lines[2]
    np.testing.assert_allclose(tuned.get_xdata(), [4, 5])  # after the 3 joint epochs
    np.testing.assert_allclose(tuned.get_ydata(), [0.3, 0.15])
    np.testing.assert_allclose(valid.lines[0].get_ydata(), [1.1, 0.6, 1 / 3 + 0.1])
    assert tuned.get_linestyle() == "--" and mouse.get_linestyle() == "-"


def test_a_new_head_s_run_is_drawn_under_its_name_without_a_joint_phase():
    # crossreg finetune: phase finetune only, its rows naming the new head
    rows = [row("finetune", e, "liver", 0.5 / e, 0.2 * e) for e in (1, 2)]
    fig = training_figure([{k: str(v) for k, v in r.items()} for r in rows])
    for ax in fig.axes:
        assert [line.get_label() for line in ax.lines] == ["liver (fine-tuned)"]  # no divider
        np.testing.assert_allclose(ax.lines[0].get_xdata(), [1, 2])


def test_no_finished_epoch_draws_nothing(tmp_path):
    assert plot_training(tmp_path) == []


@pytest.fixture(scope="module")
def tiny(tmp_path_factory, stores):
    root = tmp_path_factory.mktemp("train_figures")
    store = stores["human"]
    params = root / "params.json"
    params.write_text(json.dumps(small_params({"human": DataStore(store).num_targets})))
    return params, store


@pytest.mark.parametrize("extra", [[], ["--no-plots"], ["--svg"]])
def test_train_draws_its_curves_unless_told_not_to(tmp_path, tiny, extra):
    params, store = tiny
    out = tmp_path / "run"
    args = ["-q", "train", "--params", str(params), "--data", str(store), "--out", str(out)]
    assert main([*args, "--max-epochs", "2", "--steps-per-epoch", "2", *extra]) == 0
    assert (out / "training.png").exists() == (extra != ["--no-plots"])
    assert (out / "training.svg").exists() == (extra == ["--svg"])
    if not extra:
        fig = training_figure(read_rows(out / "metrics.csv"))
        rs = [float(r["valid_pearson_r"]) for r in read_rows(out / "metrics.csv")]
        np.testing.assert_allclose(fig.axes[2].lines[0].get_ydata(), rs)


def test_a_resume_leaves_no_figure_of_the_run_before(tmp_path, tiny):
    params, store = tiny
    out = tmp_path / "run"
    args = ["-q", "train", "--params", str(params), "--data", str(store), "--out", str(out)]
    args += ["--steps-per-epoch", "1", "--batch-size", "2"]
    assert main([*args, "--max-epochs", "1", "--svg"]) == 0
    assert (out / "training.svg").exists()
    # resumed without --svg: the png is redrawn, the svg of one epoch would disagree
    assert main([*args, "--max-epochs", "2", "--resume"]) == 0
    assert not (out / "training.svg").exists()
    assert (out / "training.png").exists()
    assert main([*args, "--max-epochs", "3", "--resume", "--no-plots"]) == 0
    assert not (out / "training.png").exists()
    assert len(read_rows(out / "metrics.csv")) == 3


def test_a_one_genome_run_is_not_labelled_joint():
    # before: a single-genome model's curve read "human (joint)" beside the joint model's
    rows = [row("joint", e, "human", 1.0 / e, 0.1 * e) for e in (1, 2)]
    fig = training_figure([{k: str(v) for k, v in r.items()} for r in rows])
    for ax in fig.axes:
        assert [line.get_label() for line in curves_of(ax)] == ["human (alone)"]


def test_the_epoch_best_holds_is_marked(tmp_path):
    # before: nothing showed which epoch best/ (what evaluate scores) holds
    rows = [row("joint", e, g, 1.0 / e, r) for e, r in ((1, 0.1), (2, 0.3), (3, 0.2)) for g in "ab"]
    write_metrics(tmp_path / "metrics.csv", rows)
    (tmp_path / "best").mkdir()
    (tmp_path / "best" / "config.json").write_text(json.dumps({"epoch": 2}))
    assert best_epoch(tmp_path) == 2
    fig = training_figure(read_rows(tmp_path / "metrics.csv"), best=best_epoch(tmp_path))
    # labelled as what it is (before: "best/ (epoch 2)", which read as a stray path)
    for ax in fig.axes:
        [mark] = [line for line in ax.lines if line.get_label() == "best epoch 2"]
        np.testing.assert_allclose(mark.get_xdata(), [2, 2])
    assert "best epoch 2" in [t.get_text() for t in fig.axes[-1].get_legend().get_texts()]
    assert best_epoch(tmp_path / "none") is None


def test_the_title_names_the_heads_trained_and_how():
    # before: every run's figure was titled "training curves (metrics.csv)", so the
    # report's joint, human and mouse training.png told themselves apart by nothing
    joint = [row("joint", e, g, 1.0 / e, 0.1 * e) for e in (1, 2) for g in ("human", "mouse")]
    tuned = [row("human", e, "human", 0.3 / e, 0.4) for e in (1, 2)]
    alone = [row("joint", e, "human", 1.0 / e, 0.1 * e) for e in (1, 2)]
    liver = [row("finetune", e, "liver", 0.5 / e, 0.2 * e) for e in (1, 2)]
    titles = [training_figure(r).get_suptitle() for r in (joint, joint + tuned, alone, liver)]
    assert titles == [
        "training curves: human + mouse trained jointly",
        "training curves: human + mouse trained jointly, then human fine-tuned",
        "training curves: human trained alone",
        "training curves: liver fine-tuned",
    ]
    assert training_figure(alone, title="run 7").get_suptitle() == "run 7"
