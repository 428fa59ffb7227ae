"""Device names as users give them (``auto``, ``cpu``, ``cuda:1``), checked without
importing torch until a device must be looked up on this machine."""

from __future__ import annotations

import os

# the torch device types a model runs on (ROCm GPUs are torch's "cuda")
DEVICE_TYPES = ("cpu", "cuda", "mps", "xpu")


def device_name(text: str) -> str:
    """`text` when it is ``auto`` or a torch device: a type of :data:`DEVICE_TYPES` and an
    optional ``:index`` (``cuda:1``); otherwise a ValueError."""
    kind, sep, index = text.partition(":")
    if text == "auto" or (kind in DEVICE_TYPES and (not sep or index.isdigit())):
        return text
    raise ValueError(f"unknown device '{text}': give auto, cpu, cuda, cuda:N, mps or xpu")


def check_device(device: str, option: str = "--device") -> None:
    """A `device` this machine lacks (a CUDA or XPU index past its devices, MPS off a Mac)
    is a ValueError naming it as `option` gives it."""
    import torch

    kind, _, index = device.partition(":")
    if device == "auto" or kind == "cpu":
        return
    xpu = getattr(torch, "xpu", None)  # torch 2.4 on
    counts = {
        "cuda": torch.cuda.device_count,
        "mps": lambda: int(torch.backends.mps.is_available()),
        "xpu": xpu.device_count if xpu is not None else lambda: 0,
    }
    count = counts[kind]()
    if int(index or 0) < count:
        return
    name = kind.upper()
    have = f"{count} {name} device(s)" if count else f"no {name} device"
    raise ValueError(f"{option} {device}: this machine has {have}; use {option} auto or cpu")


def usable_cores() -> int:
    """The CPU cores this process may run on: its affinity mask where the OS keeps one
    (a job scheduler's or container's limit), else the machine's count."""
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return os.cpu_count() or 1
