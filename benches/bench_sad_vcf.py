"""Time reading a VCF's sites, as ``sad`` reads them twice (its counting pass and its
scoring pass): every column split and kept (``iter_vcf``) beside the sites alone
(``iter_vcf(sites_only=True)``: the genotype columns neither split nor kept), on a
sites-only VCF and on 1000-Genomes-like ones with genotype columns; checks both read the
same sites. Also the memory a list of the records (as one chunk holds them) takes, and
the pass of the last of 100 shards (or a run resumed near its end) to its own records:
each record before them parsed and dropped (``itertools.islice``) beside passed over by
its CHROM alone (``kept_records(skip=...)``).

    python benches/bench_sad_vcf.py [--records 20000] [--samples 0 100 2504]
"""

from __future__ import annotations

import argparse
import gc
import itertools
import tempfile
import time
import tracemalloc
from pathlib import Path

import numpy as np

from crossreg.genome import Genome
from crossreg.io.vcf import iter_vcf
from crossreg.variants.sad_stream import kept_records

INFO = "AC=3;AN=5008;AF=0.0006;EAS_AF=0;AMR_AF=0;AFR_AF=0.002;EUR_AF=0;SAS_AF=0;VT=SNP"


def write_vcf(path: Path, records: int, samples: int) -> None:
    """Random SNPs on one chromosome with `samples` phased genotype columns."""
    gen = np.random.default_rng(0)
    positions = np.sort(gen.choice(10_000_000, records, replace=False)) + 1
    names = "".join(f"\tS{i}" for i in range(samples))
    fmt = "\tFORMAT" if samples else ""
    with path.open("w") as handle:
        handle.write("##fileformat=VCFv4.2\n")
        handle.write(f"#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO{fmt}{names}\n")
        genotypes = np.array(["0|0", "0|1", "1|0", "1|1"])
        for i, pos in enumerate(positions):
            calls = genotypes[gen.choice(4, samples, p=[0.94, 0.02, 0.02, 0.02])]
            tail = "\tGT\t" + "\t".join(calls) if samples else ""
            handle.write(f"chr1\t{pos}\trs{i}\tA\tG\t100\tPASS\t{INFO}{tail}\n")


def timed(path: Path, sites_only: bool) -> tuple[float, list[tuple[str, int, str]]]:
    """Seconds to read every record, and the sites read."""
    start = time.perf_counter()
    sites = [(v.chrom, v.pos, v.alts[0]) for v in iter_vcf(path, sites_only=sites_only)]
    return time.perf_counter() - start, sites


def held_bytes(path: Path, sites_only: bool) -> int:
    """Bytes a list of all the records holds."""
    gc.collect()
    tracemalloc.start()
    try:
        records = list(iter_vcf(path, sites_only=sites_only))
        gc.collect()
        held, _ = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    del records
    return held


def write_genome(path: Path) -> Genome:
    """A genome whose chr1 holds the VCF's positions (scoring is not timed)."""
    path.write_text(">chr1\n" + "A" * 10_000_001 + "\n")
    return Genome(path)


def to_last_share(path: Path, genome: Genome, records: int) -> tuple[float, float]:
    """Seconds to reach the last hundredth of the records: parsing every record before it,
    and passing them over."""
    skip = records - records // 100
    start = time.perf_counter()
    parsed = [v.pos for v in itertools.islice(kept_records(path, genome), skip, None)]
    middle = time.perf_counter()
    passed = [v.pos for v in kept_records(path, genome, skip=skip)]
    end = time.perf_counter()
    assert parsed == passed and len(passed) == records // 100
    return middle - start, end - middle


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=20_000)
    parser.add_argument("--samples", type=int, nargs="+", default=[0, 100, 2504])
    args = parser.parse_args()
    print(
        "| samples | records | all columns s | sites only s | ratio "
        "| all columns kB/record held | sites only kB/record held |"
    )
    print("| ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    shares = []
    with tempfile.TemporaryDirectory() as tmp:
        genome = write_genome(Path(tmp) / "genome.fa")
        for samples in args.samples:
            path = Path(tmp) / f"s{samples}.vcf"
            write_vcf(path, args.records, samples)
            full, full_sites = timed(path, sites_only=False)
            sites, only_sites = timed(path, sites_only=True)
            assert full_sites == only_sites
            held = [held_bytes(path, flag) / args.records / 1e3 for flag in (False, True)]
            shares.append((samples, *to_last_share(path, genome, args.records)))
            print(
                f"| {samples} | {args.records} | {full:.2f} | {sites:.2f} | {full / sites:.1f} "
                f"| {held[0]:.1f} | {held[1]:.2f} |"
            )

    print("\n| samples | records | the last share's pass, parsing s | passing over s | ratio |")
    print("| ---: | ---: | ---: | ---: | ---: |")
    for samples, parsing, passing in shares:
        print(
            f"| {samples} | {args.records} | {parsing:.2f} | {passing:.2f} "
            f"| {parsing / passing:.1f} |"
        )


if __name__ == "__main__":
    main()
