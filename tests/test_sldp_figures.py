"""SLDP figures: the z matrix, the profile correlation, clustering and the PNG files."""

from __future__ import annotations

import numpy as np
import polars as pl

from crossreg.stats.sldp.figures import (
    cluster_order,
    profile_correlation,
    write_figures,
    z_matrix,
)


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


def test_figures_are_pngs(tmp_path):
    paths = write_figures(_results(), tmp_path, formats=("png", "svg"))
    assert sorted(p.name for p in paths) == [
        "z_correlation.png",
        "z_correlation.svg",
        "z_heatmap.png",
        "z_heatmap.svg",
    ]
    assert (tmp_path / "z_heatmap.png").read_bytes()[:4] == b"\x89PNG"
