"""Variant effects: :mod:`.sad` scores VCF alleles with a model, :mod:`.recovery` checks
scores against effects known in advance."""
