"""Time writing SAD score rows as text: the native formatter
(``crossreg._native.format_rows``, all cores, no GIL) beside the plain Python f-string
``.6g`` it replaces, on the same rows; checks both write the same bytes.

    python benches/bench_sad_tsv.py [--shapes 2000x5313,20000x1643,200000x16]
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from crossreg import _native


def python_rows(prefixes: list[str], values: np.ndarray) -> bytes:
    """What ``sad --out .tsv`` wrote before: one f-string per value."""
    rows = zip(prefixes, values.tolist(), strict=True)
    return "".join("\t".join([p, *(f"{x:.6g}" for x in row)]) + "\n" for p, row in rows).encode()


def scores(rows: int, tracks: int) -> np.ndarray:
    """SAD-like float16 scores (mostly small, some zero), as float32."""
    gen = np.random.default_rng(0)
    values = gen.standard_normal((rows, tracks), dtype=np.float32) * gen.exponential(0.05, tracks)
    values[gen.random((rows, tracks)) < 0.1] = 0.0
    return values.astype(np.float16).astype(np.float32)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shapes", default="2000x5313,20000x1643,200000x16")
    args = parser.parse_args()
    print("| alleles × tracks | Python f-strings s | native s | ratio | MB written |")
    print("| --- | ---: | ---: | ---: | ---: |")
    for shape in args.shapes.split(","):
        rows, tracks = (int(n) for n in shape.split("x"))
        values = scores(rows, tracks)
        prefixes = [f"rs{i}\tchr1\t{1000 + i}\tA\tG" for i in range(rows)]
        start = time.perf_counter()
        expected = python_rows(prefixes, values)
        python_s = time.perf_counter() - start
        start = time.perf_counter()
        written = _native.format_rows(prefixes, values)
        native_s = time.perf_counter() - start
        assert written == expected, "the two formatters differ"
        print(
            f"| {rows:,} × {tracks:,} | {python_s:.2f} | {native_s:.2f} | "
            f"{python_s / native_s:.1f}× | {len(written) / 1e6:.0f} |"
        )


if __name__ == "__main__":
    main()
