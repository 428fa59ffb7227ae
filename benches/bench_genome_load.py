"""Time and peak memory of loading a FASTA into ``crossreg.genome.Genome``.

Writes a random FASTA (four chromosomes, 60-base lines) to a temporary folder, then loads
it in a fresh process per repeat and prints the load time and how far the load raised the
process's peak resident memory (``VmHWM`` after, less ``VmRSS`` before), beside the file's
size. Linux only (reads ``/proc/self/status``).

With ``--identity``, times instead what a run that records the FASTA's identity (sad, ism,
``predict --bigwig``, data) pays, each the fewest seconds (wall and CPU) of the repeats,
a fresh process each: the load alone (``hash_content=False``), the load and a separate
read that hashes the file (``content_identity``, as before), and the load that hashes the
bytes it read (``Genome.content_identity()``). Both identities are checked equal.

    python benches/bench_genome_load.py [--mbp 400 ...] [--repeats 2] [--identity]
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

IDENTITY_CHILD = """
import json, sys, time
from crossreg.genome import Genome
from crossreg.io.identity import content_identity

path, way = sys.argv[1], sys.argv[2]
wall, cpu = time.perf_counter(), time.process_time()
if way == "load":
    Genome(path, hash_content=False)
    found = None
elif way == "separate":
    Genome(path, hash_content=False)
    found = content_identity(path)
else:
    found = Genome(path).content_identity()
print(json.dumps({"wall": time.perf_counter() - wall, "cpu": time.process_time() - cpu,
                  "identity": found}))
"""
WAYS = {
    "load": "load alone",
    "separate": "load + separate hash read (before)",
    "folded": "load hashing its read (after)",
}


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


def time_load(fasta: Path, repeats: int) -> None:
    """Print each repeat's load time and peak memory."""
    size = fasta.stat().st_size
    for i in range(repeats):  # the first run also writes the .fai index
        out = subprocess.run(
            [sys.executable, "-c", CHILD, str(fasta)], check=True, capture_output=True
        )
        r = json.loads(out.stdout)
        print(
            f"run {i + 1}: {r['bases']:,} bases from a {size / 2**20:.0f} MiB file in "
            f"{r['seconds']:.2f} s; peak memory +{r['peak_added'] / 2**20:.0f} MiB "
            f"({r['peak_added'] / size:.2f}x the file)"
        )


def time_identity(fasta: Path, mbp: int, repeats: int) -> None:
    """Print a table row per way of taking the identity: fewest wall and CPU seconds."""
    best: dict[str, dict[str, float]] = {}
    identities = set()
    for _ in range(repeats):  # the ways interleaved, so that other jobs weigh on each alike
        for way in WAYS:
            out = subprocess.run(
                [sys.executable, "-c", IDENTITY_CHILD, str(fasta), way],
                check=True,
                capture_output=True,
            )
            r = json.loads(out.stdout)
            if r["identity"] is not None:
                identities.add(json.dumps(r["identity"], sort_keys=True))
            for key in ("wall", "cpu"):
                best.setdefault(way, {})[key] = min(best.get(way, {}).get(key, 1e9), r[key])
    if len(identities) != 1:
        raise AssertionError(f"the ways took different identities: {identities}")
    size = fasta.stat().st_size / 2**20
    for way, label in WAYS.items():
        wall, cpu = best[way]["wall"], best[way]["cpu"]
        ratio = best["separate"]["wall"] / wall
        print(f"| {mbp:,} | {size:,.0f} | {label} | {wall:.2f} | {cpu:.2f} | {ratio:.2f}x |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mbp", type=int, nargs="+", default=[400], help="genome sizes in Mbp")
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument(
        "--identity", action="store_true", help="time the FASTA's content identity instead"
    )
    args = parser.parse_args()
    if args.identity:
        print("| Mbp | MiB | way | wall s | CPU s | separate / this (wall) |")
        print("| ---: | ---: | --- | ---: | ---: | ---: |")
    for mbp in args.mbp:
        with tempfile.TemporaryDirectory() as tmp:
            fasta = Path(tmp) / "bench.fa"
            write_fasta(fasta, mbp)
            if args.identity:
                # the first load writes the .fai index
                subprocess.run(
                    [sys.executable, "-c", CHILD, str(fasta)], check=True, capture_output=True
                )
                time_identity(fasta, mbp, args.repeats)
            else:
                time_load(fasta, args.repeats)


if __name__ == "__main__":
    main()
