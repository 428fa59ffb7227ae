"""The sites of an ISM ``.h5`` as its figures draw them (:class:`StoredSite`), read one at
a time: scores, reference, span, strand and a VCF record's REF and alleles; the positions
of a span that run off its chromosome (no reference base, NaN scores) cut off."""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from crossreg.io.h5 import read_h5
from crossreg.variants.ism_site_figure import VariantMark, allele_text
from crossreg.variants.scored_by import figure_title


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


def stored_sites(path: str | os.PathLike[str], stat: str | None) -> Iterator[StoredSite]:
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
        marks = variant_marks(handle, starts)
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


def variant_marks(handle: Any, starts: npt.NDArray[np.int64]) -> list[VariantMark]:
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


def stored_shape(path: str | os.PathLike[str]) -> tuple[int, int, str]:
    """The numbers of sites and of tracks in the ISM ``.h5`` at `path`, and whose sites
    which head scored, as it records them (:func:`~crossreg.variants.scored_by.figure_title`;
    "" for a file that records neither)."""
    with read_h5(path, "rerun crossreg ism to write it again") as handle:
        scored = figure_title(dict(handle.attrs))
        return len(handle["label"]), len(handle["target_ids"]), scored
