"""Time ``crossreg.variants.sad_percentiles.float16_percentiles``: the ``{stat}_pct`` table a SAD
``.h5`` ends with, over ``(alleles, tracks)`` float16 scores held in memory (a run reads
them from its ``.h5``; that read is not timed).

    python benches/bench_sad_percentiles.py [--rows 2000 100000] [--tracks 5313]
        [--repeats 1]
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from crossreg.variants.sad_blocks import BLOCK_BYTES
from crossreg.variants.sad_percentiles import float16_percentiles


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[2000, 100_000])
    parser.add_argument("--tracks", type=int, default=5313)
    parser.add_argument("--repeats", type=int, default=1)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    print(f"| alleles | tracks | seconds (best of {args.repeats}) |")
    print("|---|---|---|")
    for rows in args.rows:
        scores = (rng.standard_normal((rows, args.tracks), dtype=np.float32) * 0.1).astype(
            np.float16
        )
        best = float("inf")
        for _ in range(args.repeats):
            start = time.perf_counter()
            float16_percentiles(scores, rows, block_bytes=BLOCK_BYTES)
            best = min(best, time.perf_counter() - start)
        print(f"| {rows:,} | {args.tracks:,} | {best:.1f} |")


if __name__ == "__main__":
    main()
