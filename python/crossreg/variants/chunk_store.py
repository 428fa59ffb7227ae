"""``OUT.partial/``: the finished chunks of a run (SAD, ISM, BigWig predictions) kept on
disk, so that a run stopped at any point continues with ``resume``.

Each finished chunk is a directory of ``.npy`` files in ``OUT.partial/`` (:class:`ChunkStore`),
renamed into place before ``OUT.partial/progress.json`` counts it, so a run killed at any
point — even mid-chunk — continues from its last finished chunk. When every chunk is
done the output is written from the chunks in one pass and ``OUT.partial/`` is removed:
the disk holds the scores twice for the length of that copy.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import logging
import os
import shutil
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from crossreg.errors import Interrupted
from crossreg.io.atomic import atomic_write, output_error, unnamed_write_error
from crossreg.io.identity import OLD_RULE, old_store_refusal, settings_hash
from crossreg.io.partial import (
    CHUNK_NAME,
    PROGRESS_FILE,
    SETTINGS_FILE,
    check_place,
    is_store_entry,
    left_over,
    make_fresh,
    remove,
)
from crossreg.io.space import allocated_memmap
from crossreg.variants.alleles import Allele
from crossreg.variants.sad_settings import SAD_INPUTS, setting_changes
from crossreg.variants.shard_layout import without_labels

log = logging.getLogger("crossreg")

FLOAT16_MAX = float(np.finfo(np.float16).max)  # stats are clipped to it before float16


def clip_float16(values: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
    """`values` clipped to the float16 range (as Basenji does before storing)."""
    return np.clip(values, -FLOAT16_MAX, FLOAT16_MAX)


def partial_dir(out: Path) -> Path:
    """``OUT.partial/``: the finished chunks of a run being written, and its progress."""
    return out.with_name(out.name + ".partial")


def refuse_partial(out: Path, inputs: str = SAD_INPUTS, output: Path | None = None) -> None:
    """Stop when an interrupted run left ``OUT.partial/`` and ``resume`` was not asked;
    `inputs` names what a resumed run must share with it. ``OUT.partial`` may be a link
    to a folder elsewhere (:mod:`crossreg.io.partial`): one to an empty folder is not
    left over, one to a folder holding other files, or to `output` (what a shard `out`
    ends in), is refused."""
    partial = partial_dir(out)
    check_place(partial, output)
    if left_over(partial):
        raise FileExistsError(
            f"{partial} is left from an interrupted run: rerun with --resume to continue it "
            f"(same {inputs}), or delete {partial.name} to start again"
        )


@dataclass(frozen=True)
class StoreState:
    """How far a run is: records, alleles and chunks finished, gene rows written, and the
    devices that scored the chunks, in the order they first did (a run resumed on another
    node has several; :func:`~crossreg.model.inference.device_label` names each)."""

    settings: str
    records_done: int = 0
    alleles_done: int = 0
    chunks_done: int = 0
    gene_rows: int = 0
    devices: tuple[str, ...] = ()


class ChunkWriter:
    """The files of one chunk being written: each statistic's rows (memory-mapped
    ``.npy`` of `dtype`, float16 values clipped to its range), the alleles' fields, and
    the chunk's gene-table rows."""

    def __init__(self, directory: Path, rows: int, dtype: str) -> None:
        self.directory, self.rows, self.dtype = directory, rows, np.dtype(dtype)
        self.row = 0
        self.arrays: dict[str, np.memmap] = {}
        self._genes: Any = None

    def add(self, batch: Mapping[str, npt.NDArray[np.float32]], stats: Sequence[str]) -> int:
        """Append a scored batch's rows of each of `stats`; returns how many rows."""
        size = len(batch[stats[0]])
        for name in stats:
            values = batch[name]
            if self.dtype == np.float16:
                values = clip_float16(values)
            if name not in self.arrays:
                self.arrays[name] = allocated_memmap(
                    self.directory / f"{name}.npy", self.dtype, (self.rows, *values.shape[1:])
                )
            self.arrays[name][self.row : self.row + size] = values
        self.row += size
        return size

    def genes(self) -> Any:
        """The chunk's gene-table rows (a text file, opened on first use)."""
        if self._genes is None:
            self._genes = open(self.directory / "genes.tsv", "w")  # noqa: SIM115
        return self._genes

    def finish(self, alleles: Sequence[Allele] | None = None) -> None:
        """Check every row was written, save the alleles' fields (SAD's; a store whose rows
        are known from its inputs, as ISM's sites are, gives none) and close the files."""
        if self.row != self.rows or (alleles is not None and len(alleles) != self.rows):
            raise RuntimeError(f"expected {self.rows} rows in a chunk, got {self.row}")
        if alleles is not None:
            self._save_fields(alleles)
        for written in self.arrays.values():
            written.flush()
        self.arrays.clear()
        if self._genes is not None:
            self._genes.close()

    def _save_fields(self, alleles: Sequence[Allele]) -> None:
        fields = {
            "snp": [a.label for a in alleles],
            "chr": [a.variant.chrom for a in alleles],
            "ref_allele": [a.variant.ref for a in alleles],
            "alt_allele": [a.alt for a in alleles],
        }
        for name, values in fields.items():
            np.save(self.directory / f"{name}.npy", np.array(values, dtype="S"))
        positions = np.array([a.variant.pos + 1 for a in alleles], dtype=np.uint32)
        np.save(self.directory / "pos.npy", positions)


class ChunkStore:
    """``OUT.partial/`` (or the folder it links to, :mod:`crossreg.io.partial`): one
    directory per finished chunk and ``progress.json``; `unit`
    names what the chunks count (alleles for SAD) in the log; `device`, where given, is
    the device this process scores on (:func:`~crossreg.model.inference.device_label`),
    counted among the state's devices with each chunk it finishes; `output`, where given,
    is what the chunks of a shard `out` end in (a link into it is refused,
    :func:`crossreg.io.partial.check_place`); `changes` names the settings that differ
    from those the store was left by
    (:func:`~crossreg.variants.sad_settings.setting_changes`, SAD's options)."""

    def __init__(
        self,
        out: Path,
        unit: str = "alleles",
        device: str | None = None,
        output: Path | None = None,
        changes: Callable[[Mapping[str, Any], Mapping[str, Any]], list[str]] = setting_changes,
    ) -> None:
        self.root = partial_dir(out)
        self.output = output
        self.progress_path = self.root / PROGRESS_FILE
        self.unit = unit
        self.device = device
        self.changes = changes

    def open(self, settings: Mapping[str, object], *, resume: bool, total: int) -> StoreState:
        """Start afresh, or with `resume` continue a store left by the same `settings`
        (kept in ``settings.json``, so that other ones are named), whatever either gives of
        :data:`~crossreg.variants.shard_layout.LABEL_SETTINGS` (``--variants-genome``): the
        chunks' scores do not depend on it, and the output records this run's.
        ``OUT.partial`` may be a link (:func:`crossreg.io.partial.check_place`)."""
        check_place(self.root, self.output)
        settings = without_labels(settings)
        key = settings_hash(settings)
        if resume and self.progress_path.exists():
            saved = self.saved()
            if saved.settings != key:
                changes = self._changes(settings)
                if changes == OLD_RULE:
                    raise ValueError(old_store_refusal(self.root))
                raise ValueError(
                    f"{self.root}: left by a run with other settings ({changes}); "
                    "resume with the options and inputs it started with, or delete it to start "
                    "again"
                )
            done = self.chunk_names(saved)
            for stale in self.root.iterdir():  # a chunk begun but not counted
                if stale.is_dir() and is_store_entry(stale.name) and stale.name not in done:
                    shutil.rmtree(stale)
            log.info(
                "resuming %s after chunk %d: %d/%d %s done",
                self.root,
                saved.chunks_done,
                saved.alleles_done,
                total,
                self.unit,
            )
            return saved
        if resume:
            log.info("%s: no finished chunk to resume; starting from the beginning", self.root)
        make_fresh(self.root, self.output)
        with atomic_write(self.root / SETTINGS_FILE) as handle:
            json.dump(settings, handle, sort_keys=True, default=str)
        state = StoreState(key)
        self._save(state)
        return state

    def _changes(self, settings: Mapping[str, object]) -> str:
        """What differs between the settings the store was left by and `settings`, by
        option name (a store without ``settings.json`` says only that they differ)."""
        try:
            before = json.loads((self.root / SETTINGS_FILE).read_text())
        except (OSError, UnicodeDecodeError, json.JSONDecodeError):
            return "its inputs, head, options, tracks, shard or chunk size"
        now = json.loads(json.dumps(settings, sort_keys=True, default=str))
        return "; ".join(self.changes(before, now)) or "the recorded settings"

    def saved(self) -> StoreState:
        """The state of the last finished chunk, as ``progress.json`` records it (one of an
        earlier crossreg records no devices)."""
        saved = json.loads(self.progress_path.read_text())
        return StoreState(**saved | {"devices": tuple(saved.get("devices", ()))})

    def chunk_names(self, state: StoreState) -> list[str]:
        """The directory names of the finished chunks, in order."""
        return [CHUNK_NAME.format(k) for k in range(state.chunks_done)]

    @contextlib.contextmanager
    def chunk(self, state: StoreState, rows: int, dtype: str) -> Iterator[ChunkWriter]:
        """A writer for the next chunk; the chunk is in place only when the block ends. A
        full disk is an :class:`~crossreg.io.write_errors.OutputError` naming the store."""
        final = self.root / CHUNK_NAME.format(state.chunks_done)
        tmp = final.with_name(f".{final.name}.tmp")
        shutil.rmtree(tmp, ignore_errors=True)
        shutil.rmtree(final, ignore_errors=True)
        tmp.mkdir()
        try:
            yield ChunkWriter(tmp, rows, dtype)
            os.replace(tmp, final)
        except BaseException as err:
            shutil.rmtree(tmp, ignore_errors=True)
            unnamed = unnamed_write_error(err)
            if unnamed is not None:  # finished chunks stay for --resume
                raise output_error(unnamed, self.root) from err
            raise

    def commit(self, state: StoreState, records: int, alleles: int, gene_rows: int) -> StoreState:
        """Count one more finished chunk (after its directory is in place), and the store's
        device among those that scored."""
        devices = state.devices
        if self.device is not None and self.device not in devices:
            devices = (*devices, self.device)
        state = dataclasses.replace(
            state,
            records_done=state.records_done + records,
            alleles_done=state.alleles_done + alleles,
            chunks_done=state.chunks_done + 1,
            gene_rows=state.gene_rows + gene_rows,
            devices=devices,
        )
        self._save(state)
        return state

    def _save(self, state: StoreState) -> None:
        with atomic_write(self.progress_path) as handle:
            json.dump(dataclasses.asdict(state), handle)

    def parts(self, state: StoreState) -> list[dict[str, np.ndarray]]:
        """The finished chunks' arrays (memory-mapped), in order."""
        return [
            {path.stem: np.load(path, mmap_mode="r") for path in sorted(directory.glob("*.npy"))}
            for directory in (self.root / name for name in self.chunk_names(state))
        ]

    def gene_pieces(self, state: StoreState) -> list[Path]:
        """The finished chunks' gene-table rows, in order."""
        pieces = [self.root / name / "genes.tsv" for name in self.chunk_names(state)]
        return [piece for piece in pieces if piece.exists()]

    def interrupted(self, total: int) -> Interrupted:
        """The error of a run stopped with this store's finished chunks kept: how many of
        the run's `total` (in the store's unit) they hold, and how to continue."""
        return Interrupted(
            f"{self.saved().alleles_done} of {total} {self.unit} kept in {self.root}; "
            "rerun with --resume to continue"
        )

    def remove(self) -> None:
        """Delete the store once the output is written (:func:`crossreg.io.partial.remove`:
        for a link, its folder's contents)."""
        remove(self.root)


@contextlib.contextmanager
def kept_when_stopped(store: ChunkStore, total: int) -> Iterator[None]:
    """Ctrl-C (or SIGTERM, :mod:`crossreg.interrupts`) within the block keeps the finished
    chunks of `store` for ``--resume``: :class:`~crossreg.errors.Interrupted` says how
    many of the run's `total` (in the store's unit) they hold. An error removes the store
    when it holds none, so that a plain rerun may start."""
    try:
        yield
    except KeyboardInterrupt:
        raise store.interrupted(total) from None
    except Exception:
        if store.saved().alleles_done == 0:
            store.remove()
        raise
