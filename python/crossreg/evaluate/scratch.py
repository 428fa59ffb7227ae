"""The scratch folder of ``crossreg evaluate``'s whole-column statistics
(:mod:`crossreg.evaluate.spill`): where the predictions and targets of the split are kept
while they are computed.

A run spills into a folder ``.columns-*`` of its own inside the scratch folder (``--out``
by default, or ``--scratch DIR``), removed once the statistics are computed. It holds a
lock on that folder while it works (:func:`crossreg.io.folder_lock.lock_folder`), and the
folder is claimed by the run's checkpoint (:mod:`crossreg.evaluate.checkpoint`): the
folder names the checkpoint (:data:`OWNER`) and the checkpoint names the folder
(:data:`CLAIM`), each by a path relative to the other when the folder lies in ``--out``
(so that the two move together), else by its absolute path, symbolic links resolved. The
folder's name, unique in its scratch folder, is what the claim is on: a checkpoint claims
the folder of that name, so a folder moved with its scratch folder (a file system
relinked or reached by another mount) is found under the ``--scratch`` a resume is given.
So a run removes from its scratch folder (and from its ``--out``) only the ``.columns-*``
folders that no process holds and no checkpoint claims: never one that another evaluate
sharing the scratch disk is working in, nor one an interrupted run keeps for
``--resume``; once that checkpoint is deleted (to start again), its folder goes too.
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
from crossreg.io.atomic import atomic_write
from crossreg.io.folder_lock import lock_folder

log = logging.getLogger("crossreg")

PREFIX = ".columns-"
#: A folder being made: not yet locked, so not yet a ``.columns-*`` one the next run sees.
_NEW = ".new"
#: In a ``.columns-*`` folder: the path of the checkpoint that keeps it (relative to the
#: folder, or absolute).
OWNER = "checkpoint"
#: In a checkpoint: the path of the ``.columns-*`` folder it keeps (relative to ``--out``,
#: or absolute).
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


def remove_stale(folder: str | os.PathLike[str], checkpoint: Path | None = None) -> None:
    """Remove the ``.columns-*`` folders in `folder` that no process holds and no
    checkpoint claims (:func:`claimed`): those of killed runs that cannot be resumed. The
    folder `checkpoint` (a resumed run's) claims is kept whatever checkpoint it names: an
    ``--out`` moved since, which the resume claims it from."""
    ours = None if checkpoint is None else claimed_folder(checkpoint)
    for stale in sorted(Path(folder).glob(f"{PREFIX}*")):
        fd = lock_folder(stale)
        if fd is None:  # a file, or another run's, in use
            continue
        try:
            if claimed(stale) or (ours is not None and stale.name == ours.name):
                continue
            log.info("removing %s, the columns an earlier evaluate left behind", stale)
            shutil.rmtree(stale)
        finally:
            os.close(fd)


def claimed(folder: Path) -> bool:
    """Whether the checkpoint that `folder` names (:data:`OWNER`) claims a folder of its
    name (:data:`CLAIM`): an interrupted run keeps it for ``--resume``."""
    try:
        checkpoint = folder / (folder / OWNER).read_text()
        kept = claimed_folder(checkpoint)
    except (OSError, UnicodeDecodeError, ValueError):
        return False
    return kept is not None and kept.name == folder.name


def claimed_folder(checkpoint: Path) -> Path | None:
    """Where `checkpoint` says the ``.columns-*`` folder it claims is, if it claims one (a
    claim that cannot be read or names no such folder, a damaged one, claims none: never
    ``--out`` itself, which removing the checkpoint would then delete)."""
    try:
        named = checkpoint.parent / (checkpoint / CLAIM).read_text()
    except (OSError, UnicodeDecodeError):
        return None
    return named if named.name.startswith(PREFIX) else None


def _names(checkpoint: Path, work: Path) -> tuple[str, str]:
    """How the folder `work` names `checkpoint` (:data:`OWNER`), and `checkpoint` names
    `work` (:data:`CLAIM`): relative to each other when `work` lies in the checkpoint's
    ``--out``, so that the two move together; else absolute, symbolic links resolved."""
    own, real = checkpoint.resolve(), work.resolve()
    if real.is_relative_to(own.parent):
        return os.path.relpath(own, real), str(real.relative_to(own.parent))
    return str(own), str(real)


def _record(path: Path, text: str) -> None:
    """Write `text` to `path`, whole or not at all."""
    with atomic_write(path) as handle:
        handle.write(text)


def _find(kept: Path, folder: Path) -> Path | None:
    """The claimed folder: where the checkpoint says it is (`kept`), else one of its name
    in the scratch folder `folder` given now (moved there with its scratch folder)."""
    for found in (kept, folder / kept.name):
        if found.is_dir() and not found.is_symlink():
            return found
    return None


@contextmanager
def columns_folder(folder: str | os.PathLike[str], checkpoint: Path) -> Iterator[Path]:
    """The ``.columns-*`` folder `checkpoint` claims (:func:`_find`, the claims then
    written anew: it may have moved), or a new one in `folder` that it comes to claim,
    locked while the block runs and kept after it (for ``--resume``, until the
    checkpoint is removed). A claimed folder that is not found, or that another process
    holds, is a :class:`~crossreg.errors.CommandError`."""
    kept = claimed_folder(checkpoint)
    if kept is not None:
        found = _find(kept, Path(folder))
        if found is None:
            raise CommandError(
                f"{kept}, where the interrupted run in {checkpoint.parent} kept its "
                "predictions and targets, is gone; if it was moved, resume with --scratch "
                f"naming the folder that holds {kept.name} now, else delete {checkpoint} to "
                "start again"
            )
        fd = lock_folder(found)
        if fd is None:
            raise CommandError(
                f"{found}, where the interrupted run in {checkpoint.parent} kept its "
                "predictions and targets, is in use by another evaluate; wait for it to end"
            )
        try:
            owner, claim = _names(checkpoint, found)
            _record(found / OWNER, owner)
            _record(checkpoint / CLAIM, claim)
            yield found
        finally:
            os.close(fd)
        return
    made = Path(tempfile.mkdtemp(prefix=_NEW + PREFIX, dir=folder))
    fd = lock_folder(made)
    try:
        work = made.with_name(made.name.removeprefix(_NEW))
        owner, claim = _names(checkpoint, work)
        _record(made / OWNER, owner)
        made.rename(work)
        _record(checkpoint / CLAIM, claim)
        yield work
    finally:
        if fd is not None:
            os.close(fd)
