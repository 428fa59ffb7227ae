"""Evaluation: per-track accuracy tables, joint-vs-single comparisons, transfer tests."""

from crossreg._lazy import lazy_submodules

__getattr__, __dir__ = lazy_submodules(__name__, __path__, globals())
