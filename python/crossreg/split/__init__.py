"""The synteny split: :mod:`.synteny` computes it, :mod:`.report` writes its files and
reports, :mod:`.defaults` holds its default settings (importable without numpy)."""

from crossreg._lazy import submodule_getattr

__getattr__ = submodule_getattr(__name__, __path__)
