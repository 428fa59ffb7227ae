"""Resuming an interrupted ``crossreg data`` build (``--resume``).

A build fills ``.<name>.partial`` beside its output
(:func:`crossreg.io.atomic_dir.atomic_directory`) and records there what it has finished, so
that an interrupt (Ctrl-C, SIGTERM, a node lost) costs only the chunk of tracks in flight:

- ``settings.json``: what makes the store's bytes (the inputs by content, the BigWigs by
  size and sampled blocks, the options: :mod:`crossreg.data.build_settings`) and the
  chunking, the tracks ``[first, stop)`` of each chunk file, which a resume keeps
  whatever its memory budget;
- ``progress.json`` (:data:`MARK`): whether ``sequences.npy`` is finished, and each
  finished chunk's file with its tracks' statistics; rewritten (atomically) after the file
  it counts is in place, so that a file it does not count is computed again. A work
  folder holding it is kept when the build stops, for ``--resume``.

A resume checks each counted file's header and size (a damaged one is computed again),
deletes anything else in the folder, and goes on: the store is the bytes an unbroken
build writes. Both records are deleted as the store is sealed.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

from crossreg.data.build_settings import differences, sized_files
from crossreg.data.npy import NpyRows
from crossreg.errors import Interrupted
from crossreg.io.atomic import atomic_path, atomic_write
from crossreg.io.atomic_dir import partial_path
from crossreg.io.disk_sync import flush_folder
from crossreg.io.folder_lock import lock_folder

log = logging.getLogger("crossreg")

SETTINGS = "settings.json"
#: The record of finished work; a work folder holding it is a build to resume.
MARK = "progress.json"
SEQUENCES = "sequences.npy"


def work_folder(out: Path) -> Path:
    """The hidden folder a build of `out` fills (through a symbolic link `out`, beside the
    folder it points to)."""
    return partial_path(out.resolve() if out.is_symlink() else out)


def check_left_over(out: Path, *, resume: bool, overwrite: bool) -> None:
    """Before any work: refuse `resume` and `overwrite` together, a `resume` with no
    interrupted build of `out` to continue, a build without either over one, and any
    build of `out` while another process builds it."""
    if resume and overwrite:
        raise ValueError("--resume and --overwrite exclude each other; choose one")
    work = work_folder(out)
    kept = (work / MARK).is_file()
    if kept:
        lock = lock_folder(work)
        if lock is None:
            raise ValueError(
                f"{out}: another crossreg process is building it now (its {work.name} is "
                "locked); wait for it to finish"
            )
        os.close(lock)
    if resume and not kept:
        raise ValueError(
            f"--resume: there is no interrupted build of {out} to continue ({work} holds "
            "none); start it without --resume"
        )
    if kept and not resume and not overwrite:
        raise ValueError(
            f"{out}: an interrupted build kept its finished work in {work}; rerun with "
            "--resume to continue it (the same inputs and options), or with --overwrite to "
            "start over"
        )


def replaced_before(out: Path) -> bool:
    """Whether the interrupted build of `out` was started with ``--overwrite`` (a resume
    replaces the store at `out` then too)."""
    return bool(_read(work_folder(out) / MARK).get("overwrite", False))


class BuildRecord:
    """The finished work of a build in its folder `work` (:mod:`crossreg.data.resume`)."""

    def __init__(
        self,
        work: Path,
        settings: Mapping[str, Any],
        overwrite: bool,
        files: Sequence[Sequence[str]] = (),
    ) -> None:
        self.work = work
        self.files = files
        self.settings = json.loads(json.dumps(settings))
        self.overwrite = overwrite
        self.sequences = False
        self.bounds: list[tuple[int, int]] | None = None
        self.chunks: dict[int, dict[str, Any]] = {}
        self.merged: dict[str, Any] | None = None

    @classmethod
    def open(
        cls,
        work: Path,
        settings: Mapping[str, Any],
        *,
        resume: bool,
        overwrite: bool,
        files: Sequence[Sequence[str]] = (),
    ) -> BuildRecord:
        """A fresh record (clearing the folder of an interrupted build, with `overwrite`),
        or with `resume` the one the interrupted build kept, its settings the same as
        `settings` (else a ValueError names the options that differ, a track's file by its
        path among `files`, each track's files); the build has checked both against the
        folder first (:func:`check_left_over`)."""
        record = cls(work, settings, overwrite, files)
        if resume:
            record._load()
        else:
            _clear(work, keep=())
            with atomic_write(work / SETTINGS) as handle:
                json.dump(record.settings, handle)
        return record

    def _load(self) -> None:
        """Take the kept build's progress, checked against this build's settings; files it
        does not count, or whose header or size is not what it wrote, are deleted."""
        before = _read(self.work / SETTINGS)
        chunking = before.pop("chunking", None)
        if sized_files(before):
            raise ValueError(
                f"{self.work}: kept by an earlier crossreg, which matched the tracks' BigWigs "
                "by their size alone, so the tracks it finished cannot be checked against "
                "the files' content; pass --overwrite to start the build over"
            )
        if before != self.settings:
            changes = (
                "; ".join(differences(before, self.settings, self.files)) or "the recorded settings"
            )
            raise ValueError(
                f"{self.work}: kept by a build with other settings ({changes}); resume with "
                "the inputs and options it started with, or pass --overwrite to start over"
            )
        self.settings["chunking"] = chunking
        self.bounds = None if chunking is None else [(int(a), int(b)) for a, b in chunking]
        progress = _read(self.work / MARK)
        self.overwrite = bool(progress.get("overwrite", False))
        self.sequences = bool(progress["sequences"]) and _complete(self.work / SEQUENCES)
        self.chunks = {
            int(k): chunk
            for k, chunk in progress["chunks"].items()
            if _complete(self.work / chunk["file"])
        }
        merged = progress.get("merged")
        if merged is not None and _complete(self.work / merged["file"]):
            self.merged = merged
        kept = [SETTINGS, MARK, *(chunk["file"] for chunk in self.chunks.values())]
        if self.sequences:
            kept.append(SEQUENCES)
        if self.merged is not None:
            kept.append(self.merged["file"])
        _clear(self.work, keep=kept)
        log.info(
            "resuming the build in %s: %s, %s kept",
            self.work,
            "sequences kept" if self.sequences else "sequences to write",
            "the interleaved targets" if self.merged else f"{len(self.chunks)} chunk(s) of tracks",
        )

    def chunking(self, computed: Callable[[], list[tuple[int, int]]]) -> list[tuple[int, int]]:
        """The tracks ``[first, stop)`` of each chunk: those recorded, else `computed()`'s,
        recorded now."""
        if self.bounds is None:
            self.bounds = computed()
            self.settings["chunking"] = self.bounds
            with atomic_write(self.work / SETTINGS) as handle:
                json.dump(self.settings, handle)
        elif len(self.chunks) < len(self.bounds):
            log.info("the chunks of tracks are those the interrupted build recorded")
        return self.bounds

    @contextmanager
    def writing_sequences(self) -> Iterator[Path | None]:
        """A path to write ``sequences.npy`` at (None when it is finished), counted once
        the block ends."""
        if self.sequences:
            yield None
            return
        with atomic_path(self.work / SEQUENCES) as tmp:
            yield tmp
        self.sequences = True
        self._save()

    def done(self, k: int) -> list[dict] | None:
        """Chunk `k`'s tracks' statistics when it is finished, else None."""
        chunk = self.chunks.get(k)
        return None if chunk is None else chunk["stats"]

    @contextmanager
    def writing_chunk(self, k: int, path: Path, stats: Sequence[dict]) -> Iterator[Path]:
        """A path to write chunk `k` (of final name `path`) at; the chunk with its tracks'
        `stats` (filled in the block) is counted once the block ends."""
        with atomic_path(path) as tmp:
            yield tmp
        self.chunks[k] = {"file": path.name, "stats": list(stats)}
        self._save()

    def interleaved(self) -> list[dict] | None:
        """The tracks' statistics when the chunks are interleaved into their file, else
        None."""
        return None if self.merged is None else self.merged["stats"]

    @contextmanager
    def interleaving(self, path: Path, stats: Sequence[dict]) -> Iterator[Path]:
        """A path to interleave the chunks into (of final name `path`); counted, with the
        tracks' `stats`, once the block ends, and the chunk files deleted then (a stop
        before, while the interleaved file is flushed to the disk, keeps them)."""
        with atomic_path(path) as tmp:
            yield tmp
        files = [self.work / chunk["file"] for chunk in self.chunks.values()]
        self.merged = {"file": path.name, "stats": list(stats)}
        self.chunks.clear()
        self._save()
        for file in files:
            file.unlink(missing_ok=True)

    def _save(self) -> None:
        progress = {
            "overwrite": self.overwrite,
            "sequences": self.sequences,
            "chunks": {str(k): chunk for k, chunk in sorted(self.chunks.items())},
            "merged": self.merged,
        }
        with atomic_write(self.work / MARK) as handle:
            json.dump(progress, handle)

    def complete(self, replaced: Sequence[Path] = ()) -> None:
        """Flush the finished store's files to the disk while the records still keep the
        work (:func:`atomic_directory` flushes them again as it swaps the store in, once
        the records are gone: minutes for a large store, which a stop then lost whole),
        then delete the files of `replaced` (kept until now: the uncompressed targets,
        which the record counts)."""
        flush_folder(self.work)
        for path in replaced:
            path.unlink()

    def seal(self) -> None:
        """Delete the records: the store is complete (the work folder holds its files)."""
        (self.work / MARK).unlink(missing_ok=True)
        (self.work / SETTINGS).unlink(missing_ok=True)

    def interrupted(self, out: Path) -> Interrupted:
        """The interrupt of this build: what is kept, and how ``--resume`` continues it."""
        before = "is as it was" if os.path.lexists(out) else "was not made"
        if not (self.work / MARK).is_file():
            return Interrupted(
                f"nothing was written: {out} {before}; no work had finished, so rerun the command"
            )
        kept = [SEQUENCES] if self.sequences else []
        if self.merged is not None:
            kept.append("the interleaved targets")
        elif self.bounds is not None:
            kept.append(f"{len(self.chunks)} of {len(self.bounds)} chunk(s) of tracks")
        return Interrupted(
            f"{out} {before}; the finished work ({', '.join(kept)}) is kept in "
            f"{self.work}: rerun with --resume to continue the build, or with --overwrite "
            "to start over"
        )


@contextmanager
def resumable(
    out: Path,
    work: Path,
    settings: Mapping[str, Any],
    *,
    resume: bool,
    overwrite: bool,
    files: Sequence[Sequence[str]] = (),
) -> Iterator[BuildRecord]:
    """The record of the build of `out` in `work` (:meth:`BuildRecord.open`, with each
    track's `files` to name one that differs), its records deleted when the block
    succeeds. An interrupt (Ctrl-C, SIGTERM) is an :class:`~crossreg.errors.Interrupted`
    saying what is kept for ``--resume``; an error keeps the work once a chunk of tracks
    is finished (the cause fixed, ``--resume`` continues), else lets the folder go."""
    record = BuildRecord.open(work, settings, resume=resume, overwrite=overwrite, files=files)
    try:
        yield record
    except Interrupted:
        raise
    except KeyboardInterrupt:
        raise record.interrupted(out) from None
    except Exception:
        if record.chunks or record.merged:
            log.warning(
                "%s kept in %s: once the cause is fixed, rerun with --resume to continue the build",
                "the interleaved targets are"
                if record.merged
                else f"{len(record.chunks)} chunk(s) of tracks are",
                work,
            )
        else:
            (work / MARK).unlink(missing_ok=True)
        raise
    record.seal()


def _read(path: Path) -> dict[str, Any]:
    """A record of the build (``settings.json``, ``progress.json``); one that cannot be
    read is a ValueError naming it and the fix."""
    try:
        content = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise ValueError(
            f"{path}: the record of an interrupted build cannot be read ({err}); pass "
            "--overwrite to start the build over"
        ) from None
    if not isinstance(content, dict):
        raise ValueError(f"{path}: not a record of a build; pass --overwrite to start over")
    return content


def _complete(path: Path) -> bool:
    """Whether the ``.npy`` at `path` is whole: a readable header, and the bytes it
    announces (a damaged one is warned about)."""
    if not path.is_file():
        return False
    try:
        with NpyRows(path, "r") as rows:
            expected = rows.offset + int(np.prod(rows.shape)) * rows.dtype.itemsize
        whole = os.path.getsize(path) == expected
    except (OSError, ValueError):
        whole = False
    if not whole:
        log.warning("%s is damaged (cut short, or not a .npy file): computing it again", path)
    return whole


def _clear(work: Path, keep: Sequence[str]) -> None:
    """Delete every entry of `work` but those named in `keep`."""
    for entry in work.iterdir():
        if entry.name in keep:
            continue
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry)
        else:
            entry.unlink()
