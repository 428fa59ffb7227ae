"""Time ``crossreg evaluate --specificity --rank --peaks``'s whole-column statistics
(:func:`crossreg.evaluate.spill.column_metrics`) on one thread and on every usable core,
on the same spilled columns, dense (every bin covered) and sparse (most bins 0, so most
ranks are ties) targets; checks both give the same bits.

    python benches/bench_evaluate_columns.py [--tracks 16] [--windows 1937] [--workers N]

A human test split is 1,937 windows × 896 bins (1.74 M positions per track).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from crossreg.devices import usable_cores
from crossreg.evaluate.spill import ColumnOptions, ColumnSpill, column_metrics

BINS = 896
ASSAYS = ("DNASE:cell", "CHIP:H3K27ac:cell", "CAGE:cell", "ATAC:cell")


def columns(windows: int, tracks: int, sparse: bool) -> tuple[np.ndarray, np.ndarray]:
    """Predictions (float32) and targets (float16) ``(windows, bins, tracks)`` that
    correlate; sparse targets are 0 in nine bins of ten."""
    gen = np.random.default_rng(0)
    signal = gen.gamma(0.5, 2.0, (windows, BINS, tracks)).astype(np.float32)
    target = signal + gen.gamma(0.5, 1.0, signal.shape).astype(np.float32)
    if sparse:
        target[gen.random(signal.shape) < 0.9] = 0.0
    return signal, target.astype(np.float16)


def spill_of(folder: Path, pred: np.ndarray, target: np.ndarray) -> ColumnSpill:
    """`pred` and `target` written to a spill in `folder`, 64 windows at a time."""
    windows, _, tracks = pred.shape
    spill = ColumnSpill(folder, windows, BINS, tracks, target.dtype)
    for start in range(0, windows, 64):
        rows = list(range(start, min(start + 64, windows)))
        spill.add(rows, torch.from_numpy(pred[rows]), target[rows])
    return spill


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tracks", type=int, default=16)
    parser.add_argument("--windows", type=int, default=1937)
    parser.add_argument("--workers", type=int, default=usable_cores())
    args = parser.parse_args()
    descriptions = [ASSAYS[t % len(ASSAYS)] for t in range(args.tracks)]
    options = ColumnOptions(specificity=True, rank=True, peaks=True)
    print(f"{args.tracks} tracks × {args.windows * BINS:,} positions, {args.workers} workers")
    print("| targets | 1 thread s | s per track | workers s | ratio |")
    print("| --- | ---: | ---: | ---: | ---: |")
    for sparse in (False, True):
        pred, target = columns(args.windows, args.tracks, sparse)
        with tempfile.TemporaryDirectory() as folder:
            spill = spill_of(Path(folder), pred, target)
            times, results = [], []
            for workers in (1, args.workers):
                start = time.perf_counter()
                results.append(column_metrics(spill, descriptions, options, workers=workers))
                times.append(time.perf_counter() - start)
            spill.close()
        for name, values in results[0].items():
            np.testing.assert_array_equal(results[1][name], values, err_msg=name)
        print(
            f"| {'sparse' if sparse else 'dense'} | {times[0]:.1f} | "
            f"{times[0] / args.tracks:.2f} | {times[1]:.1f} | {times[0] / times[1]:.2f}× |"
        )


if __name__ == "__main__":
    main()
