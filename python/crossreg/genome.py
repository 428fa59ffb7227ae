"""An in-memory genome: load a FASTA once, fetch many windows fast.

Windows are 0-based half-open ``[start, end)`` and may run off either end of a
chromosome; the part outside is ``N``. Case is kept (soft-masked bases stay lowercase);
:func:`crossreg.dna.one_hot` encodes both cases alike.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence

import numpy as np
import numpy.typing as npt

from crossreg import _native
from crossreg.dna import one_hot
from crossreg.io import identity


class Genome:
    """A FASTA file read into memory: plain, gzip (one member or many) or bgzip, told by
    its first bytes, a compressed one decompressed as it is read. Beside a plain FASTA its
    ``.fai`` index is written if missing; beside a compressed one none is written or read.
    ``sizes`` maps each chromosome name to its length in bp, in file order. With
    `hash_content` (the steps that record their inputs by content), the file's size and
    SHA-256 (:meth:`content_identity`, of the bytes as stored: compressed ones compressed)
    are taken from the same read; without it (the default: a SHA-256 costs about as much
    CPU as the load) they are read when asked.

    A pickled genome (as DataLoader workers started by spawn or a fork server receive
    it) holds only its path: the copy reads the file again, without hashing it."""

    def __init__(self, path: str | os.PathLike[str], *, hash_content: bool = False) -> None:
        self.path = os.fspath(path)
        self._native = _native.Genome(self.path, hash_content=hash_content)
        self.sizes: dict[str, int] = dict(
            zip(self._native.names, self._native.lengths, strict=True)
        )

    def __reduce__(self) -> tuple[Callable[[str], Genome], tuple[str]]:
        return (_unpickled, (self.path,))

    def content_identity(self) -> dict[str, object]:
        """The FASTA's :func:`~crossreg.io.identity.content_identity` (size and SHA-256) of
        the bytes this genome was loaded from, taken as they were read; a genome loaded
        without `hash_content` reads the file again for it."""
        content = self._native.content
        if content is None:
            return identity.content_identity(self.path)
        size, sha256 = content
        return {"size": size, "sha256": sha256}

    def fasta_identity(self) -> dict[str, object]:
        """The FASTA's :func:`~crossreg.io.identity.fasta_identity`: its chromosomes and
        :meth:`content_identity`."""
        return identity.fasta_identity(self.sizes, self.content_identity())

    def __repr__(self) -> str:
        total = sum(self.sizes.values())
        return f"Genome({self.path!r}, {len(self.sizes)} sequences, {total:,} bp)"

    @property
    def native(self) -> _native.Genome:
        """The sequences as the native core holds them, for a native pass that reads them
        in place (:class:`crossreg._native.VcfSurvey`)."""
        return self._native

    @property
    def names(self) -> list[str]:
        """Chromosome names in file order."""
        return list(self.sizes)

    def fetch(self, chrom: str, start: int, end: int) -> bytes:
        """Bases of ``chrom:[start, end)`` as ASCII bytes, N-padded off the ends."""
        return self._native.fetch(chrom, start, end)

    def fetch_many(
        self, chroms: Sequence[str], starts: npt.ArrayLike, length: int
    ) -> npt.NDArray[np.uint8]:
        """``(n, length)`` uint8 ASCII codes of the windows starting at `starts` (integers,
        as :meth:`fetch` takes) on `chroms`."""
        if isinstance(chroms, str):
            raise TypeError(
                f"chroms must be a sequence of names, one per window, got the string "
                f"{chroms!r}: pass [{chroms!r}]"
            )
        starts_arr = integer_starts(starts)
        if starts_arr.ndim != 1 or len(chroms) != len(starts_arr):
            raise ValueError(
                f"{len(chroms)} chromosomes and {starts_arr.size} starts: give one start per window"
            )
        if length < 0:
            raise ValueError(f"window length must be non-negative, got {length}")
        return self._native.fetch_many(list(chroms), starts_arr, length)

    def one_hot_many(
        self,
        chroms: Sequence[str],
        starts: npt.ArrayLike,
        length: int,
        *,
        dtype: npt.DTypeLike = np.float32,
    ) -> npt.NDArray:
        """``(n, length, 4)`` one-hot windows (A, C, G, T; N as zeros), float32 by
        default as :func:`crossreg.dna.one_hot` (``dtype=np.uint8`` for a quarter of the
        memory, converted on the model's device)."""
        return one_hot(self.fetch_many(chroms, starts, length), dtype=dtype)


def _unpickled(path: str) -> Genome:
    """A pickled genome's copy: the sequences only (a worker never records identities)."""
    return Genome(path, hash_content=False)


def integer_starts(starts: npt.ArrayLike) -> npt.NDArray[np.int64]:
    """`starts` as contiguous int64: they must be integers (a float start such as 2.7 or
    NaN is an error, never truncated), and unsigned ones must fit in int64."""
    given = np.asarray(starts)
    if given.size == 0:
        return np.zeros(given.shape, dtype=np.int64)
    if given.dtype.kind not in "iu":
        raise TypeError(f"starts must be integers, got {given.dtype} (first {given.flat[0]})")
    # compared as Python ints: numpy 1.x compares uint64 with int through float64
    if given.dtype.kind == "u" and int(given.max()) > np.iinfo(np.int64).max:
        raise ValueError(f"start {given.max()} is past the largest int64 position")
    return np.ascontiguousarray(given, dtype=np.int64)
