"""The SAD ``.tsv``: one row per allele, with the run's metadata, and the tracks'
descriptions as ``target_labels``, in the JSON file beside it (:func:`metadata_path`);
and text tables joined end to end (a ``.tsv`` run's shards, gene tables)."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

import numpy as np

from crossreg import _native
from crossreg.io.atomic import atomic_path, atomic_write
from crossreg.io.h5 import stored_text
from crossreg.progress import progress
from crossreg.variants.sad_blocks import Part, block_rows, part_rows
from crossreg.variants.sad_h5 import ROW_FIELDS

TSV_FIELDS = ("snp", "chrom", "pos", "ref", "alt")


def tsv_columns(stats: Sequence[str], target_ids: Sequence[str]) -> list[str]:
    """A ``.tsv``'s score columns: the track identifiers for SAD alone (the default),
    else ``STAT:identifier`` per statistic, statistic by statistic."""
    if tuple(stats) == ("SAD",):
        return list(target_ids)
    return [f"{name}:{identifier}" for name in stats for identifier in target_ids]


def write_tsv(
    path: Path,
    parts: Sequence[Part],
    stats: Sequence[str],
    target_ids: Sequence[str],
    target_labels: Sequence[str],
    attrs: Mapping[str, object],
) -> int:
    """Write the ``.tsv`` at `path` (one row per allele: snp, chrom, pos, ref, alt, then
    the statistics' columns, ``%.6g``) and its metadata ``path.json`` (`attrs` and the
    tracks' descriptions, ``target_labels``), both atomically; returns the allele count."""
    n = 0
    total = sum(part_rows(part) for part in parts)
    header = "\t".join([*TSV_FIELDS, *tsv_columns(stats, target_ids)]) + "\n"
    with (
        atomic_write(path, "wb") as handle,
        progress(total, f"writing {path.name}", "alleles") as meter,
    ):
        handle.write(header.encode())
        for part in parts:
            size = part_rows(part)
            if not size:
                continue
            fields = [np.asarray(part[name][:]) for name in ROW_FIELDS]
            step = block_rows(sum(int(np.prod(part[s].shape[1:])) * 4 for s in stats))
            for start in range(0, size, step):
                stop = min(start + step, size)
                block = np.concatenate(
                    [np.asarray(part[s][start:stop], dtype=np.float32) for s in stats], axis=1
                )
                prefixes = [
                    "\t".join(stored_text(field[i]) for field in fields) for i in range(start, stop)
                ]
                handle.write(_native.format_rows(prefixes, np.ascontiguousarray(block)))
                meter.update(stop - start)
            n += size
    write_metadata(path, {**attrs, "target_labels": list(target_labels)})
    return n


def write_metadata(tsv: Path, meta: Mapping[str, object]) -> None:
    """Write `meta`, keys sorted, as the JSON beside the ``.tsv`` at `tsv`
    (:func:`metadata_path`), atomically."""
    with atomic_write(metadata_path(tsv)) as handle:
        json.dump({key: meta[key] for key in sorted(meta)}, handle, indent=1, default=_plain)


def _plain(value: object) -> object:
    """numpy values in metadata → JSON numbers and lists."""
    return value.tolist() if isinstance(value, np.ndarray | np.generic) else str(value)


def metadata_path(tsv: Path) -> Path:
    """The JSON file beside a ``.tsv`` output that holds its metadata."""
    return tsv.with_name(tsv.name + ".json")


def last_written(out: Path) -> Path:
    """The file whose writing ends a SAD or ISM output's: the ``.h5`` itself, or a
    ``.tsv``'s metadata (:func:`metadata_path`, written after it)."""
    return out if out.suffix == ".h5" else metadata_path(out)


def join_tables(path: Path, header: str, pieces: Iterable[Path], *, headed: bool = False) -> int:
    """Write `header`, then the rows of each of `pieces` (after their own header line
    when `headed`), into `path`, atomically; returns the row count."""
    rows = 0
    with atomic_path(path) as tmp, open(tmp, "w") as out:
        out.write(header)
        for piece in pieces:
            with open(piece) as handle:
                if headed:
                    handle.readline()
                for line in handle:
                    out.write(line)
                    rows += 1
    return rows


def first_line(path: Path) -> str:
    with open(path) as handle:
        return handle.readline()
