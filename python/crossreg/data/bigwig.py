"""BigWig tracks → finished float16 targets, computed by the native core.

The transforms, per track and in this order (the paper's): missing data → 0, negatives
→ 0, replicates averaged per base, pooling into bins with ``sum_stat``, masked bins set to
the track's `fill_quantile` (0.25) of its unmasked bins over all windows given, soft clip
at ``clip_soft`` (or ``clip``), hard clip at ``clip``, multiplication by ``scale``, float16.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from crossreg import _native
from crossreg.data.defaults import DEFAULT_FILL_QUANTILE
from crossreg.io.targets import Target, TargetsTable

#: Names of the per-track statistics returned by :func:`compute_targets`.
TRACK_STATS = ("fill_value", "pooled_mean", "pooled_max", "clipped_fraction", "target_mean")


def bigwig_chrom_sizes(path: str | os.PathLike[str]) -> list[tuple[str, int]]:
    """``(name, length)`` of each chromosome of a BigWig file, in file order."""
    return _native.bigwig_chrom_sizes(os.fspath(path))


def track_spec(table: TargetsTable, target: Target) -> dict:
    """The native description of one track: resolved files and its transforms."""
    return {
        "files": [str(f) for f in table.track_files(target)],
        "sum_stat": target.sum_stat,
        "clip": float(target.clip),
        "clip_soft": float(target.soft_clip_threshold),
        "scale": float(target.scale),
    }


def compute_targets(
    table: TargetsTable,
    targets: Sequence[Target],
    chroms: npt.NDArray[np.str_],
    starts: npt.ArrayLike,
    *,
    bins: int,
    pool_width: int = 128,
    mask: npt.NDArray[np.bool_] | None = None,
    fill_quantile: float = DEFAULT_FILL_QUANTILE,
    threads: int | None = None,
    out: npt.NDArray[np.float16] | None = None,
) -> tuple[npt.NDArray[np.float16], list[dict[str, float]]]:
    """Finished targets of `targets` over target regions starting at `starts` on `chroms`.

    Returns ``(values, stats)``: `values` is ``(n, bins, len(targets))`` float16 (written
    into `out` when given), `stats` one dict per track with :data:`TRACK_STATS`. `mask`
    ``(n, bins)`` marks bins (blacklisted/unmappable) that get the fill value. Tracks run
    in parallel on `threads` threads (all cores when None); the GIL is released.
    """
    starts_arr = np.ascontiguousarray(starts, dtype=np.uint64)
    names, ids = np.unique(np.asarray(chroms, dtype=np.str_), return_inverse=True)
    shape = (len(starts_arr), bins, len(targets))
    if out is None:
        out = np.empty(shape, dtype=np.float16)
    if out.shape != shape or out.dtype != np.float16 or not out.flags.c_contiguous:
        raise ValueError(f"out must be a C-contiguous float16 array of shape {shape}")
    mask_arr = None if mask is None else np.ascontiguousarray(mask, dtype=bool)
    stats = _native.bigwig_targets(
        [track_spec(table, t) for t in targets],
        [str(n) for n in names],
        np.ascontiguousarray(ids, dtype=np.uint32),
        starts_arr,
        pool_width,
        mask_arr,
        float(fill_quantile),
        out.view(np.uint16),
        threads,
    )
    return out, stats
