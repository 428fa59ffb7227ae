"""Training data: BigWig tracks and a FASTA → a dataset store → PyTorch batches.

- :func:`build_dataset` writes one genome's store (``crossreg data`` on the command line);
- :class:`DataStore` opens a finished store (memory-mapped arrays, metadata);
- :class:`SplitDataset`, :func:`make_loader` feed training, with seeded rc/shift
  augmentation done by the native core; :func:`codes_to_one_hot` expands byte codes on
  the device.
"""

from crossreg.data.loader import (
    EpochBatchSampler,
    SplitDataset,
    augmentation_draws,
    codes_to_one_hot,
    make_loader,
)
from crossreg.data.plan import Layout, SplitOptions
from crossreg.data.store import BuildOptions, DataStore, build_dataset
from crossreg.data.tracks import bigwig_chrom_sizes, compute_targets

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
