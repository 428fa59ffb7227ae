"""Readers and writers of the file formats crossreg exchanges with other tools.

Each reader checks its input and raises :class:`ValueError` with the file, the line and the
fix when something is wrong. Coordinates are 0-based half-open inside crossreg.
"""

from crossreg import _lazy

__getattr__, __dir__ = _lazy.lazy_submodules(__name__, __path__, globals())
