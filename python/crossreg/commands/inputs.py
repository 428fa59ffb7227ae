"""Checks of a command's inputs that need no model, run before anything imports torch:
a mistyped path, head or track is reported in a moment, not after seconds of imports."""

from __future__ import annotations

import argparse
import contextlib
import errno
import os
from collections.abc import Collection, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from crossreg.commands.options import head_option
from crossreg.errors import Interrupted, first_few
from crossreg.io.atomic_dir import CONTENTS_FILE
from crossreg.io.chrom_sizes import read_chrom_sizes
from crossreg.io.targets_select import select_targets
from crossreg.io.text import is_gzipped
from crossreg.model.checkpoint_info import CheckpointInfo, checkpoint_info
from crossreg.progress import launched_rank
from crossreg.runlog import RUNS_FILE, logged_command, read_runs

if TYPE_CHECKING:
    from crossreg.data.store import DataStore

#: The positional arguments that give paths, named without dashes in messages.
POSITIONAL = ("directory", "shards")
#: Commands whose ``--out`` is a file the user names: they log their run in its folder
#: but do not make the folder theirs.
FILE_COMMANDS = frozenset({"sad", "sad-merge", "ism", "predict", "report"})


def option_name(name: str) -> str:
    """The option of argument `name` as the command line spells it: ``--cases-vcf``, or a
    positional argument's own name (``directory``, ``shards``)."""
    return name if name in POSITIONAL else f"--{name.replace('_', '-')}"


def input_error(path: Path, *, folder: bool = False) -> OSError | None:
    """The error reading input `path`, a file (or with `folder` a folder), would meet, its
    ``strerror`` saying what to do: missing (FileNotFoundError), a folder where a file is
    read (IsADirectoryError) or not readable (PermissionError); ``None`` when it reads."""
    if not path.exists():
        return FileNotFoundError(
            errno.ENOENT, "no such file or directory (check the path)", str(path)
        )
    if path.is_dir() and not folder:
        return IsADirectoryError(errno.EISDIR, "is a folder; give the file", str(path))
    if not os.access(path, os.R_OK | (os.X_OK if path.is_dir() else 0)):
        return PermissionError(errno.EACCES, "not readable; check its permissions", str(path))
    return None


def require_paths(args: argparse.Namespace, *files: str, folders: Sequence[str] = ()) -> None:
    """Every path the options `files` and `folders` give (one, a list, or ``None``) can be
    read: it exists, is readable, and for `files` is not a folder; the first that cannot is
    a ValueError naming the option (``--vcf calls: is a folder; give the file``)."""
    for name in (*folders, *files):
        value = getattr(args, name)
        for item in value if isinstance(value, list | tuple) else [value]:
            error = None if item is None else input_error(Path(item), folder=name in folders)
            if error is not None:
                raise ValueError(f"{option_name(name)} {item}: {error.strerror}")


def require_rereadable(args: argparse.Namespace, name: str) -> None:
    """The path of option `name`, which the command reads more than once, is not a pipe
    (a shell's ``<(...)``) or other stream, which would read empty the second time."""
    given = getattr(args, name)
    path = Path(given) if given is not None else None
    if path is not None and path.exists() and not (path.is_file() or path.is_dir()):
        option = option_name(name)
        raise ValueError(
            f"{option} {given}: is a pipe, which can be read only once; write it to a file first"
        )


def require_output(args: argparse.Namespace, name: str = "out", *, folder: bool) -> None:
    """The output path of option `name`, a `folder` or a file, can be created: its nearest
    existing folder is a writable folder, and the path is not already of the other kind
    (checked first, so that no work is lost at the end)."""
    given = getattr(args, name)
    option = option_name(name)
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
        why = "is not a writable folder" if parent.is_dir() else "is a file, not a folder"
        raise ValueError(
            f"{option} {given}: cannot be written ({parent} {why}); choose another path"
        )


@contextlib.contextmanager
def rerun_when_stopped(args: argparse.Namespace) -> Iterator[None]:
    """A block that writes ``--out`` one file at a time: a stop (Ctrl-C, SIGTERM) within
    it says what the folder may hold and that the same command writes it whole (its rerun
    takes the folder for its own, :func:`require_own_folder`). A stop that says more
    already (:class:`~crossreg.errors.Interrupted`: what a checkpoint keeps) is let be."""
    try:
        yield
    except Interrupted:
        raise
    except KeyboardInterrupt:
        raise Interrupted(
            f"{args.out} may hold some of this run's files; rerun the same command to write "
            "them all"
        ) from None


def require_own_folder(
    args: argparse.Namespace,
    unfinished: str | tuple[str, ...] | None = None,
    own_files: Collection[str] = (),
) -> None:
    """``--out``, the folder this command writes its files into, is new, empty, or this
    command's own earlier output (its run log names this command and no other that writes
    folders), which a rerun replaces. Anything else (another command's output, the
    user's files) is refused before any work, so that nothing of theirs is overwritten
    or mixed in. `unfinished` names the entry (or entries) an interrupted run of the
    command leaves there (its checkpoint), which the command judges itself: a folder
    holding one is the command's, with whatever outputs the interrupted run had written
    beside it. `own_files` names the files the command writes, exactly (those this run
    writes, or an earlier run recorded; never a pattern, which a user's file could
    match): a folder holding only those, and no run log, is the command's own run stopped
    before it logged itself (while writing its files, or after), which a rerun writes
    anew."""
    out, command = Path(args.out), args.command
    if launched_rank() != 0 or not out.is_dir():
        return  # under torchrun process 0 checks (the others may have begun writing)
    left = (unfinished,) if isinstance(unfinished, str) else unfinished or ()
    if any((out / name).is_dir() for name in left):
        return
    entries = [p for p in out.iterdir() if p.name not in left]
    if not entries:
        return
    runs = read_runs(out / RUNS_FILE) if (out / RUNS_FILE).is_file() else []
    logged = {logged_command(str(run.get("command", ""))) for run in runs}
    others = sorted(logged - FILE_COMMANDS - {command})
    fix = "choose a new or empty --out"
    if (out / CONTENTS_FILE).exists():
        held = "the whole output of another crossreg command"
    elif others:
        held = f"the output of crossreg {others[0]} (its {RUNS_FILE} says so)"
    elif command not in logged:
        if not runs and all(p.name in own_files for p in entries):
            return  # a first run stopped while writing: its own files, which a rerun replaces
        names = first_few(sorted(p.name for p in entries), shown=3)
        held = f"files no finished crossreg {command} wrote ({names})"
        fix += f", or remove them if a crossreg {command} stopped before it finished"
    else:
        return
    raise ValueError(
        f"--out {args.out} already holds {held}; crossreg {command} writes into a folder of "
        f"its own: {fix}"
    )


def require_suffix(args: argparse.Namespace, name: str, suffixes: Sequence[str]) -> None:
    """The path of option `name` ends in one of `suffixes` (the formats it can be
    written in)."""
    path = Path(getattr(args, name))
    if path.suffix not in suffixes:
        option = option_name(name)
        raise ValueError(
            f"{option} {path}: the output must end in {' or '.join(suffixes)}; rename it"
        )


def model_head(args: argparse.Namespace) -> tuple[CheckpointInfo, str]:
    """The checkpoint of ``--model`` and its head ``--head`` (the only one when none is
    given), checked; messages name the head's option as it was given."""
    info = checkpoint_info(args.model)
    return info, info.choose(args.head, head_option(args))


def check_tracks(info: CheckpointInfo, head: str, spec: str | None, option: str) -> None:
    """A ``--targets`` spec selects tracks of the head (an item that selects none is an
    error naming it, and the model's other head whose tracks it names, if one does, with
    the head's `option`)."""
    try:
        select_targets(info.targets[head], spec)
    except ValueError as err:
        others = [other for other in info.targets if other != head and _selects(info, other, spec)]
        if not others:
            raise
        raise ValueError(
            f"{err}; it names tracks of the '{others[0]}' head, not of '{head}': choose that "
            f"head with {option} {others[0]}"
        ) from None


def _selects(info: CheckpointInfo, head: str, spec: str | None) -> bool:
    """Whether `spec` selects tracks of `head`."""
    try:
        select_targets(info.targets[head], spec)
    except ValueError:
        return False
    return True


def indexed_sizes(fasta: Path) -> dict[str, int] | None:
    """The chromosome sizes of `fasta` from its ``.fai`` index, read in a moment where the
    FASTA itself is not; ``None`` when it has no index as new as itself, or one that does
    not read (the FASTA is then checked as it loads, and indexed), and for a gzipped FASTA,
    whose load neither reads nor checks an index beside it."""
    index = Path(f"{fasta}.fai")
    try:
        if index.stat().st_mtime < fasta.stat().st_mtime or is_gzipped(fasta):
            return None
        return read_chrom_sizes(index)
    except (OSError, ValueError):
        return None


def check_bed_on_fasta(args: argparse.Namespace) -> dict[str, int] | None:
    """``--bed``'s regions lie on ``--fasta``'s chromosomes, within their ends
    (:func:`crossreg.io.bed.check_within`), checked against the FASTA's index before a
    model loads; returns the sizes the index gives (``None`` without one)."""
    from crossreg.io.bed import read_bed  # numpy (by the native core): not for the parser

    sizes = indexed_sizes(args.fasta)
    if sizes is not None and args.bed is not None:
        read_bed(args.bed, sizes=sizes, fasta=str(args.fasta))
    return sizes


def check_vcf_on_fasta(args: argparse.Namespace) -> None:
    """``--vcf``'s first records read as VCF records, on ``--fasta``'s chromosomes, checked
    against the FASTA's index before a model loads, as the run reads them: a VCF none of
    whose records is on them (a naming mismatch, ``1`` against ``chr1``: the error carries
    the hint) stops, and with ``--strict`` a record off them; the records are read up to
    the first on them (without an index, the first alone)."""
    from crossreg.io.vcf import iter_vcf, require_chromosome  # numpy (by the native core)

    if args.vcf is None or not Path(args.vcf).is_file():
        return  # a pipe is read once, by the run
    sizes = indexed_sizes(args.fasta)
    source, first_off = str(args.vcf), None
    for variant in iter_vcf(args.vcf, warn=False, sites_only=True):
        if sizes is None or variant.chrom in sizes:
            return
        if args.strict:
            require_chromosome(variant, sizes, source=source, fasta=str(args.fasta))
        first_off = first_off or variant
    if first_off is not None and sizes is not None:
        require_chromosome(first_off, sizes, source=source, fasta=str(args.fasta))


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
    check_splits(store, splits, option=option, each=each)
    return store


def check_splits(
    store: DataStore, splits: Sequence[str], *, option: str | None, each: bool
) -> None:
    """`store`'s `splits` are all known and hold windows between them (with `each`, every
    one of them does), as :func:`open_store` says."""
    counts = store.window_counts
    have = ", ".join(f"{name} ({count} windows)" for name, count in counts.items())
    unknown = [split for split in splits if split not in counts]
    empty = [split for split in splits if not counts.get(split, 0)]
    if unknown or len(empty) == len(splits) or (each and empty):
        what = f"no split '{unknown[0]}'" if unknown else f"no windows in {', '.join(empty)}"
        given = f"{option} {','.join(splits)}: " if option else ""
        fix = (
            "rebuild it with crossreg data, giving that split regions of at least one window "
            "(--regions from crossreg split, or --valid-fraction/--test-fraction)"
        )
        if option:
            fix = f"choose another {option}, or {fix}"
        raise ValueError(f"{given}dataset {store.path} has {what}; it has {have}: {fix}")
