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

With ``--compressed``, times instead loading the same FASTA plain, gzipped (one member)
and bgzipped (BGZF), then fetching the same 500 windows of 131,072 bp from each, beside
pyfaidx fetching them from the bgzip file (its ``.fai`` and ``.gzi`` built beforehand; it
reads bgzip through Biopython): the fewest seconds of the repeats, a fresh process each,
and the peak memory each load added (before the fetches). The windows' bytes are checked
equal across the ways.

    python benches/bench_genome_load.py [--mbp 400 ...] [--repeats 2] [--identity | --compressed]
"""

from __future__ import annotations

import argparse
import gzip
import json
import struct
import subprocess
import sys
import tempfile
import zlib
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
COMPRESSED_CHILD = """
import hashlib, json, sys, time
import numpy as np

def status(key):
    for line in open("/proc/self/status"):
        if line.startswith(key + ":"):
            return int(line.split()[1]) * 1024

path, way, windows = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
if way == "pyfaidx":
    import pyfaidx, Bio.bgzf
else:
    from crossreg.genome import Genome
before = status("VmRSS")
start = time.perf_counter()
if way == "pyfaidx":
    fasta = pyfaidx.Fasta(path, sequence_always_upper=False, as_raw=True)
    fetch = lambda chrom, a, b: fasta[chrom][a:b].encode()
else:
    genome = Genome(path)
    fetch = genome.fetch
loaded = time.perf_counter()
peak_added = status("VmHWM") - before
digest = hashlib.sha256()
for chrom, a, b in windows:
    digest.update(fetch(chrom, a, b))
print(json.dumps({"load": loaded - start, "fetch": time.perf_counter() - loaded,
                  "peak_added": peak_added, "windows": digest.hexdigest()}))
"""
#: way: (label, the file it reads)
COMPRESSED_WAYS = {
    "plain": ("crossreg, plain FASTA", "bench.fa"),
    "gzip": ("crossreg, gzip (one member)", "bench.fa.gz"),
    "bgzf": ("crossreg, bgzip", "bench.fa.bgz"),
    "pyfaidx": ("pyfaidx, bgzip", "bench.fa.bgz"),
}

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


def write_bgzf(source: Path, path: Path, block: int = 65_280) -> None:
    """`source` compressed as bgzip writes it: BGZF blocks of `block` bytes at zlib's level
    6, then the end-of-file block."""
    header = b"\x1f\x8b\x08\x04\x00\x00\x00\x00\x00\xff\x06\x00BC\x02\x00"
    with open(source, "rb") as src, open(path, "wb") as out:
        while chunk := src.read(block):
            packer = zlib.compressobj(6, zlib.DEFLATED, -15)
            body = packer.compress(chunk) + packer.flush()
            out.write(header + struct.pack("<H", len(header) + 2 + len(body) + 8 - 1) + body)
            out.write(struct.pack("<II", zlib.crc32(chunk), len(chunk)))
        out.write(bytes.fromhex("1f8b08040000000000ff0600424302001b0003000000000000000000"))


def random_windows(fasta: Path, count: int = 500, length: int = 131_072) -> list:
    """`count` windows of `length` bp inside the chromosomes of `fasta`'s index."""
    rng = np.random.default_rng(1)
    sizes = [line.split("\t")[:2] for line in Path(f"{fasta}.fai").read_text().splitlines()]
    picks = rng.integers(0, len(sizes), count)
    return [
        (sizes[i][0], start := int(rng.integers(0, int(sizes[i][1]) - length)), start + length)
        for i in picks
    ]


def time_compressed(folder: Path, mbp: int, repeats: int) -> None:
    """Print a table row per way of reading the FASTA: fewest load and fetch seconds."""
    plain = folder / "bench.fa"
    with open(plain, "rb") as src, gzip.open(folder / "bench.fa.gz", "wb", 6) as packed:
        while chunk := src.read(1 << 24):
            packed.write(chunk)
    write_bgzf(plain, folder / "bench.fa.bgz")
    subprocess.run([sys.executable, "-c", CHILD, str(plain)], check=True, capture_output=True)
    windows = json.dumps(random_windows(plain))
    ways = dict(COMPRESSED_WAYS)
    # pyfaidx's first open writes its .fai and .gzi: not timed
    first = subprocess.run(
        [sys.executable, "-c", COMPRESSED_CHILD, str(folder / "bench.fa.bgz"), "pyfaidx", "[]"],
        capture_output=True,
        text=True,
    )
    if first.returncode != 0:
        del ways["pyfaidx"]
        reason = first.stderr.strip().splitlines()[-1] if first.stderr.strip() else "failed"
        print(
            f"pyfaidx row left out ({reason}): pyfaidx reads bgzip through Biopython "
            "(pip install pyfaidx biopython)",
            file=sys.stderr,
        )
    best: dict[str, dict[str, float]] = {}
    fetched = set()
    for _ in range(repeats):  # the ways interleaved, so that other jobs weigh on each alike
        for way, (_, name) in ways.items():
            out = subprocess.run(
                [sys.executable, "-c", COMPRESSED_CHILD, str(folder / name), way, windows],
                check=True,
                capture_output=True,
            )
            r = json.loads(out.stdout)
            fetched.add(r["windows"])
            for key in ("load", "fetch", "peak_added"):
                best.setdefault(way, {})[key] = min(best.get(way, {}).get(key, 1e18), r[key])
    if len(fetched) != 1:
        raise AssertionError(f"the ways fetched different windows: {fetched}")
    text = plain.stat().st_size
    for way, (label, name) in ways.items():
        r = best[way]
        stored = (folder / name).stat().st_size
        print(
            f"| {mbp:,} | {label} | {stored / 2**20:,.0f} | {r['load']:.2f} | "
            f"{best['plain']['load'] / r['load']:.2f}x | {r['fetch']:.2f} | "
            f"{r['peak_added'] / text:.2f}x |"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mbp", type=int, nargs="+", default=[400], help="genome sizes in Mbp")
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument(
        "--identity", action="store_true", help="time the FASTA's content identity instead"
    )
    parser.add_argument(
        "--compressed", action="store_true", help="time plain, gzip and bgzip FASTAs instead"
    )
    args = parser.parse_args()
    if args.identity:
        print("| Mbp | MiB | way | wall s | CPU s | separate / this (wall) |")
        print("| ---: | ---: | --- | ---: | ---: | ---: |")
    if args.compressed:
        print(
            "| Mbp | way | file MiB | load s | plain / this (load) | 500 windows s | "
            "peak memory added / text |"
        )
        print("| ---: | --- | ---: | ---: | ---: | ---: | ---: |")
    for mbp in args.mbp:
        with tempfile.TemporaryDirectory() as tmp:
            fasta = Path(tmp) / "bench.fa"
            write_fasta(fasta, mbp)
            if args.compressed:
                time_compressed(Path(tmp), mbp, args.repeats)
            elif args.identity:
                # the first load writes the .fai index
                subprocess.run(
                    [sys.executable, "-c", CHILD, str(fasta)], check=True, capture_output=True
                )
                time_identity(fasta, mbp, args.repeats)
            else:
                time_load(fasta, args.repeats)


if __name__ == "__main__":
    main()
