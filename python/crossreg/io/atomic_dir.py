"""Folders written whole (:func:`atomic_directory`): filled as a hidden, locked
``.<name>.partial`` beside the output and swapped in only when finished, so that a crash
never leaves a half-written folder under the final name; a previous folder that a kill
left aside is put back, and one is removed so that a kill midway leaves no part of it."""

from __future__ import annotations

import errno
import logging
import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

from crossreg.io.atomic import real_target
from crossreg.io.disk_sync import flush_folder, fsync
from crossreg.io.folder_lock import lock_folder, try_lock
from crossreg.io.rename_exchange import exchange
from crossreg.io.write_errors import output_error, unnamed_write_error

log = logging.getLogger("crossreg")


#: The list of the top-level entries :func:`atomic_directory` wrote, kept in the folder:
#: what ``--overwrite`` may remove.
CONTENTS_FILE = ".crossreg-contents"


def entries(folder: Path) -> list[str]:
    """Every file and folder under `folder`, at any depth, as sorted relative POSIX paths
    (symbolic links are listed, not followed)."""
    return sorted(entry.relative_to(folder).as_posix() for entry in folder.rglob("*"))


def _remove(entry: Path) -> None:
    """Remove `entry` if present: a folder with all it holds, a file or a symbolic link
    (never what the link points to)."""
    if entry.is_dir() and not entry.is_symlink():
        shutil.rmtree(entry)
    elif os.path.lexists(entry):
        entry.unlink()


def _old_path(path: Path) -> Path:
    """Where :func:`_swap_in`, renaming, keeps the previous `path` until the new one is in
    place: ``.<name>.old`` beside it."""
    return path.parent / f".{path.name}.old"


def partial_path(path: Path) -> Path:
    """The folder :func:`atomic_directory` fills to replace `path`: ``.<name>.partial``."""
    return path.parent / f".{path.name}.partial"


def _put_back_old(path: Path) -> None:
    """Put the previous `path` back from ``.<name>.old`` when `path` is missing: a run was
    killed between the two renames of :func:`_swap_in` (where the file system cannot
    exchange two names). The caller makes sure that no writer of `path` is swapping now."""
    old = _old_path(path)
    if os.path.lexists(path) or not os.path.lexists(old):
        return
    os.replace(old, path)
    fsync(path.parent)
    log.warning("restored %s from %s, left by a run killed while replacing it", path, old.name)


def restore_previous(path: str | os.PathLike[str]) -> None:
    """Put back a previous `path` (a folder written by :func:`atomic_directory`) that a run
    killed while replacing it left as ``.<name>.old``, unless another process is writing
    `path` now (holds the lock on its ``.<name>.partial``). For a caller that reads `path`
    (``train --resume`` its ``last/``) before writing it; :func:`atomic_directory` and
    :func:`~crossreg.io.replaceable.check_replaceable` do it themselves."""
    path = Path(path)
    if path.is_symlink():
        if not path.exists():
            return
        path = path.resolve()
    if os.path.lexists(path) or not os.path.lexists(_old_path(path)):
        return
    try:
        fd = os.open(partial_path(path), os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW)
    except OSError:  # no writer is filling one
        _put_back_old(path)
        return
    try:
        if try_lock(fd):
            _put_back_old(path)
    finally:
        os.close(fd)


def remove_directory(path: str | os.PathLike[str]) -> None:
    """Remove the folder `path` (written by :func:`atomic_directory`) so that a kill midway
    leaves no part of it there: it is renamed to the ``.<name>.partial`` that the next
    write of `path` clears, after a previous `path` kept as ``.<name>.old`` (which
    :func:`restore_previous` would put back) is gone. A `path` that is a symbolic link
    keeps leading to a folder, left empty. The caller makes sure that no writer of `path`
    is at work."""
    given = Path(path)
    path = real_target(given)
    if not path.is_dir():
        return
    aside = partial_path(path)
    _remove(_old_path(path))
    _remove(aside)  # one left by an interrupted write
    os.replace(path, aside)
    if given.is_symlink():
        path.mkdir()
    fsync(path.parent)
    _remove(aside)


def _swap_in(work: Path, path: Path) -> None:
    """Put the finished directory `work` at `path`, then remove the previous `path`. Where
    the file system can, the two are exchanged in one step, so that `path` is never
    missing: a crash after it leaves the previous one at `work`, removed by the next run.
    Elsewhere the previous `path` is renamed ``.<name>.old`` first, and a crash between the
    two renames leaves it there: the next run puts it back (:func:`restore_previous`)."""
    flush_folder(work)
    if os.path.lexists(path):
        old = _old_path(path)
        _remove(old)  # a stale one: `path` is there
        previous = lock_folder(path)  # at `work` from the exchange on, until removed
        try:
            if exchange(work, path):
                fsync(path.parent)
                _remove(work)
            else:
                os.replace(path, old)
                try:
                    os.replace(work, path)
                except BaseException:
                    os.replace(old, path)
                    raise
                _remove(old)
        finally:
            if previous is not None:
                os.close(previous)
    else:
        os.replace(work, path)
    fsync(path.parent)


def _still_at(fd: int, work: Path) -> bool:
    """Whether `work` still names the folder open as `fd` (not removed or replaced since)."""
    try:
        now = os.lstat(work)
    except FileNotFoundError:
        return False
    held = os.fstat(fd)
    return (now.st_dev, now.st_ino) == (held.st_dev, held.st_ino)


def _open_folder(work: Path) -> int | None:
    """A descriptor on the folder `work`, or ``None`` when it has gone; an entry there that
    is no folder (no writer's) is removed and ``None`` returned."""
    try:
        return os.open(work, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW)
    except FileNotFoundError:
        return None
    except OSError as err:
        if err.errno not in (errno.ENOTDIR, errno.ELOOP):
            raise
    _remove(work)
    return None


def _claim(work: Path, out: Path, keep: str | None = None) -> int:
    """Create the empty folder `work` to write `out` in and return a descriptor holding its
    lock, which tells other processes it is in use. One left by an interrupted write (not
    locked) is removed first, unless it holds the file `keep` (kept for the caller to
    resume); one another process holds stops this one, removing nothing."""
    while True:
        with suppress(FileExistsError):
            work.mkdir(parents=True)
        fd = _open_folder(work)
        if fd is None:
            continue
        try:
            if _claimed(fd, work, out, keep):
                return fd
        except BaseException:
            os.close(fd)
            raise
        os.close(fd)


def _claimed(fd: int, work: Path, out: Path, keep: str | None) -> bool:
    """Lock the folder `work`, open as `fd`: True when it is this process's to fill (empty,
    or holding the file `keep`; still at `work`); False when it must be made again (it was
    replaced before the lock was taken, or was a leftover of an interrupted write, now
    removed). Another process's lock stops this one."""
    if not try_lock(fd):
        raise ValueError(
            f"{out}: another crossreg process is writing it now (its {work.name} is "
            "locked); wait for it to finish, or choose another output path"
        )
    if not _still_at(fd, work):  # removed or replaced before the lock was taken
        return False
    if not any(work.iterdir()) or (keep is not None and (work / keep).is_file()):
        return True
    log.info("removing %s left by an interrupted write", work)
    _remove(work)
    return False


@contextmanager
def atomic_directory(path: str | os.PathLike[str], *, keep: str | None = None) -> Iterator[Path]:
    """An empty hidden directory ``.<name>.partial`` beside `path` to fill; it replaces
    `path` whole only when the block succeeds, listing every entry in it (at any depth) in
    :data:`CONTENTS_FILE`, else it is removed. The process holds a lock on it meanwhile: a
    second one writing `path` at the same time stops with an error, and one left by a
    crashed writer (unlocked) is removed first. A `path` that is a symbolic link (to a
    folder on scratch space) is written through: the folder it points to is replaced,
    beside itself, and the link keeps pointing at it. A previous `path` that a run killed
    while replacing it left as ``.<name>.old`` is put back first. A write error naming no
    file or one in the folder (a full disk) is an :class:`~crossreg.io.write_errors.OutputError`
    naming `path`.

    A resumable writer names a file `keep` that marks its finished work: a leftover
    folder holding it is yielded as it is (the writer resumes or clears it), and the
    folder is kept when the block fails while it holds it."""
    out = Path(path)
    path = real_target(out)
    work = partial_path(path)
    lock = _claim(work, out, keep)
    try:
        _put_back_old(path)
        yield work
        names = entries(work)
        (work / CONTENTS_FILE).write_text("".join(f"{name}\n" for name in names))
        _swap_in(work, path)
    except BaseException as err:
        if keep is None or not (work / keep).is_file():
            shutil.rmtree(work, ignore_errors=True)
        unnamed = unnamed_write_error(err, work)
        if unnamed is not None:
            raise output_error(unnamed, out) from err
        raise
    finally:
        os.close(lock)
