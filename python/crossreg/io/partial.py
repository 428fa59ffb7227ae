"""``OUT.partial``, where a run keeps its finished chunks until its output is written: a
folder beside the output, or a symbolic link to a folder on another disk (a bigger
scratch disk: ``ln -s $SCRATCH/run1 OUT.partial``).

A link is followed and kept: the chunks go into the folder it points to (made when
missing), and where a folder ``OUT.partial`` is removed (the output written, an input
error, a stop before any chunk finished) that folder is emptied of the chunk store
instead, the link left for the next run. A link is a run left over (:func:`left_over`)
only while its folder holds a chunk store (:data:`STORE_MARKS`). Behind a link, only
what a chunk store writes (:func:`is_store_entry`) is ever deleted: a run refuses a
folder holding anything else (:func:`check_place`), or the output itself, and a folder
that came to hold anything else while the run went on (the link pointed elsewhere, a
file put in it) is left whole when the store is removed, with a warning.
"""

from __future__ import annotations

import logging
import re
import shutil
from pathlib import Path

log = logging.getLogger("crossreg")

SETTINGS_FILE = "settings.json"  # a store's settings, to name what a resume changed
PROGRESS_FILE = "progress.json"  # how far the run is
RUN_FILE = "run_settings.json"  # a shard's settings every shard must share
CHUNK_NAME = "chunk-{:06d}"  # a finished chunk's folder
#: the files a chunk store writes as it starts, one of which marks a folder as one
STORE_MARKS = (SETTINGS_FILE, PROGRESS_FILE)
SUFFIX = ".partial"

_FILES = "|".join(re.escape(name) for name in (SETTINGS_FILE, PROGRESS_FILE, RUN_FILE))
#: a store's entries: its files, a chunk's folder, and either being written (a chunk's
#: ``.chunk-N.tmp``, a file's ``.NAME.<random suffix>.tmp`` of
#: :func:`crossreg.io.atomic.atomic_write`)
_STORE_ENTRY = re.compile(rf"(?:{_FILES})|\.(?:{_FILES})\.\w+\.tmp|\.?chunk-\d{{6,}}(?:\.tmp)?")


def is_store_entry(name: str) -> bool:
    """Whether a chunk store writes an entry of this name (so that a run may delete it)."""
    return _STORE_ENTRY.fullmatch(name) is not None


def left_over(root: Path) -> bool:
    """Whether `root` (``OUT.partial``) holds a run's chunks: it is a folder, or a link to
    a folder holding a chunk store; a link to an empty folder, or to none yet, is a place
    made for the chunks."""
    if root.is_symlink():
        return any((root / mark).exists() for mark in STORE_MARKS)
    return root.exists()


def check_place(root: Path, output: Path | None = None) -> Path | None:
    """Stop, naming the fix, when `root` is a link a run cannot keep its chunks behind:
    one that loops, one to a file, to the output or into it (``OUT`` of ``OUT.partial``,
    and `output`, the file or folder a shard's chunks end in), or to a folder holding
    anything a chunk store does not write (a run clears the folder). Returns the folder
    the link points to (``None`` when `root` is no link), to be cleared as it was
    checked even if the link is pointed elsewhere meanwhile."""
    if not root.is_symlink():
        return None
    try:
        folder = root.resolve()
    except (RuntimeError, OSError) as err:  # a link loop (RuntimeError before Python 3.13)
        raise ValueError(
            f"{root} is a symbolic link that leads to no folder ({err}): link it to a "
            "folder for the run's chunks (an empty one), or remove the link"
        ) from None
    if folder.exists() and not folder.is_dir():
        raise ValueError(
            f"{root} links to {folder}, which is not a folder: link it to a folder for the "
            "run's chunks (an empty one), or remove the link"
        )
    outputs = [root.parent.resolve() / root.name.removesuffix(SUFFIX)]
    if output is not None:
        outputs.append(output.parent.resolve() / output.name)
    if any(folder == out or out in folder.parents for out in outputs):
        raise ValueError(
            f"{root} links to {folder}, the output itself or a folder in it: the output "
            f"replaces it, so link {root.name} to an empty folder elsewhere"
        )
    other = min(_foreign(folder), default=None)
    if other is not None:
        raise ValueError(
            f"{root} links to {folder}, which holds {other}: a run clears the folder it "
            f"keeps its chunks in, so link {root.name} to an empty folder"
        )
    return folder


def make_fresh(root: Path, output: Path | None = None) -> None:
    """Make `root` an empty folder for a new run's chunks: a folder is made anew; a link
    (:func:`check_place`, with `output`) keeps pointing to its folder, made or emptied."""
    folder = check_place(root, output)
    if folder is None:
        shutil.rmtree(root, ignore_errors=True)
        root.mkdir(parents=True)
        return
    _empty(folder)
    folder.mkdir(parents=True, exist_ok=True)


def remove(root: Path) -> None:
    """Delete the chunks in `root`: a folder whole; for a link, the chunk store in its
    folder (the link and the emptied folder are left for the next run). A linked folder
    holding anything a store does not write is left whole, with a warning: the link
    was pointed elsewhere, or a file put beside the chunks."""
    if not root.is_symlink():
        shutil.rmtree(root, ignore_errors=True)
        return
    try:
        folder = root.resolve()
    except (RuntimeError, OSError):
        log.warning("%s leads to no folder now: no chunk was deleted", root)
        return
    other = min(_foreign(folder), default=None)
    if other is not None:
        log.warning(
            "%s links to %s, which holds %s, not written by a run: nothing in it was "
            "deleted; delete the chunk store's files (%s, chunk-*) by hand",
            root,
            folder,
            other,
            ", ".join(STORE_MARKS),
        )
        return
    _empty(folder)


def _foreign(folder: Path) -> list[str]:
    """The names of the entries of `folder` a chunk store does not write (none when the
    folder is not there)."""
    if not folder.is_dir():
        return []
    return [entry.name for entry in folder.iterdir() if not is_store_entry(entry.name)]


def _empty(folder: Path) -> None:
    """Delete the chunk store's entries in the folder (nothing when it is not there); a
    link among them is removed, not followed; any other entry is left."""
    if not folder.is_dir():
        return
    for entry in folder.iterdir():
        if not is_store_entry(entry.name):
            continue
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry, ignore_errors=True)
        else:
            entry.unlink(missing_ok=True)
