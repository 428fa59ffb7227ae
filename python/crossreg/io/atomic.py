"""Write files and directories so that a crash never leaves a half-written one under the
final name, and a finished one survives a power loss (fsync before the rename). A full
disk is an error naming the output (:class:`OutputError`)."""

from __future__ import annotations

import ctypes
import errno
import fcntl
import functools
import logging
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import IO

from crossreg.errors import first_few
from crossreg.io.space import SpaceError, size_text
from crossreg.runlog import RUNS_FILE

log = logging.getLogger("crossreg")


#: The errors only writing gives (a full disk or quota, a file too large for its file
#: system): raised without a file name by ``write``, ``flush`` or ``fsync``.
WRITE_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EFBIG})
FSYNC_THREADS = 16  # files of a finished folder flushed to the disk at once


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


def _current_umask() -> int:
    """The process umask (read by setting and restoring it)."""
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _fsync(path: str | os.PathLike[str]) -> None:
    """Flush a file's or a directory's data to the disk."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_files(files: list[Path]) -> None:
    """:func:`_fsync` each of `files`, :data:`FSYNC_THREADS` at a time: a folder of
    thousands (one BigWig per track) waits for the disk once per file otherwise."""
    if files:
        with ThreadPoolExecutor(min(FSYNC_THREADS, len(files))) as pool:
            list(pool.map(_fsync, files))  # the first error, if any, is raised here


def flush_folder(folder: Path) -> None:
    """Flush every file under `folder` to the disk (:func:`_fsync_files`): a writer that
    must still be able to keep its work if stopped does it before its last step, so that
    :func:`atomic_directory`'s own flush, as it swaps the folder in, finds little to do."""
    _fsync_files([entry for entry in folder.rglob("*") if entry.is_file()])


def _check_not_dangling(path: Path) -> None:
    """Refuse an output `path` that is a symbolic link leading nowhere."""
    if path.is_symlink() and not path.exists():
        raise ValueError(
            f"{path} is a symbolic link to {os.readlink(path)}, which does not exist; "
            "create what it points to, remove the link or choose another output path"
        )


def _real_target(path: Path) -> Path:
    """Where an output `path` that is a symbolic link points (else `path`): the real file
    or folder is what gets replaced, beside itself, and the link keeps pointing at it."""
    _check_not_dangling(path)
    return path.resolve() if path.is_symlink() else path


def _remove(entry: Path) -> None:
    """Remove `entry` if present: a folder with all it holds, a file or a symbolic link
    (never what the link points to)."""
    if entry.is_dir() and not entry.is_symlink():
        shutil.rmtree(entry)
    elif os.path.lexists(entry):
        entry.unlink()


@contextmanager
def atomic_path(path: str | os.PathLike[str]) -> Iterator[Path]:
    """A temporary path beside `path` for a writer that needs a file name (HDF5, BigWig,
    memory maps); it is renamed over `path` only when the block succeeds, else removed.
    A `path` that is a symbolic link is written through: its target is replaced. A write
    error naming no file (a full disk, raised by ``write``, ``flush`` or ``fsync``) is an
    :class:`OutputError` naming `path`."""
    given = Path(path)
    path = _real_target(given)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        os.chmod(tmp, 0o666 & ~_current_umask())
        yield Path(tmp)
        _fsync(tmp)
        os.replace(tmp, path)
        _fsync(path.parent)
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


#: The list of the top-level entries :func:`atomic_directory` wrote, kept in the folder:
#: what ``--overwrite`` may remove.
CONTENTS_FILE = ".crossreg-contents"


def check_replaceable(
    out: str | os.PathLike[str],
    overwrite: bool,
    kinds: Mapping[str, str],
    option: str = "--out",
) -> None:
    """`out` may be written whole (:func:`atomic_directory`): absent, an empty folder, or a
    folder holding one of `kinds` (marker file name → what it holds, ``"a checkpoint"``)
    to replace with `overwrite`. Anything else is refused, so that no user file is
    removed: a folder to replace must hold only what crossreg wrote there (its
    :data:`CONTENTS_FILE` and run log). Never the current directory or a folder holding
    it, which the swap would pull from under the process. A symbolic link is
    judged by the folder it points to; one that leads nowhere is refused. Messages name
    the folder as the command's `option` gives it. A previous `out` that a run killed while
    replacing it left as ``.<name>.old`` is put back first (:func:`restore_previous`)."""
    out = Path(out)
    _check_not_dangling(out)
    restore_previous(out)
    if not out.exists():
        return
    check_not_current(out, option)
    if not out.is_dir():
        raise ValueError(f"{option} {out} exists and is not a directory; choose another {option}")
    held = [what for marker, what in kinds.items() if (out / marker).exists()]
    if held:
        if not overwrite:
            raise ValueError(
                f"{option} {out} already holds {held[0]}; pass --overwrite to replace it or "
                f"choose another {option}"
            )
        check_only_ours(out, held[0], option)
    elif any(out.iterdir()):
        kinds_text = " or ".join(dict.fromkeys(kinds.values()))
        raise ValueError(
            f"{option} {out} exists, is not empty and is not {kinds_text}; choose another "
            f"{option} (it holds {first_few(_top_level(out))})"
        )


def _entries(folder: Path) -> list[str]:
    """Every file and folder under `folder`, at any depth, as sorted relative POSIX paths
    (symbolic links are listed, not followed)."""
    return sorted(entry.relative_to(folder).as_posix() for entry in folder.rglob("*"))


def _top_level(folder: Path) -> list[str]:
    """The names of the entries directly in `folder`, sorted."""
    return sorted(entry.name for entry in folder.iterdir())


def path_relation(out: Path, other: Path) -> str | None:
    """How the output `out` meets the input `other` once links are resolved (``"is"``,
    ``"holds"``, ``"lies inside"``), or None when they are apart."""
    where, real = out.resolve(), other.resolve()
    if where == real:
        return "is"
    if where in real.parents:
        return "holds"
    return "lies inside" if real in where.parents else None


def check_not_current(out: Path, option: str) -> None:
    """Refuse an output folder `out` that is or holds the current directory, which writing
    it whole would pull from under the process."""
    cwd = Path.cwd().resolve()
    if out.resolve() == cwd or out.resolve() in cwd.parents:
        raise ValueError(
            f"{option} {out} is or holds the current directory, which writing it whole "
            f"would replace; run from another directory or choose another {option}"
        )


def check_only_ours(
    out: Path,
    what: str,
    option: str,
    *,
    unlisted: set[str] | None = None,
    remover: str = "--overwrite",
) -> None:
    """Refuse to replace `out` (holding `what`) when it holds entries crossreg did not
    write there: those its :data:`CONTENTS_FILE` lists, or where it has none, the
    top-level names `unlisted` (what an earlier crossreg wrote before it kept the list;
    ``None``: such a folder is refused). `remover` names what would remove the others."""
    record = out / CONTENTS_FILE
    if not record.is_file() and unlisted is not None:
        ours = set(unlisted)
    elif not record.is_file():
        raise ValueError(
            f"{option} {out} looks like {what} but has no {CONTENTS_FILE} listing what crossreg "
            "wrote there (not written by crossreg, or by an earlier version of it), "
            "so --overwrite could remove files of yours; remove it yourself or choose "
            f"another {option}"
        )
    else:
        ours = set(record.read_text().splitlines())
    ours |= {CONTENTS_FILE, RUNS_FILE}
    # a record without a nested entry (all an earlier crossreg wrote) lists the top level
    held = _entries(out) if any("/" in name for name in ours) else _top_level(out)
    foreign = [name for name in held if name not in ours]
    if foreign:
        shown = first_few(foreign)
        raise ValueError(
            f"{option} {out} holds {what} and also {shown}, which crossreg did not write there "
            f"and {remover} would remove; move them out or choose another {option}"
        )


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
    _fsync(path.parent)
    log.warning("restored %s from %s, left by a run killed while replacing it", path, old.name)


def restore_previous(path: str | os.PathLike[str]) -> None:
    """Put back a previous `path` (a folder written by :func:`atomic_directory`) that a run
    killed while replacing it left as ``.<name>.old``, unless another process is writing
    `path` now (holds the lock on its ``.<name>.partial``). For a caller that reads `path`
    (``train --resume`` its ``last/``) before writing it; :func:`atomic_directory` and
    :func:`check_replaceable` do it themselves."""
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
        if _try_lock(fd):
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
    path = _real_target(given)
    if not path.is_dir():
        return
    aside = partial_path(path)
    _remove(_old_path(path))
    _remove(aside)  # one left by an interrupted write
    os.replace(path, aside)
    if given.is_symlink():
        path.mkdir()
    _fsync(path.parent)
    _remove(aside)


_RENAME_EXCHANGE = 2  # renameat2's flag (linux/fs.h)
_AT_FDCWD = -100  # a path relative to the current directory (fcntl.h)


@functools.cache
def _renameat2() -> Callable[..., int] | None:
    """libc's ``renameat2``, or ``None`` where there is none (not Linux, an old libc)."""
    try:
        function = ctypes.CDLL(None, use_errno=True).renameat2
    except (OSError, AttributeError):
        return None
    function.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p]
    function.argtypes += [ctypes.c_uint]
    function.restype = ctypes.c_int
    return function


def _exchange(first: Path, second: Path) -> bool:
    """Swap the names `first` and `second` in one step (``renameat2`` with
    ``RENAME_EXCHANGE``), so that a crash leaves each at one name or the other; False where
    the system or the file system cannot (nothing is changed then)."""
    function = _renameat2()
    if function is None:
        return False
    if (
        function(_AT_FDCWD, os.fsencode(first), _AT_FDCWD, os.fsencode(second), _RENAME_EXCHANGE)
        == 0
    ):
        return True
    code = ctypes.get_errno()
    if code in (errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP, errno.ENOTSUP):
        return False
    raise OSError(code, os.strerror(code), str(first), None, str(second))


def lock_folder(path: Path) -> int | None:
    """A descriptor holding the lock on the folder `path` (``None`` for a file, or where
    another process holds it), which tells other processes it is in use: here, so that no
    other writer removes it as an interrupted write's ``.<name>.partial`` once it is one;
    :mod:`crossreg.evaluate.scratch` locks its scratch folders alike. Closing the
    descriptor (or the process ending) lets the lock go."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW)
    except OSError:
        return None
    if _try_lock(fd):
        return fd
    os.close(fd)
    return None


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
            if _exchange(work, path):
                _fsync(path.parent)
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
    _fsync(path.parent)


def _try_lock(fd: int) -> bool:
    """Take an exclusive lock on `fd` without waiting; False if another process holds it.
    Where the file system has no such locks (some network ones) it counts as taken."""
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    except OSError:
        pass
    return True


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
    if not _try_lock(fd):
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
    file or one in the folder (a full disk) is an :class:`OutputError` naming `path`.

    A resumable writer names a file `keep` that marks its finished work: a leftover
    folder holding it is yielded as it is (the writer resumes or clears it), and the
    folder is kept when the block fails while it holds it."""
    out = Path(path)
    path = _real_target(out)
    work = partial_path(path)
    lock = _claim(work, out, keep)
    try:
        _put_back_old(path)
        yield work
        names = _entries(work)
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
