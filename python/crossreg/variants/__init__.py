"""Variant effects: :mod:`.sad` scores VCF alleles with a model, :mod:`.recovery` checks
scores against effects known in advance."""

from crossreg._lazy import lazy_submodules

__getattr__, __dir__ = lazy_submodules(__name__, __path__, globals())
