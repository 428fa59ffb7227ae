"""An assay has one colour in every figure, whichever assays a figure shows, and the
palette's colours stay apart for readers with colour blindness."""

from __future__ import annotations

from itertools import combinations

import numpy as np
import polars as pl
from matplotlib.colors import to_hex, to_rgb

from crossreg.evaluate.compare import compare_by_assay, paired_tracks
from crossreg.evaluate.figures import r_by_assay_figure, tracks_figure
from crossreg.evaluate.table import metrics_table
from crossreg.plots import ASSAY_COLOURS, PALETTE, joint_vs_single_figure
from crossreg.stats.denovo_figures import tracks_q_figure

ALL = ["ATAC:a", "CAGE:a", "CAGE:b", "CHIP:H3K27ac:a", "CHIP:CTCF:b", "DNASE:a", "DNASE:b"]


def _tracks_data(descriptions: list[str]) -> dict[str, np.ndarray]:
    """What ``tracks.npz`` holds, for one window of 8 bins of the tracks `descriptions`."""
    n = len(descriptions)
    signal = np.arange(8 * n, dtype=np.float32).reshape(1, n, 8)
    return {
        "chrom": np.array(["chr1"]),
        "start": np.array([1000]),
        "bin_width": np.array(128),
        "identifier": np.array([f"t{i}" for i in range(n)]),
        "description": np.array(descriptions),
        "pearson_r": np.full(n, 0.5),
        "measured": signal,
        "predicted": signal,
    }


def test_an_assay_has_its_colour_in_every_figure():
    # before: each figure coloured the assays it showed by their order, so tracks.png
    # (CHIP, CAGE, DNASE met in that order) drew ChIP blue and DNase green where
    # r_by_assay.png and scatter.png drew ChIP green and DNase purple
    drawn: dict[str, set[str]] = {assay: set() for assay in ASSAY_COLOURS}
    shown = ["CHIP:H3K27ac:a", "CAGE:a", "DNASE:a"]
    fig = tracks_figure(_tracks_data(shown))
    for row, description in enumerate(shown):
        drawn[description.split(":")[0]].add(to_hex(fig.axes[row].lines[0].get_color()))

    ids = [f"t{i}" for i in range(len(ALL))]
    r = np.linspace(0.2, 0.8, len(ALL))
    table = metrics_table(ids, ALL, r, r**2)
    ax = r_by_assay_figure(table).axes[0]
    for assay, points in zip(sorted(ASSAY_COLOURS), ax.collections, strict=True):
        drawn[assay].add(to_hex(points.get_facecolor()[0]))

    pairs = paired_tracks(table, metrics_table(ids, ALL, r[::-1], r**2))
    for panel in joint_vs_single_figure(pairs, compare_by_assay(pairs)).axes:
        if panel.get_visible():
            drawn[panel.get_title().split(":")[0]].add(
                to_hex(panel.collections[0].get_facecolor()[0])
            )

    q = pl.DataFrame({"identifier": ids, "description": ALL, "q": np.linspace(0.01, 0.5, len(ALL))})
    bars = tracks_q_figure(q).axes[0].patches[: len(ALL)]
    for bar, description in zip(
        bars, sorted(ALL, key=lambda d: (d.split(":")[-1], d)), strict=True
    ):
        drawn[description.split(":")[0]].add(to_hex(bar.get_facecolor()))

    assert drawn == {assay: {to_hex(colour)} for assay, colour in ASSAY_COLOURS.items()}


def test_the_box_plot_medians_take_no_assay_colour():
    # before: matplotlib's orange medians read as one more assay beside CAGE's vermillion
    ids = [f"t{i}" for i in range(len(ALL))]
    r = np.linspace(0.2, 0.8, len(ALL))
    ax = r_by_assay_figure(metrics_table(ids, ALL, r, r**2)).axes[0]
    coloured = {to_hex(line.get_color()) for line in ax.lines if line.get_color() != "0.7"}
    assert coloured == {"#000000"}  # boxes, whiskers, caps and medians; 0.7 is the zero line


def _linear(rgb: np.ndarray) -> np.ndarray:
    return np.where(rgb <= 0.04045, rgb / 12.92, ((rgb + 0.055) / 1.055) ** 2.4)


def _lab(linear: np.ndarray) -> np.ndarray:
    """CIELAB (D65) of a linear sRGB colour."""
    to_xyz = np.array(
        [[0.4124, 0.3576, 0.1805], [0.2126, 0.7152, 0.0722], [0.0193, 0.1192, 0.9505]]
    )
    xyz = to_xyz @ linear / np.array([0.95047, 1.0, 1.08883])
    f = np.where(xyz > (6 / 29) ** 3, np.cbrt(xyz), xyz / (3 * (6 / 29) ** 2) + 4 / 29)
    return np.array([116 * f[1] - 16, 500 * (f[0] - f[1]), 200 * (f[1] - f[2])])


#: Machado, Oliveira and Fernandes (2009): full protanopia, deuteranopia and tritanopia
#: as matrices on linear sRGB.
DICHROMACY = {
    "protanopia": [
        [0.152286, 1.052583, -0.204868],
        [0.114503, 0.786281, 0.099216],
        [-0.003882, -0.048116, 1.051998],
    ],
    "deuteranopia": [
        [0.367322, 0.860646, -0.227968],
        [0.280085, 0.672501, 0.047413],
        [-0.011820, 0.042940, 0.968881],
    ],
    "tritanopia": [
        [1.255528, -0.076749, -0.178779],
        [-0.078411, 0.930809, 0.147602],
        [0.004733, 0.691367, 0.303900],
    ],
}


def test_the_assay_colours_stay_apart_under_colour_blindness():
    # before: tab10's red and green (CAGE and ChIP) were 7 CIELAB units apart for a
    # deuteranope and the blue and purple 6 for a protanope; Okabe and Ito's stay 17 apart
    colours = [*ASSAY_COLOURS.values()]
    assert colours == list(PALETTE[: len(colours)])  # the two genomes' colours too
    for vision, matrix in DICHROMACY.items():
        seen = [
            _lab(np.clip(np.array(matrix) @ _linear(np.array(to_rgb(c))), 0, 1)) for c in colours
        ]
        closest = min(np.linalg.norm(a - b) for a, b in combinations(seen, 2))
        assert closest > 15, vision
