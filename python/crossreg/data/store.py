"""The dataset store: one self-describing directory per genome.

Layout (rows of every array are windows: the train ones, then valid, then test, then any
other split label, genomic order within a split; ``dataset.json`` gives each split's rows):

- ``dataset.json``: genome, assembly, geometry, split row ranges, per-track statistics,
  options and crossreg version. Written last: a directory without it is not a dataset.
- ``targets.txt``: the targets table (track files as absolute paths).
- ``sequences.bed``: chrom, start, end, split of each window (input region).
- ``regions.bed``: the labelled regions that were tiled.
- ``sequences.npy``: ``(windows, seq_length)`` uint8 ASCII codes, uppercase.
- ``targets.npy``: ``(windows, bins, tracks)`` float16: one window is one contiguous read;
  with ``--compress-targets``, ``targets.rows`` and ``targets.offsets.npy`` instead
  (:mod:`crossreg.data.compressed`).
- ``masked.npy``: ``(windows, bins)`` bool, bins overlapping the blacklist/unmappable BEDs.

Written by :mod:`crossreg.data.build`.
"""

from __future__ import annotations

import json
import os
from functools import cached_property
from pathlib import Path

import numpy as np
import numpy.typing as npt

from crossreg.data.compressed import CompressedRows
from crossreg.io.bed import Interval, read_bed
from crossreg.io.targets import TargetsTable, read_targets

STORE_FORMAT = "crossreg-dataset"
FORMAT_VERSION = 1
METADATA = "dataset.json"
SHARD_FORMAT = "crossreg-dataset-shard"
SHARD_METADATA = "shard.json"


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
        if not meta.exists():
            raise ValueError(
                f"{self.path} is not a finished crossreg dataset (no {METADATA}); build it with "
                "`crossreg data`"
            )
        with open(meta) as handle:
            self.metadata: dict = json.load(handle)
        if self.metadata.get("format") != STORE_FORMAT:
            raise ValueError(f"{meta}: not a crossreg dataset description")
        if self.metadata.get("format_version", 0) > FORMAT_VERSION:
            raise ValueError(
                f"{meta}: format version {self.metadata['format_version']} is newer than this "
                f"crossreg reads ({FORMAT_VERSION}); upgrade crossreg"
            )

    def __repr__(self) -> str:
        counts = ", ".join(f"{k} {v['count']}" for k, v in self.splits.items())
        return f"DataStore({str(self.path)!r}, {self.genome}, {self.num_targets} tracks, {counts})"

    @property
    def genome(self) -> str:
        """The genome's name (e.g. ``human``)."""
        return self.metadata["genome"]

    @property
    def seq_length(self) -> int:
        """Input window length in bp."""
        return self.metadata["seq_length"]

    @property
    def pool_width(self) -> int:
        """Bin width in bp."""
        return self.metadata["pool_width"]

    @property
    def target_length(self) -> int:
        """Target bins per window."""
        return self.metadata["target_length"]

    @property
    def num_targets(self) -> int:
        """Tracks per bin."""
        return self.metadata["num_targets"]

    @property
    def splits(self) -> dict[str, dict[str, int]]:
        """Row range (``offset``, ``count``) of each split."""
        return self.metadata["splits"]

    @cached_property
    def table(self) -> TargetsTable:
        """The targets table of the tracks, in column order."""
        return read_targets(self.path / "targets.txt")

    @cached_property
    def _sequences(self) -> npt.NDArray[np.uint8]:
        return np.load(self.path / "sequences.npy", mmap_mode="r")

    @cached_property
    def _targets(self) -> npt.NDArray[np.float16]:
        return np.load(self.path / "targets.npy", mmap_mode="r")

    @property
    def compressed(self) -> bool:
        """Whether the targets are stored compressed (``crossreg data --compress-targets``)."""
        return (self.metadata.get("options") or {}).get("compress_targets") is not None

    @cached_property
    def _masked(self) -> npt.NDArray[np.bool_]:
        return np.load(self.path / "masked.npy", mmap_mode="r")

    def _rows(self, split: str) -> slice:
        if split not in self.splits:
            raise ValueError(f"{self.path}: no split '{split}' (it has {', '.join(self.splits)})")
        r = self.splits[split]
        return slice(r["offset"], r["offset"] + r["count"])

    def sequences(self, split: str) -> npt.NDArray[np.uint8]:
        """``(n, seq_length)`` uint8 ASCII codes of the split's windows (memory-mapped)."""
        return self._sequences[self._rows(split)]

    def targets(self, split: str) -> npt.NDArray[np.float16] | CompressedRows:
        """``(n, target_length, num_targets)`` float16 targets (memory-mapped), or in a store
        of compressed targets, a :class:`~crossreg.data.compressed.CompressedRows` that
        decodes the windows it is indexed by."""
        if self.compressed:
            return CompressedRows(
                self.path, self.target_length, self.num_targets, self._rows(split)
            )
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
        return self.metadata["tracks"]
