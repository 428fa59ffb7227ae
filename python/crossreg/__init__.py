"""crossreg: cross-species regulatory sequence activity prediction.

A PyTorch reimplementation of Basenji2 (Kelley 2020) with a Rust data core. Each step
lives in its own subpackage or module (:mod:`crossreg.data`, :mod:`crossreg.train`,
:mod:`crossreg.variants`, ...; the foundations :mod:`crossreg.dna` (one-hot, reverse
complement, shifts), :mod:`crossreg.genome` (in-memory FASTA), :mod:`crossreg.signal`
(clipping, scaling)). Each is imported on first use, so ``import crossreg`` stays light
and ``crossreg.variants.sad.write_sad`` works after it alone. ``__version__`` is the
native core's, read on first use too (loading the core loads numpy).
"""

import types as _types

from crossreg import _lazy

__version__: str  # set by __getattr__ on first use
_submodule, _listing = _lazy.lazy_submodules(__name__, __path__, globals())


def __getattr__(name: str) -> _types.ModuleType | str:
    if name == "__version__":
        from crossreg._native import __version__

        return __version__
    return _submodule(name)


def __dir__() -> list[str]:
    return sorted({*_listing(), "__version__"})


__all__ = ["__version__"]
