"""Statistics on variant scores: case/control de novo tests."""

from crossreg._lazy import submodule_getattr

__getattr__ = submodule_getattr(__name__, __path__)
