"""Figures of saturation mutagenesis (the paper's Figure 5b) of an ISM ``.h5``: one logo
and mutation heat map per site and track (:mod:`crossreg.variants.ism_site_figure`), of
the sites as stored (:mod:`crossreg.variants.ism_stored_sites`), named and listed in their
folder's manifest (:mod:`crossreg.variants.ism_figure_files`).

A title's first line says whose sites which head scored, as the file records it (``human
variants, mouse head``, or ``variants on hg38.fa, mouse head`` for a run without
``--variants-genome``; :func:`crossreg.variants.scored_by.figure_title`). Titles give
spans 1-based, as a genome browser and the VCF do (the ``.h5`` stores 0-based starts). A
span running off its chromosome (no reference base and NaN scores there) is drawn over its
positions on the chromosome only. A file without a VCF record's position (a BED's, or one
written before it was stored) marks no variant. Each drawing replaces the folder's
figures of an earlier one: those the earlier one listed in the folder's manifest, nothing
else.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy.typing as npt

from crossreg.progress import progress
from crossreg.variants.ism_figure_files import (
    MANIFEST,
    figure_name,
    index_digits,
    remove_earlier_figures,
    write_manifest,
)
from crossreg.variants.ism_motifs import MotifHit, broken_motifs, motif_matches, weighed
from crossreg.variants.ism_site_figure import importance, plot_site
from crossreg.variants.ism_stored_sites import (
    StoredSite,
    chosen_tracks,
    on_chromosome,
    stored_shape,
    stored_sites,
)

if TYPE_CHECKING:
    from crossreg.synth.motifs import Motif


def browser_span(chrom: str, start: int, width: int) -> str:
    """A 0-based span start and width as a genome browser writes the span, 1-based and
    inclusive: ``chr8:11,561,680-11,561,682`` for start 11,561,679 and width 3."""
    return f"{chrom}:{start + 1:,}-{start + width:,}"


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
    figures an earlier drawing listed in the folder's manifest are removed first
    (:func:`~crossreg.variants.ism_figure_files.remove_earlier_figures`); each site's
    figures are added to the manifest before they are drawn, so a failed drawing's are
    listed, and it lists this drawing's at the end
    (:func:`~crossreg.variants.ism_figure_files.figure_name` names them). Each title says
    whose sites which head scored, as the file records it (``human variants, mouse head``),
    over the site, its span and track (:func:`site_title`). Each site's scores are read
    once. A site is drawn over the positions of its span on the chromosome
    (:func:`~crossreg.variants.ism_stored_sites.on_chromosome`). Progress counts the
    figures drawn (half a second each at width 200)."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    sites, tracks, scored = stored_shape(path)
    heading = f"{scored}\n" if scored else ""
    remove_earlier_figures(directory)
    write_manifest(directory, [])
    written: list[Path] = []
    digits = index_digits(sites)
    with (
        progress(sites * (tracks if all_tracks else 1), "drawing ISM figures", "figures") as meter,
        open(directory / MANIFEST, "a", encoding="utf-8") as manifest,
    ):
        for site in map(on_chromosome, stored_sites(path, stat)):
            chosen = chosen_tracks(site, all_tracks)
            pngs = [figure_name(site.index, digits, site.label, site.ids[t]) for t in chosen]
            manifest.writelines(
                f"{name}\n" for png in pngs for name in ([png, png[:-4] + ".svg"] if svg else [png])
            )
            manifest.flush()  # before drawing: a failed drawing's are listed
            matches = motif_matches(site.seq, motifs) if motifs else []
            for t, png in zip(chosen, pngs, strict=True):
                written += _draw_track(directory / png, site, t, heading, matches, svg=svg)
                meter.update()
    write_manifest(directory, [p.name for p in written])
    return written


def site_title(heading: str, site: StoredSite, track: int) -> str:
    """The title of `site`'s figure for its `track`: `heading` (whose sites which head
    scored, with its line break; "" for none), then the label, span and track."""
    span = browser_span(site.chrom, site.start, len(site.seq))
    strand = "  minus strand" if site.strand == "-" else ""
    return f"{heading}{site.label}  {span}{strand}  track {site.ids[track]}"


def _draw_track(
    out: Path,
    site: StoredSite,
    track: int,
    heading: str,
    matches: Sequence[MotifHit],
    *,
    svg: bool,
) -> list[Path]:
    """Draw `site`'s figure for its `track` to the PNG `out` (and an SVG with `svg`), the
    motif `matches` it breaks marked; returns the files written."""
    scores = site.scores[..., track]
    return plot_site(
        out,
        scores,
        site.seq,
        title=site_title(heading, site, track),
        stat=site.stat,
        start=site.start,
        strand=site.strand,
        motifs=marked_motifs(scores, site.seq, matches),
        variant=site.variant,
        svg=svg,
    )
