"""VCF variants: read with checks, write atomically.

The reader converts VCF's 1-based ``POS`` to a 0-based ``pos`` once, here; everything else
in crossreg uses 0-based half-open coordinates. A variant's REF occupies
``[pos, pos + len(ref))``; a record at VCF's virtual telomere, POS 0 (allowed only when no
ALT is bases: a breakend or symbolic allele), has ``pos`` -1. The lines are read and
checked natively, in batches, without the GIL (:class:`crossreg._native.VcfSites`, lines
ending at ``\n``, ``\r\n`` or a lone ``\r`` as in Python's text mode); gzipped files
(bgzip's too, of many members) are read transparently, whatever their name, as
:func:`crossreg.io.text.open_text` tells them. Sample columns are kept as text. Records that
stop after ALT, QUAL or FILTER (as some tools write) are read with the missing columns as ``.``,
as long as no record is shorter than the file's first one.

A file cut short is caught where it can be: a gzip stream that ends early or does not
decompress, a last record without its newline and a record with fewer columns than the
first stop with the file and line named; a BGZF file without its end-of-file block (cut at
a block boundary) is read with a warning.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from crossreg import _native
from crossreg.io.atomic import atomic_write
from crossreg.io.chroms import chrom_hint
from crossreg.io.text import bgzf_end_missing

if TYPE_CHECKING:
    from crossreg.genome import Genome

log = logging.getLogger("crossreg")

HEADER_COLUMNS = ("#CHROM", "POS", "ID", "REF", "ALT", "QUAL", "FILTER", "INFO")
_new_object = object.__new__
T = TypeVar("T")

#: Records read natively per batch: enough to amortise a call, few enough to stream.
_BATCH = 4096


@dataclass(frozen=True)
class Variant:
    """One VCF record; `pos` is 0-based, `info` maps keys to values (flags map to ``True``),
    `line` its line in the file it was read from (None for a record made otherwise)."""

    chrom: str
    pos: int
    ref: str
    alts: tuple[str, ...]
    id: str = "."
    qual: str = "."
    filter: str = "."
    info: dict[str, str | bool] = field(default_factory=dict, compare=False)
    samples: tuple[str, ...] = field(default=(), compare=False)
    line: int | None = field(default=None, compare=False)

    @property
    def end(self) -> int:
        """End of the reference allele (exclusive, 0-based)."""
        return self.pos + len(self.ref)

    @property
    def is_snp(self) -> bool:
        """True when REF and every ALT are single bases."""
        return len(self.ref) == 1 and all(len(a) == 1 for a in self.alts)


def iter_vcf(
    path: str | os.PathLike[str],
    *,
    warn: bool = True,
    sites_only: bool = False,
    skip: int = 0,
    skip_chroms: Collection[str] = (),
) -> Iterator[Variant]:
    """Yield the records of a VCF in file order, checking each line; a file without the
    ``#CHROM`` column header line, or a BGZF file without its end-of-file block, is read
    with a warning (with `warn` off, as by a second pass over a file already read,
    without). The lines are read and checked natively, in batches, without the GIL
    (:class:`crossreg._native.VcfSites`). With `sites_only`, the FORMAT and sample columns
    are neither split nor kept (``samples`` empty, as in a sites-only VCF): a 1000 Genomes
    record's 2,504 genotypes cost neither time nor memory to a reader of the sites alone.
    The first `skip` records on `skip_chroms` (and every record line among them) are
    passed over unread (neither checked nor yielded): for a pass over a file already read
    whole, to reach a record far into it."""
    path = Path(path)
    if warn:
        warn_bgzf_end(path)
    reader = _native.VcfSites(path, sites_only=sites_only, skip=skip, skip_chroms=set(skip_chroms))
    for batch in native_batches(path, reader, lambda: reader.read(_BATCH), warn=warn):
        for line, chrom, pos1, vid, ref, alts, qual, filt, info, samples in batch:
            # filled as Variant(...) would fill it, without the frozen dataclass's
            # __init__ (one object.__setattr__ a field: 3x the time of the rest)
            variant = _new_object(Variant)
            variant.__dict__.update(
                chrom=chrom,
                pos=pos1 - 1,
                ref=ref,
                alts=alts,
                id=vid,
                qual=qual,
                filter=filt,
                info=info,
                samples=() if samples is None else tuple(samples.split("\t")),
                line=line,
            )
            yield variant


def native_batches(
    path: Path,
    reader: _native.VcfSites | _native.VcfSurvey,
    read: Callable[[], T],
    *,
    warn: bool = True,
) -> Iterator[T]:
    """The batches `read` returns from the native `reader` of the VCF at `path` until one
    is empty (falsy), with :func:`iter_vcf`'s warning of a file without a column header
    line (unless `warn` is off) and its error for a file with neither a record nor one."""
    warned = not warn
    while True:
        try:
            batch = read()
        finally:  # a record before any header line is warned of, even when it is bad
            if not warned and reader.headerless:  # older files (Basenji's tutorial VCF)
                log.warning(
                    "%s: no '#CHROM POS ID REF ALT ...' header line; reading the records as "
                    "CHROM POS ID REF ALT [QUAL FILTER INFO]",
                    path,
                )
                warned = True
        if not batch:
            break
        yield batch
    if not reader.seen_header:
        raise ValueError(
            f"{path}: no records and no '#CHROM POS ID REF ALT ...' header line{_pipe_hint(path)}"
        )


def warn_bgzf_end(path: Path) -> None:
    """Warn when `path` is a BGZF file without its end-of-file block (cut short at a
    block's end, which reads as a whole file)."""
    if bgzf_end_missing(path):
        log.warning(
            "%s: the BGZF file lacks its end-of-file block, so it may be truncated; "
            "re-download or re-compress it (bgzip -t tests it)",
            path,
        )


def _pipe_hint(path: Path) -> str:
    """Why a pipe (a shell's ``<(...)``) may read empty, when `path` is one; '' otherwise."""
    if not path.exists() or path.is_file():
        return ""
    return (
        "; it is a pipe, which can be read only once (a second read finds it empty): write "
        "it to a file first"
    )


def read_vcf(path: str | os.PathLike[str], *, genome: Genome | None = None) -> list[Variant]:
    """Read all records of a VCF.

    With `genome` (a :class:`crossreg.genome.Genome`), every chromosome must exist and every
    REF must match the genome's bases; the error names the record and the likely cause.
    """
    variants = list(iter_vcf(path))
    if genome is not None:
        check_reference(variants, genome, source=str(path))
    return variants


def record_source(variant: Variant, source: str) -> str:
    """`source`, the file `variant` was read from, with the record's line when known
    (``calls.vcf:1042``), as a message names the place to look."""
    return source if variant.line is None else f"{source}:{variant.line}"


def require_ascii_record(variant: Variant, *, source: str) -> None:
    """Stop at a record whose ID or CHROM has a character outside ASCII, which crossreg's
    ``.h5`` outputs store as ASCII bytes (as Basenji's do), before any scoring."""
    if not (variant.id.isascii() and variant.chrom.isascii()):
        raise ValueError(
            f"{record_source(variant, source)}: the record at {variant.chrom}:{variant.pos + 1} "
            f"({variant.id}) has a "
            "character outside ASCII in its ID or CHROM, which .h5 outputs store as ASCII "
            "bytes (as Basenji's do); rename it"
        )


def require_chromosome(
    variant: Variant, sizes: Mapping[str, int], *, source: str, fasta: str
) -> None:
    """Raise ValueError when `variant` lies on a chromosome that the FASTA `fasta`, of
    chromosome `sizes`, lacks; the message names both files and the renaming hint."""
    if variant.chrom not in sizes:
        hint = chrom_hint(variant.chrom, sizes)
        raise ValueError(
            f"{record_source(variant, source)}: variant {variant.id} at "
            f"{variant.chrom}:{variant.pos + 1} is on a "
            f"chromosome not in {fasta}{hint}"
        )


def check_reference(variants: Iterable[Variant], genome: Genome, *, source: str) -> None:
    """Raise ValueError at the first variant whose chromosome or REF disagrees with `genome`."""
    for v in variants:
        reference_bases(v, genome, source=source)


def past_the_end(variant: Variant, size: int) -> bool:
    """Whether `variant`'s REF runs past the end of its chromosome of `size` bp; a record at
    the chromosome's virtual telomere, VCF's POS N+1, without an ALT of bases (a telomeric
    breakend, its REF the one base past the end, as POS 0's is the one before) does not."""
    # the reader's ALTs of letters alone are its ALTs of bases (as skip_reason takes them)
    telomere = variant.pos == size and len(variant.ref) == 1
    return variant.end > size and not (telomere and not any(a.isalpha() for a in variant.alts))


def reference_bases(
    variant: Variant, genome: Genome, *, source: str, swapped_snp: bool = False
) -> str:
    """The genome's bases under `variant`'s REF (upper case), after checking them: a record
    on a chromosome the genome lacks or past its end (:func:`past_the_end`), or whose REF
    is not the genome's bases (N off its ends), is a ValueError naming the record. With
    `swapped_snp`, a SNP whose genome base is one of its ALTs (REF and ALT swapped) passes
    too; the caller decides what to say."""
    require_chromosome(variant, genome.sizes, source=source, fasta=genome.path)
    place = f"{variant.chrom}:{variant.pos + 1}"
    where = f"{record_source(variant, source)}: variant {variant.id} at {place}"
    size = genome.sizes[variant.chrom]
    if past_the_end(variant, size):
        raise ValueError(
            f"{where} lies past the end of {variant.chrom} ({size:,} bp in the FASTA); check "
            "the genome build"
        )
    found = genome.fetch(variant.chrom, variant.pos, variant.end).decode("ascii").upper()
    if found == variant.ref or (swapped_snp and variant.is_snp and found in variant.alts):
        return found
    swap_hint = "" if swapped_snp else " or whether REF/ALT are swapped"
    raise ValueError(
        f"{where} has REF {variant.ref} but the genome has {found}; check the genome "
        f"build{swap_hint}"
    )


def _format_info(info: Mapping[str, str | bool]) -> str:
    items = [k if v is True else f"{k}={v}" for k, v in info.items() if v is not False]
    return ";".join(items) if items else "."


def write_vcf(
    path: str | os.PathLike[str],
    variants: Iterable[Variant],
    *,
    contigs: Mapping[str, int],
    info_header: Sequence[tuple[str, str, str, str]] = (),
    source: str = "crossreg",
    sample_names: Sequence[str] = (),
) -> None:
    """Write a VCFv4.2 file atomically, sorted as given; POS is written 1-based.

    `info_header` holds ``(ID, Number, Type, Description)`` of each INFO key used.
    """
    with atomic_write(path) as handle:
        handle.write("##fileformat=VCFv4.2\n")
        handle.write(f"##source={source}\n")
        for chrom, length in contigs.items():
            handle.write(f"##contig=<ID={chrom},length={length}>\n")
        for key, number, kind, description in info_header:
            handle.write(
                f'##INFO=<ID={key},Number={number},Type={kind},Description="{description}">\n'
            )
        columns = list(HEADER_COLUMNS)
        if sample_names:
            columns += ["FORMAT", *sample_names]
        handle.write("\t".join(columns) + "\n")
        for v in variants:
            row = [v.chrom, str(v.pos + 1), v.id, v.ref, ",".join(v.alts), v.qual, v.filter]
            row.append(_format_info(v.info))
            handle.write("\t".join([*row, *v.samples]) + "\n")
