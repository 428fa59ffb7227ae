"""Locks on folders (``flock``) that tell other processes a folder is in use."""

from __future__ import annotations

import fcntl
import os
from pathlib import Path


def lock_folder(path: Path) -> int | None:
    """A descriptor holding the lock on the folder `path` (``None`` for a file, or where
    another process holds it), which tells other processes it is in use: here, so that no
    other writer removes it as an interrupted write's ``.<name>.partial`` once it is one;
    :mod:`crossreg.evaluate.scratch` locks its scratch folders alike. Closing the
    descriptor (or the process ending) lets the lock go."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW)
    except OSError:
        return None
    if try_lock(fd):
        return fd
    os.close(fd)
    return None


def try_lock(fd: int) -> bool:
    """Take an exclusive lock on `fd` without waiting; False if another process holds it.
    Where the file system has no such locks (some network ones) it counts as taken."""
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    except OSError:
        pass
    return True
