"""Inference with the trunk plain, channels-last and compiled, side by side in one run.

``--trunk-layout`` (``InferenceOptions.channels_last``) chooses the trunk's memory layout at
inference (``auto``: channels-last on CPUs, plain on GPUs) and ``--compile``
(``InferenceOptions.compile``) runs the model through ``torch.compile``. This bench times
each inference path under each variant, every round running the variants in turn, so
that the ratios hold on a shared machine:

* ``plain``: the plain trunk, eager;
* ``channels-last``: the channels-last trunk, eager;
* ``compiled``: ``torch.compile`` in the device's default layout (channels-last on a CPU).

The paths: the model's forward (``predict_batch``) at ``--batches``; SAD (``score_stats``)
of ``--alleles`` sparse random SNPs, ``--sad-batch`` alleles a batch; ISM
(``mutation_effects``) of ``--sites`` sites, ``--width`` mutated bases each. Each is run
once per variant before the timing; for ``compiled`` that run compiles, and its time is
reported. The forward rows also give the largest difference from the plain trunk's
output, relative to its largest output. Random genome and weights (timing does not
depend on them); the models of ``bench_sad.py``. Times are the best of ``--repeats``.

    python benches/bench_inference.py [--model demo|mini|full] [--device cpu|cuda] [--bf16]
        [--variants plain channels-last compiled] [--batches 1 4] [--alleles 128]
        [--sad-batch 8] [--sites 2] [--width 40] [--repeats 3] [--threads N]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import TypedDict

import numpy as np
import torch
from bench_sad import (
    HEAD,
    add_model_arguments,
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
from crossreg.variants.ism_score import mutation_effects
from crossreg.variants.ism_sites import Site, vcf_sites
from crossreg.variants.scoring import scored_alleles


class VariantOptions(TypedDict, total=False):
    """The :class:`InferenceOptions` fields a variant sets."""

    channels_last: bool
    compile: bool


#: each variant's InferenceOptions fields
VARIANTS: dict[str, VariantOptions] = {
    "plain": {"channels_last": False},
    "channels-last": {"channels_last": True},
    "compiled": {"compile": True},
}

Runs = dict[str, Callable[[], object]]


def options(args: argparse.Namespace, batch_size: int) -> dict[str, InferenceOptions]:
    """One :class:`InferenceOptions` per chosen variant, otherwise the same."""
    return {
        name: InferenceOptions(
            device=args.device, bf16=args.bf16, batch_size=batch_size, **VARIANTS[name]
        )
        for name in args.variants
    }


def forward_runs(
    model: SeqNN, x: np.ndarray, args: argparse.Namespace, outputs: dict[str, torch.Tensor]
) -> Runs:
    """The forward of one batch `x` under each variant, keeping its output in `outputs`."""

    def run(name: str, o: InferenceOptions) -> None:
        outputs[name] = predict_batch(model, x, HEAD, o)

    return {name: partial(run, name, o) for name, o in options(args, len(x)).items()}


def ism_runs(model: SeqNN, sites: list[Site], genome: Genome, args: argparse.Namespace) -> Runs:
    """ISM of `sites` under each variant (``--width`` bases, batches of 32 sequences)."""

    def run(o: InferenceOptions) -> None:
        for _ in mutation_effects(model, sites, genome, head=HEAD, width=args.width, options=o):
            pass

    return {name: partial(run, o) for name, o in options(args, 32).items()}


def first_runs(runs: Runs) -> dict[str, float]:
    """Run each once (the warm-up; for ``compiled`` the compilation) and time it."""
    seconds = {}
    for name, run in runs.items():
        start = time.perf_counter()
        run()
        seconds[name] = time.perf_counter() - start
    return seconds


def row(
    what: str,
    units: float,
    unit: str,
    runs: Runs,
    first: dict[str, float],
    args: argparse.Namespace,
) -> str:
    """A table row: `units` per second under each variant, each one's ratio to the first
    variant, and the first compiled run's time."""
    seconds = best_times(runs, args.repeats, torch.device(args.device))
    base = seconds[args.variants[0]]
    cells = [f"{rate(units / seconds[name])} ({base / seconds[name]:.2f}×)" for name in runs]
    compiling = f"{first['compiled']:.1f} s" if "compiled" in first else "–"
    return f"| {what} ({unit}/s) | " + " | ".join(cells) + f" | {compiling} |"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_model_arguments(parser)
    parser.add_argument("--variants", nargs="+", choices=list(VARIANTS), default=list(VARIANTS))
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
        f"{describe_machine(device)}; best of {args.repeats}; ratios to {args.variants[0]}\n",
        flush=True,
    )
    print(
        f"| inference | {' | '.join(args.variants)} | first compiled run |\n"
        f"|{'---|' * (len(args.variants) + 2)}",
        flush=True,
    )
    rng = np.random.default_rng(0)
    for batch in args.batches:
        x = np.eye(4, dtype=np.uint8)[rng.integers(0, 4, (batch, model.seq_length))]
        outputs: dict[str, torch.Tensor] = {}
        runs = forward_runs(model, x, args, outputs)
        first = first_runs(runs)
        base = outputs[args.variants[0]]
        gap = max(float((out - base).abs().max() / base.abs().max()) for out in outputs.values())
        what = f"forward, batch {batch}, largest difference {gap:.1e}"
        print(row(what, batch, "sequences", runs, first, args), flush=True)
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
            first = first_runs(runs)
            what = f"SAD, {len(alleles)} sparse alleles, batch {args.sad_batch}"
            print(row(what, len(alleles), "alleles", runs, first, args), flush=True)
        if args.sites:
            records = sparse_records(bases, args.sites, seed=3)
            sites = vcf_sites(records, genome, model.seq_length, source="random")
            sequences = args.sites * (1 + 3 * args.width)
            what = f"ISM, {args.sites} × {args.width} bp ({sequences:,} sequences)"
            runs = ism_runs(model, sites, genome, args)
            first = first_runs(runs)
            print(row(what, sequences, "sequences", runs, first, args), flush=True)


if __name__ == "__main__":
    main()
