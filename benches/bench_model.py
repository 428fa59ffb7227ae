"""Forward-pass time of crossreg's Basenji2 SeqNN in inference mode.

Models: the two-head mini fixture model (8,192 bp → 104 bins) and the full cross2020 human
architecture (131,072 bp → 896 bins × 5,313 tracks, random weights). Prints the median
wall time of repeated forward passes after warm-up; ``--channels-last`` runs the trunk
channels-last (:attr:`crossreg.model.seqnn.SeqNN.channels_last`).

    python benches/bench_model.py [--device cpu|cuda] [--batch 1] [--repeats 5] [--bf16]
                                  [--channels-last] [--threads N]
"""

from __future__ import annotations

import argparse
import contextlib
import statistics
import time
from pathlib import Path

import torch

from crossreg.model.inference import tune_cuda
from crossreg.model.params import load_params
from crossreg.model.seqnn import SeqNN, count_parameters

FIXTURES = Path(__file__).resolve().parent.parent / "tests" / "data" / "basenji_fixtures"
MODELS = {
    "mini (params_joint_mini.json, human head)": ("params_joint_mini.json", "human"),
    "full cross2020 human (params_human.json)": ("params_human.json", "human"),
}


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def time_forward(
    model: SeqNN, genome: str, batch: int, repeats: int, device: torch.device, bf16: bool
) -> float:
    """Median seconds of one forward pass of a random one-hot batch."""
    gen = torch.Generator().manual_seed(0)
    bases = torch.randint(0, 4, (batch, model.seq_length), generator=gen)
    x = torch.nn.functional.one_hot(bases, 4).float().to(device)
    autocast = torch.autocast(device.type, torch.bfloat16) if bf16 else contextlib.nullcontext()
    times = []
    with torch.inference_mode(), autocast:
        for i in range(repeats + 1):
            _sync(device)
            start = time.perf_counter()
            model(x, genome)
            _sync(device)
            if i > 0:  # the first pass warms up
                times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--batch", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--bf16", action="store_true")
    parser.add_argument("--channels-last", action="store_true", help="channels-last trunk")
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    tune_cuda(device)  # as inference commands do
    print(
        f"device {device}, torch {torch.__version__}, threads {torch.get_num_threads()}, "
        f"channels-last {args.channels_last}"
    )
    for label, (params_file, genome) in MODELS.items():
        params = load_params(FIXTURES / params_file)
        model = SeqNN(params.model, channels_last=args.channels_last).to(device).eval()
        seconds = time_forward(model, genome, args.batch, args.repeats, device, args.bf16)
        print(
            f"{label}: {count_parameters(model):,} parameters, batch {args.batch} × "
            f"{model.seq_length:,} bp: {seconds * 1000:.1f} ms per forward "
            f"({args.batch / seconds:.2f} sequences/s)"
        )


if __name__ == "__main__":
    main()
