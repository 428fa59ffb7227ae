"""Exact percentiles of float16 scores in bounded memory, for the ``{stat}_pct`` datasets of
a SAD ``.h5`` (:mod:`crossreg.variants.sad_files`): a float16 takes one of 65,536 values,
so a histogram per track gives its order statistics whatever the number of rows."""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from crossreg.variants.sad_stats import PERCENTILES

HISTOGRAM_TRACKS = 1024  # tracks counted per pass: 512 MiB of counts
FLOAT16_CODES = 1 << 16


def float16_percentiles(scores: Any, n: int, block: int) -> npt.NDArray[np.float16]:
    """``np.percentile(scores, 100 * PERCENTILES, axis=0).T`` as float16, for float16
    ``(n, tracks)`` `scores`, in bounded memory whatever `n`: a float16 takes one of 65,536
    values, so each track's order statistics come from a histogram of its values, built
    in passes of :data:`HISTOGRAM_TRACKS` tracks over blocks of `block` rows, and are
    interpolated as numpy interpolates them (equal to ``np.percentile``, tested)."""
    n_tracks = scores.shape[1]
    quantiles = np.true_divide(100 * PERCENTILES, 100)
    virtual = (n - 1) * quantiles
    lower = np.floor(virtual).astype(np.int64)
    upper = np.where(virtual >= n - 1, n - 1, lower + 1)
    lower = np.where(virtual >= n - 1, n - 1, lower)
    gamma = virtual - np.floor(virtual)
    out = np.empty((n_tracks, len(PERCENTILES)), dtype=np.float16)
    for first in range(0, n_tracks, HISTOGRAM_TRACKS):
        group = slice(first, min(first + HISTOGRAM_TRACKS, n_tracks))
        width = group.stop - group.start
        counts = np.zeros(width * FLOAT16_CODES, dtype=np.int64)
        offsets = np.arange(width, dtype=np.int64) * FLOAT16_CODES
        for start in range(0, n, block):
            rows = np.asarray(scores[start : min(start + block, n), group], dtype=np.float16)
            keys = float16_order_keys(rows).astype(np.int64) + offsets
            counts += np.bincount(keys.ravel(), minlength=counts.size)
        cumulative = counts.reshape(width, FLOAT16_CODES).cumsum(axis=1)
        for j in range(width):
            below = np.searchsorted(cumulative[j], lower, side="right")
            above = np.searchsorted(cumulative[j], upper, side="right")
            a = float16_from_order_keys(below.astype(np.uint16))
            b = float16_from_order_keys(above.astype(np.uint16))
            out[group.start + j] = _lerp(a, b, gamma).astype(np.float16)
    return out


def float16_order_keys(values: npt.NDArray[np.float16]) -> npt.NDArray[np.uint16]:
    """Keys whose integer order is the float16 values' order (negatives reversed)."""
    bits = values.view(np.uint16)
    return np.where(bits & 0x8000, ~bits, bits | 0x8000).astype(np.uint16)


def float16_from_order_keys(keys: npt.NDArray[np.uint16]) -> npt.NDArray[np.float16]:
    """The inverse of :func:`float16_order_keys`."""
    bits = np.where(keys & 0x8000, keys & 0x7FFF, ~keys).astype(np.uint16)
    return bits.view(np.float16)


def _lerp(
    a: npt.NDArray[np.float16], b: npt.NDArray[np.float16], gamma: npt.NDArray[np.float64]
) -> npt.NDArray[np.float64]:
    """numpy's linear interpolation of quantiles, step for step (same dtypes, same form);
    where float16's ``b - a`` overflows (scores at both ends of its range), in float64
    instead, so that a percentile between finite scores is never inf."""
    with np.errstate(over="ignore"):
        diff = b - a
    result = np.add(a, diff * gamma)
    np.subtract(b, diff * (1 - gamma), out=result, where=gamma >= 0.5)
    overflow = np.isinf(diff) & np.isfinite(a) & np.isfinite(b)
    if overflow.any():
        wide = a.astype(np.float64) + (b.astype(np.float64) - a) * gamma
        result = np.where(overflow, wide, result)
    return result
