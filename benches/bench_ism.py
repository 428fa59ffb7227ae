"""ISM throughput of ``crossreg.variants.ism`` (saturation mutagenesis around variants).

Each site mutates the central ``--width`` bases of its window to every other base:
``1 + 3 × width`` sequences (601 at Basenji's 200 bp), run in batches of ``--batch-size``
sequences. A random 2-Mbp genome, random sites, random weights (timing does not depend on
them); the models of ``bench_sad.py``: the demo's joint model, the mini fixture or the full
cross2020 human architecture. Prints sites/s and sequences/s of
:func:`crossreg.variants.ism_score.mutation_effects` (all tracks, ``sum`` and ``center``), plain
and with ``--rc --shifts 1,0,-1``, and, with ``--write``, of ``write_ism`` end to end (a
VCF of the sites → ``.h5``). The last column is the time one 200-bp site would take at the
measured rate, for runs with a narrower ``--width``. Times are the best of ``--repeats``.

    python benches/bench_ism.py [--model demo|mini|full] [--device cpu|cuda] [--bf16]
        [--sites 8] [--rc-sites N] [--width 200] [--batch-size 32] [--ensemble plain rc]
        [--write] [--repeats 2] [--no-warmup] [--threads N]
"""

from __future__ import annotations

import argparse
import tempfile
from collections.abc import Callable
from pathlib import Path

import torch
from bench_sad import (
    CHROM,
    CHROM_BP,
    ENSEMBLE_LABELS,
    ENSEMBLES,
    HEAD,
    add_model_arguments,
    best_times,
    build_model,
    describe_machine,
    describe_model,
    parse_timing_arguments,
    random_genome,
    rate,
    save_random_checkpoint,
    sparse_records,
)

from crossreg.genome import Genome
from crossreg.io.vcf import write_vcf
from crossreg.model.inference import InferenceOptions
from crossreg.variants.ism import write_ism
from crossreg.variants.ism_score import mutation_effects
from crossreg.variants.ism_sites import Site, vcf_sites


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_model_arguments(parser)
    parser.add_argument("--sites", type=int, default=8)
    parser.add_argument("--rc-sites", type=int, default=0, help="sites of the rc rows")
    parser.add_argument("--width", type=int, default=200, help="mutated bases a site")
    parser.add_argument("--batch-size", type=int, default=32, help="sequences per batch")
    parser.add_argument("--ensemble", nargs="+", choices=list(ENSEMBLES), default=list(ENSEMBLES))
    parser.add_argument("--write", action="store_true", help="also time write_ism end to end")
    parser.add_argument("--repeats", type=int, default=2, help="timed runs; the best is kept")
    args = parse_timing_arguments(parser)
    device = torch.device(args.device)
    model, raw = build_model(args.model, device)
    per_site = 1 + 3 * args.width
    print(
        f"{describe_model(args.model, model)}; width {args.width} ({per_site} sequences a "
        f"site), {device}, batch {args.batch_size} sequences, bf16 {args.bf16}; "
        f"{describe_machine(device)}; best of {args.repeats}",
        flush=True,
    )
    print(
        "| what | ensemble | sites | sequences | seconds | sites/s | sequences/s | "
        "s per 200-bp site |\n|---|---|---|---|---|---|---|---|",
        flush=True,
    )
    with tempfile.TemporaryDirectory() as name:
        tmp = Path(name)
        fasta, bases = random_genome(tmp)
        genome = Genome(fasta)
        records = sparse_records(bases, max(args.sites, args.rc_sites), seed=3)
        checkpoint = save_random_checkpoint(model, raw, tmp / "checkpoint") if args.write else None
        for ensemble in args.ensemble:
            n = args.sites if ensemble == "plain" else (args.rc_sites or args.sites)
            chosen = records[:n]
            sites = vcf_sites(chosen, genome, model.seq_length, source="random")
            options = InferenceOptions(
                device=args.device,
                batch_size=args.batch_size,
                bf16=args.bf16,
                **ENSEMBLES[ensemble],
            )

            def effects(sites: list[Site] = sites, options: InferenceOptions = options) -> None:
                for _ in mutation_effects(
                    model, sites, genome, head=HEAD, width=args.width, options=options
                ):
                    pass

            if args.warmup:
                warm = vcf_sites(chosen[:1], genome, model.seq_length, source="random")
                for _ in mutation_effects(
                    model, warm, genome, head=HEAD, width=min(args.width, 16), options=options
                ):
                    pass
            runs: dict[str, Callable[[], object]] = {"`mutation_effects`": effects}
            if checkpoint is not None:
                vcf = tmp / f"sites_{n}.vcf"
                write_vcf(vcf, chosen, contigs={CHROM: CHROM_BP})

                def written(vcf: Path = vcf, options: InferenceOptions = options) -> None:
                    out = tmp / "ism.h5"
                    out.unlink(missing_ok=True)
                    write_ism(
                        checkpoint,
                        fasta,
                        out,
                        vcf=vcf,
                        head=HEAD,
                        width=args.width,
                        options=options,
                        plots=False,  # the scoring path; drawing is not throughput
                    )

                runs["`write_ism` (VCF → .h5)"] = written
            for what, seconds in best_times(runs, args.repeats, device).items():
                sequences = n * per_site
                print(
                    f"| {what} | {ENSEMBLE_LABELS[ensemble]} | {n} | {sequences:,} | "
                    f"{seconds:.1f} | {rate(n / seconds)} | {rate(sequences / seconds)} | "
                    f"{601 * seconds / sequences:.1f} |",
                    flush=True,
                )


if __name__ == "__main__":
    main()
