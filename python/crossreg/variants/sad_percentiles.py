"""Exact percentiles of float16 scores in bounded memory, for the ``{stat}_pct`` datasets of
a SAD ``.h5`` (:mod:`crossreg.variants.sad_h5`): few rows are sorted; many are counted,
since a float16 takes one of 65,536 values, so that a histogram per track gives its order
statistics whatever the number of rows."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

# Basenji's SAD_pct levels, built as it builds them (bit for bit): 0.001-0.099 by 0.001,
# 0.10-0.89 by 0.01, 0.900-0.999 by 0.001
PERCENTILES = np.concatenate(
    [np.arange(0.001, 0.1, 0.001), np.arange(0.1, 0.9, 0.01), np.arange(0.9, 1, 0.001)]
)

if TYPE_CHECKING:
    from crossreg.progress import Progress

HISTOGRAM_TRACKS = 1024  # tracks counted per pass: 512 MiB of counts
FLOAT16_CODES = 1 << 16


def float16_percentiles(
    scores: Any, n: int, *, block_bytes: int, meter: Progress | None = None
) -> npt.NDArray[np.float16]:
    """``np.percentile(scores, 100 * PERCENTILES, axis=0).T`` as float16, for float16
    ``(n, tracks)`` `scores`, in bounded memory whatever `n`. Tracks are taken
    :data:`HISTOGRAM_TRACKS` at a time, in blocks of rows of about `block_bytes`: a group
    whose rows fit one block is sorted; a larger one is counted, since a float16 takes one
    of 65,536 values, into a histogram per track, from which its order statistics are
    read. Both are interpolated as numpy interpolates them (equal to ``np.percentile``,
    tested). Each group of tracks done counts on `meter`."""
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
        if n <= max(1, block_bytes // (width * 2)):  # the float16 scores fit one block
            below, above = _sorted_ranks(scores, n, group, lower, upper)
        else:  # blocks of int64 keys
            step = max(1, block_bytes // (width * 8))
            below, above = _counted_ranks(scores, n, group, step, lower, upper)
        a = float16_from_order_keys(below)
        b = float16_from_order_keys(above)
        out[group] = _lerp(a, b, gamma).astype(np.float16)
        if meter is not None:
            meter.update(width)
    return out


def _sorted_ranks(
    scores: Any,
    n: int,
    group: slice,
    lower: npt.NDArray[np.int64],
    upper: npt.NDArray[np.int64],
) -> tuple[npt.NDArray[np.uint16], npt.NDArray[np.uint16]]:
    """The order keys (:func:`float16_order_keys`) of ranks `lower` and `upper` of each
    track of `group` (``(tracks, ranks)``), from all `n` rows sorted at once."""
    block = np.asarray(scores[:n, group], dtype=np.float16)
    keys = np.sort(float16_order_keys(block).T, axis=1)
    return keys[:, lower], keys[:, upper]


def _counted_ranks(
    scores: Any,
    n: int,
    group: slice,
    step: int,
    lower: npt.NDArray[np.int64],
    upper: npt.NDArray[np.int64],
) -> tuple[npt.NDArray[np.uint16], npt.NDArray[np.uint16]]:
    """As :func:`_sorted_ranks`, from a histogram of each track's keys counted over
    blocks of `step` rows."""
    width = group.stop - group.start
    counts = np.zeros(width * FLOAT16_CODES, dtype=np.int64)
    offsets = np.arange(width, dtype=np.int64) * FLOAT16_CODES
    for start in range(0, n, step):
        block = np.asarray(scores[start : min(start + step, n), group], dtype=np.float16)
        # track by track, so that the counts being added to stay in the CPU's cache; no
        # bincount, whose result as long as the counts would be written per block
        keys = float16_order_keys(block).T.astype(np.int64, order="C")
        keys += offsets[:, None]
        np.add.at(counts, keys.ravel(), 1)
    cumulative = counts.reshape(width, FLOAT16_CODES).cumsum(axis=1)
    below = np.empty((width, len(lower)), dtype=np.uint16)
    above = np.empty((width, len(upper)), dtype=np.uint16)
    for j in range(width):
        below[j] = np.searchsorted(cumulative[j], lower, side="right")
        above[j] = np.searchsorted(cumulative[j], upper, side="right")
    return below, above


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
