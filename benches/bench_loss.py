"""The Poisson loss's forward and backward at the paper's width: crossreg's
(`crossreg.train.loss.poisson_loss`, float16 targets as stored) beside autograd of the
plain expression on float32 targets (what training ran before).

    python benches/bench_loss.py [--device cpu|cuda] [--batch 8] [--repeats 5]

Per variant: the median milliseconds of forward + backward, the bytes autograd keeps for
the backward pass beyond the inputs (counted with saved-tensor hooks, the same on any
device), the targets' own size and, on CUDA, the peak memory the two passes allocate
above their inputs.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

import torch

from crossreg.train.loss import POISSON_EPSILON, poisson_loss

BINS, TRACKS = 896, 5313


def plain_loss(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """The loss as autograd of its formula, in float32."""
    pred = pred.float()
    return (pred - target.float() * torch.log(pred + POISSON_EPSILON)).mean()


def saved_bytes(loss: Callable, pred: torch.Tensor, target: torch.Tensor) -> int:
    """Bytes of the tensors autograd saves for the backward pass of `loss`, beyond the
    inputs themselves (which the training step holds through backward anyway)."""
    inputs = {t.untyped_storage().data_ptr() for t in (pred, target)}
    seen: dict[int, int] = {}

    def pack(t: torch.Tensor) -> torch.Tensor:
        seen[t.untyped_storage().data_ptr()] = t.untyped_storage().nbytes()
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        loss(pred, target)
    return sum(n for ptr, n in seen.items() if ptr not in inputs)


def time_passes(
    loss: Callable, pred: torch.Tensor, target: torch.Tensor, repeats: int
) -> tuple[float, float | None]:
    """Median milliseconds of forward + backward, and the CUDA peak above the inputs (MiB)."""
    cuda = pred.device.type == "cuda"
    times, peak = [], None
    for i in range(repeats + 1):
        pred.grad = None
        if cuda:
            torch.cuda.synchronize()
            torch.cuda.reset_peak_memory_stats()
            base = torch.cuda.memory_allocated()
        start = time.perf_counter()
        loss(pred, target).backward()
        if cuda:
            torch.cuda.synchronize()
            peak = (torch.cuda.max_memory_allocated() - base) / 2**20
        if i > 0:  # the first pass warms up
            times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times), peak


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    device = torch.device(args.device)
    torch.manual_seed(0)
    shape = (args.batch, BINS, TRACKS)
    # drawn on the device (fast on a GPU); softplus runs in float32 under autocast, so
    # predictions reach the loss in float32
    pred = torch.empty(shape, device=device).exponential_().requires_grad_(True)
    counts = torch.poisson(torch.full(shape, 2.0, device=device))
    variants = {
        "autograd of the formula, float32 targets (before)": (plain_loss, counts),
        "poisson_loss, float16 targets (now)": (poisson_loss, counts.half()),
    }
    print(f"{args.batch} × {BINS} × {TRACKS} on {device}, float32 predictions")
    for name, (loss, target) in variants.items():
        ms, peak = time_passes(loss, pred, target, args.repeats)
        saved = saved_bytes(loss, pred, target) / 2**20
        extra = f", peak {peak:,.0f} MiB above the inputs" if peak is not None else ""
        print(
            f"{name}: {ms:7.1f} ms, keeps {saved:,.0f} MiB for backward beyond its inputs "
            f"(targets {target.nbytes / 2**20:,.0f} MiB){extra}"
        )


if __name__ == "__main__":
    main()
