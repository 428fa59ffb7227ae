"""What a dataset store delivers to training: examples/s and GB/s of float16 targets, from
the page cache and from disk, through ``SplitDataset`` + ``make_loader``.

Writes a synthetic store of `--windows` full-size examples (131,072 bp; 896 bins ×
`--tracks` float16 targets: 9.1 MiB per example at 5,313 tracks), then measures

- the file's sequential read ceiling (``os.preadv`` of 16 MiB blocks) warm and cold;
- shuffled batches of `--batch` with rc/shift augmentation per reader (the memory-map
  reader before, one ``preadv`` per window on demand or read ahead on threads, worker
  processes in `--workers`), warm (page cache) and cold (from disk), the caller spending
  each of `--step-ms` per batch.

*Cold* evicts the store's files from the page cache before each pass with
``posix_fadvise(POSIX_FADV_DONTNEED)`` (no root needed; clean pages of a file we can open
are dropped) and checks with ``fincore`` (util-linux), where present, how much stayed.
The store is deleted afterwards unless --keep. ``--parts codec`` measures the native row
codec (byte shuffle + deflate per window) on synthetic dense and sparse targets: ratio,
encoding and decoding speed, decoding with each window's CRC32 checked and without (the
rows of a store of format version 1).

    python benches/bench_loader.py [--dir DIR] [--windows 256] [--tracks 5313]
        [--batch 4] [--batches 40] [--workers 2] [--read-ahead 2,8] [--step-ms 0,25]
        [--keep | --store DIR]
        [--kind sparse|dense] [--compressed LEVEL] [--parts loader,codec]
        [--codec-windows 16] [--codec-levels 1,6] [--codec-repeats 3] [--json FILE]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np
import numpy.typing as npt
import torch

from crossreg import _native
from crossreg.data.compressed import compress_targets
from crossreg.data.dataset import SplitDataset
from crossreg.data.loader import make_loader
from crossreg.data.npy import NpyRows
from crossreg.data.store import FORMAT_VERSION, METADATA, STORE_FORMAT
from crossreg.memory import tune_malloc

SEQ_LENGTH, BINS = 131_072, 896
BLOCK = 16 * 2**20


#: Windows of distinct synthetic targets in a store, repeated to its size (drawing one
#: window's 5,313 tracks takes about 0.25 s; the reads do not depend on the values).
DISTINCT_WINDOWS = 16


def write_store(path: Path, windows: int, tracks: int, kind: str, seed: int = 0) -> Path:
    """A store of `windows` random examples (targets of :func:`synthetic_targets` `kind`,
    :data:`DISTINCT_WINDOWS` of them repeated) in the layout ``crossreg data`` writes."""
    path.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    acgt = np.frombuffer(b"ACGT", np.uint8)
    np.save(path / "sequences.npy", acgt[rng.integers(0, 4, (windows, SEQ_LENGTH))])
    np.save(path / "masked.npy", np.zeros((windows, BINS), bool))
    shape = (windows, BINS, tracks)
    with NpyRows(path / "targets.npy", "w", dtype=np.float16, shape=shape) as out:
        drawn = [
            synthetic_targets(kind, 1, tracks, seed=seed * 1_000_003 + a)
            for a in range(min(windows, DISTINCT_WINDOWS))
        ]
        for a in range(windows):
            out.write(a, drawn[a % len(drawn)])
    meta = {
        "format": STORE_FORMAT,
        "format_version": FORMAT_VERSION,
        "genome": "bench",
        "seq_length": SEQ_LENGTH,
        "pool_width": 128,
        "crop_bins": 64,
        "target_length": BINS,
        "num_targets": tracks,
        "num_windows": windows,
        "splits": {"train": {"offset": 0, "count": windows}},
        "tracks": [],
        "options": {"compress_targets": None},
    }
    (path / METADATA).write_text(json.dumps(meta))
    return path


def synthetic_targets(kind: str, windows: int, tracks: int, seed: int = 0) -> np.ndarray:
    """``(windows, BINS, tracks)`` float16 targets: ``dense`` (every bin a gamma draw around
    a per-track level, like pooled DNase/ATAC) or ``sparse`` (90% of bins 0, peaks
    elsewhere, like ChIP or CAGE). Bins are independent: real tracks, correlated along
    the genome, compress better."""
    rng = np.random.default_rng(seed)
    level = rng.lognormal(0.0, 1.0, tracks)
    values = rng.gamma(2.0, 1.0, (windows, BINS, tracks)) * level
    if kind == "sparse":
        values *= rng.random((windows, BINS, tracks)) < 0.1
    return values.astype(np.float16)


def without_checksums(blob: np.ndarray, offsets: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Rows of the native codec less their trailing CRC32s: the rows of a store of format
    version 1, decoded unchecked."""
    keep = np.ones(blob.size, dtype=bool)
    keep[(offsets[1:, None].astype(np.int64) - 4 + np.arange(4)).ravel()] = False
    return blob[keep], offsets - np.uint64(4) * np.arange(offsets.size, dtype=np.uint64)


def decode_seconds(
    blob: np.ndarray, offsets: np.ndarray, order: np.ndarray, out: np.ndarray, checked: bool
) -> float:
    """Seconds to decode rows `order` of `(blob, offsets)` into `out`."""
    start = time.perf_counter()
    _native.decompress_rows(blob, offsets, order, out, checked=checked)
    return time.perf_counter() - start


def codec_figures(tracks: int, windows: int, levels: list[int], repeats: int = 3) -> list[dict]:
    """Ratio and speed of the native row codec (byte shuffle + deflate per window) on
    synthetic dense and sparse targets; decoding's best of `repeats` passes, with each
    row's CRC32 checked and, alternating with them, without (as a version 1 store)."""
    rows = []
    for kind in ("dense", "sparse"):
        values = synthetic_targets(kind, windows, tracks).view(np.uint16).reshape(windows, -1)
        for level in levels:
            start = time.perf_counter()
            blob, offsets = _native.compress_rows(values, level)
            encode = time.perf_counter() - start
            old, old_offsets = without_checksums(blob, offsets)
            out = np.empty_like(values)
            order = np.random.default_rng(1).permutation(windows).astype(np.uint64)
            times: dict[bool, list[float]] = {True: [], False: []}
            for _ in range(repeats):
                times[True].append(decode_seconds(blob, offsets, order, out, True))
                times[False].append(decode_seconds(old, old_offsets, order, out, False))
            np.testing.assert_array_equal(out, values[order.astype(np.int64)])
            rows.append(
                {
                    "kind": kind,
                    "level": level,
                    "ratio": values.nbytes / blob.nbytes,
                    "encode_gb_per_s": values.nbytes / encode / 1e9,
                    "decode_gb_per_s": values.nbytes / min(times[True]) / 1e9,
                    "decode_unchecked_gb_per_s": values.nbytes / min(times[False]) / 1e9,
                }
            )
            r = rows[-1]
            print(
                f"codec, {kind} targets, level {level}: ratio {r['ratio']:.2f}, encode "
                f"{r['encode_gb_per_s']:.2f} GB/s, decode {r['decode_gb_per_s']:.2f} GB/s "
                f"of float16 out ({r['decode_unchecked_gb_per_s']:.2f} GB/s unchecked)",
                flush=True,
            )
    return rows


def compressed_copy(store: Path, level: int) -> Path:
    """`store` with its targets compressed at `level`, beside it (files hard-linked)."""
    packed = store.with_name(f"{store.name}-level{level}")
    if not packed.exists():
        packed.mkdir()
        for name in ("sequences.npy", "masked.npy", "targets.npy"):
            os.link(store / name, packed / name)
        compress_targets(packed, level)
        meta = json.loads((store / METADATA).read_text())
        meta["options"]["compress_targets"] = level
        (packed / METADATA).write_text(json.dumps(meta))
    return packed


def evict(path: Path) -> float | None:
    """Drop `path`'s files from the page cache; the fraction still cached (fincore), if known."""
    cached = total = 0
    names = [n for n in ("targets.npy", "targets.rows", "sequences.npy") if (path / n).exists()]
    for name in names:
        fd = os.open(path / name, os.O_RDONLY)
        try:
            os.fsync(fd)
            os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
        finally:
            os.close(fd)
        if shutil.which("fincore") is None:
            return None
        out = subprocess.run(
            ["fincore", "--bytes", "--noheadings", "--output", "RES,SIZE", str(path / name)],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.split()
        cached, total = cached + int(out[0]), total + int(out[1])
    return cached / total


def sequential_read(path: Path) -> float:
    """Seconds to read `path` start to end in 16 MiB blocks."""
    buf = bytearray(BLOCK)
    fd = os.open(path, os.O_RDONLY)
    start, pos = time.perf_counter(), 0
    try:
        while got := os.preadv(fd, [buf], pos):
            pos += got
    finally:
        os.close(fd)
    return time.perf_counter() - start


class MemoryMapped(SplitDataset):
    """The reader before: fancy indexing of the memory-mapped arrays (a page fault per
    4 KiB), for comparison."""

    def _rows(self, name: str, idx: npt.NDArray[np.int64]) -> torch.Tensor:
        store = self.store
        array = store.sequences(self.split) if name == "sequences" else store.targets(self.split)
        return torch.from_numpy(np.ascontiguousarray(array[idx]))


#: a reader: (dataset class, worker processes, batches read ahead by threads)
Mode = tuple[type[SplitDataset], int, int]

#: label -> reader
MODES: dict[str, Mode] = {
    "memory map, on demand (before)": (MemoryMapped, 0, 0),
    "preadv per row, on demand": (SplitDataset, 0, 0),
}


def loader_pass(
    path: Path, mode: Mode, batch: int, batches: int, step_ms: float
) -> tuple[float, int]:
    """Seconds and examples of `batches` shuffled, augmented batches (after one warm-up batch
    that starts the workers), the caller spending `step_ms` on each (a sleep, as while a GPU
    computes)."""
    kind, workers, read_ahead = mode
    ds = kind(path, "train", augment_rc=True, augment_shift=3, seed=0, sequence="codes")
    if len(ds) < batch:
        raise SystemExit(f"--windows {len(ds)}: fewer than one batch of {batch}")
    loader = make_loader(
        ds, batch, seed=0, num_workers=workers, read_ahead=read_ahead, drop_last=True
    )
    it = iter(loader)
    next(it)
    count, start = 0, time.perf_counter()
    for _ in range(batches):
        try:
            got = next(it)
        except StopIteration:
            break
        count += len(got["index"])
        time.sleep(step_ms / 1000)
    seconds = time.perf_counter() - start
    del it, loader
    return seconds, count


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dir", type=Path, help="where to write the store [a temp dir]")
    parser.add_argument("--windows", type=int, default=256)
    parser.add_argument("--tracks", type=int, default=5313)
    parser.add_argument("--batch", type=int, default=4)
    parser.add_argument("--batches", type=int, default=40, help="batches timed per pass")
    parser.add_argument(
        "--workers", default="2", help="also DataLoader worker processes, comma-separated"
    )
    parser.add_argument(
        "--read-ahead", default="2", help="batches read ahead on threads, comma-separated [2]"
    )
    parser.add_argument(
        "--step-ms", default="0", help="the caller's time per batch, comma-separated [0]"
    )
    parser.add_argument("--keep", action="store_true", help="keep the store (path printed)")
    parser.add_argument("--store", type=Path, help="reuse a store kept by an earlier run")
    parser.add_argument(
        "--default-malloc", action="store_true", help="leave glibc's allocator untuned"
    )
    parser.add_argument("--json", type=Path, help="also write the results here")
    parser.add_argument("--parts", default="loader,codec", help="what to measure")
    parser.add_argument(
        "--kind", default="sparse", choices=["dense", "sparse"], help="the store's targets"
    )
    parser.add_argument(
        "--compressed", type=int, metavar="LEVEL", help="also read a compressed copy"
    )
    parser.add_argument("--codec-windows", type=int, default=16)
    parser.add_argument("--codec-levels", default="1,6")
    parser.add_argument("--codec-repeats", type=int, default=3, help="decoding passes timed")
    args = parser.parse_args()
    if not args.default_malloc:
        tune_malloc()  # as the crossreg command does at start
    root = args.store.parent if args.store else Path(tempfile.mkdtemp(dir=args.dir))
    cores = len(os.sched_getaffinity(0))  # those `taskset` leaves, not all the machine's
    results: dict = {"batch": args.batch, "cores": cores, "passes": []}
    if "codec" in args.parts:
        levels = [int(v) for v in args.codec_levels.split(",")]
        results["codec"] = codec_figures(
            args.tracks, args.codec_windows, levels, args.codec_repeats
        )
    try:
        if "loader" in args.parts:
            loader_figures(args, root, results)
    finally:  # the passes measured so far, also when a time limit interrupts the run
        if args.keep or args.store:
            print(f"store kept: {root / 'store'}")
        else:
            shutil.rmtree(root, ignore_errors=True)
        if args.json:
            args.json.write_text(json.dumps(results, indent=1))


def loader_figures(args: argparse.Namespace, root: Path, results: dict) -> None:
    """The sequential read ceiling and every reader of :data:`MODES`, cold and warm."""
    start = time.perf_counter()
    store: Path = args.store or write_store(root / "store", args.windows, args.tracks, args.kind)
    args.windows, args.tracks = np.load(store / "targets.npy", mmap_mode="r").shape[::2]
    example_bytes = BINS * args.tracks * 2
    results.update(windows=args.windows, tracks=args.tracks)
    results["target_mib_per_example"] = example_bytes / 2**20
    size = (store / "targets.npy").stat().st_size
    print(
        f"store: {args.windows} examples × {example_bytes / 2**20:.1f} MiB of targets "
        f"({size / 1e9:.2f} GB) written in {time.perf_counter() - start:.0f} s; "
        f"{results['cores']} cores"
    )
    for state in ("cold", "warm"):
        left = evict(store) if state == "cold" else None
        seconds = sequential_read(store / "targets.npy")
        row = {"what": "sequential read", "state": state, "cached_before": left}
        row["gb_per_s"] = size / seconds / 1e9
        results["passes"].append(row)
        print(f"sequential read of targets.npy, {state}: {row['gb_per_s']:.2f} GB/s")
    modes: dict[str, tuple[Mode, Path]] = {label: (mode, store) for label, mode in MODES.items()}
    depths = [int(d) for d in args.read_ahead.split(",") if d.strip()]
    for depth in depths:
        modes[f"preadv per row, {depth} batches read ahead"] = ((SplitDataset, 0, depth), store)
    for w in (int(w) for w in args.workers.split(",") if w.strip()):
        modes[f"{w} worker processes (shared memory)"] = ((SplitDataset, w, 0), store)
    if args.compressed is not None:
        start = time.perf_counter()
        packed = compressed_copy(store, args.compressed)
        packed_size = (packed / "targets.rows").stat().st_size
        results["compressed"] = {"level": args.compressed, "ratio": size / packed_size}
        print(
            f"compressed copy (level {args.compressed}): {packed_size / 1e9:.2f} GB, ratio "
            f"{size / packed_size:.2f}, in {time.perf_counter() - start:.0f} s"
        )
        for depth in depths:
            label = f"compressed store (level {args.compressed}), {depth} batches read ahead"
            modes[label] = ((SplitDataset, 0, depth), packed)
    for step_ms in (float(t) for t in args.step_ms.split(",")):
        for label, (mode, path) in modes.items():
            for state in ("cold", "warm"):
                left = evict(path) if state == "cold" else None
                if state == "warm":  # the page cache holds the whole store
                    for name in ("targets.npy", "targets.rows"):
                        if (path / name).exists():
                            sequential_read(path / name)
                seconds, count = loader_pass(path, mode, args.batch, args.batches, step_ms)
                row = {
                    "what": label,
                    "step_ms": step_ms,
                    "state": state,
                    "cached_before": left,
                    "examples_per_s": count / seconds,
                    "target_gb_per_s": count * example_bytes / seconds / 1e9,
                }
                results["passes"].append(row)
                cached = "" if left is None else f" (cached before: {100 * left:.1f}%)"
                print(
                    f"{label}, step {step_ms:g} ms, {state}{cached}: "
                    f"{row['examples_per_s']:.1f} examples/s, "
                    f"{row['target_gb_per_s']:.2f} GB/s of targets",
                    flush=True,
                )


if __name__ == "__main__":
    main()
