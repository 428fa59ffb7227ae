"""The VCF records a SAD run scores, counted before it scores and streamed in chunks.

:func:`crossreg.variants.sad.write_sad` reads the VCF once before scoring
(:func:`survey_vcf`): it counts the records on the FASTA's chromosomes (and those it
skips) and each one's scorable alleles, and checks their REF against the genome, so the
alleles of this run's records (all of them, or shard ``i/n``'s contiguous share) are known,
and a REF the genome contradicts has stopped the run, before the first is scored. Then
records are streamed (:func:`kept_records`) in chunks of about ``chunk_size`` alleles
(:func:`record_chunks`: a chunk ends on a record).
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import NoReturn

import numpy as np
import numpy.typing as npt

from crossreg import _native
from crossreg.genome import Genome
from crossreg.io.vcf import (
    Variant,
    iter_vcf,
    native_batches,
    reference_bases,
    require_ascii_record,
    require_chromosome,
    warn_bgzf_end,
)
from crossreg.progress import progress
from crossreg.variants.alleles import report_skipped, scorable_alts


def kept_records(vcf: str | os.PathLike[str], genome: Genome, skip: int = 0) -> Iterator[Variant]:
    """The VCF's records on the genome's chromosomes after the first `skip` of them,
    streamed in file order (the pass after :func:`survey_vcf`'s, which checked every line
    and gave the file's warnings), without their sample columns, which scoring does not
    read. The records skipped (a later shard's, a resumed run's finished ones)
    are passed over by their CHROM alone."""
    records = iter_vcf(vcf, warn=False, sites_only=True, skip=skip, skip_chroms=genome.sizes)
    return (v for v in records if v.chrom in genome.sizes)


@dataclass(frozen=True)
class Plan:
    """This run's records ``[start, stop)`` of the kept ones, the alleles it scores and
    the alleles it skips, per reason (:func:`crossreg.variants.alleles.skip_reason`)."""

    start: int
    stop: int
    alleles: int
    skipped: dict[str, int]


@dataclass(frozen=True)
class Survey:
    """One pass over a VCF: the records on the genome (`kept`), those skipped per
    chromosome the FASTA lacks, each kept record's number of scorable alleles and, for
    every allele that cannot be scored, its kept record (`unscorable_records`, ascending)
    and its reason (`unscorable_reasons`, an index into `reasons`): 9 bytes an allele, so
    a gVCF's ``<NON_REF>`` on every record costs little; and the VCF's
    :func:`~crossreg.io.identity.content_identity`, taken from the bytes the pass read."""

    kept: int
    off_fasta: dict[str, int]
    alleles: npt.NDArray[np.uint16]
    unscorable_records: npt.NDArray[np.int64]
    unscorable_reasons: npt.NDArray[np.uint8]
    reasons: tuple[str, ...]
    identity: dict[str, object]

    def plan(self, start: int, stop: int) -> Plan:
        """The alleles of kept records ``[start, stop)``, scored and skipped."""
        first, last = np.searchsorted(self.unscorable_records, [start, stop])
        counts = np.bincount(self.unscorable_reasons[first:last], minlength=len(self.reasons))
        skipped = {self.reasons[code]: int(n) for code, n in enumerate(counts) if n}
        scored = int(self.alleles[start:stop].sum(dtype=np.int64))
        return Plan(start, stop, scored, dict(sorted(skipped.items())))


#: Records surveyed natively per call: enough to amortise it, few enough to show progress.
_SURVEY_BATCH = 1 << 16


def survey_vcf(
    vcf: str | os.PathLike[str],
    genome: Genome,
    seq_length: int,
    *,
    source: str,
    strict: bool = False,
) -> Survey:
    """The one pass before scoring: counts the records on the genome and the records
    skipped per chromosome it lacks (logged), and each kept record's scorable alleles for
    a model of `seq_length` (:class:`Survey`); stops when the VCF has records but none
    on the genome (a VCF of none is surveyed as empty), or some are on a chromosome named
    without (or with) its ``chr`` prefix (a naming
    mismatch: the error carries the hint), with `strict` at the first record off
    it, and at the first record with a scorable allele whose REF the genome contradicts
    (:func:`crossreg.io.vcf.reference_bases`), so such a run stops before it writes.

    The records are read, counted and checked natively without the GIL
    (:class:`crossreg._native.VcfSurvey`: :func:`~crossreg.variants.alleles.skip_reason`'s
    rule, the REF read from the genome in place), and the file hashed as it is read; the
    one record that fails a check is stated by the Python checks, in their words."""
    path = Path(vcf)
    warn_bgzf_end(path)
    survey = _native.VcfSurvey(path, genome.native, seq_length, strict=strict)
    with progress(None, "counting the VCF's records", "records") as meter:  # 10⁷ in 1000G
        for read in native_batches(path, survey, lambda: survey.read(_SURVEY_BATCH)):
            meter.update(read)
    if survey.stop is not None:
        _refuse(_variant(survey.stop), genome, source)
    alleles, records, codes, reasons, off = survey.take_counts()
    if survey.first_off is not None and not len(alleles):
        require_chromosome(
            _variant(survey.first_off), genome.sizes, source=source, fasta=genome.path
        )
    skipped = dict(sorted(off.items()))
    report_skipped(skipped, genome, source=source, first_on=lambda name: _first_on(path, name))
    digest = survey.content_digest
    if digest is None:  # the reader stops only at the file's end or a failed check
        raise RuntimeError(f"{source}: the survey ended before the end of the file")
    return Survey(
        len(alleles),
        skipped,
        alleles,
        records,
        codes,
        tuple(reasons),
        {"size": digest[0], "sha256": digest[1]},
    )


def _first_on(path: Path, chrom: str) -> Variant:
    """The first record of the VCF at `path` on `chrom` (read again: only an error needs
    it)."""
    return next(v for v in iter_vcf(path, warn=False, sites_only=True) if v.chrom == chrom)


def _variant(record: tuple[int, str, int, str, str, list[str]]) -> Variant:
    """The survey's record ``(line, chrom, pos, id, ref, alts)`` as a :class:`Variant`."""
    line, chrom, pos, vid, ref, alts = record
    return Variant(chrom, pos - 1, ref, tuple(alts), vid, line=line)


def _refuse(variant: Variant, genome: Genome, source: str) -> NoReturn:
    """Raise the error of the check `variant` failed in the native survey (the checks of
    :func:`survey_vcf`'s records, in their order)."""
    require_ascii_record(variant, source=source)
    require_chromosome(variant, genome.sizes, source=source, fasta=genome.path)
    reference_bases(variant, genome, source=source, swapped_snp=True)
    raise RuntimeError(
        f"{source}: the native survey stopped at the record at "
        f"{variant.chrom}:{variant.pos + 1}, which the checks pass"
    )


def record_chunks(
    records: Iterable[Variant], chunk_size: int, seq_length: int
) -> Iterator[list[Variant]]:
    """Records grouped so that each group has at least `chunk_size` scorable alleles (the
    last one fewer); a group ends on a record."""
    group: list[Variant] = []
    count = 0
    for v in records:
        group.append(v)
        count += len(scorable_alts(v, seq_length))
        if count >= chunk_size:
            yield group
            group, count = [], 0
    if group:
        yield group
