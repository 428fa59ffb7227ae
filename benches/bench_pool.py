"""Max pooling of the paper's trunk: crossreg's (`crossreg.model.pooling.MaxPool`, a byte per
output kept for backward) beside PyTorch's ``MaxPool1d(2, ceil_mode=True)`` (its input and
int64 indices kept), at the first and the last pooling of the conv tower.

    python benches/bench_pool.py [--device cpu|cuda] [--batch 4] [--repeats 5]

Per shape and variant: median milliseconds of training's forward + backward, of an
inference forward (no gradient), and the bytes autograd keeps for the backward pass
(saved-tensor hooks, each storage once). float32 on a CPU, bf16 on a GPU (the
dtype autocast gives the trunk's activations there).
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

import torch
from torch import nn

from crossreg.model.pooling import MaxPool

#: (channels, length) entering the first and the last pooling of Basenji2's conv tower.
SHAPES = {"first (288 × 131,072)": (288, 131_072), "last (652 × 2,048)": (652, 2_048)}


def kept_bytes(pool: Callable, x: torch.Tensor) -> int:
    """Bytes autograd keeps for `pool`'s backward pass, its input included (which in the
    trunk nothing else keeps: it is the batch norm's output)."""
    seen: dict[int, int] = {}

    def pack(t: torch.Tensor) -> torch.Tensor:
        seen[t.untyped_storage().data_ptr()] = t.untyped_storage().nbytes()
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        pool(x)
    return sum(seen.values())


def median_ms(run: Callable[[], object], device: torch.device, repeats: int) -> float:
    """Median milliseconds of `run` over `repeats` calls after one warm-up."""
    times = []
    for i in range(repeats + 1):
        if device.type == "cuda":
            torch.cuda.synchronize()
        start = time.perf_counter()
        run()
        if device.type == "cuda":
            torch.cuda.synchronize()
        if i > 0:
            times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def time_pool(
    pool: Callable, x: torch.Tensor, grad: torch.Tensor, repeats: int
) -> tuple[float, float]:
    """Median ms of `pool`'s forward + backward on `x` (a leaf), and of a forward alone."""

    def train() -> None:
        x.grad = None
        pool(x).backward(grad)

    def infer() -> None:
        with torch.no_grad():
            pool(x)

    return median_ms(train, x.device, repeats), median_ms(infer, x.device, repeats)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--batch", type=int, default=4)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    device = torch.device(args.device)
    dtype = torch.bfloat16 if device.type == "cuda" else torch.float32
    torch.manual_seed(0)
    variants = {
        "MaxPool1d (before)": nn.MaxPool1d(2, ceil_mode=True),
        "crossreg MaxPool (now)": MaxPool(2),
    }
    print(f"batch {args.batch}, {dtype} on {device}")
    for shape_name, (channels, length) in SHAPES.items():
        x = torch.randn(args.batch, channels, length, device=device, dtype=dtype)
        x.requires_grad_(True)
        grad = torch.ones(args.batch, channels, length // 2, device=device, dtype=dtype)
        for name, pool in variants.items():
            train_ms, infer_ms = time_pool(pool, x, grad, args.repeats)
            kept = kept_bytes(pool, x) / 2**20
            print(
                f"{shape_name:22s} {name:24s} train {train_ms:8.2f} ms, inference "
                f"{infer_ms:8.2f} ms, keeps {kept:8.1f} MiB"
            )


if __name__ == "__main__":
    main()
