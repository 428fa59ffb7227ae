"""How many files this process may still open at once, for work that reads many files
together (the track chunks or shards of a dataset's targets): a cluster's usual limit of
1,024 (``ulimit -n``) is fewer than the files of a build at the paper's track count.
"""

from __future__ import annotations

import os
import resource
from collections.abc import Iterator
from contextlib import contextmanager

#: Descriptors left for what else the process opens meanwhile (logs, libraries, threads).
SPARE = 32


def _open_now() -> int:
    """Files this process has open (0 where the system does not list them)."""
    for folder in ("/proc/self/fd", "/dev/fd"):
        try:
            return len(os.listdir(folder))
        except OSError:
            continue
    return 0


@contextmanager
def open_file_room() -> Iterator[int]:
    """Files this process may still open at once within the block, at least 1: its limit
    (``RLIMIT_NOFILE``) less the files open now and :data:`SPARE`. The soft limit
    (``ulimit -n``) is raised to the hard one for the block, as far as the system allows,
    and set back after it: the program that called crossreg, and those it starts, keep
    the limit they had (a program that waits on descriptors with ``select()`` fails on
    any numbered 1,024 or more)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    limit = soft
    if soft != resource.RLIM_INFINITY and (hard == resource.RLIM_INFINITY or soft < hard):
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
            limit = hard
        except (ValueError, OSError):  # a hard limit above the kernel's (macOS): keep it
            pass
    try:
        yield 2**20 if limit == resource.RLIM_INFINITY else max(1, limit - _open_now() - SPARE)
    finally:
        if limit != soft:
            resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
