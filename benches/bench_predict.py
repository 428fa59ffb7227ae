"""Genome-wide prediction throughput: ``crossreg predict --bigwig`` (tiling, model,
chunk files, BigWigs) in windows/s and Mbp/s, and the time one human chromosome would take.

A random genome of ``--mbp`` Mbp (one chromosome) and a model with random weights (timing
does not depend on them): the demo's joint model (``crossreg.demo.demo_params``: 8,192-bp
windows, 48 kept bins of 128 bp, 24 tracks a head; the model ``crossreg demo`` trains on
the mini world), or the full cross2020 human model (131,072 bp → 896 bins × 5,313 tracks).
For each, two timings:

* ``model``: the tiles' windows through the model with every track of the head
  (:func:`crossreg.predict.bigwig_chunks.predict_tiles`: one-hot in a background thread, model,
  central bins kept), nothing written;
* ``end to end``: :func:`crossreg.predict.bigwig.write_bigwigs` from the checkpoint on
  disk to the BigWigs of the ``--targets`` tracks (default: all of the demo's, the first
  ten of the full model's), of which the final BigWig pass is timed alone.

Windows per CPU second (the process's CPU time, all its threads) tells a machine shared
with other work apart from a slow one. Mbp/s counts the bp of the bins written (a
window's central bins); chr1 (248,956,422 bp) needs ``ceil((248,956,422 − seq_length) /
span) + 1`` windows, its estimate is that count over the model's windows/s. By default
the demo model runs on the CPU, and the full model too when CUDA is present (on the GPU);
``--models`` picks.

    python benches/bench_predict.py [--models demo full] [--device cpu|cuda] [--bf16]
        [--mbp 2] [--full-mbp 4] [--batch-size 8] [--targets SPEC] [--threads N]
"""

from __future__ import annotations

import argparse
import math
import platform
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_sad import build_model, parse_timing_arguments, save_random_checkpoint

from crossreg.genome import Genome
from crossreg.model.inference import InferenceOptions
from crossreg.model.tiling import Geometry, chromosome_intervals, plan_tiles
from crossreg.predict import bigwig, bigwig_chunks, bigwig_shards

CHR1_BP = 248_956_422
COLUMNS = (
    "model",
    "genome",
    "windows",
    "model: windows/s",
    "Mbp/s",
    "windows per CPU s",
    "end to end: s",
    "of it BigWigs",
    "tracks written",
    "chr1 estimate",
)
HEAD = "human"


def random_genome(directory: Path, mbp: float) -> Path:
    """One random chromosome ``chr1`` of `mbp` Mbp as FASTA."""
    size = int(mbp * 1e6)
    bases = np.frombuffer(b"ACGT", np.uint8)[np.random.default_rng(1).integers(0, 4, size)]
    fasta = directory / f"genome_{size}.fa"
    fasta.write_bytes(b">chr1\n" + bases.tobytes() + b"\n")
    return fasta


def chromosome_windows(length: int, geometry: Geometry) -> int:
    """Windows that tile a chromosome of `length` bp."""
    return math.ceil((length - geometry.seq_length) / geometry.span) + 1


def time_model(
    model, fasta: Path, options: InferenceOptions, warmup: bool
) -> tuple[int, int, float, float]:
    """Windows, bins, wall and process CPU seconds of the tiles of `fasta` through the
    model, all tracks."""
    genome = Genome(fasta)
    geometry = Geometry.of(model)
    intervals = chromosome_intervals(genome.sizes, None, geometry, source=str(fasta))
    tiles = plan_tiles(intervals, genome.sizes, geometry)
    if warmup:
        for _ in bigwig_chunks.predict_tiles(
            model, genome, tiles[: options.batch_size], HEAD, options
        ):
            pass
    synchronize(model)
    start, cpu = time.perf_counter(), time.process_time()
    bins = sum(v.shape[1] for v in bigwig_chunks.predict_tiles(model, genome, tiles, HEAD, options))
    synchronize(model)
    return len(tiles), bins, time.perf_counter() - start, time.process_time() - cpu


def synchronize(model) -> None:
    if next(model.parameters()).device.type == "cuda":
        torch.cuda.synchronize()


def time_end_to_end(
    checkpoint: Path, fasta: Path, out: Path, options: InferenceOptions, targets: str | None
) -> tuple[float, float, int]:
    """Seconds of ``write_bigwigs`` in all and of its BigWig pass, and tracks written."""
    original = bigwig_shards.write_track_files
    spent = {"write": 0.0}

    def timed(*args, **kwargs):
        start = time.perf_counter()
        written = original(*args, **kwargs)
        spent["write"] = time.perf_counter() - start
        return written

    bigwig_shards.write_track_files = timed
    try:
        start = time.perf_counter()
        result = bigwig.write_bigwigs(
            checkpoint, fasta, out, head=HEAD, tracks=targets, options=options
        )
        total = time.perf_counter() - start
    finally:
        bigwig_shards.write_track_files = original
    return total, spent["write"], result.tracks


def main() -> None:
    cuda = torch.cuda.is_available()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", choices=["demo", "full"], default=None)
    parser.add_argument("--device", default="cuda" if cuda else "cpu")
    parser.add_argument("--bf16", action="store_true", help="bfloat16 autocast")
    parser.add_argument("--mbp", type=float, default=2.0, help="genome size for the demo model")
    parser.add_argument("--full-mbp", type=float, default=4.0, help="genome size, full model")
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--targets", default=None, help="tracks written (default: see above)")
    args = parse_timing_arguments(parser)
    models = args.models or (["demo", "full"] if cuda else ["demo"])
    device = torch.device(args.device)
    precision = ", bf16" if args.bf16 else ""
    print(
        f"# {platform.processor() or platform.machine()}, torch {torch.__version__}, "
        f"{torch.get_num_threads()} threads, device {device}{precision}"
    )
    print("| " + " | ".join(COLUMNS) + " |")
    print("|" + "---|" * len(COLUMNS))
    options = InferenceOptions(device=str(device), bf16=args.bf16, batch_size=args.batch_size)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        for name in models:
            model, raw = build_model(name, device)
            checkpoint = save_random_checkpoint(model.cpu(), raw, root / name)
            model.to(device)
            fasta = random_genome(root, args.mbp if name == "demo" else args.full_mbp)
            windows, bins, seconds, cpu = time_model(model, fasta, options, args.warmup)
            geometry = Geometry.of(model)
            targets = args.targets if args.targets or name == "demo" else "0-9"
            total, writing, tracks = time_end_to_end(
                checkpoint, fasta, root / f"{name}_bw", options, targets
            )
            rate = windows / seconds
            chr1 = chromosome_windows(CHR1_BP, geometry) / rate
            mbp = Genome(fasta).sizes["chr1"] / 1e6
            print(
                f"| {name} | {mbp:g} Mbp | {windows} | {rate:.1f} | "
                f"{bins * geometry.bin_width / 1e6 / seconds:.3f} | {windows / cpu:.2f} | "
                f"{total:.1f} | {writing:.1f} | "
                f"{tracks} | {chr1 / 60:.1f} min |"
            )
            del model


if __name__ == "__main__":
    main()
