"""Per-track Pearson R sums (`crossreg.model.metrics.TrackMetrics.update`, which evaluate
and training's validation call once a batch) at the paper's widths: the batch summed in
chunks of rows (`CHUNK_VALUES` values at a time, now) beside the whole batch at once in
float64 (before).

    python benches/bench_track_metrics.py [--device cpu|cuda] [--repeats 3]

Per shape and variant: the median milliseconds of one update and its peak memory above
its inputs (on a CPU the resident memory of a fresh process, each variant in its own, with
the command line's allocator settings; on CUDA the peak allocated).
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import time

import torch

from crossreg.memory import tune_malloc
from crossreg.model import metrics

BINS = 896
SHAPES = ((4, 5313), (16, 5313), (8, 1643))  # (batch, tracks): human and mouse heads
WHOLE_BATCH = 1 << 62  # one chunk: the whole batch in float64, as before


def measure(device: str, batch: int, tracks: int, chunk: int, repeats: int) -> dict:
    """Median ms of an update and its peak MiB above the inputs, with `chunk` values a
    chunk (run in a fresh process on a CPU, so that its resident peak is the update's)."""
    tune_malloc()  # as the command line does
    metrics.CHUNK_VALUES = chunk
    torch.manual_seed(0)
    pred = torch.rand(batch, BINS, tracks, device=device)
    target = torch.rand(batch, BINS, tracks, device=device)
    sums = metrics.TrackMetrics(tracks, device=device)
    sums.update(pred[:1, :8], target[:1, :8])  # warm up
    cuda = device.startswith("cuda")
    if cuda:
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
        base = torch.cuda.memory_allocated()
    else:
        base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        sums.update(pred, target)
        if cuda:
            torch.cuda.synchronize()
        times.append((time.perf_counter() - start) * 1000)
    if cuda:
        peak = torch.cuda.max_memory_allocated() - base
    else:
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 - base
    return {"ms": statistics.median(times), "peak_mib": peak / 2**20}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--one", nargs=3, type=int, help=argparse.SUPPRESS)  # batch tracks chunk
    args = parser.parse_args()
    if args.one:
        batch, tracks, chunk = args.one
        print(json.dumps(measure(args.device, batch, tracks, chunk, args.repeats)))
        return
    print(f"device {args.device}, torch threads {torch.get_num_threads()}")
    print("| batch | tracks | variant | ms an update | peak above the inputs |")
    print("|---|---|---|---|---|")
    for batch, tracks in SHAPES:
        for name, chunk in (("whole batch (before)", WHOLE_BATCH), ("chunks (now)", None)):
            chunk = chunk or metrics.CHUNK_VALUES
            argv = [sys.executable, __file__, "--device", args.device]
            argv += ["--repeats", str(args.repeats), "--one", str(batch), str(tracks), str(chunk)]
            done = subprocess.run(argv, capture_output=True, text=True, check=True)
            got = json.loads(done.stdout)
            print(
                f"| {batch} | {tracks:,} | {name} | {got['ms']:.0f} | {got['peak_mib']:.0f} MiB |"
            )


if __name__ == "__main__":
    main()
