"""Loaders of whole batches over a :class:`~crossreg.data.dataset.SplitDataset`, each pass
the next epoch: batches read ahead on threads of this process (:class:`ReadAheadLoader`),
or by worker processes (a :class:`~torch.utils.data.DataLoader`)."""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from itertools import islice
from typing import Literal

import torch
from torch.utils.data import DataLoader

from crossreg.data.dataset import SplitDataset
from crossreg.data.sampler import EpochBatchSampler
from crossreg.data.workers import worker_context

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
        multiprocessing_context=worker_context(start_method) if num_workers > 0 else None,
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
