"""The shards of one ``crossreg sad --shard`` run (``.h5`` or ``.tsv``) joined into the
file one process would have written, with their gene tables."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from crossreg.io.h5 import damaged_data, open_h5
from crossreg.variants.genes import genes_path
from crossreg.variants.sad_attrs import read_attrs
from crossreg.variants.sad_beside import remove_stale_gene_table
from crossreg.variants.sad_blocks import block_rows, row_bytes
from crossreg.variants.sad_h5 import ROW_FIELDS, SAD_REMEDY, check_sad_datasets, write_h5
from crossreg.variants.sad_shards import check_shards, merged_attrs, shard_paths
from crossreg.variants.sad_tsv import first_line, join_tables, write_metadata


def merge_shards(
    out: str | os.PathLike[str], shards: Sequence[str | os.PathLike[str]]
) -> tuple[Path, int]:
    """Join the shards ``0/n … n-1/n`` of one run (``.h5`` or ``.tsv``), given in order,
    into `out`: byte for byte the file one process would have written (``.h5``
    percentiles over all rows), and the gene tables beside them likewise, unless the
    shards were batched differently (another ``--batch-size``: the scores are then one
    run's to float rounding), read their inputs at other paths or ran on other devices,
    which the file records (:func:`~crossreg.variants.shard_layout.layout_attrs`).
    Returns the path and the number of alleles."""
    out, paths = shard_paths(out, shards)
    if out.suffix not in (".h5", ".tsv"):
        raise ValueError(f"{out}: merge .h5 shards into an .h5 and .tsv shards into a .tsv")
    other = next((p for p in paths if p.suffix != out.suffix), None)
    if other is not None:
        raise ValueError(
            f"{other}: not a {out.suffix} shard, as {out} is; merge .h5 shards into an .h5 "
            "and .tsv shards into a .tsv"
        )
    metas = [read_attrs(path) for path in paths]
    for path, meta in zip(paths, metas, strict=True):
        if "sites_from" in meta:  # what crossreg ism records
            raise ValueError(f"{path}: a crossreg ism file, not a SAD one; join it with ism-merge")
    check_shards(paths, metas)
    if len({"gtf" in meta for meta in metas}) > 1:  # shards of runs before --gtf counted
        with_gtf = next(p for p, m in zip(paths, metas, strict=True) if "gtf" in m)
        without = next(p for p, m in zip(paths, metas, strict=True) if "gtf" not in m)
        raise ValueError(
            f"{with_gtf} was scored with --gtf and {without} without; score every shard with "
            "the same --gtf, or none"
        )
    attrs = merged_attrs(metas, unit="records")
    tables = [genes_path(path) for path in paths] if "gtf" in attrs else []
    for table in tables:  # checked before anything is written
        if not table.exists():
            raise ValueError(
                f"{table}: missing; a shard scored with --gtf keeps its gene table beside it "
                "(move the two together)"
            )
    n = _merge_h5(out, paths, attrs) if out.suffix == ".h5" else _merge_tsv(out, paths, attrs)
    if tables:
        join_tables(genes_path(out), first_line(tables[0]), tables, headed=True)
    remove_stale_gene_table(out, attrs)
    return out, n


def _merge_h5(out: Path, paths: Sequence[Path], attrs: Mapping[str, object]) -> int:
    handles: list[Any] = []
    try:
        for path in paths:
            handles.append(open_h5(path, SAD_REMEDY))
        first = handles[0]
        stats = str(attrs["stats"]).split(",")
        for path, handle in zip(paths, handles, strict=True):
            for stat in stats:
                check_sad_datasets(path, handle, stat)
            missing = [k for k in (*ROW_FIELDS, "target_labels") if k not in handle]
            if missing:
                raise ValueError(
                    f"{path}: not a complete crossreg sad shard (no {', '.join(missing)} "
                    "dataset); rerun crossreg sad for this shard"
                )
        for path, handle in zip(paths, handles, strict=True):
            if not np.array_equal(handle["target_ids"][:], first["target_ids"][:]):
                raise ValueError(
                    f"{path}: other tracks than {paths[0]}; rerun crossreg sad for this shard "
                    "with the others' --targets"
                )
        names = [*stats, *ROW_FIELDS]
        try:
            return write_h5(
                out,
                [{name: handle[name] for name in names} for handle in handles],
                stats,
                first["target_ids"][:].astype(str).tolist(),
                first["target_labels"][:].astype(str).tolist(),
                attrs,
            )
        except OSError as err:
            raise unreadable_shard(paths, handles, names) or err from None
    finally:
        for handle in handles:
            handle.close()


def unreadable_shard(
    paths: Sequence[Path], handles: Sequence[Any], names: Sequence[str], remedy: str = SAD_REMEDY
) -> Exception | None:
    """The error naming the first of the shards whose datasets `names` do not read back
    (a chunk failing its checksum), read block by block, with `remedy`; None when all of
    them read."""
    for path, handle in zip(paths, handles, strict=True):
        for name in names:
            dataset = handle[name]
            step = block_rows(row_bytes(dataset))
            try:
                for start in range(0, dataset.shape[0], step):
                    dataset[start : start + step]
            except OSError as err:
                return damaged_data(path, err, remedy)
    return None


def _merge_tsv(out: Path, paths: Sequence[Path], attrs: Mapping[str, object]) -> int:
    header = first_line(paths[0])
    for path in paths[1:]:
        if first_line(path) != header:
            raise ValueError(
                f"{path}: other columns than {paths[0]}; rerun crossreg sad for this shard with "
                "the others' --stats and --targets"
            )
    n = join_tables(out, header, paths, headed=True)
    write_metadata(out, attrs)
    return n
