"""The inputs of a synteny split (:func:`crossreg.split.synteny.split_genomes`): the nets
(:class:`NetSpec`) and the checks made before the native core reads one: genome names fit
for file names and not alike but for case, each net file given once, one direction per
pair of genomes, no net cut short, and every genome a net names given its sizes. Each
refusal is a ``ValueError`` naming the option or file and the fix."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from crossreg.io.text import bgzf_end_missing, unended_last_line

_GENOME_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


@dataclass(frozen=True)
class NetSpec:
    """A UCSC ``.net`` file (plain or gzipped): `target` is the genome of its ``net``
    lines (e.g. hg38 in ``hg38.mm10.net``), `query` the other."""

    target: str
    query: str
    path: Path

    def __post_init__(self) -> None:
        object.__setattr__(self, "path", Path(self.path))


def check_genome_names(genomes: Sequence[str]) -> None:
    """Refuse a genome name that cannot name output files, or two that differ only by case."""
    for name in genomes:
        if not _GENOME_NAME.match(name):
            raise ValueError(
                f"genome name '{name}' must start with an ASCII letter or digit and hold only "
                "ASCII letters, digits, '.', '_' and '-' (it names output files)"
            )
    _refuse_names_alike_but_case(genomes)


def check_nets(nets: Sequence[NetSpec], genomes: Sequence[str]) -> None:
    """Refuse a net file given twice, nets of both directions of one pair of genomes, a net
    that looks cut short, and a net naming a genome outside `genomes` (those given sizes)."""
    seen: dict[Path, NetSpec] = {}
    for net in nets:
        first = seen.setdefault(net.path.resolve(), net)
        if first is not net:
            raise ValueError(
                f"net {net.path} is given twice ({first.target},{first.query} and "
                f"{net.target},{net.query}); the aligned bases of all nets add up, so give "
                "each file once"
            )
    _refuse_both_directions(nets)
    for net in nets:
        _refuse_cut_short(net.path)
    for net in nets:
        for side in (net.target, net.query):
            if side not in genomes:
                same = [g for g in genomes if g.casefold() == side.casefold()]
                fix = (
                    f"name it '{same[0]}', as --sizes does (names are case-sensitive)"
                    if same
                    else f"give them with --sizes {side}=FILE (known: {', '.join(genomes)})"
                )
                raise ValueError(f"net {net.path}: genome '{side}' has no sizes; {fix}")


def _refuse_names_alike_but_case(genomes: Sequence[str]) -> None:
    """Refuse genome names that differ only by case (``hg38`` and ``HG38``): most likely
    one genome given twice, whose nets would then escape :func:`_refuse_both_directions`,
    and names of output files that one case-insensitive file system takes as one."""
    first: dict[str, str] = {}
    for name in genomes:
        other = first.setdefault(name.casefold(), name)
        if other != name:
            raise ValueError(
                f"genome names '{other}' and '{name}' differ only by case: they would name "
                "one output file on a case-insensitive file system, and are most likely one "
                "genome; give each genome once (--sizes NAME=FILE) and name it alike in "
                "every --net"
            )


def _refuse_cut_short(path: Path) -> None:
    """Refuse a net that looks cut short: a plain file whose last line has no newline
    (every line UCSC's tools write ends with one), or a BGZF file without its end-of-file
    block. Read as it is, it would silently lack the alignments after the cut, and the
    orthologues they join could fall in different splits unseen by the leakage check."""
    if bgzf_end_missing(path):
        raise ValueError(
            f"{path}: the BGZF (bgzip) file lacks its end-of-file block, so it was probably "
            "cut short and the alignments after the cut are missing; download or compress it "
            "again (bgzip -t tests it)"
        )
    line = unended_last_line(path)
    if line is not None:
        raise ValueError(
            f"{path}:{line}: the file ends inside line {line} (no newline ends it), so it was "
            "probably cut short (an interrupted download or copy) and the alignments after "
            "the cut are missing; download or copy it again, or, if the line is whole, end "
            "it with a newline"
        )


def _refuse_both_directions(nets: Sequence[NetSpec]) -> None:
    """Refuse nets of both directions of one pair of genomes (``a,b`` and ``b,a``, as UCSC
    offers both): each is one view of the same orthology, so their aligned bases would add
    up to about twice the pair's, in effect halving ``min_aligned``."""
    first: dict[tuple[str, str], NetSpec] = {}
    for net in nets:
        first.setdefault((net.target, net.query), net)
        reverse = first.get((net.query, net.target))
        if reverse is not None and net.target != net.query:  # a,a is refused as such later
            raise ValueError(
                f"nets {reverse.path} ({reverse.target},{reverse.query}) and {net.path} "
                f"({net.target},{net.query}) align the same two genomes in both directions: "
                "each is one view of the same orthology, so together they would count its "
                "aligned bases twice (in effect halving --min-aligned); give the nets of one "
                f"direction only (--net {reverse.target},{reverse.query}=FILE "
                f"or --net {net.target},{net.query}=FILE)"
            )
