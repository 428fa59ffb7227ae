"""Small generated inputs for dataset tests: a FASTA, BigWigs and a targets table."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pyBigWig


def write_fasta(path: Path, seqs: Mapping[str, str], width: int = 60) -> Path:
    """Write `seqs` as a FASTA wrapped at `width`."""
    with open(path, "w") as handle:
        for name, seq in seqs.items():
            handle.write(f">{name}\n")
            for i in range(0, len(seq), width):
                handle.write(seq[i : i + width] + "\n")
    return path


def random_genome(sizes: Mapping[str, int], seed: int, n_runs: Sequence = ()) -> dict[str, str]:
    """Random ACGT (some lowercase) with N runs ``(chrom, start, end)`` planted."""
    rng = np.random.default_rng(seed)
    out = {}
    for name, size in sizes.items():
        codes = np.frombuffer(b"ACGTacgt", dtype=np.uint8)[rng.integers(0, 8, size)].copy()
        for chrom, s, e in n_runs:
            if chrom == name:
                codes[s:e] = ord("N")
        out[name] = codes.tobytes().decode()
    return out


def write_bigwig(path: Path, sizes: Mapping[str, int], entries: Sequence) -> Path:
    """Write a BigWig with header `sizes` and bedGraph `entries` ``(chrom, start, end, value)``
    (sorted by the caller's chromosome order, then start)."""
    bw = pyBigWig.open(str(path), "w")
    bw.addHeader(list(sizes.items()))
    order = {c: i for i, c in enumerate(sizes)}
    entries = sorted(entries, key=lambda e: (order[e[0]], e[1]))
    if entries:
        bw.addEntries(
            [e[0] for e in entries],
            [int(e[1]) for e in entries],
            ends=[int(e[2]) for e in entries],
            values=[float(e[3]) for e in entries],
        )
    bw.close()
    return path


def random_bigwig(path: Path, sizes: Mapping[str, int], seed: int, density: float = 0.5) -> Path:
    """A BigWig of random intervals (1-300 bp) covering about `density` of each chromosome,
    values mostly positive with some negatives and large outliers; the rest is missing."""
    rng = np.random.default_rng(seed)
    entries = []
    for chrom, size in sizes.items():
        pos = 0
        while pos < size:
            length = int(rng.integers(1, 300))
            end = min(pos + length, size)
            if rng.random() < density:
                value = float(rng.gamma(1.0, 3.0))
                if rng.random() < 0.05:
                    value = -value
                if rng.random() < 0.02:
                    value *= 200
                entries.append((chrom, pos, end, value))
            pos = end
    return write_bigwig(path, sizes, entries)


def write_table(path: Path, rows: Sequence[Mapping[str, object]], clip_soft: bool = False) -> Path:
    """A targets table with columns index identifier file clip [clip_soft] scale sum_stat
    description."""
    cols = ["index", "identifier", "file", "clip", *(["clip_soft"] if clip_soft else [])]
    cols += ["scale", "sum_stat", "description"]
    with open(path, "w") as handle:
        handle.write("\t".join(cols) + "\n")
        for i, row in enumerate(rows):
            values = {"index": i, "description": f"DNASE:t{i}", **row}
            handle.write("\t".join(str(values[c]) for c in cols) + "\n")
    return path


SMALL_SIZES = {"chr1": 40_000, "chr2": 26_000}


def small_inputs(root: Path) -> dict[str, Path]:
    """A two-chromosome genome with an N run, a gap, a blacklist, an unmappable stretch,
    split regions, three random BigWigs and a four-track table (one with replicates)."""
    root.mkdir(parents=True, exist_ok=True)
    seqs = random_genome(SMALL_SIZES, seed=7, n_runs=[("chr1", 20_000, 22_000)])
    paths = {"fasta": write_fasta(root / "genome.fa", seqs)}
    for i in range(3):
        random_bigwig(root / f"r{i}.bw", SMALL_SIZES, seed=10 + i)
    rows = [
        {"identifier": "dnase", "file": "r0.bw", "clip": 32, "scale": 2, "sum_stat": "mean"},
        {"identifier": "cage", "file": "r1.bw,r2.bw", "clip": 384, "scale": 1, "sum_stat": "sum"},
        {"identifier": "chip", "file": "r2.bw", "clip": 16, "scale": 2, "sum_stat": "mean"},
        {"identifier": "atac", "file": "r0.bw", "clip": 64, "scale": 1, "sum_stat": "sum_sqrt"},
    ]
    paths["targets"] = write_table(root / "targets.txt", rows)
    beds = {
        "gaps": "chr2\t10000\t10500\n",
        "blacklist": "chr1\t5000\t5300\nchrM\t0\t10\n",
        "unmappable": "chr1\t30000\t34000\n",
        "regions": "chr1\t0\t20000\ttrain\nchr1\t20000\t40000\tvalid\nchr2\t0\t26000\ttest\n",
    }
    for name, text in beds.items():
        (root / f"{name}.bed").write_text(text)
        paths[name] = root / f"{name}.bed"
    return paths
