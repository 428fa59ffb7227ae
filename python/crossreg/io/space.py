"""Disk space for a file about to be written, taken before it is written: a full disk
then stops a command at the start of the file, with one line naming its output
(:func:`crossreg.io.atomic.atomic_path` turns :class:`SpaceError` into an
:class:`~crossreg.io.write_errors.OutputError`), instead of part-way through it. Two writers
cannot fail cleanly on their own: a memory-mapped ``.npy`` gets SIGBUS when a page it
writes finds no free block, and HDF5 raises from inside a write and can crash the
process when it exits.

The space is allocated with Linux's ``fallocate``: a ``.npy`` its whole size
(:func:`allocated_memmap`); an HDF5 file, whose size is known only once it is closed, an upper
bound of it kept beyond the file's end (``FALLOC_FL_KEEP_SIZE``) and given back after
the file is closed (:func:`release_beyond_end`). Where the file system cannot allocate ahead (some
network file systems), or outside Linux, the free space ``statvfs`` reports is compared
with what the file still needs instead, which another process filling the disk
meanwhile, or a quota, can still defeat.
"""

from __future__ import annotations

import ctypes
import errno
import functools
import os
from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # numpy is imported where a memory map is made: the rest is light
    import numpy as np
    import numpy.typing as npt

#: ``fallocate`` mode: allocate without changing the file's size.
FALLOC_FL_KEEP_SIZE = 1
#: What ``fallocate`` answers where the file system cannot allocate ahead.
UNSUPPORTED = frozenset({errno.EOPNOTSUPP, errno.ENOSYS})


class SpaceError(OSError):
    """Too little free space for a file: ``errno.ENOSPC`` with `needed`, the bytes the
    file still needs, and `free`, the bytes the file system had free. It names no file:
    the writer names its output."""

    def __init__(self, needed: int, free: int) -> None:
        super().__init__(errno.ENOSPC, os.strerror(errno.ENOSPC))
        self.needed, self.free = needed, free


def size_text(n: float) -> str:
    """``512 B``, ``2.0 KiB``, ... up to TiB."""
    value, units = float(n), ["B", "KiB", "MiB", "GiB", "TiB"]
    while value >= 1024 and len(units) > 1:
        value, units = value / 1024, units[1:]
    return f"{int(n)} B" if units[0] == "B" else f"{value:.1f} {units[0]}"


def free_bytes(path: str | os.PathLike[str]) -> tuple[int, int]:
    """Bytes free to this user on the file system holding `path`, and its block size."""
    st = os.statvfs(path)
    return st.f_bavail * st.f_frsize, st.f_frsize


@functools.cache
def _fallocate() -> Callable[[int, int, int, int], int] | None:
    """libc's ``fallocate`` with 64-bit offsets, or ``None`` where there is none."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        function = getattr(libc, "fallocate64", None) or libc.fallocate
    except (OSError, AttributeError):
        return None
    function.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int64, ctypes.c_int64]
    function.restype = ctypes.c_int
    return function


def reserve(path: str | os.PathLike[str], size: int, *, beyond_end: bool = False) -> None:
    """Allocate the first `size` bytes of the file `path` on its disk; with `beyond_end`
    the file keeps its size and the blocks past its end wait for writes to come. Raises
    :class:`SpaceError` when the disk has too little room (other errors of the file
    system as they come)."""
    if size <= 0:
        return
    fd = os.open(path, os.O_RDWR)
    try:
        function = _fallocate()
        if function is not None:
            mode = FALLOC_FL_KEEP_SIZE if beyond_end else 0
            code = errno.EINTR
            while code == errno.EINTR:  # a signal's handler ran: ask again, as os calls do
                code = 0 if function(fd, mode, 0, size) == 0 else ctypes.get_errno()
            if code == 0:
                return
            if code == errno.ENOSPC:
                raise SpaceError(size - os.fstat(fd).st_blocks * 512, free_bytes(path)[0])
            if code not in UNSUPPORTED:
                raise OSError(code, os.strerror(code))
        _check_free(path, size - os.fstat(fd).st_blocks * 512)
    finally:
        os.close(fd)


def _check_free(path: str | os.PathLike[str], needed: int) -> None:
    """Raise :class:`SpaceError` unless the disk holding `path` has `needed` bytes free
    (and a few blocks more for the file system's own records)."""
    free, block = free_bytes(path)
    if needed > 0 and free < needed + 4 * block:
        raise SpaceError(needed, free)


def release_beyond_end(path: str | os.PathLike[str]) -> None:
    """Free the blocks :func:`reserve` allocated past the end of the file `path`: it is
    lengthened by a byte and cut back, which every file system answers by freeing what
    lies beyond its end."""
    if not os.path.exists(path):
        return
    size = os.path.getsize(path)
    os.truncate(path, size + 1)
    os.truncate(path, size)


def allocated_memmap(
    path: str | os.PathLike[str], dtype: npt.DTypeLike, shape: tuple[int, ...]
) -> np.memmap:
    """A new ``.npy`` file at `path` of `dtype` and `shape` (all zeros), memory-mapped to
    write, with all its blocks allocated on the disk first (:func:`reserve`), so that
    writing it cannot run out of space."""
    from numpy.lib.format import open_memmap

    array = open_memmap(path, mode="w+", dtype=dtype, shape=shape)
    reserve(path, os.path.getsize(path))
    return array
