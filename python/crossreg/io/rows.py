"""Stream batches of rows into a preallocated array or HDF5 dataset."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np
import numpy.typing as npt


def fill_rows(dest: Any, batches: Iterable[npt.NDArray[np.float32]]) -> None:
    """Write `batches` row after row into `dest` (a memory-mapped array or HDF5 dataset),
    converting to its dtype; the rows must fill it exactly."""
    row = 0
    for batch in batches:
        dest[row : row + len(batch)] = batch
        row += len(batch)
    if row != dest.shape[0]:
        raise RuntimeError(f"expected {dest.shape[0]} rows, got {row}")
