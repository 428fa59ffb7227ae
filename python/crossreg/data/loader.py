"""PyTorch datasets over a dataset store, with seeded reverse-complement/shift augmentation.

A batch is read with one fancy-indexed copy per array (no per-example Python work) and
augmented in place by the native core. Augmentation of example ``i`` is a pure function
of ``(seed, epoch, i)``, so batches are identical whatever the number of worker processes.

Batch contents (``B`` examples, ``L`` = seq_length, ``N`` = target bins, ``T`` = tracks):

- ``sequence``: ``(B, L, 4)`` float32 one-hot (A, C, G, T; N all zero; uint8 with
  ``one_hot_dtype=np.uint8``), or ``(B, L)`` uint8 ASCII codes with ``sequence="codes"``
  (a sixteenth of float32's bytes: expand on the device with :func:`codes_to_one_hot`, as
  training does);
- ``targets``: ``(B, N, T)`` float16;
- ``index``: ``(B,)`` int64 rows within the split; ``rc``: ``(B,)`` bool;
  ``shift``: ``(B,)`` int64.
"""

from __future__ import annotations

import functools
import multiprocessing
import multiprocessing.context
import os
import sys
import threading
import types
from collections import deque
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from itertools import islice
from typing import TYPE_CHECKING, Literal, cast

import numpy as np
import numpy.typing as npt
import torch
from torch.utils.data import DataLoader, Dataset, Sampler, get_worker_info

from crossreg import _native
from crossreg.data.compressed import CompressedRows, index_array
from crossreg.data.npy import NpyRows
from crossreg.data.store import DataStore
from crossreg.dna import one_hot

if TYPE_CHECKING:
    from multiprocessing import popen_forkserver, popen_spawn_posix

Indices = Sequence[int] | npt.NDArray[np.integer] | npt.NDArray[np.bool_]
BatchKey = int | slice | Indices | tuple[int, Indices]

_MASK64 = np.uint64(0xFFFFFFFFFFFFFFFF)

#: Rows of a batch read at once (each read releases the GIL; from disk they queue together).
READ_THREADS = 4


def _splitmix64(x: npt.NDArray[np.uint64]) -> npt.NDArray[np.uint64]:
    """SplitMix64 finaliser, elementwise (wrapping uint64 arithmetic)."""
    x = (x + np.uint64(0x9E3779B97F4A7C15)) & _MASK64
    x = ((x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)) & _MASK64
    x = ((x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)) & _MASK64
    return x ^ (x >> np.uint64(31))


def augmentation_draws(
    seed: int, epoch: int, indices: npt.ArrayLike, *, rc: bool, max_shift: int
) -> tuple[npt.NDArray[np.bool_], npt.NDArray[np.int64]]:
    """Per-example ``(rc, shift)`` for `indices`: a hash of ``(seed, epoch, index)``.

    ``rc`` is true with probability 1/2 (when enabled); ``shift`` is uniform on
    ``[-max_shift, max_shift]``.
    """
    idx = np.asarray(indices, dtype=np.uint64)
    with np.errstate(over="ignore"):
        key = _splitmix64(np.full(idx.shape, seed % 2**64, dtype=np.uint64))
        key = _splitmix64(key ^ np.uint64(epoch % 2**64))
        h = _splitmix64(key ^ idx)
    flips = (h & np.uint64(1)).astype(bool) if rc else np.zeros(idx.shape, dtype=bool)
    width = np.uint64(2 * max_shift + 1)
    shifts = ((h >> np.uint64(1)) % width).astype(np.int64) - max_shift
    return flips, shifts


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


class EpochBatchSampler(Sampler):
    """Yields ``(epoch, indices)`` batch keys; each pass over it is the next epoch.

    With `shuffle`, each epoch's order is a permutation seeded by ``(seed, epoch)``. With
    `share` ``(i, k)`` it yields the i-th of k equal contiguous parts of each batch (a
    process's part under ``torchrun``: ``(rank, processes)``; a last partial batch is
    split as evenly as it goes), so that each process reads only its own rows; the
    batch size must then divide by k.
    """

    def __init__(
        self,
        n: int,
        batch_size: int,
        *,
        shuffle: bool = True,
        seed: int = 0,
        drop_last: bool = False,
        start_epoch: int = 0,
        share: tuple[int, int] = (0, 1),
    ) -> None:
        if batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, got {batch_size}")
        part, parts = share
        if not 0 <= part < parts:
            raise ValueError(f"share must be (i, k) with 0 <= i < k, got {share}")
        if batch_size % parts:
            raise ValueError(
                f"a batch of {batch_size} cannot be split evenly over {parts} processes; use "
                f"a batch size divisible by {parts}"
            )
        self.n, self.batch_size, self.shuffle = n, batch_size, shuffle
        self.seed, self.drop_last, self.epoch = seed, drop_last, start_epoch
        self.share = (part, parts)

    def __len__(self) -> int:
        full, rest = divmod(self.n, self.batch_size)
        return full + (1 if rest and not self.drop_last else 0)

    def __iter__(self) -> Iterator[tuple[int, npt.NDArray[np.int64]]]:
        epoch = self.epoch
        self.epoch += 1
        if self.shuffle:
            order = np.random.default_rng([self.seed, epoch]).permutation(self.n)
        else:
            order = np.arange(self.n)
        part, parts = self.share
        for i in range(len(self)):
            batch = order[i * self.batch_size : (i + 1) * self.batch_size]
            yield epoch, np.array_split(batch, parts)[part]


#: Batches :func:`make_loader` reads ahead on threads unless told otherwise.
READ_AHEAD = 2


def make_loader(
    dataset: SplitDataset,
    batch_size: int,
    *,
    shuffle: bool = True,
    seed: int = 0,
    drop_last: bool = False,
    num_workers: int = 0,
    pin_memory: bool = False,
    start_epoch: int = 0,
    start_method: Literal["forkserver", "spawn"] = "forkserver",
    read_ahead: int = READ_AHEAD,
    share: tuple[int, int] = (0, 1),
) -> DataLoader | ReadAheadLoader:
    """An iterable of whole batches built by :meth:`SplitDataset.batch`; each pass over it
    is the next epoch (``loader.sampler.epoch`` sets the epoch of the next pass). With
    `share` ``(i, k)``, the i-th of k equal parts of each batch, read alone
    (:class:`EpochBatchSampler`; under ``torchrun``, ``(rank, processes)``).

    Reproducible: order and augmentation depend only on `seed`, the epoch and the index.
    Without worker processes (`num_workers` 0) a :class:`ReadAheadLoader` reads the next
    `read_ahead` batches on threads of this process while the caller uses the current one
    (0: read each batch when asked), straight into page-locked memory with `pin_memory`
    (where CUDA is available): no process boundary, no shared-memory copies. With
    `num_workers`, a :class:`~torch.utils.data.DataLoader` whose workers read into shared
    memory.
    Worker processes start from a fork server (or are spawned), not by forking this
    process: the native core's thread pool does not survive a fork (a forked worker would
    wait on threads that no longer exist). They do not import the caller's script (what
    Python's fork server and spawn do by default), so a script that builds a loader at its
    top level, without ``if __name__ == "__main__":``, works as written.
    """
    sampler = EpochBatchSampler(
        len(dataset),
        batch_size,
        shuffle=shuffle,
        seed=seed,
        drop_last=drop_last,
        start_epoch=start_epoch,
        share=share,
    )
    if read_ahead < 0:
        raise ValueError(f"read_ahead must be >= 0, got {read_ahead}")
    if num_workers == 0:
        dataset.pin_memory = pin_memory and torch.cuda.is_available()
        return ReadAheadLoader(dataset, sampler, read_ahead)
    return DataLoader(
        dataset,
        sampler=sampler,
        batch_size=None,
        num_workers=num_workers,
        pin_memory=pin_memory,
        persistent_workers=num_workers > 0,
        multiprocessing_context=_worker_context(start_method) if num_workers > 0 else None,
        # the workers' seeds come from this generator, not from torch's global one, which
        # the first pass over the loader would otherwise advance (and with it dropout)
        generator=torch.Generator().manual_seed(seed),
    )


class ReadAheadLoader:
    """Batches of `dataset` in the order of `sampler`, the next `read_ahead` of them read by
    threads of this process while the caller uses the current one (the reads and the
    native augmentation release the GIL)."""

    def __init__(self, dataset: SplitDataset, sampler: EpochBatchSampler, read_ahead: int) -> None:
        self.dataset, self.sampler, self.read_ahead = dataset, sampler, read_ahead

    def __len__(self) -> int:
        return len(self.sampler)

    def __iter__(self) -> Iterator[dict[str, torch.Tensor]]:
        keys = iter(self.sampler)
        if self.read_ahead == 0:
            yield from (self.dataset[key] for key in keys)
            return
        with ThreadPoolExecutor(self.read_ahead, thread_name_prefix="crossreg-read") as pool:
            pending = deque(
                pool.submit(self.dataset.__getitem__, k) for k in islice(keys, self.read_ahead)
            )
            while pending:
                batch = pending.popleft().result()
                for key in islice(keys, 1):
                    pending.append(pool.submit(self.dataset.__getitem__, key))
                yield batch


def to_device(
    batches: Iterable[dict[str, torch.Tensor]], device: torch.device | str
) -> Iterator[dict[str, torch.Tensor]]:
    """`batches` moved to `device`, each copied while the caller still uses the one before.

    On a CUDA device the copies of batch k+1 run on a side stream (asynchronous from
    page-locked memory: ``make_loader(..., pin_memory=True)``) while the caller's kernels
    for batch k run on its stream; each batch is handed over once its copy is done, and its
    memory is not reused before the caller's stream has finished with it. Elsewhere the
    batches are moved as they come.
    """
    device = torch.device(device)
    if device.type != "cuda":
        for batch in batches:
            yield {k: v.to(device) for k, v in batch.items()}
        return
    side = torch.cuda.Stream(device)
    ahead: tuple[dict[str, torch.Tensor], torch.cuda.Event] | None = None
    for batch in batches:
        with torch.cuda.stream(side):
            moved = {k: v.to(device, non_blocking=True) for k, v in batch.items()}
            copied = torch.cuda.Event()
            copied.record(side)
        if ahead is not None:
            yield _hand_over(*ahead)
        ahead = (moved, copied)
    if ahead is not None:
        yield _hand_over(*ahead)


def _hand_over(batch: dict[str, torch.Tensor], copied: torch.cuda.Event) -> dict[str, torch.Tensor]:
    """`batch`, copied on a side stream, made safe to use on the current stream."""
    current = torch.cuda.current_stream()
    current.wait_event(copied)
    for tensor in batch.values():
        tensor.record_stream(current)
    return batch


@contextmanager
def _main_script_hidden() -> Iterator[None]:
    """While a worker starts, ``__main__`` is a bare module: the worker is not told to
    import the caller's script (which would build the loader again as it bootstraps)."""
    main = sys.modules["__main__"]
    sys.modules["__main__"] = types.ModuleType("__main__")
    try:
        yield
    finally:
        sys.modules["__main__"] = main


class _ForkServerWorker(multiprocessing.context.ForkServerProcess):
    @staticmethod
    def _Popen(process_obj: multiprocessing.process.BaseProcess) -> popen_forkserver.Popen:  # noqa: N802 (its name)
        with _main_script_hidden():
            return multiprocessing.context.ForkServerProcess._Popen(process_obj)


class _SpawnWorker(multiprocessing.context.SpawnProcess):
    @staticmethod
    def _Popen(process_obj: multiprocessing.process.BaseProcess) -> popen_spawn_posix.Popen:  # noqa: N802 (its name)
        with _main_script_hidden():
            return multiprocessing.context.SpawnProcess._Popen(process_obj)


class _ForkServerContext(multiprocessing.context.ForkServerContext):
    Process = _ForkServerWorker


class _SpawnContext(multiprocessing.context.SpawnContext):
    Process = _SpawnWorker


def _worker_context(start_method: str) -> multiprocessing.context.BaseContext:
    """The multiprocessing context of the loader's workers (see :func:`make_loader`)."""
    if start_method == "forkserver":
        return _ForkServerContext()
    if start_method == "spawn":
        return _SpawnContext()
    raise ValueError(f"start_method must be 'forkserver' or 'spawn', got {start_method!r}")


_ONE_HOT_TABLE = torch.from_numpy(one_hot(np.arange(256, dtype=np.uint8), dtype=np.uint8))


@functools.cache
def _one_hot_table(device: torch.device, dtype: torch.dtype) -> torch.Tensor:
    """The code → one-hot table on `device` in `dtype`, copied there once: a copy from
    pageable host memory at every batch would make the host wait for the GPU."""
    return _ONE_HOT_TABLE.to(device=device, dtype=dtype)


def codes_to_one_hot(codes: torch.Tensor, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """``(..., L)`` uint8 ASCII codes → ``(..., L, 4)`` one-hot in `dtype`, on the codes'
    device (A, C, G, T; any other code all zero)."""
    return _one_hot_table(codes.device, dtype)[codes.long()]
