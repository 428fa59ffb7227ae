"""Row-wise reads and writes of ``.npy`` files with plain file I/O.

Memory-mapping a file while writing it counts every touched page in the process's
resident memory; writing and reading blocks of rows through the file keeps a build's
memory at the size of its buffers, whatever the size of the store.
"""

from __future__ import annotations

import math
import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from types import TracebackType
from typing import Any, Literal, cast

import numpy as np
import numpy.typing as npt

from crossreg.io.space import allocated_memmap

REBUILD = "rebuild the store with `crossreg data`"


def load_npy(path: Path, mmap_mode: Literal["r"] | None = None) -> npt.NDArray[Any]:
    """``np.load`` of the ``.npy`` file at `path`: a ValueError naming it where it is cut,
    empty or not a ``.npy`` file (a missing one stays a FileNotFoundError)."""
    try:
        return np.load(path, mmap_mode=mmap_mode, allow_pickle=False)
    except FileNotFoundError:
        raise
    except (ValueError, EOFError, OSError) as err:
        what = "empty" if isinstance(err, EOFError) else f"cut or not a .npy array ({err})"
        raise ValueError(f"{path}: {what}; {REBUILD}") from err


class NpyRows:
    """A ``.npy`` file of fixed dtype and shape, accessed by ranges of rows (axis 0).

    ``mode="w"`` creates the file (all zeros) with its blocks allocated on the disk, so
    that a disk too small for it stops a build at the start (``mode="r"`` opens an
    existing one).
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        mode: str = "r",
        *,
        dtype: npt.DTypeLike | None = None,
        shape: tuple[int, ...] | None = None,
    ) -> None:
        self.path = Path(path)
        if mode == "w":
            if dtype is None or shape is None:
                raise ValueError("creating a .npy file needs its dtype and shape")
            header = allocated_memmap(self.path, dtype, shape)
        elif mode == "r":
            header = cast(np.memmap, load_npy(self.path, mmap_mode="r"))
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
        if getattr(self, "_fd", -1) >= 0:
            os.close(self._fd)
            self._fd = -1

    def __del__(self) -> None:
        self.close()

    def write(self, start: int, rows: npt.NDArray) -> None:
        """Write `rows` (``(k, *shape[1:])``) at rows ``start .. start + k``."""
        rows = np.ascontiguousarray(rows, dtype=self.dtype)
        if rows.shape[1:] != self.shape[1:] or start < 0 or start + len(rows) > self.shape[0]:
            raise ValueError(
                f"{self.path}: rows of shape {rows.shape} at {start} do not fit {self.shape}"
            )
        data = rows.reshape(-1).data.cast("B")
        position = self.offset + start * self.row_bytes
        while data:
            written = os.pwrite(self._fd, data, position)
            data, position = data[written:], position + written

    def take(
        self, rows: npt.ArrayLike, *, threads: int = 1, out: npt.NDArray | None = None
    ) -> npt.NDArray:
        """The rows at indices `rows` (in that order), in `out` or a new array: one
        ``preadv`` per row, straight into the result, `threads` rows at a time (the reads
        release the GIL).

        Unlike fancy indexing of a memory map (a page fault per 4 KiB), each row is one
        request that the kernel can serve with large reads from disk.
        """
        rows = np.asarray(rows, dtype=np.int64)
        if rows.size and (rows.min() < 0 or rows.max() >= self.shape[0]):
            raise IndexError(f"{self.path}: rows must lie within [0, {self.shape[0]})")
        shape = (len(rows), *self.shape[1:])
        if out is None:
            out = np.empty(shape, dtype=self.dtype)
        if out.shape != shape or out.dtype != self.dtype or not out.flags.c_contiguous:
            raise ValueError(f"out must be a C-contiguous {self.dtype} array of shape {shape}")
        flat = out.reshape(len(rows), math.prod(self.shape[1:]))

        def read_row(k: int) -> None:
            view = flat[k].data.cast("B")
            position = self.offset + int(rows[k]) * self.row_bytes
            while view:
                got = os.preadv(self._fd, [view], position)
                if got == 0:
                    raise ValueError(f"{self.path}: file ends before row {rows[k]}")
                view, position = view[got:], position + got

        if threads > 1 and len(rows) > 1:
            with ThreadPoolExecutor(min(threads, len(rows))) as pool:
                list(pool.map(read_row, range(len(rows))))
        else:
            for k in range(len(rows)):
                read_row(k)
        return out

    def read(self, start: int, stop: int) -> npt.NDArray:
        """Rows ``start .. stop`` as a new array."""
        out = np.empty((stop - start, *self.shape[1:]), dtype=self.dtype)
        view = out.reshape(-1).data.cast("B")
        position = self.offset + start * self.row_bytes
        while view:
            got = os.preadv(self._fd, [view], position)
            if got == 0:
                raise ValueError(f"{self.path}: file ends before row {stop}")
            view, position = view[got:], position + got
        return out
