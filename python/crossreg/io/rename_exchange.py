"""Two names swapped in one step (Linux's ``renameat2`` with ``RENAME_EXCHANGE``), where the
system and the file system can."""

from __future__ import annotations

import ctypes
import errno
import functools
import os
from collections.abc import Callable
from pathlib import Path

_RENAME_EXCHANGE = 2  # renameat2's flag (linux/fs.h)
_AT_FDCWD = -100  # a path relative to the current directory (fcntl.h)


@functools.cache
def _renameat2() -> Callable[..., int] | None:
    """libc's ``renameat2``, or ``None`` where there is none (not Linux, an old libc)."""
    try:
        function = ctypes.CDLL(None, use_errno=True).renameat2
    except (OSError, AttributeError):
        return None
    function.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p]
    function.argtypes += [ctypes.c_uint]
    function.restype = ctypes.c_int
    return function


def exchange(first: Path, second: Path) -> bool:
    """Swap the names `first` and `second` in one step (``renameat2`` with
    ``RENAME_EXCHANGE``), so that a crash leaves each at one name or the other; False where
    the system or the file system cannot (nothing is changed then)."""
    function = _renameat2()
    if function is None:
        return False
    if (
        function(_AT_FDCWD, os.fsencode(first), _AT_FDCWD, os.fsencode(second), _RENAME_EXCHANGE)
        == 0
    ):
        return True
    code = ctypes.get_errno()
    if code in (errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP, errno.ENOTSUP):
        return False
    raise OSError(code, os.strerror(code), str(first), None, str(second))
