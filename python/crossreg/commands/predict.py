"""``crossreg predict``: tracks for FASTA records or BED regions from a checkpoint."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

HELP = "predict tracks for each FASTA record (or each BED region of a FASTA) with a checkpoint"

log = logging.getLogger("crossreg")


def parse_shifts(text: str) -> list[int]:
    """``"1,0,-1"`` → ``[1, 0, -1]``."""
    try:
        shifts = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"shifts are comma-separated whole numbers like 1,0,-1, got '{text}'"
        ) from None
    if not shifts:
        raise argparse.ArgumentTypeError("give at least one shift (0 for none)")
    return shifts


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``crossreg predict``."""
    parser.add_argument("--model", type=Path, required=True, help="checkpoint directory")
    parser.add_argument(
        "--genome", default=None, help="which head to use (required when the model has several)"
    )
    parser.add_argument("--fasta", type=Path, required=True, help="sequences (FASTA)")
    parser.add_argument(
        "--bed",
        type=Path,
        default=None,
        help="regions of the FASTA to predict, each centred in a window of the model's length",
    )
    parser.add_argument(
        "--out", type=Path, required=True, help="output .npy (N, bins, tracks) or .h5 with labels"
    )
    parser.add_argument(
        "--rc", action="store_true", help="average with reverse-complement predictions"
    )
    parser.add_argument(
        "--shifts",
        type=parse_shifts,
        default=[0],
        metavar="1,0,-1",
        help="average over these sequence shifts (default 0)",
    )
    parser.add_argument("--batch-size", type=int, default=4, help="sequences per batch")
    parser.add_argument(
        "--device", default="auto", help="torch device: auto (CUDA when available), cpu, cuda:0"
    )
    parser.add_argument("--bf16", action="store_true", help="bfloat16 autocast (CUDA only)")


def run(args: argparse.Namespace) -> int:
    """Predict and write the output file."""
    from crossreg.genome import Genome
    from crossreg.io.bed import read_bed
    from crossreg.predict import (
        load_head,
        predict_windows,
        record_windows,
        region_windows,
        write_predictions,
    )

    model, config, genome = load_head(args.model, args.genome, args.device)
    fasta = Genome(args.fasta)
    if args.bed is None:
        windows = record_windows(fasta, model.seq_length)
    else:
        windows = region_windows(read_bed(args.bed), fasta, model.seq_length, source=str(args.bed))
    log.info(
        "predicting %d windows of %d bp with the '%s' head on %s%s",
        len(windows),
        model.seq_length,
        genome,
        next(model.parameters()).device,
        f" (rc={args.rc}, shifts={args.shifts})" if args.rc or args.shifts != [0] else "",
    )
    batches = predict_windows(
        model,
        fasta,
        windows,
        genome,
        batch_size=args.batch_size,
        rc=args.rc,
        shifts=args.shifts,
        bf16=args.bf16,
    )
    write_predictions(
        args.out,
        batches,
        windows,
        (model.output_length(), model.num_targets(genome)),
        targets=config.targets[genome],
        attrs={
            "genome": genome,
            "model": str(args.model),
            "rc": args.rc,
            "shifts": args.shifts,
            "gelu_form": config.gelu_form,
            "bin_width": config.bin_width,
            "crop_bins": list(config.crop),
        },
    )
    log.info("wrote %s", args.out)
    return 0
