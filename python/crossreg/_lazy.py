"""Subpackages whose submodules are imported on first use (``crossreg.variants.sad`` after
``import crossreg`` alone), so that importing a package pulls in no step it does not use,
while ``dir()`` (and so tab completion) lists them from the start."""

import importlib
import pkgutil
from collections.abc import Callable, Iterable, Mapping
from types import ModuleType


def lazy_submodules(
    package: str, path: Iterable[str], namespace: Mapping[str, object]
) -> tuple[Callable[[str], ModuleType], Callable[[], list[str]]]:
    """A module ``__getattr__`` and ``__dir__`` for the package `package` (at `path`, its
    ``__path__``; `namespace`, its ``globals()``): the first imports its submodule
    ``package.name`` on first use (not ``__main__``, which runs the command line), any
    other name raising :class:`AttributeError` as a module does; the second lists the
    package's names and submodules, imported or not."""
    modules = pkgutil.iter_modules(list(path))
    names = frozenset(info.name for info in modules if not info.name.startswith("__"))

    def submodule(name: str) -> ModuleType:
        if name in names:
            return importlib.import_module(f"{package}.{name}")
        raise AttributeError(f"module '{package}' has no attribute '{name}'")

    def listing() -> list[str]:
        return sorted({*namespace, *names})

    return submodule, listing
