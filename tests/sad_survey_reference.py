"""The Python survey that crossreg.variants.sad_survey.survey_vcf replaced with a native
one (a Python record, and Python checks, per line; the VCF hashed in a read of its own):
the plain reference its counts, warnings and messages are checked against (and, for its
baseline, ``benches/bench_sad_vcf.py``'s)."""

from __future__ import annotations

import array
import os
from collections import Counter

import numpy as np

from crossreg.genome import Genome
from crossreg.io.identity import content_identity
from crossreg.io.vcf import (
    Variant,
    iter_vcf,
    reference_bases,
    require_ascii_record,
    require_chromosome,
)
from crossreg.variants.alleles import report_skipped, skip_reason
from crossreg.variants.sad_survey import Survey


def reference_survey_vcf(
    vcf: str | os.PathLike[str],
    genome: Genome,
    seq_length: int,
    *,
    source: str,
    strict: bool = False,
) -> Survey:
    """The survey of `vcf` as it was made in Python, record by record, with the VCF's
    :func:`~crossreg.io.identity.content_identity` from a second read."""
    counts = array.array("H")
    records, codes = array.array("q"), array.array("B")
    reasons: dict[str, int] = {}
    off: Counter[str] = Counter()
    first_on: dict[str, Variant] = {}
    for v in iter_vcf(vcf, sites_only=True):
        require_ascii_record(v, source=source)
        if v.chrom not in genome.sizes:
            if strict:
                require_chromosome(v, genome.sizes, source=source, fasta=genome.path)
            off[v.chrom] += 1
            first_on.setdefault(v.chrom, v)
            continue
        found = [skip_reason(v, alt, seq_length) for alt in v.alts]
        for reason in filter(None, found):
            records.append(len(counts))
            codes.append(reasons.setdefault(reason, len(reasons)))
        if None in found:
            reference_bases(v, genome, source=source, swapped_snp=True)
        counts.append(found.count(None))
    if first_on and not counts:
        first_off = next(iter(first_on.values()))
        require_chromosome(first_off, genome.sizes, source=source, fasta=genome.path)
    skipped = dict(sorted(off.items()))
    report_skipped(skipped, genome, source=source, first_on=first_on.__getitem__)
    return Survey(
        len(counts),
        skipped,
        np.frombuffer(counts, dtype=np.uint16),
        np.frombuffer(records, dtype=np.int64),
        np.frombuffer(codes, dtype=np.uint8),
        tuple(reasons),
        content_identity(vcf),
    )
