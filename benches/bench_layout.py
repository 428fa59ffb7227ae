"""Inference with the trunk plain against channels-last, side by side in one run.

``InferenceOptions.channels_last`` (``--trunk-layout`` on every command that runs a model)
chooses the trunk's memory layout at inference: ``None`` (auto) is channels-last on CPUs
and plain on GPUs. This bench times each inference path in both layouts, each round
running one layout then the other, so that the ratio holds on a shared machine:

* the model's forward (``predict_batch``) at ``--batches``;
* SAD (``score_stats``) of ``--alleles`` sparse random SNPs, ``--sad-batch`` alleles a batch;
* ISM (``mutation_effects``) of ``--sites`` sites, ``--width`` mutated bases each.

Random genome and weights (timing does not depend on them); the models of
``bench_sad.py``. It also reports the largest difference between the layouts' forward
outputs, relative to the largest output. Times are the best of ``--repeats``.

    python benches/bench_layout.py [--model demo|mini|full] [--device cpu|cuda] [--bf16]
        [--batches 1 4] [--alleles 128] [--sad-batch 8] [--sites 2] [--width 40]
        [--repeats 3] [--threads N]
"""

from __future__ import annotations

import argparse
import tempfile
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
from bench_sad import (
    HEAD,
    MODELS,
    best_times,
    build_model,
    describe_machine,
    describe_model,
    parse_timing_arguments,
    random_genome,
    rate,
    scoring_run,
    sparse_records,
)

from crossreg.genome import Genome
from crossreg.model.inference import InferenceOptions, predict_batch
from crossreg.model.seqnn import SeqNN
from crossreg.variants.ism import mutation_effects, vcf_sites
from crossreg.variants.scoring import scored_alleles

LAYOUTS = {"plain": False, "channels-last": True}

Runs = dict[str, Callable[[], object]]


def options(args: argparse.Namespace, batch_size: int) -> dict[str, InferenceOptions]:
    """One :class:`InferenceOptions` per layout, otherwise the same."""
    return {
        name: InferenceOptions(
            device=args.device, bf16=args.bf16, batch_size=batch_size, channels_last=layout
        )
        for name, layout in LAYOUTS.items()
    }


def forward_runs(model: SeqNN, x: np.ndarray, args: argparse.Namespace) -> Runs:
    """The forward of one batch `x` in each layout."""
    return {
        name: lambda o=o: predict_batch(model, x, HEAD, o)
        for name, o in options(args, len(x)).items()
    }


def ism_runs(model: SeqNN, sites: list, genome: Genome, args: argparse.Namespace) -> Runs:
    """ISM of `sites` in each layout (``--width`` bases, batches of 32 sequences)."""

    def run(o: InferenceOptions) -> None:
        for _ in mutation_effects(model, sites, genome, head=HEAD, width=args.width, options=o):
            pass

    return {name: lambda o=o: run(o) for name, o in options(args, 32).items()}


def row(
    what: str, units: float, unit: str, runs: Runs, args: argparse.Namespace, warm: bool
) -> str:
    """A table row: `units` per second in each layout and their ratio (after one untimed
    run of each when `warm`)."""
    if warm:
        for run in runs.values():
            run()
    seconds = best_times(runs, args.repeats, torch.device(args.device))
    plain, last = (units / seconds[name] for name in LAYOUTS)
    return f"| {what} | {rate(plain)} {unit}/s | {rate(last)} {unit}/s | {last / plain:.2f}× |"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", choices=MODELS, default="demo")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--bf16", action="store_true")
    parser.add_argument("--batches", type=int, nargs="+", default=[1, 4])
    parser.add_argument("--alleles", type=int, default=128, help="SAD alleles (0: no SAD row)")
    parser.add_argument("--sad-batch", type=int, default=8, help="alleles per SAD batch")
    parser.add_argument("--sites", type=int, default=2, help="ISM sites (0: no ISM row)")
    parser.add_argument("--width", type=int, default=40, help="mutated bases an ISM site")
    parser.add_argument("--repeats", type=int, default=3, help="timed runs; the best is kept")
    args = parse_timing_arguments(parser)
    device = torch.device(args.device)
    model, _ = build_model(args.model, device)
    print(
        f"{describe_model(args.model, model)}; {device}, bf16 {args.bf16}; "
        f"{describe_machine(device)}; best of {args.repeats}\n",
        flush=True,
    )
    print("| inference | plain trunk | channels-last | ratio |\n|---|---|---|---|", flush=True)
    rng = np.random.default_rng(0)
    for batch in args.batches:
        x = np.eye(4, dtype=np.uint8)[rng.integers(0, 4, (batch, model.seq_length))]
        runs = forward_runs(model, x, args)
        plain, last = (run() for run in runs.values())  # also the warm-up
        gap = float((plain - last).abs().max() / plain.abs().max())
        what = f"forward, batch {batch} (largest difference {gap:.1e} of the largest output)"
        print(row(what, batch, "sequences", runs, args, warm=False), flush=True)
    with tempfile.TemporaryDirectory() as name:
        fasta, bases = random_genome(Path(name))
        genome = Genome(fasta)
        if args.alleles:
            records = sparse_records(bases, args.alleles)
            alleles = scored_alleles(records, genome, source="random", seq_length=model.seq_length)
            runs = {
                name: scoring_run(model, alleles, genome, o, 0, warmup=False)
                for name, o in options(args, args.sad_batch).items()
            }
            what = f"SAD, {len(alleles)} sparse alleles, batch {args.sad_batch}"
            print(row(what, len(alleles), "alleles", runs, args, args.warmup), flush=True)
        if args.sites:
            records = sparse_records(bases, args.sites, seed=3)
            sites = vcf_sites(records, genome, model.seq_length, source="random")
            sequences = args.sites * (1 + 3 * args.width)
            what = f"ISM, {args.sites} sites × {args.width} bp ({sequences:,} sequences)"
            runs = ism_runs(model, sites, genome, args)
            print(row(what, sequences, "sequences", runs, args, args.warmup), flush=True)


if __name__ == "__main__":
    main()
