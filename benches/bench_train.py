"""Training-step throughput of crossreg's Basenji2 SeqNN (forward, Poisson loss, backward,
per-tensor clipping, SGD update) on random one-hot batches.

    python benches/bench_train.py [--params FILE] [--device cuda] [--batch-sizes 4,8,16]
                                  [--bf16] [--compile] [--channels-last] [--steps 10]
                                  [--compare-layouts] [--rounds 3] [--peak-tflops T]
                                  [--no-padding] [--no-dilated-wgrad-matmul] [--divisible-by 8]
                                  [--compare-ddp]
    torchrun --nproc-per-node N benches/bench_train.py --compare-ddp [...]

The default params are the paper's full human model (131,072 bp → 896 bins × 5,313 tracks).
Prints sequences per second, peak GPU memory, TFLOP/s of the model's FLOPs (counted on the
meta device as ``bench_flops.py`` counts them) and, on an H100 or H200 or with
``--peak-tflops``, the MFU per batch size; a batch that runs out of memory is reported as
such. ``--channels-last`` runs the trunk in its (B, C, 1, L) channels-last form
(:attr:`crossreg.model.seqnn.SeqNN.channels_last`); ``--compare-layouts`` times both
layouts alternately instead, in rounds of ``--steps`` steps each, and gives their ratio
(the best round of each). ``--no-padding`` turns off the zero padding a GPU's products
get and ``--no-dilated-wgrad-matmul`` leaves dilated convolutions' weight gradients to
cuDNN (:mod:`crossreg.model.gpu_forms`), to time what those forms gain; ``--divisible-by N`` rounds
each conv tower's filters to a multiple of N (Basenji's ``divisible_by``): another model,
whose FLOPs are counted for its MFU, to see what aligned channel counts would gain.

``--compare-ddp`` times, in alternating rounds, each process's step on its own batch
alone (as one GPU runs it: batch norm and dropout over its own examples) and the same
step as ``crossreg train`` runs it under torchrun (DistributedDataParallel, batch norm over
every process's examples): the slowest process's round of each counts, and their ratio is
the data-parallel cost per GPU. Without torchrun the process forms a group of one, which
times DDP's own work (gradient buckets, hooks, the all-reduce of one) on one GPU.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from functools import partial
from pathlib import Path

import torch
import torch.distributed as dist
from bench_flops import count_training_flops, peak_tflops_of
from bench_sad import best_times

from crossreg import distributed
from crossreg.model import gpu_forms
from crossreg.model.blocks import ConvBlock
from crossreg.model.inference import tune_cuda
from crossreg.model.params import Params, load_params, parse_params
from crossreg.model.seqnn import SeqNN, count_parameters
from crossreg.train.optim import build_optimizer
from crossreg.train.step import train_step

FIXTURES = Path(__file__).resolve().parent.parent / "tests" / "data" / "basenji_fixtures"


def synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def random_batch(model, genome: str, batch: int, bins: int, device: torch.device):
    """Random one-hot sequences and Poisson targets (float16) of one batch on `device`."""
    gen = torch.Generator().manual_seed(0)
    bases = torch.randint(0, 4, (batch, model.seq_length), generator=gen)
    x = torch.nn.functional.one_hot(bases, 4).float().to(device)
    shape = (batch, bins, model.num_targets(genome))  # drawn where it is used: a batch of
    y = torch.poisson(torch.full(shape, 2.0, device=device)).half()  # 5,313 tracks is 10^8
    return x, y


def bench_batch(model, optimizer, genome, batch, bins, args, device) -> str:
    x, y = random_batch(model, genome, batch, bins, device)
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats()
    for _ in range(args.warmup):
        train_step(model, optimizer, x, y, genome, clip_norm=2.0, bf16=args.bf16)
    synchronize(device)
    start = time.perf_counter()
    for _ in range(args.steps):
        loss = train_step(model, optimizer, x, y, genome, clip_norm=2.0, bf16=args.bf16)
    synchronize(device)
    seconds = (time.perf_counter() - start) / args.steps
    memory = ""
    if device.type == "cuda":
        memory = f", peak memory {torch.cuda.max_memory_allocated() / 2**30:.1f} GiB"
    return (
        f"batch {batch:3d}: {seconds * 1000:8.1f} ms/step, {batch / seconds:7.1f} sequences/s"
        f"{memory}, {utilisation(batch / seconds, args)} (loss {float(loss):.3f})"
    )


def utilisation(sequences_per_second: float, args: argparse.Namespace) -> str:
    """TFLOP/s of the model's FLOPs at this rate, and the MFU where the peak is known."""
    achieved = sequences_per_second * args.flops_per_sequence / 1e12
    if args.peak_tflops is None:
        return f"{achieved:.1f} TFLOP/s"
    return f"{achieved:.1f} TFLOP/s, {100 * achieved / args.peak_tflops:.1f}% MFU"


def compare_layouts(model, optimizer, genome, batch, bins, args, device) -> str:
    """One batch size's steps with the trunk plain and channels-last, alternating: each of
    ``--rounds`` rounds runs ``--steps`` steps in one layout, then in the other; the best
    round of each counts, so that both see the same load on a shared machine."""
    x, y = random_batch(model, genome, batch, bins, device)
    layouts = {"plain": False, "channels-last": True}
    peak = dict.fromkeys(layouts, 0.0)

    def steps(name: str, count: int) -> None:
        model.channels_last = layouts[name]
        if device.type == "cuda":
            torch.cuda.reset_peak_memory_stats()
        for _ in range(count):
            train_step(model, optimizer, x, y, genome, clip_norm=2.0, bf16=args.bf16)
        if device.type == "cuda":
            peak[name] = torch.cuda.max_memory_allocated() / 2**30

    for name in layouts:
        steps(name, args.warmup)
    runs = {name: partial(steps, name, args.steps) for name in layouts}
    best = {k: v / args.steps for k, v in best_times(runs, args.rounds, device).items()}
    cells = []
    for name in layouts:
        memory = f", {peak[name]:.1f} GiB" if device.type == "cuda" else ""
        cells.append(
            f"{name} {best[name] * 1000:.1f} ms/step, {batch / best[name]:.4g} sequences/s"
            f"{memory}, {utilisation(batch / best[name], args)}"
        )
    return (
        f"batch {batch:3d}: "
        + "; ".join(cells)
        + f"; ratio {best['plain'] / best['channels-last']:.2f}"
    )


def join_processes(device: torch.device) -> None:
    """The torchrun job's process group, or under plain ``python`` a group of this one
    process (NCCL on a GPU, gloo on the CPU)."""
    distributed.init(device)
    if dist.is_initialized():
        return
    if "MASTER_ADDR" not in os.environ:  # torchrun of one process sets these itself
        with socket.socket() as probe:  # a free port for the group's rendezvous
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
        os.environ.update(RANK="0", WORLD_SIZE="1")
    dist.init_process_group("nccl" if device.type == "cuda" else "gloo")


@contextmanager
def alone() -> Iterator[None]:
    """Steps as a process on its own computes them: batch norm and dropout over its own
    examples only, whatever the process group."""
    world_size, rank = distributed.world_size, distributed.rank
    distributed.world_size, distributed.rank = (lambda: 1), (lambda: 0)
    try:
        yield
    finally:
        distributed.world_size, distributed.rank = world_size, rank


def compare_ddp(model, optimizer, genome, batch, bins, args, device) -> str:
    """Each process's step on `batch` examples alone, under DistributedDataParallel with
    batch norm and dropout over its own examples, and as training runs it (DDP, batch
    norm over every process's examples), in ``--rounds`` alternating rounds of ``--steps``
    steps; per round the slowest process's time counts, and the best round of each."""
    x, y = random_batch(model, genome, batch, bins, device)
    parallel = distributed.data_parallel(model, device)
    variants = {  # the model run, and whether its batch norm is the process's own
        "alone": (model, True),
        "DDP, own batch norm": (parallel, True),
        "DDP": (parallel, False),
    }

    def steps(name: str, count: int) -> float:
        runner, own_batch_norm = variants[name]
        distributed.barrier()
        synchronize(device)
        start = time.perf_counter()
        with alone() if own_batch_norm else nullcontext():
            for _ in range(count):
                train_step(runner, optimizer, x, y, genome, clip_norm=2.0, bf16=args.bf16)
        synchronize(device)
        seconds = time.perf_counter() - start
        slowest = torch.tensor([seconds], dtype=torch.float64, device=device)  # the group's
        dist.all_reduce(slowest, dist.ReduceOp.MAX)  # backend's device: NCCL's GPU or gloo's CPU
        return float(slowest) / count

    for name in variants:
        steps(name, args.warmup)
    best = dict.fromkeys(variants, float("inf"))
    for _ in range(args.rounds):
        for name in variants:
            best[name] = min(best[name], steps(name, args.steps))
    cells = [
        f"{name} {seconds * 1000:.1f} ms/step ({seconds / best['alone']:.3f})"
        for name, seconds in best.items()
    ]
    return (
        f"batch {batch:3d} per process, {dist.get_world_size()} processes: "
        + "; ".join(cells)
        + f"; {batch / best['DDP']:.4g} sequences/s per process with DDP"
    )


def bench_params(path: Path, divisible_by: int | None) -> Params:
    """The params of `path`, each conv tower's filters rounded to multiples of
    `divisible_by` where given."""
    if divisible_by is None:
        return load_params(path)
    data = json.loads(path.read_text())
    for block in data["model"]["trunk"]:
        if block["name"] == "conv_tower":
            block["divisible_by"] = divisible_by
    return parse_params(data, str(path))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--params", type=Path, default=FIXTURES / "params_human.json")
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--batch-sizes", default="4")
    parser.add_argument("--steps", type=int, default=5)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--bf16", action="store_true")
    parser.add_argument("--compile", action="store_true")
    parser.add_argument("--channels-last", action="store_true", help="channels-last trunk")
    parser.add_argument(
        "--compare-layouts",
        action="store_true",
        help="time the plain and the channels-last trunk alternately, and their ratio",
    )
    parser.add_argument(
        "--compare-ddp",
        action="store_true",
        help="time each process's step alone and under DDP (run under torchrun), and their ratio",
    )
    parser.add_argument(
        "--rounds", type=int, default=3, help="rounds of --compare-layouts or --compare-ddp"
    )
    parser.add_argument(
        "--peak-tflops",
        type=float,
        help="the device's dense bf16 peak for the MFU (default: known for H100 and H200)",
    )
    parser.add_argument(
        "--no-padding", action="store_true", help="no zero padding of the GPU's products"
    )
    parser.add_argument(
        "--no-dilated-wgrad-matmul",
        action="store_true",
        help="dilated convolutions' weight gradients from cuDNN, not matrix products",
    )
    parser.add_argument(
        "--divisible-by", type=int, help="round the conv towers' filters to this multiple"
    )
    args = parser.parse_args()
    if args.compare_ddp and (args.compare_layouts or args.compile):
        parser.error("--compare-ddp times the eager step in one layout")
    device = distributed.resolve_device(args.device)
    if args.compare_ddp:
        join_processes(device)
    tune_cuda(device, tf32=True)  # as `crossreg train` does
    if args.no_padding:
        gpu_forms.GPU_MULTIPLE = 1
    if args.no_dilated_wgrad_matmul:
        gpu_forms.DILATED_WGRAD_AS_MATMUL = False
    params = bench_params(args.params, args.divisible_by)
    model = SeqNN(params.model, channels_last=args.channels_last).to(device)
    genome = model.genomes[0]
    bins = model.output_length()
    name = torch.cuda.get_device_name() if device.type == "cuda" else "CPU"
    args.flops_per_sequence = count_training_flops(params.model, 1, "meta")[1]
    if args.peak_tflops is None:
        args.peak_tflops = peak_tflops_of(name)
    say = print if distributed.is_main() else (lambda *_, **__: None)
    say(
        f"{args.params.name}: {count_parameters(model):,} parameters, {model.seq_length:,} bp → "
        f"{bins} bins × {model.num_targets(genome)} tracks; {name}, torch {torch.__version__}, "
        f"bf16 {args.bf16}, compile {args.compile}, channels-last "
        f"{'both, alternating' if args.compare_layouts else args.channels_last}, "
        f"GPU padding to {gpu_forms.GPU_MULTIPLE}, dilated weight gradients as matmuls "
        f"{gpu_forms.DILATED_WGRAD_AS_MATMUL}, convolution blocks' filters "
        f"{[m.out_channels for m in model.trunk if isinstance(m, ConvBlock)]}"
    )
    optimizer = build_optimizer(model.parameters(), params.train)
    runner = torch.compile(model) if args.compile else model
    for batch in (int(b) for b in args.batch_sizes.split(",")):
        try:
            bench = (
                compare_ddp
                if args.compare_ddp
                else compare_layouts
                if args.compare_layouts
                else bench_batch
            )
            say(bench(runner, optimizer, genome, batch, bins, args, device), flush=True)
        except torch.OutOfMemoryError:
            say(f"batch {batch:3d}: out of memory", flush=True)
            break
        finally:
            if device.type == "cuda":
                torch.cuda.empty_cache()
    distributed.shutdown()


if __name__ == "__main__":
    main()
