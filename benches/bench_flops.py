"""Model FLOPs per training sequence (forward + Poisson loss + backward) and the MFU they give.

Counts with ``torch.utils.flop_counter.FlopCounterMode`` (convolutions and matrix
products; elementwise ops, batch norm and the optimizer are not counted, as usual for
MFU) on the *meta* device: shapes only, no memory, no arithmetic, so the full Basenji2
model counts in seconds on a CPU. ``--check`` counts a small model on the CPU with real
tensors too and asserts the two counts agree.

    python benches/bench_flops.py [--params FILE] [--batch 1] [--check]
        [--sequences-per-second 236 --peak-tflops 989.4]

MFU = sequences/s × FLOPs per sequence / peak FLOP/s. Dense bf16 peaks (no sparsity):
H100 SXM and H200 989.4 TFLOP/s, H100 PCIe 756 TFLOP/s.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import torch
from torch.utils.flop_counter import FlopCounterMode

from crossreg.model.geometry import crop_to_targets
from crossreg.model.params import ModelParams, load_params, parse_params
from crossreg.model.seqnn import SeqNN, count_parameters
from crossreg.train.loss import poisson_loss

FIXTURES = Path(__file__).resolve().parent.parent / "tests" / "data" / "basenji_fixtures"

#: Dense bf16 tensor-core peaks in TFLOP/s (vendor data sheets, without sparsity).
PEAKS_TFLOPS = {"H100 SXM": 989.4, "H200": 989.4, "H100 PCIe": 756.0}


def peak_tflops_of(device_name: str) -> float | None:
    """:data:`PEAKS_TFLOPS`' peak of a device named as ``torch.cuda.get_device_name()``
    names it ("NVIDIA H200", "NVIDIA H100 80GB HBM3", "NVIDIA H100 PCIe"); None for others."""
    if "H200" in device_name:
        return PEAKS_TFLOPS["H200"]
    if "H100" in device_name:
        return PEAKS_TFLOPS["H100 PCIe" if "PCIe" in device_name else "H100 SXM"]
    return None


def count_training_flops(
    model_params: ModelParams, batch: int, device: str
) -> tuple[int, int, dict[str, int], SeqNN]:
    """``(forward, total, per-op, model)`` FLOPs of one training step's forward, loss and
    backward on a batch of `batch` sequences, the model built on `device`."""
    with torch.device(device):
        model = SeqNN(model_params)
    model.train()
    genome = model.genomes[0]
    x = torch.zeros(batch, model.seq_length, 4, device=device)
    if device != "meta":
        x[..., 0] = 1.0
    y = torch.ones(batch, model.output_length(), model.num_targets(genome), device=device)
    counter = FlopCounterMode(display=False)
    with counter:
        pred = model(x, genome)
        forward = counter.get_total_flops()
        loss = poisson_loss(crop_to_targets(pred, y.shape[1]), y)
        loss.backward()
    per_op = {str(k): int(v) for k, v in counter.get_flop_counts()["Global"].items()}
    return forward, counter.get_total_flops(), per_op, model


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--params", type=Path, default=FIXTURES / "params_human.json")
    parser.add_argument("--batch", type=int, default=1)
    parser.add_argument(
        "--check", action="store_true", help="also count the mini model on real CPU tensors"
    )
    parser.add_argument("--sequences-per-second", type=float, help="measured training rate")
    parser.add_argument("--peak-tflops", type=float, help="the device's dense bf16 peak")
    args = parser.parse_args()
    params = load_params(args.params)
    start = time.perf_counter()
    forward, total, per_op, model = count_training_flops(params.model, args.batch, "meta")
    seconds = time.perf_counter() - start
    genome = model.genomes[0]
    per_seq = total / args.batch
    print(
        f"{args.params.name}: {count_parameters(model):,} parameters, {model.seq_length:,} bp "
        f"→ {model.output_length()} bins × {model.num_targets(genome):,} tracks; counted on "
        f"the meta device in {seconds:.1f} s, batch {args.batch}"
    )
    print(f"forward:            {forward / args.batch / 1e9:9.1f} GFLOP per sequence")
    print(f"backward:           {(total - forward) / args.batch / 1e9:9.1f} GFLOP per sequence")
    print(f"forward + backward: {per_seq / 1e9:9.1f} GFLOP per sequence")
    for op, flops in sorted(per_op.items(), key=lambda kv: -kv[1]):
        print(f"  {op:28s} {flops / args.batch / 1e9:9.1f} GFLOP per sequence")
    for name, peak in PEAKS_TFLOPS.items():
        print(
            f"at 40% MFU on {name} ({peak} TFLOP/s bf16 dense): "
            f"{0.4 * peak * 1e12 / per_seq:.0f} sequences/s"
        )
    if args.sequences_per_second and args.peak_tflops:
        achieved = args.sequences_per_second * per_seq
        print(
            f"{args.sequences_per_second:g} sequences/s = {achieved / 1e12:.1f} TFLOP/s = "
            f"{100 * achieved / (args.peak_tflops * 1e12):.1f}% MFU of {args.peak_tflops:g}"
        )
    if args.check:
        from crossreg.demo import demo_params

        mini = parse_params(demo_params({"human": 24})).model
        meta = count_training_flops(mini, 2, "meta")[:3]
        real = count_training_flops(mini, 2, "cpu")[:3]
        assert meta == real, (meta, real)
        print(f"check: the demo model counts {real[1] / 2 / 1e9:.3f} GFLOP per sequence on the")
        print("       meta device and on real CPU tensors alike")


if __name__ == "__main__":
    main()
