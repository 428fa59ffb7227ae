"""Training: loss, metrics, optimiser, multi-genome batch schedule, early stopping, trainer."""

from crossreg import _lazy

__getattr__, __dir__ = _lazy.lazy_submodules(__name__, __path__, globals())
