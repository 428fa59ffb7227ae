"""Annotations from a ``crossreg sad`` file (``--sad``), read one panel chromosome at a
time: one annotation per track, the alt − ref score, with data alleles A1 = alt, A2 = ref.

A SAD file of the 1000 Genomes variants × thousands of tracks (≈ 200 GiB as float32) does
not fit in memory, so it is never read whole. Opening it reads the ``chr`` field once and
keeps which chromosome each row is on (one byte a row); a file not sorted by chromosome
has its ``snp`` ids read once too and held (their fixed size a row, up to
:data:`IDS_BYTES`), as each chromosome's rows lie in every chunk of them. For a panel
chromosome, its rows' ids are read (or taken from those held) and those in the panel's
``.bim`` kept, their alleles read and reconciled
with the bim, and then only the scores of the rows that reconciliation uses are read, in
the file's own float type (float16 for ``crossreg sad``; float32 otherwise, as
:func:`crossreg.variants.sad_read.read_sad` reads them), in row order, a chunk run at a
time (:func:`~crossreg.variants.sad_read.read_sorted_rows`): a chunk that holds none of
the chromosome's rows is not read, so a file not sorted by chromosome is not read whole
once per chromosome. A row is matched to panel SNPs of its own chromosome (``chr7`` and
``7`` alike).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import polars as pl

from crossreg.io.chroms import bare_chrom
from crossreg.io.h5 import all_attrs, read_h5, stored_text
from crossreg.progress import progress
from crossreg.stats.sldp.annotations import AnnotationTable, require_panel_ids
from crossreg.stats.sldp.panel import ChromPanel
from crossreg.stats.sldp.reconcile import Alignment, reconcile
from crossreg.variants.sad_attrs import read_attrs, require_whole_run
from crossreg.variants.sad_blocks import block_rows
from crossreg.variants.sad_h5 import SAD_REMEDY, check_sad_datasets
from crossreg.variants.sad_read import read_sad, read_sorted_rows
from crossreg.variants.sad_tsv import metadata_path

IDS_BYTES = 512 << 20  # an unsorted file's snp field is held whole when it is this small
FIELDS = ("snp", "chr", "ref_allele", "alt_allele", "SAD")  # what SLDP reads of the file
SAD_ID_REMEDY = (
    "crossreg sad names a variant by its VCF ID (chrom:pos:ref>alt where the ID is '.'): "
    "score a VCF of the panel's SNPs whose ID column holds the panel's ids"
)
UNSCORED_REMEDY = "SLDP cannot take a missing score as 0: score those variants, or drop their rows"


@dataclass(frozen=True)
class ChromIndex:
    """Which chromosome each row of a SAD file is on: `codes` (one small integer a row)
    index `names` (chromosomes without ``chr``)."""

    codes: npt.NDArray[np.unsignedinteger]
    names: list[str]

    def rows(self, chrom: str) -> npt.NDArray[np.int64]:
        """The rows on `chrom` (``chr7`` or ``7``), ascending."""
        bare = bare_chrom(chrom)
        if bare not in self.names:
            return np.zeros(0, dtype=np.int64)
        return np.flatnonzero(self.codes == self.names.index(bare)).astype(np.int64)

    @property
    def sorted(self) -> bool:
        """Whether each chromosome's rows are consecutive (the file sorted by chromosome)."""
        return int(np.count_nonzero(self.codes[1:] != self.codes[:-1])) < max(len(self.names), 1)


def chrom_index(field: Any) -> ChromIndex:
    """The :class:`ChromIndex` of `field` (a SAD file's ``chr``, bytes or text), read a
    block at a time: one pass, sorted by chromosome or not."""
    codes = np.empty(len(field), dtype=np.uint32)
    names: dict[str, int] = {}
    step = block_rows(max(1, np.dtype(field.dtype).itemsize))
    for first in range(0, len(field), step):
        values, inverse = np.unique(np.asarray(field[first : first + step]), return_inverse=True)
        bare = [bare_chrom(stored_text(v)) for v in values.tolist()]
        lookup = np.array([names.setdefault(b, len(names)) for b in bare], dtype=np.uint32)
        codes[first : first + len(inverse)] = lookup[inverse.ravel()]
    return ChromIndex(codes.astype(np.min_scalar_type(max(len(names) - 1, 0))), list(names))


def _alleles(field: npt.NDArray) -> npt.NDArray[np.str_]:
    """Alleles as one-letter text: one that is not a single letter becomes ``N``, as it
    can match no bim allele in :func:`reconcile` (which needs A/C/G/T) either way, so
    that one long indel allele does not widen every row's text."""
    single = np.char.str_len(field) == 1
    letters = np.where(single, field, b"N" if field.dtype.kind == "S" else "N")
    return letters.astype("U1")


class SadAnnotations:
    """A ``crossreg sad`` ``.h5`` (read from the file as needed) or ``.tsv`` (held whole,
    as its text must be parsed whole) as SLDP annotations named by target id."""

    def __init__(self, path: str | os.PathLike[str]):
        self.path = Path(path)
        self._memory: dict[str, npt.NDArray] | None = None
        if self.path.suffix != ".h5":
            if metadata_path(self.path).exists():
                require_whole_run(self.path, read_attrs(self.path))
            self._memory = _tsv_fields(self.path)
        with self._fields() as fields:
            self.names: list[str] = [stored_text(v) for v in fields["target_ids"][:].tolist()]
            self.chroms = chrom_index(fields["chr"])
            self._ids = None if self.chroms.sorted else _held_ids(fields["snp"])

    @property
    def source(self) -> str:
        return str(self.path)

    @contextlib.contextmanager
    def _fields(self) -> Iterator[Mapping[str, Any]]:
        if self._memory is not None:
            yield self._memory
            return
        with read_h5(self.path, SAD_REMEDY) as handle:
            check_sad_datasets(self.path, handle, "SAD")
            require_whole_run(self.path, all_attrs(handle, self.path, SAD_REMEDY))
            missing = [k for k in FIELDS if k not in handle]
            if missing:
                raise ValueError(
                    f"{self.path}: no {', '.join(missing)} dataset; SLDP reads a SAD file's "
                    f"{', '.join(FIELDS[:-1])} fields: {SAD_REMEDY}"
                )
            yield handle

    def aligned(self, panel: ChromPanel) -> tuple[AnnotationTable, Alignment]:
        """This file's scores for the panel's SNPs: a table of the rows that
        reconciliation uses (in the file's float type) and the alignment of the panel's
        SNPs to them. A used score that is not a finite number stops, naming the variant,
        its row and the track."""
        bim = panel.bim
        with self._fields() as fields:
            rows = self.chroms.rows(panel.chrom)
            ids = read_sorted_rows(fields["snp"], rows) if self._ids is None else self._ids[rows]
            snp = ids.astype(str)
            known = np.isin(snp, bim.snp)
            require_panel_ids(self.source, snp, bool(known.any()), panel, SAD_ID_REMEDY)
            rows, snp = rows[known], snp[known]
            ref, alt = (_alleles(read_sorted_rows(fields[k], rows)) for k in FIELDS[2:4])
            alignment = reconcile(bim.snp, bim.a1, bim.a2, snp, alt, ref)
            used = np.unique(alignment.row[alignment.row >= 0])
            scores = fields["SAD"]
            kind = np.dtype(scores.dtype)
            dtype = kind if kind in (np.dtype(np.float16), np.dtype(np.float32)) else np.float32
            values = _read_scores(
                scores, rows[used], dtype, f"{panel.label} SAD scores of {self.path.name}"
            )
        self._require_finite(values, snp[used], rows[used], panel.label)
        local = np.where(alignment.row >= 0, np.searchsorted(used, alignment.row), -1)
        table = AnnotationTable(self.source, self.names, values, snp[used], alt[used], ref[used])
        return table, Alignment(local.astype(np.int64), alignment.sign, alignment.counts)

    def _require_finite(
        self,
        values: npt.NDArray[np.floating],
        snp: npt.NDArray[np.str_],
        rows: npt.NDArray[np.int64],
        label: str,
    ) -> None:
        unscored = np.argwhere(~np.isfinite(values))
        if len(unscored):
            row, track = (int(i) for i in unscored[0])
            raise ValueError(
                f"{self.path}: allele {snp[row]} (row {int(rows[row]) + 1}) has no finite "
                f"score ({values[row, track]}) for track {self.names[track]}, and "
                f"{len(unscored) - 1} more of the scores read for {label} are not finite; "
                f"{UNSCORED_REMEDY}"
            )


def _held_ids(field: Any) -> npt.NDArray | None:
    """The whole `field` (an unsorted SAD file's ``snp``: each chromosome's rows lie in
    every chunk of it, so reading them per chromosome reads the field once a chromosome),
    read once when it is fixed-size text of at most :data:`IDS_BYTES` (≈ 238 MB for 9.9M
    ids of 24 bytes); else None, and each chromosome reads its own rows."""
    kind = np.dtype(field.dtype)
    if kind.hasobject or len(field) * kind.itemsize > IDS_BYTES:
        return None
    return np.asarray(field[...])


def _read_scores(
    scores: Any, rows: npt.NDArray[np.int64], dtype: npt.DTypeLike, desc: str
) -> npt.NDArray[np.floating]:
    """Rows `rows` (ascending) of `scores` as `dtype`, block by block
    (:func:`read_sorted_rows`), counted on a progress meter (a chromosome of the 1000
    Genomes variants × thousands of tracks takes minutes)."""
    out = np.empty((len(rows), *scores.shape[1:]), dtype=dtype)
    # a score beyond float32 becomes inf, refused by the caller
    with progress(len(rows), desc, "variants") as meter, np.errstate(over="ignore"):
        return read_sorted_rows(scores, rows, out=out, meter=meter)


def _tsv_fields(path: Path) -> dict[str, npt.NDArray]:
    """A SAD ``.tsv``'s fields as :data:`FIELDS` names them, and its ``target_ids``."""
    table = read_sad(path)
    columns = ["chrom", "ref", "alt"]
    text = pl.read_csv(path, separator="\t", columns=columns, infer_schema=False)
    chrom, ref, alt = (text[c].to_numpy().astype(str) for c in columns)
    return {
        "snp": np.array(table.labels, dtype=str),
        "chr": chrom,
        "ref_allele": ref,
        "alt_allele": alt,
        "SAD": table.values,
        "target_ids": np.array(table.identifiers, dtype=str),
    }
