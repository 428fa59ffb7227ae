"""A write's error that names no file (a full disk or quota, a file too large), turned
into an :class:`OutputError` naming the output that could not be written."""

from __future__ import annotations

import errno
import os
from pathlib import Path

from crossreg.io.space import SpaceError, size_text

#: The errors only writing gives (a full disk or quota, a file too large for its file
#: system): raised without a file name by ``write``, ``flush`` or ``fsync``.
WRITE_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EFBIG})


class OutputError(OSError):
    """An output that could not be written (a full disk): one line naming it, ``out/model:
    No space left on device while writing it; free space there or choose another output
    path``. Its ``errno`` is the write's, its ``filename`` the output's final path."""

    def __str__(self) -> str:
        return f"{self.filename}: {self.strerror}"


def output_error(err: OSError, path: str | os.PathLike[str]) -> OutputError:
    """The :class:`OutputError` for the output `path` whose writing failed with `err` (its
    errno; ``None``: an I/O error); a :class:`~crossreg.io.space.SpaceError` adds how much
    space the output needed and how much was free."""
    code = errno.EIO if err.errno is None else err.errno
    if code in (errno.ENOSPC, errno.EDQUOT):
        remedy = "free space there or choose another output path"
    elif code == errno.EFBIG:
        remedy = "choose an output path on a file system that allows larger files"
    else:
        remedy = "check the disk, or choose another output path"
    shortfall = ""
    if isinstance(err, SpaceError):
        shortfall = f" (it needs {size_text(err.needed)}, {size_text(err.free)} free)"
    return OutputError(
        code, f"{os.strerror(code)} while writing it{shortfall}; {remedy}", str(path)
    )


def unnamed_write_error(err: BaseException, within: Path | None = None) -> OSError | None:
    """`err` when it is a write's error naming no file (:data:`WRITE_ERRNOS`: ``write`` and
    ``fsync`` give none) or one under the folder `within` (being written whole), for the
    caller to name its output; else ``None``."""
    if not isinstance(err, OSError) or err.errno not in WRITE_ERRNOS:
        return None
    if err.filename is None:
        return err
    named = Path(os.fsdecode(err.filename))
    return err if within is not None and (named == within or within in named.parents) else None
