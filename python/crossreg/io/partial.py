"""``OUT.partial``, where a run keeps its finished chunks until its output is written: a
folder beside the output, or a symbolic link to a folder on another disk (a bigger
scratch disk: ``ln -s $SCRATCH/run1 OUT.partial``).

A link is followed and kept: the chunks go into the folder it points to (made when
missing), and where a folder ``OUT.partial`` is removed (the output written, an input
error, a stop before any chunk finished) that folder is emptied instead, the link left
for the next run. A link is a run left over (:func:`left_over`) only while its folder
holds a chunk store (:data:`STORE_MARKS`). A fresh run needs the folder empty, or
holding an earlier run's chunk store, which it clears; one holding other files is
refused (:func:`check_place`), since the run would delete them.
"""

from __future__ import annotations

import shutil
from pathlib import Path

#: the files a chunk store writes as it starts, one of which marks a folder as one
STORE_MARKS = ("settings.json", "progress.json")


def left_over(root: Path) -> bool:
    """Whether `root` (``OUT.partial``) holds a run's chunks: it is a folder, or a link to
    a folder holding a chunk store; a link to an empty folder, or to none yet, is a place
    made for the chunks."""
    if root.is_symlink():
        return any((root / mark).exists() for mark in STORE_MARKS)
    return root.exists()


def check_place(root: Path) -> None:
    """Stop, naming the fix, when `root` is a link a run cannot keep its chunks behind:
    one to a file, or to a folder holding files that are not a chunk store's."""
    if not root.is_symlink():
        return
    folder = root.resolve()
    if folder.exists() and not folder.is_dir():
        raise ValueError(
            f"{root} links to {folder}, which is not a folder: link it to a folder for the "
            "run's chunks (an empty one), or remove the link"
        )
    if not folder.is_dir() or any((folder / mark).exists() for mark in STORE_MARKS):
        return
    other = min((entry.name for entry in folder.iterdir()), default=None)
    if other is not None:
        raise ValueError(
            f"{root} links to {folder}, which holds {other}: a run clears the folder it "
            f"keeps its chunks in, so link {root.name} to an empty folder"
        )


def make_fresh(root: Path) -> None:
    """Make `root` an empty folder for a new run's chunks: a folder is made anew; a link
    (:func:`check_place`) keeps pointing to its folder, made or emptied."""
    if not root.is_symlink():
        shutil.rmtree(root, ignore_errors=True)
        root.mkdir(parents=True)
        return
    check_place(root)
    folder = root.resolve()
    _empty(folder)
    folder.mkdir(parents=True, exist_ok=True)


def remove(root: Path) -> None:
    """Delete the chunks in `root`: a folder whole; for a link, what its folder holds
    (the link and the emptied folder are left for the next run)."""
    if root.is_symlink():
        _empty(root.resolve())
    else:
        shutil.rmtree(root, ignore_errors=True)


def _empty(folder: Path) -> None:
    """Delete what the folder holds (nothing when it is not there); a link in it is
    removed, not followed."""
    if not folder.is_dir():
        return
    for entry in folder.iterdir():
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry, ignore_errors=True)
        else:
            entry.unlink(missing_ok=True)
