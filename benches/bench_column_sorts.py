"""Time evaluate's whole-column statistics (:func:`crossreg.evaluate.spill.column_metrics`,
all three) with the float16 targets sorted by numpy's float16 sorts (as before) and as
now (:func:`crossreg.evaluate.columns.sort_order`'s radix sort of their bits for ranks,
float32 for sorted columns), on the same spill, dense and sparse targets, at two split
sizes, each way the best of `--repeats` runs taken in turn; checks both give the same
bits.

    python benches/bench_column_sorts.py [--tracks 4] [--windows 400,1937] [--workers 1]
        [--repeats 2]

A human test split is 1,937 windows × 896 bins (1.74 M positions per track).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import numpy.typing as npt
from bench_evaluate_columns import ASSAYS, columns, spill_of

from crossreg.evaluate import columns as column_module
from crossreg.evaluate import spill as spill_module
from crossreg.evaluate.spill import ColumnOptions, ColumnSpill, column_metrics


def order_as_stored(values: npt.NDArray) -> npt.NDArray[np.intp]:
    """A column's sorting indices as before: numpy's argsort in its own dtype."""
    return np.argsort(values)


def sorted_as_stored(values: npt.ArrayLike) -> npt.NDArray[np.float64]:
    """A column sorted as before: in its own dtype (float16 targets), then float64."""
    return np.sort(np.asarray(values).ravel()).astype(np.float64)


def timed(
    spill: ColumnSpill, descriptions: list[str], workers: int, faster: bool
) -> tuple[float, dict[str, npt.NDArray]]:
    """Seconds and columns of one :func:`column_metrics` run, with the sorts of now
    (`faster`) or numpy's float16 ones."""
    options = ColumnOptions(specificity=True, rank=True, peaks=True)
    now = column_module.sort_order, spill_module.sorted_column
    if not faster:
        column_module.sort_order, spill_module.sorted_column = order_as_stored, sorted_as_stored
    try:
        start = time.perf_counter()
        result = column_metrics(spill, descriptions, options, workers=workers)
        return time.perf_counter() - start, result
    finally:
        column_module.sort_order, spill_module.sorted_column = now


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tracks", type=int, default=4)
    parser.add_argument("--windows", default="400,1937")
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()
    import scipy.stats  # noqa: F401  (the peak call's import, outside the timings)

    descriptions = [ASSAYS[t % len(ASSAYS)] for t in range(args.tracks)]
    print(f"{args.tracks} tracks, {args.workers} worker(s)")
    print("| positions | targets | float16 sorts: s | now: s | ratio |")
    print("| ---: | --- | ---: | ---: | ---: |")
    for windows in (int(w) for w in args.windows.split(",")):
        for sparse in (False, True):
            pred, target = columns(windows, args.tracks, sparse)
            with tempfile.TemporaryDirectory() as folder:
                spill = spill_of(Path(folder), pred, target)
                runs = [
                    timed(spill, descriptions, args.workers, faster)
                    for _ in range(args.repeats)
                    for faster in (False, True)
                ]
                spill.close()
            before, old = min(runs[0::2], key=lambda run: run[0])
            after, new = min(runs[1::2], key=lambda run: run[0])
            for name, values in old.items():
                np.testing.assert_array_equal(new[name], values, err_msg=name)
            print(
                f"| {pred.shape[0] * pred.shape[1]:,} | {'sparse' if sparse else 'dense'} | "
                f"{before:.2f} | {after:.2f} | {before / after:.2f}× |"
            )


if __name__ == "__main__":
    main()
