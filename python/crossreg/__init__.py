"""crossreg: cross-species regulatory sequence activity prediction.

A PyTorch reimplementation of Basenji2 (Kelley 2020) with a Rust data core. Import the
submodules for each step: :mod:`crossreg.dna` (one-hot, reverse complement, shifts),
:mod:`crossreg.genome` (in-memory FASTA), :mod:`crossreg.signal` (clipping, scaling).
"""

from crossreg._native import __version__

__all__ = ["__version__"]
