"""The checkpoint of ``crossreg evaluate``: ``OUT/.partial/``, so that a run stopped by
Ctrl-C, SIGTERM or a kill continues with ``--resume`` where it was and ends with the same
bytes as an uninterrupted run.

It holds ``settings.json``, the fingerprint of everything that decides the numbers (the
checkpoint and the store by content, the split, head, inference options and column
statistics asked for); ``pass.npz``, how many windows the model pass has scored with the
per-track sums of Pearson R and R² over them (saved at a batch's end, every
:data:`SAVE_SECONDS`); ``window_sums.npy``, each window's per-track sum of targets (for
``tracks.png``); the column statistics finished (``columns-*.npy``: each specificity
class, the rank and peak rows of the tracks done); and, with ``--specificity``,
``--rank`` or ``--peaks``, the claim on the ``.columns-*`` folder that keeps the
predictions and targets written so far (:mod:`crossreg.evaluate.scratch`). A resume with
other settings is refused, naming each that differs, and so is one of ``--specificity``
whose classes an earlier crossreg formed otherwise; without ``--resume`` a left-over
checkpoint is refused, as ``crossreg sad`` refuses its ``OUT.partial/``.
"""

from __future__ import annotations

import contextlib
import dataclasses
import errno
import json
import logging
import os
import shutil
import time
import zipfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from crossreg.errors import CommandError, Interrupted
from crossreg.evaluate.kept import reopen
from crossreg.evaluate.scratch import claimed_folder
from crossreg.evaluate.spill import CLASS_SCHEME, OLD_CLASSES
from crossreg.io.atomic import atomic_write
from crossreg.io.changes import Option, changes
from crossreg.io.disk_sync import fsync
from crossreg.io.folder_lock import lock_folder
from crossreg.io.identity import IDENTITY_RULE, OLD_RULE
from crossreg.io.space import SpaceError, allocated_memmap
from crossreg.io.write_errors import OutputError, output_error
from crossreg.model.checkpoint_info import checkpoint_identity
from crossreg.step_defaults import INFERENCE_OPTIONS
from crossreg.train.store_identity import fingerprint_differences, store_fingerprint

if TYPE_CHECKING:  # torch is imported only by the model pass, after the checks
    from crossreg.data.store import DataStore
    from crossreg.evaluate.spill import ColumnOptions, ColumnSpill
    from crossreg.model.inference import InferenceOptions
    from crossreg.model.metrics import TrackMetrics

log = logging.getLogger("crossreg")

CHECKPOINT = ".partial"
SETTINGS_FILE = "settings.json"
PASS_FILE = "pass.npz"
WINDOW_SUMS = "window_sums.npy"
#: Seconds between two saves of the model pass: a stop loses at most about this much.
SAVE_SECONDS = 60.0


def checkpoint_dir(out: str | os.PathLike[str]) -> Path:
    """``OUT/.partial/``: the checkpoint of an evaluation being computed."""
    return Path(out) / CHECKPOINT


def refuse_checkpoint(out: str | os.PathLike[str], *, resume: bool = False) -> None:
    """Stop when another evaluate is working in `out`'s checkpoint (before any work: it
    is told to wait), or, without `resume`, when an interrupted run left it."""
    folder = checkpoint_dir(out)
    if not folder.exists():
        return
    held = lock_folder(folder)
    if held is None and folder.is_dir():
        raise in_use(folder)
    if held is not None:
        os.close(held)
    if not resume:
        raise FileExistsError(
            f"{folder} is left from an interrupted run: rerun with --resume to continue it "
            "(same model, store, split, head, inference options and column statistics), or "
            f"delete {folder} to start again"
        )


def in_use(folder: Path) -> CommandError:
    """The error for a checkpoint `folder` that another evaluate holds (works in)."""
    return CommandError(
        f"{folder} is in use by another evaluate into {folder.parent}; wait for it to end"
    )


def evaluation_settings(
    model_dir: str | os.PathLike[str],
    store: DataStore,
    split: str,
    head: str,
    options: InferenceOptions,
    columns: ColumnOptions,
    device: str,
) -> dict[str, Any]:
    """What decides an evaluation's numbers, as JSON values: the checkpoint and the store
    by content (a copy at another path is the same), the split, the head, the inference
    options (the batch size too: it decides the batches, whose predictions may differ in
    their last bits; as device, the kind the model runs on, `device`: ``auto`` resolved,
    so a resume where ``auto`` picks another kind is refused, and one naming the kind
    ``auto`` picked before is not) and the column statistics; with ``--specificity``,
    how its classes are formed (:data:`~crossreg.evaluate.spill.CLASS_SCHEME`)."""
    data = {k: v for k, v in store_fingerprint(store).items() if k != "path"}
    settings: dict[str, Any] = {
        "identity": IDENTITY_RULE,
        "model": checkpoint_identity(model_dir),
        "data": data,
        "split": split,
        "genome": head,
        "options": dataclasses.asdict(options) | {"device": device},
        "columns": dataclasses.asdict(columns),
    }
    if columns.specificity:
        settings["classes"] = CLASS_SCHEME
    return json.loads(json.dumps(settings, sort_keys=True))


def differences(
    before: Mapping[str, Any], now: Mapping[str, Any], head_option: str = "--head"
) -> list[str]:
    """How the settings `now` differ from `before`, each named by its option
    (:func:`crossreg.io.changes.changes`: ``--rc off then, on now``; the head by
    `head_option`, its option as the user gave it; the inference options
    and column statistics one by one; ``--model`` by how its content differs, ``--data``
    by how the store differs); a checkpoint recorded before inputs were compared by
    content says only that, and so does one of ``--specificity`` whose classes an
    earlier crossreg formed (:func:`old_classes`)."""
    if before.get("identity") != now.get("identity"):
        return [OLD_RULE]
    if old_classes(before, now):
        return [OLD_CLASSES]
    before, now = ({k: v for k, v in r.items() if k != "classes"} for r in (before, now))
    old, new = before.get("data"), now.get("data")
    options = {**INFERENCE_OPTIONS, "genome": Option(head_option)}
    if not isinstance(old, dict) or not isinstance(new, dict) or old == new:
        return changes(before, now, options, nested=("options", "columns"))
    what = fingerprint_differences(old, new)
    old, new = ({k: v for k, v in record.items() if k != "data"} for record in (before, now))
    return [
        f"--data: not the store the run began with ({what}; 'there' is it)",
        *changes(old, new, options, nested=("options", "columns")),
    ]


def old_classes(before: Mapping[str, Any], now: Mapping[str, Any]) -> bool:
    """Whether the settings `before` and `now` both ask for ``--specificity`` but record
    other ways of forming its classes (`before` none: an earlier crossreg's)."""
    both = all(
        isinstance(r.get("columns"), dict) and r["columns"].get("specificity") is True
        for r in (before, now)
    )
    return both and before.get("classes") != now.get("classes")


@dataclass(frozen=True)
class Pass:
    """How far the model pass is: windows scored, and the metrics' sums and count over
    them (None before the first save)."""

    windows: int = 0
    sums: npt.NDArray[np.float64] | None = None
    count: int = 0


class Checkpoint:
    """``OUT/.partial/``: :meth:`open` it (locked while this process works in it), go on
    from :meth:`passed`, :meth:`save` the pass as it goes and keep the column statistics
    (:meth:`get`, :meth:`put`: a :class:`~crossreg.evaluate.spill.Kept`), and
    :meth:`remove` it once the outputs are written."""

    def __init__(self, out: str | os.PathLike[str]) -> None:
        self.root = checkpoint_dir(out)
        self._lock: int | None = None
        self._saved = time.monotonic()
        self.made_out = False  # whether OUT was made for the checkpoint

    def open(
        self, settings: Mapping[str, Any], *, resume: bool, head_option: str = "--head"
    ) -> None:
        """Start afresh (a left-over checkpoint is refused without `resume`), or with
        `resume` continue one left by a run with the same `settings` (refused, naming
        each that differs, when they are not: :func:`differences`, the head by
        `head_option`)."""
        record = self.root / SETTINGS_FILE
        if not resume:
            refuse_checkpoint(self.root.parent)
        elif record.is_file():
            self._hold()
            try:
                before = json.loads(record.read_text())
            except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
                raise ValueError(
                    f"--resume: {record} cannot be read ({err}); delete {self.root} to start again"
                ) from None
            if old_classes(before, settings):
                raise ValueError(
                    f"--resume: {self.root} cannot be continued: {OLD_CLASSES}, and its "
                    f"specificity results are kept by class number; delete {self.root} "
                    "to start again"
                )
            changed = differences(before, settings, head_option)
            if changed:
                raise ValueError(
                    f"--resume: {self.root} was left by a run with other settings "
                    f"({'; '.join(changed)}); resume with the options and inputs it began "
                    f"with, or delete {self.root} to start again"
                )
            log.info(
                "resuming %s: %d windows scored%s",
                self.root,
                self.passed().windows,
                "" if not self.kept() else f", {self.kept()} column statistics part(s) done",
            )
            return
        else:
            log.info("%s: no checkpoint to resume; starting from the beginning", self.root)
            shutil.rmtree(self.root, ignore_errors=True)
        self.made_out = not self.root.parent.exists()
        self.root.mkdir(parents=True)
        self._hold()
        with atomic_write(record) as handle:
            json.dump(settings, handle, indent=1, sort_keys=True)

    def _hold(self) -> None:
        """Lock the checkpoint for this process: one run at a time works in it."""
        self._lock = lock_folder(self.root)
        if self._lock is None:
            raise in_use(self.root)

    def close(self) -> None:
        """Let go of the lock (the checkpoint stays)."""
        if self._lock is not None:
            os.close(self._lock)
            self._lock = None

    def passed(self) -> Pass:
        """How far the model pass was saved."""
        path = self.root / PASS_FILE
        if not path.exists():
            return Pass()
        try:
            with np.load(path) as kept:
                return Pass(int(kept["windows"]), kept["sums"], int(kept["count"]))
        except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as err:
            raise CommandError(
                f"{path} cannot be read ({err}); delete {self.root} to start again"
            ) from None

    def window_sums(self, windows: int, tracks: int) -> np.memmap:
        """Each window's per-track sum of targets, float64 ``(windows, tracks)``: a
        memory map in the checkpoint, whose rows of the windows scored are kept (a kept
        file that is damaged is a :class:`~crossreg.errors.CommandError`). A new one takes
        its blocks on the disk first: a full disk is an
        :class:`~crossreg.io.write_errors.OutputError`, not a bus error in the pass."""
        path = self.root / WINDOW_SUMS
        shape = (windows, tracks)
        if self.passed().windows:
            fix = f"delete {self.root} to start again"
            return reopen(path, shape, np.dtype(np.float64), "sums of targets", fix)
        try:
            return allocated_memmap(path, np.float64, shape)
        except SpaceError as err:
            raise output_error(err, path) from None

    def save(
        self,
        windows: int,
        metrics: TrackMetrics,
        window_sums: np.memmap,
        spill: ColumnSpill | None,
        *,
        last: bool,
    ) -> None:
        """Keep the pass up to `windows` (a batch's end) when :data:`SAVE_SECONDS` have
        gone by since the last save, or it is the `last` batch: the window sums and the
        spill are written through to the disk before ``pass.npz`` counts them."""
        if not last and time.monotonic() - self._saved < SAVE_SECONDS:
            return
        window_sums.flush()
        fsync(self.root / WINDOW_SUMS)
        if spill is not None:
            spill.sync()
        sums, count = metrics.state()
        with atomic_write(self.root / PASS_FILE, "wb") as handle:
            np.savez(handle, windows=windows, sums=sums, count=count)
        self._saved = time.monotonic()

    def get(self, key: str) -> npt.NDArray | None:
        """The column statistics kept under `key` (:class:`~crossreg.evaluate.spill.Kept`)."""
        path = self.root / f"columns-{key}.npy"
        if not path.exists():
            return None
        try:
            return np.load(path)
        except (OSError, ValueError, EOFError) as err:  # not an input error: kept
            raise CommandError(
                f"{path} cannot be read ({err}); delete {self.root} to start again"
            ) from None

    def put(self, key: str, value: npt.NDArray) -> None:
        """Keep column statistics under `key`, whole or not at all."""
        with atomic_write(self.root / f"columns-{key}.npy", "wb") as handle:
            np.save(handle, value)

    def kept(self) -> int:
        """How many parts of the column statistics are kept."""
        return len(list(self.root.glob("columns-*.npy")))

    @contextlib.contextmanager
    def kept_when_stopped(self, windows: int) -> Iterator[None]:
        """Ctrl-C (or SIGTERM) within the block keeps the checkpoint for ``--resume``:
        :class:`~crossreg.errors.Interrupted` says how much of the run's `windows` it
        holds; so does the :class:`~crossreg.io.write_errors.OutputError` of a full disk, whose
        write left the previous save whole. An input error (a ValueError: NaN in the
        store or from the head) removes it, since a rerun must change the inputs and
        cannot resume."""
        try:
            yield
        except KeyboardInterrupt:
            raise Interrupted(f"{self._held(windows)}; rerun with --resume to continue") from None
        except OutputError as err:
            code = err.errno or errno.EIO
            raise OutputError(
                code,
                f"{os.strerror(code)} while writing it; free space there and rerun with "
                f"--resume to continue ({self._held(windows)})",
                err.filename,
            ) from err
        except ValueError:
            self.remove()
            raise

    def _held(self, windows: int) -> str:
        """How much of the run's `windows` the checkpoint holds, in words."""
        parts = self.kept()
        columns = f" and {parts} part(s) of the column statistics" if parts else ""
        return f"{self.passed().windows} of {windows} windows scored{columns} kept in {self.root}"

    def remove(self) -> None:
        """Delete the checkpoint, then the predictions and targets it kept (and OUT, when
        it was made for the checkpoint and holds nothing else). The checkpoint goes first:
        a stop while the folder's tens of GB are deleted leaves no checkpoint of a run
        whose work is done, only the rest of a folder no checkpoint claims, which the next
        evaluate using its scratch folder removes."""
        columns = claimed_folder(self.root) if self.root.is_dir() else None
        shutil.rmtree(self.root, ignore_errors=True)
        self.close()
        if columns is not None:
            try:
                shutil.rmtree(columns, ignore_errors=True)
            except KeyboardInterrupt:  # the work is done: what is left goes next time
                log.warning(
                    "stopped while removing %s, the predictions and targets no longer "
                    "needed; the next evaluate using %s removes what is left of it",
                    columns,
                    columns.parent,
                )
        if self.made_out:
            with contextlib.suppress(OSError):  # not empty: the outputs are in it
                self.root.parent.rmdir()
