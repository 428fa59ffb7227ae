"""`crossreg data --memory-gb`: the build's peak resident memory against its budget.

A 10-Mbp genome (chr1-3 and chrM) is tiled as ``--seq-length 8192 --pool-width 8
--stride 1021 --crop 64`` (9,780 windows of 896 bins, 8.8 M bins: a float32 track is
35 MB and every bin's edges lie apart from its neighbours', as the paper's stride leaves
them); its tracks are hard links of four BigWigs (a value every 50 bp, half of them 0; two
lack chrM), with a blacklist. Each build runs in a fresh process; its peak is its own
``VmHWM``, printed beside the budget and what
:class:`crossreg.data.budget.Footprint` counts for it. ``w``: the build warned that fewer
threads ran than asked or that the budget is below one track. ``--layout`` adds rows of
replicate tracks (each the average of 3 files) and of ``max`` pooling; ``--shards N`` a
build of the default tracks in N shards and their ``data-merge``. Usage::

    .venv/bin/python benches/bench_data_memory.py [--threads 1,2,4,8]
        [--budgets 0.2,0.5,1,2] [--tracks 48] [--layouts] [--shards 4]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

import numpy as np
import pyBigWig
from random_fasta import write_random_fasta

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # as a script, benches/ is first
from tests.own_peak import crossreg_peak

SIZES = {"chr1": 4_000_000, "chr2": 3_000_000, "chr3": 2_983_431, "chrM": 16_569}
LAYOUT = ["--seq-length", "8192", "--pool-width", "8", "--stride", "1021", "--crop", "64"]
MIB = 2**20
WARNED = ("threads run", "is below the")


def write_world(root: Path) -> None:
    """The genome, a blacklist and four BigWigs under `root`."""
    rng = np.random.default_rng(0)
    write_random_fasta(root / "genome.fa", SIZES, rng)
    (root / "blacklist.bed").write_text("chr1\t100000\t140000\nchr2\t2000000\t2010000\n")
    for k in range(4):
        bw = pyBigWig.open(str(root / f"d{k}.bw"), "w")
        chroms = [c for c in SIZES if c != "chrM" or k % 2]
        bw.addHeader([(c, SIZES[c]) for c in chroms])
        for chrom in chroms:
            n = SIZES[chrom] // 50
            values = rng.gamma(0.5, 2.0, n) * (rng.random(n) < 0.5)
            bw.addEntries(chrom, 0, values=values.tolist(), span=50, step=50)
        bw.close()


def write_table(root: Path, name: str, tracks: int, replicates: int, stat: str) -> Path:
    """A targets table of `tracks` rows, each naming `replicates` of the four files
    (through hard links of its own, so that no two tracks share a path)."""
    links = root / f"links-{name}"
    links.mkdir()
    rows = ["index\tgenome\tidentifier\tfile\tclip\tscale\tsum_stat\tdescription"]
    for i in range(tracks):
        files = []
        for r in range(replicates):
            link = links / f"t{i}r{r}.bw"
            os.link(root / f"d{(i + r) % 4}.bw", link)
            files.append(str(link))
        rows.append(f"{i}\t0\tt{i}\t{','.join(files)}\t32\t2\t{stat}\ttrack {i}")
    path = root / f"targets-{name}.txt"
    path.write_text("\n".join(rows) + "\n")
    return path


def peak_of(args: list[str], cwd: Path) -> tuple[float, bool]:
    """Run ``crossreg`` with `args` in a fresh process: its peak MiB and whether it warned
    about the budget."""
    log = cwd / "log.txt"
    with open(log, "wb") as err:
        returncode, peak = crossreg_peak(args, cwd, err)
    said = log.read_text()
    if returncode != 0:
        sys.exit(f"crossreg {' '.join(args)} failed:\n{said}")
    return peak / 2**20, any(w in said for w in WARNED)


def window_chroms() -> list[str]:
    """The chromosome of each window the layout tiles (none holds an N)."""
    chroms = []
    for chrom, size in SIZES.items():
        chroms += [chrom] * max(0, (size - 8192) // 1021 + 1)
    return chroms


def counted(budget_gb: float, threads: int, tracks: int) -> float:
    """What :mod:`crossreg.data.budget` counts for a build of `tracks` tracks on `threads`
    threads within `budget_gb` GiB over this bench's windows, in MiB."""
    from crossreg.data.budget import GIB, Footprint, threads_within, tracks_per_chunk

    fp = Footprint.of(window_chroms(), 896, sum(SIZES.values()))
    budget = int(budget_gb * GIB)
    busy = threads_within(fp, threads, budget)
    chunk = tracks_per_chunk(fp, tracks, busy, budget)
    return fp.peak(chunk, min(busy, chunk), busy) / MIB


def build(root: Path, table: Path, threads: int, budget: float, extra: list[str]) -> tuple:
    """Peak MiB and warning of one build of `table` into a fresh store."""
    out = root / "store"
    args = ["-q", "data", "--fasta", "genome.fa", "--targets", str(table), "--genome", "g"]
    args += [*LAYOUT, "--blacklist", "blacklist.bed", "--threads", str(threads)]
    args += ["--memory-gb", str(budget), "--out", str(out), "--overwrite", *extra]
    return peak_of(args, root)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--threads", default="1,2,4,8")
    parser.add_argument("--budgets", default="0.2,0.5,1,2")
    parser.add_argument("--tracks", type=int, default=48)
    parser.add_argument("--layouts", action="store_true", help="replicates and max pooling")
    parser.add_argument("--shards", type=int, default=0, help="shards of the 0.5 GiB build")
    options = parser.parse_args()
    threads = [int(t) for t in options.threads.split(",")]
    budgets = [float(b) for b in options.budgets.split(",")]
    with tempfile.TemporaryDirectory() as scratch:
        root = Path(scratch)
        write_world(root)
        tables = {"mean": write_table(root, "mean", options.tracks, 1, "mean")}
        if options.layouts:
            tables["3 replicates"] = write_table(root, "rep", options.tracks, 3, "mean")
            tables["max"] = write_table(root, "max", options.tracks, 1, "max")
        windows = len(window_chroms())
        print(f"{options.tracks} tracks, {windows:,} windows x 896 bins (w: warned)\n")
        print("| layout | threads | budget (GiB) | counted (MiB) | peak (MiB) | peak / budget |")
        print("|---|--:|--:|--:|--:|--:|")
        for name, table in tables.items():
            for t in threads:
                for b in budgets if name == "mean" else budgets[1:3]:
                    peak, warned = build(root, table, t, b, [])
                    print(
                        f"| {name} | {t} | {b:g} | {counted(b, t, options.tracks):,.0f} | "
                        f"{peak:,.0f}{' w' if warned else ''} | {peak / (b * 1024):.2f} |"
                    )
        if options.shards:
            n, outs = options.shards, []
            print()
            for i in range(n):
                extra = ["--tracks", f"{i}/{n}"]
                out = root / f"shard{i}"
                args = ["-q", "data", "--fasta", "genome.fa", "--targets", str(tables["mean"])]
                args += ["--genome", "g", *LAYOUT, "--blacklist", "blacklist.bed"]
                args += ["--threads", "2", "--memory-gb", "0.5", "--out", str(out), *extra]
                peak, warned = peak_of(args, root)
                outs.append(str(out))
                print(f"shard {i}/{n}, 2 threads, 0.5 GiB: {peak:,.0f} MiB{' w' if warned else ''}")
            peak, _ = peak_of(["-q", "data-merge", *outs, "--out", str(root / "merged")], root)
            print(f"data-merge of {n} shards: {peak:,.0f} MiB")


if __name__ == "__main__":
    main()
