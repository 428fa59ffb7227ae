"""SIGTERM taken as Ctrl-C, so that a command stopped by ``kill`` or a scheduler cleans up
as an interrupted one does."""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

# a SIGTERM this soon after the last is the same request sent twice (``timeout`` signals
# the command and then its process group), not a second one
REPEAT_SECONDS = 1.0


@contextmanager
def sigterm_as_interrupt() -> Iterator[list[float]]:
    """Within the block, SIGTERM (a scheduler's time limit or preemption, ``kill``) raises
    KeyboardInterrupt as Ctrl-C does, so that temporary files are removed and finished
    chunks kept; the list yielded receives the time of each SIGTERM that did. One that
    follows the last within :data:`REPEAT_SECONDS` is ignored. Outside the main thread
    nothing changes; a process forked within the block keeps SIGTERM's default action.
    The previous handler is restored at the end."""
    received: list[float] = []
    if threading.current_thread() is not threading.main_thread():
        yield received
        return
    pid = os.getpid()

    def handler(signum: int, frame: object) -> None:
        if os.getpid() != pid:  # a forked child (not a command): end as SIGTERM would
            signal.signal(signum, signal.SIG_DFL)
            os.kill(os.getpid(), signum)
            return
        now = time.monotonic()
        if received and now - received[-1] < REPEAT_SECONDS:
            return
        received.append(now)
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, handler)
    try:
        yield received
    finally:
        signal.signal(signal.SIGTERM, previous)
