"""Chromosome names: the one wording of every message about a naming mismatch.

The native core words its own errors about unknown chromosomes with the same helper, so
a FASTA, a BigWig, a BED, a VCF or a net that calls ``chr1`` ``1`` is reported alike.
"""

from __future__ import annotations

from collections.abc import Container, Iterable

from crossreg import _native


def chrom_hint(name: str, known: Iterable[str]) -> str:
    """The hint that follows "chromosome 'name' is not in ...": the name in `known` that
    differs from `name` only by the ``chr`` prefix or by case, else the first names of
    `known`. It starts with ``"; "`` or ``" ("``."""
    return _native.chrom_hint(name, list(known))


def prefix_twin(name: str, known: Container[str]) -> str | None:
    """The name in `known` that differs from `name` only by the ``chr`` prefix (``chr1``
    for ``1``, ``1`` for ``chr1``), or None."""
    return _native.chrom_prefix_twin(name, known)


def bare_chrom(name: str) -> str:
    """The name without a ``chr`` prefix (``chr7`` → ``7``): how numbered per-chromosome
    files (PLINK panels, LD scores) name a chromosome."""
    return name.removeprefix("chr")
