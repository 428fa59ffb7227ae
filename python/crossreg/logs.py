"""The ``crossreg`` logger's one configuration: messages to stderr with a timestamp."""

from __future__ import annotations

import logging
import sys

log = logging.getLogger("crossreg")


def setup_logging(verbose: bool = False, quiet: bool = False) -> None:
    """Configure the ``crossreg`` logger once: messages to stderr with a timestamp; INFO,
    DEBUG with `verbose`, WARNING with `quiet`."""
    level = logging.DEBUG if verbose else logging.WARNING if quiet else logging.INFO
    if not log.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s", "%H:%M:%S"))
        log.addHandler(handler)
        log.propagate = False
    log.setLevel(level)
