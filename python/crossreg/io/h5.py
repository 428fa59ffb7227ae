"""Reading an HDF5 (``.h5``) file: a cut, empty or non-HDF5 file, or data that fail their
Fletcher32 checksum (crossreg writes one per chunk), is one error that names the file and
says how to get a good one.

Writing one (:func:`written_h5`): HDF5 meets a full disk badly (it raises from inside a
write, and the library can crash the process when it exits), so the space a file can take
is reserved before it is written, from a bound of its size that the writer adds up with
:func:`dataset_bytes`, :func:`strings_bytes` and :func:`attrs_bytes`."""

from __future__ import annotations

import contextlib
import errno
import math
import os
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from crossreg.io.space import release_beyond_end, reserve

#: Bytes of HDF5's own beyond a dataset's data, bounded: per chunk (its entry in a version-1
#: B-tree of up to 64 entries a node, about 50 bytes, and its checksum), per dataset (its
#: object header, layout and a link in the root group), and per file (superblock, root
#: group, heaps, attributes' headers).
H5_CHUNK_BYTES = 128
H5_DATASET_BYTES = 4096
H5_FILE_BYTES = 256 * 1024


#: The first bytes of every HDF5 file.
HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"


def is_hdf5(path: str | os.PathLike[str]) -> bool:
    """Whether the file at `path` starts as an HDF5 file does (false when it cannot be read)."""
    try:
        with open(path, "rb") as handle:
            return handle.read(len(HDF5_SIGNATURE)) == HDF5_SIGNATURE
    except OSError:
        return False


class DamagedH5Error(ValueError, OSError):
    """An ``.h5`` that h5py cannot open or read: cut short, not HDF5 at all, or data that
    fail their checksum. A ValueError (the message names the file and the fix) and an
    OSError (what h5py raised)."""


def stored_text(value: object) -> str:
    """A value read from an ``.h5`` (or its JSON metadata) as text: bytes, as h5py gives
    stored strings, decoded as UTF-8; anything else as :class:`str` makes it."""
    return value.decode() if isinstance(value, bytes) else str(value)


def open_h5(path: str | os.PathLike[str], remedy: str) -> Any:
    """`path` opened read-only with h5py; a cut or non-HDF5 file is a
    :class:`DamagedH5Error` naming it and ending with `remedy` (``rerun crossreg ism to
    write it again``); an unreadable one is a ValueError saying so; a missing file stays
    FileNotFoundError, worded as ``open`` words it (not h5py's "Unable to synchronously
    open file")."""
    import h5py

    try:
        return h5py.File(path, "r")
    except FileNotFoundError:
        raise FileNotFoundError(errno.ENOENT, os.strerror(errno.ENOENT), os.fspath(path)) from None
    except OSError as err:
        if not Path(path).is_file():
            raise
        if not os.access(path, os.R_OK):  # h5py's error for it reads as damage
            raise ValueError(f"{path}: not readable; check its permissions") from None
        raise DamagedH5Error(
            f"{path}: not a complete HDF5 file ({err}); it is cut short, damaged or not "
            f"HDF5: {remedy}"
        ) from None


@contextlib.contextmanager
def read_h5(path: str | os.PathLike[str], remedy: str) -> Iterator[Any]:
    """`path` open to read (:func:`open_h5`) for the ``with`` block, which must only read
    it: an error reading its data (a chunk that fails its checksum or lies past a cut) is
    a :class:`DamagedH5Error` naming it and ending with `remedy`."""
    with open_h5(path, remedy) as handle:
        try:
            yield handle
        except (DamagedH5Error, FileNotFoundError):
            raise
        except OSError as err:
            raise damaged_data(path, err, remedy) from None


def damaged_data(path: str | os.PathLike[str], err: Exception, remedy: str) -> DamagedH5Error:
    """The error for data of `path` that h5py could not read (`err`)."""
    return DamagedH5Error(
        f"{path}: its data do not read back ({err}); the file is damaged: {remedy}"
    )


def dataset_bytes(
    shape: Sequence[int],
    dtype: npt.DTypeLike,
    chunks: Sequence[int] | None = None,
    *,
    compressed: bool = False,
) -> int:
    """A bound on the bytes a dataset of `shape` and `dtype` takes in an HDF5 file: its
    data, stored whole in every chunk (edge chunks too) when chunked as `chunks`, or a
    little more per chunk when `compressed` (deflate's worst case), and HDF5's records."""
    itemsize = np.dtype(dtype).itemsize
    if chunks is None:
        return math.prod(shape) * itemsize + H5_DATASET_BYTES
    count = math.prod(-(-size // chunk) for size, chunk in zip(shape, chunks, strict=True))
    chunk = math.prod(chunks) * itemsize
    if compressed:
        chunk += chunk // 1000 + 64
    return count * (chunk + H5_CHUNK_BYTES) + H5_DATASET_BYTES


def strings_bytes(values: Iterable[str]) -> int:
    """A bound on a dataset of variable-length strings `values` (each in HDF5's global
    heap with a 16-byte header, padded to 8 bytes, and a 16-byte reference to it)."""
    return sum(len(v.encode()) + 40 for v in values) + 2 * 4096 + H5_DATASET_BYTES


def all_attrs(handle: Any, path: str | os.PathLike[str], remedy: str) -> dict[str, Any]:
    """Every attribute of `handle` (the open HDF5 file `path`), read one by one: one that
    HDF5 cannot parse (a damaged heap, object header or stored type) is a
    :class:`DamagedH5Error` naming `path` and ending with `remedy`, where a Mapping's
    ``items()`` would read h5py's KeyError as None."""
    try:
        return {name: handle.attrs[name] for name in handle.attrs}
    except (OSError, RuntimeError, KeyError, TypeError, ValueError) as err:
        raise damaged_data(path, err, remedy) from None


def attrs_bytes(attrs: Mapping[str, object]) -> int:
    """A bound on the file attributes `attrs` (strings or arrays)."""
    total = 0
    for key, value in attrs.items():
        data = value.encode() if isinstance(value, str) else np.asarray(value)
        total += len(key) + 256 + (len(data) if isinstance(data, bytes) else data.nbytes)
    return total


@contextlib.contextmanager
def written_h5(tmp: str | os.PathLike[str], bound: int) -> Iterator[Any]:
    """A new file `tmp` (a temporary, :func:`crossreg.io.atomic.atomic_path`, which it
    replaces) open to write with h5py for the ``with`` block. `bound` bytes (its size at
    most, added up from :data:`H5_FILE_BYTES`, :func:`dataset_bytes` and its kin) are
    reserved on the disk before HDF5 writes anything and given back once the file is
    closed; too little space is a :class:`crossreg.io.space.SpaceError` before the file is
    begun."""
    import h5py

    Path(tmp).touch()
    reserve(tmp, bound, beyond_end=True)
    try:
        with h5py.File(tmp, "w") as handle:  # "w" empties the file, and so the reservation
            reserve(tmp, bound, beyond_end=True)
            yield handle
    finally:
        release_beyond_end(tmp)
