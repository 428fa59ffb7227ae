"""Motif matches marked on an ISM figure: the transcription-factor sites a site's important
bases belong to, as the paper's Figure 5b names the motif a variant breaks.

Each JASPAR matrix (:func:`crossreg.synth.motifs.read_jaspar`) is scanned along the drawn
reference span on both strands with :meth:`crossreg.synth.motifs.Motif.scan`: natural-log
odds of the column frequencies (1% pseudo-frequency) against a 41% GC background, the
human genome's. A match is a placement whose relative score, ``(score - worst) / (best -
worst)`` of the matrix's possible scores (JASPAR's and Biopython's scale), is at least
:data:`MIN_RELATIVE`; a placement over an N has none. A palindromic matrix that matches one
placement equally on both strands is one match, on ``+``. A match's weight is the sum of the
importance (:func:`crossreg.variants.ism_site_figure.importance`) of the bases it covers: what
mutating them costs the prediction. The figure marks the :data:`MOST_DRAWN` heaviest
matches whose bases carry on average at least :data:`ENRICHMENT` times the span's mean
|importance| and that overlap no heavier one (ties: the higher score, then the leftmost,
then the matrix read first): none where no match stands out of the span's noise.
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np
import numpy.typing as npt

from crossreg.synth.motifs import Motif, read_jaspar

MIN_RELATIVE = 0.8
MOST_DRAWN = 3
ENRICHMENT = 2.0
JASPAR_FORM = (
    "JASPAR matrices: a '>ID NAME' line, then rows 'A [ counts ]', 'C [ ... ]', 'G [ ... ]', "
    "'T [ ... ]'"
)


@dataclass(frozen=True)
class MotifHit:
    """A match of `name` over columns ``[start, end)`` of a drawn span, on `strand` of it."""

    name: str
    start: int
    end: int
    strand: str
    score: float
    relative: float
    weight: float


def read_motifs(path: str | os.PathLike[str]) -> list[Motif]:
    """The matrices of the JASPAR file at `path`; a file in another format stops naming the
    file, its line and the form expected."""
    try:
        return read_jaspar(path)
    except UnicodeDecodeError:
        raise ValueError(f"{path}: not a text file; --motifs takes {JASPAR_FORM}") from None
    except ValueError as error:
        raise ValueError(f"{error} (--motifs takes {JASPAR_FORM})") from None


def motif_hits(
    seq: npt.NDArray,
    heights: npt.NDArray,
    motifs: Sequence[Motif],
    *,
    min_relative: float = MIN_RELATIVE,
) -> list[MotifHit]:
    """Every match of `motifs` in the one-hot span `seq` ``(width, 4)`` (an all-zero row is
    N), weighted by the importance `heights` ``(width,)`` of its bases, heaviest first
    (:func:`motif_matches`, then :func:`weighed`)."""
    return weighed(motif_matches(seq, motifs, min_relative=min_relative), heights)


def motif_matches(
    seq: npt.NDArray, motifs: Sequence[Motif], *, min_relative: float = MIN_RELATIVE
) -> list[MotifHit]:
    """Every match of `motifs` in the one-hot span `seq` ``(width, 4)`` (an all-zero row is
    N), not yet weighted (weight 0), matrix by matrix, each from the left: a site's scan,
    done once for all the tracks it is drawn for."""
    text = bytes(b"ACGTN"[int(np.argmax(row)) if row.any() else 4] for row in seq)
    matches = []
    for motif in motifs:
        worst = float(motif.log_odds.min(axis=0).sum())
        scale = motif.max_score - worst
        forward, reverse = motif.scan(text)
        best = np.maximum(forward, reverse)
        relative = (best - worst) / scale if scale > 0 else np.ones_like(best)
        for start in np.flatnonzero(np.isfinite(best) & (relative >= min_relative)).tolist():
            # a palindrome's two scores differ only by rounding (summed in other orders)
            tied = math.isclose(forward[start], reverse[start], rel_tol=1e-9, abs_tol=1e-9)
            strand = "+" if tied or forward[start] > reverse[start] else "-"
            end = start + motif.length
            matches.append(
                MotifHit(
                    motif.name, start, end, strand, float(best[start]), float(relative[start]), 0.0
                )
            )
    return matches


def weighed(matches: Sequence[MotifHit], heights: npt.NDArray) -> list[MotifHit]:
    """`matches` (:func:`motif_matches`) each weighted by the sum of the importance
    `heights` ``(width,)`` of its bases, heaviest first (ties: the higher score, then the
    leftmost, then the matrix read first)."""
    hits = [replace(m, weight=float(heights[m.start : m.end].sum())) for m in matches]
    hits.sort(key=lambda hit: (-hit.weight, -hit.score, hit.start))  # stable: matrix order
    return hits


def broken_motifs(
    hits: Sequence[MotifHit], heights: npt.NDArray, most: int = MOST_DRAWN
) -> list[MotifHit]:
    """The `most` heaviest of `hits` (heaviest first) whose bases carry at least
    :data:`ENRICHMENT` times the mean |importance| of the span's (`heights`) each, each
    overlapping no heavier one kept, in column order."""
    floor = ENRICHMENT * float(np.abs(heights).mean()) if len(heights) else 0.0
    kept: list[MotifHit] = []
    for hit in hits:
        if len(kept) == most or hit.weight <= 0:
            break
        enriched = hit.weight / (hit.end - hit.start) >= floor
        if enriched and all(hit.end <= k.start or k.end <= hit.start for k in kept):
            kept.append(hit)
    return sorted(kept, key=lambda h: h.start)
