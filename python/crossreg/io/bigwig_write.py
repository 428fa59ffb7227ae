"""Write BigWigs (pyBigWig) without letting libBigWig run out of disk space.

libBigWig ignores most write errors: on a full disk it writes on, then reads its own
truncated data back to build the zoom levels when the file is closed, and corrupts the
heap (the process aborts; Python cannot catch it). So every entry added is first counted
against an upper bound on the bytes the finished file can take (data blocks, their
index, the zoom levels and theirs, written at close), and before libBigWig may write
past what the file system had free when last asked (:func:`os.statvfs`), the free space
is asked again: too little for what every open BigWig of the folder may still write
raises :class:`NoSpaceError` before libBigWig sees the entries, naming the file and what
to free, and whatever is open can still be closed within the space checked. The bound
(:class:`SizeBound`) needs no file, so a run can bound its BigWigs before writing them.

The bound follows libBigWig's writer (pyBigWig 0.3.x, ``bwWrite.c``): blocks of at most
32 KiB of entries (12 bytes per run, 4 per fixed-step value, 24 of header), each
compressed to at most its size + 23 bytes; an R-tree index of 64 entries a node (48
bytes of header, 32 per leaf entry, 24 per inner one); up to `max_zooms` zoom levels,
the first of 16 × the mean entry width (or the longest chromosome when shorter), each 4
× the previous, where a record (32 bytes, 1,023 a block) starts at most once per level
width along each stretch of abutting entries and along each chromosome, so a level holds
at most ``min(stretches + covered bases / width, extent / width + 1)`` records per
chromosome. The bound takes no account of compression: a file may end up a few times
smaller.

What the guard cannot see: another process filling the disk between two checks, quotas
(which ``statvfs`` does not report) and file systems that report free space wrongly. A
file libBigWig could not finish without crashing is caught when closed (it must start
and end with the BigWig magic number).
"""

from __future__ import annotations

import errno
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from crossreg.io.space import free_bytes, size_text

#: The table of a folder of predicted BigWigs (a row per track, naming its file): it marks
#: the folder as one ``crossreg predict --bigwig`` wrote, which ``--overwrite`` replaces.
TRACKS_FILE = "tracks.tsv"
BIGWIG_FOLDER = {TRACKS_FILE: "the BigWigs of crossreg predict --bigwig"}

BIGWIG_MAGIC = 0x888FFC26
#: the least a data block that libBigWig flushes full holds (of at most 32 KiB)
FULL_BLOCK_ENTRY_BYTES = 32000
#: bytes a data or zoom block adds beyond its entries: 24 of header, 23 of zlib's bound
BLOCK_OVERHEAD = 24 + 23
#: index bytes: per block (a leaf entry, plus its share of leaf and inner nodes) and fixed
INDEX_PER_BLOCK = 32 + 57 / 64
INDEX_FIXED = 48 + 57
ZOOM_RECORD = 32
ZOOM_RECORDS_PER_BLOCK = 1023
#: a zoom record with its share of its block's overhead and of the level's index
ZOOM_RECORD_BOUND = ZOOM_RECORD + (BLOCK_OVERHEAD + INDEX_PER_BLOCK) / ZOOM_RECORDS_PER_BLOCK
#: bytes the file system may take beyond a file's size (its last partial block, metadata)
SLACK_BLOCKS = 2
#: left free on top of what the open BigWigs may need
RESERVE_BYTES = 256 * 1024


class BigWigWriteError(OSError):
    """A BigWig that cannot be written; the message names the file and what to do, and
    is the whole of ``str(err)``. Its ``filename`` is the file's final path (outside the
    hidden folder :func:`crossreg.io.atomic_dir.atomic_directory` fills, which keeps the
    message as it is)."""

    def __str__(self) -> str:
        return str(self.strerror)


class NoSpaceError(BigWigWriteError):
    """Too little free space to write a BigWig (``errno.ENOSPC``)."""


def shown_path(path: Path) -> Path:
    """`path` as it will be named once written: a folder ``.NAME.partial`` (where
    :func:`crossreg.io.atomic_dir.atomic_directory` fills ``NAME``) read as ``NAME``."""
    parts = [re.sub(r"^\.(.+)\.partial$", r"\1", part) for part in path.parts]
    return Path(*parts)


def header_bytes(sizes: Mapping[str, int], max_zooms: int) -> int:
    """The bytes ``addHeader`` writes: the fixed header, empty zoom headers, the summary,
    the chromosome tree and the block count."""
    n = max(len(sizes), 1)
    key = max((len(c.encode()) for c in sizes), default=1)
    per_block = min(n, 0x7FFF)
    blocks = -(-n // per_block)
    node = 4 + per_block * (key + 8)
    tree = 32 + (node if blocks > 1 else 0) + blocks * node
    return 64 + 24 * max_zooms + 40 + tree + 8


def index_bytes(blocks: float) -> float:
    """A bound on an R-tree index of `blocks` blocks (see the module's docstring)."""
    return INDEX_FIXED + INDEX_PER_BLOCK * blocks


class SpaceGuard:
    """The free space of the folder where BigWigs are written, shared by those open at
    once: :meth:`reserve` counts what an entry may add to a file's size, and asks the file
    system again only when the space last seen free is spent."""

    def __init__(
        self,
        folder: str | os.PathLike[str],
        advice: str = "free at least {short} there or choose another --out",
    ) -> None:
        self.folder = Path(folder)
        self.advice = advice
        self.files: list[BigWigFile] = []
        self.allowance = 0.0

    def reserve(self, file: BigWigFile, grown: float) -> None:
        """`file`'s bound grew by `grown` bytes: ask the file system when that is more
        than the space left from the last check."""
        self.allowance -= grown
        if self.allowance < 0:
            self.check(file)

    def check(self, file: BigWigFile) -> None:
        """Raise :class:`NoSpaceError` naming `file` unless the file system has room for
        what every open BigWig may still write (its bound less its size now)."""
        free, block = free_bytes(self.folder)
        need = RESERVE_BYTES + sum(f.remaining() + SLACK_BLOCKS * block for f in self.files)
        self.allowance = free - need
        if self.allowance >= 0:
            return
        raise NoSpaceError(
            errno.ENOSPC,
            f"{shown_path(file.path)}: not enough free space to write this BigWig: "
            f"{size_text(free)} free in {shown_path(self.folder)}, up to "
            f"{size_text(need)} needed; " + self.advice.format(short=size_text(need - free)),
            str(shown_path(file.path)),
        )


class SizeBound:
    """An upper bound on the bytes of a BigWig with the chromosomes `sizes` (see the
    module's docstring), grown by :meth:`count` as entries are added, in the order a
    writer adds them; :meth:`steps` and :meth:`runs` count what ``add_steps`` and
    ``add_runs`` add. It needs no file: a run can bound its BigWigs before writing them."""

    def __init__(self, sizes: Mapping[str, int], max_zooms: int = 10) -> None:
        self.max_zooms = max_zooms
        self.longest = max((int(n) for n in sizes.values()), default=1)
        self.fixed = header_bytes(sizes, max_zooms) + 4  # the header, the closing magic
        self.entry_bytes = 0
        self.blocks = 1.0  # the one left in the buffer at close
        self.min_width: int | None = None
        self.inverse_widths: list[float] = []  # 1 / (a lower bound on) each zoom level's width
        # zoom records: stretches, covered bases and extent of each chromosome written
        self.finished: list[tuple[int, int, int]] = []
        self.finished_records = 0.0
        self.chrom: str | None = None
        self.current = (0, 0, 0, 0)  # stretches, covered, first and last base + 1

    def _records(self, stretches: int, covered: int, extent: int) -> float:
        """A bound on the zoom records of one chromosome over all levels: at most one per
        level width along each stretch, and along the extent of its entries."""
        return sum(
            min(stretches + covered * inverse, extent * inverse + 1)
            for inverse in self.inverse_widths
        )

    def total(self) -> float:
        """A bound on the bytes of the file were it closed now."""
        data = self.entry_bytes + self.blocks * BLOCK_OVERHEAD + index_bytes(self.blocks)
        # per level: its block count, a block's overhead and an index beyond the records'
        # shares of them
        levels = self.max_zooms * (4 + BLOCK_OVERHEAD + index_bytes(1))
        stretches, covered, first, last = self.current
        records = self.finished_records + self._records(stretches, covered, last - first)
        return self.fixed + data + levels + ZOOM_RECORD_BOUND * records

    def count(
        self,
        chrom: str,
        first: int,
        last: int,
        entry_bytes: int,
        stretches: int,
        covered: int,
        entries: int,
    ) -> None:
        """Count one call's entries (of `chrom`, within ``[first, last)``)."""
        if chrom != self.chrom:
            if self.chrom is not None:
                done_stretches, done_covered, done_first, done_last = self.current
                done = (done_stretches, done_covered, done_last - done_first)
                self.finished.append(done)
                self.finished_records += self._records(*done)
            self.chrom, self.current = chrom, (0, 0, first, first)
        width = covered // entries  # whole-file mean width >= the least call's mean
        if self.min_width is None or width < self.min_width:
            self.min_width = width
            # the first zoom level is 16 x the file's mean width (floor), at least 10 bp,
            # at most the longest chromosome; each next one 4 x wider
            widest = min(max(16 * max(width, 1), 10), self.longest)
            self.inverse_widths = [1 / (widest * 4**k) for k in range(self.max_zooms)]
            self.finished_records = sum(self._records(*done) for done in self.finished)
        self.entry_bytes += entry_bytes
        self.blocks += 1 + entry_bytes / FULL_BLOCK_ENTRY_BYTES
        held, held_covered, held_first, held_last = self.current
        self.current = (
            held + stretches,
            held_covered + covered,
            held_first,
            max(held_last, last),
        )

    def runs(
        self, chrom: str, starts: npt.NDArray[np.integer], ends: npt.NDArray[np.integer]
    ) -> None:
        """Count the runs ``[starts[i], ends[i])`` of `chrom` (sorted, apart; not empty)."""
        n = int(starts.size)
        breaks = int(np.count_nonzero(starts[1:] != ends[:-1]))
        covered = int(np.sum(ends - starts, dtype=np.int64))
        self.count(chrom, int(starts[0]), int(ends[-1]), 12 * n, 1 + breaks, covered, n)

    def steps(self, chrom: str, start: int, n: int, span: int, step: int) -> None:
        """Count `n` (at least 1) values of `chrom` at ``start + i·step``, each `span` bp
        wide."""
        last = start + (n - 1) * step + span
        self.count(chrom, start, last, 4 * n, 1 if span >= step else n, n * span, n)


class BigWigFile:
    """A BigWig being written at `tmp` (to become `path`) with the chromosomes `sizes`,
    its entries counted against the free space of `guard` (see the module's docstring):
    :meth:`close` it when done, :meth:`abandon` it on an error.
    Entries go in chromosome by chromosome, in order, as pyBigWig requires."""

    def __init__(
        self,
        tmp: str | os.PathLike[str],
        sizes: Mapping[str, int],
        guard: SpaceGuard,
        *,
        path: str | os.PathLike[str] | None = None,
        max_zooms: int = 10,
    ) -> None:
        import pyBigWig

        self.tmp = Path(tmp)
        self.path = Path(path) if path is not None else self.tmp
        self.guard = guard
        self.size = SizeBound(sizes, max_zooms)
        self.bound = 0.0
        self.closed = False
        guard.files.append(self)
        try:
            self._regrow()
            handle = pyBigWig.open(str(self.tmp), "w")
            if handle is None:
                raise OSError(f"{self.path}: cannot open for writing")
            self.handle: Any = handle
        except BaseException:
            guard.files.remove(self)
            raise
        try:
            handle.addHeader([(c, int(n)) for c, n in sizes.items()], maxZooms=max_zooms)
        except BaseException:
            self.abandon()
            raise

    def _regrow(self) -> None:
        """Recompute the bound and reserve what it grew by."""
        bound = self.size.total()
        grown, self.bound = bound - self.bound, bound
        self.guard.reserve(self, grown)

    def remaining(self) -> float:
        """What the file may still grow by: its bound less its size now."""
        if self.closed:
            return 0.0
        try:
            size = self.tmp.stat().st_size
        except FileNotFoundError:
            size = 0
        return max(self.bound - size, 0.0)

    def add_runs(
        self,
        chrom: str,
        starts: npt.NDArray[np.integer],
        ends: npt.NDArray[np.integer],
        values: npt.NDArray[np.floating],
    ) -> None:
        """Add the runs ``[starts[i], ends[i])`` of `chrom` with `values` (sorted, apart)."""
        if starts.size == 0:
            return
        self.size.runs(chrom, starts, ends)
        self._regrow()
        self.handle.addEntries([chrom] * int(starts.size), starts, ends=ends, values=values)

    def add_steps(
        self,
        chrom: str,
        start: int,
        values: npt.NDArray[np.floating],
        span: int,
        step: int,
    ) -> None:
        """Add `values` of `chrom` at ``start + i·step``, each `span` bp wide."""
        if values.size == 0:
            return
        self.size.steps(chrom, int(start), int(values.size), span, step)
        self._regrow()
        self.handle.addEntries(chrom, int(start), values=values, span=span, step=step)

    def close(self) -> None:
        """Finish the file (libBigWig writes its index and zoom levels now) once the free
        space is checked again, then check it ends as a BigWig does."""
        if self.closed:
            return
        try:
            self.guard.check(self)
        except BaseException:
            self.abandon()
            raise
        self._finish()
        magic = BIGWIG_MAGIC.to_bytes(4, "little")
        with open(self.tmp, "rb") as handle:
            head = handle.read(4)
            size = handle.seek(0, os.SEEK_END)
            handle.seek(max(size - 4, 0))
            tail = handle.read(4)
        if size < 8 or head != magic or tail != magic:
            raise BigWigWriteError(
                errno.EIO,
                f"{shown_path(self.path)}: libBigWig could not finish writing this BigWig "
                f"(it is truncated): is {shown_path(self.guard.folder)} full or over quota?",
                str(shown_path(self.path)),
            )

    def abandon(self) -> None:
        """Close the file that will not be kept (an error stops the writing): libBigWig
        finishes it all the same, within the space the last check found."""
        if not self.closed:
            self._finish()

    def _finish(self) -> None:
        self.closed = True
        try:
            handle = getattr(self, "handle", None)
            if handle is not None:
                handle.close()
        finally:
            if self in self.guard.files:
                self.guard.files.remove(self)
