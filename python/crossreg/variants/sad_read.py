"""Reading SAD files back (``crossreg sad``'s ``.h5`` and ``.tsv``, or ``basenji_sad.py``'s
``.h5``): the whole table (:func:`read_sad`), or its labels, tracks and sites first
(:func:`read_sad_index`) and chosen rows of its scores after (:func:`read_sad_rows`,
:func:`read_sorted_rows`), block by block, so that a reader holds what it keeps. How
the files are laid out and written is :mod:`crossreg.variants.sad_h5` and
:mod:`crossreg.variants.sad_tsv`."""

from __future__ import annotations

import itertools
import json
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from crossreg.errors import plural
from crossreg.io.h5 import read_h5
from crossreg.io.text import numbered_lines
from crossreg.progress import Progress
from crossreg.variants.sad_blocks import block_rows, row_bytes
from crossreg.variants.sad_h5 import ROW_FIELDS, SAD_REMEDY, check_sad_datasets, rescore_hint
from crossreg.variants.sad_names import PROFILE_STATS, STAT_NAMES
from crossreg.variants.sad_tsv import TSV_FIELDS, metadata_path

if TYPE_CHECKING:
    import polars as pl

GAP_BYTES = 1 << 20  # a dataset without chunks is read or skipped this much at a time


def read_sorted_rows(
    dataset: Any,
    rows: npt.NDArray[np.int64],
    dtype: npt.DTypeLike | None = None,
    *,
    out: npt.NDArray | None = None,
    meter: Progress | None = None,
) -> npt.NDArray:
    """Rows `rows` (ascending) of `dataset` (an HDF5 dataset or an array), as `dtype` (its
    own when None): read a piece at a time, each from the first to the last row asked for
    in it, within one block of :func:`block_rows` rows and over consecutive units (the
    dataset's chunks; :data:`GAP_BYTES` of rows without) that hold a row asked for, so
    that a unit with none is not read and memory holds the rows asked for and one block
    however they are spread (a file not sorted by chromosome included). An HDF5 dataset's
    piece is read into one buffer reused for every piece (a new array a piece costs its
    allocation and page faults again), or, when it is all rows asked for and `out` has
    the dataset's dtype, straight into `out`; only the rows asked for are converted. With
    `out` (one row per row asked for) the rows are written there, converted to its dtype,
    and `out` is returned; `meter` counts the rows as each piece is read."""
    rows = np.asarray(rows, dtype=np.int64)
    if len(rows) > 1 and not (np.diff(rows) > 0).all():
        raise ValueError("read_sorted_rows takes rows in ascending order, each once")
    size = row_bytes(dataset)
    if out is None:
        out = np.empty((len(rows), *dataset.shape[1:]), dtype=dtype or dataset.dtype)
    elif out.shape != (len(rows), *dataset.shape[1:]):
        raise ValueError(f"read_sorted_rows: out has shape {out.shape} for {len(rows)} rows")
    unit = rows // _unit_rows(dataset, size)
    breaks = (np.diff(rows // block_rows(size)) != 0) | (np.diff(unit) > 1)
    bounds = [0, *(np.flatnonzero(breaks) + 1).tolist(), len(rows)]
    pieces = [_piece(rows, a, b) for a, b in itertools.pairwise(bounds) if a < b]
    read = _PieceReader(dataset, out, pieces)
    for piece in pieces:
        read(piece)
        if meter is not None:
            meter.update(piece.b - piece.a)
    return out


@dataclass(frozen=True)
class _Piece:
    """Rows ``first:stop`` of a dataset, of which those at `pick` (all when None) go to
    ``out[a:b]``."""

    first: int
    stop: int
    a: int
    b: int
    pick: npt.NDArray[np.int64] | None

    @property
    def whole(self) -> bool:
        """Whether every row of ``first:stop`` is asked for."""
        return self.pick is None


def _piece(rows: npt.NDArray[np.int64], a: int, b: int) -> _Piece:
    """The :class:`_Piece` that reads ``rows[a:b]``."""
    first, stop = int(rows[a]), int(rows[b - 1]) + 1
    return _Piece(first, stop, a, b, None if stop - first == b - a else rows[a:b] - first)


class _PieceReader:
    """Writes each :class:`_Piece` of a dataset into `out`, for :func:`read_sorted_rows`:
    an HDF5 dataset of a fixed-size dtype through ``read_direct``, into `out` itself where
    it takes the rows as read (all of the piece, of the dataset's dtype), else into one
    buffer of the longest other piece's rows, allocated at the first and reused."""

    def __init__(self, dataset: Any, out: npt.NDArray, pieces: Sequence[_Piece]):
        self.dataset, self.out = dataset, out
        kind = np.dtype(dataset.dtype)
        self.direct = hasattr(dataset, "read_direct") and not kind.hasobject
        self.into_out = self.direct and out.dtype == kind and out.flags.c_contiguous
        buffered = (p.stop - p.first for p in pieces if not (p.whole and self.into_out))
        self.span = max(buffered, default=0)
        self.buffer: npt.NDArray | None = None

    def __call__(self, piece: _Piece) -> None:
        first, stop, part = piece.first, piece.stop, self.out[piece.a : piece.b]
        if not self.direct:
            span = np.asarray(self.dataset[first:stop])
            part[...] = span if piece.pick is None else span[piece.pick]
        elif piece.whole and self.into_out:
            self.dataset.read_direct(self.out, np.s_[first:stop], np.s_[piece.a : piece.b])
        else:
            if self.buffer is None:
                shape = (self.span, *self.dataset.shape[1:])
                self.buffer = np.empty(shape, dtype=self.dataset.dtype)
            span = self.buffer[: stop - first]
            self.dataset.read_direct(self.buffer, np.s_[first:stop], np.s_[: stop - first])
            if piece.pick is None:
                part[...] = span
            elif part.dtype == span.dtype:  # mode "clip": unbuffered (`pick` is in range)
                np.take(span, piece.pick, axis=0, out=part, mode="clip")
            else:
                part[...] = span[piece.pick]


def _unit_rows(dataset: Any, row_bytes: int) -> int:
    """Rows of `dataset` that :func:`read_sorted_rows` reads or skips together: an HDF5
    chunk's (read whole, however few of its rows are asked for), else about
    :data:`GAP_BYTES` of rows."""
    chunks = getattr(dataset, "chunks", None)
    return int(chunks[0]) if chunks else max(1, GAP_BYTES // max(row_bytes, 1))


Site = tuple[str, str, str, str]  # an allele's chromosome, 1-based position (as text), REF, ALT


@dataclass(frozen=True)
class SadTable:
    """SAD scores read back: allele labels, track identifiers and descriptions (empty when
    the file has none), the ``(alleles, tracks)`` float32 matrix and, when asked for and
    the file has them, each allele's :data:`Site` (else None)."""

    labels: list[str]
    identifiers: list[str]
    descriptions: list[str]
    values: npt.NDArray[np.float32]
    sites: list[Site] | None = None


def require_finite(
    path: str | os.PathLike[str],
    values: npt.NDArray[np.float32],
    labels: Sequence[str],
    identifiers: Sequence[str],
    remedy: str,
    rows: npt.NDArray[np.int64] | None = None,
) -> None:
    """Stop, naming the first allele and track, when a score of `values` is nan or
    infinite (``crossreg sad`` writes neither; a file from elsewhere may hold them); row i
    of `values` is row ``rows[i]`` of the file at `path` (row i when `rows` is None), whose
    labels are `labels`. Checked a block of :func:`block_rows` rows at a time, so no mask
    of the whole table is held; `remedy` says what to do."""
    step = block_rows(values[:1].nbytes or 1)
    found: tuple[int, int] | None = None
    count = 0
    for start in range(0, len(values), step):
        bad = np.argwhere(~np.isfinite(values[start : start + step]))
        if len(bad) and found is None:
            found = (start + int(bad[0][0]), int(bad[0][1]))
        count += len(bad)
    if found is not None:
        at, track = found
        row = int(rows[at]) if rows is not None else at
        raise ValueError(
            f"{path}: allele {labels[row]} (row {row + 1}) has no finite score "
            f"({values[at, track]}) for track {identifiers[track]}, and "
            f"{count - 1} more scores are not finite; {remedy}"
        )


def read_sad(path: str | os.PathLike[str], stat: str = "SAD", *, sites: bool = False) -> SadTable:
    """Read a ``crossreg sad`` (or ``basenji_sad.py``) ``.h5``, or a ``crossreg sad`` ``.tsv``;
    `stat` picks the (alleles × tracks) statistic (default SAD); with `sites`, each allele's
    chromosome, position, REF and ALT too (None from an ``.h5`` without those datasets)."""
    path = Path(path)
    if stat in PROFILE_STATS:
        raise ValueError(f"{stat} is 3-D (alleles, bins, tracks); read it with h5py")
    if path.suffix == ".h5":
        with read_h5(path, SAD_REMEDY) as handle:
            index = _h5_index(path, handle, stat, sites=sites)
            # converted as HDF5 reads it: no float16 copy of the whole table beside it
            values = handle[stat].astype(np.float32)[:]
        return SadTable(index.labels, index.identifiers, index.descriptions, values, index.sites)
    require_sad_suffix(path)
    table = read_sad_tsv(path)
    columns = table.columns[5:]
    blocks = {c.split(":", 1)[0] for c in columns if ":" in c} & set(STAT_NAMES)
    if blocks:  # several statistics (or one other than SAD): STAT:identifier columns
        columns = [c for c in columns if c.startswith(f"{stat}:")]
        if not columns:
            held = ",".join(sorted(blocks))
            raise ValueError(f"{path}: no {stat} columns (it holds {held}); {rescore_hint(stat)}")
    elif stat != "SAD":
        raise ValueError(f"{path}: holds SAD only, not {stat}; {rescore_hint(stat)}")
    ids = [c.removeprefix(f"{stat}:") if blocks else c for c in columns]
    scores = table.select(columns).to_numpy()
    with np.errstate(over="ignore"):  # a score beyond float32 becomes inf, refused below
        values = scores.astype(np.float32)
    _refuse_infinite(path, columns, scores, values)
    del scores
    meta = metadata_path(path)
    labels = json.loads(meta.read_text()).get("target_labels") if meta.exists() else None
    descriptions = [str(d) for d in labels] if isinstance(labels, list) else []
    if len(descriptions) != len(ids):
        descriptions = []
    where = _tsv_sites(table) if sites else None
    return SadTable(table["snp"].cast(str).to_list(), ids, descriptions, values, where)


@dataclass(frozen=True)
class SadIndex:
    """What a SAD file says of its rows and tracks, its scores left to
    :func:`read_sad_rows`: the file, the statistic, as :class:`SadTable` (`scores` holds a
    ``.tsv``'s table, read whole; None for an ``.h5``, whose rows are read when asked)."""

    path: Path
    stat: str
    labels: list[str]
    identifiers: list[str]
    descriptions: list[str]
    sites: list[Site] | None
    scores: npt.NDArray[np.float32] | None = None


def read_sad_index(
    path: str | os.PathLike[str], stat: str = "SAD", *, sites: bool = False
) -> SadIndex:
    """The labels, tracks and (with `sites`) sites of a SAD file (as :func:`read_sad`),
    without reading an ``.h5``'s scores; a ``.tsv`` is read whole."""
    path = Path(path)
    if path.suffix != ".h5":
        table = read_sad(path, stat, sites=sites)
        return SadIndex(
            path,
            stat,
            table.labels,
            table.identifiers,
            table.descriptions,
            table.sites,
            table.values,
        )
    if stat in PROFILE_STATS:
        raise ValueError(f"{stat} is 3-D (alleles, bins, tracks); read it with h5py")
    with read_h5(path, SAD_REMEDY) as handle:
        return _h5_index(path, handle, stat, sites=sites)


def _h5_index(path: Path, handle: Any, stat: str, *, sites: bool) -> SadIndex:
    """The :class:`SadIndex` of an open SAD ``.h5``, checked (:func:`check_sad_datasets`)."""
    check_sad_datasets(path, handle, stat)
    labels = handle["snp"][:].astype(str).tolist()
    ids = handle["target_ids"][:].astype(str).tolist()
    descriptions = (
        handle["target_labels"][:].astype(str).tolist() if "target_labels" in handle else []
    )
    where = _h5_sites(handle) if sites else None
    return SadIndex(path, stat, labels, ids, descriptions, where)


def read_sad_rows(
    index: SadIndex,
    rows: npt.NDArray[np.int64],
    out: npt.NDArray[np.float32],
    meter: Progress,
) -> None:
    """Rows `rows` (ascending) of the scores of the file `index` describes, into `out` (one
    row per row asked for), converted to its dtype: an ``.h5``'s block by block
    (:func:`read_sorted_rows`), each counted on `meter`."""
    if index.scores is not None:
        out[:] = index.scores[rows]
        meter.update(len(rows))
        return
    with read_h5(index.path, SAD_REMEDY) as handle:
        check_sad_datasets(index.path, handle, index.stat)
        read_sorted_rows(handle[index.stat], rows, out=out, meter=meter)


def _h5_sites(handle: Any) -> list[Site] | None:
    """The :data:`Site` of each row of an open SAD ``.h5``; None when it lacks a field."""
    if any(name not in handle for name in ROW_FIELDS[1:]):
        return None
    chroms, refs, alts = (
        handle[name][:].astype(str).tolist() for name in ("chr", "ref_allele", "alt_allele")
    )
    positions = [str(p) for p in handle["pos"][:].astype(np.int64).tolist()]
    return list(zip(chroms, positions, refs, alts, strict=True))


def _tsv_sites(table: pl.DataFrame) -> list[Site]:
    """The :data:`Site` of each row of a SAD ``.tsv`` read by :func:`read_sad_tsv`."""
    columns = (table[name].to_list() for name in TSV_FIELDS[1:])
    return list(zip(*columns, strict=True))


#: Names of the variant files a SAD file is scored from, given in its place by mistake.
_VARIANT_SUFFIXES = (".vcf", ".vcf.gz", ".vcf.bgz", ".bcf")


def require_sad_suffix(path: Path, option: str | None = None) -> None:
    """`path` is named as a SAD file is: ``.h5`` or ``.tsv``; `option` (``--sad``) names
    where it was given."""
    if path.suffix not in (".h5", ".tsv"):
        given = f"{option} {path}" if option else str(path)
        hint = ""
        if path.name.lower().endswith(_VARIANT_SUFFIXES):
            hint = "; this is a VCF: give the SAD file crossreg sad scored from it"
        raise ValueError(f"{given}: SAD files are .h5 or .tsv, as crossreg sad writes them{hint}")


def check_sad_file(path: Path, option: str | None = None) -> None:
    """What of a SAD file is checked in a moment, before its rows are read (and before a
    command imports its statistics): its name (:func:`require_sad_suffix`; `option`
    names where it was given) and a ``.tsv``'s header line (:func:`sad_tsv_header`)."""
    require_sad_suffix(path, option)
    if path.suffix == ".tsv":
        sad_tsv_header(path)


def sad_tsv_header(path: Path) -> list[str]:
    """The columns of a ``crossreg sad`` ``.tsv``'s header line, checked: an empty file, a
    header without the allele fields first, or a column named twice stops naming the file."""
    header = next(numbered_lines(path), (1, ""))[1].rstrip("\n").split("\t")
    if header == [""]:
        raise ValueError(f"{path}: empty file; a SAD .tsv has a header and one row per allele")
    if header[:5] != list(TSV_FIELDS):
        raise ValueError(f"{path} line 1: a SAD .tsv starts with columns {' '.join(TSV_FIELDS)}")
    repeated = next((n for i, n in enumerate(header) if n in header[:i]), None)
    if repeated is not None:
        raise ValueError(f"{path} line 1: column {repeated!r} appears twice")
    return header


def read_sad_tsv(path: Path) -> pl.DataFrame:
    """A ``crossreg sad`` ``.tsv``: the allele fields as text, the scores as numbers (``nan``
    is a number). A missing header, a row with too few or too many fields, and a score that
    is not a number stop naming the file and the line."""
    import polars as pl

    header = sad_tsv_header(path)
    schema = {name: pl.String if i < 5 else pl.Float64 for i, name in enumerate(header)}
    try:
        table = pl.read_csv(path, separator="\t", schema=schema, quote_char=None)
    except pl.exceptions.PolarsError as error:
        raise _bad_tsv_line(path, header) or ValueError(f"{path}: {error}") from None
    if sum(table.null_count().row(0)):
        raise _bad_tsv_line(path, header) or ValueError(f"{path}: a field is missing")
    return table


def _bad_tsv_line(path: Path, header: list[str]) -> ValueError | None:
    """An error naming the first line of a SAD ``.tsv`` (after its header) that is blank,
    has a wrong number of fields, an empty field or a score that is not a number; None if
    there is none."""
    for number, line in numbered_lines(path):
        if number == 1:
            continue
        if not line.strip():
            return ValueError(f"{path} line {number}: blank line; remove it")
        fields = line.rstrip("\n").split("\t")
        if len(fields) != len(header):
            return ValueError(
                f"{path} line {number}: {plural(len(fields), 'field')} but the "
                f"header has {len(header)}"
            )
        if not all(fields[:5]):
            return ValueError(f"{path} line {number}: an empty field among {' '.join(TSV_FIELDS)}")
        for name, field in zip(header[5:], fields[5:], strict=True):
            try:
                float(field)
            except ValueError:
                return ValueError(
                    f"{path} line {number}: column {name} has {field!r}, not a number"
                )
    return None


def _refuse_infinite(
    path: Path,
    columns: list[str],
    scores: npt.NDArray[np.float64],
    values: npt.NDArray[np.float32],
) -> None:
    """Stop at the first score that is infinite as float32 `values` (``crossreg sad`` clips
    scores to the float16 range, so it writes none; ``nan`` passes), naming the file, the
    line, the column and the score as read (`scores`)."""
    bad = np.argwhere(np.isinf(values))
    if len(bad):
        row, column = (int(i) for i in bad[0])
        raise ValueError(
            f"{path} line {row + 2}: column {columns[column]} has {scores[row, column]}; SAD "
            "scores are finite float32 numbers (or nan)"
        )
