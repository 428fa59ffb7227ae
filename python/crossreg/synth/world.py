"""Generate a whole synthetic world and write it to a directory with a manifest."""

from __future__ import annotations

import itertools
import json
import logging
import os
import zlib
from pathlib import Path

import numpy as np

from crossreg import __version__
from crossreg.io.atomic import atomic_write
from crossreg.io.atomic_dir import atomic_directory
from crossreg.io.bed import Interval, write_bed
from crossreg.io.replaceable import check_replaceable
from crossreg.io.targets import Target
from crossreg.io.targets_write import write_targets
from crossreg.progress import Progress, progress
from crossreg.synth import cohorts, panel_files, tables
from crossreg.synth.bigwig import write_bigwig
from crossreg.synth.cells import TrackSpec, track_specs
from crossreg.synth.elements import Layout, lay_out, lay_out_private
from crossreg.synth.fasta import write_fasta
from crossreg.synth.genomes import Ancestor, SpeciesGenome, build_species, make_ancestor
from crossreg.synth.motifs import Motif, bundled_motifs
from crossreg.synth.net import write_net, write_unit_map
from crossreg.synth.planting import plant
from crossreg.synth.presets import PRESETS, Preset
from crossreg.synth.regulation import Regulation
from crossreg.synth.species import DEFAULT_GENOMES, Species, species_of
from crossreg.synth.tracks import BIN_BP, TrackSynthesizer, ceiling
from crossreg.synth.variants import EffectModel, VariantMaker

log = logging.getLogger("crossreg")

MANIFEST = "manifest.json"


def rng_for(seed: int, name: str) -> np.random.Generator:
    """An independent random stream for one named part of the world."""
    return np.random.default_rng([seed, zlib.crc32(name.encode())])


def synthesize(
    out: str | os.PathLike[str],
    preset: str | Preset = "tiny",
    seed: int = 0,
    *,
    cohort_sets: bool = True,
    genomes: int = DEFAULT_GENOMES,
    overwrite: bool = False,
) -> Path:
    """Write a synthetic world of `genomes` species (human + mouse, then rat and dog) into
    `out`; return the path of its manifest.

    The world is written whole: `out` must be absent or empty, or hold a world to replace
    with `overwrite` (no file of the old world is left beside the new one, and an
    interrupted run leaves the old world as it was).

    Same `preset`, `seed` and `genomes` give byte-identical files. Every pair of genomes
    gets a net. `cohort_sets` adds the de novo case/control sets and eQTL-like summary
    statistics (human), and the human reference panel with per-tissue summary statistics
    for SLDP (:mod:`crossreg.synth.panel`).
    """
    species = species_of(genomes)
    if isinstance(preset, str):
        if preset not in PRESETS:
            raise ValueError(f"unknown preset '{preset}'; known: {', '.join(PRESETS)}")
        preset = PRESETS[preset]
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or seed < 0:
        raise ValueError(f"the seed must be a whole number from 0, got {seed!r}")
    out = Path(out).absolute()
    check_replaceable(out, overwrite, {MANIFEST: "a synthetic world"})
    motifs = bundled_motifs()
    ancestor = make_ancestor(rng_for(seed, "ancestor"), preset)
    layout = lay_out(rng_for(seed, "layout"), preset, ancestor, tuple(s.name for s in species))
    manifest: dict = {
        "format": "crossreg-synth",
        "crossreg_version": __version__,
        "preset": preset.name,
        "seed": seed,
        "genomes": {},
        "nets": [],
        "ceiling_bin_bp": BIN_BP,
    }
    with atomic_directory(out) as work:
        with progress(_stage_count(species, cohort_sets), "synth", "stages") as meter:
            _build(
                work, preset, seed, species, cohort_sets, motifs, ancestor, layout, manifest, meter
            )
        with open(work / MANIFEST, "w") as handle:
            json.dump(manifest, handle, indent=2)
            handle.write("\n")
    return out / MANIFEST


def _stage_count(species: tuple[Species, ...], cohort_sets: bool) -> int:
    """Units of a world's progress: per genome its sequence, each track and its variants;
    then the nets, and the cohorts and the panel."""
    tracks = sum(len(track_specs(s.name, s.prefix)) for s in species)
    return 2 * len(species) + tracks + 1 + (2 if cohort_sets else 0)


def _build(
    out: Path,
    preset: Preset,
    seed: int,
    species: tuple[Species, ...],
    cohort_sets: bool,
    motifs: dict[str, Motif],
    ancestor: Ancestor,
    layout: Layout,
    manifest: dict,
    meter: Progress,
) -> None:
    """Write the genomes of `species`, a net for each pair and (with `cohort_sets`) the
    cohorts and panel under `out`, filling `manifest`."""
    genomes: list[SpeciesGenome] = []
    regulations: list[Regulation] = []
    index_offset = 0
    meter.set_postfix(stage=f"{species[0].name} genome")
    for genome_index, kind in enumerate(species):
        name, prefix = kind.name, kind.prefix
        genome = build_species(
            rng_for(seed, f"{name}/genome"), preset, ancestor, name, rearrange=kind.rearranged
        )
        lay_out_private(rng_for(seed, f"{name}/private"), preset, genome, layout)
        sites = plant(rng_for(seed, f"{name}/motifs"), layout, genome, motifs)
        genomes.append(genome)
        reg = Regulation(genome, layout, sites, rng_for(seed, f"{name}/regulation"))
        regulations.append(reg)
        log.info(
            "%s: %d bp in %d chromosomes, %d elements, %d motif sites",
            name,
            sum(genome.sizes.values()),
            len(genome.sizes),
            len(reg.elements),
            len(sites),
        )
        entry, n_tracks = _write_genome(
            out, name, prefix, genome_index, index_offset, genome, reg, motifs, preset, seed, meter
        )
        index_offset += n_tracks
        manifest["genomes"][name] = entry
        following = species[genome_index + 1 :]
        meter.update(stage=f"{following[0].name} genome" if following else "nets")
    for target, query in itertools.combinations(genomes, 2):
        net = f"{target.name}.{query.name}.net"
        write_net(out / net, ancestor, target, query)
        manifest["nets"].append({"genomes": [target.name, query.name], "file": net})
    write_unit_map(out / "orthology.tsv", ancestor, genomes)
    manifest["orthology"] = "orthology.tsv"
    meter.update(stage="cohorts" if cohort_sets else "nets")
    if cohort_sets:
        human, reg = genomes[0], regulations[0]
        maker = VariantMaker(
            human,
            reg,
            EffectModel(reg, track_specs(human.name, "hs")),
            motifs,
            rng_for(seed, "cohorts"),
        )
        manifest["cohorts"] = cohorts.write_cohorts(out, "cohorts", maker, preset)
        meter.update(stage="panel")
        manifest["panel"] = panel_files.write_panel(
            out, "panel", human, reg, motifs, preset, rng_for(seed, "panel")
        )
        meter.update()


def _write_genome(
    out: Path,
    name: str,
    prefix: str,
    genome_index: int,
    index_offset: int,
    genome: SpeciesGenome,
    reg: Regulation,
    motifs: dict[str, Motif],
    preset: Preset,
    seed: int,
    meter: Progress,
) -> tuple[dict, int]:
    """Write one genome's files under ``out/name``; return its manifest entry and track count."""
    root = out / name
    write_fasta(root / "genome.fa", genome.sequences)
    with atomic_write(root / "chrom.sizes") as handle:
        handle.writelines(f"{c}\t{n}\n" for c, n in genome.sizes.items())
    write_bed(root / "gaps.bed", genome.gaps)
    write_bed(
        root / "blacklist.bed",
        [Interval(i.chrom, i.start, i.end, ("satellite",)) for i in genome.artefacts],
    )
    write_bed(
        root / "unmappable.bed",
        [Interval(i.chrom, i.start, i.end, ("duplicate",)) for i in genome.duplicates],
    )
    tables.write_gene_annotation(root / "genes.gtf", reg, list(genome.sizes))
    tables.write_elements(root / "elements.tsv", reg)
    tables.write_motif_sites(root / "motif_sites.tsv", reg.sites, motifs)
    specs = track_specs(name, prefix)
    synth = TrackSynthesizer(genome, reg, preset.read_depth, rng_for(seed, f"{name}/chromatin"))
    tables.write_gene_expression(root / "gene_expression.tsv", reg, synth.expression)
    no_data = _no_data(rng_for(seed, f"{name}/no_data"), genome, specs)
    write_bed(root / "no_data.bed", [iv for spec in specs for iv in no_data[spec.identifier]])
    meter.update(stage=f"{name} tracks")
    ceilings: list[tuple[TrackSpec, float, int, float]] = []
    for spec in specs:
        noisy: dict[str, np.ndarray] = {}
        clean: dict[str, np.ndarray] = {}
        in_window: dict[str, np.ndarray] = {}
        rng = rng_for(seed, f"{name}/track/{spec.identifier}")
        for chrom in genome.sizes:
            track = synth.sample(spec, chrom, no_data[spec.identifier], rng)
            noisy[chrom], clean[chrom] = track.noisy, track.clean
            in_window[chrom] = track.in_window
        write_bigwig(root / "tracks" / f"{spec.identifier}.bw", genome.sizes, noisy)
        write_bigwig(root / "tracks_noise_free" / f"{spec.identifier}.bw", genome.sizes, clean)
        write_bigwig(root / "tracks_in_window" / f"{spec.identifier}.bw", genome.sizes, in_window)
        ceilings.append((spec, *ceiling(noisy, clean), ceiling(noisy, in_window)[0]))
        meter.update(stage=f"{name} tracks" if spec is not specs[-1] else f"{name} variants")
    for folder, table in (
        ("tracks", "targets.txt"),
        ("tracks_noise_free", "targets_noise_free.txt"),
        ("tracks_in_window", "targets_in_window.txt"),
    ):
        write_targets(
            root / table,
            [
                Target(
                    index=index_offset + k,
                    identifier=s.identifier,
                    files=(f"{folder}/{s.identifier}.bw",),
                    clip=s.clip,
                    scale=s.scale,
                    sum_stat=s.sum_stat,
                    description=s.description,
                    extra={"genome": str(genome_index)},
                )
                for k, s in enumerate(specs)
            ],
            extra_columns=("genome",),
        )
    tables.write_ceilings(root / "ceilings.tsv", ceilings)
    model = EffectModel(reg, specs)
    maker = VariantMaker(genome, reg, model, motifs, rng_for(seed, f"{name}/variants"))
    scored = maker.draw(preset.variants)
    tables.write_variants(root, prefix, genome.sizes, scored, specs)
    entry = {
        "fasta": f"{name}/genome.fa",
        "sizes": f"{name}/chrom.sizes",
        "gaps": f"{name}/gaps.bed",
        "blacklist": f"{name}/blacklist.bed",
        "unmappable": f"{name}/unmappable.bed",
        "targets": f"{name}/targets.txt",
        "gtf": f"{name}/genes.gtf",
        "vcf": f"{name}/variants.vcf",
        "fasta_index": f"{name}/genome.fa.fai",
        "targets_noise_free": f"{name}/targets_noise_free.txt",
        "targets_in_window": f"{name}/targets_in_window.txt",
        "track_ceilings": f"{name}/ceilings.tsv",
        "no_data": f"{name}/no_data.bed",
        "motif_sites": f"{name}/motif_sites.tsv",
        "regulatory_elements": f"{name}/elements.tsv",
        "gene_expression": f"{name}/gene_expression.tsv",
        "variant_effects": f"{name}/variant_effects.tsv",
        "cell_types": list(reg.cells),
        "genome_index": genome_index,
    }
    return entry, len(specs)


def _no_data(
    rng: np.random.Generator, genome: SpeciesGenome, specs: list[TrackSpec]
) -> dict[str, list[Interval]]:
    """Per track, one stretch per chromosome (200-3,000 bp) without data."""
    out: dict[str, list[Interval]] = {}
    for spec in specs:
        ivs = []
        for chrom, n in genome.sizes.items():
            length = int(rng.integers(200, 3_000))
            start = int(rng.integers(0, n - length))
            ivs.append(Interval(chrom, start, start + length, (spec.identifier,)))
        out[spec.identifier] = ivs
    return out
