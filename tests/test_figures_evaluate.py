"""``crossreg evaluate``'s figures: predicted vs measured along test windows, R by assay."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest
import torch

from crossreg.cli import main
from crossreg.data.device_batches import codes_to_one_hot
from crossreg.data.store import DataStore
from crossreg.evaluate.figures import (
    choose_tracks,
    choose_windows,
    load_tracks,
    r_by_assay_figure,
    tracks_figure,
)
from crossreg.evaluate.table import metrics_table, read_metrics
from crossreg.io.assays import assay_of
from crossreg.model.checkpoint import make_config, save_checkpoint
from crossreg.model.geometry import crop_to_targets
from crossreg.model.params import parse_params
from crossreg.model.seqnn import SeqNN
from tests.pipeline import small_params


@pytest.fixture(scope="module")
def world(tmp_path_factory, stores):
    root = tmp_path_factory.mktemp("evaluate_figures")
    store = stores["human"]
    params = small_params({"human": DataStore(store).num_targets})
    torch.manual_seed(0)
    model = SeqNN(parse_params(params).model)
    save_checkpoint(
        root / "model",
        model,
        make_config(model, params, {"human": list(DataStore(store).table.targets)}),
    )
    return root, store, model


def test_tracks_are_typical_and_windows_have_the_most_signal():
    descriptions = ["DNASE:a", "DNASE:b", "DNASE:c", "CAGE:a", "CAGE:b", "CHIP:H3K27ac:a"]
    r = np.array([0.9, 0.5, 0.1, 0.2, 0.8, 0.4])
    table = metrics_table([f"t{i}" for i in range(6)], descriptions, r, r)
    tracks = choose_tracks(table)
    assert [descriptions[t] for t in tracks] == ["DNASE:b", "CAGE:a", "CHIP:H3K27ac:a"]
    # two assays: the median (the lower one of an even count), then the next DNASE track
    assert choose_tracks(table.head(5)) == [1, 3, 0]
    sums = np.array([[1.0, 10.0], [3.0, 0.0], [0.0, 30.0], [1.0, 0.0]])
    # per track over its mean (1.25, 10): windows 1.8, 2.4, 3, 0.8
    assert choose_windows(sums, [0, 1], 3) == [2, 1, 0]


@pytest.mark.parametrize("extra", [[], ["--no-plots"], ["--svg"]])
def test_evaluate_draws_what_it_measured_and_predicted(tmp_path, world, extra):
    root, store_dir, model = world
    out = tmp_path / "eval"
    args = ["-q", "evaluate", "--model", str(root / "model"), "--data", str(store_dir)]
    assert main([*args, "--out", str(out), *extra]) == 0
    figures = {"r_by_assay.png", "tracks.png"}
    names = {p.name for p in out.iterdir()}
    if extra == ["--no-plots"]:
        assert not names & (figures | {"tracks.npz"})
        return
    assert figures | {"tracks.npz"} <= names
    assert ({"r_by_assay.svg", "tracks.svg"} <= names) == (extra == ["--svg"])
    if extra:
        # a rerun without figures leaves none of the earlier ones beside its tables
        assert main([*args, "--out", str(out), "--no-plots", "--split", "valid"]) == 0
        assert not {p.name for p in out.iterdir()} & (figures | {"tracks.npz", "tracks.svg"})
        return

    table = read_metrics(out / "metrics.tsv")
    drawn = load_tracks(out / "tracks.npz")
    store = DataStore(store_dir)
    rows, tracks = drawn["rows"].tolist(), drawn["track"].tolist()
    assert len(rows) == 3 and len(tracks) == 3
    assert len({assay_of(table["description"][t]) for t in tracks}) == 3
    targets = np.asarray(store.targets("test"), dtype=np.float64)
    # the windows with the most signal in the chosen tracks
    assert rows == choose_windows(targets.sum(axis=1), tracks)
    np.testing.assert_allclose(
        drawn["measured"], targets[rows][..., tracks].transpose(0, 2, 1), rtol=1e-6
    )
    model.eval()
    batch = codes_to_one_hot(torch.from_numpy(np.asarray(store.sequences("test")[rows])))
    with torch.no_grad():
        pred = crop_to_targets(model(batch, "human"), store.target_length).numpy()
    np.testing.assert_allclose(
        drawn["predicted"], pred[..., tracks].transpose(0, 2, 1), rtol=1e-4, atol=1e-5
    )
    np.testing.assert_allclose(drawn["pearson_r"], table["pearson_r"].to_numpy()[tracks])
    windows = store.windows("test")
    assert [str(c) for c in drawn["chrom"]] == [windows[i].chrom for i in rows]

    assert "valid R" in tracks_figure(drawn, split="valid").axes[0].get_ylabel()
    fig = tracks_figure(drawn)
    axes = np.array(fig.axes).reshape(3, 3)  # tracks × windows
    for w in range(3):
        for t in range(3):
            line = axes[t, w].lines[0]
            np.testing.assert_allclose(line.get_ydata(), drawn["predicted"][w, t])
            assert line.get_label() == "predicted"
    for t in range(3):  # the identifier tells apart tracks that share a description
        label = axes[t, 0].get_ylabel()
        assert table["description"][tracks[t]][:20] in label.replace("\n", " ")
        assert f"({table['identifier'][tracks[t]]}, test R " in label

    by_assay = r_by_assay_figure(table)
    ax = by_assay.axes[0]
    labels = [tick.get_text().split("\n")[0] for tick in ax.get_xticklabels()]
    assays = table.with_columns(
        pl.col("description").map_elements(assay_of, return_dtype=pl.Utf8).alias("assay")
    )
    for i, assay in enumerate(labels):
        expect = assays.filter(pl.col("assay") == assay)["pearson_r"].to_numpy()
        np.testing.assert_allclose(np.sort(ax.collections[i].get_offsets()[:, 1]), np.sort(expect))


def test_a_head_predicting_nan_stops_evaluate_naming_its_tracks(tmp_path, world):
    # a diverged checkpoint was scored R 0 for those tracks, and summary.json got -Infinity
    _, store_dir, model = world
    broken = SeqNN(parse_params(small_params({"human": model.num_targets("human")})).model)
    broken.load_state_dict(model.state_dict())
    with torch.no_grad():
        broken.head("human").dense.bias[1] = float("nan")
    targets = list(DataStore(store_dir).table.targets)
    params = small_params({"human": len(targets)})
    save_checkpoint(tmp_path / "nan", broken, make_config(broken, params, {"human": targets}))
    args = ["evaluate", "--model", str(tmp_path / "nan"), "--data", str(store_dir)]
    assert main([*args, "--out", str(tmp_path / "eval"), "--no-plots"]) == 1
    assert not (tmp_path / "eval" / "summary.json").exists()


def test_r_by_assay_of_thousands_of_tracks_leaves_the_box_plot_visible():
    """The jittered points of the paper's 3,991 ChIP tracks are drawn small and faint
    (their ink a small share of the axes), so the box plot beneath shows; a handful of
    tracks keeps full-size points. Before: 8-pt² points at opacity 0.6 inked 38% of the
    whole axes, one block of colour over the ChIP box."""
    descriptions = ["CHIP:x"] * 3991 + ["ATAC:x"] * 5
    ids = [f"t{i}" for i in range(len(descriptions))]
    r = np.random.default_rng(2).uniform(0.1, 0.9, len(ids))
    fig = r_by_assay_figure(metrics_table(ids, descriptions, r, r**2))
    fig.canvas.draw()
    (ax,) = fig.axes
    box = ax.get_window_extent()
    area = box.width * box.height * (72 / fig.dpi) ** 2  # points²
    atac, chip = ax.collections  # one scatter per assay, in assay order
    ink = len(chip.get_offsets()) * chip.get_sizes().mean() * chip.get_alpha()
    assert ink / area < 0.05
    assert atac.get_sizes().mean() == 8.0 and atac.get_alpha() == 0.6


def test_the_figures_name_the_model_and_head_they_score(tmp_path, world, monkeypatch):
    """evaluate's figures are titled with the head, the heads of its model, and the
    genome and split; before, the joint and the single-genome model's figures were both
    titled "human test", told apart by nothing in them."""
    import crossreg.evaluate.figures
    from crossreg.evaluate.figures import figure_title

    joint = figure_title(["human", "mouse"], "human", "human", "test")
    assert joint == "human head (model of human + mouse) on human test"
    root, store_dir, _ = world
    titles: list[str] = []
    draw = crossreg.evaluate.figures.plot_evaluation

    def recording(out, *, title="", **kwargs):
        titles.append(title)
        return draw(out, title=title, **kwargs)

    monkeypatch.setattr(crossreg.evaluate.figures, "plot_evaluation", recording)
    args = ["-q", "evaluate", "--model", str(root / "model"), "--data", str(store_dir)]
    assert main([*args, "--out", str(tmp_path / "eval"), "--split", "valid"]) == 0
    assert titles == ["human head (model of human) on human valid"]
    fig = r_by_assay_figure(read_metrics(tmp_path / "eval" / "metrics.tsv"), title=titles[0])
    assert fig.axes[0].get_title().startswith("human head (model of human) on human valid:")
