"""Compressed float16 targets: ``targets.rows`` holds each window's ``(bins, tracks)``
values compressed on its own by the native row codec (byte shuffle + deflate, then the
CRC32 of the shuffled bytes; ``rust/src/codec.rs``), ``targets.offsets.npy`` where each
window's bytes start and the last ends. :class:`CompressedRows` reads them back like the
memory-mapped ``targets.npy`` of a plain store (``len``, ``shape``, indexing by window),
decoding only the windows asked for, in parallel, and refusing a window whose CRC32 does
not match. Stores of format version 1 have no CRC32: their windows decode unchecked.
"""

from __future__ import annotations

import copy
import os
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from crossreg import _native
from crossreg.data.npy import REBUILD, NpyRows, load_npy
from crossreg.progress import progress

ROWS_FILE = "targets.rows"
OFFSETS_FILE = "targets.offsets.npy"


#: Windows compressed at once when a store's targets are compressed.
_BLOCK_WINDOWS = 64


def index_array(key: Any, length: int, items: str) -> npt.NDArray[np.int64]:
    """`key`, integer indices or a boolean mask over `length` `items`, as int64 indices
    (numpy's rules: a mask must cover every item, and no other dtype indexes)."""
    wanted = np.asarray(key)
    if wanted.dtype == np.bool_:
        if wanted.shape != (length,):
            raise IndexError(
                f"a boolean index of shape {wanted.shape} does not match the {length} {items}"
            )
        return np.flatnonzero(wanted)
    if wanted.size and not np.issubdtype(wanted.dtype, np.integer):
        raise IndexError(f"{items} are indexed by integers or booleans, not {wanted.dtype}")
    return wanted.astype(np.int64)


def _axes_indexed(item: Any) -> int:
    """How many axes one item of a numpy index consumes (``None``, ``...`` and a boolean
    scalar none, a boolean array its dimensions, anything else one)."""
    if item is None or item is Ellipsis:
        return 0
    if isinstance(item, slice):
        return 1
    values = np.asarray(item)
    return values.ndim if values.dtype == np.bool_ else 1


def _expand_ellipsis(items: tuple[Any, ...], ndim: int) -> tuple[Any, ...]:
    """`items` with its ``...`` (if any) replaced by the full slices it stands for."""
    positions = [i for i, item in enumerate(items) if item is Ellipsis]
    if not positions:
        return items
    if len(positions) > 1:
        raise IndexError("an index can only have a single ellipsis ('...')")
    at = positions[0]
    fill = max(ndim - sum(_axes_indexed(item) for item in items), 0)
    return (*items[:at], *(slice(None),) * fill, *items[at + 1 :])


def compress_targets(directory: Path, level: int, *, keep_source: bool = False) -> None:
    """Replace ``directory/targets.npy`` with its compressed form (`level` 0-12), reading and
    compressing :data:`_BLOCK_WINDOWS` windows at a time; with `keep_source` the caller
    deletes ``targets.npy`` (a resumable build, once the rest is on the disk)."""
    source = directory / "targets.npy"
    offsets = [np.zeros(1, dtype=np.uint64)]
    with NpyRows(source) as rows, open(directory / ROWS_FILE, "wb") as out:
        n = rows.shape[0]
        total = 0
        # 0.07-0.17 GB/s at level 1 on two cores (benches): the paper's 362 GB take 35-90 min
        with progress(n, f"compressing targets (level {level})", "windows") as meter:
            for a in range(0, n, _BLOCK_WINDOWS):
                block = rows.read(a, min(a + _BLOCK_WINDOWS, n))
                blob, bounds = _native.compress_rows(
                    block.view(np.uint16).reshape(len(block), -1), level
                )
                out.write(blob.data)
                offsets.append(bounds[1:] + np.uint64(total))
                total += blob.size
                meter.update(len(block))
    np.save(directory / OFFSETS_FILE, np.concatenate(offsets))
    if not keep_source:
        source.unlink()


class CompressedRows:
    """Windows `rows` (a slice of step 1) of a compressed targets file, read like a
    ``(windows, bins, tracks)`` float16 array: an int, a slice, an index array, a boolean
    mask over the windows, ``...``, ``None``, or a tuple of these decodes the windows it
    names and returns what the plain array would. Each window's CRC32 is checked
    unless `checked` is false (a store of format version 1, written without them)."""

    def __init__(
        self,
        directory: str | os.PathLike[str],
        bins: int,
        tracks: int,
        rows: slice | None = None,
        *,
        checked: bool = True,
    ) -> None:
        self.directory = Path(directory)
        self.offsets_path = self.directory / OFFSETS_FILE
        self.rows_path = self.directory / ROWS_FILE
        offsets = load_npy(self.offsets_path)
        if offsets.dtype != np.uint64 or offsets.ndim != 1 or len(offsets) < 1:
            raise ValueError(
                f"{self.offsets_path}: {offsets.dtype} array of shape {offsets.shape}, not the "
                f"uint64 byte offsets of the windows in {ROWS_FILE}; {REBUILD}"
            )
        self._offsets = offsets
        count = len(self._offsets) - 1
        start, stop, step = (rows or slice(None)).indices(count)
        if step != 1:
            raise ValueError("compressed targets are read by slices of step 1")
        self._start, self._stop = start, max(start, stop)
        self.bins, self.tracks = bins, tracks
        self.checked = checked
        self.dtype = np.dtype(np.float16)
        size = self.rows_path.stat().st_size
        self._blob: npt.NDArray[np.uint8] = (
            np.memmap(self.rows_path, np.uint8, "r") if size else np.zeros(0, np.uint8)
        )

    def view(self, rows: slice) -> CompressedRows:
        """Windows `rows` (a slice of step 1, relative to this view) of the same files,
        without reading them again."""
        start, stop, step = rows.indices(len(self))
        if step != 1:
            raise ValueError("compressed targets are read by slices of step 1")
        other = copy.copy(self)
        other._start, other._stop = self._start + start, self._start + max(start, stop)
        return other

    @property
    def shape(self) -> tuple[int, int, int]:
        """``(windows, bins, tracks)``."""
        return (self._stop - self._start, self.bins, self.tracks)

    def __len__(self) -> int:
        return self._stop - self._start

    def take(self, rows: npt.ArrayLike, out: npt.NDArray[np.float16] | None = None) -> npt.NDArray:
        """Windows `rows` (relative to this view) decoded into `out` or a new array."""
        idx = np.asarray(rows, dtype=np.int64).reshape(-1)
        if idx.size and (idx.min() < 0 or idx.max() >= len(self)):
            raise IndexError(f"window indices must lie within [0, {len(self)})")
        if out is None:
            out = np.empty((idx.size, self.bins, self.tracks), dtype=np.float16)
        if idx.size:
            try:
                _native.decompress_rows(
                    self._blob,
                    self._offsets,
                    (idx + self._start).astype(np.uint64),
                    out.view(np.uint16).reshape(idx.size, -1),
                    checked=self.checked,
                )
            except ValueError as err:
                raise ValueError(f"{self.rows_path}: {err}; {REBUILD}") from err
        return out

    def __getitem__(self, key: Any) -> Any:
        leading, first, rest = self._split_key(key)
        lead: Any
        if isinstance(first, slice):
            decoded, lead = self.take(np.arange(*first.indices(len(self)))), slice(None)
        elif np.ndim(first) == 0:
            index = int(index_array(first, len(self), "windows"))
            decoded, lead = self.take([index + len(self) if index < 0 else index]), 0
        else:
            wanted = index_array(first, len(self), "windows")
            wanted = np.where(wanted < 0, wanted + len(self), wanted)
            unique, inverse = np.unique(wanted, return_inverse=True)
            decoded, lead = self.take(unique), inverse.reshape(wanted.shape)
        within = (*leading, lead, *rest)
        return decoded[within]

    def _split_key(self, key: Any) -> tuple[tuple[Any, ...], Any, tuple[Any, ...]]:
        """`key` as ``(leading, windows, rest)``: the items before the one that indexes
        the windows axis (``None`` or boolean scalars), that one (all windows when no item
        does), and the items that index the decoded windows."""
        items = _expand_ellipsis(key if isinstance(key, tuple) else (key,), len(self.shape))
        for position, item in enumerate(items):
            if _axes_indexed(item):
                return items[:position], item, items[position + 1 :]
        return items, slice(None), ()

    def __array__(
        self, dtype: npt.DTypeLike | None = None, copy: bool | None = None
    ) -> npt.NDArray:
        values = self.take(np.arange(len(self)))
        return values if dtype is None else values.astype(dtype)

    def astype(self, dtype: npt.DTypeLike) -> npt.NDArray:
        """All the windows decoded, as `dtype`."""
        return np.asarray(self, dtype=dtype)
