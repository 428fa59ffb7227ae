"""The ``crossreg`` logger's one configuration: messages to stderr with a timestamp."""

from __future__ import annotations

import logging
import sys
from typing import TextIO

log = logging.getLogger("crossreg")


class _StderrHandler(logging.StreamHandler):
    """Writes to whatever ``sys.stderr`` is when a message comes (a notebook's, a test's
    capture), not to the one there was when logging was configured."""

    @property
    def stream(self) -> TextIO:
        return sys.stderr

    @stream.setter
    def stream(self, _value) -> None:
        pass


def setup_logging(verbose: bool = False, quiet: bool = False) -> None:
    """Configure the ``crossreg`` logger once: messages to stderr with a timestamp; INFO,
    DEBUG with `verbose`, WARNING with `quiet`."""
    level = logging.DEBUG if verbose else logging.WARNING if quiet else logging.INFO
    if not log.handlers:
        handler = _StderrHandler()
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s", "%H:%M:%S"))
        log.addHandler(handler)
        log.propagate = False
    log.setLevel(level)
