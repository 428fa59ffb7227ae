"""How an indel's alternative prediction is compared with its reference prediction.

Three rules, chosen by ``score_stats(..., indel=...)``:

* ``"basenji"`` (the default): Basenji's windows (:func:`crossreg.variants.scoring.basenji_fronts`),
  each cut to the window from its middle, compared bin by bin; both flanks are offset by
  about half the length difference.
* ``"left"``: both windows start at the same genome base and
  the variant's first base sits at index ``L / 2 - 1`` of both, so the bases before the
  variant line up and the statistics compare bin ``k`` of the reference prediction with bin
  ``k`` of the alternative one. After the variant the alternative window is shifted by
  ``δ = len(REF) − len(ALT)`` bp (a deletion pulls the genome's next bases in at the end,
  an insertion pushes bases out), so every bin downstream of the variant compares
  different bases. For a deletion of a sizeable fraction of a bin or more, the statistics
  then read the downstream track shifted by δ bp: a peak or a gene body past the variant
  scores as a difference even when the deletion changes nothing about it.
* ``"realign"`` (:func:`realign`): the alternative prediction is first mapped into
  reference coordinates. Reference base ``b`` after the variant is base ``b − δ`` of the
  alternative window, so each reference bin takes the alternative bins covering its bases'
  images, weighted by overlap (exact bin moves when δ is a multiple of the bin width, an
  overlap-weighted interpolation otherwise). Bins holding deleted reference bases are
  masked; inserted bases have no reference counterpart, so the alternative bins holding
  them are folded: their overlap-weighted values are added to the reference bin of the
  base just before the insertion (REF's last base), which keeps the total. Reference bins
  whose bases fall outside the alternative output bins (the window's ends) are masked
  too. Masked bins are set to 0 in both predictions, so they count as no difference.

The alignment is the VCF's left-anchored one: ALT's first ``min(len(REF), len(ALT))``
bases stand for REF's first ones (substituted in place), the rest of the longer allele is
deleted or inserted. SNPs and other equal-length substitutions (δ = 0) are left unchanged.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from crossreg.variants.sad_names import INDEL_RULES as INDEL_RULES
from crossreg.variants.sad_names import check_indel_rule as check_indel_rule


def _taps(
    lo: torch.Tensor, hi: torch.Tensor, first_base: int, bin_width: int, bins: int
) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """The (at most two) output bins covering the base interval ``[lo, hi)`` (at most one
    bin long) and their overlap weights (overlap / bin width); empty intervals weigh 0."""
    lo, hi = torch.broadcast_tensors(lo, hi)
    k0 = torch.div(lo - first_base, bin_width, rounding_mode="floor")
    boundary = first_base + (k0 + 1) * bin_width
    taps = []
    for k, overlap in (
        (k0, torch.minimum(hi, boundary) - lo),
        (k0 + 1, hi - torch.maximum(lo, boundary)),
    ):
        inside = (k >= 0) & (k < bins) & (overlap > 0)
        weight = torch.where(inside, overlap.clamp(min=0) / bin_width, 0.0)
        taps.append((k.clamp(0, bins - 1), weight))
    return taps


def _gather(pred: torch.Tensor, index: torch.Tensor) -> torch.Tensor:
    """``pred[i, index[i, m]]`` for ``(b, bins, tracks)`` `pred` and ``(b, bins)`` `index`."""
    return pred.gather(1, index.unsqueeze(-1).expand(-1, -1, pred.shape[-1]))


def realign(
    ref: torch.Tensor,
    alt: torch.Tensor,
    offsets: Sequence[int] | torch.Tensor,
    ref_lengths: Sequence[int] | torch.Tensor,
    alt_lengths: Sequence[int] | torch.Tensor,
    *,
    first_base: int,
    bin_width: int,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Reference and alternative predictions ``(b, bins, tracks)`` in reference coordinates.

    Allele ``i``'s variant starts at window index ``offsets[i]`` in both windows, with REF
    and ALT of ``ref_lengths[i]`` and ``alt_lengths[i]`` bases (left-flank windows); output
    bin ``k`` covers window bases ``[first_base + k·bin_width, first_base + (k+1)·bin_width)``
    of both. Returns ``(ref, alt)`` with `alt` mapped onto the reference bins (see the module
    docstring) and masked bins set to 0 in both; rows with δ = 0 come back unchanged. Runs
    on the predictions' device, all alleles at once.
    """
    b, bins, _ = alt.shape
    device = alt.device

    def column(values: Sequence[int] | torch.Tensor) -> torch.Tensor:
        return torch.as_tensor(values, dtype=torch.long, device=device).reshape(b, 1)

    o, lr, la = column(offsets), column(ref_lengths), column(alt_lengths)
    delta = lr - la
    k = torch.arange(bins, device=device).reshape(1, bins)
    r0 = first_base + k * bin_width  # bin k's first base, in either window
    r1 = r0 + bin_width
    end = first_base + bins * bin_width  # the alternative output bins end here

    same_hi = torch.minimum(r1, o + torch.minimum(lr, la))  # [r0, same_hi): unmoved bases
    after_lo = torch.maximum(r0, o + lr)  # [after_lo, r1): bases moved back by δ
    after_used = after_lo < r1
    deleted = torch.maximum(r0, o + la) < torch.minimum(r1, o + lr)
    off_ends = after_used & ((after_lo - delta < first_base) | (r1 - delta > end))
    masked = (deleted | off_ends) & (delta != 0)

    taps = _taps(r0, same_hi, first_base, bin_width, bins)
    taps += _taps(after_lo - delta, r1 - delta, first_base, bin_width, bins)
    moved = sum(_gather(alt, at) * w.to(alt.dtype).unsqueeze(-1) for at, w in taps)

    # insertions: alt bins holding the inserted bases [o + lr, o + la) fold into the bin of
    # REF's last base
    inserted = (torch.minimum(r1, o + la) - torch.maximum(r0, o + lr)).clamp(min=0)
    fold = torch.einsum("bk,bkt->bt", (inserted / bin_width).to(alt.dtype), alt)
    target = torch.div(o + lr - 1 - first_base, bin_width, rounding_mode="floor")
    moved = moved + (k == target).to(alt.dtype).unsqueeze(-1) * fold.unsqueeze(1)

    indel = (delta != 0).unsqueeze(-1)
    alt_out = torch.where(indel, moved, alt)
    keep = ~masked.unsqueeze(-1)
    return torch.where(keep, ref, 0.0), torch.where(keep, alt_out, 0.0)
