"""SAD: how much each variant changes a model's predicted tracks, for every record of a VCF.

``SAD = Σ_bins (alt − ref)`` per track, in float32, averaged over the reverse-complement/
shift ensemble when asked; Basenji's other ``--stats`` (logSAD, SAX, D1, D2, JS, REF, ALT,
...) are defined in :mod:`crossreg.variants.sad_stats`. How each allele's windows are built
and scored is in :mod:`crossreg.variants.scoring`; how the output is streamed, resumed,
sharded and merged is in :mod:`crossreg.variants.sad_stream`.

Records on chromosomes the FASTA lacks (unplaced contigs, chrM) are skipped, counted per
chromosome in the log and in the output's metadata; when no record's chromosome is in the
FASTA (``1`` against ``chr1``) the run stops with a hint, and ``strict`` stops at the first
such record.

With a GTF (``gtf``), gene-level scores go to ``OUT.genes.tsv`` beside the output: one row
per allele × gene with a TSS in the window's output bins (:mod:`crossreg.variants.genes`).
"""

from __future__ import annotations

import contextlib
import itertools
import json
import logging
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

import numpy as np
import numpy.typing as npt

from crossreg.genome import Genome
from crossreg.io.atomic import atomic_path, atomic_write
from crossreg.io.targets import Target
from crossreg.io.vcf import Variant
from crossreg.model.inference import (
    InferenceOptions,
    load_head,
    model_device,
    provenance,
)
from crossreg.variants.alleles import Allele, format_counts
from crossreg.variants.genes import (
    GENES,
    GeneBatch,
    GeneIndex,
    genes_path,
    write_gene_header,
    write_gene_rows,
)
from crossreg.variants.sad_stats import (
    PROFILE_STATS,
    STATS,
    check_stats,
)
from crossreg.variants.sad_stream import (
    DEFAULT_CHUNK_SIZE,
    Shard,
    kept_records,
    plan_run,
    record_chunks,
    refuse_partial,
    run_settings,
    settings_hash,
    survey_vcf,
    write_h5_stream,
    write_tsv_stream,
)
from crossreg.variants.scoring import score_stats, scored_alleles

OUTPUT_SUFFIXES = (".h5", ".tsv")

log = logging.getLogger("crossreg")


@dataclass(frozen=True)
class SadRun:
    """What a SAD run wrote: the file, alleles × tracks scored, records skipped per
    chromosome the FASTA lacks."""

    path: Path
    alleles: int
    tracks: int
    skipped: dict[str, int]
    stats: tuple[str, ...] = ("SAD",)


def write_sad(
    model_dir: str | os.PathLike[str],
    fasta: str | os.PathLike[str],
    vcf: str | os.PathLike[str],
    out: str | os.PathLike[str],
    *,
    head: str | None = None,
    options: InferenceOptions = InferenceOptions(batch_size=8),
    strict: bool = False,
    stats: Sequence[str] = ("SAD",),
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    resume: bool = False,
    shard: Shard | str | None = None,
    gtf: str | os.PathLike[str] | None = None,
) -> SadRun:
    """The SAD step: score every ALT of every record of `vcf` on the FASTA's genome with
    `head` of the checkpoint in `model_dir` for each of `stats` (default SAD only), and
    write `out` (see :mod:`crossreg.variants.sad_stream` for the layout).

    The VCF is streamed: records are scored in chunks of about `chunk_size` alleles and
    each chunk's rows are written before the next is read (:mod:`crossreg.variants.sad_stream`).
    An ``.h5`` is written into ``OUT.partial`` with its progress in ``OUT.partial.json``;
    `resume` continues such a file from its last finished chunk (without it, one is
    refused). `shard` (``"i/n"``) scores only the i-th of n contiguous shares of the
    records on the FASTA (merge the shards with :func:`sad_stream.merge_shards`).

    With `gtf`, gene-level scores are written to ``OUT.genes.tsv`` (:func:`genes_path`) as
    the chunks are scored, atomically; its row count is the metadata's ``gene_rows``. It
    cannot be resumed: `gtf` with `resume` is refused."""
    out = Path(out)
    stats = check_output(out, stats)
    if gtf is not None and resume:
        raise ValueError(f"{out}: --gtf cannot be resumed; rerun without --resume")
    if isinstance(shard, str):
        shard = Shard.parse(shard)
    if chunk_size < 1:
        raise ValueError(f"the chunk size must be at least 1, got {chunk_size}")
    if (resume or shard is not None) and out.suffix != ".h5":
        raise ValueError(f"{out}: --resume and --shard write an .h5")
    if out.suffix == ".h5" and not resume:
        refuse_partial(out)
    model, config, head = load_head(model_dir, head, options.device)
    genome = Genome(fasta)
    source = str(vcf)
    genes = GeneIndex.from_gtf(gtf) if gtf is not None else None
    if genes is not None and not genes.chromosomes & set(genome.sizes):
        log.warning("%s: none of its genes is on the FASTA's chromosomes", gtf)
    kept, skipped = survey_vcf(vcf, genome, source=source, strict=strict)
    start, stop = shard.bounds(kept) if shard is not None else (0, kept)
    plan = plan_run(vcf, genome, start, stop)
    log.info(
        "scoring %d alleles%s with the '%s' head (%d tracks) on %s%s%s",
        plan.alleles,
        "" if shard is None else f" (shard {shard}: records {start}-{stop} of {kept})",
        head,
        model.num_targets(head),
        model_device(model),
        options.describe(),
        "" if stats == ("SAD",) else f"; stats {','.join(stats)}",
    )
    attrs: dict[str, object] = {
        **provenance(model_dir, head, config, options),
        "skipped_records": sum(skipped.values()),
        "skipped_chromosomes": format_counts(skipped),
    }
    settings = run_settings(model_dir, fasta, vcf, head, options, stats, strict)
    if shard is not None:
        attrs |= {
            "shard_index": shard.index,
            "shard_count": shard.count,
            "run_settings": settings_hash(settings),
            "shard_records": np.array([start, stop], dtype=np.int64),
        }

    def chunks(done: int) -> Iterator[tuple[list[Variant], list[Allele]]]:
        records = itertools.islice(kept_records(vcf, genome), start + done, stop)
        for group in record_chunks(records, chunk_size):
            yield group, scored_alleles(group, genome, source=source)

    table: TextIO | None = None  # the gene table being written, with `gtf`

    def score(alleles: Sequence[Allele]) -> Iterator[dict[str, Any]]:
        if not alleles:
            return iter(())
        batches = score_stats(model, alleles, genome, head, options, stats, genes)
        return batches if table is None else with_genes(batches, alleles)

    def with_genes(
        batches: Iterator[dict[str, Any]], alleles: Sequence[Allele]
    ) -> Iterator[dict[str, Any]]:
        row = 0  # each batch's gene rows are written as it is scored
        for batch in batches:
            found: GeneBatch = batch.pop(GENES)
            n = len(batch[stats[0]])
            attrs["gene_rows"] += write_gene_rows(
                table, alleles[row : row + n], found.pairs, found.scores
            )
            row += n
            yield batch

    with contextlib.ExitStack() as stack:
        if genes is not None:
            genes_tmp = stack.enter_context(atomic_path(genes_path(out)))
            table = stack.enter_context(open(genes_tmp, "w"))
            write_gene_header(table, [t.identifier for t in config.targets[head]])
            attrs |= {"gtf": str(gtf), "gene_rows": 0}
        if out.suffix == ".h5":
            key = {**settings, "shard": str(shard), "chunk_size": chunk_size}
            write_h5_stream(
                out,
                chunks,
                score,
                plan,
                config.targets[head],
                attrs,
                stats,
                settings=settings_hash(key),
                resume=resume,
            )
        else:
            with atomic_path(out) as tmp:
                columns = tsv_columns(stats, config.targets[head])
                write_tsv_stream(tmp, chunks(0), score, columns, stats, plan.alleles)
            with atomic_write(metadata_path(out)) as handle:
                json.dump(attrs, handle, indent=1)
        if table is not None:
            table.close()  # before the rename
            log.info("%d gene rows in %s", attrs["gene_rows"], genes_path(out))
    return SadRun(out, plan.alleles, model.num_targets(head), skipped, stats)


def check_output_suffix(out: Path) -> None:
    """Stop before any work when `out` is neither ``.h5`` nor ``.tsv``."""
    if out.suffix not in OUTPUT_SUFFIXES:
        raise ValueError(f"{out}: the output must end in {' or '.join(OUTPUT_SUFFIXES)}")


def check_output(out: Path, stats: Sequence[str]) -> tuple[str, ...]:
    """The checked `stats` for `out`; stops before any work on an unknown statistic, a
    wrong suffix, or REF/ALT (3-D) asked of a ``.tsv``."""
    check_output_suffix(out)
    stats = check_stats(stats)
    profiles = [name for name in stats if name in PROFILE_STATS]
    if profiles and out.suffix == ".tsv":
        raise ValueError(
            f"{out}: {','.join(profiles)} are (alleles, bins, tracks) profiles; "
            "write them to an .h5"
        )
    return stats


def tsv_columns(stats: Sequence[str], targets: Sequence[Target]) -> list[str]:
    """A ``.tsv``'s score columns: the track identifiers for SAD alone (the default),
    else ``STAT:identifier`` per statistic, statistic by statistic."""
    if tuple(stats) == ("SAD",):
        return [t.identifier for t in targets]
    return [f"{name}:{t.identifier}" for name in stats for t in targets]


def metadata_path(tsv: Path) -> Path:
    """The JSON file beside a ``.tsv`` output that holds its metadata."""
    return tsv.with_name(tsv.name + ".json")


@dataclass(frozen=True)
class SadTable:
    """SAD scores read back: allele labels, track identifiers and descriptions (empty from
    ``.tsv``), and the ``(alleles, tracks)`` float32 matrix."""

    labels: list[str]
    identifiers: list[str]
    descriptions: list[str]
    values: npt.NDArray[np.float32]


def read_sad(path: str | os.PathLike[str], stat: str = "SAD") -> SadTable:
    """Read a ``crossreg sad`` (or ``basenji_sad.py``) ``.h5``, or a ``crossreg sad`` ``.tsv``;
    `stat` picks the (alleles × tracks) statistic (default SAD)."""
    path = Path(path)
    if stat in PROFILE_STATS:
        raise ValueError(f"{stat} is 3-D (alleles, bins, tracks); read it with h5py")
    if path.suffix == ".h5":
        import h5py

        with h5py.File(path, "r") as handle:
            missing = [k for k in ("snp", stat, "target_ids") if k not in handle]
            if missing:
                raise ValueError(f"{path}: not a SAD file (no {', '.join(missing)} dataset)")
            labels = handle["snp"][:].astype(str).tolist()
            ids = handle["target_ids"][:].astype(str).tolist()
            descriptions = (
                handle["target_labels"][:].astype(str).tolist() if "target_labels" in handle else []
            )
            values = handle[stat][:].astype(np.float32)
        return SadTable(labels, ids, descriptions, values)
    if path.suffix != ".tsv":
        raise ValueError(f"{path}: SAD files are .h5 or .tsv")
    import polars as pl

    table = pl.read_csv(path, separator="\t")
    if table.columns[:5] != ["snp", "chrom", "pos", "ref", "alt"]:
        raise ValueError(f"{path}: a SAD .tsv starts with columns snp chrom pos ref alt")
    columns = table.columns[5:]
    blocks = {c.split(":", 1)[0] for c in columns if ":" in c} & set(STATS)
    if blocks:  # several statistics (or one other than SAD): STAT:identifier columns
        columns = [c for c in columns if c.startswith(f"{stat}:")]
        if not columns:
            raise ValueError(f"{path}: no {stat} columns (it holds {','.join(sorted(blocks))})")
    elif stat != "SAD":
        raise ValueError(f"{path}: holds SAD only, not {stat}")
    ids = [c.removeprefix(f"{stat}:") if blocks else c for c in columns]
    values = table.select(columns).to_numpy().astype(np.float32)
    return SadTable(table["snp"].cast(str).to_list(), ids, [], values)
