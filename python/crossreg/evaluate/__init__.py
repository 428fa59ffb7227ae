"""Evaluation: per-track accuracy tables, joint-vs-single comparisons, transfer tests."""

from crossreg._lazy import submodule_getattr

__getattr__ = submodule_getattr(__name__, __path__)
