"""ISM figure names fit a file system whatever the labels and track identifiers, a drawing
removes only the figures an earlier one listed in its folder's manifest (never a user's
file, and also those of 5-digit site indices), and a store that does not fit a fixed
checkpoint is to be rebuilt, which ``finetune`` says with the ``crossreg data`` options."""

from __future__ import annotations

import json
import logging
import re
import shutil
from pathlib import Path

import h5py
import numpy as np
import pytest

from crossreg.cli import main
from crossreg.data.store import DataStore
from crossreg.train.finetune import FineTuneSpec, finetune
from crossreg.variants import ism_figures
from crossreg.variants.ism_figure_files import (
    MANIFEST,
    figure_name,
    index_digits,
    remove_earlier_figures,
)
from crossreg.variants.ism_figures import plot_ism_file
from tests.finetune_world import build_held_out_world
from tests.pipeline import CROP_BINS, SEQ_LENGTH, small_ism_world, small_params
from tests.test_figures_ism import write_ism

USERS = ["2023_results.png", "1999_poster.svg", "10000_site_T0.png", "notes.png"]


def touch_figure(out, scores, seq, *, svg: bool = False, **kwargs) -> list[Path]:
    """A stand-in for :func:`ism_figures.plot_site` that writes empty files, quickly."""
    out = Path(out)
    written = [out, out.with_suffix(".svg")] if svg else [out]
    for path in written:
        path.write_bytes(b"")
    return written


def test_long_labels_and_track_ids_give_short_unique_stable_names(tmp_path, monkeypatch):
    """A 300-character label and a 200-character track id (before: ``[Errno 36] File
    name too long`` after all scoring) give names of at most 255 bytes, one per site,
    the same in every run; titles keep the full label."""
    labels = ["L" * 299 + "a", "L" * 299 + "b"]
    track = "T" * 200
    write_ism(tmp_path / "ism.h5", labels, track=track)
    titles = []
    draw = ism_figures.plot_site

    def record(out, scores, seq, **kwargs):
        titles.append(kwargs["title"])
        return draw(out, scores, seq, **kwargs)

    monkeypatch.setattr(ism_figures, "plot_site", record)
    first = plot_ism_file(tmp_path / "ism.h5", tmp_path / "a", svg=True)
    second = plot_ism_file(tmp_path / "ism.h5", tmp_path / "b", svg=True)
    names = [p.name for p in first]
    assert len(names) == len(set(names)) == 4
    assert all(len(name.encode()) <= 255 for name in names)
    assert all(p.is_file() and p.stat().st_size > 0 for p in first)
    assert names == [p.name for p in second]
    assert all(label in title for label, title in zip(labels, titles[:2], strict=True))
    assert all(track in title for title in titles)
    assert figure_name(0, 4, "rs1", "CNhs1") == "0000_rs1_CNhs1.png"  # short: as before


def test_a_drawing_keeps_files_it_did_not_list(tmp_path, logs):
    """A user's files named like ``NNNN_*.png`` (before: deleted) stay, and so do files
    named as crossreg names figures when no manifest lists them: a note says so."""
    folder = tmp_path / "figures"
    folder.mkdir()
    for name in USERS:
        (folder / name).write_text("the user's")
    write_ism(tmp_path / "ism.h5", ["c"])
    with logs.at_level(logging.INFO, logger="crossreg"):
        plot_ism_file(tmp_path / "ism.h5", folder)
    assert sorted(p.name for p in folder.iterdir()) == sorted([*USERS, MANIFEST, "0000_c_T0.png"])
    assert "has no .crossreg-ism-figures" in logs.text and "10000_site_T0.png" in logs.text


def test_a_rerun_removes_what_the_earlier_one_wrote_even_five_digit_indices(tmp_path, monkeypatch):
    """10,001 sites are named with 5-digit indices (``10000_s10000_T0.png`` sorts after
    ``09999_...``); a rerun of 1 site removes all of them (before: the 5-digit one was
    left), and nothing else."""
    monkeypatch.setattr(ism_figures, "plot_site", touch_figure)
    folder = tmp_path / "figures"
    folder.mkdir()
    for name in USERS:
        (folder / name).write_text("the user's")
    write_ism(tmp_path / "many.h5", [f"s{i}" for i in range(10_001)])
    first = plot_ism_file(tmp_path / "many.h5", folder)
    assert [p.name for p in first[:2]] == ["00000_s0_T0.png", "00001_s1_T0.png"]
    assert first[-1].name == "10000_s10000_T0.png"
    write_ism(tmp_path / "one.h5", ["c"])
    assert plot_ism_file(tmp_path / "one.h5", folder, svg=True) == [
        folder / "0000_c_T0.png",
        folder / "0000_c_T0.svg",
    ]
    assert sorted(p.name for p in folder.iterdir()) == sorted(
        [*USERS, MANIFEST, "0000_c_T0.png", "0000_c_T0.svg"]
    )
    assert (index_digits(10_000), index_digits(10_001), index_digits(0)) == (4, 5, 4)


def test_no_plots_removes_only_the_listed_figures(tmp_path):
    """As ``--no-plots --figures DIR`` does: an earlier drawing's figures and manifest go,
    a user's files stay; a manifest naming anything but a figure's name removes nothing
    else."""
    folder = tmp_path / "figures"
    write_ism(tmp_path / "ism.h5", ["a", "b"])
    plot_ism_file(tmp_path / "ism.h5", folder)
    for name in USERS:
        (folder / name).write_text("the user's")
    remove_earlier_figures(folder)
    assert sorted(p.name for p in folder.iterdir()) == sorted(USERS)
    (tmp_path / "outside.png").write_text("kept")
    listed = ["../outside.png", "notes.png", "2023_results.png", "0000_a.png"]
    (folder / MANIFEST).write_text("\n".join(["# header", *listed]) + "\n")
    remove_earlier_figures(folder)
    assert sorted(p.name for p in folder.iterdir()) == sorted(USERS)
    assert (tmp_path / "outside.png").exists()


@pytest.fixture(scope="module")
def ism_world(tmp_path_factory) -> Path:
    """A random 24,576-bp chr1, a small one-head model of 3 tracks and a BED region of
    a 300-character name, as ``crossreg ism`` reads them."""
    root = small_ism_world(tmp_path_factory.mktemp("ism_names"), seed=7)
    (root / "long.bed").write_text(f"chr1\t12000\t12001\t{'L' * 300}\n")
    return root


def test_cli_long_label_and_no_plots_keep_a_users_files(ism_world, tmp_path):
    """``crossreg ism`` draws a site of a 300-character BED name (before: ``File name too
    long`` once scored); ``--no-plots --figures DIR`` then removes that figure and the
    manifest, and keeps a user's ``2023_results.png`` (before: deleted)."""
    base = ["ism", "--model", str(ism_world / "model"), "--fasta", str(ism_world / "genome.fa")]
    base += ["--bed", str(ism_world / "long.bed"), "--width", "2", "--out", str(tmp_path / "x.h5")]
    folder = tmp_path / "figs"
    folder.mkdir()
    (folder / "2023_results.png").write_text("the user's")
    assert main([*base, "--figures", str(folder)]) == 0
    (drawn,) = folder.glob("0000_L*.png")
    assert len(drawn.name) <= 255
    assert main([*base, "--figures", str(folder), "--no-plots"]) == 0
    assert sorted(p.name for p in folder.iterdir()) == ["2023_results.png"]


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> dict[str, Path]:
    """The held-out liver store and a joint model trained briefly without it."""
    root = tmp_path_factory.mktemp("finetune_geometry")
    stores = build_held_out_world(root, cell="liver")
    tracks = {g: DataStore(stores[g]).num_targets for g in ("human", "mouse")}
    params = root / "params.json"
    params.write_text(json.dumps(small_params(tracks)))
    args = ["-q", "train", "--params", str(params), "--out", str(root / "joint"), "--no-plots"]
    args += ["--data", str(stores["human"]), "--data", str(stores["mouse"])]
    assert main([*args, "--max-epochs", "1", "--steps-per-epoch", "2"]) == 0
    return {**stores, "joint": root / "joint" / "best"}


@pytest.mark.parametrize(
    ("changes", "wrong"),
    [
        ({"seq_length": SEQ_LENGTH // 2}, f"has {SEQ_LENGTH // 2:,}-bp windows"),
        ({"target_length": -1}, "target bins"),  # 1 more bin a side than the model's
    ],
)
def test_finetune_says_to_rebuild_the_store(world, tmp_path, changes, wrong):
    """The checkpoint is fixed: a store of other windows or crop is to be rebuilt with
    ``crossreg data`` and the checkpoint's values (before: "set model.seq_length")."""
    store = tmp_path / "store"
    shutil.copytree(world["held_out"], store)
    meta = json.loads((store / "dataset.json").read_text())
    if changes.get("target_length") == -1:
        changes = {"target_length": meta["target_length"] + 2}
    (store / "dataset.json").write_text(json.dumps({**meta, **changes}))
    pool = meta["pool_width"]
    rebuild = f"crossreg data --seq-length {SEQ_LENGTH} --pool-width {pool} --crop {CROP_BINS}"
    with pytest.raises(ValueError, match=re.escape(wrong)) as raised:
        finetune(world["joint"], store, tmp_path / "out", FineTuneSpec(head="liver"))
    assert rebuild in str(raised.value)
    assert "model.seq_length" not in str(raised.value)
    assert "Cropping1D" not in str(raised.value)


def test_the_manifest_written_before_drawing_names_the_figures_drawn(tmp_path, monkeypatch):
    """A site whose span starts off the chromosome (no base, NaN scores there): the list
    on disk while a figure is drawn, which a crash would leave, names the figure of the
    track drawn (before: the NaN positions made it name track 0's, the drawing wrote T1's)."""
    listed = []

    def drawing(out, *args, **kwargs):
        listed.append((tmp_path / "figures" / MANIFEST).read_text().splitlines()[1:])
        return touch_figure(out, *args, **kwargs)

    monkeypatch.setattr(ism_figures, "plot_site", drawing)
    path = tmp_path / "ism.h5"
    with h5py.File(path, "w") as h5:
        h5["label"] = np.array([b"edge"])
        h5["chr"] = np.array([b"chr8"])
        h5["start"] = np.array([0])
        h5["end"] = np.array([3])
        h5["strand"] = np.array([b"+"])
        h5["seqs"] = np.array([[[0, 0, 0, 0], [1, 0, 0, 0], [0, 1, 0, 0]]], dtype=bool)
        scores = np.zeros((1, 3, 4, 2), dtype=np.float16)
        scores[0, 0] = np.nan  # off the chromosome
        scores[0, 1:, :, 1] = 2.0  # track T1 has the largest |score|
        h5["sum"] = scores
        h5["target_ids"] = np.array([b"T0", b"T1"])
    written = plot_ism_file(path, tmp_path / "figures")
    assert [p.name for p in written] == ["0000_edge_T1.png"]
    assert listed == [["0000_edge_T1.png"]]
    assert (tmp_path / "figures" / MANIFEST).read_text().splitlines()[1:] == ["0000_edge_T1.png"]


@pytest.mark.parametrize(("all_tracks", "svg"), [(False, False), (True, True)])
def test_each_sites_scores_are_read_once(tmp_path, monkeypatch, all_tracks, svg):
    """The drawing read every site's scores twice (once to name the figures for the
    manifest, once to draw them): 17 MB a site for Basenji2's 5,313 tracks, read twice."""
    monkeypatch.setattr(ism_figures, "plot_site", touch_figure)
    path = tmp_path / "ism.h5"
    n, rng = 5, np.random.default_rng(2)
    with h5py.File(path, "w") as h5:
        h5["label"] = np.array([f"s{i}" for i in range(n)], dtype="S")
        h5["chr"] = np.array([b"chr8"] * n)
        h5["start"] = np.arange(n) * 10
        h5["end"] = np.arange(n) * 10 + 3
        h5["seqs"] = np.repeat(np.eye(4, dtype=bool)[[2, 0, 3]][None], n, axis=0)
        h5["sum"] = rng.standard_normal((n, 3, 4, 2)).astype(np.float16)
        h5["target_ids"] = np.array([b"T0", b"T1"])
    reads = []
    stored = ism_figures.stored_sites

    def counted(*args, **kwargs):
        for site in stored(*args, **kwargs):
            reads.append(site.index)
            yield site

    monkeypatch.setattr(ism_figures, "stored_sites", counted)
    written = plot_ism_file(path, tmp_path / "figures", all_tracks=all_tracks, svg=svg)
    assert reads == list(range(n))
    per_site = (2 if all_tracks else 1) * (2 if svg else 1)
    assert len(written) == n * per_site
    listed = (tmp_path / "figures" / MANIFEST).read_text().splitlines()[1:]
    assert listed == [p.name for p in written]
