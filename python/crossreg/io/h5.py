"""Opening an HDF5 (``.h5``) file to read: a cut, empty or non-HDF5 file is one error that
names it and says how to get a good one."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any


class DamagedH5Error(ValueError, OSError):
    """An ``.h5`` that h5py cannot open: cut short or not HDF5 at all. A ValueError (the
    message names the file and the fix) and an OSError (what h5py raised)."""


def open_h5(path: str | os.PathLike[str], remedy: str) -> Any:
    """`path` opened read-only with h5py; a cut or non-HDF5 file is a
    :class:`DamagedH5Error` naming it and ending with `remedy` (``rerun crossreg ism to
    write it again``); a missing file stays FileNotFoundError."""
    import h5py

    try:
        return h5py.File(path, "r")
    except FileNotFoundError:
        raise
    except OSError as err:
        if not Path(path).is_file():
            raise
        raise DamagedH5Error(
            f"{path}: not a complete HDF5 file ({err}); it is cut short, damaged or not "
            f"HDF5: {remedy}"
        ) from None
