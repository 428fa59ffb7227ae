"""Batches on the device: each copied there on a side stream while the one before is
used (:func:`to_device`), byte codes expanded to one-hot there (:func:`codes_to_one_hot`)."""

from __future__ import annotations

import functools
from collections.abc import Iterable, Iterator

import numpy as np
import torch

from crossreg.dna import one_hot


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
