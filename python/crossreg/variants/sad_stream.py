"""Streaming SAD: chunked scoring with bounded memory, resumable runs and shards.

:func:`crossreg.variants.sad.write_sad` reads the VCF once before scoring
(:func:`survey_vcf`): it counts the records on the FASTA's chromosomes (and those it
skips) and each one's scorable alleles, and checks their REF against the genome, so the
alleles of this run's records (all of them, or shard ``i/n``'s contiguous share) are known,
and a REF the genome contradicts has stopped the run, before the first is scored. Then
records are scored in chunks of about ``chunk_size`` alleles (a chunk ends on a record).
Each finished chunk is a directory of ``.npy`` files in ``OUT.partial/`` (:class:`ChunkStore`),
renamed into place before ``OUT.partial/progress.json`` counts it, so a run killed at any
point — even mid-chunk — continues with ``resume`` from its last finished chunk. When
every chunk is done the output is written from the chunks in one pass
(:mod:`crossreg.variants.sad_files`) and ``OUT.partial/`` is removed: the disk holds the
scores twice for the length of that copy.

Under ``torchrun`` (or with ``--shard i/n``) each process scores a contiguous share of the
records; shard files record ``shard_index``, ``shard_count``, ``run_settings`` (with
``shard_settings``, the settings it hashes, to name what differs) and ``shard_records`` so
:func:`crossreg.variants.sad_files.merge_shards` can join them into the file one process
would have written.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import logging
import os
import shutil
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

import numpy as np
import numpy.typing as npt

from crossreg import _native
from crossreg.errors import Interrupted
from crossreg.genome import Genome
from crossreg.io.atomic import atomic_write, output_error, unnamed_write_error
from crossreg.io.changes import Option, changes
from crossreg.io.identity import (
    IDENTITY_RULE,
    OLD_RULE,
    old_store_refusal,
    settings_hash,
)
from crossreg.io.partial import (
    CHUNK_NAME,
    PROGRESS_FILE,
    SETTINGS_FILE,
    check_place,
    is_store_entry,
    left_over,
    make_fresh,
    remove,
)
from crossreg.io.space import allocated_memmap
from crossreg.io.vcf import (
    Variant,
    iter_vcf,
    native_batches,
    reference_bases,
    require_ascii_record,
    require_chromosome,
    warn_bgzf_end,
)
from crossreg.model.checkpoint_info import checkpoint_identity
from crossreg.progress import progress
from crossreg.shard import Shard
from crossreg.step_defaults import HEAD_ALIAS, HEAD_OPTION, INFERENCE_OPTIONS
from crossreg.variants.alleles import Allele, report_skipped, scorable_alts
from crossreg.variants.shard_layout import DEVICE_SETTING, without_labels

if TYPE_CHECKING:
    from crossreg.model.inference import InferenceOptions

log = logging.getLogger("crossreg")

FLOAT16_MAX = float(np.finfo(np.float16).max)  # stats are clipped to it before float16


def clip_float16(values: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
    """`values` clipped to the float16 range (as Basenji does before storing)."""
    return np.clip(values, -FLOAT16_MAX, FLOAT16_MAX)


def torchrun_shard() -> Shard | None:
    """This process's shard under ``torchrun`` (``RANK/WORLD_SIZE``), else ``None``."""
    count = int(os.environ.get("WORLD_SIZE", "1") or 1)
    return Shard(int(os.environ.get("RANK", "0") or 0), count) if count > 1 else None


def refuse_shard_under_torchrun(shard: Shard | None) -> None:
    """Stop when a share was given (``--shard i/n``) to a process of a ``torchrun`` job,
    whose ranks each take their own share: every rank would write the same one."""
    if shard is not None and torchrun_shard() is not None:
        raise ValueError(
            f"--shard {shard.index}/{shard.count} under torchrun: each rank takes its own share "
            "of the work, so drop --shard (or run the shards as separate jobs without torchrun)"
        )


def shard_output(out: Path, shard: Shard) -> Path:
    """Where shard `i/n` of a ``torchrun`` run writes: ``OUT.shard-i-of-n.h5`` (or .tsv)."""
    return out.with_name(f"{out.stem}.shard-{shard.index}-of-{shard.count}{out.suffix}")


def shard_attrs(
    shard: Shard, settings: Mapping[str, object], start: int, stop: int
) -> dict[str, object]:
    """What a shard file records so that a merge can join it with its siblings: its index
    and count, the hash of the run's `settings` (``run_settings``) with the settings
    themselves (``shard_settings``, to name what differs in a shard of another run), and
    the run's records (a SAD run's kept VCF records, an ISM run's sites) ``[start, stop)``
    it holds (``shard_records``)."""
    return {
        "shard_index": shard.index,
        "shard_count": shard.count,
        "run_settings": settings_hash(settings),
        "shard_settings": json.dumps(settings, sort_keys=True, default=str),
        "shard_records": np.array([start, stop], dtype=np.int64),
    }


def kept_records(vcf: str | os.PathLike[str], genome: Genome, skip: int = 0) -> Iterator[Variant]:
    """The VCF's records on the genome's chromosomes after the first `skip` of them,
    streamed in file order (the pass after :func:`survey_vcf`'s, which checked every line
    and gave the file's warnings), without their sample columns, which scoring does not
    read. The records skipped (a later shard's, a resumed run's finished ones)
    are passed over by their CHROM alone."""
    records = iter_vcf(vcf, warn=False, sites_only=True, skip=skip, skip_chroms=genome.sizes)
    return (v for v in records if v.chrom in genome.sizes)


@dataclass(frozen=True)
class Plan:
    """This run's records ``[start, stop)`` of the kept ones, the alleles it scores and
    the alleles it skips, per reason (:func:`crossreg.variants.alleles.skip_reason`)."""

    start: int
    stop: int
    alleles: int
    skipped: dict[str, int]


@dataclass(frozen=True)
class Survey:
    """One pass over a VCF: the records on the genome (`kept`), those skipped per
    chromosome the FASTA lacks, each kept record's number of scorable alleles and, for
    every allele that cannot be scored, its kept record (`unscorable_records`, ascending)
    and its reason (`unscorable_reasons`, an index into `reasons`): 9 bytes an allele, so
    a gVCF's ``<NON_REF>`` on every record costs little; and the VCF's
    :func:`~crossreg.io.identity.content_identity`, taken from the bytes the pass read."""

    kept: int
    off_fasta: dict[str, int]
    alleles: npt.NDArray[np.uint16]
    unscorable_records: npt.NDArray[np.int64]
    unscorable_reasons: npt.NDArray[np.uint8]
    reasons: tuple[str, ...]
    identity: dict[str, object]

    def plan(self, start: int, stop: int) -> Plan:
        """The alleles of kept records ``[start, stop)``, scored and skipped."""
        first, last = np.searchsorted(self.unscorable_records, [start, stop])
        counts = np.bincount(self.unscorable_reasons[first:last], minlength=len(self.reasons))
        skipped = {self.reasons[code]: int(n) for code, n in enumerate(counts) if n}
        scored = int(self.alleles[start:stop].sum(dtype=np.int64))
        return Plan(start, stop, scored, dict(sorted(skipped.items())))


#: Records surveyed natively per call: enough to amortise it, few enough to show progress.
_SURVEY_BATCH = 1 << 16


def survey_vcf(
    vcf: str | os.PathLike[str],
    genome: Genome,
    seq_length: int,
    *,
    source: str,
    strict: bool = False,
) -> Survey:
    """The one pass before scoring: counts the records on the genome and the records
    skipped per chromosome it lacks (logged), and each kept record's scorable alleles for
    a model of `seq_length` (:class:`Survey`); stops when the VCF has records but none
    on the genome (a VCF of none is surveyed as empty), or some are on a chromosome named
    without (or with) its ``chr`` prefix (a naming
    mismatch: the error carries the hint), with `strict` at the first record off
    it, and at the first record with a scorable allele whose REF the genome contradicts
    (:func:`crossreg.io.vcf.reference_bases`), so such a run stops before it writes.

    The records are read, counted and checked natively without the GIL
    (:class:`crossreg._native.VcfSurvey`: :func:`~crossreg.variants.alleles.skip_reason`'s
    rule, the REF read from the genome in place), and the file hashed as it is read; the
    one record that fails a check is stated by the Python checks, in their words."""
    path = Path(vcf)
    warn_bgzf_end(path)
    survey = _native.VcfSurvey(path, genome.native, seq_length, strict=strict)
    with progress(None, "counting the VCF's records", "records") as meter:  # 10⁷ in 1000G
        for read in native_batches(path, survey, lambda: survey.read(_SURVEY_BATCH)):
            meter.update(read)
    if survey.stop is not None:
        _refuse(_variant(survey.stop), genome, source)
    alleles, records, codes, reasons, off = survey.take_counts()
    if survey.first_off is not None and not len(alleles):
        require_chromosome(
            _variant(survey.first_off), genome.sizes, source=source, fasta=genome.path
        )
    skipped = dict(sorted(off.items()))
    report_skipped(skipped, genome, source=source, first_on=lambda name: _first_on(path, name))
    digest = survey.content_digest
    if digest is None:  # the reader stops only at the file's end or a failed check
        raise RuntimeError(f"{source}: the survey ended before the end of the file")
    return Survey(
        len(alleles),
        skipped,
        alleles,
        records,
        codes,
        tuple(reasons),
        {"size": digest[0], "sha256": digest[1]},
    )


def _first_on(path: Path, chrom: str) -> Variant:
    """The first record of the VCF at `path` on `chrom` (read again: only an error needs
    it)."""
    return next(v for v in iter_vcf(path, warn=False, sites_only=True) if v.chrom == chrom)


def _variant(record: tuple[int, str, int, str, str, list[str]]) -> Variant:
    """The survey's record ``(line, chrom, pos, id, ref, alts)`` as a :class:`Variant`."""
    line, chrom, pos, vid, ref, alts = record
    return Variant(chrom, pos - 1, ref, tuple(alts), vid, line=line)


def _refuse(variant: Variant, genome: Genome, source: str) -> NoReturn:
    """Raise the error of the check `variant` failed in the native survey (the checks of
    :func:`survey_vcf`'s records, in their order)."""
    require_ascii_record(variant, source=source)
    require_chromosome(variant, genome.sizes, source=source, fasta=genome.path)
    reference_bases(variant, genome, source=source, swapped_snp=True)
    raise RuntimeError(
        f"{source}: the native survey stopped at the record at "
        f"{variant.chrom}:{variant.pos + 1}, which the checks pass"
    )


def record_chunks(
    records: Iterable[Variant], chunk_size: int, seq_length: int
) -> Iterator[list[Variant]]:
    """Records grouped so that each group has at least `chunk_size` scorable alleles (the
    last one fewer); a group ends on a record."""
    group: list[Variant] = []
    count = 0
    for v in records:
        group.append(v)
        count += len(scorable_alts(v, seq_length))
        if count >= chunk_size:
            yield group
            group, count = [], 0
    if group:
        yield group


def run_settings(
    model_dir: str | os.PathLike[str],
    genome: Genome,
    source: Mapping[str, object],
    head: str,
    options: InferenceOptions,
    stats: Sequence[str],
    strict: bool,
) -> dict[str, object]:
    """What makes two runs (or shards) produce the same scores: the inputs by content
    (:mod:`crossreg.io.identity`; a copy at another path is the same input; `source`, the
    variants' or sites' file's :func:`~crossreg.io.identity.content_identity`), the head,
    options and statistics."""
    return {
        "identity": IDENTITY_RULE,
        "model": checkpoint_identity(model_dir),
        "fasta": genome.fasta_identity(),
        "vcf": dict(source),
        "head": head,
        "options": dataclasses.asdict(options),
        "stats": list(stats),
        "strict": strict,
    }


def scored_on(run: Mapping[str, Any], devices: Sequence[str], device: str) -> dict[str, object]:
    """What an output records of the devices that scored it: `devices`, those that scored
    its chunks in the order they first did (:attr:`StoreState.devices`; none recorded:
    `device`, this process's), as ``device``, the one device or the list of them, and
    ``settings``, its `run` record (:func:`crossreg.variants.sad.run_record`) with the
    kinds of device (``options.device``: ``cuda`` of ``cuda: NVIDIA H100``, as
    :func:`~crossreg.model.inference.device_label` writes it) as the list of them,
    ascending, when there are several (a run resumed on a node of another kind)."""
    scored = list(devices) or [device]
    kinds = sorted({label.split(":")[0] for label in scored})
    if len(kinds) > 1:
        run = {**run, "options": {**run["options"], DEVICE_SETTING: kinds}}
    return {
        "device": scored[0] if len(scored) == 1 else scored,
        "settings": json.dumps(run, sort_keys=True),
    }


def partial_dir(out: Path) -> Path:
    """``OUT.partial/``: the finished chunks of a run being written, and its progress."""
    return out.with_name(out.name + ".partial")


SAD_INPUTS = "model, FASTA, VCF and options"


def refuse_partial(out: Path, inputs: str = SAD_INPUTS, output: Path | None = None) -> None:
    """Stop when an interrupted run left ``OUT.partial/`` and ``resume`` was not asked;
    `inputs` names what a resumed run must share with it. ``OUT.partial`` may be a link
    to a folder elsewhere (:mod:`crossreg.io.partial`): one to an empty folder is not
    left over, one to a folder holding other files, or to `output` (what a shard `out`
    ends in), is refused."""
    partial = partial_dir(out)
    check_place(partial, output)
    if left_over(partial):
        raise FileExistsError(
            f"{partial} is left from an interrupted run: rerun with --resume to continue it "
            f"(same {inputs}), or delete {partial.name} to start again"
        )


@dataclass(frozen=True)
class StoreState:
    """How far a run is: records, alleles and chunks finished, gene rows written, and the
    devices that scored the chunks, in the order they first did (a run resumed on another
    node has several; :func:`~crossreg.model.inference.device_label` names each)."""

    settings: str
    records_done: int = 0
    alleles_done: int = 0
    chunks_done: int = 0
    gene_rows: int = 0
    devices: tuple[str, ...] = ()


class ChunkWriter:
    """The files of one chunk being written: each statistic's rows (memory-mapped
    ``.npy`` of `dtype`, float16 values clipped to its range), the alleles' fields, and
    the chunk's gene-table rows."""

    def __init__(self, directory: Path, rows: int, dtype: str) -> None:
        self.directory, self.rows, self.dtype = directory, rows, np.dtype(dtype)
        self.row = 0
        self.arrays: dict[str, np.memmap] = {}
        self._genes: Any = None

    def add(self, batch: Mapping[str, npt.NDArray[np.float32]], stats: Sequence[str]) -> int:
        """Append a scored batch's rows of each of `stats`; returns how many rows."""
        size = len(batch[stats[0]])
        for name in stats:
            values = batch[name]
            if self.dtype == np.float16:
                values = clip_float16(values)
            if name not in self.arrays:
                self.arrays[name] = allocated_memmap(
                    self.directory / f"{name}.npy", self.dtype, (self.rows, *values.shape[1:])
                )
            self.arrays[name][self.row : self.row + size] = values
        self.row += size
        return size

    def genes(self) -> Any:
        """The chunk's gene-table rows (a text file, opened on first use)."""
        if self._genes is None:
            self._genes = open(self.directory / "genes.tsv", "w")  # noqa: SIM115
        return self._genes

    def finish(self, alleles: Sequence[Allele] | None = None) -> None:
        """Check every row was written, save the alleles' fields (SAD's; a store whose rows
        are known from its inputs, as ISM's sites are, gives none) and close the files."""
        if self.row != self.rows or (alleles is not None and len(alleles) != self.rows):
            raise RuntimeError(f"expected {self.rows} rows in a chunk, got {self.row}")
        if alleles is not None:
            self._save_fields(alleles)
        for written in self.arrays.values():
            written.flush()
        self.arrays.clear()
        if self._genes is not None:
            self._genes.close()

    def _save_fields(self, alleles: Sequence[Allele]) -> None:
        fields = {
            "snp": [a.label for a in alleles],
            "chr": [a.variant.chrom for a in alleles],
            "ref_allele": [a.variant.ref for a in alleles],
            "alt_allele": [a.alt for a in alleles],
        }
        for name, values in fields.items():
            np.save(self.directory / f"{name}.npy", np.array(values, dtype="S"))
        positions = np.array([a.variant.pos + 1 for a in alleles], dtype=np.uint32)
        np.save(self.directory / "pos.npy", positions)


#: An earlier crossreg's ISM shards' setting of which tracks the merge draws: each kept
#: one (``--targets`` given, as one run draws them) or each site's strongest.
FIGURE_TRACKS = "figure_tracks"


#: settings recorded only where they differ from these values, so that runs from before the
#: setting existed still match: an absent one reads as its value here
ABSENT_SETTINGS: dict[str, object] = {"chunk_dtype": "float32"}

#: How the settings a SAD or ISM run records are given on its command line, where they
#: are not spelt as their keys (:mod:`crossreg.io.changes`); ``tracks`` is ``--targets``
#: as given.
RUN_OPTIONS: dict[str, Option] = {
    **INFERENCE_OPTIONS,
    "head": Option(HEAD_OPTION),
    "tracks": Option("--targets", unset="every track"),
    FIGURE_TRACKS: Option("--targets", label="figure tracks"),
    "shard": Option("--shard", words={"None": "none (the whole run)"}),
    "variants_genome": Option("--variants-genome", unset="not given"),
}


def head_named(head_option: str) -> Callable[[Mapping[str, Any], Mapping[str, Any]], list[str]]:
    """:func:`setting_changes` of SAD's and ISM's options with the head named as
    `head_option`, its option as the user gave it (``--head`` or ``--genome``)."""
    return partial(setting_changes, options={**RUN_OPTIONS, "head": Option(head_option)})


#: The head's option as a merge of shards names it: the shards record the head, not which
#: spelling each run was given it in (``--head/--genome human then, mouse now``)
EITHER_HEAD_OPTION = f"{HEAD_OPTION}/{HEAD_ALIAS}"


def setting_changes(
    before: Mapping[str, Any], now: Mapping[str, Any], options: Mapping[str, Option] = RUN_OPTIONS
) -> list[str]:
    """The settings that differ between `before` and `now` (JSON values), each named by
    the option that sets it, as `options` say (:func:`crossreg.io.changes.changes`:
    ``--batch-size 8 then, 3 now``, ``--rc off then, on now``; the inference ``options``
    one by one; an input by how its content differs: ``--vcf: the same size, other content
    (…)``). Settings recorded before inputs were compared by content say only that."""
    if before.get("identity") != now.get("identity"):
        return [OLD_RULE]
    before, now = _tracks_as_given(before), _tracks_as_given(now)
    return changes(before, now, options, absent=ABSENT_SETTINGS, nested=("options",))


def _tracks_as_given(record: Mapping[str, Any]) -> Mapping[str, Any]:
    """`record` with the kept tracks' indices in the head that an earlier crossreg's ISM
    run recorded (``targets``) read as the ``--targets`` that keeps them (``tracks``), said
    to be indices: ISM runs now record ``--targets`` as given."""
    if "targets" not in record or "tracks" in record:
        return record
    indices = ",".join(str(i) for i in record["targets"])
    given = f"{indices} (the tracks' indices, as an earlier crossreg recorded them)"
    return {k: v for k, v in record.items() if k != "targets"} | {"tracks": given}


class ChunkStore:
    """``OUT.partial/`` (or the folder it links to, :mod:`crossreg.io.partial`): one
    directory per finished chunk and ``progress.json``; `unit`
    names what the chunks count (alleles for SAD) in the log; `device`, where given, is
    the device this process scores on (:func:`~crossreg.model.inference.device_label`),
    counted among the state's devices with each chunk it finishes; `output`, where given,
    is what the chunks of a shard `out` end in (a link into it is refused,
    :func:`crossreg.io.partial.check_place`); `changes` names the settings that differ
    from those the store was left by (:func:`setting_changes`, SAD's options)."""

    def __init__(
        self,
        out: Path,
        unit: str = "alleles",
        device: str | None = None,
        output: Path | None = None,
        changes: Callable[[Mapping[str, Any], Mapping[str, Any]], list[str]] = setting_changes,
    ) -> None:
        self.root = partial_dir(out)
        self.output = output
        self.progress_path = self.root / PROGRESS_FILE
        self.unit = unit
        self.device = device
        self.changes = changes

    def open(self, settings: Mapping[str, object], *, resume: bool, total: int) -> StoreState:
        """Start afresh, or with `resume` continue a store left by the same `settings`
        (kept in ``settings.json``, so that other ones are named), whatever either gives of
        :data:`~crossreg.variants.shard_layout.LABEL_SETTINGS` (``--variants-genome``): the
        chunks' scores do not depend on it, and the output records this run's.
        ``OUT.partial`` may be a link (:func:`crossreg.io.partial.check_place`)."""
        check_place(self.root, self.output)
        settings = without_labels(settings)
        key = settings_hash(settings)
        if resume and self.progress_path.exists():
            saved = self.saved()
            if saved.settings != key:
                changes = self._changes(settings)
                if changes == OLD_RULE:
                    raise ValueError(old_store_refusal(self.root))
                raise ValueError(
                    f"{self.root}: left by a run with other settings ({changes}); "
                    "resume with the options and inputs it started with, or delete it to start "
                    "again"
                )
            done = self.chunk_names(saved)
            for stale in self.root.iterdir():  # a chunk begun but not counted
                if stale.is_dir() and is_store_entry(stale.name) and stale.name not in done:
                    shutil.rmtree(stale)
            log.info(
                "resuming %s after chunk %d: %d/%d %s done",
                self.root,
                saved.chunks_done,
                saved.alleles_done,
                total,
                self.unit,
            )
            return saved
        if resume:
            log.info("%s: no finished chunk to resume; starting from the beginning", self.root)
        make_fresh(self.root, self.output)
        with atomic_write(self.root / SETTINGS_FILE) as handle:
            json.dump(settings, handle, sort_keys=True, default=str)
        state = StoreState(key)
        self._save(state)
        return state

    def _changes(self, settings: Mapping[str, object]) -> str:
        """What differs between the settings the store was left by and `settings`, by
        option name (a store without ``settings.json`` says only that they differ)."""
        try:
            before = json.loads((self.root / SETTINGS_FILE).read_text())
        except (OSError, UnicodeDecodeError, json.JSONDecodeError):
            return "its inputs, head, options, tracks, shard or chunk size"
        now = json.loads(json.dumps(settings, sort_keys=True, default=str))
        return "; ".join(self.changes(before, now)) or "the recorded settings"

    def saved(self) -> StoreState:
        """The state of the last finished chunk, as ``progress.json`` records it (one of an
        earlier crossreg records no devices)."""
        saved = json.loads(self.progress_path.read_text())
        return StoreState(**saved | {"devices": tuple(saved.get("devices", ()))})

    def chunk_names(self, state: StoreState) -> list[str]:
        """The directory names of the finished chunks, in order."""
        return [CHUNK_NAME.format(k) for k in range(state.chunks_done)]

    @contextlib.contextmanager
    def chunk(self, state: StoreState, rows: int, dtype: str) -> Iterator[ChunkWriter]:
        """A writer for the next chunk; the chunk is in place only when the block ends. A
        full disk is an :class:`~crossreg.io.atomic.OutputError` naming the store."""
        final = self.root / CHUNK_NAME.format(state.chunks_done)
        tmp = final.with_name(f".{final.name}.tmp")
        shutil.rmtree(tmp, ignore_errors=True)
        shutil.rmtree(final, ignore_errors=True)
        tmp.mkdir()
        try:
            yield ChunkWriter(tmp, rows, dtype)
            os.replace(tmp, final)
        except BaseException as err:
            shutil.rmtree(tmp, ignore_errors=True)
            unnamed = unnamed_write_error(err)
            if unnamed is not None:  # finished chunks stay for --resume
                raise output_error(unnamed, self.root) from err
            raise

    def commit(self, state: StoreState, records: int, alleles: int, gene_rows: int) -> StoreState:
        """Count one more finished chunk (after its directory is in place), and the store's
        device among those that scored."""
        devices = state.devices
        if self.device is not None and self.device not in devices:
            devices = (*devices, self.device)
        state = dataclasses.replace(
            state,
            records_done=state.records_done + records,
            alleles_done=state.alleles_done + alleles,
            chunks_done=state.chunks_done + 1,
            gene_rows=state.gene_rows + gene_rows,
            devices=devices,
        )
        self._save(state)
        return state

    def _save(self, state: StoreState) -> None:
        with atomic_write(self.progress_path) as handle:
            json.dump(dataclasses.asdict(state), handle)

    def parts(self, state: StoreState) -> list[dict[str, np.ndarray]]:
        """The finished chunks' arrays (memory-mapped), in order."""
        return [
            {path.stem: np.load(path, mmap_mode="r") for path in sorted(directory.glob("*.npy"))}
            for directory in (self.root / name for name in self.chunk_names(state))
        ]

    def gene_pieces(self, state: StoreState) -> list[Path]:
        """The finished chunks' gene-table rows, in order."""
        pieces = [self.root / name / "genes.tsv" for name in self.chunk_names(state)]
        return [piece for piece in pieces if piece.exists()]

    def interrupted(self, total: int) -> Interrupted:
        """The error of a run stopped with this store's finished chunks kept: how many of
        the run's `total` (in the store's unit) they hold, and how to continue."""
        return Interrupted(
            f"{self.saved().alleles_done} of {total} {self.unit} kept in {self.root}; "
            "rerun with --resume to continue"
        )

    def remove(self) -> None:
        """Delete the store once the output is written (:func:`crossreg.io.partial.remove`:
        for a link, its folder's contents)."""
        remove(self.root)


@contextlib.contextmanager
def kept_when_stopped(store: ChunkStore, total: int) -> Iterator[None]:
    """Ctrl-C (or SIGTERM, :mod:`crossreg.interrupts`) within the block keeps the finished
    chunks of `store` for ``--resume``: :class:`~crossreg.errors.Interrupted` says how
    many of the run's `total` (in the store's unit) they hold. An error removes the store
    when it holds none, so that a plain rerun may start."""
    try:
        yield
    except KeyboardInterrupt:
        raise store.interrupted(total) from None
    except Exception:
        if store.saved().alleles_done == 0:
            store.remove()
        raise
