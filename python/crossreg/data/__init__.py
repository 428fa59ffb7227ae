"""Training data: BigWig tracks and a FASTA → a dataset store → PyTorch batches.

- :func:`build_dataset` writes one genome's store (``crossreg data`` on the command line);
- :class:`DataStore` opens a finished store (memory-mapped arrays, metadata);
- :class:`SplitDataset`, :func:`make_loader` feed training, with seeded rc/shift
  augmentation done by the native core, the next batches read ahead on threads
  (:class:`ReadAheadLoader`); :func:`to_device` copies each batch to the GPU while the one
  before is used; :func:`codes_to_one_hot` expands byte codes on the device.
"""

import importlib
from typing import TYPE_CHECKING, Any

from crossreg import _lazy

if TYPE_CHECKING:
    from crossreg.data.augment import augmentation_draws
    from crossreg.data.bigwig import bigwig_chrom_sizes, compute_targets
    from crossreg.data.build import BuildOptions, build_dataset
    from crossreg.data.dataset import SplitDataset
    from crossreg.data.device_batches import codes_to_one_hot, to_device
    from crossreg.data.loader import ReadAheadLoader, make_loader
    from crossreg.data.plan import Layout, SplitOptions
    from crossreg.data.sampler import EpochBatchSampler
    from crossreg.data.store import DataStore

#: Public name -> the submodule serving it, imported on first use: importing the package
#: (e.g. for crossreg.data.defaults, which ``crossreg --help`` reads) pulls in neither numpy
#: nor torch (crossreg.data.dataset and crossreg.data.loader import torch).
_SOURCES = {
    "bigwig_chrom_sizes": "crossreg.data.bigwig",
    "compute_targets": "crossreg.data.bigwig",
    "Layout": "crossreg.data.plan",
    "SplitOptions": "crossreg.data.plan",
    "BuildOptions": "crossreg.data.build",
    "DataStore": "crossreg.data.store",
    "build_dataset": "crossreg.data.build",
    "EpochBatchSampler": "crossreg.data.sampler",
    "SplitDataset": "crossreg.data.dataset",
    "augmentation_draws": "crossreg.data.augment",
    "codes_to_one_hot": "crossreg.data.device_batches",
    "make_loader": "crossreg.data.loader",
    "ReadAheadLoader": "crossreg.data.loader",
    "to_device": "crossreg.data.device_batches",
}


_submodule, _listing = _lazy.lazy_submodules(__name__, __path__, globals())


def __getattr__(name: str) -> Any:
    if name in _SOURCES:
        return getattr(importlib.import_module(_SOURCES[name]), name)
    return _submodule(name)


def __dir__() -> list[str]:
    return sorted({*_listing(), *_SOURCES})


__all__ = [
    "BuildOptions",
    "DataStore",
    "EpochBatchSampler",
    "Layout",
    "ReadAheadLoader",
    "SplitDataset",
    "SplitOptions",
    "augmentation_draws",
    "bigwig_chrom_sizes",
    "build_dataset",
    "codes_to_one_hot",
    "compute_targets",
    "make_loader",
    "to_device",
]
