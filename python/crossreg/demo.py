"""The whole pipeline on generated data: synth → split → data → train → evaluate → compare.

``crossreg demo --out DIR`` writes every step's files under DIR, each rerunnable on its own
with the command it logs, and ends with ``summary.json`` / ``summary.txt``: per genome and
assay, the test Pearson R of the joint and single-genome models beside the synthetic
ceiling (the R of the measured targets against the noise-free ones, same test windows,
same transforms: the best any model can reach), the share of tracks the joint model
improves with its binomial test, and the scatter plots.

The genomes are a few Mbp, so lengths shrink with them: 100-kbp regions joined above
10 kbp of alignment (the paper: 1 Mbp and 100 kbp on 3 Gbp genomes; 50-kbp regions for
the tiny genomes of ``--fast``), 8,192-bp windows with 48 target bins, and a
Basenji2-shaped model of about 180,000 weights trained with bf16 autocast.
"""

from __future__ import annotations

import json
import logging
import os
import shlex
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl
import torch

from crossreg.cli import CommandError
from crossreg.cli import main as crossreg_main
from crossreg.data.store import DataStore
from crossreg.evaluate.compare import compare_by_assay, paired_tracks
from crossreg.evaluate.table import read_metrics
from crossreg.io.atomic import atomic_write
from crossreg.plots import joint_vs_single_scatter
from crossreg.train.metrics import TrackMetrics
from crossreg.variants.recovery import effect_recovery, sad_long

log = logging.getLogger("crossreg")

SEQ_LENGTH = 8192
CROP_BINS = 8


@dataclass(frozen=True)
class DemoSettings:
    """Sizes of one demo run."""

    preset: str = "mini"
    region_size: int = 100_000
    max_epochs: int = 15
    patience: int = 5
    steps_per_epoch: int | None = None
    seed: int = 0


FAST = DemoSettings(preset="tiny", region_size=50_000, max_epochs=2, patience=1, steps_per_epoch=8)


def demo_params(tracks: dict[str, int]) -> dict:
    """A Basenji2-shaped params dict for 8,192-bp windows: the same block types (conv block,
    conv tower to 128-bp bins, dilated residual blocks, cropping, final conv block, one
    softplus head per genome), far fewer filters."""
    model: dict = {
        "seq_length": SEQ_LENGTH,
        "activation": "gelu",
        "norm_type": "batch",
        "bn_momentum": 0.9,
        "trunk": [
            {"name": "conv_block", "filters": 48, "kernel_size": 15, "pool_size": 2},
            {
                "name": "conv_tower",
                "filters_init": 48,
                "filters_mult": 1.12,
                "kernel_size": 5,
                "pool_size": 2,
                "repeat": 6,
            },
            {
                "name": "dilated_residual",
                "filters": 32,
                "rate_mult": 1.5,
                "repeat": 4,
                "dropout": 0.1,
                "round": True,
            },
            {"name": "Cropping1D", "cropping": CROP_BINS},
            {"name": "conv_block", "filters": 96, "dropout": 0.05},
        ],
    }
    for genome, units in tracks.items():
        model[f"head_{genome}"] = {"name": "final", "units": units, "activation": "softplus"}
    # Basenji's optimiser: on small data it learns motifs where Adam memorises windows
    train = {
        "batch_size": 4,
        "optimizer": "sgd",
        "learning_rate": 0.05,
        "momentum": 0.98,
        "clip_norm": 2,
    }
    return {"train": train, "model": model}


def _run(args: list[str]) -> None:
    """Run one ``crossreg`` step, logging the equivalent command line."""
    log.info("$ crossreg %s", shlex.join(args))
    level = log.level
    try:
        code = crossreg_main(["-q", *args])
    finally:
        log.setLevel(level)  # the step ran quietly; the demo keeps logging its steps
    if code != 0:
        raise CommandError(f"demo step failed: crossreg {shlex.join(args)}")


def _data_args(name: str, files: dict[str, Path], targets: Path, regions: Path, out: Path) -> list:
    """The ``crossreg data`` command line for one genome's store of `targets`."""
    args = ["data", "--genome", name, "--fasta", str(files["fasta"]), "--targets", str(targets)]
    args += ["--regions", str(regions), "--blacklist", str(files["blacklist"])]
    args += ["--unmappable", str(files["unmappable"]), "--gaps", str(files["gaps"])]
    args += ["--seq-length", str(SEQ_LENGTH), "--stride", str(SEQ_LENGTH // 2)]
    return [*args, "--crop", str(CROP_BINS), "--overwrite", "--out", str(out)]


def store_ceilings(measured: Path, noise_free: Path, split: str = "test") -> dict[str, float]:
    """Per-track Pearson R of the measured targets against the noise-free ones on `split`.

    Both stores hold the same windows through the same transforms (clipping, scaling,
    masking), so this is the best R any model can reach there, measured as the models are.
    """
    a, b = DataStore(measured), DataStore(noise_free)
    ids = a.table.identifiers
    if a.windows(split) != b.windows(split) or a.num_targets != b.num_targets:
        raise CommandError(f"{measured} and {noise_free} do not hold the same windows and tracks")
    metrics = TrackMetrics(len(ids))
    y, clean = a.targets(split), b.targets(split)
    for start in range(0, len(y), 64):
        metrics.update(
            torch.from_numpy(clean[start : start + 64].astype(np.float32)),
            torch.from_numpy(y[start : start + 64].astype(np.float32)),
        )
    return dict(zip(ids, metrics.pearson_r().tolist(), strict=True))


def run_demo(out: str | os.PathLike[str], settings: DemoSettings = DemoSettings()) -> dict:
    """Run every step into `out`; returns the summary (also written as summary.json)."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    synth = out / "synth"
    _run(["synth", "--preset", settings.preset, "--seed", str(settings.seed), "--out", str(synth)])
    manifest = json.loads((synth / "manifest.json").read_text())
    genomes = list(manifest["genomes"])

    split_args = ["split", "--out", str(out / "split"), "--region-size", str(settings.region_size)]
    split_args += ["--min-aligned", "10000", "--seed", str(settings.seed)]
    for name in genomes:
        split_args += ["--sizes", f"{name}={synth / manifest['genomes'][name]['sizes']}"]
    for net in manifest["nets"]:
        split_args += ["--net", f"{','.join(net['genomes'])}={synth / net['file']}"]
    _run(split_args)

    stores: dict[str, Path] = {}
    noise_free: dict[str, Path] = {}
    for name in genomes:
        files = {k: synth / v for k, v in manifest["genomes"][name].items() if isinstance(v, str)}
        stores[name] = out / "data" / name
        noise_free[name] = out / "data" / f"{name}.noise_free"
        regions = out / "split" / f"{name}.regions.bed"
        _run(_data_args(name, files, files["targets"], regions, stores[name]))
        _run(_data_args(name, files, files["targets_noise_free"], regions, noise_free[name]))

    tracks = {name: DataStore(stores[name]).num_targets for name in genomes}
    runs = {"joint": genomes, **{name: [name] for name in genomes}}
    for run, members in runs.items():
        params = out / "models" / f"{run}.params.json"
        params.parent.mkdir(parents=True, exist_ok=True)
        with atomic_write(params) as handle:
            json.dump(demo_params({g: tracks[g] for g in members}), handle, indent=1)
        train_args = ["train", "--params", str(params), "--out", str(out / "models" / run)]
        train_args += ["--max-epochs", str(settings.max_epochs)]
        train_args += ["--patience", str(settings.patience), "--seed", str(settings.seed)]
        train_args += ["--bf16"]  # also on the CPU: 1.1-1.3x faster where it has AVX512-BF16
        if settings.steps_per_epoch:
            train_args += ["--steps-per-epoch", str(settings.steps_per_epoch)]
        for g in members:
            train_args += ["--data", str(stores[g])]
        _run(train_args)

    summary: dict = {"settings": settings.__dict__, "genomes": {}}
    for name in genomes:
        evals = {}
        for run in ("joint", name):
            folder = out / "evaluate" / f"{run}_on_{name}"
            _run(
                [
                    "evaluate",
                    "--model",
                    str(out / "models" / run / "best"),
                    "--data",
                    str(stores[name]),
                    "--genome",
                    name,
                    "--out",
                    str(folder),
                ]
            )
            evals[run] = read_metrics(folder / "metrics.tsv")
        compare_dir = out / "compare" / name
        compare_dir.mkdir(parents=True, exist_ok=True)
        pairs = paired_tracks(evals["joint"], evals[name])
        comparison = compare_by_assay(pairs)
        with atomic_write(compare_dir / "comparison.tsv") as handle:
            handle.write(comparison.write_csv(separator="\t"))
        joint_vs_single_scatter(pairs, compare_dir / "scatter.png", title=f"{name} test tracks")
        summary["genomes"][name] = _genome_summary(
            pairs, comparison, store_ceilings(stores[name], noise_free[name])
        )
    summary["variants"] = _score_variants(out, synth, manifest, stores)
    summary["denovo"] = _denovo_tests(out, synth, manifest)
    summary["seconds"] = round(time.perf_counter() - started, 1)
    with atomic_write(out / "summary.json") as handle:
        json.dump(summary, handle, indent=1)
    text = format_summary(summary)
    with atomic_write(out / "summary.txt") as handle:
        handle.write(text)
    print(text)
    return summary


def _score_variants(
    out: Path, synth: Path, manifest: dict, stores: dict[str, Path]
) -> dict[str, dict]:
    """SAD of each genome's planted variants with every head of the joint model, against
    the effects planted with them (tracks matched by assay and cell type)."""
    targets = {head: DataStore(store).table for head, store in stores.items()}
    descriptions = {
        head: dict(zip(t.identifiers, t.descriptions, strict=True)) for head, t in targets.items()
    }
    result = {}
    for name, entry in manifest["genomes"].items():
        truth = pl.read_csv(synth / entry["variant_effects"], separator="\t")
        for head in manifest["genomes"]:
            sad_tsv = out / "variants" / f"joint_{head}_head_on_{name}.tsv"
            args = ["sad", "--model", str(out / "models" / "joint" / "best"), "--genome", head]
            args += ["--fasta", str(synth / entry["fasta"]), "--vcf", str(synth / entry["vcf"])]
            _run([*args, "--rc", "--out", str(sad_tsv)])
            scores = sad_long(sad_tsv, descriptions[head])
            result[f"{head}_head_on_{name}"] = effect_recovery(scores, truth)
    return result


def _denovo_tests(out: Path, synth: Path, manifest: dict) -> dict:
    """SAD of the de novo case and control variants with the joint model's head of their
    genome, then ``crossreg denovo``; the summary says which tracks came out first."""
    cohorts = manifest["cohorts"]
    genome = cohorts["genome"]
    folder = out / "denovo"
    denovo = ["denovo", "--out", str(folder / "report")]
    for group in ("cases", "controls"):
        vcf, table = synth / cohorts[f"denovo_{group}"], folder / f"{group}.sad.h5"
        args = ["sad", "--model", str(out / "models" / "joint" / "best"), "--genome", genome]
        args += ["--fasta", str(synth / manifest["genomes"][genome]["fasta"])]
        _run([*args, "--vcf", str(vcf), "--out", str(table)])
        denovo += [f"--{group}-vcf", str(vcf), f"--{group}-sad", str(table)]
    _run(denovo)
    report = json.loads((folder / "report" / "summary.json").read_text())
    tracks = pl.read_csv(folder / "report" / "tracks.tsv", separator="\t")
    significant = tracks.filter(pl.col("q") < 0.05)["identifier"].to_list()
    return {
        "enriched_cell_type": cohorts["denovo_enriched_cell_type"],
        "cases": report["cases"],
        "controls": report["controls"],
        "tracks_q_below_0.05": significant,
        "top_track": report["top_track"]["identifier"],
        "top_track_q": report["top_track"]["q"],
        "risk_auc": round(report["risk_auc"], 4),
        "risk_p": float(f"{report['risk_p']:.3g}"),
    }


def _genome_summary(
    pairs: pl.DataFrame, comparison: pl.DataFrame, ceilings: dict[str, float]
) -> dict[str, dict]:
    rows = pairs.with_columns(
        pl.col("identifier").replace_strict(ceilings, default=None).alias("ceiling")
    )
    result = {}
    for row in comparison.iter_rows(named=True):
        assay = row["assay"]
        group = rows if assay == "ALL" else rows.filter(pl.col("assay") == assay)
        ceiling = float(group["ceiling"].mean())
        result[assay] = {
            "tracks": row["tracks"],
            "test_r_joint": round(row["mean_r_joint"], 4),
            "test_r_single": round(row["mean_r_single"], 4),
            "ceiling": round(ceiling, 4),
            "joint_over_ceiling": round(row["mean_r_joint"] / ceiling, 3),
            "improved_by_joint": row["improved"],
            "binomial_p": round(row["binomial_p"], 4),
        }
    return result


def format_summary(summary: dict) -> str:
    """The summary as a readable table."""
    lines = [f"crossreg demo ({summary['settings']['preset']} preset, {summary['seconds']} s)"]
    header = f"{'genome':8s} {'assay':6s} {'tracks':>6s} {'joint R':>8s} {'single R':>8s}"
    header += f" {'ceiling':>8s} {'joint/ceil':>10s} {'improved':>9s} {'binom p':>8s}"
    lines.append(header)
    for genome, assays in summary["genomes"].items():
        for assay, s in assays.items():
            lines.append(
                f"{genome:8s} {assay:6s} {s['tracks']:6d} {s['test_r_joint']:8.3f} "
                f"{s['test_r_single']:8.3f} {s['ceiling']:8.3f} {s['joint_over_ceiling']:10.2f} "
                f"{s['improved_by_joint']:4d}/{s['tracks']:<4d} {s['binomial_p']:8.3g}"
            )
    lines.append("")
    lines.append("planted variant effects, SAD of the joint model (--rc), tracks matched by assay")
    header = f"{'head on variants':22s} {'pairs':>6s} {'sign agrees':>11s} {'p':>9s}"
    lines.append(header + f" {'|SAD| effect/neutral':>21s}")
    for key, v in summary.get("variants", {}).items():
        lines.append(
            f"{key.replace('_', ' '):22s} {v['pairs_with_effect']:6d} {v['sign_agreement']:11.3f} "
            f"{v['sign_p']:9.3g} {v['effect_vs_neutral']:21.2f}"
        )
    if "denovo" in summary:
        d = summary["denovo"]
        lines.append("")
        lines.append(
            f"de novo variants of {d['cases']} cases vs {d['controls']} controls (planted: "
            f"{d['enriched_cell_type']} enhancer sites broken in cases)"
        )
        lines.append(
            f"tracks with BH q < 0.05: {', '.join(d['tracks_q_below_0.05']) or 'none'}; top "
            f"{d['top_track']} (q {d['top_track_q']:.3g})"
        )
        lines.append(
            f"per-person risk score, 5-fold: AUC {d['risk_auc']:.3f} (p {d['risk_p']:.3g})"
        )
    return "\n".join(lines) + "\n"
