"""Checks of a command's inputs that need no model, run before anything imports torch:
a mistyped path, head or track is reported in a moment, not after seconds of imports."""

from __future__ import annotations

import argparse
import errno
import os
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from crossreg.io.targets import select_targets
from crossreg.model.checkpoint_info import CheckpointInfo, checkpoint_info

if TYPE_CHECKING:
    from crossreg.data.store import DataStore


def require_paths(args: argparse.Namespace, *names: str) -> None:
    """Every path the options `names` give (one, a list, or ``None``) exists; the first
    that does not is a :class:`FileNotFoundError`, which the command line reports with
    the option that gave it."""
    for name in names:
        value = getattr(args, name)
        for item in value if isinstance(value, list | tuple) else [value]:
            if item is not None and not Path(item).exists():
                raise FileNotFoundError(errno.ENOENT, os.strerror(errno.ENOENT), str(item))


def require_rereadable(args: argparse.Namespace, name: str) -> None:
    """The path of option `name`, which the command reads more than once, is not a pipe
    (a shell's ``<(...)``) or other stream, which would read empty the second time."""
    given = getattr(args, name)
    path = Path(given) if given is not None else None
    if path is not None and path.exists() and not (path.is_file() or path.is_dir()):
        option = f"--{name.replace('_', '-')}"
        raise ValueError(
            f"{option}: {given} is a pipe, which can be read only once; write it to a file first"
        )


def require_output(args: argparse.Namespace, name: str = "out", *, folder: bool) -> None:
    """The output path of option `name`, a `folder` or a file, can be created: its nearest
    existing folder is a writable folder, and the path is not already of the other kind
    (checked first, so that no work is lost at the end)."""
    given = getattr(args, name)
    option = f"--{name.replace('_', '-')}"
    path = Path(given).absolute()
    if path.exists() and path.is_dir() != folder:
        have, want = ("a file", "folder") if folder else ("a folder", "file")
        raise ValueError(
            f"{option} {given}: is {have}, where crossreg writes a {want}; choose another "
            "path (or move it away)"
        )
    existing = next(p for p in (path, *path.parents) if p.exists())
    parent = existing if existing != path or existing.is_dir() else existing.parent
    if not parent.is_dir() or not os.access(parent, os.W_OK | os.X_OK):
        raise ValueError(
            f"{option} {given}: cannot be written ({parent} is not a writable folder); "
            "choose another path"
        )


def require_suffix(args: argparse.Namespace, name: str, suffixes: Sequence[str]) -> None:
    """The path of option `name` ends in one of `suffixes` (the formats it can be
    written in)."""
    path = Path(getattr(args, name))
    if path.suffix not in suffixes:
        option = f"--{name.replace('_', '-')}"
        raise ValueError(
            f"{option} {path}: the output must end in {' or '.join(suffixes)}; rename it"
        )


def model_head(
    args: argparse.Namespace, head: str | None, *, option: str = "--genome"
) -> tuple[CheckpointInfo, str]:
    """The checkpoint of ``--model`` and its head `head` (the only one when `head` is
    ``None``), checked; `option` is the head's option in messages."""
    info = checkpoint_info(args.model)
    return info, info.choose(head, option)


def check_tracks(info: CheckpointInfo, head: str, spec: str | None) -> None:
    """A ``--targets`` spec selects tracks of the head (an item that selects none is an
    error naming it)."""
    select_targets(info.targets[head], spec)


def open_store(
    path: Path, splits: Sequence[str], *, option: str | None = "--split", each: bool = False
) -> DataStore:
    """The dataset store at `path` (existing), whose `splits` are all known and hold
    windows between them (with `each`, every one of them holds windows); `option` is the
    option that named the splits, in messages (``None``: the command's own)."""
    from crossreg.data.store import DataStore

    if not path.exists():
        raise FileNotFoundError(errno.ENOENT, os.strerror(errno.ENOENT), str(path))
    store = DataStore(path)
    counts = {name: split.get("count", 0) for name, split in store.splits.items()}
    have = ", ".join(f"{name} ({count} windows)" for name, count in counts.items())
    unknown = [split for split in splits if split not in counts]
    empty = [split for split in splits if not counts.get(split, 0)]
    if unknown or len(empty) == len(splits) or (each and empty):
        what = f"no split '{unknown[0]}'" if unknown else f"no windows in {', '.join(empty)}"
        given = f"{option} {','.join(splits)}: " if option else ""
        raise ValueError(f"{given}dataset {path} has {what}; it has {have}")
    return store
