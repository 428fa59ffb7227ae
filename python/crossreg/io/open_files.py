"""How many files this process may still open at once, for work that reads many files
together (the track chunks or shards of a dataset's targets): a cluster's usual limit of
1,024 (``ulimit -n``) is fewer than the files of a build at the paper's track count.
"""

from __future__ import annotations

import os
import resource

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


def open_file_room() -> int:
    """Files this process may still open at once, at least 1: its limit (``RLIMIT_NOFILE``)
    less the files open now and :data:`SPARE`. The soft limit (``ulimit -n``) is first
    raised to the hard one, as far as the system allows."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and (hard == resource.RLIM_INFINITY or soft < hard):
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
            soft = hard
        except (ValueError, OSError):  # a hard limit above the kernel's (macOS): keep it
            pass
    if soft == resource.RLIM_INFINITY:
        return 2**20
    return max(1, soft - _open_now() - SPARE)
