"""Generate a whole synthetic world and write it to a directory with a manifest."""

from __future__ import annotations

import json
import logging
import os
import zlib
from pathlib import Path

import numpy as np

from crossreg import __version__
from crossreg.io.atomic import atomic_write
from crossreg.io.bed import Interval, write_bed
from crossreg.io.gtf import GtfRecord, write_gtf
from crossreg.io.targets import Target, write_targets
from crossreg.io.vcf import Variant, write_vcf
from crossreg.synth import cohorts
from crossreg.synth.bigwig import write_bigwig
from crossreg.synth.cells import TrackSpec, track_specs
from crossreg.synth.elements import Site, lay_out, plant
from crossreg.synth.fasta import write_fasta
from crossreg.synth.genomes import SpeciesGenome, build_species, make_ancestor
from crossreg.synth.motifs import Motif, bundled_motifs
from crossreg.synth.net import write_net, write_unit_map
from crossreg.synth.presets import PRESETS, Preset
from crossreg.synth.regulation import Regulation
from crossreg.synth.tracks import TrackSynthesizer, bin_sums, pearson
from crossreg.synth.variants import EffectModel, ScoredVariant, VariantMaker, sign

log = logging.getLogger("crossreg")

GENOMES = (("human", "hs", False), ("mouse", "mm", True))
VARIANT_INFO = (
    ("KIND", "1", "String", "break, create, site_deletion, neutral or neutral_indel"),
    ("MOTIF", "1", "String", "TF whose planted site the variant touches"),
    ("ELEMENT", "1", "String", "regulatory element holding that site"),
    ("UP", ".", "String", "tracks expected to increase"),
    ("DOWN", ".", "String", "tracks expected to decrease"),
)


def rng_for(seed: int, name: str) -> np.random.Generator:
    """An independent random stream for one named part of the world."""
    return np.random.default_rng([seed, zlib.crc32(name.encode())])


def synthesize(
    out: str | os.PathLike[str],
    preset: str | Preset = "tiny",
    seed: int = 0,
    *,
    cohort_sets: bool = True,
) -> Path:
    """Write a synthetic human + mouse world into `out`; return the path of its manifest.

    Same `preset` and `seed` give byte-identical files. `cohort_sets` adds the de novo
    case/control sets and eQTL-like summary statistics (human).
    """
    preset = PRESETS[preset] if isinstance(preset, str) else preset
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    motifs = bundled_motifs()
    ancestor = make_ancestor(rng_for(seed, "ancestor"), preset)
    layout = lay_out(rng_for(seed, "layout"), preset, ancestor)
    manifest: dict = {
        "format": "crossreg-synth",
        "crossreg_version": __version__,
        "preset": preset.name,
        "seed": seed,
        "genomes": {},
        "nets": [],
        "bin_bp": 128,
    }
    genomes: list[SpeciesGenome] = []
    regulations: list[Regulation] = []
    index_offset = 0
    for genome_index, (name, prefix, rearrange) in enumerate(GENOMES):
        genome = build_species(
            rng_for(seed, f"{name}/genome"), preset, ancestor, name, rearrange=rearrange
        )
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
            out, name, prefix, genome_index, index_offset, genome, reg, motifs, preset, seed
        )
        index_offset += n_tracks
        manifest["genomes"][name] = entry
    write_net(out / "human.mouse.net", ancestor, genomes[0], genomes[1])
    write_unit_map(out / "orthology.tsv", ancestor, genomes)
    manifest["nets"].append({"genomes": ["human", "mouse"], "file": "human.mouse.net"})
    manifest["orthology"] = "orthology.tsv"
    if cohort_sets:
        manifest["cohorts"] = _write_cohorts(out, genomes[0], regulations[0], motifs, preset, seed)
    manifest_path = out / "manifest.json"
    with atomic_write(manifest_path) as handle:
        json.dump(manifest, handle, indent=2)
        handle.write("\n")
    return manifest_path


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
) -> tuple[dict, int]:
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
    _write_gtf(root / "genes.gtf", reg)
    _write_elements(root / "elements.tsv", reg)
    _write_sites(root / "motif_sites.tsv", reg.sites, motifs)
    specs = track_specs(name, prefix)
    synth = TrackSynthesizer(genome, reg, preset.read_depth, rng_for(seed, f"{name}/chromatin"))
    _write_expression(root / "gene_expression.tsv", reg, synth.expression)
    no_data = _no_data(rng_for(seed, f"{name}/no_data"), genome, specs)
    write_bed(root / "no_data.bed", [iv for spec in specs for iv in no_data[spec.identifier]])
    ceilings: list[tuple[TrackSpec, float, int]] = []
    for spec in specs:
        noisy: dict[str, np.ndarray] = {}
        clean: dict[str, np.ndarray] = {}
        rng = rng_for(seed, f"{name}/track/{spec.identifier}")
        for chrom in genome.sizes:
            track = synth.sample(spec, chrom, no_data[spec.identifier], rng)
            noisy[chrom], clean[chrom] = track.noisy, track.clean
        write_bigwig(root / "tracks" / f"{spec.identifier}.bw", genome.sizes, noisy)
        write_bigwig(root / "tracks_noise_free" / f"{spec.identifier}.bw", genome.sizes, clean)
        ceilings.append((spec, *ceiling(noisy, clean)))
    for folder, table in (
        ("tracks", "targets.txt"),
        ("tracks_noise_free", "targets_noise_free.txt"),
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
    with atomic_write(root / "ceilings.tsv") as handle:
        handle.write("identifier\tdescription\tpearson_r_128bp\tbins\n")
        for spec, r, bins in ceilings:
            handle.write(f"{spec.identifier}\t{spec.description}\t{r:.6f}\t{bins}\n")
    model = EffectModel(reg, specs)
    maker = VariantMaker(genome, reg, model, motifs, rng_for(seed, f"{name}/variants"))
    scored = maker.draw(preset.variants)
    _write_variants(root, prefix, genome, scored, specs)
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


def ceiling(noisy: dict[str, np.ndarray], clean: dict[str, np.ndarray]) -> tuple[float, int]:
    """Pearson R of noisy vs noise-free sums over 128-bp bins with data, and the bin count."""
    xs, ys = [], []
    for chrom, values in noisy.items():
        x, has = bin_sums(values)
        y, _ = bin_sums(clean[chrom])
        xs.append(x[has])
        ys.append(y[has])
    x, y = np.concatenate(xs), np.concatenate(ys)
    return pearson(x, y), int(x.size)


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


def _write_gtf(path: Path, reg: Regulation) -> None:
    order = {c: i for i, c in enumerate(reg_chroms(reg))}
    records: list[GtfRecord] = []
    for g in sorted(reg.genes, key=lambda g: (order[g.chrom], g.start)):
        strand = "+" if g.strand > 0 else "-"
        attrs = {"gene_id": g.gene_id, "gene_name": g.gene_id, "gene_type": "protein_coding"}
        tx = {**attrs, "transcript_id": f"{g.gene_id}.1"}
        records.append(
            GtfRecord(g.chrom, "crossreg", "gene", g.start, g.end, ".", strand, ".", attrs)
        )
        records.append(
            GtfRecord(g.chrom, "crossreg", "transcript", g.start, g.end, ".", strand, ".", tx)
        )
        exons = g.exons if g.strand > 0 else g.exons[::-1]
        for k, (s, e) in enumerate(exons, start=1):
            records.append(
                GtfRecord(
                    g.chrom,
                    "crossreg",
                    "exon",
                    s,
                    e,
                    ".",
                    strand,
                    ".",
                    {**tx, "exon_number": str(k)},
                )
            )
    write_gtf(path, records)


def reg_chroms(reg: Regulation) -> list[str]:
    """Chromosome names in the order the regulation's genome lists them."""
    return sorted(
        {g.chrom for g in reg.genes} | {p.chrom for p in reg.elements},
        key=lambda c: int(c[3:]) if c[3:].isdigit() else 10**6,
    )


def _write_elements(path: Path, reg: Regulation) -> None:
    act = reg.activity()
    with atomic_write(path) as handle:
        cols = ["element_id", "kind", "chrom", "start", "end", "program", "gene_id", "grammar"]
        handle.write("\t".join(cols + [f"activity_{c}" for c in reg.cells]) + "\n")
        for i, p in enumerate(reg.elements):
            e = p.element
            grammar = ",".join(tf for tf, _ in e.grammar)
            row = [
                e.element_id,
                e.kind,
                p.chrom,
                str(p.start),
                str(p.end),
                e.program or ".",
                e.gene_id or ".",
                grammar,
            ]
            handle.write("\t".join(row + [f"{a:.4f}" for a in act[i]]) + "\n")


def _write_sites(path: Path, sites: list[Site], motifs: dict[str, Motif]) -> None:
    with atomic_write(path) as handle:
        handle.write(
            "chrom\tstart\tend\tstrand\ttf\tmatrix_id\telement_id\tscore\toccupancy\tlatent\n"
        )
        for s in sites:
            row = [
                s.chrom,
                str(s.start),
                str(s.end),
                "+" if s.strand > 0 else "-",
                s.tf,
                motifs[s.tf].matrix_id,
                s.element_id,
                f"{s.score:.4f}",
                f"{s.occupancy:.4f}",
                str(int(s.latent)),
            ]
            handle.write("\t".join(row) + "\n")


def _write_expression(path: Path, reg: Regulation, expression: np.ndarray) -> None:
    with atomic_write(path) as handle:
        handle.write(
            "\t".join(["gene_id", "chrom", "tss", "strand", *[f"cage_{c}" for c in reg.cells]])
            + "\n"
        )
        for g, gene in enumerate(reg.genes):
            row = [gene.gene_id, gene.chrom, str(gene.tss), "+" if gene.strand > 0 else "-"]
            handle.write("\t".join(row + [f"{v:.4f}" for v in expression[g]]) + "\n")


def _write_variants(
    root: Path,
    prefix: str,
    genome: SpeciesGenome,
    scored: list[ScoredVariant],
    specs: list[TrackSpec],
) -> None:
    records: list[Variant] = []
    with atomic_write(root / "variant_effects.tsv") as handle:
        handle.write("variant_id\tkind\tidentifier\tdescription\texpected_change\tsign\n")
        for k, sv in enumerate(scored, start=1):
            vid = f"{prefix}_var{k:05d}"
            up = [s.identifier for s in specs if sign(sv.effects[s.identifier]) > 0]
            down = [s.identifier for s in specs if sign(sv.effects[s.identifier]) < 0]
            info: dict[str, str | bool] = {"KIND": sv.kind}
            if sv.motif:
                info["MOTIF"] = sv.motif
                info["ELEMENT"] = sv.element
            if up:
                info["UP"] = ",".join(up)
            if down:
                info["DOWN"] = ",".join(down)
            v = sv.variant
            records.append(Variant(v.chrom, v.pos, v.ref, v.alts, id=vid, info=info))
            for s in specs:
                delta = sv.effects[s.identifier]
                handle.write(
                    f"{vid}\t{sv.kind}\t{s.identifier}\t{s.description}\t{delta:.6g}\t{sign(delta)}\n"
                )
    write_vcf(root / "variants.vcf", records, contigs=genome.sizes, info_header=VARIANT_INFO)


def _write_cohorts(
    out: Path,
    genome: SpeciesGenome,
    reg: Regulation,
    motifs: dict[str, Motif],
    preset: Preset,
    seed: int,
) -> dict:
    """De novo case/control sets and eQTL-like summary statistics of `genome`."""
    specs = track_specs(genome.name, "hs")
    model = EffectModel(reg, specs)
    maker = VariantMaker(genome, reg, model, motifs, rng_for(seed, "cohorts"))
    root = out / "cohorts"
    calls = cohorts.denovo_sets(maker, preset.denovo_samples)
    sample_info = (("SAMPLE", "1", "String", "sample carrying the de novo variant"),)
    for group in ("case", "control"):
        records = [
            Variant(
                c.variant.chrom,
                c.variant.pos,
                c.variant.ref,
                c.variant.alts,
                id=f"dn_{c.sample}_{k}",
                info={"SAMPLE": c.sample},
            )
            for k, c in enumerate(calls)
            if c.group == group
        ]
        write_vcf(
            root / f"denovo_{group}s.vcf", records, contigs=genome.sizes, info_header=sample_info
        )
    with atomic_write(root / "denovo_truth.tsv") as handle:
        handle.write("variant_id\tsample\tgroup\tplanted\n")
        for k, c in enumerate(calls):
            handle.write(f"dn_{c.sample}_{k}\t{c.sample}\t{c.group}\t{int(c.planted)}\n")
    stats = cohorts.eqtl_stats(maker, model, preset.eqtl_snps)
    se = 1.0 / np.sqrt(cohorts.EQTL_N)
    with atomic_write(root / "eqtl_sumstats.tsv") as handle:
        handle.write("snp\tchrom\tpos\tref\talt\tgene_id\tn\tz\tbeta\tse\n")
        for k, s in enumerate(stats, start=1):
            v = s.variant
            handle.write(
                f"eq{k:06d}\t{v.chrom}\t{v.pos + 1}\t{v.ref}\t{v.alts[0]}\t{s.gene}\t"
                f"{cohorts.EQTL_N}\t{s.z:.5f}\t{s.z * se:.6f}\t{se:.6f}\n"
            )
    with atomic_write(root / "eqtl_truth.tsv") as handle:
        handle.write("snp\tdelta_log_expression\n")
        for k, s in enumerate(stats, start=1):
            handle.write(f"eq{k:06d}\t{s.delta:.6g}\n")
    return {
        "genome": genome.name,
        "denovo_cases": "cohorts/denovo_cases.vcf",
        "denovo_controls": "cohorts/denovo_controls.vcf",
        "denovo_truth": "cohorts/denovo_truth.tsv",
        "denovo_enriched_cell_type": cohorts.ENRICHED_PROGRAM,
        "denovo_planted_per_case": cohorts.PLANTED_PER_CASE,
        "eqtl_sumstats": "cohorts/eqtl_sumstats.tsv",
        "eqtl_sumstats_pos_base": 1,
        "eqtl_truth": "cohorts/eqtl_truth.tsv",
        "eqtl_cell_type": cohorts.EQTL_CELL,
        "eqtl_track": f"hs_CAGE_{cohorts.EQTL_CELL}",
        "eqtl_tau": cohorts.EQTL_TAU,
    }
