"""SLDP figures: the z matrix, the profile correlation, clustering, the PNG (and SVG)
files, and ``crossreg sldp --no-plots`` / ``--svg``."""

from __future__ import annotations

import json

import numpy as np
import polars as pl
import pytest
from scipy.stats import chi2

from crossreg.cli import main
from crossreg.stats.sldp.figures import (
    cluster_order,
    largest_z,
    profile_correlation,
    write_figures,
    z_correlation_figure,
    z_heatmap_figure,
    z_matrix,
)
from tests.test_sldp_estimator import CHROM, JK_BLOCKS, write_world


def _results() -> pl.DataFrame:
    rows = []
    z = {"liver_a": [4.0, 3.0, 0.1], "liver_b": [3.5, 2.5, -0.2], "brain": [-1.0, 0.5, 0.3]}
    for annot, values in z.items():
        for pheno, value in zip(["liver", "macrophage", "null"], values, strict=True):
            rows.append({"pheno": pheno, "annot": annot, "z": value})
    return pl.DataFrame(rows)


def test_z_matrix_puts_each_value_in_its_cell():
    annots, phenos, z = z_matrix(_results())
    assert annots == ["liver_a", "liver_b", "brain"] and phenos == ["liver", "macrophage", "null"]
    assert z[1, 0] == 3.5 and z[2, 2] == 0.3


def test_profile_correlation_and_clustering_group_alike_profiles():
    _, _, z = z_matrix(_results())
    corr = profile_correlation(z)
    expected = np.corrcoef(z)
    np.testing.assert_allclose(corr, expected, atol=1e-12)
    order = list(cluster_order(z))
    assert abs(order.index(0) - order.index(1)) == 1  # the two liver tracks sit together
    assert list(cluster_order(z[:2])) == [0, 1]  # too few rows to cluster


def test_figures_are_pngs_and_svgs_on_request(tmp_path):
    paths = write_figures(_results(), tmp_path / "a")
    assert [p.name for p in paths] == ["z_heatmap.png", "z_correlation.png"]
    assert (tmp_path / "a" / "z_heatmap.png").read_bytes()[:4] == b"\x89PNG"
    paths = write_figures(_results(), tmp_path / "b", svg=True)
    assert [p.name for p in paths] == [
        "z_heatmap.png",
        "z_heatmap.svg",
        "z_correlation.png",
        "z_correlation.svg",
    ]
    assert b"<svg" in (tmp_path / "b" / "z_correlation.svg").read_bytes()[:1000]


def test_figures_draw_the_clustered_z_and_correlation():
    annots, phenos, z = z_matrix(_results())
    ax = z_heatmap_figure(_results()).axes[0]
    rows, cols = cluster_order(z), cluster_order(z.T)
    np.testing.assert_array_equal(ax.get_images()[0].get_array(), z[np.ix_(rows, cols)])
    assert [t.get_text() for t in ax.get_yticklabels()] == [annots[i] for i in rows]
    assert [t.get_text() for t in ax.get_xticklabels()] == [phenos[j] for j in cols]
    assert ax.figure.axes[1].get_ylabel() == "z"
    resolved = z_heatmap_figure(_results(), flips=100_000).axes[1].get_ylabel()
    assert resolved == "z (|z| ≤ 4.42:\np ≥ 1/100,000 flips)"
    assert chi2.sf(largest_z(1000) ** 2, 1) == pytest.approx(1e-3)
    corr = profile_correlation(z)
    drawn = z_correlation_figure(_results()).axes[0].get_images()[0].get_array()
    np.testing.assert_allclose(drawn, corr[np.ix_(rows, rows)], atol=1e-12)  # the map's order


def test_the_correlation_figure_clusters_profiles_not_the_n_by_n_correlations(monkeypatch):
    """Of n annotations the clustering sees the n z profiles (a column per phenotype),
    the heat map's row order; before, it clustered the n × n correlation matrix on
    correlation distance, n² × n work: 138 s and 3.5 GB of memory for 5,313 tracks on 3
    phenotypes, and tens of minutes for the two heads of the paper's 5,313 tracks."""
    import scipy.cluster.hierarchy

    rng = np.random.default_rng(3)
    rows = [
        {"pheno": pheno, "annot": f"a{i}", "z": float(rng.normal())}
        for i in range(40)
        for pheno in ("liver", "macrophage", "null")
    ]
    clustered: list[tuple[int, ...]] = []
    linkage = scipy.cluster.hierarchy.linkage

    def recording(values, *args, **kwargs):
        clustered.append(np.shape(values))
        return linkage(values, *args, **kwargs)

    monkeypatch.setattr(scipy.cluster.hierarchy, "linkage", recording)
    fig = z_correlation_figure(pl.DataFrame(rows))
    assert clustered == [(40, 3)]
    labels = [t.get_text() for t in fig.axes[0].get_yticklabels()]
    _, _, z = z_matrix(pl.DataFrame(rows))
    assert labels == [f"a{i}" for i in cluster_order(z)]


def test_a_constant_profile_does_not_stop_the_others_clustering():
    """An annotation whose z does not vary (all NaN, or a track without SNPs) goes last
    and the others are clustered; before, one such row left every row unclustered."""
    z = np.array([[4.0, 3.0, 0.1], [0.0, 0.0, 0.0], [-1.0, 0.5, 0.3], [3.5, 2.5, -0.2]])
    z[1] = np.nan
    order = list(cluster_order(z))
    assert order[-1] == 1 and abs(order.index(0) - order.index(3)) == 1


def test_command_without_plots_and_with_svg(tmp_path):
    write_world(tmp_path)
    root = str(tmp_path)
    argv = [
        "sldp", "--bfile-chr", f"{root}/panel.", "--print-snps", f"{root}/print_snps.txt",
        "--ld-blocks", f"{root}/blocks.bed", "--ldscores-chr", f"{root}/ld.",
        "--sannot-chr", f"{root}/annot.", "--sumstats", f"{root}/trait.sumstats.gz",
        "--chroms", CHROM, "--flips", "1000", "--jk-blocks", str(JK_BLOCKS),
    ]  # fmt: skip
    assert main([*argv, "--out", f"{root}/bare", "--no-plots"]) == 0
    assert not list((tmp_path / "bare").glob("*.png"))
    assert not list((tmp_path / "bare").glob("*.svg"))
    assert json.loads((tmp_path / "bare" / "summary.json").read_text())["figures"] == []
    assert main([*argv, "--out", f"{root}/svg", "--svg"]) == 0
    figures = ["z_heatmap.png", "z_heatmap.svg", "z_correlation.png", "z_correlation.svg"]
    assert json.loads((tmp_path / "svg" / "summary.json").read_text())["figures"] == figures
    for name in figures:
        assert (tmp_path / "svg" / name).stat().st_size > 0


@pytest.mark.parametrize(("annots", "flips"), [(1, 1_000_000), (2, 1_000_000), (3, 10_000_000)])
def test_the_heatmap_labels_stay_inside_the_figure(annots: int, flips: int) -> None:
    # before: with few annotations the colour bar's label ran off the figure
    # ("... p ≥ 1/1,000,000 flip" and the rest cut off)
    rows = [
        {"pheno": pheno, "annot": f"a{i}", "z": float(i - j)}
        for i in range(annots)
        for j, pheno in enumerate(["liver", "macrophage", "null"])
    ]
    fig = z_heatmap_figure(pl.DataFrame(rows), flips=flips)
    fig.draw_without_rendering()
    box = fig.bbox
    for ax in fig.axes:
        for text in [ax.xaxis.label, ax.yaxis.label, ax.title]:
            extent = text.get_window_extent()
            assert box.y0 - 1 <= extent.y0 and extent.y1 <= box.y1 + 1, text.get_text()
            assert box.x0 - 1 <= extent.x0 and extent.x1 <= box.x1 + 1, text.get_text()


def test_svgs_of_the_same_results_are_the_same_bytes(tmp_path):
    # before: each SVG held its save time and random clip-path ids, so a resumed --svg run
    # did not give an uninterrupted run's bytes
    for name in ("a", "b"):
        write_figures(_results(), tmp_path / name, flips=1000, svg=True)
    for svg in ("z_heatmap.svg", "z_correlation.svg"):
        assert (tmp_path / "a" / svg).read_bytes() == (tmp_path / "b" / svg).read_bytes()
