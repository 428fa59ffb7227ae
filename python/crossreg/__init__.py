"""crossreg: cross-species regulatory sequence activity prediction.

A PyTorch reimplementation of Basenji2 (Kelley 2020) with a Rust data core. Each step
lives in its own subpackage or module (:mod:`crossreg.data`, :mod:`crossreg.train`,
:mod:`crossreg.variants`, ...; the foundations :mod:`crossreg.dna` (one-hot, reverse
complement, shifts), :mod:`crossreg.genome` (in-memory FASTA), :mod:`crossreg.signal`
(clipping, scaling)). Each is imported on first use, so ``import crossreg`` stays light
and ``crossreg.variants.sad.write_sad`` works after it alone.
"""

from crossreg._lazy import lazy_submodules
from crossreg._native import __version__

__getattr__, __dir__ = lazy_submodules(__name__, __path__, globals())

__all__ = ["__version__"]
