"""Figures of ``crossreg evaluate``: predicted against measured coverage along a few test
windows (the picture people check first), and the distribution of per-track test Pearson R
by assay.

The windows and tracks are chosen so the picture is typical, not flattering: per assay
(up to three), the track whose R is the median of its assay; then the windows with the most
signal in those tracks (each track's per-window sum over its mean over windows, summed over
the tracks). The sums are tallied while the evaluation reads the targets
(:class:`WindowSums`), so choosing costs no second pass over the data. What is drawn is
saved beside the figure (``tracks.npz``), so it can be checked and redrawn
(:func:`plot_evaluation`) without the model.
"""

from __future__ import annotations

import os
import textwrap
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt
import polars as pl

from crossreg.evaluate.files import TRACKS_FILE
from crossreg.io.assays import assay_of
from crossreg.io.atomic import atomic_path
from crossreg.plots import assay_colours, new_figure, point_style, save_figure

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from crossreg.data.store import DataStore
    from crossreg.model.inference import InferenceOptions
    from crossreg.model.seqnn import SeqNN

WINDOWS = 3
TRACKS = 3


class WindowSums:
    """Rows of a ``(windows, bins, tracks)`` array, read by slices, that tally each
    window's per-track sum (``sums``, float64 ``(windows, tracks)``: zeros, or `sums`
    given, such as a memory map that keeps them) as they are read."""

    def __init__(self, array: Any, sums: npt.NDArray[np.float64] | None = None) -> None:
        self.array = array
        shape = (array.shape[0], array.shape[-1])
        self.sums = np.zeros(shape, dtype=np.float64) if sums is None else sums
        if self.sums.shape != shape:
            raise ValueError(f"window sums of shape {self.sums.shape}, not {shape}")

    def __len__(self) -> int:
        return len(self.array)

    def __getitem__(self, key: slice) -> npt.NDArray:
        rows = self.array[key]
        start, _, _ = key.indices(len(self.array))
        self.sums[start : start + len(rows)] = np.asarray(rows, dtype=np.float32).sum(axis=1)
        return rows


def choose_tracks(table: pl.DataFrame, n: int = TRACKS) -> list[int]:
    """Row indices of `n` tracks of a metrics table: one per assay (assays with most tracks
    first), the one with the median R of its assay; then, when there are fewer assays than
    `n`, the next tracks around the medians."""
    assays = [assay_of(d) for d in table["description"]]
    r = table["pearson_r"].fill_nan(None).fill_null(-np.inf).to_numpy()
    groups: dict[str, list[int]] = {}
    for i, assay in enumerate(assays):
        groups.setdefault(assay, []).append(i)
    by_median = {}
    for assay, members in groups.items():
        ranked = sorted(members, key=lambda i: r[i])
        middle = (len(ranked) - 1) // 2
        spread = sorted(enumerate(ranked), key=lambda kept: (abs(kept[0] - middle), -r[kept[1]]))
        by_median[assay] = [i for _, i in spread]
    order = sorted(groups, key=lambda a: (-len(groups[a]), a))
    chosen: list[int] = []
    depth = 0
    while len(chosen) < min(n, len(assays)):
        for assay in order:
            if depth < len(by_median[assay]) and len(chosen) < n:
                chosen.append(by_median[assay][depth])
        depth += 1
    return chosen


def choose_windows(sums: npt.NDArray, tracks: list[int], n: int = WINDOWS) -> list[int]:
    """The `n` windows with the most signal in `tracks`, most first: each track's window
    sums over their mean, summed over the tracks."""
    part = sums[:, tracks]
    mean = part.mean(axis=0)
    score = (part / np.where(mean > 0, mean, 1.0)).sum(axis=1)
    return [int(i) for i in np.argsort(-score, kind="stable")[:n]]


def window_tracks(
    model: SeqNN,
    head: str,
    store: DataStore,
    split: str,
    table: pl.DataFrame,
    sums: npt.NDArray,
    options: InferenceOptions,
) -> dict[str, npt.NDArray]:
    """Measured and predicted coverage of the chosen tracks along the chosen windows of
    `split`, with what is needed to draw them: the arrays :data:`TRACKS_FILE` holds."""
    import torch

    from crossreg.dna import one_hot
    from crossreg.model.geometry import crop_to_targets
    from crossreg.model.inference import predict_batch

    tracks = choose_tracks(table)
    rows = choose_windows(sums, tracks)
    measured = np.stack([np.asarray(store.targets(split)[i], dtype=np.float32) for i in rows])
    codes = np.stack([np.asarray(store.sequences(split)[i]) for i in rows])
    with torch.inference_mode():
        pred = predict_batch(model, one_hot(codes, dtype=np.uint8), head, options)
        predicted = crop_to_targets(pred, measured.shape[1]).cpu().numpy()
    windows = store.windows(split)
    bins = store.target_length
    offset = (store.seq_length - bins * store.pool_width) // 2
    return {
        "rows": np.array(rows, dtype=np.int64),
        "chrom": np.array([windows[i].chrom for i in rows]),
        "start": np.array([windows[i].start + offset for i in rows], dtype=np.int64),
        "bin_width": np.array(store.pool_width, dtype=np.int64),
        "track": np.array(tracks, dtype=np.int64),
        "identifier": np.array([table["identifier"][t] for t in tracks]),
        "description": np.array([table["description"][t] for t in tracks]),
        "pearson_r": np.array([table["pearson_r"][t] for t in tracks], dtype=np.float64),
        # (windows, tracks, bins)
        "measured": measured[..., tracks].transpose(0, 2, 1),
        "predicted": predicted[..., tracks].transpose(0, 2, 1).astype(np.float32),
    }


def figure_title(heads: list[str], head: str, genome: str, split: str) -> str:
    """The title of evaluate's figures: the `head` scored, the `heads` of its model (a
    joint model's ``human + mouse``, a single-genome model's ``human``: their human heads
    are otherwise told apart by nothing), and the genome and split scored. It names the
    model by what it holds, not where it lies, so a copy draws the same figures."""
    return f"{head} head (model of {' + '.join(heads)}) on {genome} {split}"


def save_tracks(path: str | os.PathLike[str], data: dict[str, npt.NDArray]) -> Path:
    """Write the drawn tracks as an ``.npz``, atomically."""
    path = Path(path)
    with atomic_path(path) as tmp, open(tmp, "wb") as handle:
        np.savez(handle, **data)  # type: ignore[arg-type]
    return path


def load_tracks(path: str | os.PathLike[str]) -> dict[str, npt.NDArray]:
    """The arrays of a :data:`TRACKS_FILE`."""
    with np.load(path) as handle:
        return {key: handle[key] for key in handle.files}


def tracks_figure(data: dict[str, npt.NDArray], *, title: str = "", split: str = "test") -> Figure:
    """A panel per track (rows) and window (columns) of the `split` scored: measured
    coverage (grey, filled) and the prediction (coloured line) along the window's target
    bins, each track labelled with its description, identifier and R; the legend above
    the panels."""
    n_windows, n_tracks, n_bins = data["measured"].shape
    fig = new_figure(figsize=(4.2 * n_windows, 1.9 * n_tracks + 0.8))
    axes = fig.subplots(n_tracks, n_windows, squeeze=False)
    width = int(data["bin_width"])
    palette = assay_colours([assay_of(str(d)) for d in data["description"]])
    for w in range(n_windows):
        start = int(data["start"][w])
        x = (start + width * (np.arange(n_bins) + 0.5)) / 1e3
        for t in range(n_tracks):
            ax = axes[t, w]
            description = str(data["description"][t])
            ax.fill_between(
                x, data["measured"][w, t], step="mid", color="0.75", lw=0, label="measured"
            )
            ax.plot(
                x,
                data["predicted"][w, t],
                color=palette[assay_of(description)],
                lw=1.0,
                label="predicted",
            )
            ax.set_xlim(x[0], x[-1])
            ax.set_ylim(bottom=0)
            if t == 0:
                end = start + width * n_bins
                ax.set_title(f"{data['chrom'][w]}:{start:,}-{end:,}", fontsize=9)
            if w == 0:
                r = float(data["pearson_r"][t])
                # two lines of a long description fit the panel's height; the identifier
                # tells apart tracks of one description (302 are shared in the paper's human table)
                name = "\n".join(textwrap.wrap(description, 24, max_lines=2, placeholder="…"))
                track = str(data["identifier"][t])
                ax.set_ylabel(f"{name}\n({track}, {split} R {r:.2f})\ncoverage", fontsize=8)
            if t == n_tracks - 1:
                ax.set_xlabel(f"position on {data['chrom'][w]} (kb)")
    # above the panels, not over a window's peaks; the prediction's colour is its assay's
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    keys = [Patch(color="0.75", label="measured"), Line2D([], [], color="0.3", label="predicted")]
    fig.legend(handles=keys, loc="outside upper right", ncols=2, frameon=False, fontsize=8)
    heading = f"predicted vs measured, {split} windows with the most signal"
    fig.suptitle(f"{title}: {heading}" if title else heading, fontsize=10)
    return fig


def r_by_assay_figure(table: pl.DataFrame, *, title: str = "", split: str = "test") -> Figure:
    """Per assay, every track's Pearson R on `split` (jittered points) over a box plot,
    with the track count and mean R below each; a table with ``specificity_r`` (evaluate
    --specificity) adds each track's specificity R as open diamonds to the right."""
    assays_of = [assay_of(d) for d in table["description"]]
    assays = sorted(set(assays_of))
    r = table["pearson_r"].to_numpy()
    values = [r[[a == assay for a in assays_of]] for assay in assays]
    values = [v[np.isfinite(v)] for v in values]
    palette = assay_colours(assays)
    fig = new_figure(figsize=(max(4.0, 1.3 * len(assays) + 1.5), 4.0))
    ax = fig.subplots()
    # the medians black: matplotlib's orange would read as one more assay's colour
    ax.boxplot(
        values,
        positions=range(len(assays)),
        widths=0.5,
        showfliers=False,
        medianprops={"color": "black"},
    )
    rng = np.random.default_rng(0)
    for i, (assay, v) in enumerate(zip(assays, values, strict=True)):
        size, opacity = point_style(v.size, size=8.0, alpha=0.6)
        x = i + rng.uniform(-0.15, 0.15, v.size)
        ax.scatter(x, v, s=size, alpha=opacity, color=palette[assay])
    if "specificity_r" in table.columns:  # evaluate --specificity: beside each assay's R
        spec = table["specificity_r"].fill_null(np.nan).to_numpy()
        for i, assay in enumerate(assays):
            v = spec[[a == assay for a in assays_of]]
            v = v[np.isfinite(v)]
            x = i + 0.32 + rng.uniform(-0.05, 0.05, v.size)
            label = "specificity R" if i == 0 else None
            ax.scatter(x, v, s=10, marker="D", facecolors="none", edgecolors="0.3", label=label)
        ax.legend(frameon=False, fontsize=8, loc="best")
    labels = [
        f"{a}\n(n={v.size}, mean {v.mean():.2f})" if v.size else f"{a}\n(n=0)"
        for a, v in zip(assays, values, strict=True)
    ]
    ax.set_xticks(range(len(assays)), labels, fontsize=8)
    ax.set_ylabel(f"{split} Pearson R per track")
    ax.axhline(0, color="0.7", lw=0.5)
    heading = "per-track Pearson R by assay"
    ax.set_title(f"{title}:\n{heading}" if title else heading, fontsize=10)
    return fig


def plot_evaluation(
    out: str | os.PathLike[str], *, svg: bool = False, title: str = "", split: str = "test"
) -> list[Path]:
    """Draw ``r_by_assay.png`` from ``metrics.tsv`` and ``tracks.png`` from
    ``tracks.npz`` (when present) in the evaluate output directory `out` of a run that
    scored `split`; returns the files written."""
    from crossreg.evaluate.table import read_metrics

    out = Path(out)
    written = save_figure(
        r_by_assay_figure(read_metrics(out / "metrics.tsv"), title=title, split=split),
        out / "r_by_assay.png",
        svg=svg,
    )
    if (out / TRACKS_FILE).exists():
        figure = tracks_figure(load_tracks(out / TRACKS_FILE), title=title, split=split)
        written += save_figure(figure, out / "tracks.png", svg=svg)
    return written
