"""Training data: BigWig tracks and a FASTA → a dataset store → PyTorch batches.

- :func:`build_dataset` writes one genome's store (``crossreg data`` on the command line);
- :class:`DataStore` opens a finished store (memory-mapped arrays, metadata);
- :class:`SplitDataset`, :func:`make_loader` feed training, with seeded rc/shift
  augmentation done by the native core; :func:`codes_to_one_hot` expands byte codes on
  the device.
"""

from typing import Any

from crossreg.data.plan import Layout, SplitOptions
from crossreg.data.store import BuildOptions, DataStore, build_dataset
from crossreg.data.tracks import bigwig_chrom_sizes, compute_targets

#: Names served by crossreg.data.loader, imported on first use (it imports torch).
_LOADER_NAMES = (
    "EpochBatchSampler",
    "SplitDataset",
    "augmentation_draws",
    "codes_to_one_hot",
    "make_loader",
)


def __getattr__(name: str) -> Any:
    if name in _LOADER_NAMES:
        from crossreg.data import loader

        return getattr(loader, name)
    raise AttributeError(f"module 'crossreg.data' has no attribute '{name}'")


__all__ = [
    "BuildOptions",
    "DataStore",
    "EpochBatchSampler",
    "Layout",
    "SplitDataset",
    "SplitOptions",
    "augmentation_draws",
    "bigwig_chrom_sizes",
    "build_dataset",
    "codes_to_one_hot",
    "compute_targets",
    "make_loader",
]
