"""The disk space a ``crossreg predict --bigwig`` run needs, checked before it predicts.

Two things take space until the end: the chunks of predictions kept in ``OUTDIR.partial/``
(one ``values.npy`` of ``(tracks, bins)`` per chunk, in the chunk dtype: known exactly,
each file rounded up to the file system's block, plus a block for its folder) and the
BigWigs, written from them into a hidden folder beside ``OUTDIR`` before the chunks are
removed. A BigWig's size is known only once libBigWig has compressed it: it is bounded
from above by :class:`crossreg.io.bigwig_write.SizeBound`, the bound the writer checks
the free space against, counted over the entries the run will add (every track adds the
same ones). A run whose remaining chunks and BigWigs do not fit in the free space of the
file systems holding them is refused before the model runs, naming both numbers, unless
the check is skipped (``--skip-space-check``: the bound sums every track at its largest,
while the writer needs that only for the 64 BigWigs open at once, the others taking their
compressed size); the check at write time (:class:`crossreg.io.bigwig_write.SpaceGuard`)
still guards the BigWigs against the disk filling meanwhile, and a full disk while a chunk
is saved stops the run naming the chunk store, the finished chunks kept.
"""

from __future__ import annotations

import io
import logging
import math
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from crossreg.errors import CommandError
from crossreg.io.bigwig_write import RESERVE_BYTES, SLACK_BLOCKS, SizeBound
from crossreg.io.space import free_bytes, size_text
from crossreg.model.tiling import Geometry, Tile

log = logging.getLogger("crossreg")


def chunk_file_bytes(tracks: int, bins: int, dtype: str) -> int:
    """The size of a chunk's ``values.npy``: ``(tracks, bins)`` of `dtype` and the header
    :func:`numpy.save` writes before them."""
    header = io.BytesIO()
    fields = {"descr": np.dtype(dtype).str, "fortran_order": False, "shape": (tracks, bins)}
    np.lib.format.write_array_header_1_0(header, fields)
    return len(header.getvalue()) + tracks * bins * np.dtype(dtype).itemsize


def on_disk(size: float, block: int) -> int:
    """`size` bytes rounded up to whole blocks of `block` bytes."""
    return -(-math.ceil(size) // block) * block


def scratch_bytes(chunks: Sequence[Sequence[Tile]], tracks: int, dtype: str, block: int) -> int:
    """The disk space the chunks of `chunks` (each its windows) take in ``OUTDIR.partial/``:
    each ``values.npy`` and the chunk's folder, in blocks of `block` bytes."""
    return sum(
        on_disk(chunk_file_bytes(tracks, sum(t.count for t in chunk), dtype), block) + block
        for chunk in chunks
    )


def bigwig_bytes(
    tiles: Sequence[Tile], sizes: dict[str, int], geometry: Geometry, tracks: int, block: int
) -> int:
    """An upper bound on the disk space of the `tracks` BigWigs written from `tiles` (each
    tile's bins added as one call, in order, as
    :func:`crossreg.predict.bigwig_files.write_track_files` adds them), each with the
    blocks the file system may take beyond its size, and the space the writer leaves free
    (:data:`~crossreg.io.bigwig_write.RESERVE_BYTES`): about the most
    :class:`~crossreg.io.bigwig_write.SpaceGuard` asks of the disk."""
    bound = SizeBound(sizes)
    w = geometry.bin_width
    for tile in tiles:
        bound.steps(tile.chrom, tile.position(geometry), tile.count, w, w)
    return tracks * (on_disk(bound.total(), block) + SLACK_BLOCKS * block) + RESERVE_BYTES


@dataclass(frozen=True)
class SpaceNeed:
    """What a run still needs on disk: `scratch` bytes for the chunks not yet written in
    `partial` (`bins` bins of `tracks` tracks of `dtype`) and at most `bigwigs` bytes for
    the BigWigs of `outdir`, with the free space of each file system."""

    partial: Path
    outdir: Path
    bins: int
    tracks: int
    dtype: str
    scratch: int
    bigwigs: int
    scratch_free: int
    bigwig_free: int
    shared: bool  # one file system holds both

    def describe(self) -> str:
        """The log's line: both needs and the free space."""
        where = (
            f"{size_text(self.scratch_free)} free there"
            if self.shared
            else f"{size_text(self.scratch_free)} and {size_text(self.bigwig_free)} free "
            "on their disks"
        )
        return (
            f"disk space: {size_text(self.scratch)} for the predictions kept in "
            f"{self.partial} and up to {size_text(self.bigwigs)} for the BigWigs; {where}"
        )

    def shortage(self) -> str | None:
        """What the run needs beyond the free space, naming both needs and the free
        space (``None`` when it fits)."""
        kept = (
            f"{size_text(self.scratch)} for the predictions kept in {self.partial} until "
            f"the BigWigs are written ({self.bins:,} bins x {self.tracks:,} tracks x "
            f"{np.dtype(self.dtype).itemsize} bytes)"
        )
        written = f"up to {size_text(self.bigwigs)} for the BigWigs (an upper bound)"
        if self.shared:
            if self.scratch + self.bigwigs <= self.scratch_free:
                return None
            return (
                f"it needs {kept} and {written}, "
                f"{size_text(self.scratch + self.bigwigs)} in all, and the disk holding "
                f"both has {size_text(self.scratch_free)} free"
            )
        shortages = []
        if self.scratch > self.scratch_free:
            shortages.append(f"{kept}, with {size_text(self.scratch_free)} free there")
        if self.bigwigs > self.bigwig_free:
            shortages.append(
                f"{written}, with {size_text(self.bigwig_free)} free beside {self.outdir}"
            )
        return "it needs " + " and ".join(shortages) if shortages else None

    def check(self, skip: bool = False) -> None:
        """Raise :class:`~crossreg.errors.CommandError` naming both needs, the free space
        and what to do when the run cannot fit; with `skip` (``--skip-space-check``), log
        that as a warning and go on."""
        short = self.shortage()
        if short is None:
            return
        if skip:
            log.warning(
                "%s: going on with --skip-space-check although %s; a disk that fills stops "
                "the run, the predictions kept for --resume",
                self.outdir,
                short,
            )
            return
        fixes = ["write fewer tracks per run with --targets (each group in its own OUTDIR)"]
        if self.dtype != "float16":
            fixes.append(
                "keep the predictions as float16 with --chunk-dtype float16 (half the space)"
            )
        if self.scratch <= self.scratch_free:  # only the BigWigs' bound is short
            fixes.append(
                "start anyway with --skip-space-check if the BigWigs, which take less than "
                "that bound, will fit (a disk that fills stops the run before it cuts a "
                "BigWig short, the predictions kept for --resume)"
            )
        fixes.append("or free space or choose a bigger disk")
        raise CommandError(
            f"{self.outdir}: not enough free space for this run: {short}; {', '.join(fixes)}"
        )


def space_needed(
    outdir: Path,
    partial: Path,
    remaining: Sequence[Sequence[Tile]],
    tiles: Sequence[Tile],
    sizes: dict[str, int],
    geometry: Geometry,
    tracks: int,
    dtype: str,
) -> SpaceNeed:
    """The space the chunks still to write, `remaining` (each its windows, into `partial`
    or beside it), and the BigWigs of every tile of `tiles` (into a folder beside
    `outdir`, or beside the folder it links to) need, with the free space of each file
    system (:func:`crossreg.io.space.free_bytes`): for a `partial` that links to a folder
    elsewhere (:mod:`crossreg.io.partial`), the file system of that folder."""
    scratch_at = _existing(partial.resolve())
    real = outdir.resolve() if outdir.is_symlink() else outdir
    bigwig_at = _existing(real.parent)
    scratch_free, scratch_block = free_bytes(scratch_at)
    bigwig_free, bigwig_block = free_bytes(bigwig_at)
    return SpaceNeed(
        partial=partial,
        outdir=outdir,
        bins=sum(t.count for chunk in remaining for t in chunk),
        tracks=tracks,
        dtype=dtype,
        scratch=scratch_bytes(remaining, tracks, dtype, scratch_block),
        bigwigs=bigwig_bytes(tiles, sizes, geometry, tracks, bigwig_block),
        scratch_free=scratch_free,
        bigwig_free=bigwig_free,
        shared=os.stat(scratch_at).st_dev == os.stat(bigwig_at).st_dev,
    )


def _existing(path: Path) -> Path:
    """`path`, or the nearest folder above it that exists."""
    while not path.exists() and path != path.parent:
        path = path.parent
    return path
