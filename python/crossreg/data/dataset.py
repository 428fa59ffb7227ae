"""One split of a dataset store (or several) as a PyTorch dataset that reads whole batches.

A batch is read with one fancy-indexed copy per array (no per-example Python work) and
augmented in place by the native core. Augmentation of example ``i`` is a pure function
of ``(seed, epoch, i)``, so batches are identical whatever the number of worker processes.

Batch contents (``B`` examples, ``L`` = seq_length, ``N`` = target bins, ``T`` = tracks):

- ``sequence``: ``(B, L, 4)`` float32 one-hot (A, C, G, T; N all zero; uint8 with
  ``one_hot_dtype=np.uint8``), or ``(B, L)`` uint8 ASCII codes with ``sequence="codes"``
  (a sixteenth of float32's bytes: expand on the device with
  :func:`~crossreg.data.device_batches.codes_to_one_hot`, as
  training does);
- ``targets``: ``(B, N, T)`` float16;
- ``index``: ``(B,)`` int64 rows within the split; ``rc``: ``(B,)`` bool;
  ``shift``: ``(B,)`` int64.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence
from typing import Literal, cast

import numpy as np
import numpy.typing as npt
import torch
from torch.utils.data import Dataset, get_worker_info

from crossreg import _native
from crossreg.data.augment import augmentation_draws
from crossreg.data.compressed import CompressedRows, index_array
from crossreg.data.npy import NpyRows
from crossreg.data.store import DataStore
from crossreg.dna import one_hot

Indices = Sequence[int] | npt.NDArray[np.integer] | npt.NDArray[np.bool_]
BatchKey = int | slice | Indices | tuple[int, Indices]

#: Rows of a batch read at once (each read releases the GIL; from disk they queue together).
READ_THREADS = 4


class SplitDataset(Dataset):
    """One split of a dataset store (or several, one after another: the folds a
    cross-validation model trains on) as a map-style dataset.

    ``dataset[i]`` is one example (no batch axis); ``dataset[indices]``,
    ``dataset[start:stop]`` or ``dataset[(epoch, indices)]`` is a whole batch (see the
    module docstring for the keys; empty `indices` give a batch of length 0).
    Augmentation (`augment_rc`, `augment_shift` bp) uses `seed` and the epoch (given in
    the key, else :meth:`set_epoch`'s). One-hot sequences are float32, ready for
    ``model(batch["sequence"])``, unless `one_hot_dtype` is ``np.uint8``.
    """

    def __init__(
        self,
        store: DataStore | str | os.PathLike[str],
        split: str | Sequence[str],
        *,
        augment_rc: bool = False,
        augment_shift: int = 0,
        seed: int = 0,
        sequence: Literal["one_hot", "codes"] = "one_hot",
        one_hot_dtype: npt.DTypeLike = np.float32,
    ) -> None:
        store = store if isinstance(store, DataStore) else DataStore(store)
        if sequence not in ("one_hot", "codes"):
            raise ValueError(f"sequence must be 'one_hot' or 'codes', got {sequence!r}")
        if isinstance(augment_shift, bool) or not isinstance(augment_shift, int | np.integer):
            raise TypeError(f"augment_shift must be a whole number of bp, got {augment_shift!r}")
        if augment_shift < 0:
            raise ValueError(f"augment_shift must be >= 0, got {augment_shift}")
        splits = (split,) if isinstance(split, str) else tuple(split)
        if not splits:
            raise ValueError("give the split to read, or several, by name")
        self.path = store.path
        self.split = "+".join(splits)  # the name in messages
        self.augment_rc = augment_rc
        self.augment_shift = int(augment_shift)
        self.seed = int(seed)
        self.sequence = sequence
        self.one_hot_dtype = np.dtype(one_hot_dtype)
        if self.one_hot_dtype not in (np.float32, np.uint8):
            raise ValueError(f"one_hot_dtype must be float32 or uint8, got {self.one_hot_dtype}")
        self.epoch = 0
        self._store: DataStore | None = store
        self._store_rows = store.rows_of(splits)  # example i is the store's row _store_rows[i]
        self._length = len(self._store_rows)
        self._files: dict[str, NpyRows | CompressedRows] = {}
        self._opening = threading.Lock()
        self.pin_memory = False  # batches read into page-locked memory (set by make_loader)

    def __getstate__(self) -> dict:
        # Worker processes reopen the store's files instead of receiving copies.
        state = self.__dict__.copy()
        state["_store"] = None
        state["_files"] = {}
        del state["_opening"]
        return state

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        self._opening = threading.Lock()

    def _rows(self, name: str, idx: npt.NDArray[np.int64]) -> torch.Tensor:
        """Rows `idx` of this split from the store's ``name.npy``, one read per row; in a
        DataLoader worker, straight into shared memory (the batch then goes to the main
        process without another copy)."""
        with self._opening:  # read-ahead threads share the open files
            if name not in self._files:
                self._files[name] = self._open(name)
        rows = self._files[name]
        shape = (len(idx), *rows.shape[1:])
        dtype = torch.from_numpy(np.empty(0, rows.dtype)).dtype
        out = torch.empty(shape, dtype=dtype, pin_memory=self.pin_memory)
        if get_worker_info() is not None:
            out.share_memory_()
        if isinstance(rows, CompressedRows):  # decoded in parallel by the native core
            rows.take(self._store_rows[idx], out=out.numpy())
        else:
            rows.take(self._store_rows[idx], threads=READ_THREADS, out=out.numpy())
        return out

    def _open(self, name: str) -> NpyRows | CompressedRows:
        """The store's ``name.npy``, or its compressed targets, checked against the
        store's description (a file of other rows is refused, as the store refuses it)."""
        if name == "targets" and self.store.compressed:
            return cast(CompressedRows, self.store.all_targets())
        rows = NpyRows(self.path / f"{name}.npy")
        self.store.check_array(f"{name}.npy", rows.shape)
        return rows

    @property
    def store(self) -> DataStore:
        """The store (reopened lazily in each process)."""
        if self._store is None:
            self._store = DataStore(self.path)
        return self._store

    def __len__(self) -> int:
        return self._length

    def set_epoch(self, epoch: int) -> None:
        """Epoch used for augmentation draws when a key does not carry one."""
        self.epoch = int(epoch)

    def __getitem__(self, key: BatchKey) -> dict[str, torch.Tensor]:
        if isinstance(key, tuple) and len(key) == 2 and np.ndim(key[1]) == 1:
            epoch, indices = key
            return self.batch(indices, epoch=int(epoch))
        if isinstance(key, slice):
            return self.batch(np.arange(len(self))[key])
        rows = np.asarray(key)
        if rows.ndim == 0:
            item = self.batch(rows.reshape(1))
            return {k: v[0] for k, v in item.items()}
        return self.batch(rows)

    def batch(self, indices: npt.ArrayLike, *, epoch: int | None = None) -> dict[str, torch.Tensor]:
        """The examples at `indices` (rows of this split, or a boolean mask over them),
        augmented, as one batch (of length 0 when `indices` is empty)."""
        n = len(self)
        idx = index_array(indices, n, f"examples of split {self.split}")
        if idx.ndim != 1 or (idx.size and (idx.min() < -n or idx.max() >= n)):
            raise IndexError(f"indices must be a 1-D array within [0, {n}) for split {self.split}")
        idx = idx % max(n, 1)
        seq_tensor, target_tensor = self._rows("sequences", idx), self._rows("targets", idx)
        seqs, targets = seq_tensor.numpy(), target_tensor.numpy()
        flips, shifts = augmentation_draws(
            self.seed,
            self.epoch if epoch is None else epoch,
            idx,
            rc=self.augment_rc,
            max_shift=self.augment_shift,
        )
        if flips.any() or shifts.any():
            _native.augment_batch(seqs, targets.view(np.uint16), flips, shifts)
        if self.sequence == "one_hot":
            seq_tensor = torch.from_numpy(one_hot(seqs, dtype=self.one_hot_dtype))
            seq_tensor = seq_tensor.pin_memory() if self.pin_memory else seq_tensor
        return {
            "sequence": seq_tensor,
            "targets": target_tensor,
            "index": torch.from_numpy(idx),
            "rc": torch.from_numpy(flips),
            "shift": torch.from_numpy(shifts),
        }
