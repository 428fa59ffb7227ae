"""Per-example augmentation draws: whether an example is reverse complemented and how far
it is shifted, a hash of ``(seed, epoch, row)`` (SplitMix64), so that a batch draws the
same whatever process, thread or number of workers reads it."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

_MASK64 = np.uint64(0xFFFFFFFFFFFFFFFF)


def _splitmix64(x: npt.NDArray[np.uint64]) -> npt.NDArray[np.uint64]:
    """SplitMix64 finaliser, elementwise (wrapping uint64 arithmetic)."""
    x = (x + np.uint64(0x9E3779B97F4A7C15)) & _MASK64
    x = ((x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)) & _MASK64
    x = ((x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)) & _MASK64
    return x ^ (x >> np.uint64(31))


def augmentation_draws(
    seed: int, epoch: int, indices: npt.ArrayLike, *, rc: bool, max_shift: int
) -> tuple[npt.NDArray[np.bool_], npt.NDArray[np.int64]]:
    """Per-example ``(rc, shift)`` for `indices`: a hash of ``(seed, epoch, index)``.

    ``rc`` is true with probability 1/2 (when enabled); ``shift`` is uniform on
    ``[-max_shift, max_shift]``.
    """
    idx = np.asarray(indices, dtype=np.uint64)
    with np.errstate(over="ignore"):
        key = _splitmix64(np.full(idx.shape, seed % 2**64, dtype=np.uint64))
        key = _splitmix64(key ^ np.uint64(epoch % 2**64))
        h = _splitmix64(key ^ idx)
    flips = (h & np.uint64(1)).astype(bool) if rc else np.zeros(idx.shape, dtype=bool)
    width = np.uint64(2 * max_shift + 1)
    shifts = ((h >> np.uint64(1)) % width).astype(np.int64) - max_shift
    return flips, shifts
