"""Files written whole: a crash never leaves a half-written one under the final name, and
a finished one survives a power loss (fsync before the rename); a full disk is an error
naming the output (:class:`~crossreg.io.write_errors.OutputError`). Folders written whole
are :mod:`crossreg.io.atomic_dir`'s."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

from crossreg.io.disk_sync import fsync
from crossreg.io.write_errors import output_error, unnamed_write_error


def _current_umask() -> int:
    """The process umask (read by setting and restoring it)."""
    mask = os.umask(0)
    os.umask(mask)
    return mask


def check_not_dangling(path: Path) -> None:
    """Refuse an output `path` that is a symbolic link leading nowhere."""
    if path.is_symlink() and not path.exists():
        raise ValueError(
            f"{path} is a symbolic link to {os.readlink(path)}, which does not exist; "
            "create what it points to, remove the link or choose another output path"
        )


def real_target(path: Path) -> Path:
    """Where an output `path` that is a symbolic link points (else `path`): the real file
    or folder is what gets replaced, beside itself, and the link keeps pointing at it."""
    check_not_dangling(path)
    return path.resolve() if path.is_symlink() else path


@contextmanager
def atomic_path(path: str | os.PathLike[str]) -> Iterator[Path]:
    """A temporary path beside `path` for a writer that needs a file name (HDF5, BigWig,
    memory maps); it is renamed over `path` only when the block succeeds, else removed.
    A `path` that is a symbolic link is written through: its target is replaced. A write
    error naming no file (a full disk, raised by ``write``, ``flush`` or ``fsync``) is an
    :class:`~crossreg.io.write_errors.OutputError` naming `path`."""
    given = Path(path)
    path = real_target(given)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        os.chmod(tmp, 0o666 & ~_current_umask())
        yield Path(tmp)
        fsync(tmp)
        os.replace(tmp, path)
        fsync(path.parent)
    except BaseException as err:
        Path(tmp).unlink(missing_ok=True)
        unnamed = unnamed_write_error(err)
        if unnamed is not None:
            raise output_error(unnamed, given) from err
        raise


@contextmanager
def atomic_write(path: str | os.PathLike[str], mode: str = "w") -> Iterator[IO]:
    """Open a temporary file beside `path`; rename it over `path` only on success."""
    with atomic_path(path) as tmp, open(tmp, mode) as handle:
        yield handle
