"""glibc's allocator, tuned for the large, short-lived buffers of CPU inference and training.

By default glibc serves every allocation above 32 MiB with a fresh ``mmap`` and returns it
to the system when freed, so each forward pass of a model on the CPU maps, faults in and
unmaps its activations again: on the demo's model a third to half of the CPU time went to
page faults (``benches/bench_malloc.py``). :func:`tune_malloc` keeps such buffers in the
heap (mmap threshold 1 GiB), does not trim the heap back below 1 GiB, and grows it 256 MiB
at a time, so they are reused. The cost: the process keeps its peak heap for its lifetime.
``crossreg`` calls it at start; ``CROSSREG_MALLOC=default`` leaves glibc as it is.
"""

from __future__ import annotations

import ctypes
import os

M_TRIM_THRESHOLD, M_TOP_PAD, M_MMAP_THRESHOLD = -1, -2, -3  # glibc's mallopt parameters
SETTINGS = ((M_MMAP_THRESHOLD, 1 << 30), (M_TRIM_THRESHOLD, 1 << 30), (M_TOP_PAD, 256 << 20))
VARIABLE = "CROSSREG_MALLOC"


def tune_malloc() -> bool:
    """Apply :data:`SETTINGS` through glibc's ``mallopt``; returns whether they took (False
    off glibc, or when ``CROSSREG_MALLOC=default``)."""
    if os.environ.get(VARIABLE, "").strip().lower() == "default":
        return False
    try:  # the process's own symbols: no library search (find_library runs ldconfig)
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return False  # no mallopt: not glibc (macOS)
    mallopt.argtypes, mallopt.restype = (ctypes.c_int, ctypes.c_int), ctypes.c_int
    return all(mallopt(param, value) == 1 for param, value in SETTINGS)


def release_free_memory() -> bool:
    """Hand the heap's free pages back to the system (glibc's ``malloc_trim``), in every
    arena: after :func:`tune_malloc` a freed buffer otherwise stays resident, and a worker
    thread's arena keeps what its thread freed, so the process's resident memory would be
    the sum of every phase's and thread's peaks. Returns False off glibc."""
    try:
        trim = ctypes.CDLL(None).malloc_trim
    except (OSError, AttributeError):
        return False
    trim.argtypes, trim.restype = (ctypes.c_size_t,), ctypes.c_int
    trim(0)
    return True
