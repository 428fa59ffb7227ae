"""What a training run may do with its output folder: continue the run there, start one
in a folder without a run, or replace an earlier run only when asked."""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shutil
from collections.abc import Iterator, Sequence
from pathlib import Path

from crossreg.io.atomic_dir import remove_directory, restore_previous
from crossreg.io.replaceable import path_relation
from crossreg.model.checkpoint_info import CONFIG_NAME, FORMAT
from crossreg.progress import launched_rank
from crossreg.train.board import FOLDER


def check_run_folder(out: str | os.PathLike[str], *, resume: bool, overwrite: bool = False) -> None:
    """`out` holds a ``last/`` checkpoint to continue from when `resume`, and none (a run
    that a new one would replace) otherwise, unless `overwrite` lets a new run replace it.
    Raises :class:`ValueError` naming the folder and the fix. Checked before any work, so
    that an earlier run is never lost by mistake."""
    if resume and overwrite:
        raise ValueError("resume and overwrite exclude each other; choose one")
    last = Path(out) / "last"
    restore_previous(last)  # a run killed while replacing it may have left it aside
    if resume and not last.is_dir():
        raise ValueError(
            f"--resume: {last} does not exist (no finished epoch to continue from); start "
            "without --resume"
        )
    if not resume and not overwrite and last.is_dir():
        raise ValueError(
            f"{out} holds a run ({last}); continue it with --resume (Python: resume=True), "
            "or start again with --overwrite (Python: overwrite=True), which replaces it, or "
            "into a new output folder"
        )


#: The entries of a run's folder that a run writes, and that ``--overwrite`` replaces.
RUN_ENTRIES = ("best", "last", "finetune_*", FOLDER)


def check_apart(
    out: str | os.PathLike[str], inputs: Sequence[tuple[str, str | os.PathLike[str]]]
) -> None:
    """Refuse an `out` that is one of the `inputs` (pairs of what it is and its path: the
    parent checkpoint, the stores), lies inside one, or holds one where a run writes
    (:data:`RUN_ENTRIES`): the run would write its checkpoints into an input, or with
    ``--overwrite`` delete it. Any dataset store or checkpoint is refused as `out` (its
    ``dataset.json`` or ``config.json`` names crossreg's format; a file of that name of
    another program is not): a run writes a folder of its own (``best/``, ``last/``), not
    into another step's output."""
    from crossreg.data.store import METADATA, STORE_FORMAT  # numpy: not at argument parsing

    folder = Path(out)
    for what, given in inputs:
        path = Path(given)
        relation = path_relation(folder, path)
        where = ""
        if relation == "holds":
            entry = path.resolve().relative_to(folder.resolve()).parts[0]
            if not any(Path(entry).match(name) for name in RUN_ENTRIES):
                continue
            where = f" as its {entry}/, which a run there writes"
        if relation is not None:
            raise ValueError(
                f"--out {out} {relation} the {what} {given}{where}: training there would "
                "write into it, or with --overwrite delete it; choose an --out apart from "
                "the run's inputs"
            )
    outputs = ((METADATA, STORE_FORMAT, "a dataset store"), (CONFIG_NAME, FORMAT, "a checkpoint"))
    for name, form, kind in outputs:
        if _declares(folder / name, form):
            raise ValueError(
                f"--out {out} is {kind}: a run writes its checkpoints (best/, last/) into "
                "a folder of its own; choose another --out"
            )


def _declares(path: Path, form: str) -> bool:
    """Whether `path` is a JSON object whose ``format`` is `form` (a crossreg store's
    ``dataset.json``, a checkpoint's ``config.json``): a file of another program that
    shares the name is the user's, not another step's output."""
    try:
        data = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, ValueError):
        return False
    return isinstance(data, dict) and data.get("format") == form


@contextlib.contextmanager
def training_into(
    out: str | os.PathLike[str],
    *,
    resume: bool,
    overwrite: bool = False,
    inputs: Sequence[tuple[str, str | os.PathLike[str]]] = (),
) -> Iterator[None]:
    """A block that trains into `out`, checked first (:func:`check_run_folder`). The main
    process of the run holds a lock on the folder meanwhile: a second run into it (a
    resume, say, while the first still trains) is refused with a :class:`ValueError`
    instead of writing ``last/`` and ``metrics.csv`` in turn with it. A folder this call
    made goes again if the run leaves it empty (refused before its first file). An `out`
    that meets one of the run's `inputs` is refused before it is made (:func:`check_apart`)."""
    folder = Path(out)
    check_apart(folder, inputs)
    if launched_rank() != 0:  # the job's main process holds the folder for it
        check_run_folder(folder, resume=resume, overwrite=overwrite)
        yield
        return
    made = not folder.exists()
    folder.mkdir(parents=True, exist_ok=True)
    fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        _lock(fd, folder)
        check_run_folder(folder, resume=resume, overwrite=overwrite)
        yield
    finally:
        os.close(fd)
        if made:
            with contextlib.suppress(OSError):  # only an empty one
                folder.rmdir()


def require_no_training(out: str | os.PathLike[str]) -> None:
    """Stop when another run is training into `out` now (it holds the folder, see
    :func:`training_into`): checked by the command lines before the folder's contents, so
    that a second run is not told to ``--resume`` a run that is still going. Only a job's
    main process asks (its other processes start while it holds the folder)."""
    folder = Path(out)
    if launched_rank() != 0 or not folder.is_dir():
        return
    fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        _lock(fd, folder)
    finally:
        os.close(fd)  # releases the lock taken to ask


def _lock(fd: int, folder: Path) -> None:
    """Take the lock on the open folder `fd`, or raise :class:`ValueError` when another
    run holds it (a file system without locks holds nothing)."""
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        raise ValueError(
            f"{folder}: another crossreg run is training into it now; wait for it to "
            "finish (then --resume continues it), or train into another --out"
        ) from None
    except OSError:
        pass


def remove_earlier_run(out: str | os.PathLike[str]) -> None:
    """Remove the run in `out` that a new one replaces (``overwrite``), once the new run
    has trained its first epoch and before it saves it: first its ``last/`` (so that `out`
    never holds the earlier run's ``last/`` beside the new run's ``best/``, which a resume
    of the earlier run would take for its own), then its ``best/`` (a first epoch that
    diverged saves none), ``metrics.csv``, ``finetune_<genome>/`` checkpoints (folders
    of that name holding no checkpoint are the user's, and stay) and TensorBoard events."""
    out = Path(out)
    remove_directory(out / "last")
    remove_directory(out / "best")
    (out / "metrics.csv").unlink(missing_ok=True)
    for earlier in sorted(out.glob("finetune_*")):
        if earlier.is_dir() and (earlier / CONFIG_NAME).is_file():  # a run's checkpoint
            shutil.rmtree(earlier)
    remove_events(out)


def remove_events(out: str | os.PathLike[str]) -> None:
    """Remove the TensorBoard event files of the run in `out`: an earlier run's that a
    new one replaces, or those a run stopped before it saved its first epoch left (a
    fresh run in a folder without ``last/``), whose figures no saved epoch holds."""
    for events in (Path(out) / FOLDER).glob("events.out.tfevents.*"):
        events.unlink()
