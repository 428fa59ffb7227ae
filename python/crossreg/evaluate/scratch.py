"""The scratch folder of ``crossreg evaluate``'s whole-column statistics
(:mod:`crossreg.evaluate.spill`): where the predictions and targets of the split are kept
while they are computed.

A run spills into a folder ``.columns-*`` of its own inside the scratch folder (``--out``
by default, or ``--scratch DIR``), removed once the statistics are computed. It holds a
lock on that folder while it works (:func:`crossreg.io.atomic.lock_folder`), and the
folder is claimed by the run's checkpoint (:mod:`crossreg.evaluate.checkpoint`): the
folder names the checkpoint (:data:`OWNER`) and the checkpoint names the folder
(:data:`CLAIM`). So a run removes from its scratch folder (and from its ``--out``) only
the ``.columns-*`` folders that no process holds and no checkpoint claims: never one that
another evaluate sharing the scratch disk is working in, nor one an interrupted run keeps
for ``--resume``; once that checkpoint is deleted (to start again), its folder goes too.
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from crossreg.errors import CommandError
from crossreg.io.atomic import atomic_write, lock_folder

log = logging.getLogger("crossreg")

PREFIX = ".columns-"
#: A folder being made: not yet locked, so not yet a ``.columns-*`` one the next run sees.
_NEW = ".new"
#: In a ``.columns-*`` folder: the path of the checkpoint that keeps it.
OWNER = "checkpoint"
#: In a checkpoint: the path of the ``.columns-*`` folder it keeps.
CLAIM = "columns-folder"


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
    """Remove the ``.columns-*`` folders in `folder` that no process holds and no
    checkpoint claims (:func:`claimed`): those of killed runs that cannot be resumed."""
    for stale in sorted(Path(folder).glob(f"{PREFIX}*")):
        fd = lock_folder(stale)
        if fd is None:  # a file, or another run's, in use
            continue
        try:
            if claimed(stale):
                continue
            log.info("removing %s, the columns an earlier evaluate left behind", stale)
            shutil.rmtree(stale)
        finally:
            os.close(fd)


def claimed(folder: Path) -> bool:
    """Whether the checkpoint that `folder` names (:data:`OWNER`) names it back
    (:data:`CLAIM`): an interrupted run keeps it for ``--resume``."""
    try:
        checkpoint = Path((folder / OWNER).read_text())
        return Path((checkpoint / CLAIM).read_text()) == folder.resolve()
    except (OSError, UnicodeDecodeError, ValueError):
        return False


def claimed_folder(checkpoint: Path) -> Path | None:
    """The ``.columns-*`` folder `checkpoint` claims, if it claims one."""
    try:
        return Path((checkpoint / CLAIM).read_text())
    except FileNotFoundError:
        return None


@contextmanager
def columns_folder(folder: str | os.PathLike[str], checkpoint: Path) -> Iterator[Path]:
    """The ``.columns-*`` folder `checkpoint` claims, or a new one in `folder` that it
    comes to claim, locked while the block runs and kept after it (for ``--resume``,
    until :func:`release`). A claimed folder that is gone, or that another process
    holds, is a :class:`~crossreg.errors.CommandError`."""
    kept = claimed_folder(checkpoint)
    if kept is not None:
        fd = lock_folder(kept)
        if fd is None:
            what = "is in use by another evaluate" if kept.is_dir() else "is gone"
            raise CommandError(
                f"{kept}, where the interrupted run in {checkpoint.parent} kept its predictions "
                f"and targets, {what}; delete {checkpoint} to start again"
            )
        try:
            yield kept
        finally:
            os.close(fd)
        return
    made = Path(tempfile.mkdtemp(prefix=_NEW + PREFIX, dir=folder))
    fd = lock_folder(made)
    try:
        (made / OWNER).write_text(str(checkpoint.resolve()))
        work = made.with_name(made.name.removeprefix(_NEW))
        made.rename(work)
        with atomic_write(checkpoint / CLAIM) as handle:
            handle.write(str(work.resolve()))
        yield work
    finally:
        if fd is not None:
            os.close(fd)


def release(checkpoint: Path) -> None:
    """Remove the folder `checkpoint` claims, and the claim (once its columns are done)."""
    kept = claimed_folder(checkpoint)
    if kept is not None:
        shutil.rmtree(kept, ignore_errors=True)
        (checkpoint / CLAIM).unlink()
