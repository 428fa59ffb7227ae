"""The ISM ``.h5`` file (Basenji's ``scores.h5`` layout, :mod:`crossreg.variants.ism`): the
datasets of its sites, variants and tracks, and the writer that copies a run's (or its
shards') scores into it in a fixed order."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from crossreg.io.h5 import H5_FILE_BYTES, attrs_bytes, dataset_bytes, written_h5
from crossreg.io.targets import Target
from crossreg.variants.ism_sites import Site
from crossreg.variants.sad_blocks import block_rows

#: The datasets of an ISM ``.h5`` beside the scores, in the order they are written: a row
#: per site, then (a VCF's sites only) a row per site naming its record, then a row per
#: kept track.
SITE_FIELDS = ("label", "chr", "start", "end", "strand", "seqs")


VARIANT_FIELDS = ("pos", "ref_allele", "alt_allele")


TRACK_FIELDS = ("target_ids", "target_labels")


def site_fields(
    sites: Sequence[Site],
    starts: npt.NDArray[np.int64],
    spans: npt.NDArray[np.uint8],
    targets: Sequence[Target],
    *,
    variants: bool = False,
) -> dict[str, np.ndarray]:
    """The datasets of an ISM ``.h5`` beside the scores, in the order they are written
    (:data:`SITE_FIELDS`, :data:`VARIANT_FIELDS`, :data:`TRACK_FIELDS`): the sites'
    ``label``, ``chr``, ``start``, ``end``, ``strand`` and ``seqs`` (from their mutated
    spans' `starts` and one-hot `spans`); with `variants` (sites of a VCF, each with its
    record), the record's ``pos`` (VCF's POS, 1-based, as SAD files store it: its REF's
    first base is row ``pos - 1 - start`` of the span), ``ref_allele`` and ``alt_allele``
    (its ALTs as the VCF gives them, comma-separated); then ``target_ids`` and
    ``target_labels``."""
    fields = {
        "label": np.array([s.label for s in sites], dtype="S"),
        "chr": np.array([s.chrom for s in sites], dtype="S"),
        "start": starts,
        "end": starts + spans.shape[1],
        "strand": np.array([s.strand for s in sites], dtype="S"),
        "seqs": spans.astype(bool),
    }
    if variants:
        records = [s.variant for s in sites if s.variant is not None]
        assert len(records) == len(sites), "a VCF's sites each have their record"
        fields |= {
            "pos": np.array([v.pos + 1 for v in records], dtype=np.int64),
            "ref_allele": np.array([v.ref for v in records], dtype="S"),
            "alt_allele": np.array([",".join(v.alts) for v in records], dtype="S"),
        }
    return fields | {
        "target_ids": np.array([t.identifier for t in targets], dtype="S"),
        "target_labels": np.array([t.description for t in targets], dtype="S"),
    }


def write_ism_h5(
    path: Path,
    fields: Mapping[str, np.ndarray],
    parts: Sequence[Mapping[str, Any]],
    stats: Sequence[str],
    attrs: Mapping[str, object],
) -> int:
    """Write an ISM ``.h5`` at `path` (a temporary name: the caller renames it): `fields`
    (:func:`site_fields`), then each statistic's float16 ``(sites, width, 4, tracks)``
    scores copied from `parts` (a run's finished chunks, or the shards' datasets) in
    blocks of about :data:`~crossreg.variants.sad_blocks.BLOCK_BYTES`, then `attrs` in
    sorted order: the same rows give the same bytes however they were split. Returns the
    number of sites."""
    n, width = fields["seqs"].shape[:2]
    shape = (n, width, 4, len(fields["target_ids"]))
    chunks = (1, *shape[1:]) if n else None  # a shard may have no site
    bound = (
        H5_FILE_BYTES
        + sum(dataset_bytes(values.shape, values.dtype) for values in fields.values())
        + len(stats) * dataset_bytes(shape, np.float16, chunks)
        + attrs_bytes(attrs)
    )
    step = block_rows(int(np.prod(shape[1:], dtype=np.int64)) * 2)
    with written_h5(path, bound) as handle:
        for key, values in fields.items():
            handle[key] = values
        for k in stats:
            dataset = handle.create_dataset(
                k, shape=shape, dtype="f2", chunks=chunks, fletcher32=chunks is not None
            )
            done = 0
            for part in parts:
                rows = len(part[k])
                for first in range(0, rows, step):
                    last = min(first + step, rows)
                    dataset[done + first : done + last] = part[k][first:last]
                done += rows
            if done != n:
                raise RuntimeError(f"expected ISM scores of {n} sites, got {done}")
        for key in sorted(attrs):
            handle.attrs[key] = attrs[key]
    return n
