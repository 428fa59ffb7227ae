"""One site's ISM figure (the paper's Figure 5b) for one track: the reference sequence as
a letter logo scaled by each base's importance above a heat map of every mutation's
effect.

Importance of a position is the negative of the mean effect of its 3 mutations (``-mean_b
(stat(mutant_b) - stat(reference))``): tall upright letters where mutating the base lowers
the prediction, letters below the axis where mutating it raises it. From the stored scores
(mean over the 4 bases removed) it is ``4/3`` of the reference base's score, so it is
proportional to Basenji's ``basenji_sat_plot.py`` logo heights (the reference base's
score). The heat map has a row per base (A, C, G, T) and a column per position; its cells
are the mutation effects ``stat(mutant) - stat(reference)``, the reference base's cell
left blank, so each column shows that position's 3 mutations. N positions (no reference
base) have no letter. The x axis gives positions 1-based, as a genome browser and the VCF
do; a minus-strand site is drawn 5' to 3' on its strand, from the span's last genome
position back to its first. A VCF site's figure marks its record's REF (a pale band
behind its letters, an outline around its heat-map columns) and names its alleles
(``G>A``) under the logo.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from crossreg.plots import new_figure, save_figure
from crossreg.variants.ism_motifs import MotifHit

if TYPE_CHECKING:
    from matplotlib.figure import Figure

BASES = "ACGT"
COLOURS = {"A": "#109648", "C": "#255c99", "G": "#f7b32b", "T": "#d62839"}


def importance(scores: npt.NDArray, seq: npt.NDArray) -> npt.NDArray[np.float32]:
    """Per-position importance ``(width,)`` from mean-removed scores ``(width, 4)`` and the
    reference one-hot ``(width, 4)``: minus the mean effect of the 3 mutations (0 at N)."""
    ref_score = (scores.astype(np.float32) * seq).sum(axis=1)
    return (4.0 / 3.0 * ref_score * seq.any(axis=1)).astype(np.float32)


def mutation_matrix(scores: npt.NDArray, seq: npt.NDArray) -> npt.NDArray[np.float32]:
    """``(4, width)`` mutation effects (mutant − reference), NaN at the reference base.
    At N positions (no reference) the mean-removed scores are shown as they are."""
    scores = scores.astype(np.float32)
    ref_score = (scores * seq).sum(axis=1, keepdims=True)
    effects = scores - ref_score
    effects[seq.astype(bool)] = np.nan
    return effects.T


@dataclass(frozen=True)
class VariantMark:
    """The columns ``[first, end)`` of a site's drawn span that its VCF record's REF
    covers (they may run past either end of it) and the record's alleles as shown
    (:func:`allele_text`)."""

    first: int
    end: int
    allele: str

    def shifted(self, columns: int) -> VariantMark:
        """The mark on a span whose first `columns` columns are cut off."""
        return dataclasses.replace(self, first=self.first - columns, end=self.end - columns)


#: The longest allele a figure shows whole; a longer one shows its start and length.
ALLELE_CHARS = 8


def allele_text(ref: str, alt: str) -> str:
    """A record's alleles as a figure names them, ``REF>ALT`` (ALTs comma-separated), an
    allele longer than :data:`ALLELE_CHARS` shown by its start and length
    (``ACGTA…(30 bp)>A``)."""

    def short(allele: str) -> str:
        if len(allele) <= ALLELE_CHARS:
            return allele
        return f"{allele[: ALLELE_CHARS - 3]}…({len(allele)} bp)"

    return f"{short(ref)}>{','.join(short(a) for a in alt.split(','))}"


def draw_letter(ax, letter: str, x: float, y: float, height: float) -> None:
    """Draw `letter` filling ``[x, x + 1] × [y, y + height]`` (negative height: below y)."""
    from matplotlib.font_manager import FontProperties
    from matplotlib.patches import PathPatch
    from matplotlib.textpath import TextPath
    from matplotlib.transforms import Affine2D

    if height == 0:
        return
    path = TextPath(
        (0, 0), letter, size=1, prop=FontProperties(family="DejaVu Sans", weight="bold")
    )
    box = path.get_extents()
    transform = (
        Affine2D()
        .translate(-box.x0, -box.y0)
        .scale(0.9 / box.width, height / box.height)
        .translate(x + 0.05, y)
    )
    ax.add_patch(PathPatch(transform.transform_path(path), color=COLOURS[letter], lw=0))


def site_figure(
    scores: npt.NDArray,
    seq: npt.NDArray,
    *,
    title: str,
    stat: str = "sum",
    start: int | None = None,
    strand: str = "+",
    motifs: Sequence[MotifHit] = (),
    variant: VariantMark | None = None,
) -> Figure:
    """The logo and heat map of one site and track (`scores` ``(width, 4)``, mean-removed;
    `seq` the reference one-hot ``(width, 4)``); `start`, the span's 0-based start, is
    shown 1-based, as a genome browser shows it (a ``-`` `strand` site's first column is
    the span's last genome position). Each of `motifs` is marked by a bracket over its
    columns above the logo, named with its strand; the `variant`'s columns by a band
    behind the logo and an outline in the heat map, its alleles named under the logo
    (:func:`draw_variant`)."""
    width = len(seq)
    heights = importance(scores, seq)
    effects = mutation_matrix(scores, seq)
    fig = new_figure(figsize=(max(6.0, width * 0.09), 3.6))
    logo, heat = fig.subplots(2, 1, sharex=True, height_ratios=[1, 1.1])
    for i in range(width):
        if seq[i].any():
            draw_letter(logo, BASES[int(np.argmax(seq[i]))], i, 0.0, float(heights[i]))
    bound = float(np.abs(heights).max()) or 1.0
    top = bound * (1.5 if motifs else 1.05)  # room above the letters for the brackets
    bottom = min(-0.05 * bound, float(heights.min()) * 1.05)
    if variant is not None:  # room under the letters for the alleles
        bottom -= 0.3 * bound
        draw_variant(logo, heat, variant, width, bottom + 0.04 * bound)
    logo.set_ylim(bottom, top)
    logo.axhline(0, color="0.6", lw=0.5)
    for hit in motifs:
        draw_motif(logo, hit, bound * 1.12)
    logo.set_ylabel("importance")
    logo.set_title(title, fontsize=9)
    finite = effects[np.isfinite(effects)]
    limit = float(np.abs(finite).max()) if finite.size else 1.0
    image = heat.imshow(
        np.ma.masked_invalid(effects),
        aspect="auto",
        cmap="RdBu_r",
        vmin=-(limit or 1.0),
        vmax=limit or 1.0,
        extent=(0, width, 3.5, -0.5),
        interpolation="nearest",
    )
    heat.set_yticks(range(4), list(BASES))
    heat.set_xlim(0, width)
    offsets = position_offsets(width)
    heat.set_xticks([k + 0.5 for k in offsets], [str(k) for k in offsets])
    heat.set_xlabel(position_label(start, width, strand))
    fig.colorbar(image, ax=heat, label=f"{stat}: mutant − reference", pad=0.01)
    return fig


def draw_motif(ax, hit: MotifHit, y: float) -> None:
    """A bracket over columns ``[hit.start, hit.end)`` at height `y`, the motif's name and
    strand above it."""
    ax.plot(
        [hit.start + 0.1, hit.start + 0.1, hit.end - 0.1, hit.end - 0.1],
        [y * 0.96, y, y, y * 0.96],
        color="0.2",
        lw=1.0,
    )
    ax.text(
        (hit.start + hit.end) / 2, y, f"{hit.name} ({hit.strand})", ha="center", va="bottom",
        fontsize=8,
    )  # fmt: skip


def draw_variant(logo, heat, mark: VariantMark, width: int, y: float) -> None:
    """Mark the columns of `mark` (those of the `width` drawn): a pale band behind them
    in the `logo` axes, its alleles named at height `y` under it, and an outline around
    them in the `heat` map; nothing where none is drawn (a record off the chromosome).
    Each mark's artists have the id ``variant`` (in an SVG too)."""
    from matplotlib.patches import Rectangle

    first, end = max(mark.first, 0), min(mark.end, width)
    if first >= end:
        return
    logo.axvspan(first, end, color="0.88", lw=0, zorder=0, gid="variant")
    logo.text(
        (first + end) / 2, y, mark.allele, ha="center", va="bottom", fontsize=8, gid="variant"
    )
    heat.add_patch(
        Rectangle(
            (first, -0.5), end - first, 4, fill=False, edgecolor="0.1", lw=1.2, zorder=3,
            gid="variant",
        )
    )  # fmt: skip


def position_offsets(width: int, most: int = 8) -> list[int]:
    """Whole offsets from the first column (at most about `most` of them) for the x axis of
    `width` columns: each tick sits at the centre of its column (column ``k`` spans
    ``[k, k + 1]``), so it names one base, never a fraction or a boundary."""
    from matplotlib.ticker import MaxNLocator

    ticks = MaxNLocator(nbins=most, integer=True).tick_values(0, width - 1)
    return [int(k) for k in ticks if 0 <= k < width]


def position_label(start: int | None, width: int, strand: str) -> str:
    """The x-axis label: the genome position of the first column, 1-based (the ticks are
    offsets from it, :func:`position_offsets`)."""
    if start is None:
        return "position"
    if strand == "-":
        return f"position (from {start + width:,}, minus strand)"
    return f"position (from {start + 1:,})"


def plot_site(
    out: str | os.PathLike[str],
    scores: npt.NDArray,
    seq: npt.NDArray,
    *,
    title: str,
    stat: str = "sum",
    start: int | None = None,
    strand: str = "+",
    motifs: Sequence[MotifHit] = (),
    variant: VariantMark | None = None,
    svg: bool = False,
) -> list[Path]:
    """Write :func:`site_figure` to the PNG `out` (and an SVG beside it with `svg`);
    returns the files written."""
    fig = site_figure(
        scores, seq, title=title, stat=stat, start=start, strand=strand, motifs=motifs,
        variant=variant,
    )  # fmt: skip
    return save_figure(fig, out, svg=svg)
