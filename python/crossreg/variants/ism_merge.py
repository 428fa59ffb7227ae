"""The ism-merge step: the shard files of one ``crossreg ism --shard i/n`` run joined into
the ``.h5`` one run would have written, with that file's figures.

Each shard holds whole chunks of the run's sites (:func:`crossreg.variants.ism_shards.shard_sites`),
scored as one run scores them, and records the run's settings as ``crossreg sad``'s shards
do (:func:`crossreg.variants.sad_shards.shard_attrs`): the merge refuses a shard of another
run naming what differs, a shard still being written, and shards that miss or repeat some
of the run's sites, naming them (:func:`crossreg.variants.ism_shards.check_ism_shards`),
before anything is written. Shards of one ``--chunk-size`` and ``--batch-size`` merge into
the bytes one run writes; shards of several (a failed shard scored again with another)
into its scores to float16 rounding, and the file says so, as it records inputs read at
other paths and other devices (:func:`crossreg.variants.shard_layout.layout_attrs`).
The file is written under a temporary name and renamed when complete.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from crossreg.io.atomic import atomic_path
from crossreg.io.h5 import all_attrs, damaged_data, open_h5
from crossreg.synth.motifs import Motif
from crossreg.variants.alleles import parse_counts
from crossreg.variants.ism import IsmRun
from crossreg.variants.ism_draw import check_figure_options, draw_figures
from crossreg.variants.ism_h5 import SITE_FIELDS, TRACK_FIELDS, VARIANT_FIELDS, write_ism_h5
from crossreg.variants.ism_settings import ISM_INPUTS, each_track_drawn
from crossreg.variants.ism_shards import ISM_REMEDY, check_ism_shards
from crossreg.variants.sad_join import unreadable_shard
from crossreg.variants.sad_shards import merged_attrs, shard_paths


def merge_ism(
    out: str | os.PathLike[str],
    shards: Sequence[str | os.PathLike[str]],
    *,
    figures: str | os.PathLike[str] | None = None,
    plots: bool = True,
    svg: bool = False,
    motifs: Sequence[Motif] = (),
) -> IsmRun:
    """Join `shards` (``.h5`` files of ``crossreg ism --shard i/n``, given in the order of
    their sites: 0/n … n-1/n) into `out`: the bytes one ``crossreg ism`` run with the
    shards' inputs and options writes. Shards of several ``--chunk-size`` merge when
    their sites tile the run, as do shards of several ``--batch-size``; the file then
    records ``chunk_sizes`` or ``batch_sizes`` and ``shard_layout`` (its scores are one
    run's to float16 rounding), and an input path or a device the shards differ in as
    each shard's (:func:`~crossreg.variants.shard_layout.layout_attrs`).
    Then draw the figures that run draws, in `figures` (by default
    :func:`crossreg.variants.ism_draw.figures_folder` of `out`) unless `plots` is off (SVG too
    with `svg`), the matches of the JASPAR `motifs` marked (`svg` or `motifs` with
    `plots` off is refused, :func:`~crossreg.variants.ism_draw.check_figure_options`). An `out`
    that is one of the shards is refused before anything is written."""
    check_figure_options(plots, svg, motifs)
    target, paths = shard_paths(out, shards, "crossreg ism")
    if target.suffix != ".h5":
        raise ValueError(f"{target}: the merged file must end in .h5, as its shards do")
    with contextlib.ExitStack() as stack:
        handles = [stack.enter_context(open_h5(path, ISM_REMEDY)) for path in paths]
        contents = [_read_shard(path, handle) for path, handle in zip(paths, handles, strict=True)]
        for path, shard in zip(paths, contents, strict=True):
            _require_ism(path, shard)
        metas = [shard.meta for shard in contents]
        check_ism_shards(paths, metas, ISM_INPUTS)
        stats = str(metas[0]["stats"]).split(",")
        for path, shard in zip(paths, contents, strict=True):
            _check_datasets(path, shard, stats, contents[0])
        rows = (*SITE_FIELDS, *_variant_fields(contents[0]))
        fields = {name: np.concatenate([c.rows[name] for c in contents]) for name in rows}
        fields |= {name: contents[0].rows[name] for name in TRACK_FIELDS}
        attrs = merged_attrs(metas, unit="sites")
        parts = [{stat: handle[stat] for stat in stats} for handle in handles]  # read in blocks
        try:
            with atomic_path(target) as tmp:
                sites = write_ism_h5(tmp, fields, parts, stats, attrs)
        except OSError as err:
            raise unreadable_shard(paths, handles, stats, ISM_REMEDY) or err from None
    settings = json.loads(str(metas[0]["shard_settings"]))
    drawn = draw_figures(
        target,
        figures,
        each_track=each_track_drawn(settings),
        plots=plots,
        svg=svg,
        motifs=motifs,
        rerun="or run the same crossreg ism-merge again, which merges the shards anew",
    )
    width, tracks = fields["seqs"].shape[1], len(fields["target_ids"])
    skipped = parse_counts(str(attrs.get("skipped_chromosomes", "")))
    return IsmRun(target, sites, width, tracks, drawn, skipped)


@dataclass(frozen=True)
class _Contents:
    """What the merge reads of a shard before it writes: its attributes, the shape of
    each of its datasets, and the rows of those of
    :data:`~crossreg.variants.ism_h5.SITE_FIELDS`,
    :data:`~crossreg.variants.ism_h5.VARIANT_FIELDS` and
    :data:`~crossreg.variants.ism_h5.TRACK_FIELDS` it holds (the scores are read in blocks
    as they are written)."""

    meta: dict[str, object]
    shapes: dict[str, tuple[int, ...]]
    rows: dict[str, np.ndarray]


def _read_shard(path: Path, handle: Any) -> _Contents:
    """Read `handle` (the shard `path`, open) for the checks before the merge: an error
    HDF5 raises (its structure damaged: a heap, a link, an object header or a stored
    type that does not parse) is a :class:`~crossreg.io.h5.DamagedH5Error` naming it."""
    meta = all_attrs(handle, path, ISM_REMEDY)
    try:
        shapes = {}
        for name in handle:
            item = handle[name]
            if hasattr(item, "shape") and item.dtype is not None:  # a dataset, its type read
                shapes[name] = tuple(item.shape)
        wanted = [name for name in (*SITE_FIELDS, *VARIANT_FIELDS, *TRACK_FIELDS) if name in shapes]
        rows = {name: handle[name][()] for name in wanted}
    except (OSError, RuntimeError, KeyError, TypeError, ValueError) as err:
        raise damaged_data(path, err, ISM_REMEDY) from None
    return _Contents(meta, shapes, rows)


def _require_ism(path: Path, shard: _Contents) -> None:
    """Stop unless `path` is a ``crossreg ism`` output (a SAD file is named as one)."""
    if "sites_from" in shard.meta and "stats" in shard.meta and "label" in shard.shapes:
        return
    if "snp" in shard.shapes:
        raise ValueError(f"{path}: a crossreg sad file, not an ISM one; join it with sad-merge")
    raise ValueError(f"{path}: not a crossreg ism output (no label dataset or sites_from)")


def _variant_fields(shard: _Contents) -> tuple[str, ...]:
    """The datasets naming each site's VCF record that `shard` holds: all of
    :data:`VARIANT_FIELDS` (a VCF's sites), or none (a BED's, or a shard of a crossreg
    that stored none)."""
    return VARIANT_FIELDS if "pos" in shard.shapes else ()


def _check_datasets(path: Path, shard: _Contents, stats: Sequence[str], first: _Contents) -> None:
    """Stop unless the shard holds every dataset of an ISM file (those naming the VCF
    records where the first shard holds them, and only then), a row per site of its share
    of the run (``shard_records``), and the first shard's width and tracks."""
    rows = (*SITE_FIELDS, *_variant_fields(first))
    missing = [k for k in (*rows, *TRACK_FIELDS, *stats) if k not in shard.shapes]
    if missing:
        raise ValueError(
            f"{path}: not a whole crossreg ism shard (no {', '.join(missing)} dataset); "
            f"{ISM_REMEDY}"
        )
    extra = [k for k in VARIANT_FIELDS if k in shard.shapes and k not in rows]
    if extra:
        raise ValueError(
            f"{path}: holds {', '.join(extra)}, which the first shard given lacks (a shard "
            f"of another crossreg version); {ISM_REMEDY}"
        )
    start, stop = (int(x) for x in np.asarray(shard.meta["shard_records"]))
    width, tracks = first.shapes["seqs"][1], first.shapes["target_ids"][0]
    need: dict[str, tuple[int, ...]] = {name: (stop - start,) for name in rows}
    need |= {"seqs": (stop - start, width, 4), "target_ids": (tracks,), "target_labels": (tracks,)}
    need |= {stat: (stop - start, width, 4, tracks) for stat in stats}
    for name, shape in need.items():
        if shard.shapes[name] != shape:
            raise ValueError(
                f"{path}: dataset {name} has shape {shard.shapes[name]}, not {shape} (sites "
                f"{start}-{stop} of the run, width {width}, {tracks} tracks); {ISM_REMEDY}"
            )
    if not np.array_equal(shard.rows["target_ids"], first.rows["target_ids"]):
        raise ValueError(f"{path}: other tracks than the first shard; {ISM_REMEDY}")
