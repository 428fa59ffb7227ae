"""Predict tracks for DNA windows with a crossreg checkpoint.

Windows are whole FASTA records of the model's input length, or BED regions of a FASTA,
each centred in a window of the model's length (off-chromosome parts are N, encoded as
zeros as in Basenji's prediction path). Predictions ``(N, bins, tracks)`` float32 are
written as ``.npy`` or as ``.h5`` together with target labels and window coordinates.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import torch

from crossreg.distributed import resolve_device
from crossreg.genome import Genome
from crossreg.io.atomic import atomic_path
from crossreg.io.bed import Interval, check_within
from crossreg.io.targets import Target
from crossreg.model.checkpoint import CheckpointConfig, load_checkpoint
from crossreg.model.ensemble import ensemble_predict
from crossreg.model.seqnn import SeqNN

OUTPUT_SUFFIXES = (".npy", ".h5")


@dataclass(frozen=True)
class Window:
    """One input window ``chrom:[start, end)`` (0-based half-open) and its label."""

    name: str
    chrom: str
    start: int
    end: int


def record_windows(genome: Genome, seq_length: int) -> list[Window]:
    """One window per FASTA record; every record must be `seq_length` bp long."""
    windows = []
    for name, size in genome.sizes.items():
        if size != seq_length:
            raise ValueError(
                f"{genome.path}: record '{name}' is {size:,} bp but the model reads "
                f"{seq_length:,} bp; give records of exactly that length, or --bed regions"
            )
        windows.append(Window(name, name, 0, size))
    if not windows:
        raise ValueError(f"{genome.path}: the FASTA has no records")
    return windows


def region_windows(
    intervals: Sequence[Interval], genome: Genome, seq_length: int, *, source: str
) -> list[Window]:
    """A `seq_length` window centred on each interval (named by its BED name column, else
    ``chrom:start-end``); intervals must lie on the genome's chromosomes."""
    check_within(intervals, genome.sizes, source=source)
    windows = []
    for iv in intervals:
        start = (iv.start + iv.end) // 2 - seq_length // 2
        name = iv.extra[0] if iv.extra else f"{iv.chrom}:{iv.start}-{iv.end}"
        windows.append(Window(name, iv.chrom, start, start + seq_length))
    if not windows:
        raise ValueError(f"{source}: the BED file has no regions")
    return windows


def load_head(
    directory: str | os.PathLike[str], genome: str | None, device: str = "auto"
) -> tuple[SeqNN, CheckpointConfig, str]:
    """Load a checkpoint on `device` (``auto``: CUDA when available) and choose its head:
    `genome`, or the only head when `genome` is ``None``. Fails before any work on an
    unknown or ambiguous head."""
    model, config = load_checkpoint(directory, device=resolve_device(device))
    if genome is None:
        if len(model.genomes) != 1:
            raise ValueError(
                f"{directory} has heads for {', '.join(model.genomes)}; choose one with --genome"
            )
        genome = model.genomes[0]
    model.head(genome)  # an unknown genome fails here
    return model, config, genome


@torch.inference_mode()
def predict_on_device(
    model: SeqNN,
    one_hot: npt.NDArray | torch.Tensor,
    genome: str | None = None,
    *,
    rc: bool = False,
    shifts: Sequence[int] = (0,),
    bf16: bool = False,
) -> torch.Tensor:
    """Predictions ``(B, bins, tracks)`` float32 on the model's device for one-hot
    ``(B, L, 4)`` (uint8 or float), in inference mode, averaged over the rc/shift ensemble.
    `bf16` autocasts on CUDA. Integer one-hot travels to the device as is and becomes float
    there."""
    device = next(model.parameters()).device
    if bf16 and device.type != "cuda":
        raise ValueError("bf16 autocast is offered on CUDA only; drop --bf16 on CPU")
    model.eval()
    x = torch.as_tensor(one_hot).to(device).float()
    autocast = torch.autocast("cuda", dtype=torch.bfloat16) if bf16 else contextlib.nullcontext()
    with autocast:
        out = ensemble_predict(lambda s: model(s, genome), x, rc=rc, shifts=shifts)
    return out.float()


def predict(
    model: SeqNN,
    one_hot: npt.NDArray | torch.Tensor,
    genome: str | None = None,
    *,
    rc: bool = False,
    shifts: Sequence[int] = (0,),
    bf16: bool = False,
) -> npt.NDArray[np.float32]:
    """:func:`predict_on_device`, returned as a numpy array on the host."""
    return predict_on_device(model, one_hot, genome, rc=rc, shifts=shifts, bf16=bf16).cpu().numpy()


def predict_windows(
    model: SeqNN,
    fasta: Genome,
    windows: Sequence[Window],
    genome: str | None = None,
    *,
    batch_size: int = 4,
    rc: bool = False,
    shifts: Sequence[int] = (0,),
    bf16: bool = False,
) -> Iterator[npt.NDArray[np.float32]]:
    """Yield predictions ``(b, bins, tracks)`` batch by batch, in window order."""
    if batch_size < 1:
        raise ValueError(f"batch size must be at least 1, got {batch_size}")
    for i in range(0, len(windows), batch_size):
        batch = windows[i : i + batch_size]
        x = fasta.one_hot_many(
            [w.chrom for w in batch], [w.start for w in batch], model.seq_length, dtype=np.uint8
        )
        yield predict(model, x, genome, rc=rc, shifts=shifts, bf16=bf16)


def write_predictions(
    out: str | os.PathLike[str],
    batches: Iterator[npt.NDArray[np.float32]],
    windows: Sequence[Window],
    shape: tuple[int, int],
    *,
    targets: Sequence[Target] = (),
    attrs: dict[str, object] | None = None,
) -> Path:
    """Stream `batches` into `out` (``.npy`` or ``.h5``) of shape ``(len(windows),) + shape``,
    under a temporary name renamed when complete. ``.h5`` also holds ``target_ids``,
    ``target_labels`` and the windows (``name``, ``chrom``, ``start``, ``end``)."""
    out = Path(out)
    if out.suffix not in OUTPUT_SUFFIXES:
        raise ValueError(f"{out}: the output must end in .npy or .h5")
    full_shape = (len(windows), *shape)
    with atomic_path(out) as tmp:
        if out.suffix == ".npy":
            array = np.lib.format.open_memmap(tmp, mode="w+", dtype=np.float32, shape=full_shape)
            fill_rows(array, batches)
            array.flush()
            del array
        else:
            import h5py

            with h5py.File(tmp, "w") as handle:
                preds = handle.create_dataset(
                    "preds", shape=full_shape, dtype="f4", chunks=(1, *shape)
                )
                fill_rows(preds, batches)
                strings = h5py.string_dtype()
                handle["target_ids"] = np.array([t.identifier for t in targets], dtype=strings)
                handle["target_labels"] = np.array([t.description for t in targets], dtype=strings)
                handle["name"] = np.array([w.name for w in windows], dtype=strings)
                handle["chrom"] = np.array([w.chrom for w in windows], dtype=strings)
                handle["start"] = np.array([w.start for w in windows], dtype=np.int64)
                handle["end"] = np.array([w.end for w in windows], dtype=np.int64)
                for key, value in (attrs or {}).items():
                    handle.attrs[key] = value
    return out


def fill_rows(dest: Any, batches: Iterable[npt.NDArray[np.float32]]) -> None:
    """Write `batches` row after row into `dest` (a memory-mapped array or HDF5 dataset),
    converting to its dtype; the rows must fill it exactly."""
    row = 0
    for batch in batches:
        dest[row : row + len(batch)] = batch
        row += len(batch)
    if row != dest.shape[0]:
        raise RuntimeError(f"expected {dest.shape[0]} predictions, got {row}")
