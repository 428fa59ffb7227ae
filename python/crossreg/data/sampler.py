"""The order of a split's examples in whole batches, epoch after epoch: a seeded
permutation per epoch, and under ``torchrun`` each process's part of every batch."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import numpy.typing as npt
from torch.utils.data import Sampler


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
