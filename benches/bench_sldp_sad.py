"""``crossreg sldp --sad`` with a large SAD ``.h5``: peak memory and time of the run.

Generates a panel with ``fast_world`` from ``bench_sldp.py`` (22 chromosomes, 2,000 SNPs
each by default, 100 individuals, one phenotype) and a SAD ``.h5`` laid out as
``crossreg sad`` writes it (float16 scores chunked per 1,024 rows, gzip allele fields) of
``--rows`` variants × ``--tracks`` tracks over the 22 chromosomes: each chromosome's
panel SNPs (alt = bim A1) spread among variants the panel lacks, sorted by chromosome, or
with ``--interleaved`` the chromosomes' rows mixed at random (each one's rows in order).
Then ``write_sldp`` runs with ``--sad`` once per source tree given with ``--tree
LABEL=PYTHONPATH`` (e.g. the code before and after a change), each in its own process
(wall seconds and maximum RSS, measured as in ``bench_sldp.py``), after one run that fills
the LD cache so that every measured run reads the spectra from it; the runs' results.tsv
must be the same bytes, else the bench stops.

Usage: ``python benches/bench_sldp_sad.py --tree now=python [--tree before=../old/python]
[--rows 2000000] [--tracks 64] [--interleaved] [--work DIR]``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import h5py
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_sldp import fast_world, measured

CHROMS = tuple(str(c) for c in range(1, 23))
RUN = """
import json, sys, time
from crossreg.stats.sldp.run import write_sldp
spec = json.load(open(sys.argv[1]))
start = time.perf_counter()
write_sldp(**spec)
print("write_sldp seconds", time.perf_counter() - start)
"""


def chrom_variants(panel: Path, chrom: str, rows: int) -> dict[str, np.ndarray]:
    """`rows` variants of `chrom` in position order: the panel's SNPs of that chromosome
    (alt = A1, ref = A2) at evenly spaced rows, the rest ids the panel lacks."""
    bim = np.loadtxt(panel / f"panel.{chrom}.bim", dtype=str, delimiter="\t", ndmin=2)
    snp = np.char.add(f"v{chrom}_", np.arange(rows).astype(str)).astype(object)
    alt, ref = np.full(rows, "A", dtype=object), np.full(rows, "C", dtype=object)
    slots = np.linspace(0, rows - 1, len(bim)).astype(np.int64)
    snp[slots], alt[slots], ref[slots] = bim[:, 1], bim[:, 4], bim[:, 5]
    return {"snp": snp, "alt": alt, "ref": ref}


def write_sad(
    path: Path,
    panel: Path,
    rows: int,
    tracks: int,
    interleaved: bool,
    chroms: tuple[str, ...] = CHROMS,
) -> None:
    """The SAD ``.h5`` (module docstring) over the panel's `chroms`, written a block of rows
    at a time."""
    rng = np.random.default_rng(0)
    per = np.full(len(chroms), rows // len(chroms))
    per[: rows % len(chroms)] += 1
    label = np.repeat(np.arange(len(chroms)), per)
    if interleaved:
        label = rng.permutation(label)
    variants = [chrom_variants(panel, c, int(n)) for c, n in zip(chroms, per, strict=True)]
    within = np.zeros(rows, dtype=np.int64)  # each row's place among its chromosome's rows
    for k in range(len(chroms)):
        within[label == k] = np.arange(per[k])
    text = {"snp": "S24", "chr": "S2", "ref_allele": "S1", "alt_allele": "S1"}
    with h5py.File(path, "w") as handle:
        fields = {
            name: handle.create_dataset(
                name, (rows,), dtype=kind, chunks=(16_384,), compression="gzip"
            )
            for name, kind in text.items()
        }
        handle.create_dataset("pos", data=within.astype(np.uint32) + 1)
        scores = handle.create_dataset(
            "SAD", (rows, tracks), dtype=np.float16, chunks=(1024, tracks), fletcher32=True
        )
        handle["target_ids"] = np.array([f"t{k}" for k in range(tracks)], dtype="S")
        step = max(1024, (1 << 24) // tracks)  # rows a write: 32 MiB of float16 scores
        for a in range(0, rows, step):
            b = min(a + step, rows)
            chrom, place = label[a:b], within[a:b]
            for name, key in (("snp", "snp"), ("ref_allele", "ref"), ("alt_allele", "alt")):
                column = np.empty(b - a, dtype=object)
                for k in np.unique(chrom):
                    column[chrom == k] = variants[k][key][place[chrom == k]]
                fields[name][a:b] = column.astype(text[name])
            fields["chr"][a:b] = np.array(chroms, dtype="S2")[chrom]
            scores[a:b] = rng.laplace(0, 1, (b - a, tracks)).astype(np.float16)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tree", action="append", required=True, help="LABEL=PYTHONPATH")
    parser.add_argument("--rows", type=int, default=2_000_000, help="SAD variants")
    parser.add_argument("--tracks", type=int, default=64, help="SAD tracks")
    parser.add_argument("--panel-snps", type=int, default=2_000, help="per chromosome")
    parser.add_argument("--interleaved", action="store_true", help="chromosomes mixed")
    parser.add_argument("--work", type=Path, default=None, help="keep files here")
    args = parser.parse_args()
    trees = dict(tree.split("=", 1) for tree in args.tree)
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    print(f"machine: {os.cpu_count()} cores, load average {load}")
    with tempfile.TemporaryDirectory(prefix="bench_sldp_sad.") as tmp:
        work = args.work or Path(tmp)
        inputs = work / "inputs"
        start = time.perf_counter()
        fast_world(
            inputs, args.panel_snps * len(CHROMS), n_ind=100, n_annot=1, n_pheno=1, chroms=CHROMS
        )
        sad = work / "scores.h5"
        write_sad(sad, inputs, args.rows, args.tracks, args.interleaved)
        print(
            f"inputs in {time.perf_counter() - start:.0f} s: {args.panel_snps * len(CHROMS):,} "
            f"panel SNPs over {len(CHROMS)} chromosomes; {sad.name} {args.rows:,} variants × "
            f"{args.tracks} tracks ({'interleaved' if args.interleaved else 'sorted'}), "
            f"{sad.stat().st_size / 2**20:.0f} MiB, "
            f"{args.rows * args.tracks * 4 / 2**20:.0f} MiB as float32"
        )
        spec = {
            "bfile_chr": f"{inputs}/panel.",
            "print_snps": f"{inputs}/print_snps.txt",
            "ld_blocks": f"{inputs}/blocks.bed",
            "ldscores_chr": f"{inputs}/ld.",
            "sumstats": [f"{inputs}/pheno0.sumstats.gz"],
            "sad": [str(sad)],
            "seed": 0,
            "flips": 1000,
            "ld_cache": str(work / "ld-cache"),
            "plots": False,
        }
        script = work / "run.py"
        script.write_text(RUN)
        results = {}
        for label, path in [("cache", next(iter(trees.values()))), *trees.items()]:
            out = work / label
            (work / f"{label}.json").write_text(json.dumps({**spec, "out": str(out)}))
            os.environ["PYTHONPATH"] = str(Path(path).resolve())
            cmd = [sys.executable, str(script), str(work / f"{label}.json")]
            got = measured(cmd, work / f"{label}.log")
            if label != "cache":
                results[label] = (out / "results.tsv").read_bytes()
                print(f"{label}: {got['seconds']:.1f} s, peak RSS {got['peak_mib']:.0f} MiB")
        if len(set(results.values())) > 1:
            raise SystemExit(f"results.tsv differ between {', '.join(results)}")
        print(f"results.tsv: the same bytes in {', '.join(results)}")


if __name__ == "__main__":
    main()
