"""Evaluation: per-track accuracy tables, joint-vs-single comparisons, transfer tests."""

from crossreg import _lazy

__getattr__, __dir__ = _lazy.lazy_submodules(__name__, __path__, globals())
