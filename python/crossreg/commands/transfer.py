"""``crossreg transfer``: a head's predictions at a genome's gene TSSs against its tracks."""

from __future__ import annotations

import argparse
import json
import logging
from pathlib import Path

HELP = "compare a head's predictions (e.g. mouse) with a genome's measured tracks at gene TSSs"

log = logging.getLogger("crossreg")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``crossreg transfer``."""
    parser.add_argument("--model", type=Path, required=True, help="checkpoint directory")
    parser.add_argument(
        "--head", required=True, help="the head that predicts (e.g. mouse on a human store)"
    )
    parser.add_argument(
        "--data", type=Path, required=True, help="dataset store with the measured tracks"
    )
    parser.add_argument("--gtf", type=Path, required=True, help="genes of the store's genome")
    parser.add_argument("--split", default="test", help="windows to use (default test)")
    parser.add_argument("--out", type=Path, required=True, help="output directory")
    parser.add_argument("--batch-size", type=int, default=8, help="windows per batch")
    parser.add_argument("--device", default="auto", help="torch device: auto, cpu, cuda:0")


def run(args: argparse.Namespace) -> int:
    """Predict at the TSSs, pair tracks by description and write the table."""
    import numpy as np
    import polars as pl

    from crossreg.data.store import DataStore
    from crossreg.evaluate.transfer import predict_at, transfer_table, tss_bins
    from crossreg.io.atomic import atomic_write
    from crossreg.io.gtf import read_gtf
    from crossreg.predict import load_head

    model, config, head = load_head(args.model, args.head, args.device)
    store = DataStore(args.data)
    sites = tss_bins(store, args.split, read_gtf(args.gtf))
    if len(sites) < 3:
        raise ValueError(
            f"{args.gtf}: only {len(sites)} gene TSSs fall in the {args.split} windows of "
            f"{args.data}; is the GTF of the store's genome?"
        )
    log.info("%d TSSs in %s windows; predicting with the '%s' head", len(sites), args.split, head)
    predicted = predict_at(model, store, args.split, sites, head, batch_size=args.batch_size)
    targets = store.targets(args.split)
    measured = np.stack([targets[s.row, s.bin] for s in sites]).astype(np.float32)
    table = transfer_table(
        measured,
        predicted,
        store.table.identifiers,
        store.table.descriptions,
        [t.description for t in config.targets[head]],
    )
    args.out.mkdir(parents=True, exist_ok=True)
    with atomic_write(args.out / "transfer.tsv") as handle:
        handle.write(table.write_csv(separator="\t", float_precision=6))
    by_assay = (
        table.group_by("assay")
        .agg(
            pl.col("pearson_r").fill_nan(None).mean(),
            pl.col("pearson_r_normalised").fill_nan(None).mean(),
            pl.len().alias("tracks"),
        )
        .sort("assay")
    )
    summary = {
        "head": head,
        "store_genome": store.genome,
        "split": args.split,
        "tss": len(sites),
        "assays": {row.pop("assay"): row for row in by_assay.iter_rows(named=True)},
    }
    with atomic_write(args.out / "summary.json") as handle:
        json.dump(summary, handle, indent=1)
    for assay, row in summary["assays"].items():
        r, normalised = (
            "n/a" if v is None else f"{v:.3f}"
            for v in (row["pearson_r"], row["pearson_r_normalised"])
        )
        print(
            f"{head} head on {store.genome} {assay}: R {r}, mean-normalised {normalised} "
            f"({row['tracks']} tracks, {len(sites)} TSSs)"
        )
    return 0
