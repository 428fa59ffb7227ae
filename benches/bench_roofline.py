"""Bytes a training step moves and keeps, op by op, and the time bound they set on a GPU.

Runs one training step's forward, Poisson loss and backward on PyTorch's *meta* device
(shapes only: the paper's model in seconds on a CPU) under a dispatch mode that records,
for every op, its FLOPs (``torch.utils.flop_counter``'s formulas) and the bytes of its
tensor inputs and outputs (views move nothing). Each op's roofline time is the larger of
FLOPs / the device's dense bf16 peak and bytes / its memory bandwidth; their sum bounds
what unfused kernels (eager PyTorch) can reach, and the byte column says which ops a
fusing compiler would have to merge to go further. The model runs in bf16, as autocast
runs its activations (the casts of float32 weights, 0.2 GB per step, are left out).

Also counted: the bytes the autograd graph keeps for the backward pass per sequence (each
storage once), which with the weights, their gradients and the momentum sets the largest
batch a device's memory holds.

    python benches/bench_roofline.py [--params FILE] [--device H200] [--rows 16] [--check]
        [--tensors meta|cpu]

``--check`` counts the demo's model on the meta device and on real CPU tensors and
asserts that bytes moved and kept agree. ``--tensors cpu`` counts on real CPU tensors
(any model, slowly for the paper's); so counted under ``torchrun --nproc-per-node N``,
each process counts its own step of one sequence, with batch norm's statistics summed
over the processes, and process 0 prints its count.
"""

from __future__ import annotations

import argparse
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch.multiprocessing.reductions import StorageWeakRef
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils._pytree import tree_leaves
from torch.utils.flop_counter import flop_registry

from crossreg import distributed
from crossreg.model.geometry import crop_to_targets
from crossreg.model.params import ModelParams, load_params, parse_params
from crossreg.model.seqnn import SeqNN
from crossreg.train.loss import poisson_loss

FIXTURES = Path(__file__).resolve().parent.parent / "tests" / "data" / "basenji_fixtures"

#: Dense bf16 tensor-core peak (TFLOP/s) and memory bandwidth (TB/s) from vendor data sheets.
DEVICES = {"H100 SXM": (989.4, 3.35), "H200": (989.4, 4.8), "H100 PCIe": (756.0, 2.0)}

#: Ops that only view their input or allocate without writing: no bytes move.
NO_TRAFFIC_OPS = frozenset(
    [
        "view",
        "_unsafe_view",
        "reshape",
        "_reshape_alias",
        "alias",
        "detach",
        "transpose",
        "t",
        "permute",
        "unsqueeze",
        "squeeze",
        "expand",
        "slice",
        "select",
        "narrow",
        "as_strided",
        "split",
        "split_with_sizes",
        "unbind",
        "unflatten",
        "flatten",
        "empty",
        "empty_like",
        "empty_strided",
    ]
)


@dataclass
class OpTotals:
    """Calls, FLOPs and bytes moved of one op over the counted step."""

    calls: int = 0
    flops: int = 0
    bytes: int = 0


@dataclass
class Traffic(TorchDispatchMode):
    """Records each op's FLOPs and the bytes of its tensor inputs and outputs."""

    ops: dict[str, OpTotals] = field(default_factory=lambda: defaultdict(OpTotals))

    def __post_init__(self) -> None:
        super().__init__()

    def __torch_dispatch__(self, func: Any, types: Any, args: Any = (), kwargs: Any = None):
        kwargs = kwargs or {}
        out = func(*args, **kwargs)
        name = func._overloadpacket.__name__
        if name in NO_TRAFFIC_OPS or func.namespace == "prim":
            return out
        # an out= argument is written, not read: it counts once, as the output
        written = {a.name for a in func._schema.arguments if a.is_out}
        read = (args, {k: v for k, v in kwargs.items() if k not in written})
        tensors = [t for t in tree_leaves((read, out)) if isinstance(t, torch.Tensor)]
        totals = self.ops[name]
        totals.calls += 1
        totals.bytes += sum(t.numel() * t.element_size() for t in tensors)
        if func._overloadpacket in flop_registry:
            totals.flops += flop_registry[func._overloadpacket](*args, **kwargs, out_val=out)
        return out


def count_training_step(
    model_params: ModelParams, batch: int, device: str, dtype: torch.dtype
) -> tuple[dict[str, OpTotals], int]:
    """Per-op totals of one training step (forward, loss, backward) on a batch of `batch`
    sequences, and the bytes kept for the backward pass (each storage once)."""
    with torch.device(device):
        model = SeqNN(model_params).to(dtype)
    model.train()
    genome = model.genomes[0]
    x = torch.zeros(batch, model.seq_length, 4, device=device, dtype=dtype)
    if device != "meta":
        x[..., 0] = 1.0
    y = torch.ones(
        batch, model.output_length(), model.num_targets(genome), device=device, dtype=torch.half
    )
    kept: dict[int, int] = {}

    def keep(tensor: torch.Tensor) -> torch.Tensor:
        storage = tensor.untyped_storage()
        kept[StorageWeakRef(storage).cdata] = storage.nbytes()
        return tensor

    traffic = Traffic()
    with traffic, torch.autograd.graph.saved_tensors_hooks(keep, lambda t: t):
        parameters = {StorageWeakRef(p.untyped_storage()).cdata for p in model.parameters()}
        pred = model(x, genome)
        loss = poisson_loss(crop_to_targets(pred, y.shape[1]), y)
        activations = sum(n for key, n in kept.items() if key not in parameters)
        loss.backward()
    return dict(traffic.ops), activations


def roofline_ms(totals: OpTotals, peak_tflops: float, bandwidth_tbs: float) -> float:
    """The op's time bound in ms: its FLOPs at the peak or its bytes at the bandwidth."""
    return 1e3 * max(totals.flops / (peak_tflops * 1e12), totals.bytes / (bandwidth_tbs * 1e12))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--params", type=Path, default=FIXTURES / "params_human.json")
    parser.add_argument("--device", choices=sorted(DEVICES), default="H200")
    parser.add_argument("--rows", type=int, default=16, help="ops listed, largest bound first")
    parser.add_argument("--check", action="store_true", help="also count the demo's model")
    parser.add_argument(
        "--tensors", choices=("meta", "cpu"), default="meta", help="count on shapes or values"
    )
    args = parser.parse_args()
    peak, bandwidth = DEVICES[args.device]
    model_params = load_params(args.params).model
    distributed.init("cpu")  # the counts run on CPU tensors (or shapes)
    processes = distributed.world_size()
    if processes > 1 and args.tensors == "meta":
        parser.error("under torchrun count with --tensors cpu: processes exchange real sums")
    start = time.perf_counter()
    ops, kept = count_training_step(model_params, 1, args.tensors, torch.bfloat16)
    seconds = time.perf_counter() - start
    main_process = distributed.is_main()
    distributed.shutdown()
    if not main_process:
        return
    where = f", process 1 of {processes}" if processes > 1 else ""
    print(f"{args.params.name}, one bf16 training sequence{where}, counted in {seconds:.1f} s")
    print(f"on {args.device}: {peak} TFLOP/s dense bf16, {bandwidth} TB/s")
    print(f"{'op':34s} {'calls':>5s} {'GFLOP':>7s} {'MB':>7s} {'bound ms':>8s}")
    bounds = {name: roofline_ms(t, peak, bandwidth) for name, t in ops.items()}
    for name in sorted(bounds, key=lambda n: -bounds[n])[: args.rows]:
        t = ops[name]
        print(
            f"{name:34s} {t.calls:5d} {t.flops / 1e9:7.1f} {t.bytes / 1e6:7.1f} {bounds[name]:8.3f}"
        )
    flops = sum(t.flops for t in ops.values())
    moved = sum(t.bytes for t in ops.values())
    bound = sum(bounds.values())
    compute = flops / (peak * 1e12) * 1e3
    print(f"{'all ops':34s} {'':5s} {flops / 1e9:7.1f} {moved / 1e6:7.1f} {bound:8.3f}")
    print(
        f"unfused bound: {1e3 / bound:.0f} sequences/s = {100 * compute / bound:.0f}% MFU; "
        f"the FLOPs alone: {compute:.3f} ms"
    )
    print(f"kept for the backward pass: {kept / 2**20:.1f} MiB per sequence")
    if args.check:
        from crossreg.demo import demo_params

        mini = parse_params(demo_params({"human": 24})).model
        meta = count_training_step(mini, 2, "meta", torch.float32)
        real = count_training_step(mini, 2, "cpu", torch.float32)
        assert {k: v.bytes for k, v in meta[0].items()} == {
            k: v.bytes for k, v in real[0].items()
        }, (meta, real)
        assert meta[1] == real[1], (meta[1], real[1])
        print(
            f"check: the demo model moves {sum(t.bytes for t in real[0].values()) / 2 / 1e6:.1f}"
            f" MB and keeps {real[1] / 2 / 1e6:.2f} MB per sequence on the meta device and"
        )
        print("       on real CPU tensors alike")


if __name__ == "__main__":
    main()
