"""Time reading a VCF's sites, as ``sad`` reads them twice (its counting pass and its
scoring pass): the line-by-line Python reader (``tests/vcf_reference.py``) beside the
native one (``iter_vcf(sites_only=True)``, lines read and checked in Rust without the
GIL), on short and long VCFs, sites-only and 1000-Genomes-like with genotype columns,
plain and gzipped; checks both read the same records. Also the pass of the last of 100
shards (or a run resumed near its end) to its own records: the records before them
passed over by CHROM in Python (the reference's ``pass_over``) beside natively
(``kept_records(skip=...)``). And ``sad``'s survey pass (``survey_vcf``: each record's
scorable alleles, the others' reasons, REF against the genome) with the VCF's content
identity: the record-by-record Python survey and a second read to hash the file
(``tests/sad_survey_reference.py``) beside the native survey that hashes the bytes it
reads; checks both find the same.

    python benches/bench_sad_vcf.py [--records 2000 20000] [--samples 0 2504]
        [--survey 20000x0 200000x0 20000x2504]
"""

from __future__ import annotations

import argparse
import gzip
import sys
import tempfile
import time
from collections.abc import Callable, Iterable
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # as a script, benches/ is first

from crossreg.genome import Genome
from crossreg.io.identity import content_identity
from crossreg.io.vcf import Variant, iter_vcf
from crossreg.variants.sad_survey import Survey, kept_records, survey_vcf
from tests.sad_survey_reference import reference_survey_vcf
from tests.vcf_reference import reference_iter_vcf

INFO = "AC=3;AN=5008;AF=0.0006;EAS_AF=0;AMR_AF=0;AFR_AF=0.002;EUR_AF=0;SAS_AF=0;VT=SNP"


def write_vcf(path: Path, records: int, samples: int) -> None:
    """Random SNPs on one chromosome with `samples` phased genotype columns; gzipped
    when `path` ends in ``.gz``."""
    gen = np.random.default_rng(0)
    positions = np.sort(gen.choice(10_000_000, records, replace=False)) + 1
    names = "".join(f"\tS{i}" for i in range(samples))
    fmt = "\tFORMAT" if samples else ""
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "wt") as handle:
        handle.write("##fileformat=VCFv4.2\n")
        handle.write(f"#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO{fmt}{names}\n")
        genotypes = np.array(["0|0", "0|1", "1|0", "1|1"])
        for i, pos in enumerate(positions):
            calls = genotypes[gen.choice(4, samples, p=[0.94, 0.02, 0.02, 0.02])]
            tail = "\tGT\t" + "\t".join(calls) if samples else ""
            handle.write(f"chr1\t{pos}\trs{i}\tA\tG\t100\tPASS\t{INFO}{tail}\n")


def timed(
    read: Callable[..., Iterable[Variant]], path: Path
) -> tuple[float, list[tuple[object, ...]]]:
    """The fewest seconds of three to read every record of `path`'s sites (the host is
    shared), and the records read."""
    best = float("inf")
    for _ in range(3):
        start = time.perf_counter()
        sites: list[tuple[object, ...]] = [
            (v.chrom, v.pos, v.id, v.ref, v.alts, v.info) for v in read(path, sites_only=True)
        ]
        best = min(best, time.perf_counter() - start)
    return best, sites


def write_genome(path: Path) -> Genome:
    """A genome whose chr1 holds the VCF's positions (scoring is not timed)."""
    path.write_text(">chr1\n" + "A" * 10_000_001 + "\n")
    return Genome(path)


def to_last_share(path: Path, genome: Genome, records: int) -> tuple[float, float]:
    """Seconds to reach the last hundredth of the records, passing over the ones before
    it in Python and natively."""
    skip = records - records // 100
    left = skip

    def pass_over(line: str) -> bool:
        nonlocal left
        if not left:
            return False
        left -= line.split("\t", 1)[0] in genome.sizes
        return True

    start = time.perf_counter()
    python = [v.pos for v in reference_iter_vcf(path, sites_only=True, pass_over=pass_over)]
    middle = time.perf_counter()
    native = [v.pos for v in kept_records(path, genome, skip=skip)]
    end = time.perf_counter()
    assert python == native and len(native) == records // 100
    return middle - start, end - middle


def surveyed(
    survey: Callable[..., Survey], path: Path, genome: Genome
) -> tuple[float, tuple[object, ...]]:
    """The fewest seconds of three for `survey` of `path` (identity included), and what
    it found."""
    best = float("inf")
    for _ in range(3):
        start = time.perf_counter()
        found = survey(path, genome, 131_072, source=str(path))
        best = min(best, time.perf_counter() - start)
    fields = (found.kept, found.alleles.tolist(), found.unscorable_records.tolist())
    return best, (*fields, found.reasons, found.identity)


def survey_table(shapes: list[str], tmp: Path, genome: Genome) -> None:
    """The survey pass, as ``RECORDSxSAMPLES`` shapes: Python with the hash's own read
    (also timed alone) beside native."""
    print(
        "\n| samples | records | file | Python survey + hash read s | of which hash s "
        "| native s | ratio | Python µs/record | native µs/record |"
    )
    print("| ---: | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    for shape in shapes:
        records, samples = (int(n) for n in shape.split("x"))
        for suffix in (".vcf", ".vcf.gz"):
            path = tmp / f"survey-s{samples}-r{records}{suffix}"
            write_vcf(path, records, samples)
            before, expected = surveyed(reference_survey_vcf, path, genome)
            start = time.perf_counter()
            content_identity(path)
            hashing = time.perf_counter() - start
            after, got = surveyed(survey_vcf, path, genome)
            assert got == expected
            print(
                f"| {samples:,} | {records:,} | {suffix[1:]} | {before:.3f} | {hashing:.3f} "
                f"| {after:.3f} | {before / after:.1f}× | {before / records * 1e6:.1f} "
                f"| {after / records * 1e6:.2f} |"
            )
            path.unlink()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, nargs="+", default=[2_000, 20_000])
    parser.add_argument("--samples", type=int, nargs="+", default=[0, 2504])
    parser.add_argument("--survey", nargs="*", default=["20000x0", "200000x0", "20000x2504"])
    args = parser.parse_args()
    print(
        "| samples | records | file | Python s | native s | ratio "
        "| Python µs/record | native µs/record |"
    )
    print("| ---: | ---: | --- | ---: | ---: | ---: | ---: | ---: |")
    shares = []
    with tempfile.TemporaryDirectory() as tmp:
        genome = write_genome(Path(tmp) / "genome.fa")
        for samples in args.samples:
            for records in args.records:
                for suffix in (".vcf", ".vcf.gz"):
                    path = Path(tmp) / f"s{samples}-r{records}{suffix}"
                    write_vcf(path, records, samples)
                    python, expected = timed(reference_iter_vcf, path)
                    native, got = timed(iter_vcf, path)
                    assert got == expected
                    print(
                        f"| {samples:,} | {records:,} | {suffix[1:]} | {python:.3f} "
                        f"| {native:.3f} | {python / native:.1f}× "
                        f"| {python / records * 1e6:.1f} | {native / records * 1e6:.1f} |"
                    )
                    if suffix == ".vcf" and records == max(args.records):
                        shares.append((samples, records, *to_last_share(path, genome, records)))
                    path.unlink()
        survey_table(args.survey, Path(tmp), genome)

    print("\n| samples | records | the last share's pass, Python s | native s | ratio |")
    print("| ---: | ---: | ---: | ---: | ---: |")
    for samples, records, python, native in shares:
        print(
            f"| {samples:,} | {records:,} | {python:.3f} | {native:.3f} | {python / native:.1f}× |"
        )


if __name__ == "__main__":
    main()
