"""The statistics of ``basenji_sad.py --stats``, as torch functions of prediction batches.

Every function takes the reference and alternative predictions ``(B, bins, tracks)`` of the
same alleles (already averaged over the reverse-complement/shift ensemble) and returns
``(B, tracks)``, except ``REF`` and ``ALT``, which are the predictions themselves
``(B, bins, tracks)``, stored 3-D as Basenji stores them. They run wherever the tensors
are, so on the model's device only the reduced values travel back.

Definitions (Basenji's ``write_snp_len``; ``log`` is ``log2(p + 1)``, ``sqrt`` is ``√p``):

* ``SAD`` = Σ_bins (alt − ref); ``logSAD``, ``sqrtSAD`` the same of the transformed
  predictions (``logSAD`` is the paper era's geoSAD).
* ``SAX`` = alt − ref at the bin where |alt − ref| is largest (the first such bin).
* ``D1`` = Σ_bins |alt − ref| (L1), ``D2`` = √Σ_bins (alt − ref)² (L2), and their
  ``log``/``sqrt`` forms on the transformed predictions.
* ``JS`` = (KL(r‖a) + KL(a‖r)) / 2 over bins, where r and a are ref and alt plus the
  per-track 25th percentile of ref over bins (linear interpolation, numpy's default),
  each normalised to sum to 1 over bins; KL terms follow ``scipy.special.rel_entr``.
  ``logJS`` is the same on the ``log`` predictions.
* ``REF``, ``ALT``: the predictions.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch

from crossreg.variants.sad_names import PROFILE_STATS as PROFILE_STATS
from crossreg.variants.sad_names import check_stats as check_stats
from crossreg.variants.sad_names import parse_stats as parse_stats

Stat = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


def log_transform(pred: torch.Tensor) -> torch.Tensor:
    """``log2(p + 1)``, Basenji's log transform (pseudocount 1)."""
    return torch.log2(pred + 1)


def sqrt_transform(pred: torch.Tensor) -> torch.Tensor:
    """``√p`` (no pseudocount, as Basenji)."""
    return torch.sqrt(pred)


def sad(ref: torch.Tensor, alt: torch.Tensor) -> torch.Tensor:
    """Σ_bins (alt − ref)."""
    return (alt - ref).sum(dim=1)


def sax(ref: torch.Tensor, alt: torch.Tensor) -> torch.Tensor:
    """alt − ref at the bin of largest |alt − ref| (the first one on ties)."""
    diff = alt - ref
    at = diff.abs().argmax(dim=1, keepdim=True)
    return diff.gather(1, at).squeeze(1)


def d1(ref: torch.Tensor, alt: torch.Tensor) -> torch.Tensor:
    """Σ_bins |alt − ref|."""
    return (alt - ref).abs().sum(dim=1)


def d2(ref: torch.Tensor, alt: torch.Tensor) -> torch.Tensor:
    """√Σ_bins (alt − ref)²."""
    return (alt - ref).square().sum(dim=1).sqrt()


def bin_quantile(pred: torch.Tensor, q: float) -> torch.Tensor:
    """Per-track `q` quantile over bins ``(B, tracks)``, numpy's linear interpolation
    (``torch.quantile`` refuses inputs this large)."""
    n = pred.shape[1]
    ordered = pred.sort(dim=1).values
    pos = q * (n - 1)
    lo = int(pos)
    frac = pos - lo
    low = ordered[:, lo]
    if frac == 0 or lo + 1 >= n:
        return low
    return low + frac * (ordered[:, lo + 1] - low)


def rel_entr(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """``scipy.special.rel_entr``: x·log(x/y) for x, y > 0; 0 for x = 0, y ≥ 0; else ∞."""
    both = (x > 0) & (y > 0)
    value = torch.where(both, x * torch.log(torch.where(both, x / y, 1.0)), torch.inf)
    return torch.where((x == 0) & (y >= 0), 0.0, value)


def js(ref: torch.Tensor, alt: torch.Tensor) -> torch.Tensor:
    """Symmetrised KL of the pseudocounted, bin-normalised profiles (Basenji's JS)."""
    pseudo = bin_quantile(ref, 0.25).unsqueeze(1)
    r = ref + pseudo
    r = r / r.sum(dim=1, keepdim=True)
    a = alt + pseudo
    a = a / a.sum(dim=1, keepdim=True)
    return (rel_entr(r, a).sum(dim=1) + rel_entr(a, r).sum(dim=1)) / 2


def _ref(ref: torch.Tensor, alt: torch.Tensor) -> torch.Tensor:
    return ref


def _alt(ref: torch.Tensor, alt: torch.Tensor) -> torch.Tensor:
    return alt


_TRANSFORMS: dict[str, Callable[[torch.Tensor], torch.Tensor]] = {
    "log": log_transform,
    "sqrt": sqrt_transform,
}

#: Each statistic: the transform applied to both profiles first ("" for none) and the
#: statistic of the (transformed) pair.
_DEFINITIONS: dict[str, tuple[str, Stat]] = {
    "SAD": ("", sad),
    "logSAD": ("log", sad),
    "sqrtSAD": ("sqrt", sad),
    "SAX": ("", sax),
    "D1": ("", d1),
    "logD1": ("log", d1),
    "sqrtD1": ("sqrt", d1),
    "D2": ("", d2),
    "logD2": ("log", d2),
    "sqrtD2": ("sqrt", d2),
    "JS": ("", js),
    "logJS": ("log", js),
    "REF": ("", _ref),
    "ALT": ("", _alt),
}


def compute_stats(
    ref: torch.Tensor, alt: torch.Tensor, stats: Sequence[str]
) -> dict[str, torch.Tensor]:
    """Each of `stats` of the batch ``(B, bins, tracks)``, each transform computed once."""
    pairs: dict[str, tuple[torch.Tensor, torch.Tensor]] = {"": (ref, alt)}
    out: dict[str, torch.Tensor] = {}
    for name in stats:
        kind, stat = _DEFINITIONS[name]
        if kind not in pairs:
            pairs[kind] = (_TRANSFORMS[kind](ref), _TRANSFORMS[kind](alt))
        out[name] = stat(*pairs[kind])
    return out


def _single(name: str) -> Stat:
    def one(ref: torch.Tensor, alt: torch.Tensor) -> torch.Tensor:
        return compute_stats(ref, alt, [name])[name]

    return one


#: Each statistic by name, as a function of one ``(ref, alt)`` pair.
STATS: dict[str, Stat] = {name: _single(name) for name in _DEFINITIONS}
