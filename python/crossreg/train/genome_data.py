"""Each genome's part of a training run: its store, its training loader for a phase and
the split it is validated on, with the check that every store has windows to train on."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch

from crossreg import distributed
from crossreg.data.dataset import SplitDataset
from crossreg.data.loader import READ_AHEAD, ReadAheadLoader, make_loader
from crossreg.data.store import DataStore
from crossreg.train.folds import training_splits, training_windows
from crossreg.train.options import TrainOptions, check_batch_size
from crossreg.train.seeds import WINDOWS, stream_seed


@dataclass
class GenomeData:
    """One genome's store, its training loader (validation reads the store directly) and
    the model head it trains (its genome's, unless the run's model setup routes it)."""

    store: DataStore
    train: torch.utils.data.DataLoader | ReadAheadLoader
    head: str
    valid: str  # the split validated on

    @property
    def name(self) -> str:
        """The genome of the store."""
        return self.store.genome


def check_windows(stores: Sequence[DataStore], options: TrainOptions, batch_size: int) -> None:
    """Stop unless each store's training and validation splits hold windows and, for
    every store at once, its training windows make a whole batch of `batch_size`
    (:func:`check_batch_size`)."""
    o, windows = options, {}
    for store in stores:
        source = str(store.path)
        splits = training_splits(store.splits, o.valid_fold, o.test_fold, source=source)
        for split in (*splits.train, splits.valid):
            if store.window_counts.get(split, 0) == 0:
                raise ValueError(f"dataset {source} has no {split} windows")
        windows[source] = training_windows(store.splits, o.valid_fold, o.test_fold, source=source)
    check_batch_size(batch_size, windows)


def genome_data(
    store: DataStore,
    phase: str,
    head: str,
    options: TrainOptions,
    batch_size: int,
    device: torch.device,
) -> GenomeData:
    """`store` with its training loader for `phase` (its training splits, augmented, in
    whole batches of `batch_size`; the window order and augmentation seeded by the run's
    seed, the phase and the genome), the model `head` it trains and its validation split
    (:func:`check_windows` has checked them)."""
    o = options
    splits = training_splits(store.splits, o.valid_fold, o.test_fold, source=str(store.path))
    seed = stream_seed(o.seed, WINDOWS, phase, store.genome)
    train = SplitDataset(
        store,
        splits.train,
        augment_rc=bool(o.augment_rc),
        augment_shift=int(o.augment_shift or 0),
        seed=seed,
        sequence="codes",
    )
    return GenomeData(
        store=store,
        train=make_loader(
            train,
            batch_size,
            shuffle=True,
            seed=seed,
            drop_last=True,
            num_workers=o.num_workers,
            pin_memory=device.type == "cuda",
            read_ahead=READ_AHEAD if o.read_ahead is None else o.read_ahead,
            # each process reads only its own part of every global batch
            share=(distributed.rank(), distributed.world_size()),
        ),
        head=head,
        valid=splits.valid,
    )
