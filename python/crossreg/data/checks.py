"""Up-front checks of a dataset build's inputs: every problem found before any long work,
each reported once with the file, the record and the fix."""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from crossreg.data.bigwig import bigwig_chrom_sizes, bigwig_identity
from crossreg.data.windows import SPLIT_ORDER, labelled_regions
from crossreg.genome import Genome
from crossreg.io.bed import Interval, check_within, read_bed
from crossreg.io.chroms import chrom_hint, prefix_twin
from crossreg.io.h5 import is_hdf5
from crossreg.io.targets import Target, TargetsTable
from crossreg.io.targets_read import MAX_PROBLEMS, read_targets
from crossreg.io.track_files import HDF5_SUFFIXES
from crossreg.progress import progress
from crossreg.shard import Shard

log = logging.getLogger("crossreg")

#: A fold label as ``crossreg split --folds K`` writes them: ``fold0`` .. ``fold{K-1}``.
_FOLD = re.compile(r"fold(0|[1-9][0-9]*)")

#: The allowed split labels, as error messages give them.
_ALLOWED = (
    "train, valid and test (or, in every line, the folds fold0..fold{K-1} that "
    "`crossreg split --folds K` writes)"
)


@dataclass(frozen=True)
class Inputs:
    """Checked inputs of a build: the genome, the targets table and the BED intervals (the
    regions merged per split label, :func:`crossreg.data.windows.labelled_regions`)."""

    genome: Genome
    table: TargetsTable
    regions: list[Interval] | None
    gaps: list[Interval]
    blacklist: list[Interval]
    unmappable: list[Interval]
    #: Each track file's chromosome names (every file opened once, here).
    file_chroms: dict[Path, frozenset[str]]
    #: Each track file's :func:`~crossreg.data.bigwig.bigwig_identity`, taken then.
    file_identity: dict[Path, dict[str, object]]


def check_file(path: str | os.PathLike[str], what: str) -> Path:
    """`path` as a Path, or ValueError when it is missing, a folder, a stream (a pipe,
    which a second read finds empty) or unreadable."""
    p = Path(path)
    if not p.exists():
        raise ValueError(f"{p}: {what} not found; check the path")
    if p.is_dir():
        raise ValueError(f"{p}: {what} is a folder; give the file")
    if not p.is_file():
        raise ValueError(
            f"{p}: {what} is a pipe or other stream, which can be read only once; write it "
            "to a file first (a build reads its BEDs twice, and its inputs again when resumed)"
        )
    if not os.access(p, os.R_OK):
        raise ValueError(f"{p}: {what} is not readable; check its permissions")
    return p


def check_chromosomes(
    source: str, chroms: Mapping[str, int], fasta_sizes: Mapping[str, int], *, fasta: str
) -> None:
    """Chromosomes of a track file must carry the FASTA's names and lengths.

    Chromosomes the FASTA lacks are allowed (their data is unused) unless their name
    differs from a FASTA chromosome only by the ``chr`` prefix, or no name is shared at all.
    """
    shared = [c for c in chroms if c in fasta_sizes]
    for name in chroms:
        if name not in fasta_sizes and prefix_twin(name, fasta_sizes) is not None:
            hint = chrom_hint(name, fasta_sizes)
            raise ValueError(f"{source}: chromosome '{name}' is not in {fasta}{hint}")
    if chroms and not shared:
        shown = ", ".join(list(chroms)[:3])
        raise ValueError(
            f"{source}: none of its chromosomes ({shown}, ...) is in {fasta}; are the files "
            "from the same genome?"
        )
    for name in shared:
        if chroms[name] != fasta_sizes[name]:
            raise ValueError(
                f"{source}: chromosome '{name}' is {chroms[name]:,} bp but {fasta_sizes[name]:,} "
                f"bp in {fasta}: the files come from different genome builds; use a track "
                "made on the FASTA's assembly"
            )


def check_split_labels(records: Sequence[Interval], path: str) -> None:
    """The split labels (column 4) of a regions BED's `records` (read with their lines) must
    all be train/valid/test, or all folds ``fold0..fold{K-1}`` without gaps (as written by
    ``crossreg split --folds K``); ValueError naming the file, the line and the allowed
    labels otherwise.

    The kind of labels is the one most lines carry; a file mixing both kinds is refused at
    the first line of the other kind.
    """
    labels = [(iv.line, iv.extra[0] if iv.extra else "") for iv in records]
    for line, label in labels:
        if not label:
            raise ValueError(
                f"{path}:{line}: no split label in column 4 (regions BED); the labels are "
                f"{_ALLOWED}"
            )
    folds = [(line, label) for line, label in labels if _FOLD.fullmatch(label)]
    standard = [(line, label) for line, label in labels if label in SPLIT_ORDER]
    if len(folds) <= len(standard):
        for line, label in labels:
            if label in SPLIT_ORDER:
                continue
            if _FOLD.fullmatch(label):
                raise ValueError(
                    f"{path}:{line}: split label '{label}' is a fold but line {standard[0][0]} "
                    f"has '{standard[0][1]}' (regions BED): the labels are train, valid and "
                    "test, or in every line the folds fold0..fold{K-1}, not both"
                )
            raise ValueError(
                f"{path}:{line}: split label '{label}' is not allowed (regions BED); the "
                f"labels are {_ALLOWED}"
            )
        return
    present = {int(label[4:]) for _, label in folds}
    k = next(i for i in range(len(present) + 1) if i not in present)
    allowed = f"fold0..fold{k - 1}" if k else "fold0, fold1, ..."
    first = folds[0]
    for line, label in labels:
        if _FOLD.fullmatch(label) and int(label[4:]) < k:
            continue
        if label in SPLIT_ORDER:
            why = f"this file's labels are folds (line {first[0]} has '{first[1]}')"
            why += "; a file holds either train/valid/test or folds, not both"
        elif _FOLD.fullmatch(label):
            why = f"the file has no 'fold{k}' (folds run from fold0 without gaps)"
        else:
            why = f"this file's labels are folds (line {first[0]} has '{first[1]}')"
        raise ValueError(
            f"{path}:{line}: split label '{label}' is not allowed (regions BED): the labels "
            f"are the folds {allowed}, as `crossreg split --folds K` writes them; {why}"
        )


def _genome_bed(
    path: str,
    what: str,
    sizes: Mapping[str, int],
    fasta: str,
    intervals: list[Interval] | None = None,
) -> list[Interval]:
    """A BED of the genome (regions, gaps, blacklist, unmappable): intervals on chromosomes
    the FASTA lacks are dropped (with a log line), but a file sharing no chromosome with it,
    or differing from it by the ``chr`` prefix, is refused, and intervals must end within
    their chromosome. `intervals` are the file's, when already read."""
    if intervals is None:
        intervals = read_bed(check_file(path, what))
    names = dict.fromkeys(iv.chrom for iv in intervals)
    for name in names:
        if name not in sizes and prefix_twin(name, sizes) is not None:
            hint = chrom_hint(name, sizes)
            raise ValueError(f"{path} ({what}): chromosome '{name}' is not in {fasta}{hint}")
    if names and not any(n in sizes for n in names):
        raise ValueError(
            f"{path} ({what}): none of its chromosomes is in {fasta}; is it for another genome?"
        )
    kept = [iv for iv in intervals if iv.chrom in sizes]
    if len(kept) < len(intervals):
        absent = sorted({n for n in names if n not in sizes})
        log.info(
            "%s: %d intervals on %d chromosomes absent from %s ignored (%s)",
            path,
            len(intervals) - len(kept),
            len(absent),
            fasta,
            ", ".join(absent[:3]) + (", ..." if len(absent) > 3 else ""),
        )
    check_within(kept, sizes, source=path, what=what, fasta=fasta)
    return kept


def check_numbers(
    *,
    seq_length: int,
    stride: int,
    stride_test: int | None = None,
    crop_bins: int,
    pool_width: int,
    threads: int | None,
    max_unmappable: float,
    fill_quantile: float,
) -> None:
    """Numeric options must be in range and consistent (ValueError naming the option)."""
    if pool_width <= 0:
        raise ValueError(f"--pool-width must be positive, got {pool_width}")
    if seq_length <= 0 or seq_length % pool_width:
        raise ValueError(
            f"--seq-length {seq_length} must be a positive multiple of the pool width {pool_width}"
        )
    if stride <= 0:
        raise ValueError(f"--stride must be positive, got {stride}")
    if stride_test is not None and stride_test <= 0:
        raise ValueError(f"--stride-test must be positive, got {stride_test}")
    if crop_bins < 0 or 2 * crop_bins >= seq_length // pool_width:
        window_bins = seq_length // pool_width
        raise ValueError(
            f"--crop {crop_bins} bins per side leaves no target bins of a {window_bins}-bin "
            f"window; use a crop from 0 to {(window_bins - 1) // 2}"
        )
    if threads is not None and threads < 1:
        raise ValueError(f"--threads must be at least 1, got {threads}")
    if not 0 < max_unmappable <= 1:
        raise ValueError(f"--max-unmappable must be in (0, 1], got {max_unmappable}")
    if not 0 <= fill_quantile <= 1:
        raise ValueError(f"--fill-quantile must be in [0, 1], got {fill_quantile}")


#: Coverage files Basenji's targets tables may name that crossreg does not read.
_PEAK_SUFFIXES = (".bed", ".narrowpeak", ".bed.gz", ".narrowpeak.gz")


def _not_bigwig_hint(file: Path) -> str:
    """What to do with a track file that is not a BigWig: Basenji's HDF5 coverage and peak
    BEDs are named as such, with the conversion."""
    name = file.name.lower()
    if is_hdf5(file) or name.endswith(HDF5_SUFFIXES):
        return (
            "it is an HDF5 file, as Basenji's per-base coverage (bam_cov.py's .h5/.w5) is; "
            "crossreg reads BigWig only: write the coverage as a BigWig (bedGraphToBigWig, "
            "or pyBigWig) and name that file"
        )
    if name.endswith(_PEAK_SUFFIXES):
        return (
            "it is a peak BED, which Basenji's later code reads as a 0/1 mask per base; "
            "crossreg reads BigWig only: write the peaks as a bedGraph of 1s and convert it "
            "with bedGraphToBigWig"
        )
    return "is it a BigWig file?"


def _row_of(table: TargetsTable, target: Target) -> str:
    """Where `target` is in `table`: ``targets.txt line 3``."""
    line = table.line_of(target)
    return f"{table.path} line {line}" if line else str(table.path)


def _read_track_file(
    file: Path, target: Target, table: TargetsTable, sizes: Mapping[str, int], fasta: str
) -> tuple[frozenset[str], dict[str, object]] | str:
    """The chromosome names and the identity of the track file `file` of `target`, or what
    is wrong with it (a message naming the file, the track and its row)."""
    row = _row_of(table, target)
    try:
        check_file(file, f"track file of '{target.identifier}' ({row})")
    except ValueError as err:
        return str(err)
    try:
        chroms = dict(bigwig_chrom_sizes(file))
    except ValueError as err:
        # what to do with a file of another kind; a damaged BigWig's error says it
        hint = f"; {_not_bigwig_hint(file)}" if "not a BigWig" in str(err) else ""
        return f"{err} (track '{target.identifier}', {row}){hint}"
    try:
        check_chromosomes(
            f"{file} (track '{target.identifier}', {row})", chroms, sizes, fasta=fasta
        )
    except ValueError as err:
        return str(err)
    try:
        identity = bigwig_identity(file)
    except OSError as err:
        return (
            f"{file}: cannot be read ({err.strerror or err}) (track '{target.identifier}', {row})"
        )
    return frozenset(chroms), identity


def check_inputs(
    *,
    fasta: str | os.PathLike[str],
    targets: str | os.PathLike[str],
    regions: str | os.PathLike[str] | None = None,
    gaps: str | os.PathLike[str] | None = None,
    blacklist: Sequence[str | os.PathLike[str]] = (),
    unmappable: str | os.PathLike[str] | None = None,
    shard: Shard | None = None,
) -> Inputs:
    """Read and cross-check every input file; raise ValueError at the first problem, but
    with every track file that cannot be used named in one error.

    With a `shard` (``crossreg data --tracks i/n``) only the track files of its share of
    the tracks are checked (and in :attr:`Inputs.file_chroms` and
    :attr:`Inputs.file_identity`): it reads no other.
    """
    table = read_targets(check_file(targets, "targets table"), check_files=True, shard=shard)
    genome = Genome(check_file(fasta, "FASTA"), hash_content=True)
    sizes, fasta_name = genome.sizes, str(fasta)

    def bed(path: str | os.PathLike[str] | None, what: str) -> list[Interval]:
        return _genome_bed(str(path), what, sizes, fasta_name) if path else []

    region_list = None
    if regions is not None:
        records = read_bed(check_file(regions, "regions BED"))
        check_split_labels(records, str(regions))
        region_list = labelled_regions(
            _genome_bed(str(regions), "regions BED", sizes, fasta_name, records),
            source=f"{regions} (regions BED)",
        )
    gap_list = bed(gaps, "gaps BED")
    black = [iv for b in blacklist for iv in bed(b, "blacklist BED")]
    unmap = bed(unmappable, "unmappable BED")
    # each file once, with the first track naming it (thousands of them take a while to
    # open on a network file system: the progress shows it)
    first, stop = shard.bounds(len(table)) if shard else (0, len(table))
    files: dict[Path, Target] = {}
    for target in table.targets[first:stop]:
        for file in table.track_files(target):
            files.setdefault(file, target)
    file_chroms: dict[Path, frozenset[str]] = {}
    file_identity: dict[Path, dict[str, object]] = {}
    problems = []
    with progress(len(files), "track files checked", "files") as meter:
        for file, target in files.items():
            found = _read_track_file(file, target, table, sizes, fasta_name)
            if isinstance(found, str):
                problems.append(found)
            else:
                file_chroms[file], file_identity[file] = found
            meter.update(1)
    if problems:
        raise ValueError(_listed(problems, f"{table.path}: {len(problems)} track files"))
    return Inputs(genome, table, region_list, gap_list, black, unmap, file_chroms, file_identity)


def _listed(problems: Sequence[str], head: str) -> str:
    """One problem as it is, more under `head` (up to :data:`MAX_PROBLEMS` of them)."""
    if len(problems) == 1:
        return problems[0]
    shown = "\n  ".join(problems[:MAX_PROBLEMS])
    more = len(problems) - MAX_PROBLEMS
    return f"{head} cannot be used:\n  {shown}" + (f"\n  ... and {more} more" if more > 0 else "")
