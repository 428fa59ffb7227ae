"""The synteny split: :mod:`.synteny` computes it, refusing bad inputs by
:mod:`.inputs` and warning of what the nets joined by :mod:`.net_warnings`;
:mod:`.report` writes its files and reports, :mod:`.defaults` holds its default settings
(importable without numpy)."""

from crossreg import _lazy

__getattr__, __dir__ = _lazy.lazy_submodules(__name__, __path__, globals())
