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
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import polars as pl

from crossreg.data.build import BuildOptions, build_dataset
from crossreg.data.plan import Layout
from crossreg.data.store import DataStore
from crossreg.demo_clock import DemoClock, sitting_clock
from crossreg.demo_settings import MINI, WORLD, DemoSettings
from crossreg.demo_steps import (
    counting,
    evaluate_step,
    ism_step,
    keep,
    run_step,
    sad_step,
    sldp_step,
    train_models,
)
from crossreg.demo_summary import (
    format_summary,
    genome_summary,
    ism_summary,
    sldp_summary,
    store_ceilings,
)
from crossreg.errors import CommandError
from crossreg.evaluate.compare import write_comparison
from crossreg.evaluate.transfer import write_transfer
from crossreg.io.atomic import atomic_write
from crossreg.io.changes import changes
from crossreg.model.inference import InferenceOptions
from crossreg.report import write_report
from crossreg.split.report import write_split
from crossreg.split.synteny import NetSpec, split_genomes
from crossreg.stats.denovo_report import write_denovo
from crossreg.synth.motifs import BUNDLED_JASPAR
from crossreg.synth.species import DEFAULT_GENOMES
from crossreg.synth.world import MANIFEST, synthesize
from crossreg.train.options import TrainOptions
from crossreg.train.side_by_side import TrainRun
from crossreg.train.state import JSON_FILE
from crossreg.variants.ism_motifs import read_motifs
from crossreg.variants.recovery import effect_recovery, read_effects, sad_long

log = logging.getLogger("crossreg")


ISM_WIDTH = 60


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


def _check_world(synth: Path, manifest: dict, settings: DemoSettings) -> None:
    """Refuse to resume on a world (`synth`, its `manifest`) made with another preset, seed
    or number of genomes, naming each as its option (:mod:`crossreg.io.changes`)."""
    made = {
        "preset": manifest.get("preset"),
        "seed": manifest.get("seed"),
        "genomes": len(manifest.get("genomes", ())),
    }
    wanted = {"preset": settings.preset, "seed": settings.seed, "genomes": settings.genomes}
    changed = changes(made, wanted, {})
    if changed:
        raise CommandError(
            f"--resume: {synth} holds a world made with other settings ({'; '.join(changed)}):"
            " resume with the settings of the stopped run, or give another --out"
        )


def _check_trained_epochs(out: Path, settings: DemoSettings) -> None:
    """Refuse to resume a demo whose models (``out/models/<run>/last``) have trained more
    epochs than `settings` allow them (:func:`epoch_caps`): they would be kept as they are
    while the summary records the smaller number (the trainings' own resume refuses it
    too, after the earlier steps)."""
    batches = _store_batches(out, settings)
    caps = epoch_caps(settings, batches)
    for last in sorted((out / "models").glob(f"*/last/{JSON_FILE}")):
        try:
            epoch = int(json.loads(last.read_text())["extra"]["run"]["epoch"])
        except (OSError, ValueError, KeyError, TypeError):
            continue  # damaged: the training's resume names what is wrong with it
        run = last.parent.parent
        cap = caps.get(run.name)
        if cap is not None and epoch > cap:
            needed = next(
                n
                for n in range(settings.max_epochs + 1, epoch + 1)
                if epoch_caps(replace(settings, max_epochs=n), batches).get(run.name, 0) >= epoch
            )
            raise CommandError(
                f"--resume: the model {run} has trained {epoch} epochs, more than the "
                f"{cap} that --epochs {settings.max_epochs} allows it: resume with --epochs "
                f"{needed} or more, or give another --out"
            )


def _store_batches(out: Path, settings: DemoSettings) -> dict[str, int]:
    """Training batches per epoch of each genome's store in the demo in `out`; none until
    the world and every genome's store are there."""
    try:
        genomes = json.loads((out / WORLD / MANIFEST).read_text())["genomes"]
    except (OSError, ValueError, KeyError, TypeError):
        return {}  # no world yet, or a damaged one: the world's own check names it
    stores = {g: _store_path(out, g, "targets") for g in genomes}
    if not all((store / "dataset.json").is_file() for store in stores.values()):
        return {}
    return {g: _train_batches(store, settings) for g, store in stores.items()}


def epoch_caps(settings: DemoSettings, batches: dict[str, int]) -> dict[str, int]:
    """The most epochs each model of a demo trains under `settings`: the joint model's
    ``--epochs``, a single-genome model's scaled as :func:`single_genome_schedules` scales
    it (only where `batches`, each genome's training batches per epoch, are known)."""
    caps = {"joint": settings.max_epochs}
    if batches:
        caps.update({g: cap for g, (cap, _) in single_genome_schedules(settings, batches).items()})
    return caps


def _check_resumable(out: Path, synth: Path, settings: DemoSettings) -> None:
    """Refuse, before anything in `out` is removed or written, to resume on models that
    trained more epochs or a world (`synth`) made with other settings."""
    _check_trained_epochs(out, settings)
    if (synth / MANIFEST).exists():
        _check_world(synth, json.loads((synth / MANIFEST).read_text()), settings)


def _world_assembly(settings: DemoSettings) -> str:
    """The assembly name of the demo's synthetic genomes: the preset and seed that make
    the world (``synth-mini-seed0``)."""
    return f"synth-{settings.preset}-seed{settings.seed}"


def _build_store(
    name: str,
    files: dict[str, Path],
    targets: Path,
    regions: Path,
    out: Path,
    settings: DemoSettings,
) -> None:
    """``crossreg data`` of one genome's store of `targets` on the demo's windows; its
    assembly is the world's (:func:`_world_assembly`), not the FASTA's file name, which is
    ``genome.fa`` in every world."""
    seq_length, crop_bins = settings.seq_length, settings.crop_bins
    assembly = _world_assembly(settings)
    argv = ["data", "--genome", name, "--assembly", assembly, "--fasta", str(files["fasta"])]
    argv += ["--targets", str(targets)]
    argv += ["--regions", str(regions), "--blacklist", str(files["blacklist"])]
    argv += ["--unmappable", str(files["unmappable"]), "--gaps", str(files["gaps"])]
    argv += ["--seq-length", str(seq_length), "--stride", str(seq_length // 2)]
    argv += ["--crop", str(crop_bins), "--overwrite", "--out", str(out)]
    layout = Layout(seq_length=seq_length, crop_bins=crop_bins, stride=seq_length // 2)
    run_step(
        argv,
        build_dataset,
        out,
        fasta=files["fasta"],
        targets=targets,
        options=BuildOptions(genome=name, assembly=assembly, layout=layout, overwrite=True),
        regions=regions,
        gaps=files["gaps"],
        blacklist=[files["blacklist"]],
        unmappable=files["unmappable"],
    )


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
        _check_resumable(out, out / WORLD, settings)
    total = step_count(settings.genomes)
    with (
        sitting_clock(out, resume=resume, finished=finished) as clock,
        counting(total, out, finished=finished, after_step=clock.save),
    ):
        return _run_demo(out, settings, resume, report, clock)


def finished_with(out: Path, settings: DemoSettings) -> bool:
    """Whether the demo in `out` finished with `settings`: its ``summary.json``, written
    last, records them (a stopped run, or one stopped after a finished one with other
    settings, such as more --epochs, records other settings or none)."""
    try:
        recorded = json.loads((out / "summary.json").read_text())
    except (OSError, ValueError):
        return False
    now = json.loads(json.dumps(settings.__dict__))
    if not isinstance(recorded, dict) or recorded.get("settings") != now:
        return False
    return _models_trained_to_caps(out, settings)


def _models_trained_to_caps(out: Path, settings: DemoSettings) -> bool:
    """Whether each model in `out` was trained with the epoch cap `settings` give it
    (:func:`epoch_caps`; its ``train_options.json``): not a single-genome model a version
    of the demo trained to the joint model's cap, which a resume trains on."""
    for run, cap in epoch_caps(settings, _store_batches(out, settings)).items():
        recorded = out / "models" / run / "train_options.json"
        try:
            trained = json.loads(recorded.read_text()) if recorded.exists() else {}
        except (OSError, ValueError):
            return False
        if not isinstance(trained, dict) or trained.get("max_epochs", cap) != cap:
            return False
    return True


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
        _build_stores(out, synth, manifest, name, settings)
    stores = {name: _store_path(out, name, "targets") for name in genomes}
    _train_demo_models(out, stores, settings, resume)
    summary: dict = {"settings": settings.__dict__, "genomes": {}}
    for name in genomes:
        summary["genomes"][name] = _evaluate_genome(out, name, stores[name], resume)
    summary["transfer"] = _transfer_at_tss(out, synth, manifest, stores)
    summary["variants"] = _score_variants(out, synth, manifest, stores, resume)
    summary["denovo"] = _denovo_tests(out, synth, manifest, resume)
    summary["sldp"] = _sldp_of_panel(out, synth, manifest, settings, resume)
    summary["ism"] = _ism_of_planted_sites(out, synth, manifest, settings, resume)
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
    run's by :func:`_check_resumable`, is kept); returns its manifest."""
    argv = ["synth", "--preset", settings.preset, "--seed", str(settings.seed)]
    if settings.genomes != DEFAULT_GENOMES:
        argv += ["--genomes", str(settings.genomes)]
    argv += ["--overwrite", "--out", str(synth)]
    if resume and (synth / MANIFEST).exists():  # checked by _check_resumable
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


#: The world's targets table of each store a genome gets, and the store's name suffix:
#: the measured targets, the noise-free ones and the in-window truth.
STORES = {"targets": "", "targets_noise_free": ".noise_free", "targets_in_window": ".in_window"}


def _store_path(out: Path, genome: str, table: str) -> Path:
    """The store of `genome`'s targets table `table` (a key of :data:`STORES`)."""
    return out / "data" / f"{genome}{STORES[table]}"


def _build_stores(
    out: Path, synth: Path, manifest: dict, name: str, settings: DemoSettings
) -> None:
    """The three stores of genome `name` (:data:`STORES`) on its regions of the split."""
    files = {k: synth / v for k, v in manifest["genomes"][name].items() if isinstance(v, str)}
    regions = out / "split" / f"{name}.regions.bed"
    for table in STORES:
        _build_store(name, files, files[table], regions, _store_path(out, name, table), settings)


def single_genome_schedules(
    settings: DemoSettings, batches: dict[str, int]
) -> dict[str, tuple[int, int]]:
    """Maximum epochs and patience of each genome's single-genome model (`batches`: each
    genome's training batches per epoch): the joint model's, scaled by how many more steps
    a joint epoch takes (it holds every genome's batches), so that a single-genome model
    may take as many steps as the joint trunk and waits as many for a better validation
    score before it stops. Without the scaling a capped single-genome model trains half
    the joint trunk's steps, and the comparison credits joint training with steps."""

    def per_epoch(n: int) -> int:
        return min(n, settings.steps_per_epoch) if settings.steps_per_epoch else n

    joint = per_epoch(sum(batches.values()))
    return {
        genome: (
            max(1, round(settings.max_epochs * joint / per_epoch(n))),
            max(1, round(settings.patience * joint / per_epoch(n))),
        )
        for genome, n in batches.items()
    }


def _train_batches(store: Path, settings: DemoSettings) -> int:
    """Training batches per epoch of `store` (whole batches, as training draws them)."""
    return DataStore(store).window_counts["train"] // settings.batch_size


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
    batches = {name: _train_batches(stores[name], settings) for name in genomes}
    schedules = {
        "joint": (settings.max_epochs, settings.patience),
        **single_genome_schedules(settings, batches),
    }
    runs = {"joint": genomes, **{name: [name] for name in genomes}}
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
        params = out / "models" / f"{run}.params.json"
        params.parent.mkdir(parents=True, exist_ok=True)
        with atomic_write(params) as handle:
            json.dump(demo_params({g: tracks[g] for g in members}, settings), handle, indent=1)
        argv = ["train", "--params", str(params), "--out", str(out / "models" / run)]
        argv += ["--max-epochs", str(max_epochs)]
        argv += ["--patience", str(patience), "--seed", str(settings.seed), "--bf16"]
        if settings.steps_per_epoch:
            argv += ["--steps-per-epoch", str(settings.steps_per_epoch)]
        argv += [arg for g in members for arg in ("--data", str(stores[g]))]
        data = tuple(stores[g] for g in members)
        jobs[run] = (argv, TrainRun(params, data, out / "models" / run, options, overwrite=True))
    train_models(jobs, resume)


def _evaluate_genome(out: Path, name: str, store: Path, resume: bool) -> dict[str, dict]:
    """``crossreg evaluate`` of the joint and the single-genome model on genome `name`'s
    `store`, then ``crossreg compare`` of the two; per assay, both models' test R beside
    the store's ceilings (:func:`crossreg.demo_summary.genome_summary`)."""
    evals = {}
    for run in ("joint", name):
        folder = out / "evaluate" / f"{run}_on_{name}"
        model = out / "models" / run / "best"
        argv = ["evaluate", "--model", str(model), "--data", str(store)]
        argv += ["--head", name, "--out", str(folder)]
        evals[run] = evaluate_step(argv, model, store, folder, name, resume)
    compare_dir = out / "compare" / name
    joint, single = (
        out / "evaluate" / f"joint_on_{name}",
        out / "evaluate" / f"{name}_on_{name}",
    )
    argv = ["compare", "--joint", str(joint / "metrics.tsv"), "--single"]
    argv += [str(single / "metrics.tsv"), "--out", str(compare_dir)]
    argv += ["--title", f"{name} test tracks"]
    pairs, comparison = run_step(
        argv,
        write_comparison,
        evals["joint"],
        evals[name],
        compare_dir,
        title=f"{name} test tracks",
    )
    return genome_summary(
        pairs,
        comparison,
        store_ceilings(store, _store_path(out, name, "targets_noise_free")),
        store_ceilings(store, _store_path(out, name, "targets_in_window")),
    )


def _transfer_at_tss(
    out: Path, synth: Path, manifest: dict, stores: dict[str, Path]
) -> dict[str, dict]:
    """``crossreg transfer`` of every head of the joint model on every genome's held-out
    sites (valid and test): per assay the matched pairs' raw and mean-normalised R and the
    unmatched pairs' normalised R (the paper's Figure 3)."""
    model = out / "models" / "joint" / "best"
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


def _score_variants(
    out: Path, synth: Path, manifest: dict, stores: dict[str, Path], resume: bool
) -> dict[str, dict]:
    """SAD of each genome's planted variants with every head of the joint model, against
    the effects planted with them (tracks matched by assay and cell type)."""
    targets = {head: DataStore(store).table for head, store in stores.items()}
    descriptions = {
        head: dict(zip(t.identifiers, t.descriptions, strict=True)) for head, t in targets.items()
    }
    model = out / "models" / "joint" / "best"
    result = {}
    for name, entry in manifest["genomes"].items():
        truth = read_effects(synth / entry["variant_effects"])
        for head in manifest["genomes"]:
            sad_tsv = out / "variants" / f"joint_{head}_head_on_{name}.tsv"
            fasta, vcf = synth / entry["fasta"], synth / entry["vcf"]
            argv = ["sad", "--model", str(model), "--head", head, "--fasta", str(fasta)]
            argv += ["--variants-genome", name, "--vcf", str(vcf), "--rc", "--out", str(sad_tsv)]
            options = InferenceOptions(rc=True, batch_size=8)
            sad_step(argv, model, fasta, vcf, sad_tsv, head, name, options, resume)
            scores = sad_long(sad_tsv, descriptions[head])
            result[f"{head}_head_on_{name}"] = effect_recovery(scores, truth)
    return result


def _denovo_tests(out: Path, synth: Path, manifest: dict, resume: bool) -> dict:
    """SAD of the de novo case and control variants with the joint model's head of their
    genome, then ``crossreg denovo``; the summary says which tracks came out first."""
    cohorts = manifest["cohorts"]
    genome = cohorts["genome"]
    folder = out / "denovo"
    model = out / "models" / "joint" / "best"
    fasta = synth / manifest["genomes"][genome]["fasta"]
    groups = {}
    denovo = ["denovo", "--out", str(folder / "report")]
    for group in ("cases", "controls"):
        vcf, table = synth / cohorts[f"denovo_{group}"], folder / f"{group}.sad.h5"
        argv = ["sad", "--model", str(model), "--head", genome, "--fasta", str(fasta)]
        argv += ["--variants-genome", genome, "--vcf", str(vcf), "--out", str(table)]
        options = InferenceOptions(batch_size=8)
        sad_step(argv, model, fasta, vcf, table, genome, genome, options, resume)
        groups[group[:-1]] = (vcf, table)
        denovo += [f"--{group}-vcf", str(vcf), f"--{group}-sad", str(table)]
    run_step(denovo, write_denovo, groups, folder / "report")
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


def _sldp_of_panel(
    out: Path, synth: Path, manifest: dict, settings: DemoSettings, resume: bool
) -> dict:
    """SAD of the human reference panel's SNPs with both heads of the joint model, then
    SLDP of every track against each tissue's summary statistics; the summary gives, per
    head, the z of its tracks of each tissue's cell type, and of all tracks on the null."""
    panel = manifest["panel"]
    folder = out / "sldp"
    folder.mkdir(parents=True, exist_ok=True)
    genome = panel["genome"]
    fasta = synth / manifest["genomes"][genome]["fasta"]
    vcf = synth / panel["vcf"]
    if settings.panel_snps is not None:  # evenly spaced records, at most panel_snps
        most = settings.panel_snps
        vcf = _vcf_subset(vcf, folder / "panel.vcf", lambda r: r[:: max(1, -(-len(r) // most))])
    model = out / "models" / "joint" / "best"
    tables = []
    for head in manifest["genomes"]:
        table = folder / f"panel.{head}_head.sad.h5"
        argv = ["sad", "--model", str(model), "--head", head, "--fasta", str(fasta)]
        argv += ["--variants-genome", genome, "--vcf", str(vcf), "--batch-size", "32"]
        argv += ["--out", str(table)]
        options = InferenceOptions(batch_size=32)
        sad_step(argv, model, fasta, vcf, table, head, genome, options, resume)
        tables.append(table)
    sumstats = [synth / panel["sumstats"][tissue] for tissue in panel["tissues"]]
    stems = {key: str(synth / panel[key]) for key in ("bfile", "ldscores")}
    files = {key: synth / panel[key] for key in ("print_snps", "blocks")}
    argv = ["sldp", "--bfile-chr", stems["bfile"], "--print-snps", str(files["print_snps"])]
    argv += ["--ld-blocks", str(files["blocks"]), "--ldscores-chr", stems["ldscores"]]
    argv += ["--sad", *map(str, tables), "--sumstats", *map(str, sumstats), "--alpha", "0"]
    argv += ["--seed", str(settings.seed), "--flips", str(settings.sldp_flips)]
    argv += ["--out", str(folder / "results")]
    sldp_step(
        argv,
        folder / "results",
        tables,
        resume,
        stems["bfile"],
        files["print_snps"],
        files["blocks"],
        stems["ldscores"],
        sumstats=sumstats,
        sad=tables,
        alpha=0.0,  # SAD is per allele; the planted effects are per normalised genotype
        seed=settings.seed,
        flips=settings.sldp_flips,
    )
    results = pl.read_csv(folder / "results" / "results.tsv", separator="\t")
    return sldp_summary(results, tables, panel)


def _vcf_subset(vcf: Path, out: Path, pick: Callable[[list[str]], list[str]]) -> Path:
    """A VCF at `out` with the header of `vcf` and the record lines `pick` keeps."""
    lines = vcf.read_text().splitlines(keepends=True)
    header = [line for line in lines if line.startswith("#")]
    with atomic_write(out) as handle:
        handle.write("".join(header + pick([line for line in lines if line[0] != "#"])))
    return out


def _ism_of_planted_sites(
    out: Path, synth: Path, manifest: dict, settings: DemoSettings, resume: bool
) -> dict:
    """Saturation mutagenesis around the human's first planted motif-breaking variants
    with the joint model's human head; per site, the share of the importance (the track
    with the most) that falls on the bases of the broken motif site, beside the share a
    site of that length would get by chance."""
    genome = "human"
    entry = manifest["genomes"][genome]
    folder = out / "ism"
    folder.mkdir(parents=True, exist_ok=True)
    vcf = _vcf_subset(
        synth / entry["vcf"],
        folder / "planted_breaks.vcf",
        lambda r: [line for line in r if "KIND=break" in line][: settings.ism_sites],
    )
    model, fasta = out / "models" / "joint" / "best", synth / entry["fasta"]
    table, figures = folder / "planted_breaks.ism.h5", folder / "figures"
    argv = ["ism", "--model", str(model), "--head", genome, "--fasta", str(fasta)]
    argv += ["--variants-genome", genome, "--vcf", str(vcf), "--width", str(ISM_WIDTH)]
    argv += ["--stats", "sum"]
    argv += ["--batch-size", "32", "--out", str(table), "--figures", str(figures)]
    motif_file = folder / "motifs.jaspar"  # the matrices the world's motif sites come from
    motif_file.write_bytes(BUNDLED_JASPAR.read_bytes())
    motifs = read_motifs(motif_file)
    argv += ["--motifs", str(motif_file)]
    options = InferenceOptions(batch_size=32)
    ism_step(
        argv,
        model,
        table,
        resume,
        fasta,
        table,
        vcf=vcf,
        head=genome,
        variants_genome=genome,
        width=ISM_WIDTH,
        stats=("sum",),
        options=options,
        figures=figures,
        motifs=motifs,
    )
    sites = pl.read_csv(synth / entry["motif_sites"], separator="\t")
    return ism_summary(table, sites, motifs)
