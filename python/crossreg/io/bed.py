"""BED intervals: read with checks, write atomically.

Only the first three columns are interpreted (chrom, start, end; 0-based half-open);
further columns are kept as strings. ``track``/``browser`` lines and ``#`` comments are
skipped. Gzipped files are read transparently, whatever their name
(:func:`crossreg.io.text.numbered_lines`). Intervals read from a file carry their line
number, so later checks (:func:`check_within`) can name it.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from crossreg.io.atomic import atomic_write
from crossreg.io.chroms import chrom_hint
from crossreg.io.text import numbered_lines


@dataclass(frozen=True, order=True)
class Interval:
    """One BED record: ``chrom:[start, end)`` plus any extra columns, and the line of the
    file it was read from (0 when not read from a file; not compared)."""

    chrom: str
    start: int
    end: int
    extra: tuple[str, ...] = field(default=(), compare=False)
    line: int = field(default=0, compare=False, repr=False)

    @property
    def length(self) -> int:
        """Length in bp."""
        return self.end - self.start


# the first word of UCSC's header lines ("track name=...", "browser position ...")
HEADER_WORDS = ("track", "browser")


def iter_bed(path: str | os.PathLike[str], *, min_columns: int = 3) -> Iterator[Interval]:
    """Yield the intervals of a BED file in file order, checking each line; each carries
    its 1-based line number (`Interval.line`)."""
    path = Path(path)
    for line_no, line in numbered_lines(path):
        text = line.rstrip("\r\n")
        if not text.strip() or text.startswith("#") or text.split()[0] in HEADER_WORDS:
            continue
        yield _parse_line(path, line_no, text, min_columns)


def _parse_line(path: Path, line_no: int, text: str, min_columns: int) -> Interval:
    """Line `line_no` of the BED file `path` (`text`, without its newline) as an Interval;
    a ValueError naming the file and line otherwise."""
    where = f"{path}:{line_no}"
    fields = text.split("\t")
    if len(fields) < min_columns:
        fields = text.split()
    if len(fields) < min_columns:
        raise ValueError(
            f"{where}: expected at least {min_columns} tab-separated columns "
            f"(chrom, start, end), found {len(fields)}"
        )
    chrom, start_text, end_text = fields[:3]
    try:
        start, end = int(start_text), int(end_text)
    except ValueError:
        words = not any(c.isdigit() for c in start_text + end_text)
        header = " (a column header? BED has none: remove the line or start it with #)"
        raise ValueError(
            f"{where}: start and end must be whole numbers, got '{start_text}' and "
            f"'{end_text}'{header if words else ''}"
        ) from None
    if start < 0 or end < start:
        raise ValueError(
            f"{where}: interval {chrom}:{start}-{end} is invalid (BED needs 0 <= start <= end)"
        )
    return Interval(chrom, start, end, tuple(fields[3:]), line=line_no)


def read_bed(
    path: str | os.PathLike[str],
    *,
    sizes: Mapping[str, int] | None = None,
    fasta: str | None = None,
    min_columns: int = 3,
) -> list[Interval]:
    """Read all intervals of a BED file.

    With `sizes` (chromosome lengths, of the FASTA `fasta` when given), every chromosome
    must be known and every interval must end within its chromosome; the error names the
    record and the likely cause (:func:`check_within`).
    """
    intervals = list(iter_bed(path, min_columns=min_columns))
    if sizes is not None:
        check_within(intervals, sizes, source=str(path), fasta=fasta)
    return intervals


def check_within(
    intervals: Iterable[Interval],
    sizes: Mapping[str, int],
    *,
    source: str,
    what: str = "",
    fasta: str | None = None,
) -> None:
    """Raise ValueError naming the first interval on an unknown chromosome or past its end:
    `source` (the file) with the interval's line when it has one, then `what` (the file's
    role, such as ``regions BED``) in parentheses when given; an unknown chromosome's
    message names the FASTA `fasta` of `sizes` when given, before the renaming hint."""
    genome = fasta or "the genome"
    for iv in intervals:
        where = (f"{source}:{iv.line}" if iv.line else source) + (f" ({what})" if what else "")
        if iv.chrom not in sizes:
            hint = chrom_hint(iv.chrom, sizes)
            raise ValueError(f"{where}: chromosome '{iv.chrom}' is not in {genome}{hint}")
        if iv.end > sizes[iv.chrom]:
            raise ValueError(
                f"{where}: interval {iv.chrom}:{iv.start}-{iv.end} runs past the chromosome "
                f"end ({sizes[iv.chrom]:,} bp); is the BED from another genome build?"
            )


def write_bed(path: str | os.PathLike[str], intervals: Iterable[Interval]) -> None:
    """Write intervals as tab-separated BED, atomically."""
    with atomic_write(path) as handle:
        for iv in intervals:
            handle.write("\t".join([iv.chrom, str(iv.start), str(iv.end), *iv.extra]) + "\n")


def merge_intervals(intervals: Iterable[Interval]) -> list[Interval]:
    """Sort and merge overlapping or touching intervals (extra columns dropped)."""
    merged: list[Interval] = []
    for iv in sorted(intervals):
        last = merged[-1] if merged else None
        if last is not None and last.chrom == iv.chrom and iv.start <= last.end:
            if iv.end > last.end:
                merged[-1] = Interval(last.chrom, last.start, iv.end)
        else:
            merged.append(Interval(iv.chrom, iv.start, iv.end))
    return merged
