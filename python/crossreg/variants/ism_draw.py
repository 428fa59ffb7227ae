"""The figures of an ISM run (:mod:`crossreg.variants.ism`, drawn by
:mod:`crossreg.variants.ism_figures`): where they go, the options that ask for them, whether
a finished run's are all there, and drawing them once its file is written."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from crossreg.errors import Interrupted
from crossreg.plots import check_plot_options
from crossreg.synth.motifs import Motif


def check_figure_options(plots: bool, svg: bool, motifs: Sequence[Motif]) -> None:
    """A ValueError for `svg` (:func:`~crossreg.plots.check_plot_options`) or `motifs`
    without `plots`: the matches of `motifs` are marked on the figures only, so with none
    drawn they would go unused (the command line's ``--motifs`` with ``--no-plots`` is
    refused alike). :func:`~crossreg.variants.ism.write_ism` and
    :func:`~crossreg.variants.ism_merge.merge_ism` call it before any work."""
    check_plot_options(plots, svg)
    if motifs and not plots:
        raise ValueError(
            "motifs are marked on the figures, but plots=False draws none: pass one of them "
            "(the command line's --motifs with --no-plots is refused alike)"
        )


def figures_folder(out: str | os.PathLike[str]) -> Path:
    """Where :func:`~crossreg.variants.ism.write_ism` draws its figures unless told: beside
    the output file, named after it (``ism.h5`` → ``ism.figures/``)."""
    out = Path(out)
    return out.with_name(f"{out.stem}.figures")


def draw_figures(
    out: Path,
    figures: str | os.PathLike[str] | None,
    *,
    each_track: bool,
    plots: bool,
    svg: bool,
    motifs: Sequence[Motif] = (),
    rerun: str = "a rerun with --resume draws only them, one without it scores again",
) -> list[Path]:
    """Draw the figures of the finished ISM file `out` in the folder `figures` (by default
    :func:`figures_folder` of `out`): one per site for its strongest track, or for
    `each_track`, the matches of `motifs` marked; with `plots` false, remove an earlier
    run's there instead. An interrupt while drawing says that `out` is complete and how to
    draw them from it, and what a rerun of the command would do (`rerun`)."""
    check_figure_options(plots, svg, motifs)
    from crossreg.variants.ism_figure_files import remove_earlier_figures
    from crossreg.variants.ism_figures import plot_ism_file

    folder = Path(figures_folder(out) if figures is None else figures)
    if not plots:
        remove_earlier_figures(folder)
        return []
    try:
        return plot_ism_file(out, folder, all_tracks=each_track, svg=svg, motifs=motifs)
    except KeyboardInterrupt:
        raise Interrupted(
            f"{out} is complete, its figures in {folder} are not: redraw them from it "
            f"with crossreg.variants.ism_figures.plot_ism_file ({rerun})"
        ) from None


def figures_drawn(
    out: Path, figures: str | os.PathLike[str] | None, count: int, *, svg: bool
) -> bool:
    """Whether the folder `figures` (by default :func:`figures_folder` of `out`) holds
    every figure :func:`draw_figures` draws of the finished ISM file `out` (`count`
    PNGs), whole, and no other it listed (a drawing stopped part way, one with or without
    `svg`, a figure cut short is drawn again)."""
    from crossreg.variants.ism_figure_files import drawn_figures

    folder = Path(figures_folder(out) if figures is None else figures)
    return drawn_figures(folder, count, svg=svg)


def listed_figures(folder: Path) -> list[Path]:
    """The figures a drawing listed in `folder` (its manifest) that are there: those of a
    finished output a ``--resume`` leaves as they are."""
    from crossreg.variants.ism_figure_files import earlier_figures

    return [folder / name for name in earlier_figures(folder)]
