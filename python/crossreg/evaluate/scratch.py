"""The scratch folder of ``crossreg evaluate``'s whole-column statistics
(:mod:`crossreg.evaluate.spill`): where the predictions and targets of the split are kept
while they are computed.

A run spills into a folder ``.columns-*`` of its own inside the scratch folder (``--out``
by default, or ``--scratch DIR``), removed at its end. It holds a lock on that folder while
it works (:func:`crossreg.io.atomic.lock_folder`), so a run removes from its scratch
folder (and from its ``--out``) only the ``.columns-*`` folders no process holds: those of
killed runs, never one that another evaluate sharing the scratch disk is working in.
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from crossreg.io.atomic import lock_folder

log = logging.getLogger("crossreg")

PREFIX = ".columns-"
#: A folder being made: not yet locked, so not yet a ``.columns-*`` one the next run sees.
_NEW = ".new"


def check_scratch(folder: str | os.PathLike[str]) -> None:
    """A ValueError unless `folder` is an existing folder this process can write in."""
    path = Path(folder)
    if not path.is_dir():
        what = "is not a folder" if path.exists() else "no such folder"
        raise ValueError(
            f"scratch folder {path}: {what}; give an existing folder on a disk with room for "
            "the predictions and targets (6 bytes per bin and track)"
        )
    if not os.access(path, os.W_OK | os.X_OK):
        raise ValueError(
            f"scratch folder {path}: cannot be written (check its permissions); give a "
            "folder you can write in"
        )


def remove_stale(folder: str | os.PathLike[str]) -> None:
    """Remove the ``.columns-*`` folders in `folder` that no process holds (killed runs')."""
    for stale in sorted(Path(folder).glob(f"{PREFIX}*")):
        fd = lock_folder(stale)
        if fd is None:  # a file, or another run's, in use
            continue
        try:
            log.info("removing %s, the columns an earlier evaluate left behind", stale)
            shutil.rmtree(stale)
        finally:
            os.close(fd)


@contextmanager
def scratch_folder(folder: str | os.PathLike[str]) -> Iterator[Path]:
    """A new folder ``.columns-*`` in `folder`, locked while the block runs and removed
    after it."""
    made = Path(tempfile.mkdtemp(prefix=_NEW + PREFIX, dir=folder))
    fd = lock_folder(made)
    try:
        work = made.with_name(made.name.removeprefix(_NEW))
        made.rename(work)
        try:
            yield work
        finally:
            if work.exists():
                shutil.rmtree(work)
    finally:
        if fd is not None:
            os.close(fd)
