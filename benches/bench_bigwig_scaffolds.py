"""BigWig → targets on a scaffold-level assembly: windows on thousands of chromosomes of a
BigWig naming hundreds of thousands.

Writes one BigWig (pyBigWig) of ``--names`` scaffolds of 2,000 bp, each covered by a
1,000-bp record, and times one track's targets (`compute_targets`'s native call, one
thread) for one 1,024-bp window on each of the last ``--windows`` scaffolds; best of
``--repeats``. The work per window is tiny, so the time is what finding each window's
chromosome in the file costs.

    python benches/bench_bigwig_scaffolds.py [--names 5000,50000,200000] [--windows 5000]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import pyBigWig

from crossreg import _native


def write_scaffolds(path: Path, n: int) -> list[str]:
    """A BigWig of `n` scaffolds of 2,000 bp, each with the value 1 on its first 1,000 bp."""
    names = [f"scaffold_{i}" for i in range(n)]
    bw = pyBigWig.open(str(path), "w")
    bw.addHeader([(name, 2000) for name in names])
    bw.addEntries(names, [0] * n, ends=[1000] * n, values=[1.0] * n)
    bw.close()
    return names


def time_targets(path: Path, chroms: list[str], repeats: int) -> float:
    """Best time of one track's targets for a window of 8 bins of 128 bp on each of `chroms`."""
    n = len(chroms)
    spec = {"files": [str(path)], "sum_stat": "sum", "clip": np.inf, "clip_soft": np.inf}
    spec["scale"] = 1.0
    out = np.zeros((n, 8, 1), np.uint16)
    ids, starts = np.arange(n, dtype=np.uint32), np.zeros(n, np.uint64)
    best = np.inf
    for _ in range(repeats):
        start = time.perf_counter()
        _native.bigwig_targets([spec], chroms, ids, starts, 128, None, 0.25, out, 1)
        best = min(best, time.perf_counter() - start)
    # 7 full bins and one of 104 covered bases per window
    assert (out.view(np.float16)[:, :7] == 128).all() and (out.view(np.float16)[:, 7] == 104).all()
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--names", default="5000,50000,200000", help="scaffold counts")
    parser.add_argument("--windows", type=int, default=5000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        for n in (int(x) for x in args.names.split(",")):
            path = Path(tmp) / f"s{n}.bw"
            names = write_scaffolds(path, n)
            chroms = names[-min(args.windows, n) :]
            seconds = time_targets(path, chroms, args.repeats)
            print(f"{n:,} names, windows on {len(chroms):,}: {seconds:.3f} s")


if __name__ == "__main__":
    main()
