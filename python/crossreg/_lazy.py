"""Subpackages whose submodules are imported on first use (``crossreg.variants.sad`` after
``import crossreg`` alone), so that importing a package pulls in no step it does not use."""

import importlib
import pkgutil
from collections.abc import Callable, Iterable
from types import ModuleType


def submodule_getattr(package: str, path: Iterable[str]) -> Callable[[str], ModuleType]:
    """A module ``__getattr__`` for the package `package` (at `path`, its ``__path__``)
    that imports its submodule ``package.name`` on first use (not ``__main__``, which
    runs the command line); any other name raises :class:`AttributeError` as a module
    does."""
    modules = pkgutil.iter_modules(list(path))
    names = frozenset(info.name for info in modules if not info.name.startswith("__"))

    def submodule(name: str) -> ModuleType:
        if name in names:
            return importlib.import_module(f"{package}.{name}")
        raise AttributeError(f"module '{package}' has no attribute '{name}'")

    return submodule
