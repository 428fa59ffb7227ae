"""Readers and writers of the file formats crossreg exchanges with other tools.

Each reader checks its input and raises :class:`ValueError` with the file, the line and the
fix when something is wrong. Coordinates are 0-based half-open inside crossreg.
"""

from crossreg._lazy import lazy_submodules

__getattr__, __dir__ = lazy_submodules(__name__, __path__, globals())
