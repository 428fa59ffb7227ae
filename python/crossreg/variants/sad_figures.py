"""Figures of ``crossreg sad``, drawn from its output (``.h5`` or ``.tsv``) so they can be
redrawn: the distribution of each track's scores, and the top variants with their tracks.

* ``OUT.score_distribution.png``: per track (ordered by assay, then by spread), the median
  and the 25–75% and 1–99% ranges of the statistic over all alleles. An ``.h5`` holds these
  percentiles (``{stat}_pct``), so nothing else is read; a ``.tsv`` is read whole.
* ``OUT.top_variants.png``: a heat map of the alleles with the largest ``|score|`` on any
  track (rows) across the tracks where they score most (columns), with
  ``OUT.top_variants.tsv`` listing them (each one's strongest track). The ``.h5`` is read
  in blocks, so memory stays bounded whatever the number of alleles.

Both are titled with whose variants which head scored
(:func:`crossreg.variants.scored_by.figure_title`: ``human variants, mouse head``), as the
output records it. An output with only the bin profiles
(``--stats REF,ALT``) has no figures; a log line says so.
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt
import polars as pl

from crossreg.io.assays import assay_of
from crossreg.io.atomic import atomic_write
from crossreg.io.h5 import read_h5
from crossreg.io.tables import tsv_text
from crossreg.plots import (
    assay_colours,
    check_plot_options,
    new_figure,
    remove_stale_figures,
    save_figure,
    track_label,
)
from crossreg.variants.sad_attrs import read_attrs
from crossreg.variants.sad_beside import other_output_beside
from crossreg.variants.sad_h5 import SAD_REMEDY
from crossreg.variants.sad_names import PROFILE_STATS, STAT_MEANINGS
from crossreg.variants.sad_percentiles import PERCENTILES
from crossreg.variants.sad_read import SadTable, read_sad
from crossreg.variants.sad_tsv import TSV_FIELDS, metadata_path
from crossreg.variants.scored_by import figure_title

if TYPE_CHECKING:
    from matplotlib.figure import Figure

TOP_VARIANTS = 20
TOP_TRACKS = 40
LABELS_UP_TO = 60
BLOCK_BYTES = 32 << 20

log = logging.getLogger("crossreg")


@dataclass
class SadSummary:
    """What the figures show of one SAD output: per track its percentiles, and the top
    alleles' rows (``values``: alleles × tracks) with their identity."""

    stat: str
    alleles: int
    identifiers: list[str]
    descriptions: list[str]
    percentiles: npt.NDArray[np.float64]  # (levels,), fractions
    track_pct: npt.NDArray[np.float64]  # (tracks, levels)
    top: pl.DataFrame  # snp, chrom, pos, ref, alt, row
    values: npt.NDArray[np.float32]  # (top alleles, tracks)


def first_stat(stats: list[str]) -> str | None:
    """The first (alleles × tracks) statistic of a run, or ``None`` when it has only the
    bin profiles (``REF``, ``ALT``)."""
    return next((s for s in stats if s not in PROFILE_STATS), None)


def stored_stats(path: str | os.PathLike[str]) -> list[str]:
    """The statistics a SAD output holds, in order (``SAD`` for a file that does not say)."""
    path = Path(path)
    if path.suffix == ".h5":
        with read_h5(path, SAD_REMEDY) as handle:
            stats = [s for s in str(handle.attrs.get("stats", "SAD")).split(",") if s in handle]
            return stats or (["SAD"] if "SAD" in handle else [])
    meta = path.with_name(path.name + ".json")
    listed = json.loads(meta.read_text()).get("stats", "SAD") if meta.exists() else "SAD"
    return str(listed).split(",")


def _figure_stat(path: Path) -> str:
    stats = stored_stats(path)
    stat = first_stat(stats)
    if stat is None:
        raise ValueError(
            f"{path}: no (alleles × tracks) statistic to draw; it holds {','.join(stats)}"
        )
    return stat


def _top_rows(scores: npt.NDArray, n: int) -> npt.NDArray[np.int64]:
    """Row indices of the `n` largest `scores`, largest first (ties: lower row first)."""
    order = np.argsort(-scores, kind="stable")
    return order[:n].astype(np.int64)


def summarise(path: str | os.PathLike[str], *, top: int = TOP_VARIANTS) -> SadSummary:
    """Read what the figures need from a SAD ``.h5`` or ``.tsv``."""
    path = Path(path)
    stat = _figure_stat(path)
    if path.suffix == ".h5":
        return _summarise_h5(path, stat, top)
    sad = read_sad(path, stat, sites=True)
    values = sad.values.astype(np.float64)
    chosen = _top_rows(np.abs(values).max(axis=1), top) if len(values) else np.zeros(0, int)
    pct = np.quantile(values, PERCENTILES, axis=0).T if len(values) else np.zeros((0, 0))
    return SadSummary(
        stat,
        len(values),
        sad.identifiers,
        sad.descriptions or [""] * len(sad.identifiers),
        PERCENTILES.astype(np.float64),
        pct,
        _top_sites(sad, chosen),
        sad.values[chosen],
    )


def _top_sites(sad: SadTable, chosen: npt.NDArray[np.int64]) -> pl.DataFrame:
    """The `chosen` alleles of a ``.tsv``: snp, chrom, pos, ref and alt as text (the
    position as a number) and their row."""
    assert sad.sites is not None  # read_sad gives a .tsv's sites when asked
    picked = [(sad.labels[row], *sad.sites[row]) for row in chosen.tolist()]
    return pl.DataFrame(
        picked, schema=dict.fromkeys(TSV_FIELDS, pl.String), orient="row"
    ).with_columns(pl.col("pos").cast(pl.Int64), pl.Series("row", chosen))


def _summarise_h5(path: Path, stat: str, top: int) -> SadSummary:
    with read_h5(path, SAD_REMEDY) as handle:
        scores = handle[stat]
        n, n_tracks = scores.shape
        ids = handle["target_ids"][:].astype(str).tolist()
        labels = (
            handle["target_labels"][:].astype(str).tolist()
            if "target_labels" in handle
            else [""] * n_tracks
        )
        levels = handle["percentiles"][:] if "percentiles" in handle else PERCENTILES
        pct = handle[f"{stat}_pct"][:].astype(np.float64) if f"{stat}_pct" in handle else None
        peak = np.zeros(n, dtype=np.float32)
        step = max(1, BLOCK_BYTES // max(1, n_tracks * scores.dtype.itemsize))
        for start in range(0, n, step):
            block = np.abs(scores[start : start + step].astype(np.float32))
            peak[start : start + len(block)] = block.max(axis=1) if n_tracks else 0
        chosen = _top_rows(peak, top)
        sorted_rows = np.sort(chosen)
        values = scores[sorted_rows.tolist()].astype(np.float32) if len(chosen) else None
        values = (
            values[np.searchsorted(sorted_rows, chosen)]
            if values is not None
            else np.zeros((0, n_tracks), dtype=np.float32)
        )
        fields = {}
        for name, key in (("snp", "snp"), ("chrom", "chr"), ("pos", "pos")):
            fields[name] = handle[key][sorted_rows.tolist()] if len(chosen) else np.zeros(0)
        for name, key in (("ref", "ref_allele"), ("alt", "alt_allele")):
            fields[name] = handle[key][sorted_rows.tolist()] if len(chosen) else np.zeros(0)
        if pct is None:  # a file without percentiles (not crossreg's): none drawn
            pct = np.full((n_tracks, len(levels)), np.nan)
    order = np.searchsorted(sorted_rows, chosen)
    rows = pl.DataFrame(
        {
            name: [v.decode() if isinstance(v, bytes) else v for v in np.asarray(col)[order]]
            for name, col in fields.items()
        }
    ).with_columns(pl.col("pos").cast(pl.Int64), pl.Series("row", chosen))
    return SadSummary(
        stat, n, ids, labels, np.asarray(levels, np.float64), pct, rows, np.asarray(values)
    )


def _at(summary: SadSummary, level: float) -> npt.NDArray[np.float64]:
    """Each track's percentile nearest `level` (a fraction)."""
    return summary.track_pct[:, int(np.abs(summary.percentiles - level).argmin())]


def track_order(summary: SadSummary) -> list[int]:
    """Tracks by assay, then by the width of their 1–99% range, widest first."""
    spread = _at(summary, 0.99) - _at(summary, 0.01)
    spread = np.nan_to_num(spread, nan=-np.inf)
    assays = [assay_of(d) for d in summary.descriptions]
    return sorted(range(len(assays)), key=lambda t: (assays[t], -spread[t], t))


def distribution_figure(summary: SadSummary, *, title: str = "") -> Figure:
    """Per track, in :func:`track_order`: the median (a line), the 25–75% and 1–99%
    ranges (a bar each, so that every track shows its own, an assay's lone track too) of
    the statistic over all alleles, coloured by assay; the legend beside the axes, off
    the data."""
    order = track_order(summary)
    assays = [assay_of(summary.descriptions[t]) for t in order]
    palette = assay_colours(assays)
    x = np.arange(len(order))
    # the tracks named as top_variants.png names them: by description, else identifier
    labels = [track_label(summary.descriptions[t] or summary.identifiers[t]) for t in order]
    label_room = 0.04 * max(map(len, labels), default=0) if len(order) <= LABELS_UP_TO else 0
    fig = new_figure(figsize=(min(16.0, max(6.0, 0.18 * len(order) + 3.5)), 3.4 + label_room))
    ax = fig.subplots()
    level = {q: _at(summary, q)[order] for q in (0.01, 0.25, 0.5, 0.75, 0.99)}
    ax.plot(
        x, level[0.5], color="black", lw=0.8, marker="." if len(x) < 200 else None, label="median"
    )
    for assay in dict.fromkeys(assays):
        at = np.flatnonzero([a == assay for a in assays])
        for low, high, alpha, what in ((0.01, 0.99, 0.25, "1–99%"), (0.25, 0.75, 0.6, "25–75%")):
            bottom = level[low][at]
            bars = ax.bar(
                x[at],
                level[high][at] - bottom,
                bottom=bottom,
                width=0.8,
                color=palette[assay],
                alpha=alpha,
                lw=0,
                label=f"{assay} {what}",
            )
            for bar in bars:  # a margin beyond the widest range, not the frame at its end
                bar.sticky_edges.y.clear()
    ax.axhline(0, color="0.6", lw=0.5)
    ax.set_xlim(-0.6, len(order) - 0.4)
    if len(order) <= LABELS_UP_TO:
        ax.set_xticks(x, labels, rotation=90, fontsize=6)
    else:
        ax.set_xticks([])
    ax.set_xlabel(f"track ({len(order)}, by assay, widest range first)")
    ax.set_ylabel(stat_label(summary.stat))
    heading = f"{summary.stat} per track over {summary.alleles:,} alleles"
    ax.set_title(f"{title}: {heading}" if title else heading, fontsize=10)
    ax.legend(frameon=False, fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    return fig


def stat_label(stat: str) -> str:
    """An axis label saying what the statistic `stat` is (``SAD (alt − ref, ...)``)."""
    meaning = STAT_MEANINGS.get(stat)
    return f"{stat} ({meaning})" if meaning else stat


def top_tracks(summary: SadSummary, n: int = TOP_TRACKS) -> list[int]:
    """The `n` tracks with the largest ``|score|`` among the top alleles, by assay."""
    peak = np.abs(summary.values).max(axis=0) if len(summary.values) else np.zeros(0)
    chosen = _top_rows(peak, n).tolist()
    return sorted(chosen, key=lambda t: (assay_of(summary.descriptions[t]), -peak[t]))


def allele_label(row: dict) -> str:
    """``rs1 chr1:1,234 A>G``; alleles longer than 10 bases are shown by their length
    (``AGT…(3380 bp)``), so a long indel does not crowd out the figure."""
    ref, alt = (_short(row[key]) for key in ("ref", "alt"))
    return f"{row['snp']} {row['chrom']}:{row['pos']:,} {ref}>{alt}"


def _short(allele: str, keep: int = 10) -> str:
    return allele if len(allele) <= keep else f"{allele[:3]}…({len(allele)} bp)"


def top_variants_figure(summary: SadSummary, *, title: str = "") -> Figure:
    """The top alleles (rows, strongest first) × their strongest tracks (columns): the
    statistic, on a diverging scale centred on 0."""
    tracks = top_tracks(summary)
    shown = summary.values[:, tracks]
    limit = float(np.abs(shown).max()) if shown.size else 1.0
    labels = [track_label(summary.descriptions[t] or summary.identifiers[t]) for t in tracks]
    label_room = 0.04 * max(map(len, labels), default=0)  # inches of the rotated 6-pt labels
    fig = new_figure(
        figsize=(
            min(16.0, 4.0 + 0.22 * len(tracks)),
            min(14.0, 2.2 + 0.28 * len(shown)) + label_room,
        )
    )
    ax = fig.subplots()
    image = ax.imshow(
        shown,
        cmap="RdBu_r",
        vmin=-(limit or 1),
        vmax=limit or 1,
        aspect="auto",
        interpolation="nearest",
    )
    ax.set_yticks(range(len(shown)), [allele_label(r) for r in summary.top.iter_rows(named=True)])
    ax.tick_params(axis="y", labelsize=7)
    ax.set_xticks(range(len(tracks)), labels, rotation=90, fontsize=6)
    ax.set_xlabel("tracks where these alleles score most")
    fig.colorbar(image, ax=ax, label=stat_label(summary.stat), shrink=0.8)
    heading = f"top {len(shown)} alleles by largest |{summary.stat}| on any track"
    ax.set_title(f"{title}: {heading}" if title else heading, fontsize=10)
    return fig


def top_table(summary: SadSummary) -> pl.DataFrame:
    """The top alleles with their strongest track: snp, chrom, pos, ref, alt, max_abs,
    track, description and the statistic there."""
    strongest = np.abs(summary.values).argmax(axis=1) if summary.values.size else np.zeros(0, int)
    return summary.top.drop("row").with_columns(
        pl.Series("max_abs", np.abs(summary.values).max(axis=1) if summary.values.size else []),
        pl.Series("track", [summary.identifiers[t] for t in strongest], dtype=pl.Utf8),
        pl.Series("description", [summary.descriptions[t] for t in strongest], dtype=pl.Utf8),
        pl.Series(
            summary.stat,
            [float(summary.values[i, t]) for i, t in enumerate(strongest)],
            dtype=pl.Float64,
        ),
    )


def figure_paths(out: str | os.PathLike[str]) -> dict[str, Path]:
    """Where the figures of the SAD output `out` go: beside it, named after it."""
    out = Path(out)
    return {
        "distribution": out.with_name(out.stem + ".score_distribution.png"),
        "top": out.with_name(out.stem + ".top_variants.png"),
        "table": out.with_name(out.stem + ".top_variants.tsv"),
    }


def figure_files(out: str | os.PathLike[str], *, svg: bool = False) -> list[Path]:
    """The files :func:`plot_sad` writes beside the SAD output `out` (one with alleles
    and tracks), SVGs too with `svg`."""
    paths = figure_paths(out)
    figures = [paths["distribution"], paths["top"]]
    return [*figures, *(p.with_suffix(".svg") for p in figures if svg), paths["table"]]


def recorded_title(out: str | os.PathLike[str]) -> str:
    """The :func:`~crossreg.variants.scored_by.figure_title` of the SAD output `out` (""
    for a ``.tsv`` without its metadata beside it)."""
    out = Path(out)
    if out.suffix != ".h5" and not metadata_path(out).exists():
        return ""
    return figure_title(read_attrs(out))


def plot_sad(out: str | os.PathLike[str], *, svg: bool = False) -> list[Path]:
    """Draw the figures of the SAD output `out` (and ``.top_variants.tsv``) beside it,
    titled as :func:`recorded_title` says; returns the files written (none for an output
    without alleles or tracks, or with only the bin profiles ``REF``/``ALT``, which is
    logged)."""
    stats = stored_stats(out)
    if first_stat(stats) is None:
        log.info(
            "%s: no figures: they show an (alleles × tracks) statistic and --stats %s has "
            "none (add SAD or another)",
            out,
            ",".join(stats),
        )
        return []
    summary = summarise(out)
    if not summary.alleles or not summary.identifiers:
        return []
    paths = figure_paths(out)
    title = recorded_title(out)
    written = save_figure(distribution_figure(summary, title=title), paths["distribution"], svg=svg)
    written += save_figure(top_variants_figure(summary, title=title), paths["top"], svg=svg)
    with atomic_write(paths["table"]) as handle:
        handle.write(tsv_text(top_table(summary)))
    return [*written, paths["table"]]


def draw_figures(
    out: str | os.PathLike[str], *, plots: bool = True, svg: bool = False
) -> list[Path]:
    """The figures of the SAD output `out`, just written: drawn beside it unless `plots`
    is off (:func:`plot_sad`), and those an earlier run into the same `out` left that
    this one did not draw (of other variants) removed, unless an output of the other kind
    shares their names (:func:`other_output_beside`); returns the files written."""
    check_plot_options(plots, svg)
    written = plot_sad(out, svg=svg) if plots else []
    if other_output_beside(Path(out)) is not None:
        return written
    paths = figure_paths(out)
    drawn = [paths[key].stem for key in ("distribution", "top")]
    remove_stale_figures(paths["table"].parent, drawn, written)
    if paths["table"] not in written:
        paths["table"].unlink(missing_ok=True)
    return written
