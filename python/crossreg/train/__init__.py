"""Training: loss, metrics, optimiser, multi-genome batch schedule, early stopping, trainer."""

from crossreg._lazy import lazy_submodules

__getattr__, __dir__ = lazy_submodules(__name__, __path__, globals())
