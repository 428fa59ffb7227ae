"""SLDP's ``.info`` sums (``ChromAnnotations.info``) of a SAD-like table: peak memory and
time per source tree.

A chromosome of ``--snps`` panel SNPs (MAF uniform on 0–0.5) with one table of ``--snps``
× ``--tracks`` scores stored as ``--dtype`` (float16 as ``crossreg sad`` writes them;
float64 as a ``.sannot.gz`` is read): Laplace, a fraction ``--zeros`` of them 0 (a third
by default; 0.99 for a sparse annotation), every row matched, every third one swapped, as
``crossreg sldp --sad`` holds a chromosome's used rows. ``info()`` runs in its own process
per tree given with ``--tree LABEL=PYTHONPATH`` (e.g. the code before and after a change):
wall seconds of ``info()`` alone, and the most resident memory while it runs above its
resident memory just before (the table included in neither: Linux's high-water mark,
reset before ``info()``). The sums of every tree must be the same bits, else the bench
stops.

Usage: ``python benches/bench_sldp_info.py --tree now=python [--tree before=../old/python]
[--snps 131072] [--tracks 1000] [--dtype float16] [--zeros 0.333]``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_sldp import measured

RUN = """
import json, os, sys, time
from types import SimpleNamespace
import numpy as np
from crossreg.stats.sldp.annotations import AnnotationTable, ChromAnnotations
from crossreg.stats.sldp.reconcile import Alignment
snps, tracks, dtype = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
zeros, out = float(sys.argv[4]), sys.argv[5]
rng = np.random.default_rng(0)
values = np.empty((snps, tracks), dtype=dtype)
for a in range(0, snps, 8192):
    part = rng.laplace(size=(min(8192, snps - a), tracks))
    part[rng.random(part.shape) < zeros] = 0
    values[a : a + len(part)] = part
    del part
snp = np.array([f"rs{k}" for k in range(snps)])
panel = SimpleNamespace(maf=rng.uniform(0, 0.5, snps), bim=snp)  # what info() reads
table = AnnotationTable("bench", [f"t{k}" for k in range(tracks)], values)
sign = np.where(np.arange(snps) % 3 == 0, -1.0, 1.0)
annotations = ChromAnnotations(panel, [table], [Alignment(np.arange(snps), sign, {})])
def status(field):  # kB, Linux
    return next(int(l.split()[1]) for l in open('/proc/self/status') if l.startswith(field))
open('/proc/self/clear_refs', 'w').write('5')  # the high-water mark starts again from here
before = status('VmRSS:') / 1024
start = time.perf_counter()
info = annotations.info()
seconds = time.perf_counter() - start
peak = status('VmHWM:') / 1024
np.savez(out, **info)
print(json.dumps({"info_seconds": seconds, "rss_before_mib": before, "peak_mib": peak}))
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tree", action="append", required=True, help="LABEL=PYTHONPATH")
    parser.add_argument("--snps", type=int, default=131_072, help="panel SNPs")
    parser.add_argument("--tracks", type=int, default=1_000, help="annotations")
    parser.add_argument("--dtype", default="float16", choices=["float16", "float32", "float64"])
    parser.add_argument("--zeros", type=float, default=1 / 3, help="fraction of values 0")
    args = parser.parse_args()
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    print(f"machine: {os.cpu_count()} cores, load average {load}")
    print(f"{args.snps:,} SNPs × {args.tracks:,} {args.dtype} annotations, {args.zeros:.3g} zero")
    sums = {}
    with tempfile.TemporaryDirectory(prefix="bench_sldp_info.") as tmp:
        work = Path(tmp)
        script = work / "run.py"
        script.write_text(RUN)
        for label, path in (tree.split("=", 1) for tree in args.tree):
            os.environ["PYTHONPATH"] = str(Path(path).resolve())
            out = work / f"{label}.npz"
            cmd = [sys.executable, str(script), str(args.snps), str(args.tracks), args.dtype]
            cmd += [str(args.zeros), str(out)]
            log = work / f"{label}.log"
            measured(cmd, log)
            inner = json.loads(log.read_text().strip().splitlines()[-1])
            print(
                f"{label}: info() {inner['info_seconds']:.2f} s, peak RSS "
                f"{inner['peak_mib']:.0f} MiB "
                f"({inner['peak_mib'] - inner['rss_before_mib']:.0f} MiB above the table)"
            )
            sums[label] = out.read_bytes()
    if len(set(sums.values())) > 1:
        raise SystemExit(f"the sums differ between {', '.join(sums)}")
    print(f"sums: the same bits in {', '.join(sums)}")


if __name__ == "__main__":
    main()
