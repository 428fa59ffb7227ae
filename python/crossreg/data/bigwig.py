"""BigWig tracks → finished float16 targets, computed by the native core.

The transforms, per track and in this order (the paper's): missing data → 0, negatives
→ 0, replicates averaged per base, pooling into bins with ``sum_stat``, masked bins set to
the track's `fill_quantile` (0.25) of its unmasked bins over all windows given, soft clip
``min(x, t + sqrt(max(0, x - t)))`` at ``t = clip`` (the paper's tables), or at ``t =
clip_soft`` followed by a hard clip at ``clip`` when the table gives ``clip_soft`` (Basenji's
later tables), multiplication by ``scale``, float16 (values beyond its range stored as
65,504 and counted in ``overflow_fraction``).

A chromosome that a track's BigWig lacks (not in its chromosome list: chrY, chrM or
unplaced contigs, typically) is no data, not zeros: a replicate lacking it is left out of
the per-base average there, and when every replicate lacks it its bins are masked for that
track (the fill value, as blacklisted bins). :func:`absent_chromosomes` says how much of a
genome each track lacks.
"""

from __future__ import annotations

import logging
import os
import struct
from collections.abc import Mapping, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from crossreg import _native
from crossreg.data.defaults import DEFAULT_FILL_QUANTILE
from crossreg.genome import integer_starts
from crossreg.io.bigwig_write import BIGWIG_MAGIC
from crossreg.io.identity import blocks_sha256
from crossreg.io.targets import Target, TargetsTable

log = logging.getLogger("crossreg")

#: Tracks named in one error or warning at most.
_SHOWN_TRACKS = 25

#: Bytes of each block of a BigWig that :func:`bigwig_identity` hashes.
_IDENTITY_BLOCK = 1 << 16

#: Names of the per-track statistics returned by :func:`compute_targets`.
TRACK_STATS = (
    "fill_value",
    "pooled_mean",
    "pooled_max",
    "clipped_fraction",
    "target_mean",
    "overflow_fraction",
    "absent_fraction",
)


def bigwig_chrom_sizes(path: str | os.PathLike[str]) -> list[tuple[str, int]]:
    """``(name, length)`` of each chromosome of a BigWig file, in file order."""
    return _native.bigwig_chrom_sizes(os.fspath(path))


def bigwig_identity(path: str | os.PathLike[str]) -> dict[str, object]:
    """A BigWig's size and the SHA-256 of the blocks of 64 KiB where its content shows
    (:func:`~crossreg.io.identity.blocks_sha256`): its start (the header, the summary of
    every value: their count, sum and sum of squares, and the chromosome tree), the start
    of its data and of the data's index (the offset and length of every data block, or of
    the index's next level), and its end (the last zoom level's index). A copy made by any
    means has the same, whatever its path and modification time; a file written from other
    data (another peak calling, another replicate) has another, even of the same size. Most
    files take 3 reads (the chromosome tree and the data start within the first block), a
    file of up to 192 KiB is hashed whole: thousands of BigWigs of GBs are identified in
    seconds, where hashing them whole would take hours."""
    with open(path, "rb") as handle:
        size = os.fstat(handle.fileno()).st_size
        last = max(size - _IDENTITY_BLOCK, 0)
        offsets = [0]
        for offset in sorted(min(o, last) for o in _section_offsets(handle.read(32))):
            if offset >= offsets[-1] + _IDENTITY_BLOCK:  # else within the block before
                offsets.append(offset)
        offsets.append(last)
        return {
            "size": size,
            "sampled_sha256": blocks_sha256(handle, size, offsets, _IDENTITY_BLOCK),
        }


def _section_offsets(header: bytes) -> list[int]:
    """Where a BigWig's chromosome tree, data and index start, from the first 32 bytes of
    its header (in the byte order its magic number shows); none for another file."""
    for order in "<>":
        if len(header) == 32 and struct.unpack(f"{order}I", header[:4])[0] == BIGWIG_MAGIC:
            return list(struct.unpack(f"{order}QQQ", header[8:32]))
    return []


def track_spec(table: TargetsTable, target: Target) -> dict:
    """The native description of one track: resolved files and its transforms."""
    return {
        "files": [str(f) for f in table.track_files(target)],
        "sum_stat": target.sum_stat,
        "clip": float(target.hard_clip),
        "clip_soft": float(target.soft_clip_threshold),
        "scale": float(target.scale),
    }


def compute_targets(
    table: TargetsTable,
    targets: Sequence[Target],
    chroms: npt.NDArray[np.str_],
    starts: npt.ArrayLike,
    *,
    bins: int,
    pool_width: int = 128,
    mask: npt.NDArray[np.bool_] | None = None,
    fill_quantile: float = DEFAULT_FILL_QUANTILE,
    threads: int | None = None,
    out: npt.NDArray[np.float16] | None = None,
) -> tuple[npt.NDArray[np.float16], list[dict[str, float]]]:
    """Finished targets of `targets` over target regions starting at `starts` on `chroms`.

    Returns ``(values, stats)``: `values` is ``(n, bins, len(targets))`` float16 (written
    into `out` when given), `stats` one dict per track with :data:`TRACK_STATS`. `mask`
    ``(n, bins)`` marks bins (blacklisted/unmappable) that get the fill value. Tracks run
    in parallel on `threads` threads, 1 to 1,024 (all cores when None); the GIL is released.
    """
    positions = integer_starts(starts)  # integers only: a float is never truncated
    if positions.size and positions.min() < 0:  # a cast would wrap it to 2^64 - n
        raise ValueError(f"starts are BigWig positions, 0 or more; got {positions.min()}")
    starts_arr = positions.astype(np.uint64)
    names, ids = np.unique(np.asarray(chroms, dtype=np.str_), return_inverse=True)
    shape = (len(starts_arr), bins, len(targets))
    if out is None:
        out = np.empty(shape, dtype=np.float16)
    if out.shape != shape or out.dtype != np.float16 or not out.flags.c_contiguous:
        raise ValueError(f"out must be a C-contiguous float16 array of shape {shape}")
    mask_arr = None if mask is None else np.ascontiguousarray(mask, dtype=bool)
    stats = _native.bigwig_targets(
        [track_spec(table, t) for t in targets],
        [str(n) for n in names],
        np.ascontiguousarray(ids, dtype=np.uint32),
        starts_arr,
        pool_width,
        mask_arr,
        float(fill_quantile),
        out.view(np.uint16),
        threads,
    )
    return out, stats


@dataclass(frozen=True)
class AbsentChromosomes:
    """The genome's chromosomes that a track's BigWigs lack."""

    identifier: str
    #: Chromosomes none of the track's files has: masked in every window on them.
    absent: tuple[str, ...]
    #: Fraction of the genome's bases on `absent` chromosomes.
    fraction: float
    #: Chromosomes some but not all replicates have (averaged over those that do).
    partial: tuple[str, ...]


def absent_chromosomes(
    table: TargetsTable,
    genome_sizes: Mapping[str, int],
    file_chroms: Mapping[Path, AbstractSet[str]],
) -> list[AbsentChromosomes]:
    """Per track lacking any of the genome's chromosomes (`genome_sizes`: name → length),
    which ones and how much of the genome they hold; tracks lacking none are left out.
    `file_chroms` gives each track file's chromosome names (as the input checks read them,
    so no file is opened again)."""
    total = max(sum(genome_sizes.values()), 1)
    found = []
    for target in table:
        have = [file_chroms[file] for file in table.track_files(target)]
        absent = tuple(c for c in genome_sizes if not any(c in h for h in have))
        partial = tuple(
            c for c in genome_sizes if c not in absent and not all(c in h for h in have)
        )
        if absent or partial:
            fraction = sum(genome_sizes[c] for c in absent) / total
            found.append(AbsentChromosomes(target.identifier, absent, fraction, partial))
    return found


def _names(chroms: Sequence[str], shown: int = 4) -> str:
    more = f", ... ({len(chroms)} in all)" if len(chroms) > shown else ""
    return ", ".join(chroms[:shown]) + more


def report_absent_chromosomes(
    table: TargetsTable,
    genome_sizes: Mapping[str, int],
    file_chroms: Mapping[Path, AbstractSet[str]],
    *,
    strict: bool = False,
) -> list[AbsentChromosomes]:
    """Warn about each track whose BigWigs lack some of the genome's chromosomes (their bins
    are masked, see the module's docstring); with `strict`, raise ValueError listing them
    instead. Returns what :func:`absent_chromosomes` found."""
    found = absent_chromosomes(table, genome_sizes, file_chroms)
    # tracks lacking the same chromosomes (often all of them: chrM, unplaced contigs) share
    # one line
    groups: dict[tuple[tuple[str, ...], tuple[str, ...]], list[AbsentChromosomes]] = {}
    for a in found:
        groups.setdefault((a.absent, a.partial), []).append(a)
    if not groups:
        return found
    lines = []
    for same in groups.values():
        a, parts = same[0], []
        if a.absent:
            parts.append(
                f"no data on {len(a.absent)} of the genome's {len(genome_sizes)} chromosomes "
                f"({_names(a.absent)}, {100 * a.fraction:.2f}% of its bases)"
                + ("" if strict else ": their bins are masked")
            )
        if a.partial:
            parts.append(
                f"some replicates lack {_names(a.partial)}: averaged over the others there"
            )
        names = [f"'{t.identifier}'" for t in same]
        which = (
            f"track {names[0]}" if len(same) == 1 else f"{len(same)} tracks ({_names(names, 3)})"
        )
        lines.append(f"{which}: " + "; ".join(parts))
    shown = lines[:_SHOWN_TRACKS]
    if len(lines) > _SHOWN_TRACKS:
        rest = sum(len(same) for same in list(groups.values())[_SHOWN_TRACKS:])
        shown.append(f"... and {rest} more tracks")
    if strict:
        raise ValueError(
            f"{table.path}: {len(found)} track(s) lack chromosomes of the genome (--strict):\n  "
            + "\n  ".join(shown)
            + "\ngive BigWigs covering every chromosome, or drop --strict to mask those bins"
        )
    for line in shown:
        log.warning("%s (--strict makes this an error)", line)
    return found
