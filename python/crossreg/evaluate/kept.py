"""The memory-mapped ``.npy`` files an interrupted ``crossreg evaluate`` kept for
``--resume`` (each window's target sums, the spilled predictions and targets), opened
again to go on writing them."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from crossreg.errors import CommandError


def reopen(path: Path, shape: tuple[int, ...], dtype: np.dtype, what: str, fix: str) -> np.memmap:
    """The kept file `path` (holding `what`), memory-mapped to go on writing it; a
    :class:`~crossreg.errors.CommandError` ending in `fix` unless it is there, whole and of
    `shape` and `dtype` (numpy would grow a file cut short with zeros)."""
    try:
        kept = np.lib.format.open_memmap(path, "r")  # a short file is refused, not grown
    except (OSError, ValueError) as err:
        reason = getattr(err, "strerror", None) or err
        raise CommandError(
            f"{path.parent}: the kept {what} cannot be read ({path.name}: {reason}); {fix}"
        ) from None
    found = kept.shape, kept.dtype
    del kept
    if found != (shape, dtype):
        raise CommandError(
            f"{path}: the kept {what} are {found[1]} of shape {found[0]}, not {dtype} of "
            f"shape {shape}; {fix}"
        )
    return np.lib.format.open_memmap(path, "r+")
