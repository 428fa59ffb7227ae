"""The truth tables of a synthetic world: genes, elements, motif sites, expression, variants.

All tables are tab-separated with a header row and 0-based half-open coordinates (the GTF
and VCF files follow their formats' 1-based conventions, converted by crossreg's writers).
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy.typing as npt

from crossreg.io.atomic import atomic_write
from crossreg.io.gtf import GtfRecord, write_gtf
from crossreg.io.vcf import Variant, write_vcf
from crossreg.synth.cells import TrackSpec
from crossreg.synth.motifs import Motif
from crossreg.synth.planting import Site
from crossreg.synth.regulation import Regulation
from crossreg.synth.variants import ScoredVariant, sign

VARIANT_INFO = (
    ("KIND", "1", "String", "break, create, site_deletion, neutral or neutral_indel"),
    ("MOTIF", "1", "String", "TF whose planted site the variant touches"),
    ("ELEMENT", "1", "String", "regulatory element holding that site"),
    ("UP", ".", "String", "tracks expected to increase"),
    ("DOWN", ".", "String", "tracks expected to decrease"),
)


def write_tsv(
    path: str | os.PathLike[str], header: Sequence[str], rows: Iterable[Sequence[object]]
) -> None:
    """Write a tab-separated table with a header row, atomically."""
    with atomic_write(path) as handle:
        handle.write("\t".join(header) + "\n")
        handle.writelines("\t".join(str(v) for v in row) + "\n" for row in rows)


def _strand(value: int) -> str:
    return "+" if value > 0 else "-"


def write_gene_annotation(path: Path, reg: Regulation, chrom_order: Sequence[str]) -> None:
    """Genes as GTF: one gene, one transcript and its exons each (numbered 5' to 3')."""
    order = {c: i for i, c in enumerate(chrom_order)}
    records: list[GtfRecord] = []
    for g in sorted(reg.genes, key=lambda g: (order[g.chrom], g.start)):
        strand = _strand(g.strand)
        gene = {"gene_id": g.gene_id, "gene_name": g.gene_id, "gene_type": "protein_coding"}
        tx = {**gene, "transcript_id": f"{g.gene_id}.1"}
        records.append(
            GtfRecord(g.chrom, "crossreg", "gene", g.start, g.end, ".", strand, ".", gene)
        )
        records.append(
            GtfRecord(g.chrom, "crossreg", "transcript", g.start, g.end, ".", strand, ".", tx)
        )
        exons = g.exons if g.strand > 0 else g.exons[::-1]
        for k, (start, end) in enumerate(exons, start=1):
            attrs = {**tx, "exon_number": str(k)}
            records.append(
                GtfRecord(g.chrom, "crossreg", "exon", start, end, ".", strand, ".", attrs)
            )
    write_gtf(path, records)


def write_elements(path: Path, reg: Regulation) -> None:
    """Every element with its grammar and activity per cell type."""
    act = reg.activity()
    header = ["element_id", "kind", "chrom", "start", "end", "program", "gene_id", "grammar"]
    write_tsv(
        path,
        header + [f"activity_{c}" for c in reg.cells],
        (
            [
                p.element.element_id,
                p.element.kind,
                p.chrom,
                p.start,
                p.end,
                p.element.program or ".",
                p.element.gene_id or ".",
                ",".join(tf for tf, _ in p.element.sites_in_order),
                *(f"{a:.4f}" for a in act[i]),
            ]
            for i, p in enumerate(reg.elements)
        ),
    )


def write_motif_sites(path: Path, sites: list[Site], motifs: dict[str, Motif]) -> None:
    """Every planted motif instance (latent = key base broken) with its score and occupancy."""
    header = [
        "chrom",
        "start",
        "end",
        "strand",
        "tf",
        "matrix_id",
        "element_id",
        "score",
        "occupancy",
        "latent",
    ]
    write_tsv(
        path,
        header,
        (
            [
                s.chrom,
                s.start,
                s.end,
                _strand(s.strand),
                s.tf,
                motifs[s.tf].matrix_id,
                s.element_id,
                f"{s.score:.4f}",
                f"{s.occupancy:.4f}",
                int(s.latent),
            ]
            for s in sites
        ),
    )


def write_gene_expression(path: Path, reg: Regulation, expression: npt.NDArray) -> None:
    """Expected CAGE tags at each TSS per cell type (``expression``: genes x cells)."""
    write_tsv(
        path,
        ["gene_id", "chrom", "tss", "strand", *[f"cage_{c}" for c in reg.cells]],
        (
            [g.gene_id, g.chrom, g.tss, _strand(g.strand), *(f"{v:.4f}" for v in expression[i])]
            for i, g in enumerate(reg.genes)
        ),
    )


def write_ceilings(path: Path, ceilings: list[tuple[TrackSpec, float, int, float]]) -> None:
    """Per track: Pearson R of noisy vs noise-free 128-bp bin sums, the bins used, and the
    R of noisy vs in-window sums (the reachable ceiling, same bins)."""
    write_tsv(
        path,
        ["identifier", "description", "pearson_r_128bp", "bins", "pearson_r_128bp_in_window"],
        (
            [spec.identifier, spec.description, f"{r:.6f}", bins, f"{reach:.6f}"]
            for spec, r, bins, reach in ceilings
        ),
    )


def write_variants(
    root: Path,
    prefix: str,
    contigs: dict[str, int],
    scored: list[ScoredVariant],
    specs: list[TrackSpec],
) -> None:
    """``variants.vcf`` (INFO: KIND, MOTIF, ELEMENT, UP, DOWN) and ``variant_effects.tsv``."""
    records: list[Variant] = []
    rows: list[list[object]] = []
    for k, sv in enumerate(scored, start=1):
        vid = f"{prefix}_var{k:05d}"
        info: dict[str, str | bool] = {"KIND": sv.kind}
        if sv.motif:
            info["MOTIF"] = sv.motif
            info["ELEMENT"] = sv.element
        for key, direction in (("UP", 1), ("DOWN", -1)):
            tracks = [s.identifier for s in specs if sign(sv.effects[s.identifier]) == direction]
            if tracks:
                info[key] = ",".join(tracks)
        v = sv.variant
        records.append(Variant(v.chrom, v.pos, v.ref, v.alts, id=vid, info=info))
        for s in specs:
            delta = sv.effects[s.identifier]
            rows.append([vid, sv.kind, s.identifier, s.description, f"{delta:.6g}", sign(delta)])
    write_tsv(
        root / "variant_effects.tsv",
        ["variant_id", "kind", "identifier", "description", "expected_change", "sign"],
        rows,
    )
    write_vcf(root / "variants.vcf", records, contigs=contigs, info_header=VARIANT_INFO)
