"""Predicting the windows of a ``crossreg predict --bigwig`` run chunk by chunk into its
chunk store (:class:`crossreg.variants.chunk_store.ChunkStore`), each chunk saved when it
ends."""

from __future__ import annotations

import errno
import os
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from crossreg.genome import Genome
from crossreg.io.write_errors import OutputError
from crossreg.model.inference import InferenceOptions, run_inference
from crossreg.model.seqnn import SeqNN
from crossreg.model.tiling import Tile
from crossreg.progress import progress
from crossreg.variants.chunk_store import ChunkStore, StoreState, clip_float16

if TYPE_CHECKING:
    import torch


#: a chunk's predictions, ``(tracks, bins)``, in its folder of the chunk store
VALUES_FILE = "values.npy"


def chunk_bounds(start: int, stop: int, size: int) -> list[tuple[int, int]]:
    """Tiles ``[start, stop)`` in chunks of `size`."""
    return [(a, min(a + size, stop)) for a in range(start, stop, size)]


def predict_tiles(
    model: SeqNN,
    genome: Genome,
    tiles: Sequence[Tile],
    head: str,
    options: InferenceOptions,
) -> Iterator[npt.NDArray[np.float32]]:
    """Yield, per batch of `tiles`, their kept bins ``(tracks, bins)`` end to end."""

    def load(chunk: Sequence[Tile]) -> npt.NDArray[np.uint8]:
        starts = [t.start for t in chunk]
        chroms = [t.chrom for t in chunk]
        return genome.one_hot_many(chroms, starts, model.seq_length, dtype=np.uint8)

    def keep(pred: torch.Tensor, chunk: Sequence[Tile]) -> npt.NDArray[np.float32]:
        values = pred.cpu().numpy()
        kept = [values[i, t.first : t.first + t.count] for i, t in enumerate(chunk)]
        return np.concatenate(kept).T

    return run_inference(model, head, tiles, options, load=load, reduce=keep)


def predict_chunks(
    model: SeqNN,
    genome: Genome,
    tiles: Sequence[Tile],
    head: str,
    options: InferenceOptions,
    store: ChunkStore,
    state: StoreState,
    start: int,
    stop: int,
    chunk_windows: int,
    chunk_dtype: str = "float32",
) -> StoreState:
    """Predict tiles ``[start, stop)`` chunk by chunk from where `state` stands, each
    chunk saved in `store` (``values.npy``, ``(tracks, bins)`` of `chunk_dtype`; float16
    clipped to its range) when it ends."""
    done = start + state.records_done
    with progress(stop - start, "predicting", "windows", initial=state.records_done) as meter:
        for a, b in chunk_bounds(done, stop, chunk_windows):
            parts = list(predict_tiles(model, genome, tiles[a:b], head, options))
            values = np.concatenate(parts, axis=1)
            if chunk_dtype == "float16":
                values = clip_float16(values)
            with store.chunk(state, values.shape[1], chunk_dtype) as writer:
                np.save(writer.directory / VALUES_FILE, values.astype(chunk_dtype))
            state = store.commit(state, b - a, b - a, 0)  # the store counts windows
            meter.update(b - a)
    return state


def full_store(err: OutputError, store: ChunkStore, total: int) -> OutputError:
    """`err`, a chunk that could not be saved in `store`, saying for a full disk (or
    quota) how many of the run's `total` windows the chunks saved before it hold and how
    to continue; other errors as they are."""
    if err.errno not in (errno.ENOSPC, errno.EDQUOT):
        return err
    done = store.saved().alleles_done  # the store counts windows
    then = (
        f"{done:,} of {total:,} windows are kept there: free space on its disk and rerun "
        "with --resume to continue"
        if done
        else f"no chunk was saved: free space on its disk, or link {store.root.name} to an "
        "empty folder on a bigger disk, and rerun"
    )
    return OutputError(
        err.errno,
        f"{os.strerror(err.errno)} while saving a chunk of predictions; {then}",
        err.filename,
    )
