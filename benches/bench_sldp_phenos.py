"""``crossreg sldp`` with many phenotypes: peak memory of a run against the phenotypes.

Generates a panel with ``fast_world`` from ``bench_sldp.py`` (``--chroms`` chromosomes of
``--panel-snps`` SNPs, 100 individuals, LD blocks of 150-450 SNPs, 2 background MAF-bin
annotations) with the largest ``--phenos`` count of phenotypes, and a SAD ``.h5`` of its
SNPs × ``--tracks`` tracks (``bench_sldp_sad.py``'s ``write_sad``), the marginal
annotations. Each phenotype's per-block statistics are blocks × tracks × (2 +
backgrounds) float64 numbers. Then ``write_sldp --sad`` runs once per phenotype count and
source tree given with ``--tree LABEL=PYTHONPATH`` (e.g. the code before and after a
change), each in its own process (wall seconds and maximum RSS, measured as in
``bench_sldp.py``), after one run that fills the LD cache so that every measured run reads
the spectra from it; the trees' results.tsv at each count must be the same bytes, else the
bench stops.

Usage: ``python benches/bench_sldp_phenos.py --tree now=python [--tree
before=../old/python] [--phenos 12 48] [--tracks 512] [--work DIR]``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_sldp import fast_world, measured
from bench_sldp_sad import RUN, write_sad


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tree", action="append", required=True, help="LABEL=PYTHONPATH")
    parser.add_argument("--phenos", type=int, nargs="+", default=[12, 48], help="counts")
    parser.add_argument("--tracks", type=int, default=512, help="SAD tracks")
    parser.add_argument("--chroms", type=int, default=22, help="panel chromosomes")
    parser.add_argument("--panel-snps", type=int, default=4_000, help="per chromosome")
    parser.add_argument("--flips", type=int, default=100, help="sign flips")
    parser.add_argument("--work", type=Path, default=None, help="keep files here")
    args = parser.parse_args()
    trees = dict(tree.split("=", 1) for tree in args.tree)
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    print(f"machine: {os.cpu_count()} cores, load average {load}")
    chroms = tuple(str(c) for c in range(1, args.chroms + 1))
    with tempfile.TemporaryDirectory(prefix="bench_sldp_phenos.") as tmp:
        work = args.work or Path(tmp)
        inputs = work / "inputs"
        start = time.perf_counter()
        snps = args.panel_snps * len(chroms)
        world = fast_world(
            inputs, snps, n_ind=100, n_annot=1, n_pheno=max(args.phenos), chroms=chroms
        )
        sad = work / "scores.h5"
        write_sad(sad, inputs, snps, args.tracks, interleaved=False, chroms=chroms)
        per_pheno = world["blocks"] * args.tracks * (2 + 2) * 8 / 2**20
        print(
            f"inputs in {time.perf_counter() - start:.0f} s: {snps:,} panel SNPs over "
            f"{len(chroms)} chromosomes, {world['blocks']} LD blocks, {args.tracks} SAD "
            f"tracks, 2 backgrounds: a phenotype's block statistics ≈ {per_pheno:.1f} MiB"
        )
        script = work / "run.py"
        script.write_text(RUN)
        for count in args.phenos:
            spec = {
                "bfile_chr": f"{inputs}/panel.",
                "print_snps": f"{inputs}/print_snps.txt",
                "ld_blocks": f"{inputs}/blocks.bed",
                "ldscores_chr": f"{inputs}/ld.",
                "sumstats": [f"{inputs}/pheno{p}.sumstats.gz" for p in range(count)],
                "sad": [str(sad)],
                "background_sannot_chr": [f"{inputs}/bg."],
                "seed": 0,
                "flips": args.flips,
                "jk_blocks": 100,
                "ld_cache": str(work / "ld-cache"),
                "plots": False,
            }
            cached = (work / "ld-cache").is_dir()
            results = {}
            runs = [*trees.items()]
            if not cached:  # a first run fills the LD cache, unmeasured
                runs.insert(0, ("cache", next(iter(trees.values()))))
            for label, path in runs:
                out = work / f"{label}-{count}"
                (work / f"{label}.json").write_text(json.dumps({**spec, "out": str(out)}))
                os.environ["PYTHONPATH"] = str(Path(path).resolve())
                cmd = [sys.executable, str(script), str(work / f"{label}.json")]
                got = measured(cmd, work / f"{label}-{count}.log")
                if label != "cache":
                    results[label] = (out / "results.tsv").read_bytes()
                    print(
                        f"{count} phenotypes, {label}: {got['seconds']:.1f} s, "
                        f"peak RSS {got['peak_mib']:.0f} MiB"
                    )
            if len(set(results.values())) > 1:
                raise SystemExit(f"results.tsv differ between {', '.join(results)}")
            print(f"{count} phenotypes: results.tsv the same bytes in {', '.join(results)}")


if __name__ == "__main__":
    main()
