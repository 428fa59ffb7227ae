"""The synteny split: :mod:`.synteny` computes it, :mod:`.report` writes its files and
reports, :mod:`.defaults` holds its default settings (importable without numpy)."""

from crossreg._lazy import lazy_submodules

__getattr__, __dir__ = lazy_submodules(__name__, __path__, globals())
