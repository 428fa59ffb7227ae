"""A BigWig writer for tests of the layouts other writers choose: either byte order, blocks
compressed or not, chromosome and index trees of any block size (so of several levels),
leaves in any order, nodes padded to their block size (as UCSC's tools write them).

One section per data block, as UCSC's and libBigWig's readers expect.
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

BIGWIG_MAGIC = 0x888FFC26
CHROM_TREE_MAGIC = 0x78CA8C91
INDEX_MAGIC = 0x2468ACE0
BEDGRAPH, VARIABLE_STEP, FIXED_STEP = 1, 2, 3


@dataclass(frozen=True)
class Section:
    """Records of one chromosome: ``(start, end, value)`` for bedGraph, ``(start, value)``
    for variableStep (`span` long), ``(value,)`` for fixedStep (from `start`, every
    `step`, `span` long)."""

    chrom_id: int
    kind: int
    items: Sequence[tuple]
    start: int = 0
    step: int = 0
    span: int = 0

    def records(self) -> list[tuple[int, int, float]]:
        """The records as ``(start, end, value)``."""
        if self.kind == BEDGRAPH:
            return [tuple(item) for item in self.items]
        if self.kind == VARIABLE_STEP:
            return [(s, s + self.span, v) for s, v in self.items]
        return [
            (self.start + i * self.step, self.start + i * self.step + self.span, v)
            for i, (v,) in enumerate(self.items)
        ]

    def bounds(self) -> tuple[int, int]:
        """The first base and the end of the records."""
        records = self.records()
        return min(r[0] for r in records), max(r[1] for r in records)

    def encode(self, order: str) -> bytes:
        start, end = self.bounds()
        head = struct.pack(
            order + "IIIIIBBH",
            self.chrom_id,
            self.start if self.kind == FIXED_STEP else start,
            end,
            self.step,
            self.span,
            self.kind,
            0,
            len(self.items),
        )
        item = {BEDGRAPH: "IIf", VARIABLE_STEP: "If", FIXED_STEP: "f"}[self.kind]
        return head + b"".join(struct.pack(order + item, *it) for it in self.items)


def _levels(items: list, block_size: int) -> list[list[list]]:
    """The tree's nodes level by level, leaves first: a leaf holds items, an upper node the
    indices of its children in the level below."""
    levels = [[items[i : i + block_size] for i in range(0, len(items), block_size)]]
    while len(levels[-1]) > 1:
        n = len(levels[-1])
        levels.append([list(range(i, min(i + block_size, n))) for i in range(0, n, block_size)])
    return levels


def _write_tree(
    out: bytearray,
    levels: list[list[list]],
    block_size: int,
    order: str,
    item_bytes: Callable[[bool], int],
    leaf_item: Callable[[Any], bytes],
    upper_item: Callable[[int, int, int], bytes],
    pad: bool,
) -> None:
    """Append a tree's nodes, root first and each level after the one above it, as UCSC
    writes them; `upper_item(depth, child, offset)` is the item of a node of level
    `depth + 1` for its child `child` at `offset`."""
    offsets: dict[tuple[int, int], int] = {}
    at = len(out)
    for depth in range(len(levels) - 1, -1, -1):
        for j, node in enumerate(levels[depth]):
            offsets[depth, j] = at
            at += 4 + (block_size if pad else len(node)) * item_bytes(depth == 0)
    for depth in range(len(levels) - 1, -1, -1):
        for j, node in enumerate(levels[depth]):
            assert offsets[depth, j] == len(out)
            out += struct.pack(order + "BBH", int(depth == 0), 0, len(node))
            for item in node:
                if depth == 0:
                    out += leaf_item(item)
                else:
                    out += upper_item(depth - 1, item, offsets[depth - 1, item])
            if pad:
                out += bytes((block_size - len(node)) * item_bytes(depth == 0))


def write_bigwig(
    path: Path,
    chroms: Sequence[tuple[str, int]],
    sections: Sequence[Section],
    *,
    big_endian: bool = False,
    compress: bool = True,
    chrom_block_size: int = 256,
    index_block_size: int = 256,
    chrom_order: Sequence[int] | None = None,
    pad: bool = False,
) -> Path:
    """Write `chroms` (name, length; ids in this order) and `sections` (a block each) as a
    BigWig at `path`; the chromosome tree's leaves list the chromosomes in `chrom_order`
    (default: sorted by name, as UCSC's tools do)."""
    order = ">" if big_endian else "<"
    out = bytearray(64)
    summary = len(out)
    out += struct.pack(order + "Qdddd", 0, 0.0, 0.0, 0.0, 0.0)
    # chromosome B+ tree
    chrom_tree = len(out)
    names = [name.encode() for name, _ in chroms]
    key_size = max(len(n) for n in names)
    leaves = (
        chrom_order
        if chrom_order is not None
        else sorted(range(len(chroms)), key=names.__getitem__)
    )
    levels = _levels(list(leaves), chrom_block_size)
    out += struct.pack(
        order + "IIIIQQ", CHROM_TREE_MAGIC, chrom_block_size, key_size, 8, len(chroms), 0
    )

    def first_chrom(depth: int, j: int) -> int:
        node = levels[depth][j]
        return node[0] if depth == 0 else first_chrom(depth - 1, node[0])

    def chrom_upper(depth: int, child: int, offset: int) -> bytes:
        return names[first_chrom(depth, child)].ljust(key_size, b"\0") + struct.pack(
            order + "Q", offset
        )

    def chrom_leaf(i: int) -> bytes:
        return names[i].ljust(key_size, b"\0") + struct.pack(order + "II", i, chroms[i][1])

    _write_tree(
        out,
        levels,
        chrom_block_size,
        order,
        lambda leaf: key_size + 8,
        chrom_leaf,
        chrom_upper,
        pad,
    )
    # data: one section per block
    data = len(out)
    out += struct.pack(order + "Q", len(sections))
    entries, largest = [], 0
    for section in sections:
        raw = section.encode(order)
        largest = max(largest, len(raw))
        stored = zlib.compress(raw) if compress else raw
        start, end = section.bounds()
        entries.append((section.chrom_id, start, section.chrom_id, end, len(out), len(stored)))
        out += stored
    # R-tree index
    index = len(out)
    levels = _levels(entries, index_block_size)

    def extent(depth: int, j: int) -> tuple[tuple[int, int], tuple[int, int]]:
        node = levels[depth][j]
        if depth == 0:
            return min((e[0], e[1]) for e in node), max((e[2], e[3]) for e in node)
        parts = [extent(depth - 1, c) for c in node]
        return min(p[0] for p in parts), max(p[1] for p in parts)

    def index_upper(depth: int, child: int, offset: int) -> bytes:
        (sc, sb), (ec, eb) = extent(depth, child)
        return struct.pack(order + "IIIIQ", sc, sb, ec, eb, offset)

    (sc, sb), (ec, eb) = extent(len(levels) - 1, 0)
    out += struct.pack(
        order + "IIQIIIIQII",
        INDEX_MAGIC,
        index_block_size,
        len(entries),
        sc,
        sb,
        ec,
        eb,
        index,
        1,
        0,
    )
    _write_tree(
        out,
        levels,
        index_block_size,
        order,
        lambda leaf: 32 if leaf else 24,
        lambda e: struct.pack(order + "IIIIQQ", *e),
        index_upper,
        pad,
    )
    out += struct.pack(order + "I", BIGWIG_MAGIC)
    struct.pack_into(
        order + "IHHQQQHHQQIQ",
        out,
        0,
        BIGWIG_MAGIC,
        4,
        0,
        chrom_tree,
        data,
        index,
        0,
        0,
        0,
        summary,
        largest if compress else 0,
        0,
    )
    path.write_bytes(out)
    return path
