"""Figures of saturation mutagenesis (the paper's Figure 5b): the reference sequence as a
letter logo scaled by each base's importance above a heat map of every mutation's effect.

Importance of a position is the negative of the mean effect of its 3 mutations (``-mean_b
(stat(mutant_b) - stat(reference))``): tall upright letters where mutating the base lowers
the prediction, letters below the axis where mutating it raises it. From the stored scores
(mean over the 4 bases removed) it is ``4/3`` of the reference base's score, so it is
proportional to Basenji's ``basenji_sat_plot.py`` logo heights (the reference base's
score). The heat map has a row per base (A, C, G, T) and a column per position; its cells
are the mutation effects ``stat(mutant) - stat(reference)``, the reference base's cell
left blank, so each column shows that position's 3 mutations. N positions (no reference
base) have no letter. A title's first line says whose sites which head scored, as the file
records it (``human variants, mouse head``, or ``variants on hg38.fa, mouse head`` for a
run without ``--variants-genome``; :func:`crossreg.variants.scored_by.figure_title`).
Titles and axes give positions 1-based, as a genome browser and the VCF do (the ``.h5``
stores 0-based starts); a minus-strand site is drawn 5' to 3' on its strand, from the
span's last genome position back to its first. A span running off its chromosome (no
reference base and NaN scores there) is drawn over its positions on the chromosome only. A
VCF site's figure marks its record's REF (a pale band behind its letters, an outline
around its heat-map columns) and names its alleles (``G>A``) under the logo; a file
without the record's position (a BED's, or one written before it was stored) marks none.
Each drawing replaces the folder's figures of an earlier one: those the earlier one listed
in the folder's manifest (:data:`MANIFEST`), nothing else. Figure names are
``<index>_<label>_<track>.png``, the index of 4 digits or more (as many as the file's last
index needs), label and track cut with a hash when long (:func:`figure_name`).
"""

from __future__ import annotations

import dataclasses
import hashlib
import logging
import os
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from crossreg.io.atomic import atomic_write
from crossreg.io.h5 import read_h5
from crossreg.plots import figure_intact, new_figure, save_figure
from crossreg.progress import progress
from crossreg.variants.ism_motifs import MotifHit, broken_motifs, motif_matches, weighed
from crossreg.variants.scored_by import figure_title

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from crossreg.synth.motifs import Motif

BASES = "ACGT"
COLOURS = {"A": "#109648", "C": "#255c99", "G": "#f7b32b", "T": "#d62839"}

log = logging.getLogger("crossreg")


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


def browser_span(chrom: str, start: int, width: int) -> str:
    """A 0-based span start and width as a genome browser writes the span, 1-based and
    inclusive: ``chr8:11,561,680-11,561,682`` for start 11,561,679 and width 3."""
    return f"{chrom}:{start + 1:,}-{start + width:,}"


def safe_name(text: str) -> str:
    """`text` with anything but letters, digits, ``._-`` replaced by ``_``."""
    return re.sub(r"[^A-Za-z0-9._-]+", "_", text).strip("_") or "site"


#: The most characters of a site label and of a track identifier in a figure's name: with
#: the index, the separators, ``.svg`` and a temporary file's extra characters
#: (:func:`crossreg.io.atomic.atomic_path`) a name stays far below the 255 bytes a file
#: system allows.
LABEL_CHARS = 96
TRACK_CHARS = 64

#: The list of the figures a drawing wrote, kept in its folder: what the next one removes.
MANIFEST = ".crossreg-ism-figures"

#: A figure name :func:`figure_name` forms: a site index of 4 or more digits, ``_``, the
#: label's and the track's parts joined by ``_``, ``.png`` or ``.svg``.
FIGURE_NAME = re.compile(r"[0-9]{4,}_[A-Za-z0-9._-]+_[A-Za-z0-9._-]+\.(png|svg)")


def name_part(text: str, limit: int) -> str:
    """:func:`safe_name` of `text`, cut to `limit` characters when longer: its start, ``-``
    and 8 hexadecimal digits of the SHA-1 of the full `text` (stable across runs)."""
    safe = safe_name(text)
    if len(safe) <= limit:
        return safe
    digest = hashlib.sha1(text.encode("utf-8")).hexdigest()[:8]
    return f"{safe[: limit - len(digest) - 1]}-{digest}"


def index_digits(count: int) -> int:
    """Digits of the site index in figure names for `count` sites: 4, more when needed."""
    return max(4, len(str(max(count - 1, 0))))


def figure_name(index: int, digits: int, label: str, track: str) -> str:
    """The PNG name of site `index`'s figure for `track`: ``0007_<label>_<track>.png``,
    the index zero-padded to `digits`, label and track cut by :func:`name_part`."""
    return f"{index:0{digits}d}_{name_part(label, LABEL_CHARS)}_{name_part(track, TRACK_CHARS)}.png"


@dataclass(frozen=True)
class StoredSite:
    """One site of an ISM ``.h5``: its row `index`, label, span and strand, the
    statistic's scores ``(width, 4, tracks)``, the reference one-hot ``(width, 4)`` and,
    for a VCF's site, its record's columns and alleles (`variant`)."""

    index: int
    label: str
    chrom: str
    start: int
    strand: str
    ids: list[str]
    stat: str
    scores: npt.NDArray[np.float32]
    seq: npt.NDArray[np.float32]
    variant: VariantMark | None = None


def chromosome_bounds(scores: npt.NDArray, seq: npt.NDArray) -> tuple[int, int]:
    """The columns ``[first, end)`` of a site's span (`scores` ``(width, 4, tracks)``, the
    reference one-hot `seq` ``(width, 4)``) between its positions off the chromosome at
    either end: no reference base, every score NaN."""
    on = np.flatnonzero(seq.any(axis=1) | ~np.isnan(scores).all(axis=(1, 2)))
    return (int(on[0]), int(on[-1]) + 1) if on.size else (0, 0)


def on_chromosome(site: StoredSite) -> StoredSite:
    """`site` without the positions at either end of its span that lie off the chromosome
    (no reference base, every score NaN), its `start` moved to the first one kept on the
    forward strand."""
    first, end = chromosome_bounds(site.scores, site.seq)
    shift = len(site.seq) - end if site.strand == "-" else first
    variant = None if site.variant is None else site.variant.shifted(first)
    return dataclasses.replace(
        site,
        start=site.start + shift,
        scores=site.scores[first:end],
        seq=site.seq[first:end],
        variant=variant,
    )


def _stored_sites(path: str | os.PathLike[str], stat: str | None) -> Iterator[StoredSite]:
    """The sites of the ISM ``.h5`` at `path`, read one at a time with statistic `stat`
    (default: ``sum``, else ``center``); a file or chunk that does not read back is named.
    A file without ``strand`` (written before it was stored) is on the ``+`` strand; one
    without ``pos`` (a BED's sites, or written before it was stored) marks no variant."""
    with read_h5(path, "rerun crossreg ism to write it again") as handle:
        stat = stat or next(k for k in ("sum", "center") if k in handle)
        labels = handle["label"][:].astype(str)
        chroms = handle["chr"][:].astype(str)
        starts = handle["start"][:]
        strands = handle["strand"][:].astype(str) if "strand" in handle else ["+"] * len(labels)
        ids = handle["target_ids"][:].astype(str).tolist()
        marks = _variant_marks(handle, starts)
        for i, label in enumerate(labels):
            yield StoredSite(
                i,
                str(label),
                str(chroms[i]),
                int(starts[i]),
                str(strands[i]),
                ids,
                stat,
                handle[stat][i].astype(np.float32),
                handle["seqs"][i].astype(np.float32),
                marks[i] if marks else None,
            )


def _variant_marks(handle: Any, starts: npt.NDArray[np.int64]) -> list[VariantMark]:
    """Each site's :class:`VariantMark` from an open ISM ``.h5`` of a VCF's sites (its
    ``pos``, 1-based, ``ref_allele`` and ``alt_allele``; a VCF's sites are on the ``+``
    strand, so the REF's first base is column ``pos - 1 - start``); none for a file
    without ``pos``."""
    if "pos" not in handle:
        return []
    refs = handle["ref_allele"][:].astype(str)
    alts = handle["alt_allele"][:].astype(str)
    firsts = handle["pos"][:].astype(np.int64) - 1 - starts
    return [
        VariantMark(int(first), int(first) + len(ref), allele_text(ref, alt))
        for first, ref, alt in zip(firsts, refs, alts, strict=True)
    ]


def chosen_tracks(site: StoredSite, all_tracks: bool) -> Sequence[int]:
    """The tracks drawn for `site`: every stored one with `all_tracks`, else the one with
    the largest |score|."""
    if all_tracks:
        return range(site.scores.shape[-1])
    return [strongest_track(site.scores)]


def strongest_track(scores: npt.NDArray) -> int:
    """The track of a site's `scores` ``(width, 4, tracks)`` with the largest |score|."""
    return int(np.abs(scores).reshape(-1, scores.shape[-1]).max(axis=0).argmax())


def marked_motifs(
    scores: npt.NDArray, seq: npt.NDArray, matches: Sequence[MotifHit]
) -> list[MotifHit]:
    """The motif `matches` in the reference one-hot `seq` ``(width, 4)``
    (:func:`crossreg.variants.ism_motifs.motif_matches`) that a site's figure marks for one
    track's mean-removed `scores` ``(width, 4)``
    (:func:`crossreg.variants.ism_motifs.broken_motifs`)."""
    if not matches:
        return []
    heights = importance(scores, seq)
    return broken_motifs(weighed(matches, heights), heights)


def _stored_shape(path: str | os.PathLike[str]) -> tuple[int, int, str]:
    """The numbers of sites and of tracks in the ISM ``.h5`` at `path`, and whose sites
    which head scored, as it records them (:func:`~crossreg.variants.scored_by.figure_title`;
    "" for a file that records neither)."""
    with read_h5(path, "rerun crossreg ism to write it again") as handle:
        scored = figure_title(dict(handle.attrs))
        return len(handle["label"]), len(handle["target_ids"]), scored


def plot_ism_file(
    path: str | os.PathLike[str],
    directory: str | os.PathLike[str],
    *,
    all_tracks: bool = False,
    stat: str | None = None,
    svg: bool = False,
    motifs: Sequence[Motif] = (),
) -> list[Path]:
    """One PNG per site of an ISM ``.h5`` in `directory` (and an SVG beside each with
    `svg`): for the track with the largest |score| of the site, or for every stored track
    with `all_tracks`, with the matches of `motifs` its important bases belong to marked
    (:func:`crossreg.variants.ism_motifs.broken_motifs`); returns the files written. The
    figures an earlier drawing listed in the folder's :data:`MANIFEST` are removed first
    (:func:`remove_earlier_figures`); each site's figures are added to the manifest before
    they are drawn, so a failed drawing's are listed, and it lists this drawing's at the end
    (:func:`figure_name` names them). Each title says whose sites which head scored, as the
    file records it (``human variants, mouse head``), over the site, its span and track.
    Each site's scores are read once. A site is drawn over the positions of its span on
    the chromosome (:func:`on_chromosome`). Progress counts the figures drawn (half a
    second each at width 200)."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    sites, tracks, scored = _stored_shape(path)
    heading = f"{scored}\n" if scored else ""
    remove_earlier_figures(directory)
    write_manifest(directory, [])
    written: list[Path] = []
    figures = sites * (tracks if all_tracks else 1)
    digits = index_digits(sites)
    with (
        progress(figures, "drawing ISM figures", "figures") as meter,
        open(directory / MANIFEST, "a", encoding="utf-8") as manifest,
    ):
        for site in map(on_chromosome, _stored_sites(path, stat)):
            chosen = chosen_tracks(site, all_tracks)
            matches = motif_matches(site.seq, motifs) if motifs else []
            pngs = [figure_name(site.index, digits, site.label, site.ids[t]) for t in chosen]
            manifest.writelines(
                f"{name}\n" for png in pngs for name in ([png, png[:-4] + ".svg"] if svg else [png])
            )
            manifest.flush()  # before drawing: a failed drawing's are listed
            span = browser_span(site.chrom, site.start, len(site.seq))
            strand = "  minus strand" if site.strand == "-" else ""
            for t, png in zip(chosen, pngs, strict=True):
                written += plot_site(
                    directory / png,
                    site.scores[..., t],
                    site.seq,
                    title=f"{heading}{site.label}  {span}{strand}  track {site.ids[t]}",
                    stat=site.stat,
                    start=site.start,
                    strand=site.strand,
                    motifs=marked_motifs(site.scores[..., t], site.seq, matches),
                    variant=site.variant,
                    svg=svg,
                )
                meter.update()
    write_manifest(directory, [p.name for p in written])
    return written


def drawn_figures(directory: Path, figures: int, *, svg: bool) -> bool:
    """Whether `directory`'s :data:`MANIFEST` lists, present and whole
    (:func:`~crossreg.plots.figure_intact`), exactly the `figures` PNGs
    :func:`plot_ism_file` draws of an ISM ``.h5`` (one per site, or per site and track
    with ``all_tracks``), with an SVG beside each with `svg`; a drawing stopped part way
    lists fewer."""
    names = earlier_figures(directory)
    if not all(figure_intact(directory / name) for name in names):
        return False
    pngs = sum(name.endswith(".png") for name in names)
    return pngs == figures and len(names) - pngs == (figures if svg else 0)


def write_manifest(directory: Path, names: Sequence[str]) -> None:
    """Write :data:`MANIFEST` in `directory`, atomically: a header line, then `names`,
    one a line."""
    with atomic_write(directory / MANIFEST) as handle:
        handle.write("# figures crossreg ism wrote here; its next run removes them\n")
        handle.writelines(f"{name}\n" for name in names)


def remove_earlier_figures(directory: Path) -> None:
    """Remove the ISM figures an earlier drawing listed in `directory`'s :data:`MANIFEST`
    (:func:`earlier_figures`), and the manifest, if `directory` is a folder. Without a
    manifest nothing is removed; figures named as this tool names them are then noted in
    the log."""
    if not directory.is_dir():
        return
    if not (directory / MANIFEST).is_file():
        note_unlisted_figures(directory)
        return
    for name in earlier_figures(directory):
        (directory / name).unlink(missing_ok=True)
    (directory / MANIFEST).unlink()


def earlier_figures(directory: Path) -> list[str]:
    """The names of the figures `directory`'s :data:`MANIFEST` lists that are still there
    as files (or links, which removing them leaves their targets): only names
    :func:`figure_name` forms (with ``.png`` or ``.svg``), so a damaged or edited manifest
    cannot name anything else."""
    try:
        lines = (directory / MANIFEST).read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        return []
    except (OSError, UnicodeDecodeError) as err:
        raise ValueError(
            f"{directory / MANIFEST}: cannot read the list of an earlier crossreg ism's "
            f"figures ({err}); remove it (and that run's figures) and rerun"
        ) from err
    names = {line.strip() for line in lines if FIGURE_NAME.fullmatch(line.strip())}
    return sorted(n for n in names if (directory / n).is_file() or (directory / n).is_symlink())


def note_unlisted_figures(directory: Path) -> None:
    """Log a note when `directory`, which has no :data:`MANIFEST`, holds files named as
    crossreg ism names its figures (an older version's, or a user's): they are kept."""
    found = sorted(p.name for p in directory.iterdir() if FIGURE_NAME.fullmatch(p.name))
    if found:
        log.info(
            "%s has no %s listing an earlier crossreg ism's figures, so none is removed; "
            "%d files are named like them (%s%s): delete them if they are stale",
            directory,
            MANIFEST,
            len(found),
            ", ".join(found[:3]),
            ", ..." if len(found) > 3 else "",
        )
