"""Synteny split on a net the size of the real hg38-mm10 net, beside plain Python.

Generates a synteny-like UCSC net between hg38 and mm10 (real chromosome sizes from
``tests/data/genomes``; primary chromosomes paired block by block in a shuffled order,
colinear fills of 20-300 kb cut by gaps every few kb, some fills nested inside gaps),
writes it plain and gzipped, then times in a fresh process each:

- ``crossreg``: :func:`crossreg.split.synteny.split_genomes` (parse, count, components, assign),
  then writing all output files;
- ``python``: the same counting and union-find written in plain Python (what one would
  otherwise write; Basenji's ``basenji_data_align.py`` needs bedtools, FASTAs and gap
  files and counts only top-level fills, so it is not the same computation): the tests'
  references in ``tests/split_reference.py``, whose numbers of links and components
  must equal crossreg's.

Peak memory is the process's maximum resident set size, beside that of a process that
only imports crossreg. ``--full-net`` writes a net shaped like a full (unfiltered) UCSC net
instead: a ``nonSyn`` fill nested in every gap over 600 bp and every fill line with the
17 key/value fields of ``chainNet`` + ``netSyntenic``. ``--baseline-native SO`` also times
the native ``split_genomes`` of this build and of another (``_native.abi3.so``, e.g. an
older one) interleaved on the plain net, median CPU time of ``--rounds`` each.

Usage: ``python benches/bench_split.py [--lines N] [--skip-python] [--full-net]
[--baseline-native SO]``.
"""

from __future__ import annotations

import argparse
import gzip
import json
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path

import numpy as np

from crossreg.io.chrom_sizes import read_chrom_sizes

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # as a script, benches/ is first

from native_builds import load_native

from tests.split_reference import (
    aligned_pairs_per_region_by_runs,
    forward_start,
    genome_blocks,
    union_find_components,
)

ROOT = Path(__file__).resolve().parent.parent
GENOMES = ROOT / "tests" / "data" / "genomes"
REGION_SIZE = 1_000_000
MIN_ALIGNED = 100_000


def primary(sizes: dict[str, int]) -> dict[str, int]:
    """The chromosomes with UCSC ``chr`` names (chr1..., X, Y)."""
    return {c: n for c, n in sizes.items() if c.startswith("chr")}


#: The key/value fields after ``type`` on a fill line of a full net (``chainNet``'s).
FULL_NET_KEYS = "tN 0 qN 0 tR 0 qR 0 tNewR 0 qNewR 0 tOldR 0 qOldR 0 tTrf 0 qTrf 0"


def generate_net(
    path: Path, target: dict[str, int], query: dict[str, int], lines: int, full: bool = False
) -> int:
    """Write a synteny-like net of about `lines` fill and gap lines (`full`: a ``nonSyn``
    fill nested in every gap over 600 bp and all of a full net's fields on every fill line,
    which makes more lines); returns the count."""
    far, tail = ("qOver 0 qFar 0 ", f" {FULL_NET_KEYS}") if full else ("", "")
    nested = 1.0 if full else 0.05
    rng = random.Random(2020)
    # Mean fill ~160 kb with a gap every ~4 kb (~40 gaps per fill): scale the aligned
    # fraction of the target so that the line count comes out near `lines`.
    q_chroms = primary(query)

    t_blocks = genome_blocks(rng, primary(target), 500_000, 20_000_000)
    q_blocks = genome_blocks(rng, primary(query), 500_000, 20_000_000)
    rng.shuffle(q_blocks)
    per_chrom: dict[str, list[tuple[int, list[str]]]] = {c: [] for c in primary(target)}
    total_t = sum(t1 - t0 for _, t0, t1 in t_blocks)
    gap_every = max(500, int(total_t * 0.33 / max(1, lines)))
    count = 0
    for (t_chrom, t0, t1), (q_chrom, q0, q1) in zip(t_blocks, q_blocks, strict=False):
        strand = rng.choice("+-")
        t, q = t0 + rng.randint(0, 50_000), q0 + rng.randint(0, 50_000)
        while True:
            fill_t = rng.randint(20_000, 300_000)
            if t + fill_t > t1:
                break
            out: list[str] = []
            # gaps as (target start, target size, query offset from the fill's query
            # start in strand coordinates, query size): strand coordinates increase
            # with the target position on both strands
            pos_t, off_q = t, 0
            gaps: list[tuple[int, int, int, int]] = []
            while True:
                piece = rng.randint(gap_every // 2, gap_every * 3 // 2)
                g_t, g_q = rng.randint(20, 2_000), rng.randint(20, 2_000)
                if pos_t + piece + g_t + 1_000 > t + fill_t:
                    off_q += t + fill_t - pos_t
                    break
                pos_t += piece
                off_q += piece
                gaps.append((pos_t, g_t, off_q, g_q))
                pos_t += g_t
                off_q += g_q
            fill_q = off_q
            if q + fill_q > q1:
                break
            out.append(
                f" fill {t} {fill_t} {q_chrom} {strand} {q} {fill_q} id {count} "
                f"score {fill_t * 9} ali {fill_t - sum(g[1] for g in gaps)} {far}"
                f"qDup 0 type top{tail}"
            )
            for g_t0, g_tl, g_off, g_ql in gaps:
                g_q = forward_start(strand, q, fill_q, g_off, g_ql)
                out.append(
                    f"  gap {g_t0} {g_tl} {q_chrom} {strand} {g_q} {g_ql} "
                    "tN 0 qN 0 tR 0 qR 0 tTrf 0 qTrf 0"
                )
                if g_tl > 600 and rng.random() < nested:
                    n_chrom = rng.choice(list(q_chroms))
                    n_start = rng.randint(0, q_chroms[n_chrom] - 500)
                    out.append(
                        f"   fill {g_t0 + 100} 400 {n_chrom} + {n_start} 420 id {count} "
                        f"score 900 ali 390 {far}type nonSyn{tail}"
                    )
                    out.append(f"    gap {g_t0 + 300} 20 {n_chrom} + {n_start + 200} 40")
            per_chrom[t_chrom].append((t, out))
            count += len(out)
            t += fill_t + rng.randint(1_000, 60_000)
            q += fill_q + rng.randint(1_000, 60_000)
    with open(path, "w") as handle:
        for chrom, size in primary(target).items():
            handle.write(f"net {chrom} {size}\n")
            for _, out in sorted(per_chrom[chrom]):
                handle.write("\n".join(out) + "\n")
    return count


def python_split(net: Path, target: dict[str, int], query: dict[str, int]) -> dict[str, int]:
    """Aligned bases per region pair and union-find components, in plain Python: the
    tests' run-by-run counter and union-find (``tests/split_reference.py``)."""
    index: dict[tuple[int, str, int], int] = {}  # (genome, chrom, region) -> node
    for genome, sizes in enumerate((target, query)):
        for chrom, size in sizes.items():
            for region in range(-(-size // REGION_SIZE)):
                index[genome, chrom, region] = len(index)
    with open(net) as handle:
        pairs = aligned_pairs_per_region_by_runs(handle, target, query, REGION_SIZE)
    links = [
        (index[0, t_chrom, t_region], index[1, q_chrom, q_region], bases)
        for ((t_chrom, t_region), (q_chrom, q_region)), bases in pairs.items()
    ]
    labels = union_find_components(len(index), links, MIN_ALIGNED)
    return {"links": len(pairs), "components": len(set(labels))}


def basenji_style_assignment(
    component_bp: np.ndarray, fractions: dict[str, float], seed: int
) -> np.ndarray:
    """Basenji's ``divide_components_pct`` as described in its documentation: components
    by total size (all genomes) descending; each drawn into a split with probability
    proportional to the split's remaining aim in bp (train at least 1), where valid/test
    abstain (weight 0) when the component exceeds half their remaining aim."""
    rng = np.random.default_rng(seed)
    sizes = component_bp.sum(axis=1)
    total = sizes.sum()
    labels = list(fractions)
    aims = np.array([fractions[k] * total for k in labels])
    current = np.zeros(len(labels))
    out = np.zeros(len(sizes), dtype=np.int64)
    for c in np.argsort(-sizes, kind="stable"):
        gaps = np.maximum(aims - current, 0.0)
        gaps[0] = max(1.0, gaps[0])
        for s in range(1, len(labels)):
            if sizes[c] > 0.5 * gaps[s]:
                gaps[s] = 0.0
        s = rng.choice(len(labels), p=gaps / gaps.sum())
        out[c] = s
        current[s] += sizes[c]
    return out


def fraction_errors(component_bp: np.ndarray, split: np.ndarray, fractions: list[float]) -> float:
    """Largest |achieved − requested| fraction over genomes and splits."""
    worst = 0.0
    totals = component_bp.sum(axis=0)
    for s, f in enumerate(fractions):
        share = component_bp[split == s].sum(axis=0) / totals
        worst = max(worst, float(np.abs(share - f).max()))
    return worst


def compare_assignments(net: Path) -> None:
    """Fraction errors of crossreg's assignment and a Basenji-style one, same components."""
    from crossreg.split.synteny import NetSpec, split_genomes

    hg = read_chrom_sizes(GENOMES / "human.hg38.genome")
    mm = read_chrom_sizes(GENOMES / "mouse.mm10.genome")
    for seed in (1, 2, 3):
        result = split_genomes({"hg38": hg, "mm10": mm}, [NetSpec("hg38", "mm10", net)], seed=seed)
        bp = result.component_bases()
        ours = fraction_errors(bp, result.component_split.astype(np.int64), [0.76, 0.12, 0.12])
        basenji = fraction_errors(
            bp, basenji_style_assignment(bp, result.requested, seed), [0.76, 0.12, 0.12]
        )
        print(
            f"seed {seed}: largest fraction error crossreg {100 * ours:.4f} points, "
            f"Basenji-style {100 * basenji:.4f} points"
        )


def peak_rss_mib() -> float:
    """This process's peak resident set size (``VmHWM``; ``ru_maxrss`` would include the
    parent's peak, which Linux carries across fork and exec)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def measure(which: str, net: str) -> None:
    """Run one measurement in this process and print JSON (seconds, peak RSS)."""
    hg = read_chrom_sizes(GENOMES / "human.hg38.genome")
    mm = read_chrom_sizes(GENOMES / "mouse.mm10.genome")
    from crossreg.split.report import write_split
    from crossreg.split.synteny import NetSpec, split_genomes

    info: Mapping[str, object]
    start = time.perf_counter()
    if which == "crossreg":
        result = split_genomes({"hg38": hg, "mm10": mm}, [NetSpec("hg38", "mm10", Path(net))])
        split_seconds = time.perf_counter() - start
        with tempfile.TemporaryDirectory() as out:
            write_split(result, out)
        info = {
            "split_seconds": split_seconds,
            "links": len(result.link_bases),
            "components": len(result.component_split),
            "largest_share_hg38": float(result.component_bases()[:, 0].max() / sum(hg.values())),
            "test_fraction_hg38": result.fractions()["hg38"]["test"],
            "leakage_ok": result.leakage().ok,
        }
    elif which == "python":
        info = python_split(Path(net), hg, mm)
    else:
        info = {}
    seconds = time.perf_counter() - start
    peak_mib = peak_rss_mib()
    print(json.dumps({"seconds": seconds, "peak_rss_mib": peak_mib, **info}))


def compare_builds(net: Path, baseline_path: str, rounds: int) -> None:
    """This build's native ``split_genomes`` beside `baseline_path`'s on `net`, interleaved
    (the order alternating each round); median CPU seconds of `rounds` calls each."""
    from crossreg import _native

    baseline = load_native(baseline_path)
    genomes = [
        (name, list(read_chrom_sizes(GENOMES / f"{name}.genome").items()))
        for name in ("human.hg38", "mouse.mm10")
    ]

    def split(native) -> dict:
        fractions, labels = [0.76, 0.12, 0.12], ["train", "valid", "test"]
        nets = [(0, 1, net)]
        return native.split_genomes(
            genomes, nets, REGION_SIZE, MIN_ALIGNED, fractions, labels, 1, False
        )

    builds = {"this build": _native, "baseline": baseline}
    cpu: dict[str, list[float]] = {name: [] for name in builds}
    results = {name: split(native) for name, native in builds.items()}  # untimed first calls
    for r in range(rounds):
        for name in list(builds)[:: 1 if r % 2 else -1]:
            start = time.process_time()
            split(builds[name])
            cpu[name].append(time.process_time() - start)
    for key in ("region_component", "component_split", "link_bases"):
        if not np.array_equal(results["this build"][key], results["baseline"][key]):
            raise SystemExit(f"the baseline's {key} differs from this build's")
    ours, theirs = (statistics.median(cpu[name]) for name in builds)
    print(
        f"native split_genomes, median CPU of {rounds}: this build {ours:.3f} s, "
        f"baseline {theirs:.3f} s ({ours / theirs:.3f}x)"
    )


def run(which: str, net: Path) -> dict:
    cmd = [sys.executable, __file__, "--measure", which, str(net)]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=1_000_000, help="fill+gap lines to generate")
    parser.add_argument("--skip-python", action="store_true", help="skip the plain-Python run")
    parser.add_argument("--full-net", action="store_true", help="a full net's fills and fields")
    parser.add_argument("--baseline-native", help="another build's _native.abi3.so to compare")
    parser.add_argument("--rounds", type=int, default=7, help="calls of each build to compare")
    parser.add_argument("--measure", nargs=2, metavar=("WHICH", "NET"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        measure(*args.measure)
        return
    hg = read_chrom_sizes(GENOMES / "human.hg38.genome")
    mm = read_chrom_sizes(GENOMES / "mouse.mm10.genome")
    with tempfile.TemporaryDirectory() as tmp:
        plain = Path(tmp) / "hg38.mm10.net"
        start = time.perf_counter()
        lines = generate_net(plain, hg, mm, args.lines, args.full_net)
        packed = Path(tmp) / "hg38.mm10.net.gz"
        packed.write_bytes(gzip.compress(plain.read_bytes(), compresslevel=6))
        print(
            f"generated {lines:,} fill/gap lines, {plain.stat().st_size / 2**20:.1f} MiB "
            f"({packed.stat().st_size / 2**20:.1f} MiB gzipped) in "
            f"{time.perf_counter() - start:.1f} s"
        )
        if args.baseline_native:
            compare_builds(plain, args.baseline_native, args.rounds)
        baseline = run("import", plain)
        print(f"import only: peak RSS {baseline['peak_rss_mib']:.0f} MiB")
        results = {}
        for label, which, net in (
            ("crossreg, plain net", "crossreg", plain),
            ("crossreg, gzipped net", "crossreg", packed),
            ("plain Python, plain net", "python", plain),
        ):
            if which == "python" and args.skip_python:
                continue
            results[label] = r = run(which, net)
            print(f"{label}: {r['seconds']:.2f} s, peak RSS {r['peak_rss_mib']:.0f} MiB: {r}")
        if "plain Python, plain net" in results:
            python, ours = results["plain Python, plain net"], results["crossreg, plain net"]
            for key in ("links", "components"):
                if python[key] != ours[key]:
                    raise SystemExit(f"plain Python {key} {python[key]} != crossreg's {ours[key]}")
            ratio = python["seconds"] / ours["split_seconds"]
            print(
                f"split_genomes is {ratio:.1f}x faster than plain-Python counting and "
                "union-find on the plain net"
            )
        compare_assignments(plain)


if __name__ == "__main__":
    main()
