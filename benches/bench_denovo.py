"""Time and peak memory of ``crossreg denovo``'s statistics (``crossreg.stats.denovo_tables.
run_tests``: per-track tests, principal components, out-of-fold risk scores) on random SAD
of `--variants` de novo variants × `--tracks` tracks, float16-rounded as ``crossreg sad``
stores them and held as float32 as ``read_sad`` returns them, half of them cases, about
`--per-person` variants to a person.

    python benches/bench_denovo.py [--variants 50000] [--tracks 5313] [--out DIR]
        [--files DIR [--reading-only]]

It prints the seconds the statistics took, the resident memory they started with and their
peak (``VmHWM``, counted again from there); with `--out` it writes the tables as
``crossreg denovo`` does, to compare two versions byte for byte. With `--files DIR` it
first writes the cases' and controls' VCFs and SAD ``.h5`` files there, lets the table go,
and reads them back as ``crossreg denovo`` does (``load_groups``), timed and measured the
same way (alone with `--reading-only`).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import h5py
import numpy as np

from crossreg.io.vcf import Variant, write_vcf
from crossreg.stats.denovo_inputs import DenovoData, load_groups
from crossreg.stats.denovo_report import write_report
from crossreg.stats.denovo_tables import run_tests

ROWS = 4096  # rows of the table drawn at a time, so making it holds no second copy


def _status_kib(field: str) -> int:
    """A field of ``/proc/self/status`` in KiB (``VmRSS``, ``VmHWM``)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1])
    raise KeyError(field)


def reset_peak() -> None:
    """Start ``VmHWM`` again from the present resident set (Linux's ``clear_refs`` 5)."""
    Path("/proc/self/clear_refs").write_text("5")


def make_data(variants: int, tracks: int, per_person: int, seed: int = 0) -> DenovoData:
    """Random float16-rounded SAD, cases first, `per_person` variants to each person."""
    rng = np.random.default_rng(seed)
    values = np.empty((variants, tracks), dtype=np.float32)
    for start in range(0, variants, ROWS):
        block = rng.standard_normal((min(ROWS, variants - start), tracks), dtype=np.float32)
        values[start : start + len(block)] = (block * 0.01).astype(np.float16)
    is_case = np.arange(variants) < variants // 2
    people = [f"{'case' if case else 'control'}{i // per_person}" for i, case in enumerate(is_case)]
    sites = [("chr1", str(i + 1), "A", "C") for i in range(variants)]
    return DenovoData(
        individuals=people,
        is_case=is_case,
        labels=[f"dn{i}" for i in range(variants)],
        sites=sites,
        identifiers=[f"t{k}" for k in range(tracks)],
        descriptions=[f"CAGE:cell{k}" for k in range(tracks)],
        values=values,
    )


def write_files(data: DenovoData, folder: Path) -> dict[str, tuple[Path, Path]]:
    """Each group's VCF (INFO SAMPLE naming the carrier) and SAD ``.h5`` (float16, with its
    sites) in `folder`, as ``crossreg sad`` writes them."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = {}
    for group, rows in (("case", data.is_case), ("control", ~data.is_case)):
        index = np.flatnonzero(rows)
        variants = [
            Variant(
                "chr1", int(i), "A", ("C",), id=data.labels[i], info={"SAMPLE": data.individuals[i]}
            )
            for i in index
        ]
        vcf, sad = folder / f"{group}s.vcf", folder / f"{group}s.sad.h5"
        write_vcf(vcf, variants, contigs={"chr1": len(data.labels) + 1})
        with h5py.File(sad, "w") as handle:
            handle["snp"] = np.array([data.labels[i] for i in index], dtype="S")
            handle["chr"] = np.array([b"chr1"] * len(index))
            handle["pos"] = index + 1
            handle["ref_allele"] = np.array([b"A"] * len(index))
            handle["alt_allele"] = np.array([b"C"] * len(index))
            handle["target_ids"] = np.array(data.identifiers, dtype="S")
            handle["target_labels"] = np.array(data.descriptions, dtype="S")
            scores = handle.create_dataset("SAD", (len(index), len(data.identifiers)), "f2")
            for start in range(0, len(index), ROWS):
                scores[start : start + ROWS] = data.values[index[start : start + ROWS]]
        paths[group] = (vcf, sad)
    return paths


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--variants", type=int, default=50_000)
    parser.add_argument("--tracks", type=int, default=5313)
    parser.add_argument("--per-person", type=int, default=65)
    parser.add_argument("--components", type=int, default=10)
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--out", type=Path, help="write the tables here")
    parser.add_argument("--files", type=Path, help="write the inputs here; time load_groups")
    parser.add_argument(
        "--reading-only", action="store_true", help="with --files: time the reading alone"
    )
    args = parser.parse_args()
    if args.reading_only and not args.files:
        parser.error("--reading-only times reading the --files: give --files DIR")
    data = make_data(args.variants, args.tracks, args.per_person)
    print(
        f"{args.variants:,} variants × {args.tracks:,} tracks, float32 table "
        f"{data.values.nbytes / 1024**3:.2f} GiB"
    )
    if args.files:
        paths = write_files(data, args.files)
        del data
        start, before = _start()
        data = load_groups(paths)
        _report("reading both groups", start, before)
        if args.reading_only:
            return
    start, before = _start()
    report = run_tests(data, components=args.components, folds=args.folds)
    _report("statistics", start, before)
    if args.out:
        write_report(args.out, report)


def _start() -> tuple[float, int]:
    """The time and resident KiB a step starts with, its peak counted from there."""
    reset_peak()
    return time.perf_counter(), _status_kib("VmRSS")


def _report(step: str, start: float, before: int) -> None:
    """Print a step's seconds, resident memory at its start and peak."""
    gib = 1024**2
    print(
        f"{step}: {time.perf_counter() - start:.1f} s; RSS before {before / gib:.2f} GiB, "
        f"peak {_status_kib('VmHWM') / gib:.2f} GiB"
    )


if __name__ == "__main__":
    main()
