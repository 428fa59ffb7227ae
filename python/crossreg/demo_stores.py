"""The dataset stores of ``crossreg demo`` (:mod:`crossreg.demo`): three per genome (the
measured targets, the noise-free ones and the in-window truth), each built by ``crossreg
data`` on the genome's regions of the split, with the world's assembly name."""

from __future__ import annotations

from pathlib import Path

from crossreg.data.build import BuildOptions, build_dataset
from crossreg.data.plan import Layout
from crossreg.demo_settings import DemoSettings
from crossreg.demo_steps import run_step

#: The world's targets table of each store a genome gets, and the store's name suffix:
#: the measured targets, the noise-free ones and the in-window truth.
STORES = {"targets": "", "targets_noise_free": ".noise_free", "targets_in_window": ".in_window"}


def store_path(out: Path, genome: str, table: str) -> Path:
    """The store of `genome`'s targets table `table` (a key of :data:`STORES`)."""
    return out / "data" / f"{genome}{STORES[table]}"


def _world_assembly(settings: DemoSettings) -> str:
    """The assembly name of the demo's synthetic genomes: the preset and seed that make
    the world (``synth-mini-seed0``)."""
    return f"synth-{settings.preset}-seed{settings.seed}"


def build_store(
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


def build_stores(out: Path, synth: Path, manifest: dict, name: str, settings: DemoSettings) -> None:
    """The three stores of genome `name` (:data:`STORES`) on its regions of the split."""
    files = {k: synth / v for k, v in manifest["genomes"][name].items() if isinstance(v, str)}
    regions = out / "split" / f"{name}.regions.bed"
    for table in STORES:
        build_store(name, files, files[table], regions, store_path(out, name, table), settings)
