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
(:class:`crossreg.variants.sad_stream.ChunkStore`, as ``crossreg sad`` keeps its chunks),
so an interrupted run continues with ``resume`` after its last finished chunk and writes
the bytes an unbroken run writes. The output is written from the chunks under a temporary
name (:func:`write_ism_h5`: datasets in a fixed order, attributes sorted), renamed when
complete, and ``OUT.partial/`` is then removed.

With ``shard`` (``i/n``) a run scores the i-th of n contiguous shares of the sites' chunks
(:func:`shard_sites`: whole chunks, batched as one run batches them) into a shard file
that records the run's settings as ``crossreg sad``'s shards do and draws no figures;
:func:`crossreg.variants.ism_merge.merge_ism` joins the shards into the bytes one run
writes, and draws its figures.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import torch

from crossreg.dna import one_hot
from crossreg.errors import Interrupted
from crossreg.genome import Genome
from crossreg.io.atomic import atomic_path
from crossreg.io.h5 import H5_FILE_BYTES, attrs_bytes, dataset_bytes, written_h5
from crossreg.io.identity import content_identity
from crossreg.io.partial import SETTINGS_FILE, left_over
from crossreg.io.targets import Target
from crossreg.io.vcf import read_vcf
from crossreg.model.inference import (
    InferenceOptions,
    device_label,
    gives_back_cuda_settings,
    keep_head_tracks,
    load_head,
    model_device,
    provenance,
    run_inference,
)
from crossreg.model.seqnn import SeqNN
from crossreg.plots import check_plot_options
from crossreg.progress import Progress, progress
from crossreg.shard import Shard
from crossreg.step_defaults import DEFAULT_CHUNK_SITES, ISM_BATCH_SIZE, ISM_WIDTH
from crossreg.synth.motifs import Motif
from crossreg.variants.alleles import format_counts, on_genome
from crossreg.variants.ism_sites import (
    Site,
    bed_sites,
    site_codes,
    site_spans,
    span_on_chromosome,
    span_starts,
    vcf_sites,
)
from crossreg.variants.ism_span import mutated_span
from crossreg.variants.sad import finished_output, require_ascii_tracks, run_record
from crossreg.variants.sad_files import block_rows, read_attrs
from crossreg.variants.sad_stream import (
    FIGURE_TRACKS,
    ChunkStore,
    StoreState,
    head_named,
    kept_when_stopped,
    partial_dir,
    refuse_partial,
    refuse_shard_under_torchrun,
    run_settings,
    scored_on,
    shard_attrs,
)
from crossreg.variants.scored_by import check_variants_genome

STATS = ("sum", "center")
MUTATION_SITES = 256  # sites whose sequences are listed, and streamed for scoring, at a time
ISM_INPUTS = "model, FASTA, sites and options"
#: What an earlier crossreg's ISM shards recorded of the tracks the merge draws
#: (:data:`~crossreg.variants.sad_stream.FIGURE_TRACKS`); shards now record ``--targets``
#: as given, which says it (:func:`each_track_drawn`).
FIGURES_EACH = "each --targets track"
FIGURES_STRONGEST = "the strongest (no --targets)"

log = logging.getLogger("crossreg")


def center_bins(bins: int) -> slice:
    """The bins of the ``center`` statistic: the 2 central ones (1 when `bins` is odd)."""
    if bins % 2 == 0:
        return slice(max(bins // 2 - 1, 0), bins // 2 + 1)
    return slice(bins // 2, bins // 2 + 1)


def site_mutations(
    reference: npt.NDArray[np.uint8], on_chromosome: npt.NDArray[np.bool_]
) -> npt.NDArray[np.int64]:
    """``(n, 2)`` (position, base) of every mutant of a `(width, 4)` one-hot span, the
    reference first as ``(-1, -1)``: each base that is not the position's (all 4 at N), at
    the positions `on_chromosome` only."""
    pos, base = np.nonzero((reference == 0) & on_chromosome[:, None])
    return np.concatenate([[[-1, -1]], np.stack([pos, base], axis=1)]).astype(np.int64)


def check_figure_options(plots: bool, svg: bool, motifs: Sequence[Motif]) -> None:
    """A ValueError for `svg` (:func:`~crossreg.plots.check_plot_options`) or `motifs`
    without `plots`: the matches of `motifs` are marked on the figures only, so with none
    drawn they would go unused (the command line's ``--motifs`` with ``--no-plots`` is
    refused alike). :func:`write_ism` and :func:`~crossreg.variants.ism_merge.merge_ism`
    call it before any work."""
    check_plot_options(plots, svg)
    if motifs and not plots:
        raise ValueError(
            "motifs are marked on the figures, but plots=False draws none: pass one of them "
            "(the command line's --motifs with --no-plots is refused alike)"
        )


def check_ism_stats(stats: Sequence[str]) -> None:
    """`stats` is a list of distinct names among :data:`STATS` (a string is a
    TypeError)."""
    if isinstance(stats, str):
        raise TypeError(f"stats must be a list of names, e.g. ['sum'], got the string {stats!r}")
    unknown = [s for s in stats if s not in STATS]
    if unknown or not stats:
        raise ValueError(f"statistics are {', '.join(STATS)}; got {', '.join(stats) or 'none'}")
    if len(set(stats)) != len(stats):
        raise ValueError(f"give each statistic once; got {', '.join(stats)}")


def mutation_effects(
    model: SeqNN,
    sites: Sequence[Site],
    genome: Genome,
    *,
    head: str | None = None,
    width: int = ISM_WIDTH,
    stats: Sequence[str] = STATS,
    options: InferenceOptions = InferenceOptions(batch_size=ISM_BATCH_SIZE),
    meter: Progress | None = None,
) -> Iterator[dict[str, npt.NDArray[np.float32]]]:
    """Yield, site by site, ``{stat: (width, 4, tracks)}`` float32 mutation effects
    ``stat(mutant) - stat(reference)`` (0 for the reference base), before the
    per-position mean is removed (:func:`remove_position_mean`); positions off the
    chromosome (:func:`span_on_chromosome`) are not mutated and are NaN.

    The mutants of :data:`MUTATION_SITES` sites at a time go through :func:`run_inference`
    as one stream of ``options.batch_size`` sequences (a batch never spans two such
    groups); each batch is built from the site's one-hot window by
    indexing, and only ``(batch, tracks)`` statistics come back from the device. To score
    some tracks only, cut the head first (:meth:`crossreg.model.seqnn.SeqNN.keep_tracks`).
    `meter` counts the sequences scored, batch by batch (:func:`count_sequences` gives
    their total), with the sites finished beside them: one site of a full-size model can
    take minutes on a CPU.
    """
    check_ism_stats(stats)
    spans = site_spans(sites, genome, model.seq_length, width)
    on_chromosome = span_on_chromosome(sites, genome, model.seq_length, width)
    warn_off_chromosome(on_chromosome)
    scored = SiteSpans(sites, spans, on_chromosome)
    yield from _site_effects(model, scored, genome, head, stats, options, meter)


@dataclass(frozen=True)
class SiteSpans:
    """Sites with their mutated spans' one-hot reference ``(sites, width, 4)``
    (:func:`site_spans`) and which of their positions lie on the chromosome
    (:func:`span_on_chromosome`); `first` and `total` place them in a longer list of sites
    (for the progress count)."""

    sites: Sequence[Site]
    spans: npt.NDArray[np.uint8]
    on_chromosome: npt.NDArray[np.bool_]
    first: int = 0
    total: int | None = None

    def part(self, start: int, stop: int) -> SiteSpans:
        """Sites ``[start, stop)`` of these."""
        return SiteSpans(
            self.sites[start:stop],
            self.spans[start:stop],
            self.on_chromosome[start:stop],
            self.first + start,
            len(self.sites) if self.total is None else self.total,
        )


def _site_effects(
    model: SeqNN,
    scored: SiteSpans,
    genome: Genome,
    head: str | None,
    stats: Sequence[str],
    options: InferenceOptions,
    meter: Progress | None,
) -> Iterator[dict[str, npt.NDArray[np.float32]]]:
    """:func:`mutation_effects` of sites whose spans are known."""
    sites, spans, on_chromosome = scored.sites, scored.spans, scored.on_chromosome
    seq_length, width = model.seq_length, spans.shape[1]
    span_start, _ = mutated_span(seq_length, width)
    total = len(sites) if scored.total is None else scored.total

    cache: dict[int, npt.NDArray[np.uint8]] = {}

    def load(chunk: npt.NDArray[np.int64]) -> npt.NDArray[np.uint8]:
        wanted = np.unique(chunk[:, 0])
        for key in [k for k in cache if k not in wanted]:
            del cache[key]
        missing = [int(i) for i in wanted if int(i) not in cache]
        if missing:
            windows = one_hot(
                site_codes([sites[i] for i in missing], genome, seq_length), dtype=np.uint8
            )
            cache.update(zip(missing, windows, strict=True))
        x = np.stack([cache[int(i)] for i in chunk[:, 0]])
        rows = np.nonzero(chunk[:, 1] >= 0)[0]
        where = span_start + chunk[rows, 1]
        x[rows, where, :] = 0
        x[rows, where, chunk[rows, 2]] = 1
        return x

    def reduce(pred: torch.Tensor, chunk: npt.NDArray[np.int64]) -> dict[str, np.ndarray]:
        out = {}
        if "sum" in stats:
            out["sum"] = pred.sum(dim=1)
        if "center" in stats:
            out["center"] = pred[:, center_bins(pred.shape[1])].sum(dim=1)
        return {k: v.cpu().numpy() for k, v in out.items()}

    current, reference, finished = -1, {}, 0
    effects: dict[str, np.ndarray] = {}
    for items in _site_mutation_groups(spans, on_chromosome):
        row = 0
        for batch in run_inference(model, head, items, options, load=load, reduce=reduce):
            n = len(next(iter(batch.values())))
            for j in range(n):
                site, pos, base = items[row + j]
                values = {k: v[j] for k, v in batch.items()}
                if pos < 0:
                    current, reference = int(site), values
                    n_tracks = len(next(iter(values.values())))
                    effects = {k: np.zeros((width, 4, n_tracks), np.float32) for k in stats}
                    for k in stats:
                        effects[k][~on_chromosome[current]] = np.nan
                else:
                    for k in stats:
                        effects[k][pos, base] = values[k] - reference[k]
                if row + j + 1 == len(items) or items[row + j + 1, 0] != current:
                    finished += 1
                    yield effects
            row += n
            if meter is not None:
                meter.update(n, sites=f"{scored.first + finished}/{total}")


def _score_chunks(
    model: SeqNN,
    scored: SiteSpans,
    genome: Genome,
    head: str,
    stats: Sequence[str],
    options: InferenceOptions,
    store: ChunkStore,
    state: StoreState,
    chunk_size: int,
    meter: Progress,
) -> StoreState:
    """Score the sites after those `state` counts, `chunk_size` at a time, each chunk's
    mean-removed scores kept in `store` (float16, one ``.npy`` per statistic) once it is
    whole; returns the final state. Each chunk is scored alone, so a batch never mixes two
    chunks' sequences and a resumed run scores every batch as an unbroken run does."""
    n = len(scored.sites)
    for first in range(state.alleles_done, n, chunk_size):
        chunk = scored.part(first, min(first + chunk_size, n))
        with store.chunk(state, len(chunk.sites), "f2") as writer:
            for effects in _site_effects(model, chunk, genome, head, stats, options, meter):
                writer.add({k: remove_position_mean(effects[k])[None] for k in stats}, stats)
            writer.finish()
        state = store.commit(state, len(chunk.sites), len(chunk.sites), 0)  # counts sites
    if state.alleles_done != n:
        raise RuntimeError(f"expected ISM scores of {n} sites, got {state.alleles_done}")
    return state


def _site_mutation_groups(
    spans: npt.NDArray[np.uint8], on_chromosome: npt.NDArray[np.bool_]
) -> Iterator[npt.NDArray[np.int64]]:
    """``(n, 3)`` (site, position, base) of every sequence to score (:func:`site_mutations`,
    each site's reference first), :data:`MUTATION_SITES` sites at a time: all sites' at
    once would take 14 kB a site at width 200 (1.4 GB for 100,000 variants)."""
    for first in range(0, len(spans), MUTATION_SITES):
        group = range(first, min(first + MUTATION_SITES, len(spans)))
        per_site = [site_mutations(spans[i], on_chromosome[i]) for i in group]
        yield np.concatenate(
            [np.column_stack([np.full(len(m), i), m]) for i, m in zip(group, per_site, strict=True)]
        )


def count_sequences(spans: npt.NDArray[np.uint8], on_chromosome: npt.NDArray[np.bool_]) -> int:
    """How many sequences :func:`mutation_effects` scores for sites whose one-hot spans are
    `spans` ``(sites, width, 4)``: each site's reference and its mutants
    (:func:`site_mutations`)."""
    return sum(len(site_mutations(span, on)) for span, on in zip(spans, on_chromosome, strict=True))


def remove_position_mean(effects: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
    """``(..., width, 4, tracks)`` scores with each position's mean over the 4 bases removed."""
    return effects - effects.mean(axis=-2, keepdims=True)


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


def figures_folder(out: str | os.PathLike[str]) -> Path:
    """Where :func:`write_ism` draws its figures unless told: beside the output file, named
    after it (``ism.h5`` → ``ism.figures/``)."""
    out = Path(out)
    return out.with_name(f"{out.stem}.figures")


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
    false refuses, :func:`check_figure_options`) in the folder
    `figures`, by default
    :func:`figures_folder` of `out`, replacing an earlier run's figures there (removed,
    once `out` is written, when `plots` is false too). `variants_genome` names the genome
    the sites and FASTA are of (``human`` for the mouse head on human variants), recorded
    as ``variants_genome`` and named in the figures' titles (``human variants, mouse
    head``; :func:`crossreg.variants.scored_by.figure_title`).
    A span position off its chromosome (a site near an end) is not mutated: NaN scores,
    counted in a warning; a site label, chromosome or kept track outside ASCII stops
    before any scoring.
    Records on chromosomes the FASTA lacks are skipped and counted in the log and the
    output's attributes, as ``crossreg sad`` does (`strict` stops at the first; a VCF none
    of whose records is on the FASTA stops with a hint).

    Sites are scored `chunk_size` at a time, each chunk kept in ``OUT.partial/`` as it
    finishes (:class:`crossreg.variants.sad_stream.ChunkStore`, as ``crossreg sad`` keeps
    its chunks): an interrupt keeps the finished ones, and `resume` continues from them
    (without it, a left-over ``OUT.partial/`` is refused; with other inputs or options,
    it is refused naming what differs) to the same bytes as an unbroken run. With
    `resume` and no ``OUT.partial/``, a finished `out` that records these settings is
    left as it is, its figures drawn only when the folder lacks some or holds one not
    whole (a stop while drawing them, a copy cut short; logged), or with `motifs` (a
    figure does not record the matches it marks); one of other settings
    is refused naming them.

    `shard` (``"i/n"``) scores only the i-th of n contiguous shares of the sites' chunks
    (:func:`shard_sites`) into `out`, a shard file that records the run's settings; it
    draws no figures (`figures`, `svg` and `motifs` are refused with it): join the shards with
    :func:`crossreg.variants.ism_merge.merge_ism`, which writes the bytes one run writes
    and draws its figures."""
    check_figure_options(plots, svg, motifs)
    check_variants_genome(variants_genome)
    out = Path(out)
    shard = _checked_request(
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
    attrs = provenance(model_dir, head, config, options) | _site_attrs(
        vcf, bed, stats, width=width, chosen=chosen, skipped=skipped
    )
    attrs["device"] = device_label(model_device(model))
    warn_off_chromosome(scored.on_chromosome)
    settings = _chunk_settings(
        model_dir, genome, head, options, stats, vcf=vcf, bed=bed, strict=strict,
        width=width, tracks=tracks, chunk_size=chunk_size,
    )  # fmt: skip
    if variants_genome is not None:  # absent otherwise, as in the runs before it was recorded
        settings["variants_genome"] = attrs["variants_genome"] = variants_genome
    if resume:
        settings = _recorded_form(settings, _resumed_record(out), chosen)
    attrs |= _input_attrs(fasta, settings)
    run = run_record(settings, shard, model)
    attrs["settings"] = json.dumps(run, sort_keys=True)
    each = tracks is not None
    drawing = resume and shard is None and plots
    kept_figures = len(sites) * (len(kept) if each else 1)
    folder = figures_folder(out) if figures is None else figures
    lost = []
    if drawing and motifs:  # a figure does not record the matches it marks
        lost = [f"its figures in {folder} with the --motifs matches marked"]
    elif drawing and not figures_drawn(out, figures, kept_figures, svg=svg):
        lost = [f"its figures in {folder}"]
    if resume and finished_output(out, run, redrawn=lost, changes=head_named(head_option)):
        if shard is not None:
            drawn = []
        elif plots and not lost:  # its figures are all there
            drawn = listed_figures(Path(folder))
        else:
            drawn = draw_figures(out, figures, each_track=each, plots=plots, svg=svg, motifs=motifs)
        return IsmRun(out, len(sites), width, len(kept), drawn, skipped)
    if shard is not None:
        if "targets" in settings:  # an earlier crossreg's shard (_recorded_form) also recorded
            settings[FIGURE_TRACKS] = FIGURES_EACH if tracks is not None else FIGURES_STRONGEST
        attrs |= shard_attrs(shard, settings, first, last)
        settings = {**settings, "shard": str(shard)}
    device = str(attrs["device"])
    store = ChunkStore(out, unit="sites", device=device, changes=head_named(head_option))
    state = store.open(settings, resume=resume, total=len(sites))
    with kept_when_stopped(store, len(sites)):
        done = state.alleles_done
        before = count_sequences(scored.spans[:done], scored.on_chromosome[:done])
        with progress(total, "ISM", "sequences", initial=before) as meter:
            state = _score_chunks(
                model, scored, genome, head, stats, options, store, state, chunk_size, meter
            )
        attrs |= scored_on(run, state.devices, str(attrs["device"]))
        with atomic_path(out) as tmp:
            starts = span_starts(sites, seq_length, width)
            fields = site_fields(sites, starts, scored.spans, kept, variants=vcf is not None)
            write_ism_h5(tmp, fields, store.parts(state), stats, attrs)
    store.remove()
    drawn = (
        []
        if shard is not None
        else draw_figures(
            out, figures, each_track=tracks is not None, plots=plots, svg=svg, motifs=motifs
        )
    )
    return IsmRun(out, len(sites), width, len(kept), drawn, skipped)


def _checked_request(
    out: Path,
    vcf: str | os.PathLike[str] | None,
    bed: str | os.PathLike[str] | None,
    stats: Sequence[str],
    *,
    strict: bool,
    chunk_size: int,
    shard: Shard | str | None,
    figures: str | os.PathLike[str] | None,
    svg: bool,
    resume: bool,
    motifs: Sequence[Motif],
) -> Shard | None:
    """Stop on a request :func:`write_ism` cannot run, before the model loads: an output
    not ``.h5``, sites from neither or both of a VCF and a BED, ``--strict`` with a BED,
    bad statistics, a chunk under 1 site, a shard asked for figures or under torchrun, a
    left-over partial run without `resume`; the shard parsed."""
    if out.suffix != ".h5":
        raise ValueError(f"{out}: the output must end in .h5")
    if (vcf is None) == (bed is None):
        raise ValueError("give either a VCF or a BED file of sites")
    if strict and vcf is None:
        raise ValueError(
            "--strict: only with --vcf (a BED region on a chromosome the FASTA lacks always "
            "stops the run)"
        )
    check_ism_stats(stats)
    if chunk_size < 1:
        raise ValueError(f"the chunk size must be at least 1 site, got {chunk_size}")
    if isinstance(shard, str):
        shard = Shard.parse(shard)
    if shard is not None and (figures is not None or svg or motifs):
        raise ValueError(
            f"--shard {shard}: a shard draws no figures (the merge draws them, named by "
            "each site's row in the merged file); give --figures, --svg and --motifs to "
            "crossreg ism-merge"
        )
    refuse_shard_under_torchrun(shard)
    if not resume:
        refuse_partial(out, ISM_INPUTS)
    return shard


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


def _site_attrs(
    vcf: str | os.PathLike[str] | None,
    bed: str | os.PathLike[str] | None,
    stats: Sequence[str],
    *,
    width: int,
    chosen: list[int],
    skipped: dict[str, int],
) -> dict[str, object]:
    """The output's attributes beside the model's :func:`provenance`: the width, statistics,
    sites' file and kept tracks (and, from a VCF, the records skipped off the genome)."""
    source = vcf if vcf is not None else bed
    attrs: dict[str, object] = {
        "width": width,
        "stats": ",".join(stats),
        "sites_from": "vcf" if vcf is not None else "bed",
        "source": str(source),
        "alt_applied": False,
        "n_one_hot": 0.0,
        "tracks": chosen,
    }
    if vcf is not None:
        attrs["skipped_records"] = sum(skipped.values())
        attrs["skipped_chromosomes"] = format_counts(skipped)
    return attrs


def _input_attrs(fasta: str | os.PathLike[str], settings: Mapping[str, Any]) -> dict[str, object]:
    """The output's record of its inputs beside the model's and sites' paths (``model``,
    ``source``): the FASTA's path (``fasta``) and what the inputs are wherever they lie,
    ``inputs``, JSON of the model's, FASTA's and sites' file's identities by content (as
    :func:`_chunk_settings` records them; the FASTA's without its chromosome sizes, which
    its SHA-256 fixes and which run to thousands for a genome in scaffolds)."""
    kind = "vcf" if "vcf" in settings else "bed"
    identities = {key: settings[key] for key in ("model", "fasta", kind)}
    identities["fasta"] = {k: v for k, v in identities["fasta"].items() if k != "chroms"}
    return {"fasta": str(fasta), "inputs": json.dumps(identities, sort_keys=True)}


def _chunk_settings(
    model_dir: str | os.PathLike[str],
    genome: Genome,
    head: str,
    options: InferenceOptions,
    stats: Sequence[str],
    *,
    vcf: str | os.PathLike[str] | None,
    bed: str | os.PathLike[str] | None,
    strict: bool,
    width: int,
    tracks: str | Sequence[str] | None,
    chunk_size: int,
) -> dict[str, object]:
    """What a resume (and a shard's merge) compares: :func:`run_settings` with the sites'
    file named as given (``vcf`` or ``bed``), the width, ``--targets`` as given (``tracks``,
    as SAD records it: a refusal names it so) and the chunk size."""
    kind, source = ("vcf", vcf) if vcf is not None else ("bed", bed)
    assert source is not None
    settings = run_settings(
        model_dir, genome, content_identity(source), head, options, stats, strict
    )
    settings[kind] = settings.pop("vcf")  # --vcf or --bed, named as given
    given = tracks if tracks is None or isinstance(tracks, str) else list(tracks)
    return settings | {"width": width, "tracks": given, "chunk_size": chunk_size}


def each_track_drawn(settings: Mapping[str, Any]) -> bool:
    """Whether the figures of a run whose shards recorded `settings` are drawn for each
    kept track (``--targets`` given) rather than each site's strongest, as the one run
    draws them: an earlier crossreg's shards say it in
    :data:`~crossreg.variants.sad_stream.FIGURE_TRACKS`."""
    if "tracks" in settings:
        return settings["tracks"] is not None
    return settings.get(FIGURE_TRACKS) == FIGURES_EACH


def _resumed_record(out: Path) -> Mapping[str, Any] | None:
    """The settings a ``--resume`` of `out` continues from: those its ``OUT.partial/``
    was left by, else those the finished `out` records; None where there are none or
    they cannot be read (the resume then says so, or scores again)."""
    partial = partial_dir(out)
    try:
        if left_over(partial):
            recorded = json.loads((partial / SETTINGS_FILE).read_text())
        elif out.is_file():
            recorded = json.loads(str(read_attrs(out)["settings"]))
        else:
            return None
    except (OSError, KeyError, UnicodeDecodeError, ValueError):
        return None
    return recorded if isinstance(recorded, dict) else None


def _recorded_form(
    settings: Mapping[str, object], recorded: Mapping[str, Any] | None, chosen: list[int]
) -> dict[str, object]:
    """`settings` in the form of the `recorded` settings a resume continues from: an
    earlier crossreg recorded the kept tracks by their indices in the head (``targets``)
    rather than ``--targets`` as given (``tracks``); a record of that form keeping the
    tracks `chosen`, in their order, is this run's, and the settings are given its form so
    that its chunks or output match. Any other record: `settings` as they are (a record
    of other tracks is refused naming its indices,
    :func:`~crossreg.variants.sad_stream.setting_changes`)."""
    if recorded is None or "tracks" in recorded or recorded.get("targets") != chosen:
        return dict(settings)
    return {k: v for k, v in settings.items() if k != "tracks"} | {"targets": chosen}


def shard_sites(shard: Shard | None, sites: int, chunk_size: int) -> tuple[int, int]:
    """Sites ``[first, last)`` of shard `shard` of a run of `sites` (all without one): its
    contiguous share (:meth:`crossreg.shard.Shard.bounds`) of the run's chunks of
    `chunk_size` sites, so that each chunk is scored whole, in its batches, as one run
    scores it, and the merged shards hold the bytes one run writes. A shard past the
    last chunk (more shards than chunks) has no site."""
    if shard is None:
        return 0, sites
    start, stop = shard.bounds(-(-sites // chunk_size))
    return min(start * chunk_size, sites), min(stop * chunk_size, sites)


def draw_figures(
    out: Path,
    figures: str | os.PathLike[str] | None,
    *,
    each_track: bool,
    plots: bool,
    svg: bool,
    motifs: Sequence[Motif] = (),
    rerun: str = "a rerun with --resume draws only them, one without it scores again",
) -> list[Path]:
    """Draw the figures of the finished ISM file `out` in the folder `figures` (by default
    :func:`figures_folder` of `out`): one per site for its strongest track, or for
    `each_track`, the matches of `motifs` marked; with `plots` false, remove an earlier
    run's there instead. An interrupt while drawing says that `out` is complete and how to
    draw them from it, and what a rerun of the command would do (`rerun`)."""
    check_figure_options(plots, svg, motifs)
    from crossreg.variants.ism_figures import plot_ism_file, remove_earlier_figures

    folder = Path(figures_folder(out) if figures is None else figures)
    if not plots:
        remove_earlier_figures(folder)
        return []
    try:
        return plot_ism_file(out, folder, all_tracks=each_track, svg=svg, motifs=motifs)
    except KeyboardInterrupt:
        raise Interrupted(
            f"{out} is complete, its figures in {folder} are not: redraw them from it "
            f"with crossreg.variants.ism_figures.plot_ism_file ({rerun})"
        ) from None


def figures_drawn(
    out: Path, figures: str | os.PathLike[str] | None, count: int, *, svg: bool
) -> bool:
    """Whether the folder `figures` (by default :func:`figures_folder` of `out`) holds
    every figure :func:`draw_figures` draws of the finished ISM file `out` (`count`
    PNGs), whole, and no other it listed (a drawing stopped part way, one with or without
    `svg`, a figure cut short is drawn again)."""
    from crossreg.variants.ism_figures import drawn_figures

    folder = Path(figures_folder(out) if figures is None else figures)
    return drawn_figures(folder, count, svg=svg)


def listed_figures(folder: Path) -> list[Path]:
    """The figures a drawing listed in `folder` (its manifest) that are there: those of a
    finished output a ``--resume`` leaves as they are."""
    from crossreg.variants.ism_figures import earlier_figures

    return [folder / name for name in earlier_figures(folder)]


def warn_off_chromosome(on_chromosome: npt.NDArray[np.bool_]) -> None:
    """Warn, with a count, when some sites' mutated spans run off a chromosome end (a row
    of `on_chromosome`, :func:`span_on_chromosome`, not all true)."""
    off = int((~on_chromosome.all(axis=1)).sum())
    if off:
        log.warning(
            "%d of %d sites have a mutated span running off a chromosome end: its positions "
            "off the chromosome are not mutated and score NaN",
            off,
            len(on_chromosome),
        )


#: The datasets of an ISM ``.h5`` beside the scores, in the order they are written: a row
#: per site, then (a VCF's sites only) a row per site naming its record, then a row per
#: kept track.
SITE_FIELDS = ("label", "chr", "start", "end", "strand", "seqs")
VARIANT_FIELDS = ("pos", "ref_allele", "alt_allele")
TRACK_FIELDS = ("target_ids", "target_labels")


def site_fields(
    sites: Sequence[Site],
    starts: npt.NDArray[np.int64],
    spans: npt.NDArray[np.uint8],
    targets: Sequence[Target],
    *,
    variants: bool = False,
) -> dict[str, np.ndarray]:
    """The datasets of an ISM ``.h5`` beside the scores, in the order they are written
    (:data:`SITE_FIELDS`, :data:`VARIANT_FIELDS`, :data:`TRACK_FIELDS`): the sites'
    ``label``, ``chr``, ``start``, ``end``, ``strand`` and ``seqs`` (from their mutated
    spans' `starts` and one-hot `spans`); with `variants` (sites of a VCF, each with its
    record), the record's ``pos`` (VCF's POS, 1-based, as SAD files store it: its REF's
    first base is row ``pos - 1 - start`` of the span), ``ref_allele`` and ``alt_allele``
    (its ALTs as the VCF gives them, comma-separated); then ``target_ids`` and
    ``target_labels``."""
    fields = {
        "label": np.array([s.label for s in sites], dtype="S"),
        "chr": np.array([s.chrom for s in sites], dtype="S"),
        "start": starts,
        "end": starts + spans.shape[1],
        "strand": np.array([s.strand for s in sites], dtype="S"),
        "seqs": spans.astype(bool),
    }
    if variants:
        records = [s.variant for s in sites if s.variant is not None]
        assert len(records) == len(sites), "a VCF's sites each have their record"
        fields |= {
            "pos": np.array([v.pos + 1 for v in records], dtype=np.int64),
            "ref_allele": np.array([v.ref for v in records], dtype="S"),
            "alt_allele": np.array([",".join(v.alts) for v in records], dtype="S"),
        }
    return fields | {
        "target_ids": np.array([t.identifier for t in targets], dtype="S"),
        "target_labels": np.array([t.description for t in targets], dtype="S"),
    }


def write_ism_h5(
    path: Path,
    fields: Mapping[str, np.ndarray],
    parts: Sequence[Mapping[str, Any]],
    stats: Sequence[str],
    attrs: Mapping[str, object],
) -> int:
    """Write an ISM ``.h5`` at `path` (a temporary name: the caller renames it): `fields`
    (:func:`site_fields`), then each statistic's float16 ``(sites, width, 4, tracks)``
    scores copied from `parts` (a run's finished chunks, or the shards' datasets) in
    blocks of about :data:`~crossreg.variants.sad_files.BLOCK_BYTES`, then `attrs` in
    sorted order: the same rows give the same bytes however they were split. Returns the
    number of sites."""
    n, width = fields["seqs"].shape[:2]
    shape = (n, width, 4, len(fields["target_ids"]))
    chunks = (1, *shape[1:]) if n else None  # a shard may have no site
    bound = (
        H5_FILE_BYTES
        + sum(dataset_bytes(values.shape, values.dtype) for values in fields.values())
        + len(stats) * dataset_bytes(shape, np.float16, chunks)
        + attrs_bytes(attrs)
    )
    step = block_rows(int(np.prod(shape[1:], dtype=np.int64)) * 2)
    with written_h5(path, bound) as handle:
        for key, values in fields.items():
            handle[key] = values
        for k in stats:
            dataset = handle.create_dataset(
                k, shape=shape, dtype="f2", chunks=chunks, fletcher32=chunks is not None
            )
            done = 0
            for part in parts:
                rows = len(part[k])
                for first in range(0, rows, step):
                    last = min(first + step, rows)
                    dataset[done + first : done + last] = part[k][first:last]
                done += rows
            if done != n:
                raise RuntimeError(f"expected ISM scores of {n} sites, got {done}")
        for key in sorted(attrs):
            handle.attrs[key] = attrs[key]
    return n
