"""``crossreg sldp``'s read of one large phenotype file: peak memory and seconds.

Writes ``--print-snps`` print SNPs (``rs0``, ``rs1``, ...) with LD scores, and one
phenotype file of one of two shapes:

- ``gwas``: ldsc-munged ``SNP A1 A2 Z N`` of ``--rows`` rows, every print SNP once and the
  rest SNPs that are not print SNPs (a UK Biobank-sized GWAS against HapMap3 print SNPs);
- ``eqtl``: a GTEx-style ``variant_id gene_id slope slope_se`` table of ``--rows`` rows,
  a SNP's genes one after another, read with ``--eqtl-n``: ``--at-print`` of its rows (all
  by default) at print SNPs, the rest at other SNPs (``--at-print 0.1``: as in a GTEx
  all-pairs table against HapMap3 print SNPs).

Then each source tree given with ``--tree LABEL=PYTHONPATH`` (e.g. the code before and
after a change) reads it as a run does (``read_phenotypes``: the file, its h²_g, the
compact phenotype), in its own process (wall seconds and maximum RSS, measured as in
``bench_sldp.py``), after a run of the same process that reads the print SNPs and LD scores
only (the floor every run has). The trees' phenotypes (print-SNP indices, allele codes, Z,
N) and heritability must be the same bytes, else the bench stops.

Usage: ``python benches/bench_sldp_sumstats.py --tree now=python [--tree
before=../old/python] [--shape gwas|eqtl] [--rows 20000000] [--print-snps 1200000]
[--at-print 1] [--work DIR]``.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import polars as pl

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_sldp import measured

READ = """
import hashlib, json, sys
import numpy as np
from crossreg.stats.sldp.inputs import read_phenotypes, read_print_snps
from crossreg.stats.sldp.ldscores import read_ldscores
spec = json.load(open(sys.argv[1]))
printed = read_print_snps(spec["print_snps"])
ld = read_ldscores(spec["ld"])
if spec["files"]:
    kind = "eqtl" if spec["eqtl"] else "sumstats"
    phenos, h2 = read_phenotypes(
        [] if spec["eqtl"] else spec["files"], spec["files"] if spec["eqtl"] else [],
        spec["eqtl_n"], printed, ld,
    )
    digest = hashlib.sha256()
    for p in phenos:
        for a in (p.snp, p.alleles, p.z, np.ascontiguousarray(p.n)):
            digest.update(a.tobytes())
    digest.update(repr(sorted(h2.items())).encode())
    open(spec["digest"], "w").write(digest.hexdigest() + " " + str(len(phenos[0].z)))
"""


def write_inputs(work: Path, shape: str, rows: int, printed: int, at_print: float) -> dict:
    """The print SNPs, LD scores and phenotype file of `shape` (an eQTL table with
    `at_print` of its rows at print SNPs); the read's settings."""
    rng = np.random.default_rng(0)
    snps = pl.Series([f"rs{i}" for i in range(printed)])
    pl.DataFrame({"SNP": snps}).write_csv(work / "print_snps.txt", include_header=False)
    ld = pl.DataFrame({"SNP": snps, "L2": rng.uniform(1, 100, printed).round(3)})
    with gzip.open(work / "ld.1.l2.ldscore.gz", "wb", compresslevel=1) as handle:
        handle.write(ld.write_csv(separator="\t").encode())
    (work / "ld.1.l2.M_5_50").write_text(f"{printed}\n")
    bases = np.array(["A", "C", "G", "T"])
    pair = rng.integers(0, 4, (rows, 2))
    pair[:, 1] = (pair[:, 0] + rng.integers(1, 4, rows)) % 4
    a1, a2 = bases[pair[:, 0]], bases[pair[:, 1]]
    if shape == "gwas":  # every print SNP once, at random places among other SNPs
        ids = np.array([f"rs{i}" for i in range(printed, printed + rows)], dtype=object)
        ids[rng.choice(rows, printed, replace=False)] = snps.to_numpy()
        table = pl.DataFrame(
            {
                "SNP": ids.astype(str),
                "A1": a1,
                "A2": a2,
                "Z": rng.normal(0, 1.3, rows).round(4),
                "N": rng.integers(300_000, 500_000, rows),
            }
        )
        path = work / "gwas.sumstats"
    else:  # a SNP's genes one after another, each SNP's alleles; ids below `printed` print
        at = np.sort(rng.integers(0, round(printed / at_print), rows))
        alt, ref = bases[pair[at % rows, 0]], bases[pair[at % rows, 1]]
        table = pl.DataFrame(
            {
                "variant_id": pl.Series([f"rs{i}" for i in at]),
                "gene_id": pl.Series([f"ENSG{g:011d}.4" for g in rng.integers(0, 20_000, rows)]),
                "alt": alt,
                "ref": ref,
                "slope": rng.normal(0, 0.2, rows).round(5),
                "slope_se": rng.uniform(0.05, 0.2, rows).round(5),
                "maf": rng.uniform(0.01, 0.5, rows).round(4),
                "pval_nominal": rng.uniform(0, 1, rows).round(6),
            }
        ).unique(subset=["variant_id", "gene_id"], keep="first", maintain_order=True)
        path = work / ("eqtl.tsv" if at_print == 1 else f"eqtl-{at_print:g}.tsv")
    table.write_csv(path, separator="\t")
    return {
        "print_snps": str(work / "print_snps.txt"),
        "ld": str(work / "ld."),
        "files": [str(path)],
        "eqtl": shape == "eqtl",
        "eqtl_n": 500.0 if shape == "eqtl" else None,
        "rows": len(table),
        "mib": path.stat().st_size / 2**20,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tree", action="append", required=True, help="LABEL=PYTHONPATH")
    parser.add_argument("--shape", choices=["gwas", "eqtl"], default="gwas")
    parser.add_argument("--rows", type=int, default=20_000_000, help="rows of the file")
    parser.add_argument("--print-snps", type=int, default=1_200_000, help="print SNPs")
    parser.add_argument(
        "--at-print", type=float, default=1.0, help="share of an eQTL table's rows at print SNPs"
    )
    parser.add_argument("--work", type=Path, default=None, help="keep files here")
    args = parser.parse_args()
    trees = dict(tree.split("=", 1) for tree in args.tree)
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    print(f"machine: {os.cpu_count()} cores, load average {load}")
    with tempfile.TemporaryDirectory(prefix="bench_sldp_sumstats.") as tmp:
        work = args.work or Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        if not 0 < args.at_print <= 1 or (args.at_print < 1 and args.shape != "eqtl"):
            parser.error("--at-print must be above 0 and at most 1, and is for --shape eqtl")
        label = args.shape if args.at_print == 1 else f"{args.shape}-{args.at_print:g}"
        spec_path = work / f"{label}.json"
        start = time.perf_counter()
        if spec_path.exists():
            spec = json.loads(spec_path.read_text())
        else:
            spec = write_inputs(work, args.shape, args.rows, args.print_snps, args.at_print)
            spec_path.write_text(json.dumps(spec))
        print(
            f"{label}: {spec['rows']:,} rows, {spec['mib']:.0f} MiB of text, "
            f"{args.print_snps:,} print SNPs (inputs in {time.perf_counter() - start:.0f} s)"
        )
        script = work / "read.py"
        script.write_text(READ)
        digests = {}
        for label, path in trees.items():
            os.environ["PYTHONPATH"] = str(Path(path).resolve())
            reads: list[list[str]] = [[], spec["files"]]  # the floor, then the file
            for files in reads:
                run = work / f"{label}.json"
                digest = work / f"{label}.digest"
                run.write_text(json.dumps({**spec, "files": files, "digest": str(digest)}))
                cmd = [sys.executable, str(script), str(run)]
                got = measured(cmd, work / f"{label}.log")
                what = "print SNPs and LD scores only" if not files else "with the file"
                print(
                    f"{label}, {what}: {got['seconds']:.1f} s, peak RSS {got['peak_mib']:.0f} MiB"
                )
            digests[label] = digest.read_text()
        if len(set(digests.values())) > 1:
            raise SystemExit(f"phenotypes differ: {digests}")
        rows = next(iter(digests.values())).split()[1]
        print(f"phenotypes ({rows} rows) the same bytes in {', '.join(digests)}")


if __name__ == "__main__":
    main()
