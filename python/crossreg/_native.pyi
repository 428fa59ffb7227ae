"""Type stub of the native extension. Users call the wrappers in crossreg.dna,
crossreg.genome, crossreg.signal, crossreg.data.bigwig, crossreg.data.dataset,
crossreg.split.synteny, crossreg.io.chroms, crossreg.io.vcf and
crossreg.stats.sldp.annotations; this documents the calls they make.
``tests/check_native_stub.py`` (run by ``make lint``) checks it against the built extension.

Every function that reads files or works over arrays releases the GIL while it works (the
name lookups ``chrom_hint`` and ``chrom_prefix_twin`` and ``Genome``'s ``names`` and
``lengths`` hold it for their microseconds). Arrays must be C-contiguous; "in place"
functions write into the array they are given.
"""

import os
from collections.abc import Collection, Container, Sequence
from typing import TypedDict

import numpy as np
import numpy.typing as npt

__version__: str

def one_hot_u8(seq: npt.NDArray[np.uint8], out: npt.NDArray[np.uint8]) -> None:
    """One-hot encode byte codes `seq` (any shape) into `out` (`seq.shape + (4,)`), A,C,G,T."""

def one_hot_f32(seq: npt.NDArray[np.uint8], out: npt.NDArray[np.float32], n_uniform: bool) -> None:
    """As `one_hot_u8` into float32; non-ACGT bytes are 0.25s when `n_uniform`, else 0s."""

def reverse_complement_blocks(seqs: npt.NDArray[np.uint8], block_len: int) -> None:
    """Reverse complement, in place, each consecutive block of `block_len` bytes."""

def reverse_rows(data: npt.NDArray[np.unsignedinteger], block_rows: int, row_len: int) -> None:
    """Reverse row order inside each block of `block_rows` rows of `row_len` values, in place."""

def shift_rows(
    src: npt.NDArray[np.unsignedinteger],
    dst: npt.NDArray[np.unsignedinteger],
    pad: npt.NDArray[np.unsignedinteger],
    block_rows: int,
    row_len: int,
    shift: int,
) -> None:
    """Shift each block of `src` by `shift` rows into `dst` (Basenji's sign), padding with `pad`."""

def format_rows(prefixes: list[str], values: npt.NDArray[np.float32]) -> bytes:
    """Tab-separated UTF-8 lines: each prefix, then its row of `values` (2-D, one row per
    prefix) as ``format(x, ".6g")`` writes each value; on all cores, without the GIL."""

def sldp_info_sums(
    values: npt.NDArray[np.float16] | npt.NDArray[np.float32] | npt.NDArray[np.float64],
    rows: npt.NDArray[np.int64],
    factors: npt.NDArray[np.float64],
    kept: npt.NDArray[np.bool_],
    pairwise: bool,
) -> tuple[
    npt.NDArray[np.float64], npt.NDArray[np.float64], npt.NDArray[np.uint64], npt.NDArray[np.uint64]
]:
    """Per column of `values` (rows × columns): Σv², Σv² over the `kept` SNPs, #(v ≠ 0)
    and #(v ≠ 0) over the kept SNPs, where SNP i's v is ``values[rows[i]] * factors[i]``
    (``0 * factors[i]`` where ``rows[i]`` is negative). Each column's squares are added in
    SNP order from 0.0 as numpy's axis-0 sum of 2 or more columns does, or (`pairwise`) as
    it sums a single column. A row past the table raises ValueError."""

def soft_clip(values: npt.NDArray[np.float32], threshold: float) -> None:
    """In place: `min(x, t + sqrt(max(0, x - t)))`; NaN stays NaN."""

def hard_clip(values: npt.NDArray[np.float32], max_value: float) -> None:
    """In place: clamp into `[0, max_value]`; NaN stays NaN."""

def scale(values: npt.NDArray[np.float32], factor: float) -> None:
    """In place: multiply by `factor`."""

class Genome:
    """A FASTA file (plain, gzip or bgzip) held in memory (one byte per base, case kept)."""

    def __init__(self, path: str | os.PathLike[str], *, hash_content: bool = False) -> None: ...
    @property
    def content(self) -> tuple[int, str] | None:
        """The file's size and hex SHA-256 (of its bytes as stored), taken from the read that
        loaded it; `None` when loaded without `hash_content`."""
    @property
    def names(self) -> list[str]: ...
    @property
    def lengths(self) -> list[int]: ...
    def fetch(self, chrom: str, start: int, end: int) -> bytes:
        """Bases of `[start, end)`, padded with N where the window leaves the chromosome."""
    def fetch_many(
        self, chroms: list[str], starts: npt.NDArray[np.int64], length: int
    ) -> npt.NDArray[np.uint8]:
        """`(n, length)` byte codes of the windows at `starts` on `chroms`."""

_Site = tuple[int, str, int, str, str, tuple[str, ...], str, str, dict[str, str | bool], str | None]

class VcfSites:
    """The sites of a VCF (plain or gzipped), read and checked as crossreg.io.vcf.iter_vcf
    describes; the first `skip` records on `skip_chroms` are passed over unread."""

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        sites_only: bool = False,
        skip: int = 0,
        skip_chroms: Collection[str] = ...,
    ) -> None: ...
    def read(self, size: int) -> list[_Site]:
        """Up to `size` more sites `(line, chrom, pos, id, ref, alts, qual, filter, info,
        samples)`, `pos` 1-based, `info` INFO's keys and values (True for a flag),
        `samples` the text after INFO (None when there is none or with `sites_only`); an
        empty list at the end. The sites before a bad line come
        first; the next call raises ValueError naming the file and line."""
    @property
    def seen_header(self) -> bool:
        """True once a column header line or a record has been read."""
    @property
    def headerless(self) -> bool:
        """True when a record came before any column header line."""

_Record = tuple[int, str, int, str, str, list[str]]

class VcfSurvey:
    """sad's survey of a VCF (plain or gzipped) against `genome` for a model of
    `seq_length` bp (crossreg.variants.sad_survey.survey_vcf), read in batches, its
    records read and checked as VcfSites reads them; the file's bytes are hashed as they
    are read."""

    def __init__(
        self,
        path: str | os.PathLike[str],
        genome: Genome,
        seq_length: int,
        *,
        strict: bool = False,
    ) -> None: ...
    def read(self, size: int) -> int:
        """Survey up to `size` more records; returns how many were read: 0 at the end of
        the file and once a record has stopped the survey (`stop`). A bad line raises
        ValueError naming the file and line, after the records before it."""
    @property
    def stop(self) -> _Record | None:
        """The record `(line, chrom, pos, id, ref, alts)` that failed a check and stopped
        the survey, `line` its line in the file, `pos` 1-based, or None."""
    @property
    def first_off(self) -> _Record | None:
        """The first record on a chromosome the genome lacks, or None."""
    def take_counts(
        self,
    ) -> tuple[
        npt.NDArray[np.uint16],
        npt.NDArray[np.int64],
        npt.NDArray[np.uint8],
        list[str],
        dict[str, int],
    ]:
        """The counts so far, handed over: each kept record's scorable ALTs, each
        unscorable ALT's kept record and reason code, the reasons by code, and the records
        per chromosome the genome lacks."""
    @property
    def content_digest(self) -> tuple[int, str] | None:
        """`(size, sha256)` of the file's bytes once it has been read to its end; else None."""
    @property
    def seen_header(self) -> bool:
        """True once a column header line or a record has been read."""
    @property
    def headerless(self) -> bool:
        """True when a record came before any column header line."""

# what split_genomes returns; a call, not a class: check_native_stub.py would look for
# the class in the extension
_SplitOutput = TypedDict(  # noqa: UP013
    "_SplitOutput",
    {
        "region_genome": npt.NDArray[np.uint32],
        "region_chrom": npt.NDArray[np.uint32],
        "region_start": npt.NDArray[np.uint64],
        "region_end": npt.NDArray[np.uint64],
        "region_component": npt.NDArray[np.uint32],
        "component_split": npt.NDArray[np.uint32],
        "link_a": npt.NDArray[np.uint32],
        "link_b": npt.NDArray[np.uint32],
        "link_bases": npt.NDArray[np.uint64],
        "nets": list[dict[str, object]],
        "warnings": list[str],
    },
)

def split_genomes(
    genomes: list[tuple[str, list[tuple[str, int]]]],
    nets: Sequence[tuple[int, int, str | os.PathLike[str]]],
    region_size: int,
    min_aligned: int,
    fractions: list[float],
    labels: list[str],
    seed: int,
    skip_unknown: bool,
) -> _SplitOutput:
    """Split genomes by synteny (see crossreg.split.synteny.split_genomes).

    `genomes`: (name, [(chrom, length bp), ...]) each; `nets`: (target genome index, query
    genome index, path of a plain or gzipped UCSC .net). Returns a dict with uint32/uint64
    arrays `region_genome`, `region_chrom`, `region_start`, `region_end`,
    `region_component` (one entry per region), `component_split` (index into `labels`,
    one per component), `link_a`, `link_b`, `link_bases` (aligned bases per region pair,
    `a < b`), `nets` (one summary dict per net: chroms, fills, gaps, segments,
    aligned_bases, skipped_fills, skipped_chroms, non_syntenic_fills, non_syntenic_bases)
    and `warnings` (list of str).
    """

def augment_batch(
    seqs: npt.NDArray[np.uint8],
    targets: npt.NDArray[np.uint16],
    rc: npt.NDArray[np.bool_],
    shifts: npt.NDArray[np.int64],
) -> None:
    """In place, per example `i`: shift `seqs[i]` (`(n, L)` ASCII) by `shifts[i]` (N-padded,
    Basenji's sign), then if `rc[i]` reverse complement it and reverse `targets[i]`
    (`(n, bins, tracks)` float16 viewed as uint16) along the bins."""

def compress_rows(
    values: npt.NDArray[np.uint16], level: int
) -> tuple[npt.NDArray[np.uint8], npt.NDArray[np.uint64]]:
    """Compress each row of `values` (`(rows, row_len)` 2-byte values, e.g. float16 viewed
    as uint16) on its own: byte-shuffled, deflated at `level` (0-12) and followed by the
    CRC32 of its shuffled bytes. Returns `(blob, offsets)`: the rows' bytes one after the
    other and the `rows + 1` offsets bounding them."""

def decompress_rows(
    blob: npt.NDArray[np.uint8],
    offsets: npt.NDArray[np.uint64],
    rows: npt.NDArray[np.uint64],
    out: npt.NDArray[np.uint16],
    *,
    checked: bool = True,
) -> None:
    """Decode rows `rows` of `(blob, offsets)` into `out` (`(len(rows), row_len)`), in
    parallel, checking each row's CRC32 unless `checked` is false (rows of store format
    version 1 have none); a damaged or missing row raises ValueError."""

def bigwig_chrom_sizes(path: str | os.PathLike[str]) -> list[tuple[str, int]]:
    """`(name, length)` of each chromosome of a BigWig file."""

def bigwig_targets(
    tracks: list[dict],
    chroms: list[str],
    chrom_ids: npt.NDArray[np.uint32],
    starts: npt.NDArray[np.uint64],
    pool: int,
    mask: npt.NDArray[np.bool_] | None,
    fill_quantile: float,
    out: npt.NDArray[np.uint16],
    threads: int | None = None,
) -> list[dict[str, float]]:
    """Finished float16 targets (bits in `out`, `(windows, bins, tracks)`) of BigWig tracks.

    `tracks`: dicts with `files` (replicates), `sum_stat`, `clip`, `clip_soft`, `scale`.
    Windows start at `starts` on `chroms[chrom_ids]`; `mask` `(windows, bins)` marks bins
    set to the track's `fill_quantile` of unmasked bins (as are, per track, windows on a
    chromosome none of its files has). Returns per-track `fill_value`, `pooled_mean`,
    `pooled_max`, `clipped_fraction`, `target_mean`, `overflow_fraction` (bins beyond the
    float16 range, stored as 65,504), `absent_fraction`. Parallel over tracks
    and chromosomes on `threads` threads, 1 to 1,024 (the global pool when None).
    """

def bigwig_decode_all(path: str | os.PathLike[str]) -> tuple[int, int, int]:
    """Decompress every data block of a BigWig once, keeping nothing (the floor of any exact
    reader): `(blocks, compressed bytes, decompressed bytes)`."""

def chrom_hint(name: str, known: Sequence[str]) -> str:
    """The hint that follows "chromosome 'name' is not in ...": the name in `known` that
    differs from `name` only by the 'chr' prefix or by case, else the first names of `known`
    (starts with "; " or " ("); the native errors about unknown chromosomes use the same."""

def chrom_prefix_twin(name: str, known: Container[str]) -> str | None:
    """The name in `known` (tested with `in`) that differs from `name` only by the 'chr'
    prefix (`chr1` for `1`, `1` for `chr1`), or None."""
