"""Train/valid/test labels by fraction when no regions BED is given.

The unit of the split is the window: each contig is tiled into windows, runs of
consecutive windows (a *block*, about ``block_size`` bp) get one label each, and blocks
are given out so that each split's share of the windows comes as close to its fraction as
whole blocks allow. Where neighbouring blocks differ in label, the windows that would
overlap a window of the other split are dropped, so no base is in two splits.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping, Sequence

import numpy as np

from crossreg.io.bed import Interval

log = logging.getLogger("crossreg")

#: Labels given by fraction, in the order ties between them are broken.
LABELS = ("train", "valid", "test")

#: Blocks are made small enough for the smallest split to get this many (if need be).
BLOCKS_PER_SPLIT = 4

#: A split's share of the windows may miss its fraction by this much without a warning.
FRACTION_TOLERANCE = 0.01


def _check(valid: float, test: float, block_size: int, seq_length: int, stride: int) -> None:
    if not (0 <= valid < 1 and 0 <= test < 1 and valid + test < 1):
        raise ValueError(
            f"split fractions valid={valid}, test={test} must each be in [0, 1) and sum below 1"
        )
    if block_size <= 0:
        raise ValueError(f"the split block size must be positive, got {block_size}")
    if seq_length <= 0 or stride <= 0:
        raise ValueError(f"seq_length ({seq_length}) and stride ({stride}) must be positive")


def _blocks(
    pieces: Sequence[Interval], seq_length: int, stride: int, per_block: int
) -> list[tuple[int, list[int]]]:
    """``(piece index, window starts)`` of each block: a piece's windows cut into runs of
    `per_block`."""
    blocks = []
    for k, p in enumerate(pieces):
        starts = list(range(p.start, p.end - seq_length + 1, stride))
        blocks += [(k, starts[i : i + per_block]) for i in range(0, len(starts), per_block)]
    return blocks


def _assign(weights: Sequence[int], aims: Mapping[str, float], seed: int) -> list[str]:
    """Largest blocks first (seeded order among equal sizes), each to the label whose
    distance to its aim it shortens most (or lengthens least), ties to the label furthest
    below its aim."""
    drawn = np.random.default_rng(seed).permutation(len(weights))
    order = sorted(drawn.tolist(), key=lambda i: -weights[i])
    filled = dict.fromkeys(aims, 0)
    labels = [""] * len(weights)
    for i in order:

        def gain(name: str, w: int = weights[i]) -> tuple[float, float]:
            deficit = aims[name] - filled[name]
            return abs(deficit) - abs(deficit - w), deficit

        label = max(aims, key=gain)
        labels[i] = label
        filled[label] += weights[i]
    return labels


def _separate(
    blocks: Sequence[tuple[int, list[int]]], labels: Sequence[str], seq_length: int
) -> list[tuple[int, int, str]]:
    """``(piece, start, label)`` of the windows kept so that no two windows of different
    labels overlap: of two that would, the train one goes, else the later one."""
    kept: list[tuple[int, int, str]] = []
    for (piece, starts), label in zip(blocks, labels, strict=True):
        for start in starts:
            clash = kept and kept[-1][0] == piece and kept[-1][1] + seq_length > start
            if clash and kept[-1][2] != label:
                if label == "train" or kept[-1][2] != "train":
                    continue
                # earlier train windows that overlap this one (all train: kept windows of
                # different labels never overlap)
                while kept and kept[-1][0] == piece and kept[-1][1] + seq_length > start:
                    kept.pop()
            kept.append((piece, start, label))
    return kept


def fraction_split(
    pieces: Sequence[Interval],
    *,
    seq_length: int,
    stride: int,
    valid: float,
    test: float,
    block_size: int,
    seed: int,
) -> list[Interval]:
    """Label the windows of `pieces` train/valid/test by fraction, deterministically.

    Returns labelled regions (``extra`` is ``(label,)``) that :func:`tile` turns back into
    exactly the windows kept. Blocks hold ``ceil(block_size / stride)`` windows, fewer
    (down to one) when the genome has too few windows for blocks that size to meet the
    smallest nonzero fraction; that is logged as a warning.
    """
    _check(valid, test, block_size, seq_length, stride)
    fractions = {"train": 1 - valid - test, "valid": valid, "test": test}
    total = sum(len(range(p.start, p.end - seq_length + 1, stride)) for p in pieces)
    per_block = math.ceil(block_size / stride)
    smallest = min(f for f in fractions.values() if f > 0)
    aim = smallest * total
    # BLOCKS_PER_SPLIT blocks for the smallest split, but blocks no shorter than a window's
    # span (fewer windows dropped where splits meet) as long as it still gets one block
    span = math.ceil(seq_length / stride)
    fitting = max(1, math.floor(aim / BLOCKS_PER_SPLIT), min(span, math.floor(aim)))
    if fitting < per_block:
        log.warning(
            "the genome holds %d windows: too few for blocks of --split-block %s bp to meet a "
            "split of %.1f%%; blocks of %d window(s) are used",
            total,
            f"{block_size:,}",
            100 * smallest,
            fitting,
        )
        per_block = fitting
    blocks = _blocks(pieces, seq_length, stride, per_block)
    aims = {name: fractions[name] * total for name in LABELS}
    labels = _assign([len(s) for _, s in blocks], aims, seed)
    kept = _separate(blocks, labels, seq_length)
    out: list[Interval] = []
    last_piece = -1
    for piece, start, label in kept:
        last = out[-1] if out else None
        joins = last is not None and piece == last_piece and last.extra == (label,)
        if last is not None and joins and start - (last.end - seq_length) == stride:
            out[-1] = Interval(last.chrom, last.start, start + seq_length, (label,))
        else:
            out.append(Interval(pieces[piece].chrom, start, start + seq_length, (label,)))
        last_piece = piece
    return out


def fraction_warnings(
    counts: Mapping[str, int],
    valid: float,
    test: float,
    weights: Mapping[str, float] | None = None,
) -> list[str]:
    """A warning when a split's share of the windows (`counts` per label, as the store
    holds them) misses its fraction by more than :data:`FRACTION_TOLERANCE` or a split
    asked for is empty. `weights` is how many windows at ``--stride`` a window of a label
    stands for (``--stride-test`` over ``--stride`` for valid and test); the shares are
    of the weighted counts, and the warning says so."""
    weight = dict(weights or {})
    weighted = {name: n * weight.get(name, 1.0) for name, n in counts.items()}
    total = sum(weighted.values())
    fractions = {"train": 1 - valid - test, "valid": valid, "test": test}
    off = []
    for name in LABELS:
        share = weighted.get(name, 0) / total if total else 0.0
        empty = fractions[name] > 0 and counts.get(name, 0) == 0
        if empty or abs(share - fractions[name]) > FRACTION_TOLERANCE:
            off.append(
                f"{name} {counts.get(name, 0)} ({100 * share:.1f}%, requested "
                f"{100 * fractions[name]:.1f}%)"
            )
    if not off:
        return []
    spaced = {name: w for name, w in weight.items() if w != 1.0 and counts.get(name, 0)}
    of = f"of {sum(counts.values())} windows"
    if spaced:
        each = ", ".join(f"each {name} window as {w:.3g}" for name, w in spaced.items())
        of += f" (the shares count {each} at --stride, as --stride-test spaces them wider)"
    return [
        f"the requested split fractions cannot be met: {', '.join(off)} {of}; "
        "whole blocks of windows (--split-block), the windows dropped where two splits meet "
        "and those dropped as unmappable allow no closer split on this genome (pass a "
        "--regions BED, e.g. from crossreg split, or accept these fractions)"
    ]
