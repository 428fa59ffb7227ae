"""Scoring of in silico saturation mutagenesis (:mod:`crossreg.variants.ism`): every mutant
of each site's central span through the model, the ``sum`` and ``center`` statistics of its
predictions, the mutation effects, and a run's sites scored chunk by chunk into its
:class:`~crossreg.variants.chunk_store.ChunkStore`."""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import torch

from crossreg.dna import one_hot
from crossreg.genome import Genome
from crossreg.model.inference import InferenceOptions, run_inference
from crossreg.model.seqnn import SeqNN
from crossreg.progress import Progress, progress
from crossreg.step_defaults import ISM_BATCH_SIZE, ISM_WIDTH
from crossreg.variants.chunk_store import ChunkStore, StoreState
from crossreg.variants.ism_sites import Site, site_codes, site_spans, span_on_chromosome
from crossreg.variants.ism_span import mutated_span

STATS = ("sum", "center")


MUTATION_SITES = 256  # sites whose sequences are listed, and streamed for scoring, at a time


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
    width = spans.shape[1]
    total = len(sites) if scored.total is None else scored.total
    load = _MutantWindows(sites, genome, model.seq_length, width)

    def reduce(pred: torch.Tensor, chunk: npt.NDArray[np.int64]) -> dict[str, np.ndarray]:
        return _statistics(pred, stats)

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


class _MutantWindows:
    """The one-hot windows of a batch of ``(site, position, base)`` rows
    (:func:`_site_mutation_groups`; a reference as position -1) of `sites`: each site's
    window read from `genome` once while its rows last, and each mutant's base set in its
    copy."""

    def __init__(self, sites: Sequence[Site], genome: Genome, seq_length: int, width: int):
        self.sites, self.genome, self.seq_length = sites, genome, seq_length
        self.span_start, _ = mutated_span(seq_length, width)
        self.cache: dict[int, npt.NDArray[np.uint8]] = {}

    def __call__(self, chunk: npt.NDArray[np.int64]) -> npt.NDArray[np.uint8]:
        """The ``(rows, seq_length, 4)`` windows of the rows `chunk`."""
        cache = self.cache
        wanted = np.unique(chunk[:, 0])
        for key in [k for k in cache if k not in wanted]:
            del cache[key]
        missing = [int(i) for i in wanted if int(i) not in cache]
        if missing:
            codes = site_codes([self.sites[i] for i in missing], self.genome, self.seq_length)
            cache.update(zip(missing, one_hot(codes, dtype=np.uint8), strict=True))
        x = np.stack([cache[int(i)] for i in chunk[:, 0]])
        rows = np.nonzero(chunk[:, 1] >= 0)[0]
        where = self.span_start + chunk[rows, 1]
        x[rows, where, :] = 0
        x[rows, where, chunk[rows, 2]] = 1
        return x


def _statistics(pred: torch.Tensor, stats: Sequence[str]) -> dict[str, np.ndarray]:
    """The `stats` of a batch of predictions ``(batch, bins, tracks)``, each
    ``(batch, tracks)``: ``sum`` over all bins, ``center`` over :func:`center_bins`."""
    out = {}
    if "sum" in stats:
        out["sum"] = pred.sum(dim=1)
    if "center" in stats:
        out["center"] = pred[:, center_bins(pred.shape[1])].sum(dim=1)
    return {k: v.cpu().numpy() for k, v in out.items()}


def score_chunks(
    model: SeqNN,
    scored: SiteSpans,
    genome: Genome,
    head: str,
    stats: Sequence[str],
    options: InferenceOptions,
    store: ChunkStore,
    state: StoreState,
    chunk_size: int,
    sequences: int,
) -> StoreState:
    """Score the sites after those `state` counts, `chunk_size` at a time, each chunk's
    mean-removed scores kept in `store` (float16, one ``.npy`` per statistic) once it is
    whole; returns the final state. Each chunk is scored alone, so a batch never mixes two
    chunks' sequences and a resumed run scores every batch as an unbroken run does. A
    progress meter counts the run's `sequences` (:func:`count_sequences` of all its
    sites), those of the sites already done counted from the start."""
    n = len(scored.sites)
    done = state.alleles_done
    before = count_sequences(scored.spans[:done], scored.on_chromosome[:done])
    with progress(sequences, "ISM", "sequences", initial=before) as meter:
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
