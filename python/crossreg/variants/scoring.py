"""Scoring variants with a model: reference and alternative windows, the model's
predictions of both, and the statistics of their difference (:mod:`crossreg.variants.sad_stats`).

For every (variant, ALT) pair a reference and an alternative window of the model's length
are scored; the variant's first base sits at index ``L / 2 - 1`` of both (Basenji's
placement: for 1-based ``POS`` the window is ``[POS - L/2 + 1, POS + L/2]``). Bases off the
chromosome ends are N, encoded as 0.25 in every channel as Basenji's SAD does. Each
statistic is computed on the model's device, so only ``(alleles, tracks)`` per statistic
travels back.

Indels are framed as Basenji frames them (``indel="basenji"``, the default;
:func:`basenji_fronts`): the genome is read for ``L + e`` bases, ``e`` being how much
longer REF is than the record's longest sequence ALT (0 for none), and each of the reference and
alternative sequences is cut to ``L`` from its middle (half the excess off the front, the
rest off the back) or padded with N (half in front), so the two windows are offset by
about half the length difference. ``indel="left"`` keeps the bases before the variant in
place in both windows instead: a deletion pulls in the genome's next bases at the window's
end, an insertion pushes bases out of it. A SNP whose REF differs
from the genome while its ALT matches (REF/ALT swapped) is scored as written, with the
VCF's REF in the reference window, as Basenji does, and reported; a REF that matches
nothing is an error naming the record. ``indel="realign"`` maps an indel's alternative
prediction (framed as ``"left"``) into reference coordinates before the statistics
(:mod:`crossreg.variants.realign`).

Reference predictions are shared: alleles whose reference windows are identical (the ALTs
of a multi-allelic record, duplicated records, records at one position with the same REF)
are one reference sequence through the model per batch: nothing is approximated (only
batched kernels' last-bit dependence on a batch's size, present anyway, can differ). With
``cluster_bp = D > 0``, the SNPs of each D-bp tile of a chromosome also share one
reference window, centred on the tile (:func:`window_starts`); each SNP's alternative
window is that window with its ALT at its own offset, so it sits up to ``D / 2`` bp off
the window's centre: an approximation, which changes a SNP's SAD as much as the model is
sensitive to where in its bins a variant falls
(an offset by whole bins changes nothing while the effect stays inside the output bins).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
import torch

from crossreg.dna import one_hot
from crossreg.genome import Genome
from crossreg.io.vcf import Variant, reference_bases, require_chromosome
from crossreg.model.inference import InferenceOptions, run_inference
from crossreg.model.seqnn import SeqNN
from crossreg.step_defaults import SAD_BATCH_SIZE
from crossreg.variants.alleles import Allele, scorable_alts
from crossreg.variants.genes import GENES, GeneBatch, GeneIndex, gene_scores
from crossreg.variants.realign import check_indel_rule, realign
from crossreg.variants.sad_stats import check_stats, compute_stats

log = logging.getLogger("crossreg")


def scored_alleles(
    variants: Sequence[Variant], genome: Genome, *, source: str, seq_length: int | None = None
) -> list[Allele]:
    """Every (variant, ALT) pair to score, checked against `genome`.

    Alleles that cannot be scored (:func:`crossreg.variants.alleles.skip_reason`; with
    `seq_length`, also those longer than half the window) are skipped, counted at debug
    level (a SAD run counts them per reason in its metadata); a chromosome the genome
    lacks, a record past the chromosome's end, or a REF that matches neither the genome nor
    (for SNPs) any of its ALTs is an error naming the record.
    """
    alleles: list[Allele] = []
    skipped = 0
    for v in variants:
        require_chromosome(v, genome.sizes, source=source, fasta=genome.path)
        alts = scorable_alts(v, seq_length)
        skipped += len(v.alts) - len(alts)
        if not alts:
            continue
        found = reference_bases(v, genome, source=source, swapped_snp=True)
        if found != v.ref:
            log.warning(
                "%s: %s at %s:%d has the genome's base as an ALT (%s); its alleles are "
                "scored as written, with REF %s in the reference window (as Basenji does): "
                "the sign is that of %s>ALT",
                source,
                v.id,
                v.chrom,
                v.pos + 1,
                found,
                v.ref,
                v.ref,
            )
        for alt in alts:
            alleles.append(Allele(v, alt))
    if skipped:
        log.debug("%s: skipped %d alleles that cannot be scored", source, skipped)
    return alleles


def _is_snp(allele: Allele) -> bool:
    return len(allele.variant.ref) == 1 and len(allele.alt) == 1


def window_starts(alleles: Sequence[Allele], seq_length: int, cluster_bp: int = 0) -> list[int]:
    """The 0-based genome start of each allele's windows (reference and alternative).

    With `cluster_bp` 0 every window is Basenji's: the variant's first base at index
    ``seq_length / 2 - 1``. With ``cluster_bp = D > 0`` each chromosome is cut into tiles
    ``[kD, (k+1)D)`` and every SNP of a tile gets the tile's window: its centre
    ``kD + D // 2`` at index ``seq_length / 2 - 1``, so a SNP is at most D/2 bp off its
    own window's centre. A SNP's window depends on its position only — not on its
    neighbours, the VCF's order, chunks or shards — so every way of running gives the
    same scores. Indels and multi-base substitutions keep their own windows. D must be
    below ``seq_length / 2``, which keeps every SNP in its window.
    """
    if not 0 <= cluster_bp < seq_length // 2:
        raise ValueError(
            f"cluster_bp must be at least 0 and below half the window ({seq_length // 2}), "
            f"got {cluster_bp}"
        )
    centre = seq_length // 2 - 1
    starts = []
    for a in alleles:
        pos = a.variant.pos
        if cluster_bp and _is_snp(a):
            pos = pos // cluster_bp * cluster_bp + cluster_bp // 2
        starts.append(pos - centre)
    return starts


def basenji_extra(variant: Variant) -> int:
    """How many bases past the window Basenji reads for `variant`: how much longer REF is
    than the record's longest sequence ALT (0 when none is shorter). Symbolic ALTs
    (``<NON_REF>``, ``<*>``, ``*``), which are never scored, do not count: a gVCF's
    deletion ``G,<NON_REF>`` is framed as the plain ``G``."""
    longest = max((len(alt) for alt in variant.alts if alt.isalpha()), default=len(variant.ref))
    return max(0, len(variant.ref) - longest)


def basenji_fronts(allele: Allele, seq_length: int) -> tuple[int, int]:
    """Where Basenji's reference and alternative windows of `allele` begin, relative to the
    left-anchored window (the variant's first base at ``L/2 − 1``), in bp; negative: that
    many N in front.

    Basenji (``basenji/vcf.py``, ``snp_seq1`` and ``dna_length_1hot``) reads ``L + e``
    bases (:func:`basenji_extra`) and brings each sequence to ``L``: a longer one loses
    ``(len − L) // 2`` bases at the front and the rest at the back, a shorter one gets
    ``(L − len) // 2`` N in front and the rest at the back."""
    v = allele.variant
    extra = basenji_extra(v)
    alt_length = seq_length + extra + len(allele.alt) - len(v.ref)
    if alt_length >= seq_length:
        alt_front = (alt_length - seq_length) // 2
    else:
        alt_front = -((seq_length - alt_length) // 2)
    return extra // 2, alt_front


def reference_starts(
    alleles: Sequence[Allele], seq_length: int, starts: Sequence[int], indel: str
) -> list[int]:
    """The genome start of each allele's reference window: `starts` (the left-anchored
    windows') moved by Basenji's front trim under ``indel="basenji"``."""
    if indel != "basenji":
        return list(starts)
    return [
        start + basenji_fronts(a, seq_length)[0] for a, start in zip(alleles, starts, strict=True)
    ]


def reference_keys(
    alleles: Sequence[Allele], genome: Genome, starts: Sequence[int]
) -> list[tuple[object, ...]]:
    """One key per allele, equal for alleles whose reference windows are identical: the
    chromosome and window start, plus the position and REF where REF differs from the
    genome (a REF placed over other bases; case is ignored, as one-hot encoding does)."""
    keys: list[tuple[object, ...]] = []
    for a, start in zip(alleles, starts, strict=True):
        v = a.variant
        found = genome.fetch(v.chrom, v.pos, v.end).decode("ascii").upper()
        keys.append((v.chrom, start) if found == v.ref.upper() else (v.chrom, start, v.pos, v.ref))
    return keys


def _framed(row: npt.NDArray[np.uint8], front: int, length: int) -> npt.NDArray[np.uint8]:
    """``row[front : front + length]``, N wherever that runs off either end of `row`."""
    out = np.full(length, ord("N"), dtype=np.uint8)
    lo, hi = max(front, 0), min(front + length, len(row))
    if hi > lo:
        out[lo - front : hi - front] = row[lo:hi]
    return out


def allele_windows(
    alleles: Sequence[Allele],
    genome: Genome,
    seq_length: int,
    starts: Sequence[int] | None = None,
    indel: str = "basenji",
) -> tuple[npt.NDArray[np.uint8], npt.NDArray[np.uint8]]:
    """Reference and alternative windows ``(n, seq_length)`` as ASCII codes (N-padded).

    The left-anchored window of each allele starts at `starts` (default: Basenji's, the
    variant's first base at index ``seq_length / 2 - 1``), with REF and ALT placed at the
    variant's offset. Under ``indel="basenji"`` an indel's windows are then framed as
    Basenji frames them (:func:`basenji_fronts`); under ``"left"`` and ``"realign"`` they
    stay left-anchored. SNPs and equal-length substitutions are the same under every rule."""
    if starts is None:
        starts = window_starts(alleles, seq_length)
    # enough bases after the window for the longest deletion (Basenji reads fewer)
    longer_ref = max((len(a.variant.ref) - len(a.alt) for a in alleles), default=0)
    codes = genome.fetch_many(
        [a.variant.chrom for a in alleles], starts, seq_length + max(longer_ref, 0)
    )
    ref = np.empty((len(alleles), seq_length), dtype=np.uint8)
    alt = np.empty_like(ref)
    for i, (a, start) in enumerate(zip(alleles, starts, strict=True)):
        v = a.variant
        at = v.pos - start
        ref_allele = np.frombuffer(v.ref.encode("ascii"), dtype=np.uint8)
        row = codes[i].copy()
        row[at : at + len(ref_allele)] = ref_allele
        if indel == "basenji":
            row = row[: seq_length + basenji_extra(v)]  # what Basenji reads
        alt_row = np.concatenate(
            [row[:at], np.frombuffer(a.alt.encode("ascii"), dtype=np.uint8), row[at + len(v.ref) :]]
        )
        ref_front, alt_front = basenji_fronts(a, seq_length) if indel == "basenji" else (0, 0)
        ref[i] = _framed(row, ref_front, seq_length)
        alt[i] = _framed(alt_row, alt_front, seq_length)
    return ref, alt


def shared_layout(keys: Sequence[object]) -> tuple[list[int], list[int]]:
    """The first index of each distinct key (in order of first occurrence) and, per key, the
    index of its distinct key among those."""
    where: dict[object, int] = {}
    firsts: list[int] = []
    inverse: list[int] = []
    for i, key in enumerate(keys):
        if key not in where:
            where[key] = len(firsts)
            firsts.append(i)
        inverse.append(where[key])
    return firsts, inverse


def score_alleles(
    model: SeqNN,
    alleles: Sequence[Allele],
    genome: Genome,
    head: str | None = None,
    options: InferenceOptions = InferenceOptions(batch_size=SAD_BATCH_SIZE),
    *,
    cluster_bp: int = 0,
    indel: str = "basenji",
) -> Iterator[npt.NDArray[np.float32]]:
    """Yield SAD ``(b, tracks)`` float32 batch by batch, in allele order (`cluster_bp` and
    `indel` as :func:`score_stats`)."""
    batches = score_stats(model, alleles, genome, head, options, cluster_bp=cluster_bp, indel=indel)
    return (batch["SAD"] for batch in batches)


def score_stats(
    model: SeqNN,
    alleles: Sequence[Allele],
    genome: Genome,
    head: str | None = None,
    options: InferenceOptions = InferenceOptions(batch_size=SAD_BATCH_SIZE),
    stats: Sequence[str] = ("SAD",),
    genes: GeneIndex | None = None,
    *,
    cluster_bp: int = 0,
    indel: str = "basenji",
) -> Iterator[dict[str, Any]]:
    """Yield ``{stat: (b, tracks) float32}`` batch by batch, in allele order, for each of
    `stats` (``REF``/``ALT``: ``(b, bins, tracks)``); see :mod:`crossreg.variants.sad_stats`.
    With `genes`, each batch also holds a :class:`GeneBatch` under ``"genes"``: the batch's
    (allele, gene) rows and their gene-level scores, summed on the device.

    Each batch of ``options.batch_size`` alleles sends its distinct reference windows and
    its alternative windows through the model. `cluster_bp` > 0 lets nearby SNPs share a
    reference window (:func:`window_starts`). `indel` is ``"basenji"`` (Basenji's windows,
    :func:`basenji_fronts`, compared bin by bin), ``"left"`` (both windows left-anchored,
    compared bin by bin) or ``"realign"`` (left-anchored, the alternative prediction mapped
    into reference coordinates first, :func:`crossreg.variants.realign.realign`; this also
    applies to the gene-level scores and to ``REF``/``ALT``)."""
    stats = check_stats(stats)
    check_indel_rule(indel)
    starts = window_starts(alleles, model.seq_length, cluster_bp)
    ref_starts = reference_starts(alleles, model.seq_length, starts, indel)
    keys = reference_keys(alleles, genome, ref_starts)

    def load(chunk: range) -> npt.NDArray[np.float32]:
        firsts, _ = shared_layout(keys[chunk.start : chunk.stop])
        ref, alt = allele_windows(
            [alleles[i] for i in chunk],
            genome,
            model.seq_length,
            starts[chunk.start : chunk.stop],
            indel,
        )
        return one_hot(np.concatenate([ref[firsts], alt]), dtype=np.float32, n_value=0.25)

    def reduce(pred: torch.Tensor, chunk: range) -> dict[str, Any]:
        part = [alleles[i] for i in chunk]
        part_starts = starts[chunk.start : chunk.stop]
        firsts, inverse = shared_layout(keys[chunk.start : chunk.stop])
        ref = pred[: len(firsts)][torch.tensor(inverse, device=pred.device)]
        alt = pred[len(firsts) :]
        if indel == "realign":
            ref, alt = realign(
                ref,
                alt,
                [a.variant.pos - s for a, s in zip(part, part_starts, strict=True)],
                [len(a.variant.ref) for a in part],
                [len(a.alt) for a in part],
                first_base=(model.seq_length - pred.shape[1] * model.stride) // 2,
                bin_width=model.stride,
            )
        # reduced on the device: only (alleles, tracks) per stat travels back
        values = compute_stats(ref, alt, stats)
        result: dict[str, Any] = {name: value.cpu().numpy() for name, value in values.items()}
        if genes is not None:
            pairs = genes.pairs(
                part,
                model.seq_length,
                pred.shape[1],
                model.stride,
                starts=ref_starts[chunk.start : chunk.stop],
            )
            result[GENES] = GeneBatch(pairs, gene_scores(ref, alt, pairs))
        return result

    return run_inference(model, head, range(len(alleles)), options, load=load, reduce=reduce)
