"""The variant steps of ``crossreg demo`` (:mod:`crossreg.demo`) with the joint model: SAD
of each genome's planted variants against their planted effects, the de novo case and
control tests, SLDP of the reference panel and saturation mutagenesis around planted
motif-breaking variants; each returns its part of the summary."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import polars as pl

from crossreg.data.store import DataStore
from crossreg.demo_settings import DemoSettings, best_model
from crossreg.demo_steps import ism_step, run_step, sad_step, sldp_step
from crossreg.demo_summary import ism_summary, sldp_summary
from crossreg.io.atomic import atomic_write
from crossreg.model.inference import InferenceOptions
from crossreg.stats.denovo_report import write_denovo
from crossreg.synth.motifs import BUNDLED_JASPAR
from crossreg.variants.ism_motifs import read_motifs
from crossreg.variants.recovery import effect_recovery, read_effects, sad_long

ISM_WIDTH = 60


def score_variants(
    out: Path, synth: Path, manifest: dict, stores: dict[str, Path], resume: bool
) -> dict[str, dict]:
    """SAD of each genome's planted variants with every head of the joint model, against
    the effects planted with them (tracks matched by assay and cell type)."""
    targets = {head: DataStore(store).table for head, store in stores.items()}
    descriptions = {
        head: dict(zip(t.identifiers, t.descriptions, strict=True)) for head, t in targets.items()
    }
    model = best_model(out)
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


def denovo_tests(out: Path, synth: Path, manifest: dict, resume: bool) -> dict:
    """SAD of the de novo case and control variants with the joint model's head of their
    genome, then ``crossreg denovo``; the summary says which tracks came out first."""
    cohorts = manifest["cohorts"]
    genome = cohorts["genome"]
    folder = out / "denovo"
    model = best_model(out)
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


def sldp_of_panel(
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
    model = best_model(out)
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


def ism_of_planted_sites(
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
    model, fasta = best_model(out), synth / entry["fasta"]
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
