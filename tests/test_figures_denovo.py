"""``crossreg denovo``'s figures: −log10 q by cell type, components, the risk score."""

from __future__ import annotations

import json
import re
import warnings

import numpy as np
import polars as pl
import pytest

from crossreg.cli import build_parser
from crossreg.errors import Interrupted
from crossreg.plots import format_p
from crossreg.stats.denovo_figures import (
    NO_COMPONENTS,
    components_figure,
    q_order,
    risk_figure,
    tracks_q_figure,
)
from tests.test_denovo import _planted, _write_inputs


def _run(tmp_path, *extra: str):
    sad, people, is_case = _planted(shift=1.5)
    paths = _write_inputs(tmp_path, sad, people, is_case)
    out = tmp_path / "report"
    argv = ["denovo", "--out", str(out), "--components", "3", "--folds", "4", *extra]
    for group, (vcf, table) in paths.items():
        argv += [f"--{group}-vcf", str(vcf), f"--{group}-sad", str(table)]
    args = build_parser().parse_args(argv)
    assert args.run(args) == 0
    return out


def read(path) -> pl.DataFrame:
    return pl.read_csv(path, separator="\t")


def test_figures_show_the_tables(tmp_path):
    out = _run(tmp_path)
    for name in ("tracks_q", "components", "risk_score"):
        assert (out / f"{name}.png").read_bytes()[:4] == b"\x89PNG"
        assert not (out / f"{name}.svg").exists()

    tracks = read(out / "tracks.tsv")
    bars = tracks_q_figure(tracks).axes[0].patches[: tracks.height]
    ordered = q_order(tracks)
    assert ordered["cell_type"].to_list() == sorted(ordered["cell_type"].to_list())
    heights = np.array([bar.get_height() for bar in bars])
    np.testing.assert_allclose(heights, -np.log10(ordered["q"].to_numpy()), rtol=1e-9)
    planted = ordered["identifier"].to_list().index("t0_liver")
    assert heights[planted] > -np.log10(0.05) and heights.argmax() == planted

    scores = read(out / "component_scores.tsv")
    components = read(out / "components.tsv")
    assert scores.columns == [
        *["individual", "group", "variant", "chrom", "pos", "ref", "alt"],
        *["PC1", "PC2", "PC3"],
    ]
    counts = json.loads((out / "summary.json").read_text())
    assert scores.height == counts["case_variants"] + counts["control_variants"]
    fig = components_figure(scores, components)
    first = fig.axes[0]
    cases = scores.filter(pl.col("group") == "case")["PC1"].to_numpy()
    counted = sum(bar.get_height() * bar.get_width() for bar in first.containers[0])
    assert abs(counted - 1.0) < 1e-9 and len(cases) > 0  # a density of the cases' scores
    assert format_p(components["p"][0]) in first.get_title()

    people = read(out / "individuals.tsv")
    summary = json.loads((out / "summary.json").read_text())
    ax = risk_figure(people, summary).axes[0]
    assert f"AUC {summary['risk_auc']:.2f}" in ax.get_title()
    for container, group in zip(ax.containers, ("case", "control"), strict=True):
        assert sum(bar.get_height() for bar in container) == (people["group"] == group).sum()


def test_scores_the_same_for_every_variant_draw_a_components_panel_saying_so():
    # before: empty axes and matplotlib's warning of a legend with no labelled artist
    scores = pl.DataFrame({"individual": ["a", "b"], "group": ["case", "control"]})
    components = pl.DataFrame(schema={"component": pl.Utf8, "explained": pl.Float64})
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        fig = components_figure(scores, components)
    (ax,) = fig.axes
    assert [t.get_text() for t in ax.texts] == [NO_COMPONENTS] and not ax.axison


def test_no_plots_and_svg(tmp_path):
    bare = _run(tmp_path / "a", "--no-plots")
    assert not list(bare.glob("*.png"))
    assert (bare / "component_scores.tsv").exists()
    vector = _run(tmp_path / "b", "--svg")
    assert sorted(p.name for p in vector.glob("*.svg")) == [
        "components.svg",
        "risk_score.svg",
        "tracks_q.svg",
    ]


def test_many_cell_types_label_those_with_the_smallest_q_apart():
    # the paper's 5,313 tracks hold thousands of cell types: one label each would overlap
    from crossreg.stats.denovo_figures import LABEL_CHARS, LABELS_UP_TO

    n = 500
    rng = np.random.default_rng(0)
    q = rng.uniform(1e-6, 1.0, n)
    top = int(q.argmin())
    cells = [f"cell {i:03d}" + (" " + "x" * 100 if i == top else "") for i in range(n)]
    tracks = pl.DataFrame(
        {
            "identifier": [f"t{i}" for i in range(n)],
            "description": [f"DNASE:{c}" for c in cells],
            "q": q,
        }
    )
    ax = tracks_q_figure(tracks).axes[0]
    labels = [t.get_text() for t in ax.get_xticklabels()]
    ticks = [int(t) for t in ax.get_xticks()]
    gap = n / LABELS_UP_TO
    assert 1 < len(labels) <= LABELS_UP_TO
    assert np.all(np.diff(ticks) >= gap)  # no two labels overlap
    ordered = q_order(tracks)
    names = ordered["cell_type"].to_list()
    height = ordered["minus_log10_q"].to_numpy()
    assert labels == [
        n if len(n) <= LABEL_CHARS else n[: LABEL_CHARS - 1] + "…"
        for n in (names[t] for t in ticks)
    ]
    assert cells[top][: LABEL_CHARS - 1] + "…" in labels
    for i in set(range(n)) - set(ticks):  # each left out for a stronger label close by
        assert any(abs(i - t) < gap and height[t] >= height[i] for t in ticks)
    assert "smallest q" in ax.get_xlabel()


def test_a_run_stopped_while_drawing_leaves_no_earlier_figure_beside_its_tables(
    tmp_path, monkeypatch
):
    """An interrupt (or a failure) while the figures are drawn left the earlier run's
    figures beside this run's tables, showing numbers the tables no longer hold."""
    from crossreg.stats import denovo_figures
    from crossreg.stats.denovo_report import write_denovo

    sad, people, is_case = _planted(shift=1.5)
    paths = _write_inputs(tmp_path, sad, people, is_case)
    groups = {"case": paths["cases"], "control": paths["controls"]}
    out = tmp_path / "report"
    write_denovo(groups, out, components=3, folds=4, svg=True)
    assert len(list(out.glob("*.png")) + list(out.glob("*.svg"))) == 6

    def interrupt(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(denovo_figures, "risk_figure", interrupt)
    tables = "tracks.tsv, components.tsv, component_scores.tsv, individuals.tsv, summary.json"
    said = f"holds only {tables}, tracks_q.png, components.png of this run, and no earlier run's"
    with pytest.raises(Interrupted, match=re.escape(said)):
        write_denovo(groups, out, components=3, folds=3)
    assert json.loads((out / "summary.json").read_text())["folds"] == 3  # this run's tables
    left = {p.name for p in out.glob("*.png")} | {p.name for p in out.glob("*.svg")}
    assert left == {"tracks_q.png", "components.png"}  # this run's, drawn before the stop


def _stop_at_the_third_table(monkeypatch) -> None:
    """Make denovo's writing of its tables stop (a KeyboardInterrupt) at the third one."""
    from crossreg.stats import denovo_report

    tsv_text = denovo_report.tsv_text
    written: list[pl.DataFrame] = []

    def stop_at_the_third(frame):
        if len(written) == 2:
            raise KeyboardInterrupt
        written.append(frame)
        return tsv_text(frame)

    monkeypatch.setattr(denovo_report, "tsv_text", stop_at_the_third)


def test_a_run_stopped_while_writing_its_tables_leaves_no_earlier_table(tmp_path, monkeypatch):
    """A stop between two of the tables left the earlier run's later tables and its
    summary.json beside this run's first ones, a folder that reads as one finished run."""
    from crossreg.stats.denovo_report import write_denovo

    sad, people, is_case = _planted(shift=1.5)
    paths = _write_inputs(tmp_path, sad, people, is_case)
    groups = {"case": paths["cases"], "control": paths["controls"]}
    out = tmp_path / "report"
    write_denovo(groups, out, components=3, folds=4, plots=False)
    tables = {p.name for p in out.iterdir()}
    assert {"tracks.tsv", "individuals.tsv", "summary.json"} <= tables
    _stop_at_the_third_table(monkeypatch)
    with pytest.raises(Interrupted, match=r"holds only tracks\.tsv, components\.tsv of this run"):
        write_denovo(groups, out, components=3, folds=3, plots=False)
    assert {p.name for p in out.iterdir()} == {"tracks.tsv", "components.tsv"}


def test_a_run_stopped_before_writing_says_its_folder_is_as_it_was(tmp_path, monkeypatch):
    """A stop during the tests leaves an earlier run's files, and says so."""
    from crossreg.stats import denovo_report
    from crossreg.stats.denovo_report import write_denovo

    sad, people, is_case = _planted(shift=1.5)
    paths = _write_inputs(tmp_path, sad, people, is_case)
    groups = {"case": paths["cases"], "control": paths["controls"]}
    out = tmp_path / "report"
    write_denovo(groups, out, components=3, folds=4, plots=False)
    before = {p.name: p.read_bytes() for p in out.iterdir()}

    def interrupt(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(denovo_report, "run_tests", interrupt)
    with pytest.raises(Interrupted, match=f"nothing was written: {re.escape(str(out))} is as it"):
        write_denovo(groups, out, components=3, folds=3, plots=False)
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    with pytest.raises(Interrupted, match=r"nothing was written: .*new was not made"):
        write_denovo(groups, tmp_path / "new", components=3, folds=3, plots=False)


def test_the_risk_score_counts_whole_people():
    # before: 20 cases and 20 controls drew the people axis at 0, 0.5, 1.0, 1.5, ...
    # 40 scores spread evenly but for a few people at one score, as the demo's
    scores = np.concatenate([np.linspace(-7.5, 11, 36), [3.0, 3.1, 3.2, 3.3]])
    people = pl.DataFrame({"group": ["case", "control"] * 20, "risk_score": scores})
    fig = risk_figure(people, {"risk_auc": 0.43, "risk_p": 0.44})
    fig.draw_without_rendering()
    ticks = fig.axes[0].get_yticks()
    assert len(ticks) > 2 and np.array_equal(ticks, np.round(ticks))


def test_a_first_run_stopped_while_writing_is_rerun_into_its_folder(tmp_path, monkeypatch):
    """A first run into a new folder stopped while writing its tables leaves files that no
    run log names; its rerun was refused until they were removed. A folder holding only
    denovo's own files is taken for its stopped run and written anew; one holding a file
    of anyone else is still refused."""
    _stop_at_the_third_table(monkeypatch)
    with pytest.raises(Interrupted, match=r"rerun to write them all$"):
        _run(tmp_path)
    out = tmp_path / "report"
    assert {p.name for p in out.iterdir()} == {"tracks.tsv", "components.tsv"}
    monkeypatch.undo()
    (out / "notes.txt").write_text("mine\n")
    with pytest.raises(ValueError, match=r"files no finished crossreg denovo wrote"):
        _run(tmp_path)
    (out / "notes.txt").unlink()
    assert _run(tmp_path) == out
    assert (out / "summary.json").is_file() and (out / "risk_score.png").is_file()
