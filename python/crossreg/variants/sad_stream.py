"""Streaming SAD: chunked scoring with bounded memory, resumable runs, shards and merging.

:func:`crossreg.variants.sad.write_sad` reads the VCF twice before scoring: a first pass
counts the records on the FASTA's chromosomes (and those it skips), a second one counts the
alleles of this run's records (all of them, or shard ``i/n``'s contiguous share) and the
widths of their names, so every ``.h5`` dataset is created at its final shape. Then records
are scored in chunks of about ``chunk_size`` alleles (a chunk ends on a record), each chunk's
rows are written and flushed into ``OUT.partial``, and ``OUT.partial.json`` records how many
records and alleles are done; ``{stat}_pct`` are computed over all rows at the end, reading
the scores back block of tracks by block, and the partial file is renamed to ``OUT``.
A run stopped at any point continues from its last finished chunk with ``resume``.

Shard files are complete SAD files of their share (with percentiles over it) that record
``shard_index``, ``shard_count`` and ``run_settings`` as attributes; :func:`merge_shards`
joins the shards of one run, in order, into the file a single run would have written.
"""

from __future__ import annotations

import dataclasses
import hashlib
import itertools
import json
import logging
import os
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from crossreg.genome import Genome
from crossreg.io.atomic import atomic_path, atomic_write
from crossreg.io.vcf import Variant, iter_vcf, require_chromosome
from crossreg.variants.alleles import Allele, format_counts, scorable_alts
from crossreg.variants.sad_stats import (
    PERCENTILES,
    PROFILE_STATS,
    STATS,
    TRACK_BLOCK,
    clip_float16,
)

log = logging.getLogger("crossreg")

DEFAULT_CHUNK_SIZE = 50_000
SHARD_ATTRS = ("shard_index", "shard_count", "run_settings", "shard_records")
COPY_ROWS = 65_536  # rows per block when merging shards


@dataclass(frozen=True)
class Shard:
    """Shard `index` (from 0) of `count` contiguous shares of a VCF's records."""

    index: int
    count: int

    @classmethod
    def parse(cls, text: str) -> Shard:
        """``"i/n"`` → ``Shard(i, n)``, checked."""
        left, sep, right = text.partition("/")
        try:
            index, count = int(left), int(right)
        except ValueError:
            raise ValueError(f"--shard '{text}': write it i/n, e.g. 0/4") from None
        if not sep or count < 1 or not 0 <= index < count:
            raise ValueError(f"--shard '{text}': need 0 <= i < n, e.g. 0/4")
        return cls(index, count)

    def bounds(self, records: int) -> tuple[int, int]:
        """Records ``[i*N/n, (i+1)*N/n)`` of `records` scorable records."""
        return self.index * records // self.count, (self.index + 1) * records // self.count

    def __str__(self) -> str:
        return f"{self.index}/{self.count}"


def kept_records(vcf: str | os.PathLike[str], genome: Genome) -> Iterator[Variant]:
    """The VCF's records on the genome's chromosomes, streamed in file order."""
    return (v for v in iter_vcf(vcf) if v.chrom in genome.sizes)


def survey_vcf(
    vcf: str | os.PathLike[str], genome: Genome, *, source: str, strict: bool = False
) -> tuple[int, dict[str, int]]:
    """First pass: the number of records on the genome and the records skipped per
    chromosome it lacks (logged); stops when no record is on the genome (a naming mismatch:
    the error carries the hint), or with `strict` at the first record off it."""
    kept = 0
    off: Counter[str] = Counter()
    first_off: Variant | None = None
    for v in iter_vcf(vcf):
        if v.chrom in genome.sizes:
            kept += 1
            continue
        if strict:
            require_chromosome(v, genome, source=source)
        off[v.chrom] += 1
        first_off = first_off or v
    if first_off is not None and not kept:
        require_chromosome(first_off, genome, source=source)
    skipped = dict(sorted(off.items()))
    if skipped:
        log.warning(
            "%s: skipped %d records on %d chromosome(s) the FASTA lacks: %s",
            source,
            sum(skipped.values()),
            len(skipped),
            format_counts(skipped),
        )
    return kept, skipped


@dataclass(frozen=True)
class Plan:
    """This run's records ``[start, stop)`` of the kept ones, its allele count and the byte
    widths of the string datasets (as ``np.array(..., dtype="S")`` would choose them)."""

    start: int
    stop: int
    alleles: int
    widths: dict[str, int]


def plan_run(vcf: str | os.PathLike[str], genome: Genome, start: int, stop: int) -> Plan:
    """Second pass: count the alleles of records ``[start, stop)`` and their name widths."""
    widths = dict.fromkeys(("snp", "chr", "ref_allele", "alt_allele"), 1)
    alleles = 0
    for v in itertools.islice(kept_records(vcf, genome), start, stop):
        for alt in scorable_alts(v):
            alleles += 1
            for key, text in (
                ("snp", Allele(v, alt).label),
                ("chr", v.chrom),
                ("ref_allele", v.ref),
                ("alt_allele", alt),
            ):
                widths[key] = max(widths[key], len(text.encode("ascii")))
    return Plan(start, stop, alleles, widths)


def record_chunks(records: Iterable[Variant], chunk_size: int) -> Iterator[list[Variant]]:
    """Records grouped so that each group has at least `chunk_size` scorable alleles (the
    last one fewer); a group ends on a record."""
    group: list[Variant] = []
    count = 0
    for v in records:
        group.append(v)
        count += len(scorable_alts(v))
        if count >= chunk_size:
            yield group
            group, count = [], 0
    if group:
        yield group


def settings_hash(settings: Mapping[str, object]) -> str:
    """A short hash of a run's settings (JSON, sorted keys)."""
    text = json.dumps(settings, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def file_identity(path: str | os.PathLike[str]) -> dict[str, object]:
    """A file's resolved path, size and modification time (what a resumed run must match)."""
    path = Path(path)
    stat = path.stat()
    return {"path": str(path.resolve()), "size": stat.st_size, "mtime_ns": stat.st_mtime_ns}


def run_settings(
    model_dir: str | os.PathLike[str],
    fasta: str | os.PathLike[str],
    vcf: str | os.PathLike[str],
    head: str,
    options: object,
    stats: Sequence[str],
    strict: bool,
) -> dict[str, object]:
    """What makes two runs (or shards) produce the same scores."""
    model_dir = Path(model_dir)
    return {
        "model": str(model_dir.resolve()),
        "model_files": sorted(
            (p.name, p.stat().st_size, p.stat().st_mtime_ns)
            for p in model_dir.iterdir()
            if p.is_file()
        )
        if model_dir.is_dir()
        else [],
        "fasta": file_identity(fasta),
        "vcf": file_identity(vcf),
        "head": head,
        "options": dataclasses.asdict(options) if dataclasses.is_dataclass(options) else options,
        "stats": list(stats),
        "strict": strict,
    }


def partial_paths(out: Path) -> tuple[Path, Path]:
    """``OUT.partial`` (the ``.h5`` being written) and ``OUT.partial.json`` (its progress)."""
    return out.with_name(out.name + ".partial"), out.with_name(out.name + ".partial.json")


def refuse_partial(out: Path) -> None:
    """Stop when an interrupted run left ``OUT.partial`` and ``resume`` was not asked."""
    partial, progress = partial_paths(out)
    if partial.exists() or progress.exists():
        raise FileExistsError(
            f"{partial} is left from an interrupted run: rerun with --resume to continue it "
            f"(same model, FASTA, VCF and options), or delete {partial.name} and "
            f"{progress.name} to start again"
        )


class Progress:
    """Alleles done / total, rate and ETA, logged after each chunk."""

    def __init__(self, total: int, done: int) -> None:
        self.total, self.start_done, self.start = total, done, time.monotonic()

    def log(self, done: int, chunk: int) -> None:
        elapsed = max(time.monotonic() - self.start, 1e-9)
        rate = (done - self.start_done) / elapsed
        left = (self.total - done) / rate if rate > 0 else float("inf")
        eta = f"{left:.0f}s" if left != float("inf") else "?"
        log.info(
            "chunk %d: %d/%d alleles (%.1f%%), %.1f alleles/s, ETA %s",
            chunk,
            done,
            self.total,
            100.0 * done / max(self.total, 1),
            rate,
            eta,
        )


ScoreChunk = Callable[[Sequence[object]], Iterable[Mapping[str, npt.NDArray[np.float32]]]]


def write_h5_stream(
    out: Path,
    chunks: Callable[[int], Iterator[tuple[list[Variant], list[object]]]],
    score: ScoreChunk,
    plan: Plan,
    targets: Sequence[object],
    attrs: Mapping[str, object],
    stats: Sequence[str],
    *,
    settings: str,
    resume: bool,
) -> None:
    """Write `out` (``.h5``) chunk by chunk through ``OUT.partial``; `chunks(records_done)`
    yields ``(records, alleles)`` from record `records_done` of the plan on."""
    import h5py

    partial, progress_path = partial_paths(out)
    state = {"settings": settings, "records_done": 0, "alleles_done": 0, "chunks_done": 0}
    fresh = True
    if resume and partial.exists() and progress_path.exists():
        saved = json.loads(progress_path.read_text())
        if saved.get("settings") != settings:
            raise ValueError(
                f"{partial}: left by a run with other settings (model, FASTA, VCF, head, "
                "options, stats, shard or chunk size); delete it and its .json to start again"
            )
        state, fresh = saved, False
        log.info(
            "resuming %s after chunk %d: %d/%d alleles done",
            partial,
            state["chunks_done"],
            state["alleles_done"],
            plan.alleles,
        )
    elif resume:
        log.info("%s: no finished chunk to resume; starting from the beginning", out)
    if fresh:
        partial.unlink(missing_ok=True)
        progress_path.unlink(missing_ok=True)
        partial.parent.mkdir(parents=True, exist_ok=True)
    n, n_tracks = plan.alleles, len(targets)
    flat = [name for name in stats if name not in PROFILE_STATS]
    with h5py.File(partial, "w" if fresh else "r+") as handle:
        if fresh:
            for name in flat:
                handle.create_dataset(
                    name, shape=(n, n_tracks), dtype="f2", chunks=(max(1, min(n, 1024)), n_tracks)
                )
            for key in ("snp", "chr", "ref_allele", "alt_allele"):
                handle.create_dataset(key, shape=(n,), dtype=f"S{plan.widths[key]}")
            handle.create_dataset("pos", shape=(n,), dtype=np.uint32)
            handle["target_ids"] = np.array([t.identifier for t in targets], dtype="S")
            handle["target_labels"] = np.array([t.description for t in targets], dtype="S")
            handle["percentiles"] = PERCENTILES
        datasets = {name: handle[name] for name in stats if name in handle}
        meter = Progress(n, state["alleles_done"])
        for records, alleles in chunks(state["records_done"]):
            row = start = state["alleles_done"]
            for batch in score(alleles):
                for name in stats:
                    values = clip_float16(batch[name])
                    if name not in datasets:  # REF/ALT: the bins are known from the first batch
                        bins = values.shape[1]
                        datasets[name] = handle.create_dataset(
                            name, shape=(n, bins, n_tracks), dtype="f2", chunks=(1, bins, n_tracks)
                        )
                    datasets[name][row : row + len(values)] = values
                row += len(batch[stats[0]])
            if row != start + len(alleles):
                raise RuntimeError(f"expected {len(alleles)} rows in a chunk, got {row - start}")
            stop = start + len(alleles)
            if alleles:
                handle["snp"][start:stop] = np.array([a.label for a in alleles], dtype="S")
                handle["chr"][start:stop] = np.array([a.variant.chrom for a in alleles], dtype="S")
                handle["pos"][start:stop] = np.array(
                    [a.variant.pos + 1 for a in alleles], dtype=np.uint32
                )
                handle["ref_allele"][start:stop] = np.array(
                    [a.variant.ref for a in alleles], dtype="S"
                )
                handle["alt_allele"][start:stop] = np.array([a.alt for a in alleles], dtype="S")
            handle.flush()  # the rows are on disk before the progress file says so
            state = {
                "settings": settings,
                "records_done": state["records_done"] + len(records),
                "alleles_done": stop,
                "chunks_done": state["chunks_done"] + 1,
                "alleles_total": n,
            }
            with atomic_write(progress_path) as out_handle:
                json.dump(state, out_handle)
            meter.log(stop, state["chunks_done"])
        if state["alleles_done"] != n:
            raise RuntimeError(f"expected {n} rows, got {state['alleles_done']}")
        for name in stats:
            if name not in datasets:  # no alleles
                datasets[name] = handle.create_dataset(name, shape=(0, 0, n_tracks), dtype="f2")
        write_percentiles(handle, flat, n, n_tracks)
        for key, value in attrs.items():
            handle.attrs[key] = value
    os.replace(partial, out)
    progress_path.unlink(missing_ok=True)


def write_percentiles(handle: object, flat: Sequence[str], n: int, n_tracks: int) -> None:
    """``{stat}_pct`` (tracks × percentiles, float16) over all `n` rows, reading each
    statistic back block of tracks by block."""
    for name in flat:
        scores = handle[name]
        pct = handle.create_dataset(f"{name}_pct", shape=(n_tracks, len(PERCENTILES)), dtype="f2")
        for start in range(0, n_tracks, TRACK_BLOCK):
            block = scores[:, start : start + TRACK_BLOCK]
            if n:
                pct[start : start + block.shape[1]] = np.percentile(
                    block, 100 * PERCENTILES, axis=0
                ).T.astype(np.float16)


def write_tsv_stream(
    path: Path,
    chunks: Iterator[tuple[list[Variant], list[object]]],
    score: ScoreChunk,
    columns: Sequence[str],
    stats: Sequence[str],
    total: int,
) -> None:
    """A ``.tsv`` written chunk by chunk: one row per allele (snp, chrom, pos, ref, alt,
    then the statistics' columns)."""
    meter = Progress(total, 0)
    done = 0
    with open(path, "w") as handle:
        handle.write("\t".join(["snp", "chrom", "pos", "ref", "alt", *columns]) + "\n")
        for index, (_, alleles) in enumerate(chunks, start=1):
            row = 0
            for batch in score(alleles):
                block = np.concatenate([batch[name] for name in stats], axis=1)
                for values in block:
                    a = alleles[row]
                    v = a.variant
                    fields = [a.label, v.chrom, str(v.pos + 1), v.ref, a.alt]
                    fields += [f"{x:.6g}" for x in values.tolist()]
                    handle.write("\t".join(fields) + "\n")
                    row += 1
            if row != len(alleles):
                raise RuntimeError(f"expected {len(alleles)} SAD rows in a chunk, got {row}")
            done += row
            meter.log(done, index)
    if done != total:
        raise RuntimeError(f"expected {total} SAD rows, got {done}")


def merge_shards(
    out: str | os.PathLike[str], shards: Sequence[str | os.PathLike[str]]
) -> tuple[Path, int]:
    """Join the ``.h5`` shards ``0/n … n-1/n`` of one run, given in order, into `out` with
    percentiles over all rows: the file a single run would have written. Returns the path
    and the number of alleles."""
    import h5py

    out = Path(out)
    if out.suffix != ".h5":
        raise ValueError(f"{out}: merged shards are written to an .h5")
    if not shards:
        raise ValueError("give the shard files to merge")
    handles = [h5py.File(path, "r") for path in shards]
    try:
        first = handles[0]
        count = int(first.attrs.get("shard_count", 0))
        if not count:
            raise ValueError(f"{shards[0]}: not a shard of a crossreg sad --shard run")
        if len(handles) != count:
            raise ValueError(f"the run has {count} shards; {len(handles)} were given")
        names = [name for name in first if name in STATS]
        for i, (path, handle) in enumerate(zip(shards, handles, strict=True)):
            if int(handle.attrs.get("shard_count", 0)) != count:
                raise ValueError(f"{path}: not shard of the same {count}-shard run")
            if int(handle.attrs["shard_index"]) != i:
                raise ValueError(
                    f"{path}: shard {int(handle.attrs['shard_index'])}/{count} given in "
                    f"place {i}; give the shards in order 0..{count - 1}"
                )
            if handle.attrs["run_settings"] != first.attrs["run_settings"]:
                raise ValueError(f"{path}: a shard of another run (other settings)")
            if [name for name in handle if name in STATS] != names:
                raise ValueError(f"{path}: holds other statistics than {shards[0]}")
            if not np.array_equal(handle["target_ids"][:], first["target_ids"][:]):
                raise ValueError(f"{path}: other tracks than {shards[0]}")
            if i and int(handle.attrs["shard_records"][0]) != int(
                handles[i - 1].attrs["shard_records"][1]
            ):
                raise ValueError(f"{path}: does not start where shard {i - 1} ends")
        sizes = [len(handle["snp"]) for handle in handles]
        n, n_tracks = sum(sizes), len(first["target_ids"])
        flat = [name for name in names if name not in PROFILE_STATS]
        with atomic_path(out) as tmp, h5py.File(tmp, "w") as merged:
            for name in names:
                if name in PROFILE_STATS:
                    bins = max(handle[name].shape[1] for handle in handles)
                    shape, chunks = (n, bins, n_tracks), (1, bins, n_tracks)
                    if not n:
                        shape, chunks = (0, 0, n_tracks), None
                else:
                    shape, chunks = (n, n_tracks), (max(1, min(n, 1024)), n_tracks)
                dataset = merged.create_dataset(name, shape=shape, dtype="f2", chunks=chunks)
                _copy_rows(dataset, [handle[name] for handle in handles])
            for key in ("snp", "chr", "pos", "ref_allele", "alt_allele"):
                dtype = first[key].dtype
                if dtype.kind == "S":
                    dtype = np.dtype(f"S{max(handle[key].dtype.itemsize for handle in handles)}")
                merged[key] = np.concatenate([handle[key][:] for handle in handles]).astype(dtype)
            for key in ("target_ids", "target_labels", "percentiles"):
                merged[key] = first[key][:]
            write_percentiles(merged, flat, n, n_tracks)
            for key, value in first.attrs.items():
                if key not in SHARD_ATTRS:
                    merged.attrs[key] = value
    finally:
        for handle in handles:
            handle.close()
    return out, n


def _copy_rows(target: object, sources: Sequence[object]) -> None:
    """Copy `sources` one after another into `target`'s rows, in blocks of rows."""
    row = 0
    for source in sources:
        for start in range(0, len(source), COPY_ROWS):
            block = source[start : start + COPY_ROWS]
            target[row + start : row + start + len(block)] = block
        row += len(source)
