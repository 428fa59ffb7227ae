"""Time and peak memory of ``crossreg denovo``'s statistics (``crossreg.stats.denovo_report.
run_tests``: per-track tests, principal components, out-of-fold risk scores) on random SAD
of `--variants` de novo variants × `--tracks` tracks, float16-rounded as ``crossreg sad``
stores them and held as float32 as ``read_sad`` returns them, half of them cases, about
`--per-person` variants to a person.

    python benches/bench_denovo.py [--variants 50000] [--tracks 5313] [--out DIR]

It prints the resident memory with the table made, the peak (``VmHWM``) and the seconds the
statistics took; with `--out` it writes the tables as ``crossreg denovo`` does, to compare
two versions byte for byte.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

from crossreg.stats.denovo_report import DenovoData, run_tests, write_report

ROWS = 4096  # rows of the table drawn at a time, so making it holds no second copy


def _status_kib(field: str) -> int:
    """A field of ``/proc/self/status`` in KiB (``VmRSS``, ``VmHWM``)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1])
    raise KeyError(field)


def make_data(variants: int, tracks: int, per_person: int, seed: int = 0) -> DenovoData:
    """Random float16-rounded SAD, cases first, `per_person` variants to each person."""
    rng = np.random.default_rng(seed)
    values = np.empty((variants, tracks), dtype=np.float32)
    for start in range(0, variants, ROWS):
        block = rng.standard_normal((min(ROWS, variants - start), tracks), dtype=np.float32)
        values[start : start + len(block)] = (block * 0.01).astype(np.float16)
    is_case = np.arange(variants) < variants // 2
    people = [
        f"{'case' if case else 'control'}{i // per_person}" for i, case in enumerate(is_case)
    ]
    sites = [("chr1", str(i + 1), "A", "C") for i in range(variants)]
    return DenovoData(
        individuals=people,
        is_case=is_case,
        labels=[f"dn{i}" for i in range(variants)],
        sites=sites,
        identifiers=[f"t{k}" for k in range(tracks)],
        descriptions=[f"CAGE:cell{k}" for k in range(tracks)],
        values=values,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--variants", type=int, default=50_000)
    parser.add_argument("--tracks", type=int, default=5313)
    parser.add_argument("--per-person", type=int, default=65)
    parser.add_argument("--components", type=int, default=10)
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--out", type=Path, help="write the tables here")
    args = parser.parse_args()
    data = make_data(args.variants, args.tracks, args.per_person)
    made = _status_kib("VmRSS")
    start = time.perf_counter()
    report = run_tests(data, components=args.components, folds=args.folds)
    seconds = time.perf_counter() - start
    peak = _status_kib("VmHWM")
    if args.out:
        write_report(args.out, report)
    gib = 1024**2
    print(
        f"{args.variants:,} variants × {args.tracks:,} tracks (float32 table "
        f"{data.values.nbytes / 1024**3:.2f} GiB): statistics {seconds:.1f} s; RSS with the "
        f"table {made / gib:.2f} GiB, peak {peak / gib:.2f} GiB"
    )


if __name__ == "__main__":
    main()
