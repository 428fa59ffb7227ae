"""What a build's targets hold in memory, from the buffers the native core allocates, and
the threads and tracks per chunk that keep it within ``--memory-gb``.

With `N` the bins of all windows (windows × bins) and `E` the bin edges of a chromosome's
windows (at most ``bins + 1`` per window, and 6 more), a build holds:

* all along: the interpreter and its libraries (:data:`FIXED_BYTES`), the FASTA (1 B per
  base) and the windows' mask (1 B per bin);
* per native call (:func:`crossreg.data.bigwig.compute_targets`): its sorted copy of the
  mask (1 B per bin), the grids' edges (4 B each) and 32 B per window (the windows' order,
  sorted starts, ranks and first edges);
* per track of a call: at its peak 11 B per bin (its pooled float32 values, the fill
  quantile's float32 copy of up to every value, its float16 targets and, for a track
  lacking a chromosome, its own mask), then its float16 targets (2 B) until the call ends, and the
  call's float16 result on the Python side (2 B); a call may start every one of its tracks
  before the first finishes (a thread waiting on a track's chromosomes picks up another
  track), so all of them are counted, with 2 B per bin of heap slack;
* per thread: the pieces of the chromosome it sweeps (4 B per edge of the largest);
* per track of a chunk: its float16 targets (2 B per bin) until the chunk is written.

The chunks are then interleaved into ``targets.npy`` a block of windows at a time
(:func:`merge_rows`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

#: Resident memory of the interpreter, numpy and the native core before any input is
#: read (measured: 49 MiB for ``crossreg data`` on Linux), with room to spare.
FIXED_BYTES = 64 * 2**20

#: Bytes per bin of one track of a native call at its peak (see the module's docstring),
#: its float16 result on the Python side, and the threads' heaps' slack: a buffer freed
#: on one thread and allocated anew on another can leave both resident a moment (one
#: build's peak varied by 37 MiB between runs, by thread timing: 4 B per bin of a call's
#: two tracks, of which the buffers counted left 7 MiB to spare).
CALL_TRACK_BIN = 11 + 2 + 2

#: Bytes per bin of one track held in a chunk (float16).
CHUNK_TRACK_BIN = 2

#: Bytes per edge of a chromosome's grid (u32 edges shared; f32 pieces per thread).
EDGE = 4

#: Bytes per window of a native call besides its bins (order, sorted starts, ranks,
#: first edges: 8 B each).
CALL_WINDOW = 32

GIB = 2**30


@dataclass(frozen=True)
class Footprint:
    """The sizes a build's memory follows: windows per chromosome, target bins per
    window, and the FASTA's bases (held in memory)."""

    windows_per_chrom: tuple[int, ...]
    bins: int
    genome_bases: int

    @staticmethod
    def of(chroms: Sequence[str], bins: int, genome_bases: int) -> Footprint:
        """The footprint of windows on `chroms` (one name per window)."""
        counts: dict[str, int] = {}
        for c in chroms:
            counts[c] = counts.get(c, 0) + 1
        return Footprint(tuple(counts.values()), bins, genome_bases)

    @property
    def bins_total(self) -> int:
        """Bins of all windows (one track's values)."""
        return sum(self.windows_per_chrom) * self.bins

    def edges(self, windows: int) -> int:
        """Most bin edges of a chromosome's `windows` windows."""
        return windows * (self.bins + 1) + 6 if windows else 0

    def base(self) -> int:
        """Bytes held whatever the tracks and threads: the interpreter, the FASTA, the
        mask and a native call's shared buffers."""
        n = sum(self.windows_per_chrom)
        edges = sum(self.edges(w) for w in self.windows_per_chrom)
        return (
            FIXED_BYTES + self.genome_bases + 2 * self.bins_total + EDGE * edges + CALL_WINDOW * n
        )

    def per_thread(self) -> int:
        """Bytes a sweeping thread holds: the pieces of the largest chromosome."""
        return EDGE * self.edges(max(self.windows_per_chrom, default=0))

    def peak(self, chunk: int, call: int, threads: int) -> int:
        """Bytes held at most computing `chunk` tracks at a time, `call` of them per
        native call, on `threads` threads."""
        n = self.bins_total
        return (
            self.base()
            + CHUNK_TRACK_BIN * n * chunk
            + CALL_TRACK_BIN * n * call
            + self.per_thread() * threads
        )

    def smallest(self, threads: int = 1) -> int:
        """The budget that runs `threads` threads, each with a track of its own (planning
        the windows, before, holds less: measured 12 B per bin)."""
        return self.peak(threads, threads, threads)


def threads_within(footprint: Footprint, threads: int, budget: int) -> int:
    """Threads (of `threads`, at least 1) that `budget` bytes keep busy, a track each: a
    chunk of as many tracks as threads, computed in one native call."""
    room = budget - footprint.base()
    each = (CHUNK_TRACK_BIN + CALL_TRACK_BIN) * footprint.bins_total + footprint.per_thread()
    return int(max(1, min(threads, room // max(each, 1))))


def tracks_per_chunk(footprint: Footprint, n_tracks: int, threads: int, budget: int) -> int:
    """Tracks computed together (at least 1, at most `n_tracks`) within `budget` bytes,
    native calls of `threads` tracks at a time."""
    call = min(threads, n_tracks)
    room = budget - footprint.peak(0, call, threads)
    per_track = CHUNK_TRACK_BIN * max(footprint.bins_total, 1)
    return int(max(1, min(n_tracks, room // per_track)))


def merge_rows(bins: int, n_tracks: int, widest: int, budget: int) -> int:
    """Windows interleaved at once (at least 1) within `budget` bytes: a block of every
    track's float16 targets and one chunk's rows of at most `widest` tracks read into it."""
    return int(max(1, budget // max(2 * bins * (n_tracks + widest), 1)))
