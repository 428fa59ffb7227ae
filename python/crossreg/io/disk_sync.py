"""Files and folders flushed to the disk (``fsync``), so that a finished output survives a
power loss."""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

FSYNC_THREADS = 16  # files of a finished folder flushed to the disk at once


def fsync(path: str | os.PathLike[str]) -> None:
    """Flush a file's or a directory's data to the disk."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_files(files: list[Path]) -> None:
    """:func:`fsync` each of `files`, :data:`FSYNC_THREADS` at a time: a folder of
    thousands (one BigWig per track) waits for the disk once per file otherwise."""
    if files:
        with ThreadPoolExecutor(min(FSYNC_THREADS, len(files))) as pool:
            list(pool.map(fsync, files))  # the first error, if any, is raised here


def flush_folder(folder: Path) -> None:
    """Flush every file under `folder` to the disk (:func:`_fsync_files`): a writer that
    must still be able to keep its work if stopped does it before its last step, so that
    :func:`~crossreg.io.atomic_dir.atomic_directory`'s own flush, as it swaps the folder
    in, finds little to do."""
    _fsync_files([entry for entry in folder.rglob("*") if entry.is_file()])
