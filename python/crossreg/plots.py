"""Figures, written as PNG files (and SVG on request) without a display.

Every step that draws builds a :class:`matplotlib.figure.Figure` (no pyplot state, no
display needed) through a function that returns it, so tests can read back what was
plotted, and writes it with :func:`save_figure`: PNG, plus an SVG beside it with ``svg``,
each written atomically.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import polars as pl

from crossreg.io.atomic import atomic_path
from crossreg.io.tables import as_float

if TYPE_CHECKING:
    from matplotlib.figure import Figure

DPI = 120
#: A qualitative palette for genomes (and assays), in the order they are met: Okabe and
#: Ito's, whose colours stay apart for readers with red-green or blue-yellow colour
#: blindness (its yellow, too pale on white, left out).
PALETTE = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000")
#: The paper's assays each have their own colour in every figure, whichever assays a
#: figure shows; another assay takes a palette colour none of these uses.
ASSAY_COLOURS = {"DNASE": PALETTE[0], "CAGE": PALETTE[1], "CHIP": PALETTE[2], "ATAC": PALETTE[3]}
#: The most characters of a track's label in a figure: the paper's descriptions run to
#: over 100 (``DNASE:LNCaP clone FGC treated with 1 nM ...``), which leave the axes no room.
TRACK_LABEL_CHARS = 40
#: Points of one scatter drawn at full size and opacity; more are drawn smaller and
#: fainter, so that the paper's 3,991 ChIP tracks show where they are dense rather than
#: one block of colour.
SPARSE_POINTS = 200


def check_plot_options(plots: bool, svg: bool) -> None:
    """A ValueError for `svg` without `plots`: an SVG beside each figure, of figures not
    drawn, would be nothing (the command line's ``--no-plots`` and ``--svg`` exclude each
    other alike). Every step that draws calls it before any work."""
    if svg and not plots:
        raise ValueError(
            "svg=True writes an SVG beside each figure, but plots=False draws none: pass one "
            "of them (the command line's --svg and --no-plots are not allowed together)"
        )


def new_figure(**kwargs: Any) -> Figure:
    """A stand-alone figure (constrained layout unless told otherwise)."""
    from matplotlib.figure import Figure

    kwargs.setdefault("layout", "constrained")
    return Figure(**kwargs)


def save_figure(fig: Figure, path: str | os.PathLike[str], *, svg: bool = False) -> list[Path]:
    """Write `fig` to the PNG `path` (and the SVG beside it with `svg`), each atomically,
    and release it; returns the files written.

    Every text is drawn literally: labels carry users' track descriptions and names, and a
    ``$`` in them must not start a formula (an unbalanced one would fail the drawing). An
    SVG holds no date and no random element ids, so the same figure is the same bytes."""
    from matplotlib import rc_context
    from matplotlib.text import Text

    path = Path(path)
    written = [path]
    # no date and fixed element ids in an SVG: the same figure is the same bytes
    with rc_context({"text.parse_math": False, "svg.hashsalt": "crossreg"}):
        for text in fig.findobj(Text):
            text.set_parse_math(False)
        with atomic_path(path) as tmp:
            fig.savefig(tmp, format="png", dpi=DPI)
        if svg:
            written.append(path.with_suffix(".svg"))
            with atomic_path(written[-1]) as tmp:
                fig.savefig(tmp, format="svg", metadata={"Date": None})
    if getattr(fig.canvas, "manager", None) is not None:  # made through pyplot
        import matplotlib.pyplot as plt

        plt.close(fig)
    return written


PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
#: the IEND chunk every PNG ends with: no data, its type and its CRC
PNG_END = b"\x00\x00\x00\x00IEND\xaeB`\x82"
SVG_END = b"</svg>"


def figure_intact(path: str | os.PathLike[str]) -> bool:
    """Whether the figure `path` is there whole: a PNG that starts with the PNG signature
    and ends with its ``IEND`` chunk, an SVG that ends with ``</svg>`` (and white space);
    another file, that it is a file. A file cut short (a copy that stopped, a disk that
    filled) or emptied is not, so the finished check of a ``--resume`` draws it again
    like a missing one. Reads the first and last few bytes only."""
    path = Path(path)
    suffix = path.suffix.lower()
    try:
        if suffix not in (".png", ".svg"):
            return path.is_file()
        with open(path, "rb") as handle:
            head = handle.read(len(PNG_SIGNATURE))
            handle.seek(0, os.SEEK_END)
            handle.seek(max(0, handle.tell() - 64))
            tail = handle.read()
    except OSError:  # missing, a folder, unreadable
        return False
    if suffix == ".png":
        return head == PNG_SIGNATURE and tail.endswith(PNG_END)
    return tail.rstrip().endswith(SVG_END)


def remove_stale_figures(folder: Path, stems: Sequence[str], written: Sequence[Path]) -> None:
    """Remove the ``STEM.png``/``STEM.svg`` of `stems` in `folder` that this run did not
    write (`written`): an earlier run's, which would otherwise sit beside this run's."""
    for stem in stems:
        for path in (folder / f"{stem}.png", folder / f"{stem}.svg"):
            if path.exists() and path not in written:
                path.unlink()


def colours(names: list[str]) -> dict[str, str]:
    """A colour per name, in the order given."""
    return {name: PALETTE[i % len(PALETTE)] for i, name in enumerate(names)}


def assay_colours(assays: Sequence[str]) -> dict[str, str]:
    """A colour per assay of `assays`: the paper's assays their own
    (:data:`ASSAY_COLOURS`), so that an assay looks the same in every figure; others, in
    the order met, the palette's other colours."""
    rest = [c for c in PALETTE if c not in ASSAY_COLOURS.values()]
    others = [a for a in dict.fromkeys(assays) if a not in ASSAY_COLOURS]
    found = {a: rest[i % len(rest)] for i, a in enumerate(others)}
    return {a: ASSAY_COLOURS.get(a) or found[a] for a in dict.fromkeys(assays)}


def track_label(description: str, most: int = TRACK_LABEL_CHARS) -> str:
    """A track's `description` as a figure labels it: cut to `most` characters, the last
    one an ellipsis, when longer."""
    return description if len(description) <= most else f"{description[: most - 1]}…"


def point_style(n: int, size: float = 12.0, alpha: float = 0.7) -> tuple[float, float]:
    """Marker area (points²) and opacity for a scatter of `n` points: `size` and
    `alpha` up to :data:`SPARSE_POINTS`, both shrinking with the square root of the count
    beyond (so the ink of a panel grows as √n, not n), to at least 1.5 and 0.15."""
    shrink = min(1.0, (SPARSE_POINTS / max(n, 1)) ** 0.5)
    return max(1.5, size * shrink), max(0.15, alpha * shrink)


def format_p(p: float) -> str:
    """A p-value for a title: ``p = 0.031``, ``p = 2.1e-07``."""
    return f"p = {p:.2g}" if p < 0.001 else f"p = {p:.3f}"


def joint_vs_single_figure(
    pairs: pl.DataFrame, comparison: pl.DataFrame, *, title: str = "", split: str | None = "test"
) -> Figure:
    """One scatter per assay of per-track Pearson R on `split` (plain Pearson R when None),
    single-genome model (x) vs joint model (y), each titled with the binomial test of the
    tracks the joint model improves (from `comparison`,
    :func:`crossreg.evaluate.compare.compare_by_assay`)."""
    tests = {row["assay"]: row for row in comparison.iter_rows(named=True)}
    assays = sorted(set(pairs["assay"]))
    # a margin below the lowest R: a point on the axes' edge would be cut in half
    low = min(as_float(pairs["r_single"].min()), as_float(pairs["r_joint"].min()), 0.0) - 0.05
    columns = min(len(assays), 4)
    rows = -(-len(assays) // columns)
    fig = new_figure(figsize=(3.4 * columns, 3.5 * rows + 0.4))
    axes = fig.subplots(rows, columns, squeeze=False).ravel()
    palette = assay_colours(assays)
    measure = "Pearson R" if split is None else f"{split} Pearson R"
    for ax, assay in zip(axes, assays, strict=False):
        group = pairs.filter(pl.col("assay") == assay)
        size, opacity = point_style(group.height)
        ax.scatter(group["r_single"], group["r_joint"], s=size, alpha=opacity, color=palette[assay])
        ax.plot([low, 1], [low, 1], color="grey", linewidth=0.8, linestyle="--")
        ax.set_xlim(low, 1)
        ax.set_ylim(low, 1)
        ax.set_aspect("equal")
        ax.set_xlabel(f"single-genome model, {measure}")
        ax.set_ylabel(f"joint model, {measure}")
        test = tests[assay]
        ax.set_title(
            f"{assay}: joint better on {_improved(test)}\nbinomial {format_p(test['binomial_p'])}",
            fontsize=9,
        )
    for ax in axes[len(assays) :]:
        ax.set_visible(False)
    every = tests.get("ALL")
    heading = title
    if every is not None:
        overall = (
            f"all tracks: joint better on {_improved(every)}, "
            f"binomial {format_p(every['binomial_p'])}"
        )
        heading = f"{title} — {overall}" if title else overall
    fig.suptitle(heading, fontsize=10)
    return fig


def _improved(test: dict) -> str:
    """``improved/untied`` of a comparison row, with the ties when there are any."""
    untied = test["tracks"] - test.get("ties", 0)
    ties = f" ({test['ties']} tied)" if test.get("ties") else ""
    return f"{test['improved']}/{untied}{ties}"


def joint_vs_single_scatter(
    pairs: pl.DataFrame,
    comparison: pl.DataFrame,
    path: str | os.PathLike[str],
    *,
    title: str = "",
    split: str | None = "test",
    svg: bool = False,
) -> list[Path]:
    """Write :func:`joint_vs_single_figure` to the PNG `path` (and SVG with `svg`)."""
    figure = joint_vs_single_figure(pairs, comparison, title=title, split=split)
    return save_figure(figure, path, svg=svg)
