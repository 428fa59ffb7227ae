"""In silico saturation mutagenesis (ISM) around variants or regions, as Basenji's
``basenji_sat_vcf.py`` / ``basenji_sat_bed.py`` do it.

Sites (one model window per VCF record or BED region) are read and checked by
:mod:`crossreg.variants.ism_sites`.

Mutations
    Every position of the central `width` bases, window indices ``[L/2 - width//2,
    L/2 - width//2 + width)`` (for ``width`` 200 around a SNP: ``[L/2 - 100, L/2 + 100)``,
    the SNP at index 99), is set to each base other than the reference's:
    ``1 + 3 * width`` sequences per site (4 mutants at an N). A position of the span off the
    chromosome (around a site near an end) is no genome position: it is left as N in the
    window, not mutated, and its scores are NaN. Windows are one-hot with N as
    zeros, as Basenji's ISM encodes them; its SAD (and ``crossreg sad``) encodes N as 0.25
    in every channel. So a single mutation's effect before the mean is removed equals the
    SAD of that SNP exactly when the window holds no N, and differs when the window runs
    off a chromosome end or into an assembly gap, the more the more N bases it holds and
    the nearer they lie to the variant: with Basenji's 8,192-bp test model, windows about
    a third N moved a SNP's effect on its strongest track by 0.3% to 7%.

Statistics, per track
    ``sum``: the prediction summed over all bins. ``center``: summed over the central bins,
    ``[B/2 - 1, B/2 + 1)`` for an even number of bins ``B`` (the two either side of the
    window's centre; a VCF site's variant base is the last base of bin ``B/2 - 1``), the
    middle bin for an odd ``B``. Basenji's ``basenji_sat_vcf.py`` sums ``[B/2, B/2 + 2)``,
    one bin to the right, which holds no base of the variant: its ``center`` scores are
    not crossreg's. The mutation effect of base ``b`` at a position is
    ``stat(mutant) - stat(reference)`` (0 for the reference base); the stored score has the
    mean over the 4 bases at each position removed, which equals Basenji's ``stat(sequence)
    - mean`` (the reference's own value cancels). So each position's 4 scores sum to 0.

Output ``FILE.h5`` (Basenji's ``scores.h5`` names): ``label`` (S), ``chr`` (S), ``start``
and ``end`` (0-based, of the mutated span on the genome's forward strand, so ``start`` is
negative, or ``end`` past the chromosome's length, for a span running off it), ``strand``
(S, ``+`` or ``-``), ``seqs`` bool ``(sites, width, 4)`` (the reference bases of the
mutated span, A C G T, in the site's orientation; none off the chromosome), for a VCF's
sites ``pos`` (the record's POS, 1-based), ``ref_allele`` and ``alt_allele`` (S), one float16
``(sites, width, 4, tracks)`` array per statistic (NaN at positions off the chromosome),
``target_ids`` and ``target_labels`` (S) of the kept tracks, and the run's provenance as
attributes. Labels, chromosomes and tracks are ASCII, as Basenji stores them: a site or
track with another character stops the run before any scoring.

Sites are scored in chunks of ``chunk_size`` (each scored on its own: no batch mixes two
chunks' sequences), and each finished chunk's float16 scores are kept in ``OUT.partial/``
(:class:`crossreg.variants.chunk_store.ChunkStore`, as ``crossreg sad`` keeps its chunks),
so an interrupted run continues with ``resume`` after its last finished chunk and writes
the bytes an unbroken run writes. The output is written from the chunks under a temporary
name (:func:`~crossreg.variants.ism_h5.write_ism_h5`: datasets in a fixed order,
attributes sorted), renamed when complete, and ``OUT.partial/`` is then removed.

With ``shard`` (``i/n``) a run scores the i-th of n contiguous shares of the sites' chunks
(:func:`~crossreg.variants.ism_shards.shard_sites`: whole chunks, batched as one run
batches them) into a shard file that records the run's settings as ``crossreg sad``'s
shards do and draws no figures; :func:`crossreg.variants.ism_merge.merge_ism` joins the
shards into the bytes one run writes, and draws its figures.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from crossreg.genome import Genome
from crossreg.io.atomic import atomic_path
from crossreg.io.vcf import read_vcf
from crossreg.model.inference import (
    InferenceOptions,
    device_label,
    gives_back_cuda_settings,
    keep_head_tracks,
    load_head,
    model_device,
    provenance,
)
from crossreg.shard import Shard
from crossreg.step_defaults import DEFAULT_CHUNK_SITES, ISM_BATCH_SIZE, ISM_WIDTH
from crossreg.synth.motifs import Motif
from crossreg.variants.alleles import on_genome
from crossreg.variants.chunk_store import ChunkStore, kept_when_stopped
from crossreg.variants.ism_draw import (
    check_figure_options,
    draw_figures,
    figures_drawn,
    figures_folder,
    listed_figures,
)
from crossreg.variants.ism_h5 import site_fields, write_ism_h5
from crossreg.variants.ism_request import checked_request
from crossreg.variants.ism_score import (
    STATS,
    SiteSpans,
    count_sequences,
    score_chunks,
    warn_off_chromosome,
)
from crossreg.variants.ism_settings import (
    FIGURES_EACH,
    FIGURES_STRONGEST,
    chunk_settings,
    input_attrs,
    recorded_form,
    resumed_record,
    site_attrs,
)
from crossreg.variants.ism_shards import shard_sites
from crossreg.variants.ism_sites import (
    Site,
    bed_sites,
    site_spans,
    span_on_chromosome,
    span_starts,
    vcf_sites,
)
from crossreg.variants.ism_span import mutated_span
from crossreg.variants.sad_finished import finished_output, run_record
from crossreg.variants.sad_h5 import require_ascii_tracks
from crossreg.variants.sad_settings import FIGURE_TRACKS, head_named, scored_on
from crossreg.variants.sad_shards import shard_attrs
from crossreg.variants.scored_by import check_variants_genome

log = logging.getLogger("crossreg")


@dataclass(frozen=True)
class IsmRun:
    """What an ISM run wrote: the file, sites, mutated width, tracks, figures, and the VCF
    records skipped per chromosome the FASTA lacks."""

    path: Path
    sites: int
    width: int
    tracks: int
    figures: list[Path]
    skipped: dict[str, int] = field(default_factory=dict)


@gives_back_cuda_settings
def write_ism(
    model_dir: str | os.PathLike[str],
    fasta: str | os.PathLike[str],
    out: str | os.PathLike[str],
    *,
    vcf: str | os.PathLike[str] | None = None,
    bed: str | os.PathLike[str] | None = None,
    head: str | None = None,
    width: int = ISM_WIDTH,
    tracks: str | Sequence[str] | None = None,
    stats: Sequence[str] = STATS,
    options: InferenceOptions = InferenceOptions(batch_size=ISM_BATCH_SIZE),
    figures: str | os.PathLike[str] | None = None,
    plots: bool = True,
    svg: bool = False,
    strict: bool = False,
    chunk_size: int = DEFAULT_CHUNK_SITES,
    resume: bool = False,
    shard: Shard | str | None = None,
    motifs: Sequence[Motif] = (),
    variants_genome: str | None = None,
    head_option: str = "--head",
) -> IsmRun:
    """The ISM step: mutate the central `width` bases around every record of `vcf` (or
    every region of `bed`, a ``-`` one reverse-complemented) with `head` of the checkpoint
    in `model_dir`, write `out` in Basenji's ``scores.h5`` layout and, unless `plots` is
    false, one PNG per site (for the track with the largest |score|, or per chosen track
    with `tracks`; an SVG beside each with `svg`; the matches of the JASPAR `motifs` its
    important bases belong to marked, :mod:`crossreg.variants.ism_motifs`, which `plots`
    false refuses, :func:`~crossreg.variants.ism_draw.check_figure_options`) in the folder
    `figures`, by default :func:`~crossreg.variants.ism_draw.figures_folder` of `out`,
    replacing an earlier run's figures there (removed, once `out` is written, when `plots`
    is false too). `variants_genome` names the genome the sites and FASTA are of
    (``human`` for the mouse head on human variants), recorded as ``variants_genome`` and
    named in the figures' titles (``human variants, mouse head``;
    :func:`crossreg.variants.scored_by.figure_title`).
    A span position off its chromosome (a site near an end) is not mutated: NaN scores,
    counted in a warning; a site label, chromosome or kept track outside ASCII stops
    before any scoring.
    Records on chromosomes the FASTA lacks are skipped and counted in the log and the
    output's attributes, as ``crossreg sad`` does (`strict` stops at the first; a VCF none
    of whose records is on the FASTA stops with a hint).

    Sites are scored `chunk_size` at a time, each chunk kept in ``OUT.partial/`` as it
    finishes (:class:`crossreg.variants.chunk_store.ChunkStore`, as ``crossreg sad`` keeps
    its chunks): an interrupt keeps the finished ones, and `resume` continues from them
    (without it, a left-over ``OUT.partial/`` is refused; with other inputs or options,
    it is refused naming what differs) to the same bytes as an unbroken run. With
    `resume` and no ``OUT.partial/``, a finished `out` that records these settings is
    left as it is, its figures drawn only when the folder lacks some or holds one not
    whole (a stop while drawing them, a copy cut short; logged), or with `motifs` (a
    figure does not record the matches it marks); one of other settings
    is refused naming them.

    `shard` (``"i/n"``) scores only the i-th of n contiguous shares of the sites' chunks
    (:func:`~crossreg.variants.ism_shards.shard_sites`) into `out`, a shard file that
    records the run's settings; it draws no figures (`figures`, `svg` and `motifs` are
    refused with it): join the shards with :func:`crossreg.variants.ism_merge.merge_ism`,
    which writes the bytes one run writes and draws its figures."""
    check_figure_options(plots, svg, motifs)
    check_variants_genome(variants_genome)
    out = Path(out)
    shard = checked_request(
        out, vcf, bed, stats, strict=strict, chunk_size=chunk_size, shard=shard,
        figures=figures, svg=svg, resume=resume, motifs=motifs,
    )  # fmt: skip
    model, config, head = load_head(model_dir, head, options)
    seq_length = model.seq_length
    mutated_span(seq_length, width)  # a --width past the window stops before the sites are read
    genome = Genome(fasta, hash_content=True)
    sites, skipped = _read_sites(genome, seq_length, vcf, bed, strict=strict)
    targets = config.targets[head]
    chosen = keep_head_tracks(model, head, targets, tracks)
    kept = [targets[i] for i in chosen]
    require_ascii_tracks(kept, model_dir)
    every = len(sites)
    first, last = shard_sites(shard, every, chunk_size)
    sites = sites[first:last]
    scored = SiteSpans(
        sites,
        site_spans(sites, genome, seq_length, width),
        span_on_chromosome(sites, genome, seq_length, width),
    )
    total = count_sequences(scored.spans, scored.on_chromosome)
    log.info(
        "ISM of %d sites%s x %d bp x 3 bases (%d sequences) with the '%s' head (%d of %d "
        "tracks) on %s%s",
        len(sites),
        "" if shard is None else f" (shard {shard}: sites {first}-{last} of {every})",
        width,
        total,
        head,
        len(chosen),
        len(targets),
        model_device(model),
        options.describe(),
    )
    attrs = provenance(model_dir, head, config, options) | site_attrs(
        vcf, bed, stats, width=width, chosen=chosen, skipped=skipped
    )
    attrs["device"] = device_label(model_device(model))
    warn_off_chromosome(scored.on_chromosome)
    settings = chunk_settings(
        model_dir, genome, head, options, stats, vcf=vcf, bed=bed, strict=strict,
        width=width, tracks=tracks, chunk_size=chunk_size,
    )  # fmt: skip
    if variants_genome is not None:  # absent otherwise, as in the runs before it was recorded
        settings["variants_genome"] = attrs["variants_genome"] = variants_genome
    if resume:
        settings = recorded_form(settings, resumed_record(out), chosen)
    attrs |= input_attrs(fasta, settings)
    run = run_record(settings, shard, model)
    attrs["settings"] = json.dumps(run, sort_keys=True)
    each = tracks is not None
    count = len(sites) * (len(kept) if each else 1)
    drawn = _finished_figures(
        out, run, resume=resume, shard=shard, figures=figures, count=count, each_track=each,
        plots=plots, svg=svg, motifs=motifs, head_option=head_option,
    )  # fmt: skip
    if drawn is not None:
        return IsmRun(out, len(sites), width, len(kept), drawn, skipped)
    if shard is not None:
        if "targets" in settings:  # an earlier crossreg's shard (recorded_form) also recorded
            settings[FIGURE_TRACKS] = FIGURES_EACH if tracks is not None else FIGURES_STRONGEST
        attrs |= shard_attrs(shard, settings, first, last)
        settings = {**settings, "shard": str(shard)}
    device = str(attrs["device"])
    store = ChunkStore(out, unit="sites", device=device, changes=head_named(head_option))
    state = store.open(settings, resume=resume, total=len(sites))
    with kept_when_stopped(store, len(sites)):
        state = score_chunks(
            model, scored, genome, head, stats, options, store, state, chunk_size, total
        )
        attrs |= scored_on(run, state.devices, device)
        with atomic_path(out) as tmp:
            starts = span_starts(sites, seq_length, width)
            fields = site_fields(sites, starts, scored.spans, kept, variants=vcf is not None)
            write_ism_h5(tmp, fields, store.parts(state), stats, attrs)
    store.remove()
    drawn = (
        []
        if shard is not None
        else draw_figures(out, figures, each_track=each, plots=plots, svg=svg, motifs=motifs)
    )
    return IsmRun(out, len(sites), width, len(kept), drawn, skipped)


def _finished_figures(
    out: Path,
    run: dict[str, Any],
    *,
    resume: bool,
    shard: Shard | None,
    figures: str | os.PathLike[str] | None,
    count: int,
    each_track: bool,
    plots: bool,
    svg: bool,
    motifs: Sequence[Motif],
    head_option: str,
) -> list[Path] | None:
    """With `resume`, the figures of a finished `out` that records this `run`
    (:func:`~crossreg.variants.sad.finished_output`, which refuses one of other settings):
    none for a shard; its `count` figures listed in `figures` when they are all there,
    whole, and no `motifs` are to be marked (a figure does not record the matches it
    marks); else drawn again (:func:`~crossreg.variants.ism_draw.draw_figures`), which the
    log says. None without `resume` or such an `out`: the run scores its sites."""
    if not resume:
        return None
    drawing = shard is None and plots
    folder = figures_folder(out) if figures is None else figures
    lost = []
    if drawing and motifs:  # a figure does not record the matches it marks
        lost = [f"its figures in {folder} with the --motifs matches marked"]
    elif drawing and not figures_drawn(out, figures, count, svg=svg):
        lost = [f"its figures in {folder}"]
    if not finished_output(out, run, redrawn=lost, changes=head_named(head_option)):
        return None
    if shard is not None:
        return []
    if plots and not lost:  # its figures are all there
        return listed_figures(Path(folder))
    return draw_figures(out, figures, each_track=each_track, plots=plots, svg=svg, motifs=motifs)


def _read_sites(
    genome: Genome,
    seq_length: int,
    vcf: str | os.PathLike[str] | None,
    bed: str | os.PathLike[str] | None,
    *,
    strict: bool,
) -> tuple[list[Site], dict[str, int]]:
    """The sites of `vcf` (its records on the genome's chromosomes; those off them
    counted per chromosome, or with `strict` refused) or of `bed`, and the skipped counts."""
    if vcf is not None:
        variants, skipped = on_genome(read_vcf(vcf), genome, source=str(vcf), strict=strict)
        return vcf_sites(variants, genome, seq_length, source=str(vcf)), skipped
    assert bed is not None
    return bed_sites(bed, genome, seq_length), {}
