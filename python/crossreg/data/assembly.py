"""The assembly a dataset records when ``--assembly`` is not given, read from the FASTA's
file name as UCSC, GENCODE, Ensembl and NCBI name their downloads."""

from __future__ import annotations

import os
import re
from pathlib import Path

# Ensembl: <Species>.<assembly>.dna[_sm|_rm].<kind>.fa[.gz], e.g.
# Homo_sapiens.GRCh38.dna.primary_assembly.fa.gz, Drosophila_melanogaster.BDGP6.46.dna.toplevel.fa
_ENSEMBL = re.compile(r"^[A-Z][a-z]+(?:_[a-z0-9]+)+\.(?P<assembly>.+?)\.dna(?:_sm|_rm)?\.")
# NCBI: <accession.version>_<assembly name>_genomic.fna[.gz], e.g.
# GCF_000001405.40_GRCh38.p14_genomic.fna
_NCBI = re.compile(r"^(?P<assembly>GC[AF]_\d+\.\d+)(?:[_.]|$)")


def assembly_from_fasta_name(fasta: str | os.PathLike[str]) -> str:
    """The assembly named by a FASTA's file name: Ensembl's assembly field
    (``Homo_sapiens.GRCh38.dna.primary_assembly.fa`` → ``GRCh38``), NCBI's versioned
    accession (``GCF_000001405.40_GRCh38.p14_genomic.fna`` → ``GCF_000001405.40``), else
    the name up to its first dot (UCSC ``hg38.fa.gz`` → ``hg38``, GENCODE
    ``GRCh38.primary_assembly.genome.fa`` → ``GRCh38``)."""
    name = Path(fasta).name
    for pattern in (_ENSEMBL, _NCBI):
        found = pattern.match(name)
        if found:
            return found["assembly"]
    return name.split(".")[0]
