"""`crossreg data` as the number of tracks grows to the paper's 6,956: the input checks, the
whole build, and a build in shards (``--tracks i/n``) with its merge, per track.

A small genome (3.1 Mbp in five chromosomes, chrM among them) and a set of distinct
BigWigs (a value every 50 bp, 60% zeros, each of its own mean; a third lack chrM) are
written once; each track of a table of N rows names files of its own (hard links to the
distinct ones; every eleventh track has a replicate, every 33rd two), with Basenji's
columns and the paper's clip, scale and pooling per assay. Each command runs in a fresh
process; peak memory is that process's own ``VmHWM``. Usage::

    .venv/bin/python benches/bench_data_tracks.py [--tracks 500,2000,6956] [--shards 50]
        [--nofile 1024] [--memory-gb 8]
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pyBigWig
from random_fasta import write_random_fasta

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # as a script, benches/ is first
from tests.own_peak import CROSSREG, python_peak

SIZES = {"chr1": 1_200_000, "chr2": 900_000, "chr3": 600_000, "chrX": 400_000, "chrM": 16_569}
ASSAYS = [("DNASE", 32, 2, "mean"), ("CHIP:H3K4me3", 32, 2, "mean"), ("CAGE", 384, 1, "sum")]
STEP = 50

#: The input checks alone, in a process of their own.
CHECKS = (
    "import sys; from crossreg.data.checks import check_inputs; "
    "check_inputs(fasta=sys.argv[1], targets=sys.argv[2], gaps=sys.argv[3])"
)


def write_world(root: Path, distinct: int) -> None:
    """The genome, its gaps and `distinct` BigWigs under `root`."""
    rng = np.random.default_rng(0)
    write_random_fasta(root / "genome.fa", SIZES, rng)
    (root / "gaps.bed").write_text("chr1\t500000\t520000\n")
    (root / "distinct").mkdir()
    for k in range(distinct):
        bw = pyBigWig.open(str(root / "distinct" / f"d{k}.bw"), "w")
        chroms = [c for c in SIZES if c != "chrM" or k % 3]
        bw.addHeader([(c, SIZES[c]) for c in chroms])
        for chrom in chroms:
            n = SIZES[chrom] // STEP
            values = rng.gamma(0.3 + k % 7 * 0.2, 1.0 + k % 5, n) * (k + 1) / distinct
            values[rng.random(n) < 0.6] = 0
            bw.addEntries(chrom, 0, values=values.tolist(), span=STEP, step=STEP)
        bw.close()


def write_table(root: Path, n: int, distinct: int) -> Path:
    """A Basenji targets table of `n` tracks naming hard links of the distinct BigWigs."""
    folder = root / f"tracks{n}"
    folder.mkdir()
    lines = ["index\tgenome\tidentifier\tfile\tclip\tscale\tsum_stat\tdescription"]
    for i in range(n):
        files = []
        for r in range(1 + (i % 11 == 0) + (i % 33 == 0)):
            link = folder / f"ENCFF{i:06d}.r{r}.bw"
            os.link(root / "distinct" / f"d{(7 * i + r) % distinct}.bw", link)
            files.append(f"{folder.name}/{link.name}")
        assay, clip, scale, stat = ASSAYS[i % len(ASSAYS)]
        description = f"{assay}:cell {i % 97}, biol_rep{i % 3}, treated for {i % 5} hours"
        lines.append(
            f"{i}\t0\tENCFF{i:06d}\t{','.join(files)}\t{clip}\t{scale}\t{stat}\t{description}"
        )
    table = root / f"targets{n}.txt"
    table.write_text("\n".join(lines) + "\n")
    return table


def run(code: str, args: list[str], cwd: Path, nofile: int | None) -> tuple[float, float]:
    """Wall seconds and peak RSS (MiB) of a fresh process running Python `code` with
    `args`."""

    def limit() -> None:
        if nofile is not None:
            resource.setrlimit(resource.RLIMIT_NOFILE, (nofile, nofile))

    began = time.perf_counter()
    returncode, peak = python_peak(code, args, cwd, preexec_fn=limit)
    wall = time.perf_counter() - began
    if returncode != 0:
        raise RuntimeError(f"{' '.join(args[:6])} ... failed")
    return wall, peak / 2**20


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tracks", default="500,2000,6956", help="track counts")
    parser.add_argument("--distinct", type=int, default=293, help="distinct BigWigs")
    parser.add_argument("--shards", type=int, default=0, help="also build the largest in N")
    parser.add_argument("--nofile", type=int, default=None, help="ulimit -n of every command")
    parser.add_argument("--memory-gb", default="8", help="--memory-gb of the builds")
    parser.add_argument("--threads", default="2")
    opts = parser.parse_args()
    counts = [int(n) for n in opts.tracks.split(",")]
    python = [CROSSREG, "-q"]
    with tempfile.TemporaryDirectory(prefix="bench-data-tracks-") as tmp:
        root = Path(tmp)
        write_world(root, opts.distinct)
        fasta, gaps = str(root / "genome.fa"), str(root / "gaps.bed")
        print("tracks\tstep\twall_s\tms_per_track\tpeak_rss_mib")
        for n in counts:
            table = str(write_table(root, n, opts.distinct))
            build = [*python, "data", "--genome", "h", "--fasta", fasta, "--targets", table]
            build += ["--gaps", gaps, "--threads", opts.threads, "--memory-gb", opts.memory_gb]
            steps = {
                "checks": [CHECKS, fasta, table, gaps],
                "build": [*build, "--out", str(root / f"store{n}")],
            }
            if opts.shards and n == max(counts):
                for i in range(opts.shards):
                    out = str(root / f"shards{n}" / f"s{i}")
                    steps[f"shard {i}/{opts.shards}"] = [
                        *build,
                        "--out",
                        out,
                        "--tracks",
                        f"{i}/{opts.shards}",
                    ]
                shards = [str(root / f"shards{n}" / f"s{i}") for i in range(opts.shards)]
                steps["merge"] = [*python, "data-merge", "--out", str(root / f"merged{n}"), *shards]
            total_shards, peak_shards = 0.0, 0.0
            for step, args in steps.items():
                wall, peak = run(args[0], args[1:], root, opts.nofile)
                if step.startswith("shard "):
                    total_shards, peak_shards = total_shards + wall, max(peak_shards, peak)
                    continue
                print(f"{n}\t{step}\t{wall:.1f}\t{1e3 * wall / n:.2f}\t{peak:.0f}", flush=True)
            if total_shards:
                print(
                    f"{n}\t{opts.shards} shards, one after another\t{total_shards:.1f}\t"
                    f"{1e3 * total_shards / n:.2f}\t{peak_shards:.0f}",
                    flush=True,
                )
            if opts.shards and n == max(counts):
                same = all(
                    (root / f"merged{n}" / name).read_bytes()
                    == (root / f"store{n}" / name).read_bytes()
                    for name in ("targets.npy", "dataset.json")
                )
                print(f"{n}\tmerged == one build\t{same}", flush=True)
            os.unlink(table)


if __name__ == "__main__":
    main()
