"""Plain-Python references for the synteny split tests and ``benches/bench_split.py``: a
streaming reader of UCSC nets' aligned pieces, a per-base aligned-base counter and a
run-by-run one (fast enough for a genome-size net), union-find components, and
generators of random valid nets (nested gaps and fills, both strands, gaps with unequal
sides) and synteny-like ones."""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Iterable, Mapping
from pathlib import Path


def net_segments(lines: Iterable[str], query_sizes: Mapping[str, int]):
    """Yield (t_chrom, t_start, t_len, q_chrom, q_start, q_len, strand) per aligned piece,
    query in strand coordinates, reading the net one line at a time.

    Every fill, at any depth, minus its own child gaps (the gap lines one level deeper
    that follow it, up to the next line at its level or above): open fills are kept on a
    stack with a cursor on each side; a child gap yields the piece up to it and moves the
    cursor past it, and a fill yields its last piece when a line at its level or above (or
    the end) closes it. The file gives forward query coordinates on both strands; on the
    minus strand they are turned into reverse strand ones, ``size - (start + length)``."""
    # open fills: [depth, t_chrom, t_end, q_chrom, q_end, strand, cursor_t, cursor_q]
    stack: list[list] = []

    def close(depth: int) -> list[tuple[str, int, int, str, int, int, str]]:
        """Pop the open fills at `depth` or deeper; their last pieces."""
        pieces = []
        while stack and stack[-1][0] >= depth:
            _, tc, te, qc, qe, strand, ct, cq = stack.pop()
            pieces.append((tc, ct, te - ct, qc, cq, qe - cq, strand))
        return pieces

    chrom = ""
    for line in lines:
        fields = line.split()
        if not fields or fields[0].startswith("#"):  # as kent's lineFileNextReal skips
            continue
        depth = len(line) - len(line.lstrip(" "))
        if stack and stack[-1][0] >= depth:  # most lines are gaps, which close nothing
            yield from close(depth)
        if fields[0] == "net":
            chrom = fields[1]
            continue
        ts, tl = int(fields[1]), int(fields[2])
        qc, strand = fields[3], fields[4]
        qs, ql = int(fields[5]), int(fields[6])
        if strand == "-":
            qs = query_sizes[qc] - (qs + ql)
        if fields[0] == "fill":
            stack.append([depth, chrom, ts + tl, qc, qs + ql, strand, ts, qs])
        else:  # a gap of the fill on top of the stack
            top = stack[-1]
            yield chrom, top[6], ts - top[6], top[3], top[7], qs - top[7], top[5]
            top[6], top[7] = ts + tl, qs + ql
    yield from close(0)


def aligned_pairs_per_region(
    net_text: str,
    target_sizes: Mapping[str, int],
    query_sizes: Mapping[str, int],
    region_size: int,
) -> Counter:
    """``{((t_chrom, t_region), (q_chrom, q_region)): aligned bases}`` counted base by base.

    The k-th of ``n = min(tLen, qLen)`` aligned bases of a piece pairs target base
    ``tStart + k*tLen//n`` with query strand base ``qStart + k*qLen//n``; a minus-strand
    strand base ``s`` is forward base ``qChromSize - 1 - s``. This is a second, independent
    reading of the net format; it is slow (one step per base) and meant for small nets.
    """
    counts: Counter = Counter()
    for chrom, ts, tl, qc, qs, ql, strand in net_segments(net_text.splitlines(), query_sizes):
        assert ts + tl <= target_sizes[chrom]
        n = min(tl, ql)
        for k in range(n):
            t = ts + k * tl // n
            s = qs + k * ql // n
            q = s if strand == "+" else query_sizes[qc] - 1 - s
            counts[(chrom, t // region_size), (qc, q // region_size)] += 1
    return counts


def aligned_pairs_per_region_by_runs(
    lines: Iterable[str],
    target_sizes: Mapping[str, int],
    query_sizes: Mapping[str, int],
    region_size: int,
) -> Counter:
    """The counts of :func:`aligned_pairs_per_region`, one step per run of aligned bases
    that stays in one region pair instead of one per base: fast enough in plain Python
    for a genome-size net (``benches/bench_split.py`` times it), read from any iterable
    of lines (an open file streams).

    From aligned base ``k`` of a piece, the next ``k`` where the target region changes is
    the smallest with ``k*tLen//n`` at or past the region's end offset ``stop``, that is
    ``ceil(stop*n/tLen)``; likewise on the query side, whose strand offsets run the other
    way through forward regions on the minus strand."""
    counts: Counter = Counter()
    for chrom, ts, tl, qc, qs, ql, strand in net_segments(lines, query_sizes):
        assert ts + tl <= target_sizes[chrom]
        n = min(tl, ql)
        q_size = query_sizes[qc]
        k = 0
        while k < n:
            t = ts + k * tl // n
            s = qs + k * ql // n
            tr = t // region_size
            t_stop = (tr + 1) * region_size - ts
            if strand == "+":
                qr = s // region_size
                q_stop = (qr + 1) * region_size - qs
            else:
                qr = (q_size - 1 - s) // region_size
                q_stop = q_size - qr * region_size - qs
            next_t = n if t_stop >= tl else -(-t_stop * n // tl)
            next_q = n if q_stop >= ql else -(-q_stop * n // ql)
            stop = min(next_t, next_q)
            counts[(chrom, tr), (qc, qr)] += stop - k
            k = stop
    return counts


def genome_blocks(
    rng: random.Random, sizes: Mapping[str, int], low: int, high: int
) -> list[tuple[str, int, int]]:
    """Each chromosome cut from its start into blocks of ``rng.randint(low, high)`` bases
    (the last one shorter): ``(chrom, start, end)`` in order."""
    out = []
    for chrom, size in sizes.items():
        start = 0
        while start < size:
            end = min(size, start + rng.randint(low, high))
            out.append((chrom, start, end))
            start = end
    return out


def forward_start(strand: str, q_start: int, q_total: int, offset: int, length: int) -> int:
    """Forward query start, as a net line holds it, of the stretch ``length`` bases long
    at strand offset `offset` into a fill whose query side starts at forward `q_start` and
    spans `q_total` bases: on the minus strand offsets count from the fill's other end."""
    return q_start + offset if strand == "+" else q_start + q_total - offset - length


def random_net(
    rng: random.Random,
    target_sizes: Mapping[str, int],
    query_sizes: Mapping[str, int],
    *,
    fills_per_chrom: int = 4,
    max_depth: int = 5,
) -> str:
    """A random valid net between the two genomes: top-level fills that do not overlap on
    the target, gaps (possibly empty on one side) and fills nested inside gaps."""
    lines = []
    q_names = list(query_sizes)

    def fill(depth: int, t_start: int, t_room: int) -> None:
        t_len = rng.randint(max(1, t_room // 3), t_room)
        q_chrom = rng.choice(q_names)
        strand = rng.choice("+-")
        pieces, gaps = [], []
        t = t_start
        end = t_start + t_len
        q_total = 0
        while t < end:
            piece_t = min(rng.randint(1, max(1, t_len // 3)), end - t)
            piece_q = max(0, piece_t + rng.choice([0, 0, 0, rng.randint(-piece_t, piece_t)]))
            pieces.append((t, piece_t, q_total, piece_q))
            t += piece_t
            q_total += piece_q
            if t < end and depth + 1 < max_depth and rng.random() < 0.6:
                gap_t = min(rng.randint(0, max(0, t_len // 4)), end - t - 1)
                gap_q = rng.choice([0, gap_t, rng.randint(0, 50)])
                gaps.append((t, gap_t, q_total, gap_q))
                t += gap_t
                q_total += gap_q
        q_size = query_sizes[q_chrom]
        if q_total > q_size:
            return
        # Query offsets above count along the strand; the file holds forward coordinates.
        q_start = rng.randint(0, q_size - q_total)
        lines.append(
            " " * depth + f"fill {t_start} {t_len} {q_chrom} {strand} {q_start} {q_total} "
            f"id {rng.randint(1, 999)} score 1 ali {q_total}"
        )
        for gt, gtl, gq, gql in gaps:
            gap_q = forward_start(strand, q_start, q_total, gq, gql)
            lines.append(" " * (depth + 1) + f"gap {gt} {gtl} {q_chrom} {strand} {gap_q} {gql}")
            if gtl >= 2 and depth + 2 < max_depth and rng.random() < 0.7:
                offset = rng.randint(0, gtl - 1)
                fill(depth + 2, gt + offset, gtl - offset)

    for chrom, size in target_sizes.items():
        lines.append(f"net {chrom} {size}")
        bounds = sorted(rng.sample(range(size), min(size, 2 * fills_per_chrom)))
        for a, b in zip(bounds[::2], bounds[1::2], strict=False):
            if b > a:
                fill(1, a, b - a)
    return "\n".join(lines) + "\n"


def syntenic_net(
    rng: random.Random,
    target_sizes: Mapping[str, int],
    query_sizes: Mapping[str, int],
    *,
    block: tuple[int, int] = (5_000, 60_000),
) -> str:
    """A synteny-like net: both genomes are cut into blocks, target and query blocks are
    paired in a shuffled order (a rearrangement), and each pair is aligned colinearly by
    fills of 0.5-5 kb (each with a small gap) separated by unaligned stretches, on a random
    strand per block."""
    t_blocks = genome_blocks(rng, target_sizes, *block)
    q_blocks = genome_blocks(rng, query_sizes, *block)
    rng.shuffle(q_blocks)
    fills: dict[str, list[tuple[int, str]]] = {chrom: [] for chrom in target_sizes}
    for (t_chrom, t0, t1), (q_chrom, q0, q1) in zip(t_blocks, q_blocks, strict=False):
        strand = rng.choice("+-")
        length = min(t1 - t0, q1 - q0)
        x = rng.randint(0, 2_000)
        while True:
            size = rng.randint(500, 5_000)
            if x + size > length:
                break
            q_start = q0 + x
            mid = size // 2
            q_gap = forward_start(strand, q_start, size, mid, 10)  # after `mid` aligned bases
            text = (
                f" fill {t0 + x} {size} {q_chrom} {strand} {q_start} {size} id 1\n"
                f"  gap {t0 + x + mid} 10 {q_chrom} {strand} {q_gap} 10"
            )
            fills[t_chrom].append((t0 + x, text))
            x += size + rng.randint(0, 3_000)
    lines = []
    for chrom, size in target_sizes.items():
        lines.append(f"net {chrom} {size}")
        lines += [text for _, text in sorted(fills[chrom])]
    return "\n".join(lines) + "\n"


def union_find_components(n: int, links: list[tuple[int, int, int]], threshold: int) -> list[int]:
    """Component label (smallest member index) of each of `n` nodes joined by links whose
    weight exceeds `threshold`."""
    parent = list(range(n))

    def find(x: int) -> int:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for a, b, w in links:
        if w > threshold:
            ra, rb = find(a), find(b)
            parent[max(ra, rb)] = min(ra, rb)
    return [find(i) for i in range(n)]


def write(path: Path, text: str) -> Path:
    """Write `text` to `path` and return it."""
    path.write_text(text)
    return path
