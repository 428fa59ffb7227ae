"""SAD: how much each variant changes a model's predicted tracks, for every record of a VCF.

``SAD = Σ_bins (alt − ref)`` per track, in float32, averaged over the reverse-complement/
shift ensemble when asked; Basenji's other ``--stats`` (logSAD, SAX, D1, D2, JS, REF, ALT,
...) are defined in :mod:`crossreg.variants.sad_stats`. How each allele's windows are built
and scored is in :mod:`crossreg.variants.scoring`; how a run is chunked, resumed and
sharded is in :mod:`crossreg.variants.sad_stream`, and the output files and merging in
:mod:`crossreg.variants.sad_files`.

Records on chromosomes the FASTA lacks (unplaced contigs, chrM) are skipped, counted per
chromosome in the log and in the output's metadata; when no record's chromosome is in the
FASTA (``1`` against ``chr1``) the run stops with a hint, and ``strict`` stops at the first
such record. Alleles that cannot be scored (symbolic ALTs, structural variants, alleles
longer than half the window) are skipped and counted per reason (``skipped_alleles``).

With a GTF (``gtf``), gene-level scores go to ``OUT.genes.tsv`` beside the output: one row
per allele × gene with a TSS in the window's output bins (:mod:`crossreg.variants.genes`).
"""

from __future__ import annotations

import fcntl
import io
import itertools
import json
import logging
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from crossreg.genome import Genome
from crossreg.io.finished import Changes, Recorded, Unreadable, finished_run, settings_object
from crossreg.io.identity import content_identity
from crossreg.io.partial import left_over
from crossreg.io.targets import Target
from crossreg.io.vcf import Variant
from crossreg.model.inference import (
    InferenceOptions,
    device_label,
    gives_back_cuda_settings,
    keep_head_tracks,
    load_head,
    model_device,
    provenance,
)
from crossreg.model.seqnn import SeqNN
from crossreg.plots import check_plot_options, figure_intact
from crossreg.progress import progress
from crossreg.shard import Shard
from crossreg.step_defaults import DEFAULT_CHUNK_ALLELES, SAD_BATCH_SIZE
from crossreg.variants.alleles import Allele, format_counts, parse_counts
from crossreg.variants.genes import (
    GENES,
    GeneBatch,
    GeneIndex,
    genes_path,
    write_gene_header,
    write_gene_rows,
)
from crossreg.variants.realign import check_indel_rule
from crossreg.variants.sad_files import (
    join_tables,
    merge_shards,
    metadata_path,
    read_attrs,
    remove_stale_gene_table,
    write_h5,
    write_tsv,
)
from crossreg.variants.sad_names import check_output
from crossreg.variants.sad_stream import (
    ChunkStore,
    Plan,
    StoreState,
    head_named,
    kept_records,
    partial_dir,
    record_chunks,
    refuse_partial,
    refuse_shard_under_torchrun,
    run_settings,
    scored_on,
    setting_changes,
    shard_attrs,
    shard_output,
    survey_vcf,
    torchrun_shard,
)
from crossreg.variants.scored_by import check_variants_genome
from crossreg.variants.scoring import score_stats, scored_alleles
from crossreg.variants.shard_layout import without_labels

log = logging.getLogger("crossreg")


@dataclass(frozen=True)
class SadRun:
    """What a SAD run wrote: the file, alleles × tracks scored, records skipped per
    chromosome the FASTA lacks, and alleles skipped per reason (of the shard this process
    wrote, unless it wrote the run's output)."""

    path: Path
    alleles: int
    tracks: int
    skipped: dict[str, int]
    stats: tuple[str, ...] = ("SAD",)
    skipped_alleles: dict[str, int] = field(default_factory=dict)
    #: whether this process wrote the run's output (under torchrun, the rank that merged)
    wrote_output: bool = True


@dataclass(frozen=True)
class Scorer:
    """What scores a run's chunks: the model and its head, the genome, the statistics,
    the inference options and, with a GTF, the gene index."""

    model: SeqNN
    head: str
    genome: Genome
    source: str
    stats: tuple[str, ...]
    options: InferenceOptions
    genes: GeneIndex | None
    cluster_bp: int = 0
    indel: str = "basenji"

    def alleles(self, records: Sequence[Variant]) -> list[Allele]:
        """The scorable alleles of `records`, checked against the genome."""
        length = self.model.seq_length
        return scored_alleles(records, self.genome, source=self.source, seq_length=length)

    def score(self, alleles: Sequence[Allele]) -> Iterator[dict[str, object]]:
        """The statistics (and gene batches) of `alleles`, batch by batch."""
        if not alleles:
            return iter(())
        return score_stats(
            self.model,
            alleles,
            self.genome,
            self.head,
            self.options,
            self.stats,
            self.genes,
            cluster_bp=self.cluster_bp,
            indel=self.indel,
        )


@gives_back_cuda_settings
def write_sad(
    model_dir: str | os.PathLike[str],
    fasta: str | os.PathLike[str],
    vcf: str | os.PathLike[str],
    out: str | os.PathLike[str],
    *,
    head: str | None = None,
    options: InferenceOptions = InferenceOptions(batch_size=SAD_BATCH_SIZE),
    strict: bool = False,
    stats: Sequence[str] = ("SAD",),
    chunk_size: int = DEFAULT_CHUNK_ALLELES,
    resume: bool = False,
    shard: Shard | str | None = None,
    gtf: str | os.PathLike[str] | None = None,
    tracks: str | Sequence[str] | None = None,
    cluster_bp: int = 0,
    indel: str = "basenji",
    plots: bool = True,
    svg: bool = False,
    variants_genome: str | None = None,
    head_option: str = "--head",
) -> SadRun:
    """The SAD step: score every ALT of every record of `vcf` on the FASTA's genome with
    `head` of the checkpoint in `model_dir` for each of `stats` (default SAD only), and
    write `out` (``.h5`` in Basenji's layout, or ``.tsv``; :mod:`crossreg.variants.sad_files`).

    Records are scored in chunks of about `chunk_size` alleles, each kept on disk as it
    finishes (:class:`crossreg.variants.sad_stream.ChunkStore`); `resume` continues an
    interrupted run from its last finished chunk (without it, a left-over one is refused),
    and the output is the same bytes as an uninterrupted run's; an input error found while
    scoring (a ValueError) removes the chunks, since the corrected rerun cannot resume.
    With `resume` and no chunks, a finished `out` that records these settings
    (:func:`finished_output`) is left as it is (one of other settings is refused naming
    them); under ``torchrun``, a rank whose shard file of this run is written does not
    score it again, and a rank with neither chunks nor a shard file leaves a finished
    merged `out` of these settings as it is.
    `shard` (``"i/n"``) scores only the i-th of n contiguous shares of the records on the
    FASTA (join the shards with :func:`crossreg.variants.sad_files.merge_shards`); under
    ``torchrun`` each process scores its rank's shard into ``OUT.shard-i-of-n`` and the
    last to finish merges them into `out`. `tracks` keeps only the tracks it names
    (:func:`crossreg.io.targets.select_targets`). `cluster_bp` lets nearby SNPs share one
    reference window and `indel` picks how indels are framed and compared
    (``"basenji"``, Basenji's windows; ``"left"``; or ``"realign"``); see
    :mod:`crossreg.variants.scoring`. With `gtf`, gene-level scores go to
    ``OUT.genes.tsv`` (:func:`crossreg.variants.genes.genes_path`). `variants_genome`
    names the genome the VCF and FASTA are of (``human`` for the mouse head on human
    variants), recorded as ``variants_genome``. Unless `plots` is off, the finished
    output's figures go beside it (:func:`crossreg.variants.sad_figures.plot_sad`:
    ``OUT.score_distribution.png``, ``OUT.top_variants.png`` with ``OUT.top_variants.tsv``;
    SVG too with `svg`; titled with whose variants the head scored); under ``torchrun``,
    by the process that merges. A gene table or
    figure an earlier run left beside `out` that this run does not write is removed.
    A resume refused for other settings names the head's option as `head_option`
    (``crossreg sad`` passes the spelling typed: ``--genome``)."""
    check_plot_options(plots, svg)
    check_variants_genome(variants_genome)
    out = Path(out)
    stats = check_output(out, stats)
    shard, ranked, target = _where_written(out, shard, chunk_size, indel, resume)
    model, config, head = load_head(model_dir, head, options)
    targets = _kept_targets(model, list(config.targets[head]), head, tracks, out, model_dir)
    genome = Genome(fasta, hash_content=True)
    genes: GeneIndex | None = None
    if gtf is not None:
        genes = GeneIndex.from_gtf(gtf)
        genes.check_chromosomes(gtf, genome)
    survey = survey_vcf(vcf, genome, model.seq_length, source=str(vcf), strict=strict)
    kept, skipped = survey.kept, survey.off_fasta
    start, stop = shard.bounds(kept) if shard is not None else (0, kept)
    plan = survey.plan(start, stop)
    _log_plan(str(vcf), plan, kept, shard, head, len(targets), model, options, stats)
    settings = run_settings(model_dir, genome, survey.identity, head, options, stats, strict)
    settings |= {"tracks": tracks, "cluster_bp": cluster_bp, "indel": indel}
    if variants_genome is not None:  # absent otherwise, as in the runs before it was recorded
        settings["variants_genome"] = variants_genome
    settings["gtf"] = content_identity(gtf) if gtf is not None else None
    attrs: dict[str, object] = {
        **provenance(model_dir, head, config, options),
        "fasta": str(fasta),
        "vcf": str(vcf),
        "device": device_label(model_device(model)),
        "stats": ",".join(stats),
        "cluster_bp": cluster_bp,
        "indel": indel,
        "skipped_records": sum(skipped.values()),
        "skipped_chromosomes": format_counts(skipped),
        "skipped_alleles": format_counts(plan.skipped),
        **_optional_attrs(tracks, gtf, variants_genome, shard, settings, plan),
    }
    run = run_record(settings, shard, model)
    attrs["settings"] = json.dumps(run, sort_keys=True)
    if resume and ranked is None:
        lost = _lacking_figures(target, stats, plan.alleles * len(targets), plots=plots, svg=svg)
        if finished_output(target, run, redrawn=lost, changes=head_named(head_option)):
            _draw_lost(target, lost, plots, svg)
            return SadRun(target, plan.alleles, len(targets), skipped, stats, plan.skipped)
    # looked at once: the rank that merges may delete it at any moment after
    shard_kept = resume and ranked is not None and _shard_kept(target, attrs["run_settings"])
    if resume and ranked is not None and not shard_kept:
        whole = survey.plan(0, kept)  # the job's, as the rank that merged reported it
        first = ranked.index == 0  # one rank draws what is missing and logs the run
        cells = whole.alleles * len(targets)
        lost = _lacking_figures(out, stats, cells, plots=plots, svg=svg) if first else []
        if _merged_already(out, target, settings, model, lost):
            _draw_lost(out, lost, plots, svg)
            return SadRun(out, whole.alleles, len(targets), skipped, stats, whole.skipped, first)
    if shard_kept:
        log.info("%s is complete for these settings; not scored again", target)
    else:
        scorer = Scorer(model, head, genome, str(vcf), stats, options, genes, cluster_bp, indel)
        device = str(attrs["device"])
        store = ChunkStore(target, device=device, output=out, changes=head_named(head_option))
        key = {**settings, "shard": str(shard), "chunk_size": chunk_size}
        state = store.open(key, resume=resume, total=plan.alleles)
        state = _score_run(scorer, store, state, plan, vcf, chunk_size, out.suffix)
        attrs |= scored_on(run, state.devices, str(attrs["device"]))
        write_outputs(target, store, state, scorer, targets, attrs)
    merged = (
        merge_when_complete(out, ranked.count, attrs["run_settings"])
        if ranked is not None
        else None
    )
    if ranked is None or merged is not None:
        from crossreg.variants.sad_figures import draw_figures

        draw_figures(out, plots=plots, svg=svg)
    if merged is not None:  # this process wrote the whole run's file
        whole_run = parse_counts(str(read_attrs(out).get("skipped_alleles", "")))
        return SadRun(out, merged, len(targets), skipped, stats, whole_run)
    return SadRun(target, plan.alleles, len(targets), skipped, stats, plan.skipped, ranked is None)


def run_record(settings: dict[str, object], shard: Shard | None, model: SeqNN) -> dict[str, Any]:
    """What a SAD or ISM output records of its run, as JSON values, for a ``--resume`` of
    it once finished (:func:`finished_output`): its `settings` with the kind of device the
    `model` ran on (``auto`` resolved, as ``crossreg evaluate`` records it) and its
    `shard` (``"None"`` for the whole run)."""
    options = settings["options"]
    assert isinstance(options, dict)
    device = model_device(model).type
    run = {**settings, "options": {**options, "device": device}, "shard": str(shard)}
    return json.loads(json.dumps(run, sort_keys=True, default=str))


def finished_output(
    out: Path,
    run: dict[str, Any],
    *,
    redrawn: Sequence[str] = (),
    changes: Changes = setting_changes,
) -> bool:
    """Whether `out` (a SAD or ISM output) holds this `run` (its settings and shard, as
    its ``settings`` attribute records them), finished: no ``OUT.partial/`` (removed once
    the output is written) and the output (a ``.tsv``'s metadata, written after it)
    recording these settings (:func:`~crossreg.io.finished.finished_run`, which logs
    that the caller draws the figures `redrawn` it lacks; other settings are refused,
    named by `changes`)."""
    last = out if out.suffix == ".h5" else metadata_path(out)
    if left_over(partial_dir(out)) or not last.is_file():
        return False
    recorded = _recorded_run(out, last)
    _refuse_another_label(out, recorded, run, changes)
    return finished_run(out, recorded, run, changes, redrawn=redrawn)


def _refuse_another_label(
    out: Path, recorded: Recorded, run: dict[str, Any], changes: Changes
) -> None:
    """Stop a ``--resume`` of the finished output `out`, whose run `recorded` the same
    settings as this `run` but another ``--variants-genome`` (given or not), saying so:
    the file holds this run's scores, its name for the variants' genome (in the figures'
    titles) is another, and the fix is that option, not the scores."""
    if not isinstance(recorded, dict) or changes(without_labels(recorded), without_labels(run)):
        return
    changed = changes(recorded, run)
    if not changed:
        return
    then = recorded.get("variants_genome")
    given = f"--variants-genome {then}" if then is not None else "no --variants-genome"
    raise ValueError(
        f"--resume: {out} is complete from a run with other settings ({'; '.join(changed)}), "
        "which name the variants' genome in the figures' titles and change no score: resume "
        f"with {given} to leave it as it is, or rerun without --resume to score it again "
        "under this name"
    )


def _recorded_run(out: Path, last: Path) -> Recorded:
    """The run a finished SAD or ISM output `out` records (its ``settings``): None for one
    of an earlier crossreg, :class:`~crossreg.io.finished.Unreadable` where `last` (the
    ``.h5``, or a ``.tsv``'s metadata) is damaged or cut short."""
    try:
        recorded = read_attrs(out).get("settings")
        before = None if recorded is None else json.loads(str(recorded))
    except (OSError, UnicodeDecodeError, ValueError) as err:  # a JSONDecodeError, a damaged .h5
        return Unreadable(last, str(err))
    return settings_object(last, before)


def _lacking_figures(
    out: Path, stats: Sequence[str], cells: int, *, plots: bool, svg: bool
) -> list[str]:
    """The files of the figures `plots` asks for of the SAD output `out` (of `stats`,
    alleles × tracks `cells`) that are missing or not whole
    (:func:`~crossreg.plots.figure_intact`: a stop while drawing them, a copy cut short);
    none when it has no figures (no alleles or tracks, only the bin profiles)."""
    from crossreg.variants.sad_figures import figure_files, first_stat

    if not plots or not cells or first_stat(list(stats)) is None:
        return []
    return [p.name for p in figure_files(out, svg=svg) if not figure_intact(p)]


def _draw_lost(out: Path, lost: Sequence[str], plots: bool, svg: bool) -> None:
    """Draw the figures of the finished output `out` when some are `lost`
    (:func:`_lacking_figures`)."""
    from crossreg.variants.sad_figures import draw_figures

    if lost:
        draw_figures(out, plots=plots, svg=svg)


def _merged_already(
    out: Path, target: Path, settings: dict[str, object], model: SeqNN, lost: Sequence[str]
) -> bool:
    """Under ``torchrun``, with ``--resume``, for a rank whose shard file of this run is
    not written (:func:`_shard_kept`, asked first: the rank that merges writes `out`
    before it deletes the shards): whether the job's output `out` is finished for these
    `settings` (:func:`finished_output`, as a run of no shard records them, the figures
    `lost` to be drawn) and no chunks of the rank's shard `target` are kept."""
    if left_over(partial_dir(target)):
        return False
    return finished_output(out, run_record(settings, None, model), redrawn=lost)


def _where_written(
    out: Path, shard: Shard | str | None, chunk_size: int, indel: str, resume: bool
) -> tuple[Shard | None, Shard | None, Path]:
    """Check the run's settings that need no input read, and work out what this process
    scores and where it writes: (the shard it scores, its ``torchrun`` shard, the file it
    writes). Without `resume`, a left-over unfinished run at that file is refused."""
    if isinstance(shard, str):
        shard = Shard.parse(shard)
    if chunk_size < 1:
        raise ValueError(f"the chunk size must be at least 1 allele, got {chunk_size}")
    check_indel_rule(indel)
    refuse_shard_under_torchrun(shard)
    ranked = torchrun_shard()
    target = shard_output(out, ranked) if ranked is not None else out
    if not resume:
        refuse_partial(target, output=out)
    return shard or ranked, ranked, target


def _kept_targets(
    model: SeqNN,
    targets: list[Target],
    head: str,
    tracks: str | Sequence[str] | None,
    out: Path,
    model_dir: str | os.PathLike[str],
) -> list[Target]:
    """The head's `targets` that `tracks` keeps (the model's head cut to them), checked to
    be storable in `out`."""
    targets = [targets[i] for i in keep_head_tracks(model, head, targets, tracks)]
    if out.suffix == ".h5":
        require_ascii_tracks(targets, model_dir, other="write --out .tsv, or ")
    return targets


def _optional_attrs(
    tracks: str | Sequence[str] | None,
    gtf: str | os.PathLike[str] | None,
    variants_genome: str | None,
    shard: Shard | None,
    settings: dict[str, object],
    plan: Plan,
) -> dict[str, object]:
    """The output's attributes that only some runs have: the tracks kept, the GTF, the
    variants' genome and, for a shard, which one, its records and the run's settings its
    merge checks."""
    attrs: dict[str, object] = {}
    if tracks is not None:
        attrs["tracks"] = tracks
    if gtf is not None:
        attrs["gtf"] = str(gtf)
    if variants_genome is not None:
        attrs["variants_genome"] = variants_genome
    if shard is not None:
        attrs |= shard_attrs(shard, settings, plan.start, plan.stop)
    return attrs


def _score_run(
    scorer: Scorer,
    store: ChunkStore,
    state: StoreState,
    plan: Plan,
    vcf: str | os.PathLike[str],
    chunk_size: int,
    suffix: str,
) -> StoreState:
    """Score the plan's records not yet in the store, in chunks of about `chunk_size`
    alleles (float16 for an ``.h5`` output, else float32); returns the final state. Ctrl-C
    keeps the finished chunks; an input error (a ValueError) removes them."""
    first = plan.start + state.records_done
    records = itertools.islice(kept_records(vcf, scorer.genome, skip=first), plan.stop - first)
    dtype = "f2" if suffix == ".h5" else "f4"
    try:
        return score_chunks(
            scorer,
            record_chunks(records, chunk_size, scorer.model.seq_length),
            store,
            state,
            plan,
            dtype,
        )
    except KeyboardInterrupt:
        raise store.interrupted(plan.alleles) from None
    except ValueError:  # an input error: a rerun must change the inputs, so none resumes
        store.remove()
        raise


def require_ascii_tracks(
    targets: Sequence[Target], model_dir: str | os.PathLike[str], *, other: str = ""
) -> None:
    """An ``.h5`` output stores track identifiers and descriptions as ASCII bytes (as
    Basenji's does): stop, before scoring, at a track whose are not; `other` is another way
    out the command offers, put before the advice to rename the track."""
    for t in targets:
        if not (t.identifier.isascii() and t.description.isascii()):
            raise ValueError(
                f"{model_dir}: track {t.identifier!r} ({t.description!r}) has a character "
                f"outside ASCII, which an .h5 output stores as ASCII bytes; {other}rename "
                "the track in the targets table the model was trained or imported with"
            )


def _log_plan(
    source: str,
    plan: Plan,
    kept: int,
    shard: Shard | None,
    head: str,
    n_tracks: int,
    model: SeqNN,
    options: InferenceOptions,
    stats: Sequence[str],
) -> None:
    skipped = sum(plan.skipped.values())
    if skipped:  # a warning: it shows under -q too
        log.warning(
            "%s: skipping %d alleles that cannot be scored (%s); counted in the output's "
            "skipped_alleles",
            source,
            skipped,
            format_counts(plan.skipped),
        )
    if not plan.alleles:  # a warning: an empty output is right for an empty shard only
        log.warning(
            "%s: no variants scored: %s; the output is written with 0 alleles",
            source,
            _why_none(plan, kept, shard),
        )
    log.info(
        "scoring %d alleles%s with the '%s' head (%d tracks) on %s%s%s",
        plan.alleles,
        "" if shard is None else f" (shard {shard}: records {plan.start}-{plan.stop} of {kept})",
        head,
        n_tracks,
        model_device(model),
        options.describe(),
        "" if tuple(stats) == ("SAD",) else f"; stats {','.join(stats)}",
    )


def _why_none(plan: Plan, kept: int, shard: Shard | None) -> str:
    """Why `plan` scores no allele: the VCF has no record on the genome, `shard` holds
    none of its `kept` records, or every allele of its records is skipped."""
    if not kept:
        return "the VCF has no records"
    if plan.start == plan.stop:
        return f"shard {shard} holds none of the VCF's {kept} records"
    return f"every allele of its {plan.stop - plan.start} records is skipped"


def score_chunks(
    scorer: Scorer,
    chunks: Iterator[list[Variant]],
    store: ChunkStore,
    state: StoreState,
    plan: Plan,
    dtype: str,
) -> StoreState:
    """Score each chunk of records into the store; returns the final state."""
    with progress(plan.alleles, "sad", "alleles", initial=state.alleles_done) as meter:
        for records in chunks:
            alleles = scorer.alleles(records)
            gene_rows = 0
            with store.chunk(state, len(alleles), dtype) as chunk:
                row = 0
                for batch in scorer.score(alleles):
                    found: GeneBatch | None = batch.pop(GENES, None)  # type: ignore[assignment]
                    size = chunk.add(batch, scorer.stats)  # type: ignore[arg-type]
                    if found is not None:
                        gene_rows += write_gene_rows(
                            chunk.genes(), alleles[row : row + size], found.pairs, found.scores
                        )
                    row += size
                    meter.update(size)
                chunk.finish(alleles)
            state = store.commit(state, len(records), len(alleles), gene_rows)
    if state.alleles_done != plan.alleles:
        raise RuntimeError(f"expected {plan.alleles} alleles, scored {state.alleles_done}")
    return state


def write_outputs(
    out: Path,
    store: ChunkStore,
    state: StoreState,
    scorer: Scorer,
    targets: Sequence[Target],
    attrs: dict[str, object],
) -> None:
    """Write the output (and its gene table) from the finished chunks, then remove them
    (and an earlier run's gene table when this run has none)."""
    ids = [t.identifier for t in targets]
    if scorer.genes is not None:
        header = io.StringIO()
        write_gene_header(header, ids)
        rows = join_tables(genes_path(out), header.getvalue(), store.gene_pieces(state))
        attrs["gene_rows"] = rows
        log.info("%d gene rows in %s", rows, genes_path(out))
    parts = store.parts(state)
    if out.suffix == ".h5":
        write_h5(out, parts, scorer.stats, ids, [t.description for t in targets], attrs)
    else:
        write_tsv(out, parts, scorer.stats, ids, [t.description for t in targets], attrs)
    remove_stale_gene_table(out, attrs)
    store.remove()


def merge_when_complete(out: Path, count: int, settings: object) -> int | None:
    """Under ``torchrun``: the process that finds every shard written by this run (its
    `settings` hash; a shard file left by another run is not, and its rank replaces it)
    merges them into `out` and deletes them (a lock makes it one process); returns the
    alleles it merged, ``None`` in the other processes."""
    lock = out.with_name(out.name + ".merge.lock")
    with open(lock, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        paths = [shard_output(out, Shard(i, count)) for i in range(count)]
        if not all(_written_by(path, settings) for path in paths):
            return None
        _, alleles = merge_shards(out, paths)
        for path in paths:
            for made in (path, genes_path(path), path.with_name(path.name + ".json")):
                made.unlink(missing_ok=True)
        lock.unlink(missing_ok=True)
    log.info("merged %d shards into %s", count, out)
    return alleles


def _written_by(shard: Path, settings: object) -> bool:
    """Whether the shard file is written whole (a ``.tsv``'s metadata, written after it,
    too), no run is writing it again (no ``OUT.partial/``: a rank stopped after it wrote
    the file, before it removed its chunks, writes it again) and it records the run
    `settings` hash."""
    last = shard if shard.suffix == ".h5" else metadata_path(shard)
    if left_over(partial_dir(shard)) or not (shard.exists() and last.exists()):
        return False
    return read_attrs(shard).get("run_settings") == settings


def _shard_kept(shard: Path, settings: object) -> bool:
    """Under ``torchrun``, with ``--resume``: whether this rank's shard file is written
    whole by this run (:func:`_written_by` its `settings` hash), so that it need not be
    scored again. One that cannot be read (damaged, or deleted by the rank that merges
    as it is read) is not."""
    try:
        return _written_by(shard, settings)
    except (OSError, UnicodeDecodeError, ValueError):
        return False
