"""SAD: how much each variant changes a model's predicted tracks, for every record of a VCF.

``SAD = Σ_bins (alt − ref)`` per track, in float32, averaged over the reverse-complement/
shift ensemble when asked; Basenji's other ``--stats`` (logSAD, SAX, D1, D2, JS, REF, ALT,
...) are defined in :mod:`crossreg.variants.sad_stats`. How each allele's windows are built
and scored is in :mod:`crossreg.variants.scoring`; the VCF is surveyed and streamed by
:mod:`crossreg.variants.sad_survey`, scored chunk by chunk by
:mod:`crossreg.variants.sad_chunks` into a :mod:`crossreg.variants.chunk_store`, and
written by :mod:`crossreg.variants.sad_h5` or :mod:`crossreg.variants.sad_tsv`; shards are
:mod:`crossreg.variants.sad_shards`' and joined by :mod:`crossreg.variants.sad_join`.

Records on chromosomes the FASTA lacks (unplaced contigs, chrM) are skipped, counted per
chromosome in the log and in the output's metadata; when no record's chromosome is in the
FASTA (``1`` against ``chr1``) the run stops with a hint, and ``strict`` stops at the first
such record. Alleles that cannot be scored (symbolic ALTs, structural variants, alleles
longer than half the window) are skipped and counted per reason (``skipped_alleles``).

With a GTF (``gtf``), gene-level scores go to ``OUT.genes.tsv`` beside the output: one row
per allele × gene with a TSS in the window's output bins (:mod:`crossreg.variants.genes`).
"""

from __future__ import annotations

import io
import json
import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from crossreg.genome import Genome
from crossreg.io.identity import content_identity
from crossreg.io.targets import Target
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
from crossreg.plots import check_plot_options
from crossreg.shard import Shard
from crossreg.step_defaults import DEFAULT_CHUNK_ALLELES, SAD_BATCH_SIZE
from crossreg.variants.alleles import format_counts, parse_counts
from crossreg.variants.chunk_store import ChunkStore, StoreState, refuse_partial
from crossreg.variants.genes import GeneIndex, genes_path, write_gene_header
from crossreg.variants.realign import check_indel_rule
from crossreg.variants.sad_attrs import read_attrs
from crossreg.variants.sad_beside import remove_stale_gene_table
from crossreg.variants.sad_chunks import Scorer, score_run
from crossreg.variants.sad_finished import draw_lost, finished_output, lacking_figures, run_record
from crossreg.variants.sad_h5 import require_ascii_tracks, write_h5
from crossreg.variants.sad_names import check_output
from crossreg.variants.sad_settings import head_named, run_settings, scored_on
from crossreg.variants.sad_shards import (
    refuse_shard_under_torchrun,
    shard_attrs,
    shard_output,
    torchrun_shard,
)
from crossreg.variants.sad_survey import Plan, survey_vcf
from crossreg.variants.sad_torchrun import merge_when_complete, merged_already, shard_kept
from crossreg.variants.sad_tsv import join_tables, write_tsv
from crossreg.variants.scored_by import check_variants_genome

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
    write `out` (``.h5`` in Basenji's layout, :mod:`crossreg.variants.sad_h5`, or ``.tsv``,
    :mod:`crossreg.variants.sad_tsv`).

    Records are scored in chunks of about `chunk_size` alleles, each kept on disk as it
    finishes (:class:`crossreg.variants.chunk_store.ChunkStore`); `resume` continues an
    interrupted run from its last finished chunk (without it, a left-over one is refused),
    and the output is the same bytes as an uninterrupted run's; an input error found while
    scoring (a ValueError) removes the chunks, since the corrected rerun cannot resume.
    With `resume` and no chunks, a finished `out` that records these settings
    (:func:`~crossreg.variants.sad_finished.finished_output`) is left as it is (one of
    other settings is refused naming them); under ``torchrun``, a rank whose shard file of
    this run is written does not score it again, and a rank with neither chunks nor a
    shard file leaves a finished merged `out` of these settings as it is.
    `shard` (``"i/n"``) scores only the i-th of n contiguous shares of the records on the
    FASTA (join the shards with :func:`crossreg.variants.sad_join.merge_shards`); under
    ``torchrun`` each process scores its rank's shard into ``OUT.shard-i-of-n`` and the
    last to finish merges them into `out`. `tracks` keeps only the tracks it names
    (:func:`crossreg.io.targets_select.select_targets`). `cluster_bp` lets nearby SNPs share one
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
        lost = lacking_figures(target, stats, plan.alleles * len(targets), plots=plots, svg=svg)
        if finished_output(target, run, redrawn=lost, changes=head_named(head_option)):
            draw_lost(target, lost, plots, svg)
            return SadRun(target, plan.alleles, len(targets), skipped, stats, plan.skipped)
    # looked at once: the rank that merges may delete it at any moment after
    written = resume and ranked is not None and shard_kept(target, attrs["run_settings"])
    if resume and ranked is not None and not written:
        whole = survey.plan(0, kept)  # the job's, as the rank that merged reported it
        first = ranked.index == 0  # one rank draws what is missing and logs the run
        cells = whole.alleles * len(targets)
        lost = lacking_figures(out, stats, cells, plots=plots, svg=svg) if first else []
        if merged_already(out, target, settings, model, lost):
            draw_lost(out, lost, plots, svg)
            return SadRun(out, whole.alleles, len(targets), skipped, stats, whole.skipped, first)
    if written:
        log.info("%s is complete for these settings; not scored again", target)
    else:
        scorer = Scorer(model, head, genome, str(vcf), stats, options, genes, cluster_bp, indel)
        device = str(attrs["device"])
        store = ChunkStore(target, device=device, output=out, changes=head_named(head_option))
        key = {**settings, "shard": str(shard), "chunk_size": chunk_size}
        state = store.open(key, resume=resume, total=plan.alleles)
        state = score_run(scorer, store, state, plan, vcf, chunk_size, out.suffix)
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
