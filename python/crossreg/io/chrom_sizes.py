"""Chromosome sizes tables: ``name<TAB>length`` per line (UCSC ``chrom.sizes``, ``.genome``).

A samtools ``.fai`` index reads as one too (its first two columns are name and length).
Blank lines and ``#`` comments are skipped; gzipped files are read transparently, whatever
their name (:func:`crossreg.io.text.numbered_lines`).
"""

from __future__ import annotations

import os
from pathlib import Path

from crossreg.io.text import numbered_lines

#: The longest chromosome accepted, 2**40 bp (about 1.1 Tbp): far above any real genome
#: (the largest known chromosomes are a few Gbp), far below what native code's 64-bit
#: coordinates can hold once added together.
MAX_LENGTH = 2**40


def read_chrom_sizes(path: str | os.PathLike[str]) -> dict[str, int]:
    """Chromosome lengths in bp by name, in file order; errors name the file and line."""
    path = Path(path)
    sizes: dict[str, int] = {}
    for line_no, line in numbered_lines(path):
        text = line.strip()
        if not text or text.startswith("#"):
            continue
        name, length = _parse_line(f"{path}:{line_no}", text)
        if name in sizes:
            raise ValueError(
                f"{path}:{line_no}: chromosome '{name}' is listed twice{_looks_like(text)}"
            )
        sizes[name] = length
    if not sizes:
        raise ValueError(f"{path}: no chromosomes found; expected 'name<TAB>length' lines")
    return sizes


def _parse_line(where: str, text: str) -> tuple[str, int]:
    """The name and length of one sizes line (stripped); a ValueError naming `where`."""
    fields = text.split("\t") if "\t" in text else text.split()
    if len(fields) < 2 or text.startswith(">"):
        raise ValueError(f"{where}: expected 'name<TAB>length', found {text!r}{_looks_like(text)}")
    name, length_text = fields[0], fields[1]
    try:
        length = int(length_text)
    except ValueError:
        raise ValueError(
            f"{where}: the length of '{name}' is '{length_text}', not a whole number"
        ) from None
    if length <= 0:
        raise ValueError(f"{where}: the length of '{name}' must be positive{_looks_like(text)}")
    if length > MAX_LENGTH:
        raise ValueError(
            f"{where}: the length of '{name}' is {length:,} bp, more than the {MAX_LENGTH:,} bp "
            "(2**40) accepted for one chromosome; is the second column the length in bp?"
        )
    return name, length


def _looks_like(text: str) -> str:
    """What a sizes line `text` (stripped) that does not read as one looks like, with what
    to give instead: a FASTA header, or a BED interval (chrom, start, end: a start of 0
    reads as a length of 0, and a chromosome's second interval repeats its name); ''
    otherwise."""
    fields = text.split("\t") if "\t" in text else text.split()
    if text.startswith(">"):
        kind = "a FASTA header (is this the FASTA?)"
    elif 3 <= len(fields) != 5 and all(f.isdigit() for f in fields[1:3]):
        kind = "a BED interval (chrom start end)"
    else:
        return ""
    return (
        f"; the line looks like {kind}: give each chromosome's name and length, as a "
        "chrom.sizes or the FASTA's .fai index does (samtools faidx FASTA writes one)"
    )
