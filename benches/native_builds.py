"""Another build of the native extension, for benches that time two builds side by side
(``--baseline-native``)."""

from __future__ import annotations

import importlib.util
from types import ModuleType


def load_native(path: str) -> ModuleType:
    """Another build of the extension module (``_native.abi3.so``), loaded from `path`."""
    spec = importlib.util.spec_from_file_location("_native", path)
    if spec is None or spec.loader is None:
        raise SystemExit(f"--baseline-native: {path} is not a loadable extension module")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
