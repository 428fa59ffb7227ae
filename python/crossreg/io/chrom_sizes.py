"""Chromosome sizes tables: ``name<TAB>length`` per line (UCSC ``chrom.sizes``, ``.genome``).

A samtools ``.fai`` index reads as one too (its first two columns are name and length).
Blank lines and ``#`` comments are skipped; gzipped files are read transparently, whatever
their name (:func:`crossreg.io.text.open_text`).
"""

from __future__ import annotations

import os
from pathlib import Path

from crossreg.io.text import open_text


def read_chrom_sizes(path: str | os.PathLike[str]) -> dict[str, int]:
    """Chromosome lengths in bp by name, in file order; errors name the file and line."""
    path = Path(path)
    sizes: dict[str, int] = {}
    with open_text(path) as handle:
        for line_no, line in enumerate(handle, start=1):
            text = line.strip()
            if not text or text.startswith("#"):
                continue
            fields = text.split("\t") if "\t" in text else text.split()
            if len(fields) < 2:
                raise ValueError(f"{path}:{line_no}: expected 'name<TAB>length', found {text!r}")
            name, length_text = fields[0], fields[1]
            try:
                length = int(length_text)
            except ValueError:
                raise ValueError(
                    f"{path}:{line_no}: the length of '{name}' is '{length_text}', not a whole "
                    "number"
                ) from None
            if length <= 0:
                raise ValueError(f"{path}:{line_no}: the length of '{name}' must be positive")
            if name in sizes:
                raise ValueError(f"{path}:{line_no}: chromosome '{name}' is listed twice")
            sizes[name] = length
    if not sizes:
        raise ValueError(f"{path}: no chromosomes found; expected 'name<TAB>length' lines")
    return sizes
