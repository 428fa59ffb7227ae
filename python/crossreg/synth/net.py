"""The syntenic net between two species (UCSC ``.net`` text) and the exact unit map.

The first genome is the target (``t``), the second the query (``q``). Each segment becomes
one top-level ``fill`` (a chain on the strand the query reads the segment in, relative to
the target); the species-specific DNA between its units becomes nested ``gap`` lines, and a
unit the query reads in the other relative orientation sits inside such a gap as a nested
``fill`` of type ``inv``. Query coordinates are on the query's forward strand for either
``qStrand``, as UCSC net files give them. Either species may be rearranged: a segment's
units are contiguous, in ancestral order or reversed, in every species.
"""

from __future__ import annotations

import itertools
import os

from crossreg.io.atomic import atomic_write
from crossreg.synth.genomes import Ancestor, Placement, SpeciesGenome


def _strand(s: int) -> str:
    return "+" if s > 0 else "-"


def write_net(
    path: str | os.PathLike[str],
    ancestor: Ancestor,
    target: SpeciesGenome,
    query: SpeciesGenome,
) -> None:
    """Write the net of `query` onto `target`."""
    by_chrom: dict[str, list[list[int]]] = {c: [] for c in target.sizes}
    for units in ancestor.segments:
        # the segment's units in target order
        ordered = sorted(units, key=lambda u: target.placements[u].start)
        by_chrom[target.placements[units[0]].chrom].append(ordered)
    lines: list[str] = []
    for chrom, segments in by_chrom.items():
        lines.append(f"net {chrom} {target.sizes[chrom]}")
        segments.sort(key=lambda units: target.placements[units[0]].start)
        for units in segments:
            t = [target.placements[u] for u in units]
            q = [query.placements[u] for u in units]
            relative = [tp.strand * qp.strand for tp, qp in zip(t, q, strict=True)]
            # the segment's end units are never flipped alone, so the first one's
            # orientation is the segment's
            chain_strand = relative[0]
            blocks = [i for i in range(len(units)) if relative[i] == chain_strand]
            flipped = [i for i in range(len(units)) if relative[i] != chain_strand]
            q_start = min(p.start for p in q)
            q_end = max(p.end for p in q)
            ali = sum(p.length for p in t)
            lines.append(
                f" fill {t[0].start} {t[-1].end - t[0].start} {q[0].chrom} "
                f"{_strand(chain_strand)} {q_start} {q_end - q_start} "
                f"id 0 score {ali} ali {ali} type top"
            )
            for a, b in itertools.pairwise(blocks):
                lines.extend(
                    _gap(
                        t[a],
                        t[b],
                        q[a],
                        q[b],
                        chain_strand,
                        [(t[i], q[i], -chain_strand) for i in flipped],
                    )
                )
    # number the fills in file order
    counter = 0
    out: list[str] = []
    for line in lines:
        if " id " in line:
            counter += 1
            head, _, rest = line.partition(" id ")
            line = f"{head} id {counter} {rest.split(' ', 1)[1]}"
        out.append(line)
    with atomic_write(path) as handle:
        handle.write("\n".join(out) + "\n")


def _gap(
    t_a: Placement,
    t_b: Placement,
    q_a: Placement,
    q_b: Placement,
    chain_strand: int,
    flipped: list[tuple[Placement, Placement, int]],
) -> list[str]:
    """The gap between consecutive chain blocks a, b and the inverted units inside it
    (target and query placement, and the strand the query reads it in relative to the
    target)."""
    t_start, t_end = t_a.end, t_b.start
    if chain_strand > 0:
        q_start, q_end = q_a.end, q_b.start
    else:
        q_start, q_end = q_b.end, q_a.start
    if t_end == t_start and q_end == q_start:
        return []
    lines = [
        f"  gap {t_start} {t_end - t_start} {q_a.chrom} {_strand(chain_strand)} "
        f"{q_start} {q_end - q_start}"
    ]
    for t, q, strand in flipped:
        if t_start <= t.start < t_end:
            lines.append(
                f"   fill {t.start} {t.length} {q.chrom} {_strand(strand)} {q.start} "
                f"{q.length} id 0 score {t.length} ali {t.length} type inv"
            )
    return lines


def write_unit_map(
    path: str | os.PathLike[str], ancestor: Ancestor, genomes: list[SpeciesGenome]
) -> None:
    """Write the exact orthology: one row per ancestral unit with its span in each genome."""
    header = ["unit", "segment", "length"]
    for g in genomes:
        header += [f"{g.name}_chrom", f"{g.name}_start", f"{g.name}_end", f"{g.name}_strand"]
    with atomic_write(path) as handle:
        handle.write("\t".join(header) + "\n")
        for s, units in enumerate(ancestor.segments):
            for u in units:
                row = [str(u), str(s), str(ancestor.units[u].size)]
                for g in genomes:
                    p = g.placements[u]
                    row += [p.chrom, str(p.start), str(p.end), _strand(p.strand)]
                handle.write("\t".join(row) + "\n")
