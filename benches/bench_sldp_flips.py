"""Time SLDP's sign flips (``crossreg.stats.sldp.regression.sign_flip``) per annotation:
the stage that grows with the number of annotations (one per track of a SAD file: 1,643
for the mouse head, 5,313 for the human one). Each annotation draws at least one batch
of 100,000 × chunks signs from one legacy RNG stream, as the reference does.

    python benches/bench_sldp_flips.py [--annotations 50] [--chunks 63] [--flips 1000000]
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from crossreg.stats.sldp.regression import sign_flip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--annotations", type=int, default=50)
    parser.add_argument("--chunks", type=int, default=63)
    parser.add_argument("--flips", type=int, default=1_000_000)
    args = parser.parse_args()
    gen = np.random.default_rng(0)
    annotations = [gen.standard_normal(args.chunks) for _ in range(args.annotations)]
    rng = np.random.RandomState(0)
    start = time.perf_counter()
    for q in annotations:
        sign_flip(q, args.flips, rng)
    seconds = time.perf_counter() - start
    print(
        f"{args.annotations} annotations × {args.chunks} chunks: {seconds:.1f} s, "
        f"{args.annotations / seconds:.1f} annotations/s"
    )


if __name__ == "__main__":
    main()
