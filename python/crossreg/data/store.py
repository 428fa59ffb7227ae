"""The dataset store: one self-describing directory per genome.

Layout (rows of every array are windows: the train ones, then valid, then test, then any
other split label, genomic order within a split; ``dataset.json`` gives each split's rows):

- ``dataset.json``: genome, assembly, the genome's chromosome sizes, geometry, split row
  ranges, per-track statistics, options and crossreg version. Written last: a directory
  without it is not a dataset.
- ``targets.txt``: the targets table (track files as absolute paths).
- ``sequences.bed``: chrom, start, end, split of each window (input region).
- ``regions.bed``: the labelled regions that were tiled.
- ``sequences.npy``: ``(windows, seq_length)`` uint8 ASCII codes, uppercase.
- ``targets.npy``: ``(windows, bins, tracks)`` float16: one window is one contiguous read;
  with ``--compress-targets``, ``targets.rows`` and ``targets.offsets.npy`` instead
  (:mod:`crossreg.data.compressed`; each window's CRC32 is checked from format version 2
  on, version 1 stores' windows decode unchecked).
- ``masked.npy``: ``(windows, bins)`` bool, bins overlapping the blacklist/unmappable BEDs.

Written by :mod:`crossreg.data.build`.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from crossreg.data.compressed import CompressedRows
from crossreg.data.npy import REBUILD, load_npy
from crossreg.io.bed import Interval, read_bed
from crossreg.io.targets import TargetsTable
from crossreg.io.targets_read import read_targets

STORE_FORMAT = "crossreg-dataset"
#: The newest version this crossreg reads. 2: each window of compressed targets ends with
#: a CRC32 (a version 1 compressed store still reads, its windows unchecked). Plain stores
#: are alike in both and are written as version 1, so that older crossreg reads them.
FORMAT_VERSION = 2
#: The first version whose compressed windows carry a CRC32.
CHECKSUM_VERSION = 2


def store_version(compress_targets: int | None) -> int:
    """The format version of a store written with targets compressed at level
    `compress_targets` (None: plain): the oldest that describes it."""
    return CHECKSUM_VERSION if compress_targets is not None else 1


METADATA = "dataset.json"
#: A model checkpoint's config (:data:`crossreg.model.checkpoint_info.CONFIG_NAME`), named
#: when a checkpoint is given where a store is expected.
CHECKPOINT_CONFIG = "config.json"
SHARD_FORMAT = "crossreg-dataset-shard"
SHARD_METADATA = "shard.json"
#: The version of a shard of the tracks (plain targets, whatever the store will be).
SHARD_VERSION = 1

#: Keys of ``dataset.json`` every store has: their types.
_REQUIRED: dict[str, type | tuple[type, ...]] = {
    "format": str,
    "genome": str,
    "splits": dict,
}
#: Keys a finished store has (checked for type where present, required when read).
_TYPED: dict[str, type | tuple[type, ...]] = {
    "format_version": int,
    "seq_length": int,
    "pool_width": int,
    "target_length": int,
    "num_targets": int,
    "num_windows": int,
    "crop_bp": int,
    "crop_bins": int,
    "options": (dict, type(None)),
    "tracks": list,
    "chrom_sizes": dict,
}


def _is(value: object, kind: type | tuple[type, ...]) -> bool:
    """`value` is of `kind`, a bool counting as no int."""
    if isinstance(value, bool) and not (isinstance(kind, tuple) and bool in kind):
        return kind is bool
    return isinstance(value, kind)


def _kind(kind: type | tuple[type, ...]) -> str:
    kinds = kind if isinstance(kind, tuple) else (kind,)
    names = {str: "text", int: "an integer", dict: "an object", list: "a list"}
    return " or ".join("null" if k is type(None) else names.get(k, k.__name__) for k in kinds)


def load_rows(path: Path, rows: int, tail: tuple[int, ...] | None = None) -> np.ndarray:
    """The ``.npy`` array at `path`, memory-mapped, with at least `rows` rows (and rows of
    shape `tail`): a ValueError naming the file where it is cut, not an array or too short
    (a missing file is a FileNotFoundError)."""
    array = load_npy(path, mmap_mode="r")
    check_rows(path, array.shape, rows, tail)
    return array


def check_rows(
    path: Path, shape: tuple[int, ...], rows: int, tail: tuple[int, ...] | None = None
) -> None:
    """Stop unless an array of `shape` read from `path` has at least `rows` rows (and rows
    of shape `tail`): a ValueError naming the file and the fix."""
    if not shape or shape[0] < rows:
        have = f"{shape[0]} rows" if shape else "no rows"
        raise ValueError(f"{path}: {have}, fewer than the store's {rows} windows; {REBUILD}")
    if tail is not None and shape[1:] != tail:
        raise ValueError(
            f"{path}: rows of shape {shape[1:]}, not {tail} as {METADATA} says; {REBUILD}"
        )


def _read_metadata(meta: Path) -> dict[str, Any]:
    """``dataset.json`` at `meta`, checked: a ValueError naming the file and the key for a
    description that is not JSON, not an object, or has a key missing or of the wrong type."""
    try:
        with open(meta, encoding="utf-8") as handle:
            data = json.load(handle)
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise ValueError(f"{meta}: not a crossreg dataset description ({err}); {REBUILD}") from err
    if not isinstance(data, dict):
        raise ValueError(
            f"{meta}: not a crossreg dataset description (a JSON {type(data).__name__}, not an "
            f"object); {REBUILD}"
        )
    if data.get("format") != STORE_FORMAT:
        raise ValueError(f"{meta}: not a crossreg dataset description")
    for key in _REQUIRED:
        if key not in data:
            raise ValueError(f"{meta}: no '{key}'; {REBUILD}")
    for key, kind in {**_REQUIRED, **_TYPED}.items():
        if key in data and not _is(data[key], kind):
            raise ValueError(
                f"{meta}: '{key}' is {json.dumps(data[key])[:40]}, not {_kind(kind)}; {REBUILD}"
            )
    if data.get("format_version", 0) > FORMAT_VERSION:
        raise ValueError(
            f"{meta}: format version {data['format_version']} is newer than this "
            f"crossreg reads ({FORMAT_VERSION}); upgrade crossreg"
        )
    total = data.get("num_windows")
    for name, split in data["splits"].items():
        if not isinstance(split, dict):
            raise ValueError(f"{meta}: split '{name}' is not an object; {REBUILD}")
        for key in ("offset", "count"):
            if key not in split:
                raise ValueError(f"{meta}: split '{name}' has no '{key}'; {REBUILD}")
            if not _is(split[key], int) or split[key] < 0:
                raise ValueError(
                    f"{meta}: split '{name}' has '{key}' {json.dumps(split[key])[:40]}, not a "
                    f"count of windows; {REBUILD}"
                )
        if total is not None and split["offset"] + split["count"] > total:
            raise ValueError(
                f"{meta}: split '{name}' (rows {split['offset']} to "
                f"{split['offset'] + split['count']}) runs past the store's {total} windows; "
                f"{REBUILD}"
            )
    return data


class DataStore:
    """A finished dataset store, opened read-only (arrays are memory-mapped)."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        meta = self.path / METADATA
        if not meta.exists() and (self.path / SHARD_METADATA).exists():
            raise ValueError(
                f"{self.path} is one shard of a `crossreg data --tracks i/n` build, not a "
                "dataset; join all the shards with `crossreg data-merge --out STORE SHARD...`"
            )
        if not meta.exists() and (self.path / CHECKPOINT_CONFIG).is_file():
            raise ValueError(
                f"{self.path} is a model checkpoint ({CHECKPOINT_CONFIG}), not a dataset: give "
                "it as the model (--model) and a store `crossreg data` built as the dataset"
            )
        if not meta.exists():
            raise ValueError(
                f"{self.path} is not a finished crossreg dataset (no {METADATA}); build it with "
                "`crossreg data`"
            )
        self.metadata: dict[str, Any] = _read_metadata(meta)

    def __repr__(self) -> str:
        counts = ", ".join(f"{k} {v}" for k, v in self.window_counts.items())
        return f"DataStore({str(self.path)!r}, {self.genome}, {self.num_targets} tracks, {counts})"

    def _key(self, key: str) -> Any:
        """``dataset.json``'s `key` (its type checked at open), a ValueError where missing."""
        if key not in self.metadata:
            raise ValueError(f"{self.path / METADATA}: no '{key}'; {REBUILD}")
        return self.metadata[key]

    @property
    def num_windows(self) -> int:
        """Windows (rows of every array): ``num_windows``, or where an older description
        lacks it, the end of the last split."""
        if "num_windows" in self.metadata:
            return int(self.metadata["num_windows"])
        return max((r["offset"] + r["count"] for r in self.splits.values()), default=0)

    def _load(self, name: str) -> np.ndarray:
        """``name`` memory-mapped, a ValueError naming it where it does not read or holds
        fewer than :attr:`num_windows` rows (or rows not of :meth:`row_shape`)."""
        return load_rows(self.path / name, self.num_windows, self.row_shape(name))

    def row_shape(self, name: str) -> tuple[int, ...] | None:
        """The shape of one row of the store's array `name` (``sequences.npy``,
        ``targets.npy``, ``masked.npy``) as ``dataset.json`` describes it; None where an
        older description lacks the sizes."""
        keys = {
            "sequences.npy": ("seq_length",),
            "targets.npy": ("target_length", "num_targets"),
            "masked.npy": ("target_length",),
        }[name]
        if not all(key in self.metadata for key in keys):
            return None
        return tuple(int(self.metadata[key]) for key in keys)

    def check_array(self, name: str, shape: tuple[int, ...]) -> None:
        """Stop unless an array of `shape` read from the store's file `name` holds every
        window in rows of :meth:`row_shape` (a ValueError naming the file and the fix)."""
        check_rows(self.path / name, shape, self.num_windows, self.row_shape(name))

    @property
    def genome(self) -> str:
        """The genome's name (e.g. ``human``)."""
        return self._key("genome")

    @property
    def chrom_sizes(self) -> dict[str, int] | None:
        """The genome's chromosome lengths in bp (its FASTA's, name → length, in file
        order), or None for a store built before ``dataset.json`` recorded them."""
        sizes = self.metadata.get("chrom_sizes")
        if sizes is None:
            return None
        if not all(_is(v, int) and v > 0 for v in sizes.values()):
            raise ValueError(
                f"{self.path / METADATA}: 'chrom_sizes' holds a length that is not a positive "
                f"integer; {REBUILD}"
            )
        return dict(sizes)

    @property
    def seq_length(self) -> int:
        """Input window length in bp."""
        return self._key("seq_length")

    @property
    def pool_width(self) -> int:
        """Bin width in bp."""
        return self._key("pool_width")

    @property
    def target_length(self) -> int:
        """Target bins per window."""
        return self._key("target_length")

    @property
    def num_targets(self) -> int:
        """Tracks per bin."""
        return self._key("num_targets")

    @property
    def splits(self) -> dict[str, dict[str, int]]:
        """Where each split's windows lie in the store's arrays, by split name, in row
        order: ``{"train": {"offset": 0, "count": 1520}, "valid": {"offset": 1520, ...}}``,
        ``offset`` the split's first row and ``count`` its windows. Its keys are the split
        names; :attr:`window_counts` gives the windows alone, :meth:`windows` where they
        lie on the genome."""
        return self._key("splits")

    @property
    def window_counts(self) -> dict[str, int]:
        """The number of windows of each split, by split name, in row order:
        ``{"train": 1520, "valid": 200, "test": 200}`` (a split of none is listed with 0)."""
        return {name: rows["count"] for name, rows in self.splits.items()}

    @cached_property
    def table(self) -> TargetsTable:
        """The targets table of the tracks, in column order."""
        return read_targets(self.path / "targets.txt")

    @cached_property
    def _sequences(self) -> npt.NDArray[np.uint8]:
        return self._load("sequences.npy")

    @cached_property
    def _targets(self) -> npt.NDArray[np.float16]:
        return self._load("targets.npy")

    @property
    def compressed(self) -> bool:
        """Whether the targets are stored compressed (``crossreg data --compress-targets``)."""
        return (self.metadata.get("options") or {}).get("compress_targets") is not None

    @property
    def format_version(self) -> int:
        """The store format version it was written in (1 where ``dataset.json`` lacks it)."""
        return int(self.metadata.get("format_version", 1))

    @cached_property
    def _compressed_rows(self) -> CompressedRows:
        checked = self.format_version >= CHECKSUM_VERSION
        rows = CompressedRows(self.path, self.target_length, self.num_targets, checked=checked)
        if len(rows) < self.num_windows:
            raise ValueError(
                f"{rows.offsets_path}: {len(rows)} windows, fewer than the {self.num_windows} "
                f"of {self.path / METADATA}; {REBUILD}"
            )
        return rows

    @cached_property
    def _masked(self) -> npt.NDArray[np.bool_]:
        return self._load("masked.npy")

    def _rows(self, split: str) -> slice:
        if split not in self.splits:
            raise ValueError(f"{self.path}: no split '{split}' (it has {', '.join(self.splits)})")
        r = self.splits[split]
        return slice(r["offset"], r["offset"] + r["count"])

    def rows_of(self, splits: Sequence[str]) -> npt.NDArray[np.int64]:
        """The store's row numbers of the windows of `splits`, split after split."""
        ranges = [self._rows(split) for split in splits]
        return np.concatenate([np.arange(r.start, r.stop, dtype=np.int64) for r in ranges])

    def all_targets(self) -> npt.NDArray[np.float16] | CompressedRows:
        """Every window's targets in row order, as :meth:`targets` gives a split's (for
        rows picked across splits, :meth:`rows_of`)."""
        if self.compressed:
            return self._compressed_rows.view(slice(0, self.num_windows))
        return self._targets[: self.num_windows]

    def sequences(self, split: str) -> npt.NDArray[np.uint8]:
        """``(n, seq_length)`` uint8 ASCII codes of the split's windows (memory-mapped)."""
        return self._sequences[self._rows(split)]

    def targets(self, split: str) -> npt.NDArray[np.float16] | CompressedRows:
        """``(n, target_length, num_targets)`` float16 targets (memory-mapped), or in a store
        of compressed targets, a :class:`~crossreg.data.compressed.CompressedRows` that
        decodes the windows it is indexed by."""
        if self.compressed:
            return self._compressed_rows.view(self._rows(split))
        return self._targets[self._rows(split)]

    def masked(self, split: str) -> npt.NDArray[np.bool_]:
        """``(n, target_length)`` bool: bins overlapping the blacklist/unmappable BEDs."""
        return self._masked[self._rows(split)]

    def windows(self, split: str) -> list[Interval]:
        """The split's windows (input regions) in row order."""
        rows = self._rows(split)
        return read_bed(self.path / "sequences.bed")[rows]

    def track_stats(self) -> list[dict]:
        """Per-track statistics recorded at build time (fill value, means, clipped share)."""
        return self._key("tracks")
