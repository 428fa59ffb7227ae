"""Transforms of binned coverage values (float32), computed by the native core.

Each function returns a new float32 array, or writes into `out` when given (which may be
the input itself, for an in-place update). NaN stays NaN.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from crossreg import _native


def _prepare(values: npt.ArrayLike, out: npt.NDArray[np.float32] | None) -> npt.NDArray[np.float32]:
    if out is None:
        return np.array(values, dtype=np.float32, order="C", copy=True)
    if out.dtype != np.float32 or not out.flags.c_contiguous or not out.flags.writeable:
        raise ValueError("out must be a writable C-contiguous float32 array")
    src = np.asarray(values)
    if src.shape != out.shape:
        raise ValueError(f"out has shape {out.shape} but values have {src.shape}")
    if src is not out:
        out[...] = src
    return out


def soft_clip(
    values: npt.ArrayLike, threshold: float, *, out: npt.NDArray[np.float32] | None = None
) -> npt.NDArray[np.float32]:
    """Soft clip: ``min(x, t + sqrt(max(0, x - t)))`` with ``t = threshold``."""
    result = _prepare(values, out)
    _native.soft_clip(result, float(threshold))
    return result


def hard_clip(
    values: npt.ArrayLike, max_value: float, *, out: npt.NDArray[np.float32] | None = None
) -> npt.NDArray[np.float32]:
    """Clamp into ``[0, max_value]``: negatives become 0, values above become `max_value`
    (which must be at least 0)."""
    if not max_value >= 0:  # NaN too: no interval to clamp into
        raise ValueError(f"max_value must be >= 0 to clamp into [0, max_value], got {max_value}")
    result = _prepare(values, out)
    _native.hard_clip(result, float(max_value))
    return result


def scale(
    values: npt.ArrayLike, factor: float, *, out: npt.NDArray[np.float32] | None = None
) -> npt.NDArray[np.float32]:
    """Multiply by `factor`."""
    result = _prepare(values, out)
    _native.scale(result, float(factor))
    return result
