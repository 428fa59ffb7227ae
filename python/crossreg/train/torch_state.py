"""The torch state a training changes, given back to its caller afterwards."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import torch

from crossreg import distributed
from crossreg.model.inference import cuda_settings_kept
from crossreg.train.options import TrainOptions


@contextlib.contextmanager
def callers_torch_state(options: TrainOptions) -> Iterator[None]:
    """A block that trains with `options` (checked first), after which the torch state the
    caller sees is as it was before it: the random state of the host and of the
    training's GPU (:func:`torch.random.fork_rng`; training draws from it and seeds it
    every epoch, and a resume restores the stopped run's), and the CUDA math settings
    training sets (:func:`crossreg.model.inference.tune_cuda`: TF32 matrix products and
    cuDNN's algorithm search), so that the caller's own float32 products on the GPU keep
    their precision."""
    options.check()
    device = distributed.resolve_device(options.device)
    devices = []
    if device.type == "cuda":
        devices = [device.index if device.index is not None else torch.cuda.current_device()]
    with cuda_settings_kept(), torch.random.fork_rng(devices=devices, device_type="cuda"):
        yield
