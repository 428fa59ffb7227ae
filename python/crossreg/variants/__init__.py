"""Variant effects: :mod:`.sad` scores VCF alleles with a model, :mod:`.recovery` checks
scores against effects known in advance."""

from crossreg._lazy import submodule_getattr

__getattr__ = submodule_getattr(__name__, __path__)
