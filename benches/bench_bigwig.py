"""BigWig → finished 128-bp targets, build memory, and loader throughput.

    .venv/bin/python benches/bench_bigwig.py [--genome-mb 16] [--tracks 4] [--threads 1,2]

1. Targets, on two shapes of track (``--shapes dense,sparse``, see `write_dense_track` and
   `write_sparse_track`): the same windows (131,072 bp every 65,599 bp, 896 target bins)
   and files, all transforms (missing/negatives → 0, pooling, 25th-percentile fill of
   masked bins, soft clip, hard clip, scale, float16), by
   - crossreg (`compute_targets`, native, one call for all tracks), on each thread count,
   - pyBigWig `values(numpy=True)` per window + numpy,
   - pybigtools base-level `values()` per window + numpy,
   - pybigtools exact binned `values(bins=896, exact=True, summary="sum")` + numpy (valid
     here because the generated tracks hold no negative values),
   beside the floor: decompressing every data block of the files once with libdeflate
   (`bigwig_decode_all`), nothing else, and optionally another build of the extension
   (``--baseline-native``, e.g. an older one, timed interleaved with this one). Every
   result is checked against crossreg's before timing is reported.
2. Peak memory (max RSS) of `crossreg data` runs with growing track counts.
3. Loader: examples/s of `make_loader` batches at full human width (5,313 tracks) from a
   warm page cache, one-hot vs byte-coded sequences.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pybigtools
import pyBigWig
import torch

from crossreg import _native
from crossreg.data import Layout, SplitDataset, codes_to_one_hot, compute_targets, make_loader
from crossreg.data.bigwig import track_spec
from crossreg.data.store import FORMAT_VERSION, METADATA, STORE_FORMAT
from crossreg.io.targets_read import read_targets

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # as a script, benches/ is first

from native_builds import load_native

from tests import data_reference as ref
from tests.data_inputs import write_fasta
from tests.data_inputs import write_table as write_targets_table

SEQ, STRIDE, CROP, POOL = 131_072, 65_599, 64, 128
BINS = SEQ // POOL - 2 * CROP
HUMAN_TRACKS = 5313
DISTINCT_FILES = 4  # further tracks reuse these files (identifiers stay distinct)


def write_dense_track(path: Path, sizes: dict[str, int], seed: int) -> None:
    """A coverage-like BigWig: runs of geometric length (mean ~10 bp) over ~85% of each
    chromosome."""
    rng = np.random.default_rng(seed)
    bw = pyBigWig.open(str(path), "w")
    bw.addHeader(list(sizes.items()))
    for chrom, size in sizes.items():
        lengths = rng.geometric(0.1, size // 5)
        ends = np.cumsum(lengths)
        ends = ends[ends < size]
        starts = np.concatenate(([0], ends[:-1]))
        keep = rng.random(len(starts)) < 0.85
        values = rng.gamma(0.6, 4.0, len(starts)).astype(np.float64)
        values[rng.random(len(starts)) < 0.001] *= 300
        bw.addEntries(
            [chrom] * int(keep.sum()),
            starts[keep].tolist(),
            ends=ends[keep].tolist(),
            values=values[keep].tolist(),
        )
    bw.close()


#: Sparse shape: mean run length (bp, geometric), fraction of runs written as 0, lognormal
#: (mu, sigma) of the other values, assembly gaps (no records) per Mbp and their length range.
SPARSE_RUN_BP, SPARSE_ZERO, SPARSE_LOGNORMAL = 50, 0.2, (0.0, 1.0)
SPARSE_GAPS_PER_MBP, SPARSE_GAP_BP = 0.5, (20_000, 200_000)


def write_sparse_track(path: Path, sizes: dict[str, int], seed: int) -> None:
    """A fold-change-like BigWig: bedGraph runs of geometric length (mean 50 bp) tiling each
    chromosome, 20% of them of value 0, the others lognormal, and assembly gaps (20-200 kbp,
    0.5 per Mbp) without records."""
    rng = np.random.default_rng(seed)
    bw = pyBigWig.open(str(path), "w")
    bw.addHeader(list(sizes.items()))
    for chrom, size in sizes.items():
        ends = np.cumsum(rng.geometric(1 / SPARSE_RUN_BP, size // SPARSE_RUN_BP * 2))
        ends = ends[ends < size]
        starts = np.concatenate(([0], ends[:-1]))
        values = rng.lognormal(*SPARSE_LOGNORMAL, len(starts))
        values[rng.random(len(starts)) < SPARSE_ZERO] = 0.0
        keep = np.ones(len(starts), dtype=bool)
        for _ in range(rng.poisson(SPARSE_GAPS_PER_MBP * size / 1e6)):
            gap = int(rng.integers(0, size))
            keep &= (ends <= gap) | (starts >= gap + int(rng.integers(*SPARSE_GAP_BP)))
        bw.addEntries(
            [chrom] * int(keep.sum()),
            starts[keep].tolist(),
            ends=ends[keep].tolist(),
            values=values[keep].tolist(),
        )
    bw.close()


SHAPES = {"dense": write_dense_track, "sparse": write_sparse_track}


def write_table(path: Path, files: list[str], n: int) -> None:
    """A targets table of `n` tracks T0, T1, ... cycling through `files` and four settings."""
    stats = [("mean", 32, 2), ("sum", 384, 1), ("mean", 32, 2), ("sum", 64, 1)]
    rows = []
    for i in range(n):
        stat, clip, scale = stats[i % len(stats)]
        file = files[i % len(files)]
        row = {"identifier": f"T{i}", "file": file, "clip": clip, "scale": scale, "sum_stat": stat}
        rows.append(row)
    write_targets_table(path, rows)


def windows(sizes: dict[str, int]) -> tuple[np.ndarray, np.ndarray]:
    chroms, starts = [], []
    for chrom, size in sizes.items():
        s = np.arange(0, size - SEQ + 1, STRIDE)
        chroms += [chrom] * len(s)
        starts.append(s + CROP * POOL)
    return np.array(chroms), np.concatenate(starts)


def numpy_targets(table, chroms, starts, mask, reader: str) -> np.ndarray:
    """What a user would otherwise write: per track, read each window with `reader` and pool
    it, then the remaining transforms (the tests' numpy reference, ``tests/data_reference``)."""
    out = np.empty((len(starts), BINS, len(table)), dtype=np.float16)
    for k, t in enumerate(table):
        path = str(table.track_files(t)[0])
        pooled = np.empty((len(starts), BINS))
        if reader == "pyBigWig":
            bw = pyBigWig.open(path)
            for w, (c, s) in enumerate(zip(chroms, starts, strict=True)):
                values = bw.values(c, int(s), int(s) + BINS * POOL, numpy=True)
                pooled[w] = ref.pool(ref.clean(values), POOL, t.sum_stat)
            bw.close()
        elif reader == "pybigtools":
            bw = pybigtools.open(path)
            for w, (c, s) in enumerate(zip(chroms, starts, strict=True)):
                values = bw.values(c, int(s), int(s) + BINS * POOL, fillna=None)
                pooled[w] = ref.pool(ref.clean(values), POOL, t.sum_stat)
        else:  # pybigtools exact binned sums
            bw = pybigtools.open(path)
            for w, (c, s) in enumerate(zip(chroms, starts, strict=True)):
                sums = bw.values(
                    c, int(s), int(s) + BINS * POOL, bins=BINS, exact=True, summary="sum", fillna=0
                )
                pooled[w] = sums if t.sum_stat == "sum" else sums / POOL
        out[:, :, k] = ref.finish(pooled, mask, t)
    return out


def timed(fn, repeat: int = 1):
    best, result = float("inf"), None
    for _ in range(repeat):
        t0 = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - t0)
    return best, result


def native_targets(native, table, chroms, starts, mask, threads: int) -> np.ndarray:
    """The targets by `native`'s `bigwig_targets`, called as `compute_targets` calls it."""
    names, ids = np.unique(np.asarray(chroms, dtype=np.str_), return_inverse=True)
    out = np.empty((len(starts), BINS, len(table)), dtype=np.float16)
    native.bigwig_targets(
        [track_spec(table, t) for t in table],
        [str(n) for n in names],
        np.ascontiguousarray(ids, dtype=np.uint32),
        np.ascontiguousarray(starts, dtype=np.uint64),
        POOL,
        np.ascontiguousarray(mask, dtype=bool),
        0.25,
        out.view(np.uint16),
        threads,
    )
    return out


def decode_alone(table) -> int:
    """Decompress every data block of the table's distinct files once; the bytes out."""
    paths = {str(f) for t in table for f in table.track_files(t)}
    return sum(_native.bigwig_decode_all(p)[2] for p in paths)


def bench_targets(
    root: Path,
    sizes: dict[str, int],
    n_tracks: int,
    threads: list[int],
    shape: str,
    baseline=None,
) -> dict:
    root.mkdir(parents=True, exist_ok=True)
    files = []
    for i in range(min(n_tracks, DISTINCT_FILES)):
        files.append(f"track{i}.bw")
        if not (root / files[-1]).exists():
            SHAPES[shape](root / files[-1], sizes, seed=i)
    write_table(root / "targets.txt", files, n_tracks)
    table = read_targets(root / "targets.txt")
    chroms, starts = windows(sizes)
    mask = np.random.default_rng(0).random((len(starts), BINS)) < 0.02
    results: dict = {
        "shape": shape,
        "windows": len(starts),
        "tracks": n_tracks,
        "bases": int(sum(sizes.values())),
        "cores": os.cpu_count(),
    }
    compute_targets(table, list(table), chroms, starts, bins=BINS, mask=mask, threads=1)  # warm
    # crossreg on each thread count and the decompression floor, interleaved (best of 5
    # rounds each) so that a shared machine's load weighs on them alike; beside the wall
    # time, the process's CPU time, which other jobs on the cores inflate less
    ours: dict = {n: float("inf") for n in threads}
    ours_cpu: dict = {n: float("inf") for n in threads}
    floor = floor_cpu = base = base_cpu = float("inf")
    for _ in range(5):
        cpu = time.process_time()
        seconds, decoded = timed(lambda: decode_alone(table))
        floor, floor_cpu = min(floor, seconds), min(floor_cpu, time.process_time() - cpu)
        if baseline is not None:
            cpu = time.process_time()
            seconds, base_values = timed(
                lambda: native_targets(baseline, table, chroms, starts, mask, min(threads))
            )
            base, base_cpu = min(base, seconds), min(base_cpu, time.process_time() - cpu)
        for n in threads:
            cpu = time.process_time()
            seconds, values = timed(
                lambda n=n: compute_targets(
                    table, list(table), chroms, starts, bins=BINS, mask=mask, threads=n
                )[0]
            )
            ours[n] = min(ours[n], seconds)
            ours_cpu[n] = min(ours_cpu[n], time.process_time() - cpu)
    for reader in ("pyBigWig", "pybigtools", "pybigtools_binned"):
        # as crossreg: one untimed call (the first pays one-off costs), then the best of 3
        _, theirs = timed(lambda r=reader: numpy_targets(table, chroms, starts, mask, r))
        np.testing.assert_allclose(
            theirs.astype(np.float32), values.astype(np.float32), rtol=2e-3, atol=2e-3
        )
        results[f"{reader}_s"] = min(
            timed(lambda r=reader: numpy_targets(table, chroms, starts, mask, r))[0]
            for _ in range(3)
        )
    if baseline is not None:
        np.testing.assert_allclose(
            base_values.astype(np.float32), values.astype(np.float32), rtol=2e-3, atol=2e-3
        )
        results["baseline_s"], results["baseline_cpu_s"] = base, base_cpu
        results["baseline_vs_decode_cpu"] = base_cpu / floor_cpu
        results["baseline_values_differing"] = int((base_values != values).sum())
    results["crossreg_s"] = ours
    results["crossreg_cpu_s"] = ours_cpu
    results["decode_alone_s"] = floor
    results["decode_alone_cpu_s"] = floor_cpu
    results["decoded_mb"] = decoded / 2**20
    one = min(threads)
    results["crossreg_1_thread_vs_decode"] = ours[one] / floor
    results["crossreg_1_thread_vs_decode_cpu"] = ours_cpu[one] / floor_cpu
    results["pybigtools_binned_vs_crossreg_1_thread"] = results["pybigtools_binned_s"] / ours[one]
    return results


def peak_memory(root: Path, sizes: dict[str, int], track_counts: list[int], memory_gb: float):
    files = sorted(p.name for p in root.glob("track*.bw"))
    fasta = root / "genome.fa"
    if not fasta.exists():
        rng = np.random.default_rng(1)
        acgt = np.frombuffer(b"ACGT", np.uint8)
        seqs = {c: acgt[rng.integers(0, 4, n)].tobytes().decode() for c, n in sizes.items()}
        write_fasta(fasta, seqs)
    rows = []
    for n in track_counts:
        write_table(root / f"targets{n}.txt", files, n)
        # VmHWM (peak resident set of this process image); ru_maxrss would include the
        # forked parent's pages from before exec.
        script = (
            "import sys; from crossreg.cli import main; rc = main(sys.argv[1:]); "
            "print([l.split()[1] for l in open('/proc/self/status') if l.startswith('VmHWM')][0]); "
            "sys.exit(rc)"
        )
        cmd = [sys.executable, "-c", script, "-q", "data", "--genome", "bench"]
        cmd += ["--fasta", str(fasta), "--targets", str(root / f"targets{n}.txt")]
        cmd += ["--out", str(root / f"store{n}"), "--overwrite", "--memory-gb", str(memory_gb)]
        t0 = time.perf_counter()
        out = subprocess.run(cmd, check=True, capture_output=True, text=True)
        seconds = time.perf_counter() - t0
        meta = json.loads((root / f"store{n}" / METADATA).read_text())
        store_bytes = meta["num_windows"] * BINS * n * 2
        rows.append(
            {
                "tracks": n,
                "windows": meta["num_windows"],
                "seconds": seconds,
                "peak_rss_mb": int(out.stdout.split()[-1]) / 1024,
                "targets_mb": store_bytes / 2**20,
            }
        )
    return rows


def synthetic_human_store(root: Path, n: int) -> Path:
    """A store of `n` windows at full human width (5,313 tracks), random contents."""
    path = root / "human_width"
    if (path / METADATA).exists():
        return path
    path.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(2)
    seqs = np.lib.format.open_memmap(path / "sequences.npy", "w+", np.uint8, (n, SEQ))
    seqs[:] = np.frombuffer(b"ACGT", np.uint8)[rng.integers(0, 4, (n, SEQ))]
    targets = np.lib.format.open_memmap(
        path / "targets.npy", "w+", np.float16, (n, BINS, HUMAN_TRACKS)
    )
    for i in range(n):
        targets[i] = rng.random((BINS, HUMAN_TRACKS), dtype=np.float32)
    np.save(path / "masked.npy", np.zeros((n, BINS), bool))
    del seqs, targets
    meta = {
        "format": STORE_FORMAT,
        "format_version": FORMAT_VERSION,
        "genome": "human",
        "seq_length": SEQ,
        "pool_width": POOL,
        "target_length": BINS,
        "num_targets": HUMAN_TRACKS,
        "splits": {"train": {"offset": 0, "count": n}},
    }
    (path / METADATA).write_text(json.dumps(meta))
    return path


def to_device(batch: dict, device: str | None) -> None:
    """Move a batch to `device` as the model consumes it (float32 one-hot, float targets)."""
    if device is None:
        return
    seq = batch["sequence"].to(device, non_blocking=True)
    seq = codes_to_one_hot(seq) if seq.ndim == 2 else seq.float()
    batch["targets"].to(device, non_blocking=True).float()
    torch.cuda.synchronize()


def bench_loader(
    root: Path, n: int, batches: int, workers: list[int], device: str | None
) -> list[dict]:
    path = synthetic_human_store(root, n)
    rows = []
    for encoding in ("one_hot", "codes"):
        ds = SplitDataset(
            path,
            "train",
            augment_rc=True,
            augment_shift=3,
            seed=0,
            sequence=encoding,
            one_hot_dtype=np.uint8,  # the row's name: what a loader hands a GPU to convert
        )
        if len(ds) < 4:
            raise SystemExit(f"--loader-windows {len(ds)}: fewer than one batch of 4 windows")
        for w in workers:
            loader = make_loader(
                ds, 4, seed=0, num_workers=w, drop_last=True, pin_memory=device is not None
            )
            it = iter(loader)
            for _ in range(min(4, len(loader))):  # warm workers and page cache
                next(it)
            count, t0 = 0, time.perf_counter()
            while count < batches:
                try:
                    batch = next(it)
                except StopIteration:
                    it = iter(loader)
                    continue
                to_device(batch, device)
                count += 1
            seconds = time.perf_counter() - t0
            rows.append(
                {
                    "sequence": encoding,
                    "workers": w,
                    "device": device or "cpu",
                    "examples_per_s": 4 * batches / seconds,
                    "batch_mb": sum(v.numel() * v.element_size() for v in batch.values()) / 2**20,
                }
            )
            del it, loader
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--genome-mb", type=float, default=16)
    parser.add_argument("--tracks", type=int, default=4)
    parser.add_argument("--threads", default=f"1,{os.cpu_count()}")
    parser.add_argument("--shapes", default="dense,sparse", help="track shapes to time")
    parser.add_argument("--memory-tracks", default="16,64,256")
    parser.add_argument("--memory-gb", type=float, default=0.02)
    parser.add_argument("--loader-windows", type=int, default=48)
    parser.add_argument("--loader-batches", type=int, default=60)
    parser.add_argument("--workers", default="0,2")
    parser.add_argument("--device", help="also move each batch to this device (e.g. cuda)")
    parser.add_argument("--parts", default="targets,memory,loader", help="what to measure")
    parser.add_argument(
        "--baseline-native",
        help="another build of the extension (_native.abi3.so) to time beside this one",
    )
    parser.add_argument("--json", help="also write the report to this file")
    parser.add_argument("--root", help="working folder (default: a temporary one)")
    args = parser.parse_args()
    root = Path(args.root or tempfile.mkdtemp(prefix="bench_bigwig_"))
    root.mkdir(parents=True, exist_ok=True)
    third = int(args.genome_mb * 1e6 / 3)
    sizes = {"chr1": third + 200_000, "chr2": third, "chr3": third - 200_000}
    parts = args.parts.split(",")
    report: dict = {"layout": Layout().__dict__}
    threads = sorted({int(t) for t in args.threads.split(",")})
    if "targets" in parts:
        baseline = load_native(args.baseline_native) if args.baseline_native else None
        report["targets"] = [
            bench_targets(root / shape, sizes, args.tracks, threads, shape, baseline)
            for shape in args.shapes.split(",")
        ]
        print(json.dumps(report["targets"], indent=1), flush=True)
    if "memory" in parts:
        if not (root / "dense" / "targets.txt").exists():
            bench_targets(root / "dense", sizes, args.tracks, threads[:1], "dense")
        report["memory"] = peak_memory(
            root / "dense", sizes, [int(n) for n in args.memory_tracks.split(",")], args.memory_gb
        )
        print(json.dumps(report["memory"], indent=1), flush=True)
    if "loader" in parts:
        report["loader"] = bench_loader(
            root,
            args.loader_windows,
            args.loader_batches,
            [int(w) for w in args.workers.split(",")],
            args.device,
        )
        print(json.dumps(report["loader"], indent=1), flush=True)
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
