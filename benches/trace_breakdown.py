"""Where a profiled step's GPU time goes, by part of the model: each kernel (and device copy
or fill) of a ``torch.profiler`` Chrome trace is charged to the CPU ops that launched it,
and the chain of those ops names its part (convolution forward, batch norm backward, max
pooling, the head's matrix products, the Poisson loss, the optimizer, ...).

    python benches/trace_breakdown.py TRACE.json[.gz] [--steps N] [--kernels 12]

The trace comes from ``benches/profile_train.py --trace`` (``device_run.sh`` writes
``trace.json.gz``). ``--steps`` divides the times into per-step figures; ``--kernels``
lists the kernels with the most time besides.
"""

from __future__ import annotations

import argparse
import bisect
import gzip
import json
import re
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

#: Parts of a training step, the first whose pattern matches a kernel's name
#: (``kernel:`` patterns) or any CPU op around its launch wins.
PARTS: list[tuple[str, str]] = [
    ("cuDNN layout conversions (NCHW <-> NHWC)", r"kernel:.*(nchwToNhwc|nhwcToNchw)"),
    ("convolution backward", r"ConvolutionBackward|convolution_backward"),
    ("convolution forward", r"^aten::(convolution|conv[12]d|_convolution)"),
    ("batch norm backward", r"BatchNormBackward|batch_norm_backward"),
    ("batch norm forward", r"batch_norm"),
    ("max pooling backward", r"MaxPool\w*Backward|max_pool\w*backward"),
    ("max pooling forward", r"MaxPool|max_pool"),
    ("GELU backward", r"GeluBackward|gelu_backward"),
    ("GELU forward", r"^aten::gelu$"),
    ("Poisson loss, forward and backward", r"PoissonLoss"),
    (
        "head: matrix products and softplus",
        r"MmBackward|AddmmBackward|Softplus|softplus"
        r"|^aten::(linear|matmul|mm|addmm)$",
    ),
    ("dropout", r"[Dd]ropout|bernoulli|^aten::(rand|uniform_)$"),
    ("gradient clipping and optimizer", r"Optimizer|_fused_sgd|_fused_adam|_foreach_"),
    ("dtype casts and copies", r"ToCopyBackward|^aten::(to|_to_copy|copy_|clone|contiguous)$"),
]

DEVICE_CATEGORIES = ("kernel", "gpu_memcpy", "gpu_memset")
LAUNCH_CATEGORIES = ("cuda_runtime", "cuda_driver")


def load_events(path: Path) -> list[dict[str, Any]]:
    """The trace's events (a Chrome trace, gzipped or not)."""
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt") as handle:
        trace = json.load(handle)
    return trace["traceEvents"] if isinstance(trace, dict) else trace


class OpChains:
    """The CPU ops open at a moment on a thread, outermost first (ops nest as a tree)."""

    def __init__(self, events: list[dict[str, Any]]) -> None:
        self.ops: dict[Any, list[dict[str, Any]]] = defaultdict(list)
        for event in events:
            if event.get("cat") == "cpu_op" and event.get("ph") == "X":
                self.ops[event["tid"]].append(event)
        self.starts: dict[Any, list[float]] = {}
        self.parents: dict[Any, list[int]] = {}
        for tid, ops in self.ops.items():
            ops.sort(key=lambda op: (op["ts"], -op["dur"]))
            self.starts[tid] = [op["ts"] for op in ops]
            self.parents[tid] = parents = []
            open_ops: list[int] = []
            for index, op in enumerate(ops):
                while open_ops and not self._holds(ops[open_ops[-1]], op["ts"]):
                    open_ops.pop()
                parents.append(open_ops[-1] if open_ops else -1)
                open_ops.append(index)

    @staticmethod
    def _holds(op: dict[str, Any], moment: float) -> bool:
        return op["ts"] <= moment <= op["ts"] + op["dur"]

    def at(self, tid: Any, moment: float) -> list[str]:
        ops, parents = self.ops.get(tid, []), self.parents.get(tid, [])
        index = bisect.bisect_right(self.starts.get(tid, []), moment) - 1
        while index >= 0 and not self._holds(ops[index], moment):
            index = parents[index]
        chain = []
        while index >= 0:
            chain.append(ops[index]["name"])
            index = parents[index]
        return chain[::-1]


def part_of(kernel: str, chain: list[str]) -> str:
    """The part of :data:`PARTS` a kernel belongs to, or "other"."""
    for name, pattern in PARTS:
        regex = re.compile(pattern.removeprefix("kernel:"))
        if pattern.startswith("kernel:"):
            if regex.search(kernel):
                return name
        elif any(regex.search(op) for op in chain):
            return name
    return "other"


def breakdown(events: list[dict[str, Any]]) -> tuple[Counter[str], Counter[str]]:
    """Device time (µs) per part of :data:`PARTS`, and per kernel name."""
    launches = {
        event["args"]["correlation"]: event
        for event in events
        if event.get("cat") in LAUNCH_CATEGORIES and "correlation" in event.get("args", {})
    }
    chains = OpChains(events)
    parts: Counter[str] = Counter()
    kernels: Counter[str] = Counter()
    for event in events:
        if event.get("cat") not in DEVICE_CATEGORIES:
            continue
        launch = launches.get(event.get("args", {}).get("correlation"))
        chain = chains.at(launch["tid"], launch["ts"]) if launch else []
        parts[part_of(event["name"], chain)] += event["dur"]
        kernels[event["name"]] += event["dur"]
    return parts, kernels


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("trace", type=Path)
    parser.add_argument("--steps", type=int, default=1, help="steps the trace holds")
    parser.add_argument("--kernels", type=int, default=12, help="kernels listed (0: none)")
    args = parser.parse_args()
    parts, kernels = breakdown(load_events(args.trace))
    total = sum(parts.values())
    if not total:
        raise SystemExit(f"{args.trace}: no GPU kernels in this trace (a CPU profile?)")
    print("| part | ms per step | share |\n|---|---|---|")
    for name, micros in parts.most_common():
        print(f"| {name} | {micros / 1000 / args.steps:.1f} | {micros / total:.1%} |")
    print(f"| **all device time** | **{total / 1000 / args.steps:.1f}** | 100% |")
    if args.kernels:
        print("\n| kernel | ms per step | share |\n|---|---|---|")
        for name, micros in kernels.most_common(args.kernels):
            print(f"| `{name[:90]}` | {micros / 1000 / args.steps:.1f} | {micros / total:.1%} |")


if __name__ == "__main__":
    main()
