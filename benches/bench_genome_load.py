"""Time and peak memory of loading a FASTA into ``crossreg.genome.Genome``.

Writes a random FASTA (four chromosomes, 60-base lines) to a temporary folder, then loads
it in a fresh process per repeat and prints the load time and how far the load raised the
process's peak resident memory (``VmHWM`` after, less ``VmRSS`` before), beside the file's
size. Linux only (reads ``/proc/self/status``).

    python benches/bench_genome_load.py [--mbp 400] [--repeats 2]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

CHILD = """
import json, sys, time
from crossreg.genome import Genome

def status(key):
    for line in open("/proc/self/status"):
        if line.startswith(key + ":"):
            return int(line.split()[1]) * 1024

before = status("VmRSS")
start = time.perf_counter()
genome = Genome(sys.argv[1])
seconds = time.perf_counter() - start
print(json.dumps({"seconds": seconds, "peak_added": status("VmHWM") - before,
                  "bases": sum(genome.sizes.values())}))
"""


def write_fasta(path: Path, mbp: int) -> None:
    """Four chromosomes of `mbp` / 4 Mbp of random bases, 60 to a line."""
    rng = np.random.default_rng(0)
    per_chrom = mbp * 1_000_000 // 4 // 60 * 60
    with open(path, "wb") as handle:
        for c in range(4):
            handle.write(f">chr{c + 1}\n".encode())
            lines = rng.choice(np.frombuffer(b"ACGTacgtN", np.uint8), size=(per_chrom // 60, 60))
            newline = np.full((len(lines), 1), ord("\n"), np.uint8)
            handle.write(np.hstack([lines, newline]).tobytes())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mbp", type=int, default=400, help="genome size in Mbp")
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        fasta = Path(tmp) / "bench.fa"
        write_fasta(fasta, args.mbp)
        size = fasta.stat().st_size
        for i in range(args.repeats):  # the first run also writes the .fai index
            out = subprocess.run(
                [sys.executable, "-c", CHILD, str(fasta)], check=True, capture_output=True
            )
            r = json.loads(out.stdout)
            print(
                f"run {i + 1}: {r['bases']:,} bases from a {size / 2**20:.0f} MiB file in "
                f"{r['seconds']:.2f} s; peak memory +{r['peak_added'] / 2**20:.0f} MiB "
                f"({r['peak_added'] / size:.2f}x the file)"
            )


if __name__ == "__main__":
    main()
