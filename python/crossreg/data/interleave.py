"""Interleaving files of consecutive tracks' targets (a build's track chunks, the shards
of ``crossreg data --tracks i/n``) into one ``targets.npy``, window block by window block.

Every file is read in each block, so all are held open together; a build or merge of more
files than the process may open (``ulimit -n``, :func:`crossreg.io.open_files.open_file_room`)
interleaves them in groups first, into files beside the result, and then the groups.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from crossreg.data.budget import merge_rows
from crossreg.data.npy import NpyRows
from crossreg.io.open_files import open_file_room
from crossreg.progress import progress

log = logging.getLogger("crossreg")

#: Bytes of targets assembled at once when interleaving track chunks.
MERGE_BLOCK_BYTES = 256 * 2**20


def merge_track_chunks(
    final: Path,
    parts: Sequence[Path],
    n: int,
    bins: int,
    n_tracks: int,
    block_bytes: int,
    *,
    temporary: bool = False,
) -> None:
    """Interleave track-chunk files ``(n, bins, c)`` into ``(n, bins, n_tracks)``, reading
    and writing contiguous blocks of windows, a block and one file's rows of it within
    `block_bytes` (:func:`crossreg.data.budget.merge_rows`; at least one window).

    More `parts` than the process may open at once are interleaved in groups first (one
    more pass over the targets), into files beside `final`, each deleted once used;
    `temporary` parts (a build's chunks) are deleted once interleaved into a group (the
    disk holds two copies of the targets at most). Those the last pass reads, when it
    is they, are left for the caller to delete once `final` is kept.
    """
    parts = list(parts)
    with open_file_room() as free:
        room = max(2, free - 1)  # `final` is open too
        level = 0
        while len(parts) > room:
            groups = -(-len(parts) // room)
            log.info(
                "%d files of targets, more than the %d this process may open at once "
                "(ulimit -n): interleaving them in %d groups first, one more pass over the "
                "targets (raise the hard limit to spare it)",
                len(parts),
                room,
                groups,
            )
            grouped = []
            for k, a in enumerate(range(0, len(parts), room)):
                group = parts[a : a + room]
                path = final.with_name(f"{final.stem}.group{level}-{k:05d}.npy")
                width = sum(_width(p) for p in group)
                desc = f"merging track chunks, group {k + 1} of {groups}"
                _interleave(path, group, n, bins, width, block_bytes, desc)
                if temporary or level:  # a build's chunks, or groups of them
                    _remove(group)
                grouped.append(path)
            parts, level = grouped, level + 1
        _interleave(final, parts, n, bins, n_tracks, block_bytes, "merging track chunks")
    if level:  # the groups' files
        _remove(parts)


def _width(path: Path) -> int:
    """Tracks of the chunk file at `path`."""
    with NpyRows(path, "r") as chunk:
        return chunk.shape[2]


def _remove(paths: Sequence[Path]) -> None:
    for path in paths:
        path.unlink()


def _interleave(
    final: Path,
    parts: Sequence[Path],
    n: int,
    bins: int,
    n_tracks: int,
    block_bytes: int,
    desc: str,
) -> None:
    """:func:`merge_track_chunks` of `parts` all open at once, its progress named `desc`:
    one block of windows, and one part's rows of it read at a time, within `block_bytes`."""
    chunks: list[NpyRows] = []
    try:
        for p in parts:
            chunks.append(NpyRows(p, "r"))
        widest = max((c.shape[2] for c in chunks), default=0)
        rows = max(1, min(n, merge_rows(bins, n_tracks, widest, block_bytes)))
        block = np.empty((rows, bins, n_tracks), dtype=np.float16)
        with (
            NpyRows(final, "w", dtype=np.float16, shape=(n, bins, n_tracks)) as out,
            progress(n, desc, "windows") as meter,
        ):
            for a in range(0, n, rows):
                b = min(a + rows, n)
                col = 0
                for c in chunks:
                    block[: b - a, :, col : col + c.shape[2]] = c.read(a, b)
                    col += c.shape[2]
                out.write(a, block[: b - a])
                meter.update(b - a)
    finally:
        for c in chunks:
            c.close()
