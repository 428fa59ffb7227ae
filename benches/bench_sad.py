"""SAD throughput of ``crossreg.variants`` (window building, one-hot, model, alt − ref sums),
scoring only and end to end (``write_sad``: VCF on disk → chunk files → ``.h5``).

A random 2-Mbp genome and random SNPs; the model has random weights (timing does not
depend on them): the demo's joint model (``crossreg.demo.demo_params``, 8,192 bp → 48
bins × 18 tracks a head), the mini fixture architecture (8,192 bp) or the full cross2020
human one (131,072 bp → 896 bins × 5,313 tracks). Two input shapes:

* ``sparse``: SNPs at random positions of the chromosome, about one per 2-Mbp / n, so
  hardly two share a reference window;
* ``dense``: 1000-Genomes-like clumps, stretches of 20-200 records one every 30-120 bp
  (mean 75), a tenth of them bi-allelic (two ALTs at one position), where sharing
  reference windows pays.

For each shape and ensemble (plain, ``--rc --shifts 1,0,-1``) the scoring table gives the
sequences through the model per allele and alleles/s with exact sharing only
(``cluster_bp=0``: the ALTs of one record share a reference window) and with
``--cluster-bp`` (SNPs of each D-bp tile share one), and their ratio. The end-to-end table
runs ``write_sad`` on a VCF of ``--vcf-records`` records (dense shape) and sets it beside
scoring the same alleles in memory; model loading and the VCF's counting pass are
timed alone, the rest (allele checks, chunk files, the final ``.h5``) is the difference.
Times are the best of ``--repeats`` runs (the machine may be shared).

    python benches/bench_sad.py [--model demo|mini|full] [--device cpu|cuda] [--bf16]
        [--alleles 512] [--rc-alleles N] [--batch-size 8] [--density sparse dense]
        [--ensemble plain rc] [--cluster-bp 1024] [--vcf-records 100 5000] [--repeats 3]
        [--no-warmup] [--threads N]
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import tempfile
import time
from collections.abc import Callable, Hashable, Mapping, Sequence
from functools import partial
from pathlib import Path
from typing import TypedDict, TypeVar

import numpy as np
import torch

from crossreg.demo import demo_params
from crossreg.genome import Genome
from crossreg.io.targets import Target
from crossreg.io.vcf import Variant, write_vcf
from crossreg.model.checkpoint import make_config, save_checkpoint
from crossreg.model.inference import InferenceOptions, load_head
from crossreg.model.params import parse_params
from crossreg.model.seqnn import SeqNN
from crossreg.synth.cells import track_specs
from crossreg.synth.species import species_of
from crossreg.variants.alleles import Allele
from crossreg.variants.sad import write_sad
from crossreg.variants.sad_survey import survey_vcf
from crossreg.variants.scoring import (
    allele_windows,
    reference_keys,
    score_stats,
    scored_alleles,
    shared_layout,
    window_starts,
)

FIXTURES = Path(__file__).resolve().parent.parent / "tests" / "data" / "basenji_fixtures"
FIXTURE_PARAMS = {"mini": "params_joint_mini.json", "full": "params_human.json"}
MODELS = ("demo", "mini", "full")
CHROM = "chr1"
CHROM_BP = 2_000_000
HEAD = "human"


class Ensemble(TypedDict, total=False):
    """The :class:`InferenceOptions` fields of an rc/shift ensemble."""

    rc: bool
    shifts: tuple[int, ...]


ENSEMBLES: dict[str, Ensemble] = {
    "plain": {},
    "rc": {"rc": True, "shifts": (1, 0, -1)},
}
ENSEMBLE_LABELS = {"plain": "plain", "rc": "`--rc --shifts 1,0,-1`"}


def model_params(name: str) -> dict:
    """The raw params dict of a model: the demo's joint model with the demo world's track
    counts, or a Basenji fixture's params JSON."""
    if name == "demo":
        return demo_params({s.name: len(track_specs(s.name, s.prefix)) for s in species_of(2)})
    return json.loads((FIXTURES / FIXTURE_PARAMS[name]).read_text())


def build_model(name: str, device: torch.device) -> tuple[SeqNN, dict]:
    """A randomly initialised model (the human head, and the demo's mouse head) and its
    params dict."""
    torch.manual_seed(0)
    raw = model_params(name)
    params = parse_params(raw, name)
    if name == "demo":
        model = SeqNN(params.model)
    else:
        model = SeqNN(params.model.select_heads({HEAD: params.model.heads[0].key}))
    return model.to(device).eval(), raw


def save_random_checkpoint(model: SeqNN, raw: dict, directory: Path) -> Path:
    """`model` as a checkpoint directory with placeholder tracks, for ``write_sad``."""
    targets = {
        g: [
            Target(i, f"{g}_{i}", (), 32.0, 1.0, "sum", f"DNASE:{g} track {i}")
            for i in range(model.num_targets(g))
        ]
        for g in model.genomes
    }
    return save_checkpoint(directory, model, make_config(model, raw, targets))


def random_genome(directory: Path) -> tuple[Path, np.ndarray]:
    """A random ``chr1`` of `CHROM_BP` bases written as FASTA; returns its path and codes."""
    fasta = directory / "genome.fa"
    bases = np.frombuffer(b"ACGT", np.uint8)[np.random.default_rng(1).integers(0, 4, CHROM_BP)]
    fasta.write_bytes(b">chr1\n" + bases.tobytes() + b"\n")
    return fasta, bases


def _record(bases: np.ndarray, pos: int, n_alts: int, rng: np.random.Generator) -> Variant:
    ref = chr(bases[pos])
    others = [b for b in "ACGT" if b != ref]
    alts = tuple(str(a) for a in rng.choice(others, size=n_alts, replace=False))
    return Variant(CHROM, pos, ref, alts, id=f"v{pos + 1}")


def sparse_records(bases: np.ndarray, n: int, seed: int = 0) -> list[Variant]:
    """`n` single-ALT SNP records at distinct random positions, sorted."""
    rng = np.random.default_rng(seed)
    positions = np.sort(rng.choice(CHROM_BP, size=n, replace=False))
    return [_record(bases, int(p), 1, rng) for p in positions]


def dense_records(bases: np.ndarray, alleles: int, seed: int = 0) -> list[Variant]:
    """SNP records with at least `alleles` ALTs in clumps: stretches of 20-200 records one
    every 30-120 bp, a tenth of them with two ALTs; sorted, one record per position."""
    rng = np.random.default_rng(seed)
    records: dict[int, Variant] = {}
    count = 0
    while count < alleles:
        pos = int(rng.integers(0, CHROM_BP - 20_000))
        for _ in range(int(rng.integers(20, 201))):
            pos += int(rng.integers(30, 121))
            if pos >= CHROM_BP or count >= alleles:
                break
            if pos not in records:
                records[pos] = _record(bases, pos, 2 if rng.random() < 0.1 else 1, rng)
                count += len(records[pos].alts)
    return [records[p] for p in sorted(records)]


def make_records(bases: np.ndarray, density: str, alleles: int, seed: int = 0) -> list[Variant]:
    """Records of the given shape with about `alleles` ALTs (sparse: exactly)."""
    if density == "sparse":
        return sparse_records(bases, alleles, seed)
    return dense_records(bases, alleles, seed)


def sequences_per_allele(
    alleles: Sequence[Allele], genome: Genome, seq_length: int, batch: int, cluster_bp: int
) -> float:
    """Windows through the model per allele: each batch's distinct reference windows plus
    one alternative window per allele (2.0 without any sharing)."""
    starts = window_starts(alleles, seq_length, cluster_bp)
    keys = reference_keys(alleles, genome, starts)
    total = 0
    for i in range(0, len(keys), batch):
        firsts, _ = shared_layout(keys[i : i + batch])
        total += len(firsts) + len(keys[i : i + batch])
    return total / max(len(keys), 1)


K = TypeVar("K", bound=Hashable)


def best_times(
    runs: Mapping[K, Callable[[], object]], repeats: int, device: torch.device
) -> dict[K, float]:
    """The shortest wall time of each of `runs` over `repeats` rounds; each round calls
    every run once, in turn, so that what is compared sees the same load on a shared
    machine."""
    best = dict.fromkeys(runs, float("inf"))
    for _ in range(repeats):
        for key, run in runs.items():
            if device.type == "cuda":
                torch.cuda.synchronize()
            start = time.perf_counter()
            run()
            if device.type == "cuda":
                torch.cuda.synchronize()
            best[key] = min(best[key], time.perf_counter() - start)
    return best


def scoring_run(
    model: SeqNN,
    alleles: Sequence[Allele],
    genome: Genome,
    options: InferenceOptions,
    cluster_bp: int,
    warmup: bool = True,
) -> Callable[[], None]:
    """A call that scores `alleles` (SAD) in memory, made after a one-batch warm-up."""

    def run(part: Sequence[Allele] = alleles) -> None:
        for _ in score_stats(model, part, genome, HEAD, options, cluster_bp=cluster_bp):
            pass

    if warmup:
        run(alleles[: options.batch_size])
    return run


def rate(per_second: float) -> str:
    """A rate with 3 or more significant digits."""
    return f"{per_second:,.1f}" if per_second >= 100 else f"{per_second:.3g}"


def options_for(args: argparse.Namespace, ensemble: str) -> InferenceOptions:
    return InferenceOptions(
        device=args.device, batch_size=args.batch_size, bf16=args.bf16, **ENSEMBLES[ensemble]
    )


def scoring_table(
    args: argparse.Namespace, model: SeqNN, genome: Genome, bases: np.ndarray
) -> list[str]:
    device = torch.device(args.device)
    rows = [
        f"| input | ensemble | alleles | sequences/allele, exact | alleles/s, exact | "
        f"sequences/allele, `--cluster-bp {args.cluster_bp}` | "
        f"alleles/s, `--cluster-bp {args.cluster_bp}` | clustered / exact | window building |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    print("\n".join(rows), flush=True)
    for density in args.density:
        records = make_records(bases, density, args.alleles)
        every = scored_alleles(records, genome, source=density, seq_length=model.seq_length)
        for ensemble in args.ensemble:
            n = args.alleles if ensemble == "plain" else (args.rc_alleles or args.alleles)
            alleles = every[:n]
            options = options_for(args, ensemble)
            clusters = {"exact": 0, "clustered": args.cluster_bp}
            runs = {
                key: scoring_run(model, alleles, genome, options, bp, args.warmup)
                for key, bp in clusters.items()
            }
            seconds = best_times(runs, args.repeats, device)
            cells = []
            for key, bp in clusters.items():
                per = sequences_per_allele(alleles, genome, model.seq_length, args.batch_size, bp)
                cells += [f"{per:.3f}", rate(len(alleles) / seconds[key])]
            start = time.perf_counter()
            for i in range(0, len(alleles), args.batch_size):
                allele_windows(alleles[i : i + args.batch_size], genome, model.seq_length)
            windows = time.perf_counter() - start
            rows.append(
                f"| {density} | {ENSEMBLE_LABELS[ensemble]} | {len(alleles)} | "
                + " | ".join(cells)
                + f" | {seconds['exact'] / seconds['clustered']:.2f}× | "
                f"{100 * windows / seconds['exact']:.1f} % |"
            )
            print(rows[-1], flush=True)
    return rows


def end_to_end_table(
    args: argparse.Namespace,
    model: SeqNN,
    raw: dict,
    genome: Genome,
    fasta: Path,
    bases: np.ndarray,
    tmp: Path,
) -> list[str]:
    device = torch.device(args.device)
    checkpoint = save_random_checkpoint(model, raw, tmp / "checkpoint")
    rows = [
        "| VCF (dense) | ensemble | records | alleles | `write_sad` s | alleles/s end to end | "
        "alleles/s scoring only | model load s | VCF pass s | rest s | end to end / scoring |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    print("\n" + "\n".join(rows), flush=True)
    for n_records in args.vcf_records:
        records = dense_records(bases, 2 * n_records, seed=2)[:n_records]
        vcf = tmp / f"variants_{n_records}.vcf"
        write_vcf(vcf, records, contigs={CHROM: CHROM_BP})
        alleles = scored_alleles(records, genome, source=str(vcf), seq_length=model.seq_length)
        for ensemble in args.ensemble:
            if ensemble != "plain" and args.rc_alleles and len(alleles) > args.rc_alleles:
                continue  # the ensemble only on VCFs of at most --rc-alleles alleles
            options = options_for(args, ensemble)
            out = tmp / f"sad_{n_records}_{ensemble}.h5"

            def passes(vcf: Path = vcf) -> None:
                survey = survey_vcf(vcf, genome, model.seq_length, source=str(vcf))
                survey.plan(0, survey.kept)

            def run(out: Path = out, vcf: Path = vcf, options: InferenceOptions = options) -> None:
                out.unlink(missing_ok=True)
                write_sad(checkpoint, fasta, vcf, out, head=HEAD, options=options, plots=False)

            runs: dict[str, Callable[[], object]] = {
                "scoring": scoring_run(model, alleles, genome, options, 0, args.warmup),
                "load": partial(load_head, checkpoint, HEAD, options),
                "passes": passes,
                "total": run,
            }
            seconds = best_times(runs, args.repeats, device)
            total, scoring = seconds["total"], seconds["scoring"]
            load, passes_s = seconds["load"], seconds["passes"]
            rest = total - scoring - load - passes_s
            rows.append(
                f"| {n_records} records | {ENSEMBLE_LABELS[ensemble]} | {n_records} | "
                f"{len(alleles)} | {total:.2f} | {rate(len(alleles) / total)} | "
                f"{rate(len(alleles) / scoring)} | {load:.2f} | {passes_s:.3f} | {rest:.2f} | "
                f"{total / scoring:.2f}× |"
            )
            print(rows[-1], flush=True)
    return rows


def describe_model(name: str, model: SeqNN) -> str:
    """``demo model, 8,192 bp → 48 bins × 24 tracks``: a bench model's shape."""
    return (
        f"{name} model, {model.seq_length:,} bp → {model.output_length():,} bins × "
        f"{model.num_targets(HEAD):,} tracks"
    )


def describe_machine(device: torch.device) -> str:
    if device.type == "cuda":
        where = torch.cuda.get_device_name(device)
    else:
        model = platform.processor() or platform.machine()
        try:
            for line in Path("/proc/cpuinfo").read_text().splitlines():
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
        except OSError:
            pass
        where = f"{model}, {os.cpu_count()} cores, torch threads {torch.get_num_threads()}"
    return f"{where}; torch {torch.__version__}"


def add_model_arguments(parser: argparse.ArgumentParser) -> None:
    """``--model`` (one of :data:`MODELS`), ``--device`` and ``--bf16``: what every
    variant-scoring bench runs."""
    parser.add_argument("--model", choices=MODELS, default="demo")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--bf16", action="store_true")


def parse_timing_arguments(parser: argparse.ArgumentParser) -> argparse.Namespace:
    """Add the options every throughput bench shares (``--no-warmup``, ``--threads``),
    parse, and quiet crossreg's progress and logs so they do not take part in the timing."""
    parser.add_argument(
        "--no-warmup",
        dest="warmup",
        action="store_false",
        help="skip the one-batch warm-up before each timing (for slow models on a CPU)",
    )
    parser.add_argument("--threads", type=int, default=0, help="torch CPU threads (0: default)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    os.environ.setdefault("CROSSREG_PROGRESS", "off")
    logging.getLogger("crossreg").setLevel(logging.ERROR)
    return args


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_model_arguments(parser)
    parser.add_argument("--alleles", type=int, default=512, help="alleles scored per row")
    parser.add_argument(
        "--rc-alleles",
        type=int,
        default=0,
        help="alleles of the rc scoring rows, and the largest VCF (in alleles) run end to end "
        "with rc (default: --alleles, every VCF)",
    )
    parser.add_argument("--batch-size", type=int, default=8, help="alleles per batch")
    parser.add_argument(
        "--density", nargs="+", choices=("sparse", "dense"), default=["sparse", "dense"]
    )
    parser.add_argument("--ensemble", nargs="+", choices=list(ENSEMBLES), default=list(ENSEMBLES))
    parser.add_argument("--cluster-bp", type=int, default=1024)
    parser.add_argument(
        "--vcf-records",
        type=int,
        nargs="*",
        default=[100, 5000],
        help="records of each end-to-end VCF (none: no end-to-end table)",
    )
    parser.add_argument("--repeats", type=int, default=3, help="timed runs; the best is kept")
    args = parse_timing_arguments(parser)
    device = torch.device(args.device)
    model, raw = build_model(args.model, device)
    print(
        f"{describe_model(args.model, model)}; {device}, batch {args.batch_size} alleles, "
        f"bf16 {args.bf16}; {describe_machine(device)}; best of {args.repeats}",
        flush=True,
    )
    with tempfile.TemporaryDirectory() as name:
        tmp = Path(name)
        fasta, bases = random_genome(tmp)
        genome = Genome(fasta)
        scoring_table(args, model, genome, bases)
        if args.vcf_records:
            end_to_end_table(args, model, raw, genome, fasta, bases, tmp)


if __name__ == "__main__":
    main()
