"""The files named after a SAD output's stem beside it: the output of the other kind, and
a gene table an earlier run left there."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from crossreg.variants.genes import genes_path


def other_output_beside(out: Path) -> Path | None:
    """The SAD output of the other kind (``run.tsv`` for ``run.h5``, and back) beside
    `out`, when there is one: the files named after their shared stem (figures, gene
    table) may be its, and are not removed as `out`'s stale ones."""
    other = out.with_suffix(".tsv" if out.suffix == ".h5" else ".h5")
    return other if other.exists() else None


def remove_stale_gene_table(out: Path, attrs: Mapping[str, object]) -> None:
    """Remove ``OUT.genes.tsv`` beside the SAD output `out`, just written with metadata
    `attrs`, when it was scored without a GTF: the table is an earlier run's, of other
    variants (unless an output of the other kind shares its name:
    :func:`other_output_beside`)."""
    if "gtf" not in attrs and other_output_beside(out) is None:
        genes_path(out).unlink(missing_ok=True)
