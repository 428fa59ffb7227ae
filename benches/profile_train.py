"""Where a training step's time goes: a ``torch.profiler`` trace of N training steps
(forward, Poisson loss, backward, per-tensor clipping, optimizer update) on random batches,
and the ops with the most self time.

    python benches/profile_train.py [--params FILE] [--device cpu|cuda] [--batch 4]
        [--steps 5] [--bf16] [--compile] [--channels-last] [--rows 25] [--trace trace.json]
        [--threads N]

Without --params the model is the demo's (8,192 bp, two 24-track heads; steps on the
human head); ``--params tests/data/basenji_fixtures/params_human.json --device cuda``
profiles the paper's full model. The table is sorted by self CUDA time on a GPU, else by
self CPU time; --trace writes a Chrome/Perfetto trace (open in https://ui.perfetto.dev).
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import cast

import torch
from torch.profiler import ProfilerActivity, profile, schedule

from crossreg.model.inference import tune_cuda
from crossreg.model.params import load_params, parse_params
from crossreg.model.seqnn import SeqNN, count_parameters
from crossreg.train.optim import build_optimizer
from crossreg.train.step import train_step


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--params", type=Path, help="params JSON (default: the demo's model)")
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--batch", type=int, default=4)
    parser.add_argument("--steps", type=int, default=5, help="steps recorded (after 2 warm-up)")
    parser.add_argument("--bf16", action="store_true")
    parser.add_argument("--compile", action="store_true")
    parser.add_argument("--channels-last", action="store_true", help="channels-last trunk")
    parser.add_argument("--rows", type=int, default=25, help="ops in the table")
    parser.add_argument("--trace", type=Path, help="write a Chrome trace JSON here")
    parser.add_argument("--threads", type=int, help="torch CPU threads")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    tune_cuda(device, tf32=True)  # as `crossreg train` does
    if args.params:
        params = load_params(args.params)
    else:
        from crossreg.demo import demo_params

        params = parse_params(demo_params({"human": 24, "mouse": 24}))
    model = SeqNN(params.model, channels_last=args.channels_last).to(device)
    genome = model.genomes[0]
    optimizer = build_optimizer(model.parameters(), params.train)
    # torch.compile returns an OptimizedModule for a module; its stubs say only Callable
    runner = cast(torch.nn.Module, torch.compile(model)) if args.compile else model
    gen = torch.Generator().manual_seed(0)
    bases = torch.randint(0, 4, (args.batch, model.seq_length), generator=gen)
    x = torch.nn.functional.one_hot(bases, 4).float().to(device)
    shape = (args.batch, model.output_length(), model.num_targets(genome))
    draws = torch.Generator(device=device).manual_seed(0)  # on the device: 10^8 draws
    y = torch.poisson(torch.full(shape, 2.0, device=device), generator=draws).half()
    activities = [ProfilerActivity.CPU]
    if device.type == "cuda":
        activities.append(ProfilerActivity.CUDA)
    print(
        f"{count_parameters(model):,} parameters, {model.seq_length:,} bp → {shape[1]} bins × "
        f"{shape[2]} tracks, batch {args.batch}, {device}, threads {torch.get_num_threads()}, "
        f"bf16 {args.bf16}, compile {args.compile}, torch {torch.__version__}"
    )
    warmup = 2
    with profile(
        activities=activities,
        schedule=schedule(wait=0, warmup=warmup, active=args.steps, repeat=1),
        acc_events=True,
        record_shapes=False,
    ) as prof:
        for _ in range(warmup + args.steps):
            train_step(runner, optimizer, x, y, genome, clip_norm=2.0, bf16=args.bf16)
            if device.type == "cuda":
                torch.cuda.synchronize()
            prof.step()
    key = "self_cuda_time_total" if device.type == "cuda" else "self_cpu_time_total"
    print(prof.key_averages().table(sort_by=key, row_limit=args.rows, max_name_column_width=48))
    if args.trace:
        prof.export_chrome_trace(str(args.trace))
        print(f"trace: {args.trace}")


if __name__ == "__main__":
    main()
