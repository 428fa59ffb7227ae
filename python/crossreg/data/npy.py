"""Row-wise reads and writes of ``.npy`` files with plain file I/O.

Memory-mapping a file while writing it counts every touched page in the process's
resident memory; writing and reading blocks of rows through the file keeps a build's
memory at the size of its buffers, whatever the size of the store.
"""

from __future__ import annotations

import math
import os
from pathlib import Path
from types import TracebackType

import numpy as np
import numpy.typing as npt
from numpy.lib.format import open_memmap


class NpyRows:
    """A ``.npy`` file of fixed dtype and shape, accessed by ranges of rows (axis 0).

    ``mode="w"`` creates the file (sparse, all zeros); ``mode="r"`` opens an existing one.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        mode: str = "r",
        *,
        dtype: npt.DTypeLike = None,
        shape: tuple[int, ...] | None = None,
    ) -> None:
        self.path = Path(path)
        if mode == "w":
            if dtype is None or shape is None:
                raise ValueError("creating a .npy file needs its dtype and shape")
            header = open_memmap(self.path, mode="w+", dtype=dtype, shape=shape)
        elif mode == "r":
            header = np.load(self.path, mmap_mode="r")
        else:
            raise ValueError(f"mode must be 'r' or 'w', got {mode!r}")
        self.dtype, self.shape, self.offset = header.dtype, header.shape, header.offset
        del header
        self.row_bytes = math.prod(self.shape[1:]) * self.dtype.itemsize
        self._fd = os.open(self.path, os.O_RDWR if mode == "w" else os.O_RDONLY)

    def __enter__(self) -> NpyRows:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Close the file (idempotent)."""
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1

    def write(self, start: int, rows: npt.NDArray) -> None:
        """Write `rows` (``(k, *shape[1:])``) at rows ``start .. start + k``."""
        rows = np.ascontiguousarray(rows, dtype=self.dtype)
        if rows.shape[1:] != self.shape[1:] or start < 0 or start + len(rows) > self.shape[0]:
            raise ValueError(
                f"{self.path}: rows of shape {rows.shape} at {start} do not fit {self.shape}"
            )
        data = memoryview(rows.reshape(-1)).cast("B")
        position = self.offset + start * self.row_bytes
        while data:
            written = os.pwrite(self._fd, data, position)
            data, position = data[written:], position + written

    def read(self, start: int, stop: int) -> npt.NDArray:
        """Rows ``start .. stop`` as a new array."""
        out = np.empty((stop - start, *self.shape[1:]), dtype=self.dtype)
        view = memoryview(out.reshape(-1)).cast("B")
        position = self.offset + start * self.row_bytes
        while view:
            got = os.preadv(self._fd, [view], position)
            if got == 0:
                raise ValueError(f"{self.path}: file ends before row {stop}")
            view, position = view[got:], position + got
        return out
