"""Variant effects: :mod:`.sad` scores VCF alleles with a model, :mod:`.recovery` checks
scores against effects known in advance."""

from crossreg import _lazy

__getattr__, __dir__ = _lazy.lazy_submodules(__name__, __path__, globals())
