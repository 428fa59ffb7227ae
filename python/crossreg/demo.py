"""The whole pipeline on generated data: synth → split → data → train → evaluate → compare.

``crossreg demo --out DIR`` runs each step's function and writes its files under DIR,
logging each step as the equivalent ``crossreg`` command line (any step can be rerun
alone), and ends with ``summary.json`` / ``summary.txt``: per genome and assay, the test
Pearson R of the joint and single-genome models beside two synthetic ceilings (the R of
the measured targets against the noise-free ones, same test windows, same transforms:
the best any model can reach; and against the in-window truth, what the window's
sequence determines: the best a model of the window can reach), the share of tracks the
joint model improves with its binomial test, and the scatter plots.

The genomes are a few Mbp, so lengths shrink with them: 100-kbp regions joined above
10 kbp of alignment (the paper: 1 Mbp and 100 kbp on 3 Gbp genomes; 50-kbp regions for
the tiny genomes of ``--fast``), 8,192-bp windows with 48 target bins, and a
Basenji2-shaped model of about 180,000 weights trained with bf16 autocast.

Each genome's stores are built by :mod:`crossreg.demo_stores`, the models trained as long
as :mod:`crossreg.demo_schedules` says, the variant steps run by
:mod:`crossreg.demo_variants`; :mod:`crossreg.demo_resume` says whether a run may resume.
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import Any

from crossreg.data.store import DataStore
from crossreg.demo_clock import DemoClock, sitting_clock
from crossreg.demo_resume import check_resumable, finished_with
from crossreg.demo_schedules import single_genome_schedules, train_batches
from crossreg.demo_settings import (
    JOINT,
    MINI,
    MODELS,
    WORLD,
    DemoSettings,
    best_model,
    model_dir,
)
from crossreg.demo_steps import (
    counting,
    evaluate_step,
    keep,
    run_step,
    train_models,
)
from crossreg.demo_stores import build_stores, store_path
from crossreg.demo_summary import (
    format_summary,
    genome_summary,
    store_ceilings,
)
from crossreg.demo_variants import (
    denovo_tests,
    ism_of_planted_sites,
    score_variants,
    sldp_of_panel,
)
from crossreg.errors import CommandError
from crossreg.evaluate.compare import write_comparison
from crossreg.evaluate.transfer import write_transfer
from crossreg.io.atomic import atomic_write
from crossreg.report import write_report
from crossreg.split.report import write_split
from crossreg.split.synteny import NetSpec, split_genomes
from crossreg.synth.species import DEFAULT_GENOMES
from crossreg.synth.world import MANIFEST, synthesize
from crossreg.train.options import TrainOptions
from crossreg.train.side_by_side import TrainRun

log = logging.getLogger("crossreg")


def demo_params(tracks: dict[str, int], settings: DemoSettings = MINI) -> dict:
    """A Basenji2-shaped params dict for the windows of `settings` (8,192 bp by default):
    the same block types (conv block, conv tower to 128-bp bins, dilated residual blocks,
    cropping, final conv block, one softplus head per genome), far fewer filters."""
    width = settings.filters
    model: dict = {
        "seq_length": settings.seq_length,
        "activation": "gelu",
        "norm_type": "batch",
        "bn_momentum": 0.9,
        "trunk": [
            {"name": "conv_block", "filters": width, "kernel_size": 15, "pool_size": 2},
            {
                "name": "conv_tower",
                "filters_init": width,
                "filters_mult": 1.12,
                "kernel_size": 5,
                "pool_size": 2,
                "repeat": 6,
            },
            {
                "name": "dilated_residual",
                "filters": width * 2 // 3,
                "rate_mult": 1.5,
                "repeat": settings.residual_blocks,
                "dropout": 0.1,
                "round": True,
            },
            {"name": "Cropping1D", "cropping": settings.crop_bins},
            {"name": "conv_block", "filters": width * 2, "dropout": 0.05},
        ],
    }
    for genome, units in tracks.items():
        model[f"head_{genome}"] = {"name": "final", "units": units, "activation": "softplus"}
    # Basenji's optimiser: on small data it learns motifs where Adam memorises windows
    train = {
        "batch_size": settings.batch_size,
        "optimizer": "sgd",
        "learning_rate": 0.05,
        "momentum": 0.98,
        "clip_norm": 2,
    }
    return {"train": train, "model": model}


def step_count(genomes: int) -> int:
    """Steps of a demo of `genomes` genomes: synth, split, three stores per genome (measured,
    noise-free and in-window truth), a joint and one single-genome training per genome, per
    genome two evaluations and a comparison, transfer of every head on every genome, SAD of
    each genome's variants with every head,
    two SAD tables and the de novo tests, SAD of the panel with every head and SLDP, and
    ISM."""
    g = genomes
    return 2 + 3 * g + (1 + g) + 3 * g + g * g + g * g + 3 + (g + 1) + 1


def _net_spec(synth: Path, net: dict[str, Any]) -> NetSpec:
    """A net of the world in `synth`, from its manifest entry."""
    target, query = net["genomes"]
    return NetSpec(target, query, synth / net["file"])


def run_demo(
    out: str | os.PathLike[str],
    settings: DemoSettings = MINI,
    *,
    resume: bool = False,
    report: bool = True,
) -> dict:
    """Run every step into `out`; returns the summary (also written as summary.json, and
    in words as summary.txt, :func:`crossreg.demo_summary.format_summary`) and, unless
    `report` is off (the command writes it once its own run is logged), writes
    report.html. Nothing goes to stdout: progress is logged (``crossreg`` logger).

    With `resume`, continue a run stopped in `out`: keep its world (made with the same
    preset, seed and genomes), continue each training from its last finished epoch (a
    finished one stays as it is), keep finished SAD tables and continue interrupted ones
    from their last chunk, continue an interrupted SLDP from its finished chromosomes; the
    steps that take seconds run again. The summary's time is the run's over its sittings
    (:mod:`crossreg.demo_clock`)."""
    out = Path(out)
    finished = resume and finished_with(out, settings)
    out.mkdir(parents=True, exist_ok=True)
    if resume:
        check_resumable(out, out / WORLD, settings)
    total = step_count(settings.genomes)
    with (
        sitting_clock(out, resume=resume, finished=finished) as clock,
        counting(total, out, finished=finished, after_step=clock.save),
    ):
        return _run_demo(out, settings, resume, report, clock)


#: What the demo writes last, from its steps' outputs: an earlier run's are removed first.
LAST_WRITTEN = ("summary.json", "summary.txt", "report.html")


def _run_demo(
    out: Path, settings: DemoSettings, resume: bool, report: bool, clock: DemoClock
) -> dict:
    """The steps of :func:`run_demo`, in order, then the summary files, with the run's
    time from `clock` (an earlier run's summary files are removed before the first step,
    once a resume is found possible: a run stopped part way must not leave them beside
    its own outputs, whose numbers they no longer describe)."""
    synth = out / WORLD
    for name in LAST_WRITTEN:
        (out / name).unlink(missing_ok=True)
    manifest = _make_world(synth, settings, resume)
    genomes = list(manifest["genomes"])
    _split_world(out, synth, manifest, settings)
    for name in genomes:
        build_stores(out, synth, manifest, name, settings)
    stores = {name: store_path(out, name, "targets") for name in genomes}
    _train_demo_models(out, stores, settings, resume)
    summary: dict = {"settings": settings.__dict__, "genomes": {}}
    for name in genomes:
        summary["genomes"][name] = _evaluate_genome(out, name, stores[name], resume)
    summary["transfer"] = _transfer_at_tss(out, synth, manifest, stores)
    summary["variants"] = score_variants(out, synth, manifest, stores, resume)
    summary["denovo"] = denovo_tests(out, synth, manifest, resume)
    summary["sldp"] = sldp_of_panel(out, synth, manifest, settings, resume)
    summary["ism"] = ism_of_planted_sites(out, synth, manifest, settings, resume)
    summary.update(clock.close())  # the run's time, over its sittings
    with atomic_write(out / "summary.json") as handle:
        json.dump(summary, handle, indent=1)
    with atomic_write(out / "summary.txt") as handle:
        handle.write(format_summary(summary))
    log.info("wrote %s", out / "summary.txt")
    if report:
        log.info("report: %s", write_report(out))
    return summary


def _make_world(synth: Path, settings: DemoSettings, resume: bool) -> dict:
    """``crossreg synth`` into `synth` (with `resume`, a world there, checked to be this
    run's by :func:`check_resumable`, is kept); returns its manifest."""
    argv = ["synth", "--preset", settings.preset, "--seed", str(settings.seed)]
    if settings.genomes != DEFAULT_GENOMES:
        argv += ["--genomes", str(settings.genomes)]
    argv += ["--overwrite", "--out", str(synth)]
    if resume and (synth / MANIFEST).exists():  # checked by check_resumable
        manifest = json.loads((synth / MANIFEST).read_text())
        keep(argv, synth)
        return manifest
    run_step(
        argv,
        synthesize,
        synth,
        settings.preset,
        settings.seed,
        genomes=settings.genomes,
        overwrite=True,
    )
    return json.loads((synth / MANIFEST).read_text())


def _split_world(out: Path, synth: Path, manifest: dict, settings: DemoSettings) -> None:
    """``crossreg split`` of the world's genomes into ``out/split``; stops if it leaks."""
    genomes = list(manifest["genomes"])
    sizes = {name: synth / manifest["genomes"][name]["sizes"] for name in genomes}
    nets = [_net_spec(synth, net) for net in manifest["nets"]]
    argv = ["split", "--out", str(out / "split"), "--region-size", str(settings.region_size)]
    argv += ["--min-aligned", str(settings.min_aligned), "--seed", str(settings.seed)]
    argv += [arg for name in genomes for arg in ("--sizes", f"{name}={sizes[name]}")]
    argv += [arg for n in nets for arg in ("--net", f"{n.target},{n.query}={n.path}")]
    result = run_step(
        argv,
        split_genomes,
        sizes,
        nets,
        region_size=settings.region_size,
        min_aligned=settings.min_aligned,
        seed=settings.seed,
    )
    if not result.leakage().ok:
        raise CommandError("the demo's split leaks aligned regions across splits")
    write_split(result, out / "split")


def _train_demo_models(
    out: Path, stores: dict[str, Path], settings: DemoSettings, resume: bool
) -> None:
    """Write the params of the joint model (every genome of `stores`) and of each
    single-genome model under ``out/models``, and train them
    (:func:`crossreg.demo_steps.train_models`), each
    single-genome model up to as many steps as the joint model
    (:func:`single_genome_schedules`)."""
    genomes = list(stores)
    tracks = {name: DataStore(stores[name]).num_targets for name in genomes}
    batches = {name: train_batches(stores[name], settings) for name in genomes}
    schedules = {
        JOINT: (settings.max_epochs, settings.patience),
        **single_genome_schedules(settings, batches),
    }
    runs = {JOINT: genomes, **{name: [name] for name in genomes}}
    jobs: dict[str, tuple[list[str], TrainRun]] = {}
    for run, members in runs.items():
        max_epochs, patience = schedules[run]
        options = TrainOptions(
            max_epochs=max_epochs,
            patience=patience,
            steps_per_epoch=settings.steps_per_epoch,
            seed=settings.seed,
            bf16=True,  # also on the CPU: 1.1-1.3x faster where it has AVX512-BF16
        )
        params = out / MODELS / f"{run}.params.json"
        params.parent.mkdir(parents=True, exist_ok=True)
        with atomic_write(params) as handle:
            json.dump(demo_params({g: tracks[g] for g in members}, settings), handle, indent=1)
        argv = ["train", "--params", str(params), "--out", str(model_dir(out, run))]
        argv += ["--max-epochs", str(max_epochs)]
        argv += ["--patience", str(patience), "--seed", str(settings.seed), "--bf16"]
        if settings.steps_per_epoch:
            argv += ["--steps-per-epoch", str(settings.steps_per_epoch)]
        argv += [arg for g in members for arg in ("--data", str(stores[g]))]
        data = tuple(stores[g] for g in members)
        jobs[run] = (argv, TrainRun(params, data, model_dir(out, run), options, overwrite=True))
    train_models(jobs, resume)


def _evaluate_genome(out: Path, name: str, store: Path, resume: bool) -> dict[str, dict]:
    """``crossreg evaluate`` of the joint and the single-genome model on genome `name`'s
    `store`, then ``crossreg compare`` of the two; per assay, both models' test R beside
    the store's ceilings (:func:`crossreg.demo_summary.genome_summary`)."""
    evals = {}
    for run in (JOINT, name):
        folder = out / "evaluate" / f"{run}_on_{name}"
        model = best_model(out, run)
        argv = ["evaluate", "--model", str(model), "--data", str(store)]
        argv += ["--head", name, "--out", str(folder)]
        evals[run] = evaluate_step(argv, model, store, folder, name, resume)
    compare_dir = out / "compare" / name
    joint, single = (
        out / "evaluate" / f"{JOINT}_on_{name}",
        out / "evaluate" / f"{name}_on_{name}",
    )
    argv = ["compare", "--joint", str(joint / "metrics.tsv"), "--single"]
    argv += [str(single / "metrics.tsv"), "--out", str(compare_dir)]
    argv += ["--title", f"{name} test tracks"]
    pairs, comparison = run_step(
        argv,
        write_comparison,
        evals[JOINT],
        evals[name],
        compare_dir,
        title=f"{name} test tracks",
    )
    return genome_summary(
        pairs,
        comparison,
        store_ceilings(store, store_path(out, name, "targets_noise_free")),
        store_ceilings(store, store_path(out, name, "targets_in_window")),
    )


def _transfer_at_tss(
    out: Path, synth: Path, manifest: dict, stores: dict[str, Path]
) -> dict[str, dict]:
    """``crossreg transfer`` of every head of the joint model on every genome's held-out
    sites (valid and test): per assay the matched pairs' raw and mean-normalised R and the
    unmatched pairs' normalised R (the paper's Figure 3)."""
    model = best_model(out)
    result = {}
    for name, entry in manifest["genomes"].items():
        gtf = synth / entry["gtf"]
        for head in manifest["genomes"]:
            folder = out / "transfer" / f"{head}_head_on_{name}"
            argv = ["transfer", "--model", str(model), "--head", head, "--data", str(stores[name])]
            argv += ["--gtf", str(gtf), "--out", str(folder)]
            found = run_step(argv, write_transfer, model, stores[name], gtf, folder, head=head)
            result[f"{head}_head_on_{name}"] = found.assays
    return result
