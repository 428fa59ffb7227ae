"""The scored unit of variant effect scoring: one (variant, alternative allele) pair."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from crossreg.io.chroms import prefix_twin
from crossreg.io.vcf import Variant, require_chromosome

if TYPE_CHECKING:
    from crossreg.genome import Genome

log = logging.getLogger("crossreg")


@dataclass(frozen=True)
class Allele:
    """One scored (variant, alternative allele) pair."""

    variant: Variant
    alt: str

    @property
    def label(self) -> str:
        """The record's ID, or ``chrom:pos:ref>alt`` when it has none."""
        v = self.variant
        return v.id if v.id != "." else f"{v.chrom}:{v.pos + 1}:{v.ref}>{self.alt}"


def skip_reason(variant: Variant, alt: str, seq_length: int | None = None) -> str | None:
    """Why the (`variant`, `alt`) pair cannot be scored, or ``None`` when it can: a symbolic
    or missing ALT (``<DEL>``, ``*``, ``.``), a structural variant (``SVTYPE`` in INFO), an
    ALT equal to REF (no change: its SAD would be 0 on every track whatever the model), a
    REF of N only (an assembly gap, or past the chromosome's end), or,
    given the model's `seq_length`, an allele that does not fit in the window from its
    centre (REF or ALT longer than ``seq_length // 2 + 1`` bp). ``sad``'s survey applies
    the same rule natively (:class:`crossreg._native.VcfSurvey`; its parity is tested):
    a change here is made there too."""
    if not alt.isalpha():
        return "symbolic or missing ALT"
    if "SVTYPE" in variant.info:
        return "structural variant"
    if alt.upper() == variant.ref.upper():
        return "ALT equals REF"
    if set(variant.ref) <= {"N"}:
        return "REF is N (assembly gap or off the chromosome)"
    if seq_length is not None and max(len(variant.ref), len(alt)) > seq_length // 2 + 1:
        return "longer than the window"
    return None


def scorable_alts(variant: Variant, seq_length: int | None = None) -> list[str]:
    """The ALTs of `variant` that can be scored (:func:`skip_reason` is ``None``), in order."""
    return [alt for alt in variant.alts if skip_reason(variant, alt, seq_length) is None]


def format_counts(counts: dict[str, int]) -> str:
    """``{"chrM": 2, "chrUn": 1}`` → ``"chrM:2,chrUn:1"``."""
    return ",".join(f"{name}:{n}" for name, n in counts.items())


def parse_counts(text: str) -> dict[str, int]:
    """``"chrM:2,chrUn:1"`` → ``{"chrM": 2, "chrUn": 1}`` (the inverse of format_counts)."""
    counts: dict[str, int] = {}
    for item in filter(None, text.split(",")):
        name, _, count = item.rpartition(":")
        counts[name] = int(count)
    return counts


def on_genome(
    variants: Iterable[Variant], genome: Genome, *, source: str, strict: bool = False
) -> tuple[list[Variant], dict[str, int]]:
    """The records of `variants` on `genome`'s chromosomes, and the number skipped per
    chromosome it lacks (logged, :func:`report_skipped`). With `strict` the first record off
    the genome stops with an error, as does a VCF none of whose records is on it, or with a
    chromosome named without (or with) the genome's ``chr`` prefix (a naming mismatch,
    ``1`` against ``chr1``: the error carries the hint)."""
    kept: list[Variant] = []
    off: dict[str, int] = {}
    first_on: dict[str, Variant] = {}
    for v in variants:
        if v.chrom in genome.sizes:
            kept.append(v)
            continue
        if strict:
            require_chromosome(v, genome.sizes, source=source, fasta=genome.path)
        off[v.chrom] = off.get(v.chrom, 0) + 1
        first_on.setdefault(v.chrom, v)
    if first_on and not kept:
        first_off = next(iter(first_on.values()))
        require_chromosome(first_off, genome.sizes, source=source, fasta=genome.path)
    skipped = dict(sorted(off.items()))
    report_skipped(skipped, genome, source=source, first_on=first_on.__getitem__)
    return kept, skipped


def report_skipped(
    skipped: Mapping[str, int],
    genome: Genome,
    *,
    source: str,
    first_on: Callable[[str], Variant],
) -> None:
    """Warn of the records skipped per chromosome `genome`'s FASTA lacks (when there are
    any); a chromosome whose name differs from one of the FASTA's only by the ``chr``
    prefix (``2`` beside ``chr2``) is a naming mismatch, not a chromosome the FASTA lacks,
    and its first record (`first_on` of its name) is refused with the renaming hint, as a
    BigWig's or a GTF's chromosome is."""
    for name in skipped:
        if prefix_twin(name, genome.sizes) is not None:
            require_chromosome(first_on(name), genome.sizes, source=source, fasta=genome.path)
    if skipped:
        log.warning(
            "%s: skipped %d records on %d chromosome(s) the FASTA lacks: %s",
            source,
            sum(skipped.values()),
            len(skipped),
            format_counts(dict(skipped)),
        )
