"""The start of a loader's worker processes: from a fork server (or spawned), without
the caller's script imported as they start."""

from __future__ import annotations

import multiprocessing
import multiprocessing.context
import sys
import types
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from multiprocessing import popen_forkserver, popen_spawn_posix


@contextmanager
def _main_script_hidden() -> Iterator[None]:
    """While a worker starts, ``__main__`` is a bare module: the worker is not told to
    import the caller's script (which would build the loader again as it bootstraps)."""
    main = sys.modules["__main__"]
    sys.modules["__main__"] = types.ModuleType("__main__")
    try:
        yield
    finally:
        sys.modules["__main__"] = main


class _ForkServerWorker(multiprocessing.context.ForkServerProcess):
    @staticmethod
    def _Popen(process_obj: multiprocessing.process.BaseProcess) -> popen_forkserver.Popen:  # noqa: N802 (its name)
        with _main_script_hidden():
            return multiprocessing.context.ForkServerProcess._Popen(process_obj)


class _SpawnWorker(multiprocessing.context.SpawnProcess):
    @staticmethod
    def _Popen(process_obj: multiprocessing.process.BaseProcess) -> popen_spawn_posix.Popen:  # noqa: N802 (its name)
        with _main_script_hidden():
            return multiprocessing.context.SpawnProcess._Popen(process_obj)


class _ForkServerContext(multiprocessing.context.ForkServerContext):
    Process = _ForkServerWorker


class _SpawnContext(multiprocessing.context.SpawnContext):
    Process = _SpawnWorker


def worker_context(start_method: str) -> multiprocessing.context.BaseContext:
    """The multiprocessing context of the loader's workers (see :func:`make_loader`)."""
    if start_method == "forkserver":
        return _ForkServerContext()
    if start_method == "spawn":
        return _SpawnContext()
    raise ValueError(f"start_method must be 'forkserver' or 'spawn', got {start_method!r}")
