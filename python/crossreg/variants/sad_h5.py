"""The SAD ``.h5`` in Basenji's layout: written from parts (:mod:`crossreg.variants.sad_blocks`),
and checked where it is read.

The ``.h5`` holds, in this order: each statistic ``(alleles, tracks)`` float16 (``REF``/
``ALT``: ``(alleles, bins, tracks)``), ``snp``, ``chr``, ``pos`` (1-based), ``ref_allele``,
``alt_allele``, ``target_ids``, ``target_labels``, ``percentiles`` and ``{stat}_pct``
(tracks × percentiles over all alleles), with the run's metadata as attributes
(``stats`` names the statistics in their order), written in sorted order. The allele
fields are fixed-width byte strings as Basenji writes them, gzip-compressed, so one long
allele does not pad the file. Percentiles are exact and take bounded memory whatever the
number of rows (:func:`crossreg.variants.sad_percentiles.float16_percentiles`).
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from crossreg.io.atomic import atomic_path
from crossreg.io.h5 import H5_FILE_BYTES, attrs_bytes, dataset_bytes, written_h5
from crossreg.io.targets import Target
from crossreg.progress import Progress, progress
from crossreg.variants.sad_blocks import (
    BLOCK_BYTES,
    Part,
    block_rows,
    part_rows,
    read_rows,
    row_bytes,
)
from crossreg.variants.sad_names import PROFILE_STATS, STAT_NAMES
from crossreg.variants.sad_percentiles import PERCENTILES, float16_percentiles

FIELD_CHUNK = 16_384  # rows per compressed chunk of the allele fields

ROW_FIELDS = ("snp", "chr", "pos", "ref_allele", "alt_allele")

SAD_REMEDY = "rerun crossreg sad to write it again"  # for an .h5 h5py cannot open


def rescore_hint(stat: str) -> str:
    """How to write a SAD file that holds `stat`."""
    return f"score the variants again with crossreg sad --stats naming {stat}"


def check_sad_datasets(path: Path, handle: Any, stat: str = "SAD") -> tuple[int, int]:
    """Stop unless `handle` (an open SAD ``.h5``) holds ``snp``, `stat` and ``target_ids``
    with `stat` shaped (len(snp), len(target_ids)) (3-D profiles: (len(snp), bins,
    len(target_ids))); the other row fields present must have len(snp) rows. Returns
    (alleles, tracks)."""
    missing = [k for k in ("snp", stat, "target_ids") if k not in handle]
    held = [k for k in STAT_NAMES if k in handle]
    if missing == [stat] and held:
        raise ValueError(f"{path}: holds {','.join(held)}, not {stat}; {rescore_hint(stat)}")
    if missing:
        raise ValueError(f"{path}: not a SAD file (no {', '.join(missing)} dataset)")
    rows = handle["snp"].shape[0] if handle["snp"].ndim == 1 else -1
    tracks = handle["target_ids"].shape[0] if handle["target_ids"].ndim == 1 else -1
    if rows < 0 or tracks < 0:
        raise ValueError(
            f"{path}: snp and target_ids must be 1-D lists (shapes {handle['snp'].shape}, "
            f"{handle['target_ids'].shape}); the file is damaged: rerun crossreg sad"
        )
    shape = tuple(handle[stat].shape)
    fits = (
        len(shape) == 2 and shape == (rows, tracks)
        if stat not in PROFILE_STATS
        else len(shape) == 3 and shape[0] == rows and shape[2] == tracks
    )
    if not fits:
        need = f"({rows}, {tracks})" if stat not in PROFILE_STATS else f"({rows}, bins, {tracks})"
        raise ValueError(
            f"{path}: dataset {stat} has shape {shape} but {rows} snp labels and {tracks} "
            f"target_ids need {need}; the file is damaged: rerun crossreg sad"
        )
    for name in (*ROW_FIELDS[1:], "target_labels"):
        if name not in handle:
            continue
        need_rows = tracks if name == "target_labels" else rows
        if handle[name].ndim != 1 or handle[name].shape[0] != need_rows:
            owner = "target_ids" if name == "target_labels" else "snp labels"
            raise ValueError(
                f"{path}: dataset {name} has shape {handle[name].shape} for {need_rows} "
                f"{owner}; the file is damaged: rerun crossreg sad"
            )
    return rows, tracks


def field_dtype(parts: Sequence[Part], name: str) -> np.dtype:
    """``pos``: uint32; the text fields: bytes as wide as the widest value (at least 1)."""
    if name == "pos":
        return np.dtype(np.uint32)
    width = max([1, *(np.asarray(part[name][:0]).dtype.itemsize for part in parts)])
    return np.dtype(f"S{width}")


def write_h5(
    path: Path,
    parts: Sequence[Part],
    stats: Sequence[str],
    target_ids: Sequence[str],
    target_labels: Sequence[str],
    attrs: Mapping[str, object],
) -> int:
    """Write the ``.h5`` at `path` (atomically) from `parts`; returns the allele count.
    Without alleles (a shard or VCF with none to score) every dataset has 0 rows and the
    ``{stat}_pct`` tables hold zeros."""
    n = sum(part_rows(part) for part in parts)
    n_tracks = len(target_ids)
    layouts = {name: score_layout(parts, name, n, n_tracks) for name in stats}
    layouts.update({name: field_layout(parts, name, n) for name in ROW_FIELDS})
    names = [np.array(list(values), dtype="S") for values in (target_ids, target_labels)]
    flat = [s for s in stats if s not in PROFILE_STATS]
    bound = (
        H5_FILE_BYTES
        + sum(layout.bytes() for layout in layouts.values())
        + sum(dataset_bytes(values.shape, values.dtype) for values in names)
        + (len(flat) + 1) * dataset_bytes((n_tracks, len(PERCENTILES)), np.float64)
        + attrs_bytes(attrs)
    )
    with atomic_path(path) as tmp, written_h5(tmp, bound) as handle:
        with progress(n * len(layouts), f"writing {path.name}", "rows") as meter:
            for name, layout in layouts.items():
                dataset = handle.create_dataset(
                    name,
                    shape=layout.shape,
                    dtype=layout.dtype,
                    chunks=layout.chunks,
                    fletcher32=layout.chunks is not None,
                    compression="gzip" if layout.compressed else None,
                )
                _copy(dataset, parts, name, n, meter)
        handle["target_ids"], handle["target_labels"] = names
        handle["percentiles"] = PERCENTILES
        write_percentiles(handle, flat, n, n_tracks)
        for key in sorted(attrs):
            handle.attrs[key] = attrs[key]
    return n


class Layout(NamedTuple):
    """How a dataset of the ``.h5`` is stored (the arguments of
    :func:`crossreg.io.h5.dataset_bytes`): chunked datasets carry checksums."""

    shape: tuple[int, ...]
    dtype: np.dtype
    chunks: tuple[int, ...] | None
    compressed: bool = False

    def bytes(self) -> int:
        """A bound on the bytes the dataset takes in the file."""
        return dataset_bytes(self.shape, self.dtype, self.chunks, compressed=self.compressed)


def score_layout(parts: Sequence[Part], name: str, n: int, n_tracks: int) -> Layout:
    """The statistic `name` of `n` alleles: float16, a chunk per allele for a profile
    statistic (``(n, bins, tracks)``), per 1,024 alleles otherwise."""
    shape: tuple[int, ...]
    chunks: tuple[int, ...]
    if name in PROFILE_STATS:
        bins = next((part[name].shape[1] for part in parts if part_rows(part)), 0)
        shape, chunks = (n, bins, n_tracks), (1, bins, n_tracks)
    else:
        shape, chunks = (n, n_tracks), (min(n, 1024), n_tracks)
    return Layout(shape, np.dtype(np.float16), chunks if n else None)


def field_layout(parts: Sequence[Part], name: str, n: int) -> Layout:
    """The allele field `name` (:data:`ROW_FIELDS`): compressed, since one long allele
    pads every row to its width."""
    chunks = (min(n, FIELD_CHUNK),) if n else None
    return Layout((n,), field_dtype(parts, name), chunks, compressed=n > 0)


def _copy(dataset: Any, parts: Sequence[Part], name: str, n: int, meter: Progress) -> None:
    step = block_rows(row_bytes(dataset))
    for start in range(0, n, step):
        stop = min(start + step, n)
        dataset[start:stop] = read_rows(parts, name, start, stop)
        meter.update(stop - start)


def write_percentiles(handle: Any, flat: Sequence[str], n: int, n_tracks: int) -> None:
    """``{stat}_pct`` (tracks × percentiles, float16) over all `n` rows of each statistic
    (:func:`crossreg.variants.sad_percentiles.float16_percentiles`)."""
    with progress(len(flat) * n_tracks if n else 0, "percentile tables", "tracks") as meter:
        for name in flat:
            shape = (n_tracks, len(PERCENTILES))
            pct = handle.create_dataset(f"{name}_pct", shape=shape, dtype="f2")
            if n:
                pct[:] = float16_percentiles(handle[name], n, block_bytes=BLOCK_BYTES, meter=meter)


def require_ascii_tracks(
    targets: Sequence[Target], model_dir: str | os.PathLike[str], *, other: str = ""
) -> None:
    """An ``.h5`` output stores track identifiers and descriptions as ASCII bytes (as
    Basenji's does): stop, before scoring, at a track whose are not; `other` is another way
    out the command offers, put before the advice to rename the track."""
    for t in targets:
        if not (t.identifier.isascii() and t.description.isascii()):
            raise ValueError(
                f"{model_dir}: track {t.identifier!r} ({t.description!r}) has a character "
                f"outside ASCII, which an .h5 output stores as ASCII bytes; {other}rename "
                "the track in the targets table the model was trained or imported with"
            )
