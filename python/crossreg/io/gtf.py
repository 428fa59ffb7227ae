"""GTF gene annotations: read with checks, write atomically.

GTF rows are 1-based and inclusive (``start``..``end``); :class:`GtfRecord` holds them
0-based half-open (``[start, end)``), converted here. Attributes are ``key "value";``
pairs. ``#`` comments and UCSC's ``track``/``browser`` lines are skipped. Gzipped files
are read transparently, whatever their name (:func:`crossreg.io.text.numbered_lines`).
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from crossreg.errors import first_few
from crossreg.io.atomic import atomic_write
from crossreg.io.bed import HEADER_WORDS
from crossreg.io.text import numbered_lines

log = logging.getLogger("crossreg")


@dataclass(frozen=True)
class GtfRecord:
    """One GTF feature (exon, transcript, gene, ...) in 0-based half-open coordinates."""

    chrom: str
    source: str
    feature: str
    start: int
    end: int
    score: str
    strand: str
    frame: str
    attributes: dict[str, str] = field(default_factory=dict, compare=False)
    #: ``file:line`` the record was read from ('' for one made in code), for messages.
    where: str = field(default="", compare=False)

    @property
    def gene_id(self) -> str:
        """The ``gene_id`` attribute ('' when absent)."""
        return self.attributes.get("gene_id", "")

    @property
    def transcript_id(self) -> str:
        """The ``transcript_id`` attribute ('' when absent)."""
        return self.attributes.get("transcript_id", "")


# one attribute: a key, then a quoted value (which may hold ';') or a bare one, then ';'
# or the end of the field
_ATTRIBUTE = re.compile(r'[\s;]*([^\s;"]+)[ \t]+("[^"]*"|[^"\s;][^";]*?)[ \t]*(?:;|$)')


# GFF3's attributes: ``key=value`` pairs
_GFF3_ATTRIBUTE = re.compile(r"\s*[^\s;\"=]+=")

# the bare id AUGUSTUS and BRAKER write as the attributes of gene and transcript lines
# (``g1``, ``g1.t1``): one word, no key, no ';', and not a key whose value is missing
_BARE_ID = re.compile(r"\s*(?!(?:gene_id|transcript_id)\s*$)[^\s;\"=#.][^\s;\"=#]*\s*")


def _parse_attributes(text: str, where: str) -> dict[str, str]:
    """``key "value"; key value; ...`` as a dict (a later key wins); quoted values keep
    their ``;``, a ``#`` outside quotes starts a comment, and ``.`` is no attributes."""
    if _GFF3_ATTRIBUTE.match(text):
        raise ValueError(
            f"{where}: attributes '{text.split(';', 1)[0].strip()}' are GFF3's key=value "
            'pairs; give a GTF (gene_id "G1"; ...), e.g. from `gffread -T FILE.gff3`'
        )
    if _BARE_ID.fullmatch(text):
        raise ValueError(
            f"{where}: attributes '{text.strip()}' are a bare id, as AUGUSTUS and BRAKER "
            'write on gene and transcript lines, not key "value" pairs (gene_id "G1"; ...); '
            "convert the file with `gffread -T FILE.gtf -o FIXED.gtf`, which gives every "
            "line its gene_id and transcript_id"
        )
    attributes: dict[str, str] = {}
    at, text = 0, text.rstrip()
    if text.strip() == ".":
        return attributes
    while text[at:].strip(" \t;") and not text[at:].lstrip(" \t;").startswith("#"):
        found = _ATTRIBUTE.match(text, at)
        if found is None or found.end() == at:
            item = text[at:].strip(" \t;").split(";", 1)[0].strip()
            raise ValueError(
                f"{where}: attribute '{item}' needs a key and a value ('gene_id \"G1\";')"
            )
        key, value = found.groups()
        attributes[key] = value[1:-1] if value.startswith('"') else value
        at = found.end()
    return attributes


def iter_gtf(path: str | os.PathLike[str]) -> Iterator[GtfRecord]:
    """Yield the features of a GTF file in file order, checking each line."""
    path = Path(path)
    for line_no, line in numbered_lines(path):
        text = line.rstrip("\r\n")
        if text.strip() and not text.startswith("#") and text.split()[0] not in HEADER_WORDS:
            yield _parse_line(f"{path}:{line_no}", text)


def _parse_line(where: str, text: str) -> GtfRecord:
    """One GTF line (without its newline) as a GtfRecord; a ValueError naming `where`."""
    fields = text.split("\t")
    if len(fields) != 9:
        raise ValueError(
            f"{where}: {len(fields)} tab-separated fields; GTF needs 9 (seqname source "
            "feature start end score strand frame attributes)"
        )
    try:
        start1, end1 = int(fields[3]), int(fields[4])
    except ValueError:
        raise ValueError(
            f"{where}: start '{fields[3]}' and end '{fields[4]}' must be whole numbers"
        ) from None
    if start1 < 1 or end1 < start1:
        raise ValueError(
            f"{where}: feature {fields[0]}:{start1}-{end1} is invalid (GTF is 1-based "
            "and inclusive: 1 <= start <= end)"
        )
    if fields[6] not in ("+", "-", "."):
        raise ValueError(f"{where}: strand '{fields[6]}' must be '+', '-' or '.'")
    return GtfRecord(
        chrom=fields[0],
        source=fields[1],
        feature=fields[2],
        start=start1 - 1,
        end=end1,
        score=fields[5],
        strand=fields[6],
        frame=fields[7],
        attributes=_parse_attributes(fields[8], where),
        where=where,
    )


def read_gtf(path: str | os.PathLike[str]) -> list[GtfRecord]:
    """Read all features of a GTF file."""
    return list(iter_gtf(path))


def write_gtf(path: str | os.PathLike[str], records: Iterable[GtfRecord]) -> None:
    """Write features as GTF (1-based inclusive), atomically."""
    with atomic_write(path) as handle:
        for r in records:
            attributes = " ".join(f'{k} "{v}";' for k, v in r.attributes.items())
            row = [r.chrom, r.source, r.feature, str(r.start + 1), str(r.end), r.score, r.strand]
            handle.write("\t".join([*row, r.frame, attributes]) + "\n")


#: The features :func:`gene_tss` reads a gene's TSSs from.
GENE_FEATURES = ("transcript", "exon", "gene")


def _where(record: GtfRecord) -> str:
    """``file:line`` of `record`, or its place for one made in code."""
    return record.where or f"{record.chrom}:{record.start + 1}-{record.end}"


def _require_gene_id(record: GtfRecord) -> None:
    """Stop when `record` names no gene: its TSS would be pooled with every other such
    record's, as one gene ''."""
    if record.gene_id:
        return
    where = _where(record)
    what = "an empty" if "gene_id" in record.attributes else "no"
    raise ValueError(
        f"{where}: {record.feature} record has {what} gene_id attribute (GTF requires one); "
        'add gene_id "GENE"; naming the gene it belongs to'
    )


def gene_tss(records: Iterable[GtfRecord]) -> dict[str, list[tuple[str, int]]]:
    """Gene → its transcripts' TSSs ``(chrom, 0-based position)``, strand-aware: the start
    of each transcript record; for a gene without transcript records, the first exon of
    each of its transcripts (the smallest exon start on ``+``, the largest end on ``-``;
    exons group by ``transcript_id``, the gene's when absent, chromosome and strand: the
    shape of a transcript line, for GTFs with exon lines only, as UCSC's Table Browser and
    refGene write them); without exons either, the gene record's start. A record without
    a strand (``.``) gives no TSS (its first base is unknown), with a warning that counts
    them and the genes left with none. One pass over `records`, keeping no record (a
    whole GENCODE GTF streams through :func:`iter_gtf`). A transcript, exon or gene record
    without a ``gene_id`` is a ValueError naming it."""
    by_gene: dict[str, list[tuple[str, int]]] = {}
    exon_spans: dict[tuple[str, str, str, str], list[int]] = {}
    gene_records: list[tuple[str, str, int, int, str]] = []
    unstranded: dict[str, int] = {}  # gene → its records without a strand
    first_unstranded = ""

    def add(gene: str, chrom: str, start: int, end: int, strand: str) -> None:
        sites = by_gene.setdefault(gene, [])
        site = (chrom, end - 1 if strand == "-" else start)
        if site not in sites:
            sites.append(site)

    for r in records:
        if r.feature not in GENE_FEATURES:
            continue
        _require_gene_id(r)
        if r.strand not in ("+", "-"):
            unstranded[r.gene_id] = unstranded.get(r.gene_id, 0) + 1
            first_unstranded = first_unstranded or _where(r)
        elif r.feature == "transcript":
            add(r.gene_id, r.chrom, r.start, r.end, r.strand)
        elif r.feature == "exon":
            key = (r.gene_id, r.transcript_id or r.gene_id, r.chrom, r.strand)
            span = exon_spans.setdefault(key, [r.start, r.end])
            span[0], span[1] = min(span[0], r.start), max(span[1], r.end)
        else:
            gene_records.append((r.gene_id, r.chrom, r.start, r.end, r.strand))
    with_transcripts = set(by_gene)
    for (gene, _, chrom, strand), (start, end) in exon_spans.items():
        if gene not in with_transcripts:
            add(gene, chrom, start, end, strand)
    with_exons = set(by_gene)
    for gene, chrom, start, end, strand in gene_records:
        if gene not in with_exons:
            add(gene, chrom, start, end, strand)
    if unstranded:
        _warn_unstranded(unstranded, first_unstranded, by_gene)
    return by_gene


def _warn_unstranded(
    unstranded: dict[str, int], where: str, by_gene: dict[str, list[tuple[str, int]]]
) -> None:
    """Warn that the records counted per gene in `unstranded` (the first at `where`) gave
    no TSS, naming the genes left with none."""
    records, genes = sum(unstranded.values()), len(unstranded)
    lost = [gene for gene in unstranded if gene not in by_gene]
    if not lost:
        outcome = "each of those genes has a TSS from its stranded records"
    elif len(lost) == 1:
        outcome = f"1 of those genes ({lost[0]}) has no stranded record and is left out"
    else:
        outcome = (
            f"{len(lost)} of those genes ({first_few(lost)}) have no stranded record and "
            "are left out"
        )
    log.warning(
        "%s: %d transcript, exon or gene record%s of %d gene%s %s no strand ('.'), so "
        "their first base is unknown and they give no TSS; %s",
        where,
        records,
        "" if records == 1 else "s",
        genes,
        "" if genes == 1 else "s",
        "has" if records == 1 else "have",
        outcome,
    )
