"""``crossreg evaluate``: per-track test accuracy of a checkpoint on a dataset store."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

HELP = "per-track Pearson R and R² of a checkpoint on one split of a dataset store"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``crossreg evaluate``."""
    from crossreg.commands.predict import parse_shifts

    parser.add_argument("--model", type=Path, required=True, help="checkpoint directory")
    parser.add_argument("--data", type=Path, required=True, help="dataset store")
    parser.add_argument("--split", default="test", help="split to score (default test)")
    parser.add_argument("--out", type=Path, required=True, help="output directory")
    parser.add_argument("--genome", help="head to use (default: the dataset's genome)")
    parser.add_argument("--rc", action="store_true", help="average with reverse complements")
    parser.add_argument(
        "--shifts", type=parse_shifts, default=[0], help="shifts to average, e.g. 1,0,-1"
    )
    parser.add_argument("--batch-size", type=int, default=4)
    parser.add_argument("--device", default="auto")


def run(args: argparse.Namespace) -> int:
    """Write ``metrics.tsv`` (one row per track) and ``summary.json`` (means per assay)."""
    from crossreg.evaluate.accuracy import evaluate_store
    from crossreg.evaluate.table import assay_summary, write_metrics
    from crossreg.io.atomic import atomic_write

    table = evaluate_store(
        args.model,
        args.data,
        split=args.split,
        genome=args.genome,
        rc=args.rc,
        shifts=args.shifts,
        batch_size=args.batch_size,
        device=args.device,
    )
    args.out.mkdir(parents=True, exist_ok=True)
    write_metrics(args.out / "metrics.tsv", table)
    summary = assay_summary(table)
    with atomic_write(args.out / "summary.json") as handle:
        json.dump(
            {
                "split": args.split,
                "tracks": table.height,
                "mean_pearson_r": float(table["pearson_r"].mean()),
                "mean_r2": float(table["r2"].mean()),
                "by_assay": summary.to_dicts(),
            },
            handle,
            indent=1,
        )
    print(summary)
    return 0
