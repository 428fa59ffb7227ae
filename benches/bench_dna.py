"""Side-by-side timings of crossreg's DNA hot paths against what users would otherwise use.

Run: ``.venv/bin/python benches/bench_dna.py`` (``RAYON_NUM_THREADS=1`` for one thread).
Every row is timed in the same run on the same 131,072-bp windows; "ceiling" is a plain
numpy copy of the same output size, the memory-bandwidth bound of the operation.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pyfaidx

import crossreg.dna as dna
import crossreg.signal as signal
from crossreg.genome import Genome

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # as a script, benches/ is first

from tests.data_reference import soft_clip
from tests.dna_reference import COMPLEMENT, ONE_HOT_TABLE

WINDOW = 131_072
# the tests' reference tables, as users would use them: numpy lookups and bytes.translate
LUT_F32 = ONE_HOT_TABLE
LUT = ONE_HOT_TABLE.astype(np.uint8)
COMPLEMENT_BYTES = COMPLEMENT.tobytes()


def best_seconds(fn: Callable[[], object], repeat: int = 7, min_time: float = 0.2) -> float:
    """Best time of one call over `repeat` rounds, each looping for at least `min_time`."""
    fn()
    best = float("inf")
    for _ in range(repeat):
        n, start = 0, time.perf_counter()
        while True:
            fn()
            n += 1
            elapsed = time.perf_counter() - start
            if elapsed >= min_time / repeat:
                break
        best = min(best, elapsed / n)
    return best


def report(title: str, out_bytes: int, rows: dict[str, Callable[[], object]]) -> None:
    """Time each row, print time, GB/s of output and the ratio to the first row."""
    times = {name: best_seconds(fn) for name, fn in rows.items()}
    baseline = next(iter(times.values()))
    print(f"\n{title}  (output {out_bytes / 1e6:.2f} MB)")
    print(f"  {'':34s} {'time':>10s} {'GB/s':>7s} {'vs first':>9s}")
    for name, t in times.items():
        print(f"  {name:34s} {t * 1e6:8.1f}us {out_bytes / t / 1e9:7.2f} {baseline / t:8.2f}x")


def main() -> None:
    rng = np.random.default_rng(0)
    codes = rng.choice(np.frombuffer(b"ACGTacgtN", np.uint8), size=WINDOW)
    threads = os.environ.get("RAYON_NUM_THREADS", str(os.cpu_count()))
    print(f"crossreg DNA benchmarks, {WINDOW:,}-bp windows, rayon threads: {threads}")

    out_u8 = np.empty((WINDOW, 4), np.uint8)
    src_u8 = np.ones((WINDOW, 4), np.uint8)
    # the same output from every way, checked before any is timed
    np.testing.assert_array_equal(np.take(LUT, codes, axis=0), dna.one_hot(codes, dtype=np.uint8))
    np.testing.assert_array_equal(LUT_F32[codes], dna.one_hot(codes, dtype=np.float32))
    report(
        "one-hot uint8",
        out_u8.nbytes,
        {
            "numpy np.take(LUT, codes, axis=0)": lambda: np.take(LUT, codes, axis=0),
            "numpy lookup table LUT[codes]": lambda: LUT[codes],
            "crossreg one_hot (new array)": lambda: dna.one_hot(codes, dtype=np.uint8),
            "crossreg one_hot (out=buffer)": lambda: dna.one_hot(codes, out=out_u8),
            "ceiling: numpy copy, same size": lambda: np.copyto(out_u8, src_u8),
        },
    )
    out_f32 = np.empty((WINDOW, 4), np.float32)
    src_f32 = np.ones((WINDOW, 4), np.float32)
    report(
        "one-hot float32",
        out_f32.nbytes,
        {
            "numpy np.take(LUT, codes, axis=0)": lambda: np.take(LUT_F32, codes, axis=0),
            "numpy lookup table LUT[codes]": lambda: LUT_F32[codes],
            "crossreg one_hot (out=buffer)": lambda: dna.one_hot(codes, out=out_f32),
            "ceiling: numpy copy, same size": lambda: np.copyto(out_f32, src_f32),
        },
    )
    seq = codes.tobytes()
    assert seq.translate(COMPLEMENT_BYTES)[::-1] == dna.reverse_complement(seq)
    report(
        "reverse complement of bytes",
        WINDOW,
        {
            "bytes.translate + [::-1]": lambda: seq.translate(COMPLEMENT_BYTES)[::-1],
            "crossreg reverse_complement": lambda: dna.reverse_complement(seq),
        },
    )
    hot = dna.one_hot(
        rng.choice(np.frombuffer(b"ACGT", np.uint8), size=(64, WINDOW)), dtype=np.uint8
    )
    np.testing.assert_array_equal(hot[:, ::-1, ::-1], dna.reverse_complement_one_hot(hot))
    report(
        "reverse complement of a one-hot batch (64 x 131072 x 4 uint8)",
        hot.nbytes,
        {
            "numpy x[:, ::-1, ::-1].copy()": lambda: hot[:, ::-1, ::-1].copy(),
            "crossreg reverse_complement_one_hot": lambda: dna.reverse_complement_one_hot(hot),
            "ceiling: numpy copy, same size": lambda: hot.copy(),
        },
    )
    targets = rng.gamma(1.0, 20.0, size=(896, 5313)).astype(np.float32)
    work = np.empty_like(targets)
    np.testing.assert_allclose(signal.soft_clip(targets, 32), soft_clip(targets, 32), rtol=1e-6)
    report(
        "soft clip of one human window of targets (896 x 5313 float32)",
        targets.nbytes,
        {
            "numpy min(x, t + sqrt(max(0, x - t)))": lambda: soft_clip(targets, 32),
            "crossreg soft_clip (out=buffer)": lambda: signal.soft_clip(targets, 32, out=work),
            "ceiling: numpy copy, same size": lambda: np.copyto(work, targets),
        },
    )

    with tempfile.TemporaryDirectory() as tmp:
        fasta = Path(tmp) / "bench.fa"
        chrom_len = 30_000_000
        bases = rng.choice(np.frombuffer(b"ACGTacgt", np.uint8), size=chrom_len)
        with open(fasta, "wb") as handle:
            handle.write(b">chr1\n")
            lines = bases[: chrom_len // 60 * 60].reshape(-1, 60)
            handle.write(np.hstack([lines, np.full((len(lines), 1), 10, np.uint8)]).tobytes())
        genome = Genome(fasta)
        faidx = pyfaidx.Fasta(str(fasta), sequence_always_upper=False, as_raw=True)
        starts = rng.integers(0, chrom_len - WINDOW - 60, size=64)
        chroms = ["chr1"] * len(starts)

        def pyfaidx_batch() -> np.ndarray:
            return np.stack(
                [
                    np.frombuffer(faidx["chr1"][int(s) : int(s) + WINDOW].encode(), np.uint8)
                    for s in starts
                ]
            )

        def pyfaidx_one_hot() -> np.ndarray:
            return np.take(LUT, pyfaidx_batch(), axis=0)

        np.testing.assert_array_equal(pyfaidx_batch(), genome.fetch_many(chroms, starts, WINDOW))
        np.testing.assert_array_equal(
            pyfaidx_one_hot(), genome.one_hot_many(chroms, starts, WINDOW, dtype=np.uint8)
        )
        report(
            "fetch 64 windows (uint8 codes)",
            64 * WINDOW,
            {
                "pyfaidx fetch + numpy frombuffer": pyfaidx_batch,
                "crossreg Genome.fetch_many": lambda: genome.fetch_many(chroms, starts, WINDOW),
            },
        )
        report(
            "fetch + one-hot 64 windows (uint8)",
            64 * WINDOW * 4,
            {
                "pyfaidx + numpy np.take lookup": pyfaidx_one_hot,
                "crossreg Genome.one_hot_many": lambda: genome.one_hot_many(
                    chroms, starts, WINDOW, dtype=np.uint8
                ),
            },
        )


if __name__ == "__main__":
    main()
