"""SAD outputs' rows read and copied in blocks of a fixed size.

Every output is written in one uninterrupted pass from *parts* — the finished chunks of a
run (:class:`crossreg.variants.chunk_store.ChunkStore`) or the shard files of a sharded one
— each a mapping from a dataset name to rows (a memory-mapped ``.npy`` or an HDF5
dataset). Rows are copied in blocks of a size fixed by the row's size (:func:`block_rows`),
counted from the first row, so the same rows give the same bytes however they were
computed: in one run or several resumed ones, in one process or in shards.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

BLOCK_BYTES = 64 << 20  # about this much of a dataset is read or written at a time

Part = Mapping[str, Any]  # dataset name -> rows (np.ndarray, np.memmap or h5py.Dataset)


def part_rows(part: Part) -> int:
    """The number of alleles in a part."""
    return len(part["snp"])


def read_rows(parts: Sequence[Part], name: str, start: int, stop: int) -> npt.NDArray:
    """Rows ``[start, stop)`` of dataset `name` over `parts` joined end to end."""
    pieces = []
    offset = 0
    for part in parts:
        size = part_rows(part)
        lo, hi = max(start - offset, 0), min(stop - offset, size)
        if lo < hi:
            pieces.append(np.asarray(part[name][lo:hi]))
        offset += size
        if offset >= stop:
            break
    return pieces[0] if len(pieces) == 1 else np.concatenate(pieces)


def row_bytes(dataset: Any) -> int:
    """The bytes of one row of `dataset` (an array or HDF5 dataset): the values after its
    first axis times their size."""
    return int(np.prod(dataset.shape[1:], dtype=np.int64)) * np.dtype(dataset.dtype).itemsize


def block_rows(row_bytes: int) -> int:
    """Rows per block of about :data:`BLOCK_BYTES` (a multiple of 1,024 when that many fit,
    matching the ``.h5`` chunks): fixed by the row size, so every run copies alike."""
    rows = max(1, BLOCK_BYTES // max(row_bytes, 1))
    return rows // 1024 * 1024 if rows >= 1024 else rows
