"""Training: loss, metrics, optimiser, multi-genome batch schedule, early stopping, trainer."""

from crossreg._lazy import submodule_getattr

__getattr__ = submodule_getattr(__name__, __path__)
