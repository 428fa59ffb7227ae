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
from typing import Any, NamedTuple

#: CPU ops of a convolution's forward and backward pass (the backward of a dilated one
#: in its GPU form, crossreg.model.gpu_forms.dilated_conv, holds matrix products too).
CONV_FORWARD = r"^aten::(convolution|conv[12]d|_convolution)"
CONV_BACKWARD = r"ConvolutionBackward|convolution_backward|_DilatedConvBackward"

#: Parts of a training step, the first whose pattern matches a kernel's name
#: (``kernel:`` patterns) or any CPU op around its launch wins.
PART_PATTERNS: list[tuple[str, str]] = [
    ("cuDNN layout conversions (NCHW <-> NHWC)", r"kernel:.*(nchwToNhwc|nhwcToNchw)"),
    ("convolution backward", CONV_BACKWARD),
    ("convolution forward", CONV_FORWARD),
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
#: :data:`PART_PATTERNS` compiled: (part, whether it matches the kernel's name, regex).
PARTS = [
    (name, pattern.startswith("kernel:"), re.compile(pattern.removeprefix("kernel:")))
    for name, pattern in PART_PATTERNS
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

    def at(self, tid: Any, moment: float) -> list[dict[str, Any]]:
        ops, parents = self.ops.get(tid, []), self.parents.get(tid, [])
        index = bisect.bisect_right(self.starts.get(tid, []), moment) - 1
        while index >= 0 and not self._holds(ops[index], moment):
            index = parents[index]
        chain = []
        while index >= 0:
            chain.append(ops[index])
            index = parents[index]
        return chain[::-1]


def part_of(kernel: str, chain: list[str]) -> str:
    """The part of :data:`PARTS` a kernel belongs to, or "other"."""
    for name, on_kernel, regex in PARTS:
        if regex.search(kernel) if on_kernel else any(regex.search(op) for op in chain):
            return name
    return "other"


#: A kernel, copy or fill, with the chain of CPU ops open at its launch (outermost first).
Charged = tuple[dict[str, Any], list[dict[str, Any]]]


def charge(events: list[dict[str, Any]]) -> list[Charged]:
    """Each kernel, copy and fill of the trace with the CPU ops open at its launch."""
    launches = {
        event["args"]["correlation"]: event
        for event in events
        if event.get("cat") in LAUNCH_CATEGORIES and "correlation" in event.get("args", {})
    }
    chains = OpChains(events)
    charged = []
    for event in events:
        if event.get("cat") in DEVICE_CATEGORIES:
            launch = launches.get(event.get("args", {}).get("correlation"))
            charged.append((event, chains.at(launch["tid"], launch["ts"]) if launch else []))
    return charged


def breakdown(charged: list[Charged]) -> tuple[Counter[str], Counter[str]]:
    """Device time (µs) per part of :data:`PARTS`, and per kernel name."""
    parts: Counter[str] = Counter()
    kernels: Counter[str] = Counter()
    for event, chain in charged:
        parts[part_of(event["name"], [op["name"] for op in chain])] += event["dur"]
        kernels[event["name"]] += event["dur"]
    return parts, kernels


class ConvLayer(NamedTuple):
    """A convolution of the model, in the order its forward pass runs them."""

    kernel: int
    dilation: int
    gflop_forward: float  # per sequence
    gflop_backward: float  # gradients of the input (not for the first layer) and weights


def conv_layers(params: Path) -> list[ConvLayer]:
    """The model's convolutions in forward order, with their FLOPs per sequence (counted
    from the shapes of a forward pass on the meta device)."""
    import torch

    from crossreg.model.params import load_params
    from crossreg.model.seqnn import SeqNN

    with torch.device("meta"):
        model = SeqNN(load_params(params).model)
    layers: list[ConvLayer] = []

    def record(module: Any, inputs: tuple, output: Any) -> None:
        k, dilation = module.kernel_size[0], module.dilation[0]
        flops = 2 * module.in_channels * module.out_channels * k * output.shape[-1] / 1e9
        backward = flops if not layers else 2 * flops
        layers.append(ConvLayer(k, dilation, flops, backward))

    convs = [m for m in model.modules() if isinstance(m, torch.nn.Conv1d)]
    hooks = [m.register_forward_hook(record) for m in convs]
    with torch.no_grad():
        model(torch.zeros(1, model.seq_length, 4, device="meta"), model.genomes[0])
    for hook in hooks:
        hook.remove()
    return layers


def layer_kind(layer: ConvLayer) -> str:
    return f"k={layer.kernel}" + (", dilated" if layer.dilation > 1 else "")


def convolution_times(
    events: list[dict[str, Any]], charged: list[Charged], layers: list[ConvLayer]
) -> dict[tuple[str, str], float]:
    """Device time (µs) of the convolutions per (layer kind, forward|backward), each
    convolution op of a profiled step matched to the model's layer by its order (forward
    in layer order, backward in reverse), cuDNN's layout conversions included."""
    steps = sorted(
        (e for e in events if str(e.get("name", "")).startswith("ProfilerStep")
         and e.get("cat") == "user_annotation"),
        key=lambda e: e["ts"],
    )  # fmt: skip
    calls: dict[tuple[str, float], float] = defaultdict(float)  # (direction, op start) -> µs
    for event, chain in charged:
        for op in chain:  # the outermost convolution op names the call
            if re.search(CONV_BACKWARD, op["name"]):
                calls["backward", op["ts"]] += event["dur"]
                break
            if re.search(CONV_FORWARD, op["name"]):
                calls["forward", op["ts"]] += event["dur"]
                break
    times: dict[tuple[str, str], float] = defaultdict(float)
    for step in steps:
        end = step["ts"] + step["dur"]
        for direction in ("forward", "backward"):
            starts = sorted(t for d, t in calls if d == direction and step["ts"] <= t <= end)
            if len(starts) != len(layers):
                raise SystemExit(
                    f"{step['name']}: {len(starts)} {direction} convolutions, the model has "
                    f"{len(layers)}; was the trace profiled with these --params?"
                )
            if direction == "backward":
                starts.reverse()
            for layer, start in zip(layers, starts, strict=True):
                times[layer_kind(layer), direction] += calls[direction, start]
    return times


def print_convolutions(times: dict, layers: list[ConvLayer], steps: int, batch: int) -> None:
    kinds = list(dict.fromkeys(layer_kind(layer) for layer in layers))
    print(
        "\n| convolutions | layers | forward ms per step | backward ms per step | "
        "GFLOP per sequence | TFLOP/s |\n|---|---|---|---|---|---|"
    )
    for kind in kinds:
        mine = [layer for layer in layers if layer_kind(layer) == kind]
        forward, backward = (times[kind, d] / 1000 / steps for d in ("forward", "backward"))
        gflop = sum(layer.gflop_forward + layer.gflop_backward for layer in mine)
        rate = gflop * batch / (forward + backward) if batch else float("nan")
        dilations = sorted({layer.dilation for layer in mine})
        dilated = f" (dilation {dilations[0]}–{dilations[-1]})" if len(dilations) > 1 else ""
        print(
            f"| {kind}{dilated} | {len(mine)} | {forward:.1f} | {backward:.1f} | "
            f"{gflop:.1f} | {rate:.0f} |"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("trace", type=Path)
    parser.add_argument("--steps", type=int, default=1, help="steps the trace holds")
    parser.add_argument("--kernels", type=int, default=12, help="kernels listed (0: none)")
    parser.add_argument(
        "--params", type=Path, help="the profiled model's params: split the convolutions by layer"
    )
    parser.add_argument("--batch", type=int, help="the profiled batch size (for TFLOP/s)")
    args = parser.parse_args()
    events = load_events(args.trace)
    charged = charge(events)
    parts, kernels = breakdown(charged)
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
    if args.params:
        layers = conv_layers(args.params)
        times = convolution_times(events, charged, layers)
        print_convolutions(times, layers, args.steps, args.batch or 0)


if __name__ == "__main__":
    main()
