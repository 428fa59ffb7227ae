"""Several processes (``torchrun``) on the same code path as one.

Every process reads only its own slice of the global batch (its loader's share);
gradients are averaged by DistributedDataParallel and batch-norm statistics are computed over the
global batch (see :class:`crossreg.model.blocks.KerasBatchNorm`), so a run on N processes
takes the same steps as one process with the whole batch. Validation splits the windows
(:func:`share`) and adds up the processes' sums. Process 0 writes the outputs.
"""

from __future__ import annotations

import os

import torch
import torch.distributed as dist


def world_size() -> int:
    """Number of processes (1 without torchrun)."""
    return dist.get_world_size() if dist.is_available() and dist.is_initialized() else 1


def rank() -> int:
    """This process's rank (0 without torchrun)."""
    return dist.get_rank() if dist.is_available() and dist.is_initialized() else 0


def local_rank() -> int:
    """This process's rank on its machine, which picks its GPU."""
    return int(os.environ.get("LOCAL_RANK", "0"))


def is_main() -> bool:
    """True in the process that writes checkpoints and logs metrics."""
    return rank() == 0


def resolve_device(device: str | torch.device | None = None) -> torch.device:
    """`device`; ``None``/``auto`` → this process's CUDA device when there is one, else CPU.
    Under torchrun a bare ``cuda`` is this process's GPU too (``cuda:LOCAL_RANK``), not
    every process's current device, GPU 0."""
    if device is None or device == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda", local_rank())
        return torch.device("cpu")
    resolved = torch.device(device)
    if resolved.type == "cuda" and resolved.index is None and _launched_world() > 1:
        return torch.device("cuda", local_rank())
    return resolved


def _launched_world() -> int:
    """The number of processes torchrun started (1 without it)."""
    return int(os.environ.get("WORLD_SIZE", "1"))


def init(device: str | torch.device | None = None) -> None:
    """Join the process group when launched by torchrun: NCCL when the run's `device`
    (:func:`resolve_device`) is a GPU, gloo on the CPU (even where GPUs are present)."""
    if _launched_world() > 1 and not dist.is_initialized():
        backend = "nccl" if resolve_device(device).type == "cuda" else "gloo"
        if backend == "nccl":
            torch.cuda.set_device(local_rank())
        dist.init_process_group(backend=backend)


def shutdown() -> None:
    """Leave the process group, if any."""
    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()


def barrier() -> None:
    """Wait for every process (no-op in one process)."""
    if world_size() > 1:
        dist.barrier()


def wrap(model: torch.nn.Module, device: torch.device) -> torch.nn.Module:
    """DistributedDataParallel around `model` under torchrun; `model` itself otherwise."""
    return model if world_size() == 1 else data_parallel(model, device)


def data_parallel(model: torch.nn.Module, device: torch.device) -> torch.nn.Module:
    """DistributedDataParallel around `model` as training builds it, in the process group
    that is joined (of any size, one included)."""
    device_ids = [device.index] if device.type == "cuda" else None
    # each step trains one genome's head, so with several trained heads the others get no
    # gradient that step and DDP must look for them; with one it would search in vain (an
    # extra pass over the autograd graph every step)
    trained_heads = [
        name
        for name, head in getattr(model, "heads", {}).items()
        if any(p.requires_grad for p in head.parameters())
    ]
    return torch.nn.parallel.DistributedDataParallel(
        model, device_ids=device_ids, find_unused_parameters=len(trained_heads) > 1
    )


def share(count: int, multiple: int = 1) -> range:
    """This process's items of `count`, split among the processes in whole runs of
    `multiple` (batches: each process's batches are batches of one process's pass); the
    processes' ranges follow each other and cover ``range(count)`` once, some empty when
    there are fewer runs than processes. Process 0's is the largest, so that the progress
    it alone reports is of the work that takes longest. ``range(count)`` in one process."""
    runs, processes = -(-count // multiple), world_size()
    first, last = -(-rank() * runs // processes), -(-(rank() + 1) * runs // processes)
    return range(min(first * multiple, count), min(last * multiple, count))


def sum_over_processes(tensor: torch.Tensor) -> torch.Tensor:
    """Sum of `tensor` over processes (not differentiable; `tensor` itself in one)."""
    if world_size() == 1:
        return tensor
    total = tensor.detach().clone()
    dist.all_reduce(total, op=dist.ReduceOp.SUM)
    return total


def mean_over_processes(tensor: torch.Tensor) -> torch.Tensor:
    """Mean of `tensor` over processes (not differentiable; `tensor` itself in one)."""
    return sum_over_processes(tensor) / world_size()
