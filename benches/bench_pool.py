"""Max pooling of the paper's trunk: crossreg's (`crossreg.model.pooling.MaxPool`, a byte per
output kept for backward) beside PyTorch's ``MaxPool1d(2, ceil_mode=True)`` (its input and
int64 indices kept), at the first and the last pooling of the conv tower.

    python benches/bench_pool.py [--device cpu|cuda] [--batch 4] [--repeats 5]

Per shape and variant: the best milliseconds over rounds that alternate the variants
(``bench_sad.best_times``) of training's forward + backward and of an inference forward
(no gradient), and the bytes autograd keeps for the backward pass (saved-tensor hooks,
each storage once). float32 on a CPU, bf16 on a GPU (the dtype autocast gives the
trunk's activations there).
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from functools import partial

import torch
from bench_sad import best_times
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


def train_pass(pool: Callable, x: torch.Tensor, grad: torch.Tensor) -> None:
    """`pool`'s forward and backward on `x` (a leaf)."""
    x.grad = None
    pool(x).backward(grad)


def inference_pass(pool: Callable, x: torch.Tensor) -> None:
    """`pool`'s forward without a gradient."""
    with torch.no_grad():
        pool(x)


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
    print(f"batch {args.batch}, {dtype} on {device}, best of {args.repeats} rounds")
    for shape_name, (channels, length) in SHAPES.items():
        x = torch.randn(args.batch, channels, length, device=device, dtype=dtype)
        x.requires_grad_(True)
        grad = torch.ones(args.batch, channels, length // 2, device=device, dtype=dtype)
        runs = {}
        for name, pool in variants.items():
            runs[name, "train"] = partial(train_pass, pool, x, grad)
            runs[name, "inference"] = partial(inference_pass, pool, x)
        seconds = best_times(runs, args.repeats, device)
        for name, pool in variants.items():
            print(
                f"{shape_name:22s} {name:24s} train {1e3 * seconds[name, 'train']:8.2f} ms, "
                f"inference {1e3 * seconds[name, 'inference']:8.2f} ms, "
                f"keeps {kept_bytes(pool, x) / 2**20:8.1f} MiB"
            )


if __name__ == "__main__":
    main()
