"""``crossreg sad``: variant effect scores (alt − ref summed over the window) per track."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from crossreg.commands.predict import parse_shifts

HELP = "score every VCF variant on every track of a model head: SAD = sum over bins of alt - ref"

log = logging.getLogger("crossreg")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``crossreg sad``."""
    parser.add_argument("--model", type=Path, required=True, help="checkpoint directory")
    parser.add_argument(
        "--genome",
        default=None,
        help="which head scores (required when the model has several); any head can score "
        "any FASTA, e.g. the mouse head on human variants",
    )
    parser.add_argument("--fasta", type=Path, required=True, help="the variants' genome (FASTA)")
    parser.add_argument("--vcf", type=Path, required=True, help="variants (VCF, .gz allowed)")
    parser.add_argument(
        "--out", type=Path, required=True, help="output .h5 (basenji_sad.py layout) or .tsv"
    )
    parser.add_argument("--rc", action="store_true", help="average with reverse complements")
    parser.add_argument(
        "--shifts",
        type=parse_shifts,
        default=[0],
        metavar="1,0,-1",
        help="average over these sequence shifts (default 0)",
    )
    parser.add_argument("--batch-size", type=int, default=8, help="variants per batch")
    parser.add_argument(
        "--device", default="auto", help="torch device: auto (CUDA when available), cpu, cuda:0"
    )
    parser.add_argument("--bf16", action="store_true", help="bfloat16 autocast (CUDA only)")


def run(args: argparse.Namespace) -> int:
    """Score the variants and write the output file."""
    from crossreg.genome import Genome
    from crossreg.io.vcf import read_vcf
    from crossreg.predict import load_head
    from crossreg.variants.sad import score_alleles, scored_alleles, write_sad

    model, config, head = load_head(args.model, args.genome, args.device)
    fasta = Genome(args.fasta)
    alleles = scored_alleles(read_vcf(args.vcf), fasta, source=str(args.vcf))
    log.info(
        "scoring %d alleles with the '%s' head (%d tracks) on %s%s",
        len(alleles),
        head,
        model.num_targets(head),
        next(model.parameters()).device,
        f" (rc={args.rc}, shifts={args.shifts})" if args.rc or args.shifts != [0] else "",
    )
    batches = score_alleles(
        model,
        alleles,
        fasta,
        head,
        batch_size=args.batch_size,
        rc=args.rc,
        shifts=args.shifts,
        bf16=args.bf16,
    )
    write_sad(
        args.out,
        alleles,
        batches,
        config.targets[head],
        attrs={
            "genome": head,
            "model": str(args.model),
            "rc": args.rc,
            "shifts": args.shifts,
            "gelu_form": config.gelu_form,
        },
    )
    print(f"SAD of {len(alleles)} alleles × {model.num_targets(head)} tracks in {args.out}")
    return 0
