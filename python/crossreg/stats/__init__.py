"""Statistics on variant scores: case/control de novo tests."""

from crossreg import _lazy

__getattr__, __dir__ = _lazy.lazy_submodules(__name__, __path__, globals())
