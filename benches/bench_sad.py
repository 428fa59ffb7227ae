"""SAD throughput of ``crossreg.variants.sad`` (window building, one-hot, model, alt − ref sums).

A random genome and random SNPs; the model has random weights (timing does not depend on
them): the mini fixture architecture (8,192 bp) or the full cross2020 human one
(131,072 bp → 896 bins × 5,313 tracks). Prints alleles per second with and without the
reverse-complement/shift ensemble, and how much of the time window building takes.

    python benches/bench_sad.py [--model mini|full] [--device cpu|cuda] [--alleles 64]
                                [--batch-size 8] [--bf16]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from crossreg.genome import Genome
from crossreg.io.vcf import Variant
from crossreg.model.inference import InferenceOptions
from crossreg.model.params import load_params
from crossreg.model.seqnn import SeqNN
from crossreg.variants.alleles import Allele
from crossreg.variants.scoring import allele_windows, score_alleles

FIXTURES = Path(__file__).resolve().parent.parent / "tests" / "data" / "basenji_fixtures"
PARAMS = {"mini": "params_joint_mini.json", "full": "params_human.json"}
CHROM_BP = 2_000_000


def random_alleles(genome: Genome, n: int, seed: int = 0) -> list[Allele]:
    """`n` SNPs at random positions of the genome's one chromosome."""
    rng = np.random.default_rng(seed)
    alleles = []
    for pos in np.sort(rng.integers(0, CHROM_BP, size=n)):
        ref = genome.fetch("chr1", int(pos), int(pos) + 1).decode()
        alt = "ACGT"[("ACGT".index(ref) + int(rng.integers(1, 4))) % 4]
        alleles.append(Allele(Variant("chr1", int(pos), ref, (alt,)), alt))
    return alleles


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", choices=list(PARAMS), default="mini")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--alleles", type=int, default=64)
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--bf16", action="store_true")
    args = parser.parse_args()
    device = torch.device(args.device)
    torch.manual_seed(0)
    params = load_params(FIXTURES / PARAMS[args.model])
    model = SeqNN(params.model.select_heads({"human": params.model.heads[0].key})).to(device)
    with tempfile.TemporaryDirectory() as tmp:
        fasta = Path(tmp) / "genome.fa"
        bases = np.frombuffer(b"ACGT", np.uint8)[np.random.default_rng(1).integers(0, 4, CHROM_BP)]
        fasta.write_bytes(b">chr1\n" + bases.tobytes() + b"\n")
        genome = Genome(fasta)
        alleles = random_alleles(genome, args.alleles)
        start = time.perf_counter()
        for i in range(0, len(alleles), args.batch_size):
            allele_windows(alleles[i : i + args.batch_size], genome, model.seq_length)
        windows_s = time.perf_counter() - start
        print(
            f"{args.model} model, {model.seq_length:,} bp, {model.num_targets('human'):,} "
            f"tracks; {device}, batch {args.batch_size} alleles, bf16 {args.bf16}, "
            f"torch {torch.__version__}"
        )
        for label, ensemble in (
            ("plain", {}),
            ("--rc --shifts 1,0,-1", {"rc": True, "shifts": (1, 0, -1)}),
        ):
            options = InferenceOptions(batch_size=args.batch_size, bf16=args.bf16, **ensemble)
            list(score_alleles(model, alleles[: args.batch_size], genome, "human", options))
            if device.type == "cuda":
                torch.cuda.synchronize()
            start = time.perf_counter()
            for _ in score_alleles(model, alleles, genome, "human", options):
                pass
            seconds = time.perf_counter() - start
            print(
                f"{label:22s} {len(alleles) / seconds:8.1f} alleles/s "
                f"(window building {100 * windows_s / seconds:.1f}% of the time)"
            )


if __name__ == "__main__":
    main()
