"""Reading an HDF5 (``.h5``) file: a cut, empty or non-HDF5 file, or data that fail their
Fletcher32 checksum (crossreg writes one per chunk), is one error that names the file and
says how to get a good one."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any


class DamagedH5Error(ValueError, OSError):
    """An ``.h5`` that h5py cannot open or read: cut short, not HDF5 at all, or data that
    fail their checksum. A ValueError (the message names the file and the fix) and an
    OSError (what h5py raised)."""


def open_h5(path: str | os.PathLike[str], remedy: str) -> Any:
    """`path` opened read-only with h5py; a cut or non-HDF5 file is a
    :class:`DamagedH5Error` naming it and ending with `remedy` (``rerun crossreg ism to
    write it again``); an unreadable one is a ValueError saying so; a missing file stays
    FileNotFoundError."""
    import h5py

    try:
        return h5py.File(path, "r")
    except FileNotFoundError:
        raise
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


def damaged_data(path: str | os.PathLike[str], err: OSError, remedy: str) -> DamagedH5Error:
    """The error for data of `path` that h5py could not read (`err`)."""
    return DamagedH5Error(
        f"{path}: its data do not read back ({err}); the file is damaged: {remedy}"
    )
