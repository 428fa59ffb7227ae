"""Training state for an exact resume, stored without pickle.

Tensors (optimiser buffers, torch RNG states) go to a safetensors file; everything else
(hyper-parameters, counters) to JSON. Loading never executes code
from the files.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save

from crossreg.io.atomic import atomic_write
from crossreg.io.text import read_json

TENSORS_FILE = "training_state.safetensors"
JSON_FILE = "training_state.json"
KERNEL_CHOICES = ("fused", "foreach")  # how an optimizer updates, not what it computes


def _split_optimizer_state(state: dict[str, Any]) -> tuple[dict[str, torch.Tensor], dict]:
    tensors: dict[str, torch.Tensor] = {}
    scalars: dict[str, dict[str, Any]] = {}
    for index, entries in state["state"].items():
        for name, value in entries.items():
            if isinstance(value, torch.Tensor):
                tensors[f"optimizer.{index}.{name}"] = value.detach().cpu().contiguous()
            else:
                scalars.setdefault(str(index), {})[name] = value
    return tensors, {"param_groups": state["param_groups"], "scalars": scalars}


def save_training_state(
    folder: str | os.PathLike[str],
    optimizer: torch.optim.Optimizer,
    extra: dict[str, Any],
) -> None:
    """Write optimiser, the host's RNG state and `extra` (JSON-serialisable) into `folder`."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    tensors, optimizer_json = _split_optimizer_state(optimizer.state_dict())
    # the host generator only: GPUs' generators are reseeded with it every epoch, and their
    # number differs from machine to machine (a run resumes on any)
    tensors["rng.torch"] = torch.get_rng_state()
    with atomic_write(folder / TENSORS_FILE, "wb") as handle:
        handle.write(save(tensors))
    document = {
        "optimizer": optimizer_json,
        "extra": extra,
    }
    with atomic_write(folder / JSON_FILE) as handle:
        json.dump(document, handle, indent=1)


def load_training_state(
    folder: str | os.PathLike[str], optimizer: torch.optim.Optimizer
) -> dict[str, Any]:
    """Restore what :func:`save_training_state` wrote; returns its `extra`."""
    folder = Path(folder)
    for name in (TENSORS_FILE, JSON_FILE):
        if not (folder / name).exists():
            raise ValueError(f"{folder}: no {name}; this is not a resumable training checkpoint")
    try:
        tensors = load_file(str(folder / TENSORS_FILE))
    except SafetensorError as err:
        raise ValueError(
            f"{folder / TENSORS_FILE}: not a readable safetensors file ({err}); the training "
            "state is damaged, so this run cannot be resumed"
        ) from None
    document = read_json(
        folder / JSON_FILE, "the training state is damaged, so this run cannot be resumed"
    )
    optimizer_json = document["optimizer"]
    state: dict[int, dict[str, Any]] = {}
    for key, value in tensors.items():
        if key.startswith("optimizer."):
            _, index, name = key.split(".", 2)
            state.setdefault(int(index), {})[name] = value
    for index, entries in optimizer_json["scalars"].items():
        state.setdefault(int(index), {}).update(entries)
    # the update kernel follows where this run's parameters are, not where the saved run's were
    kernels = [{k: g.get(k) for k in KERNEL_CHOICES} for g in optimizer.param_groups]
    optimizer.load_state_dict({"state": state, "param_groups": optimizer_json["param_groups"]})
    for group, chosen in zip(optimizer.param_groups, kernels, strict=True):
        group.update(chosen)
    torch.set_rng_state(tensors["rng.torch"])  # a run saved with GPUs' states: not needed
    return document["extra"]
