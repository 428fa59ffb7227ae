"""Scoring variants with a model: reference and alternative windows, the model's
predictions of both, and the statistics of their difference (:mod:`crossreg.variants.sad_stats`).

For every (variant, ALT) pair a reference and an alternative window of the model's length
are scored; the variant's first base sits at index ``L / 2 - 1`` of both (Basenji's
placement: for 1-based ``POS`` the window is ``[POS - L/2 + 1, POS + L/2]``). Bases off the
chromosome ends are N, encoded as 0.25 in every channel as Basenji's SAD does. Each
statistic is computed on the model's device, so only ``(alleles, tracks)`` per statistic
travels back.

Indels keep the bases before the variant in place: a deletion pulls in the genome's next
bases at the window's end, an insertion pushes bases out of it. A SNP whose REF differs
from the genome while its ALT matches (REF/ALT swapped) is scored as written, with the
VCF's REF in the reference window, as Basenji does, and reported; a REF that matches
nothing is an error naming the record.
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
from crossreg.io.vcf import Variant, require_chromosome
from crossreg.model.inference import InferenceOptions, run_inference
from crossreg.model.seqnn import SeqNN
from crossreg.variants.alleles import Allele, scorable_alts
from crossreg.variants.genes import GENES, GeneBatch, GeneIndex, gene_scores
from crossreg.variants.sad_stats import check_stats, compute_stats

log = logging.getLogger("crossreg")


def scored_alleles(variants: Sequence[Variant], genome: Genome, *, source: str) -> list[Allele]:
    """Every (variant, ALT) pair to score, checked against `genome`.

    Symbolic or missing ALTs (``<DEL>``, ``*``, ``.``) are skipped with a note; a chromosome
    the genome lacks or a REF that matches neither the genome nor (for SNPs) the ALT is an
    error naming the record.
    """
    alleles: list[Allele] = []
    skipped = 0
    for v in variants:
        require_chromosome(v, genome, source=source)
        found = genome.fetch(v.chrom, v.pos, v.end).decode("ascii").upper()
        alts = scorable_alts(v)
        skipped += len(v.alts) - len(alts)
        for alt in alts:
            if found != v.ref:
                if not (v.is_snp and found == alt):
                    raise ValueError(
                        f"{source}: variant {v.id} at {v.chrom}:{v.pos + 1} has REF {v.ref} "
                        f"but the genome has {found}; check the genome build"
                    )
                log.warning(
                    "%s: %s at %s:%d has the genome's base as ALT (%s); scored as written, "
                    "with REF %s in the reference window (as Basenji does): the sign is "
                    "that of %s>%s",
                    source,
                    v.id,
                    v.chrom,
                    v.pos + 1,
                    alt,
                    v.ref,
                    v.ref,
                    alt,
                )
            alleles.append(Allele(v, alt))
    if skipped:
        log.info("%s: skipped %d symbolic or missing ALT alleles", source, skipped)
    return alleles


def allele_windows(
    alleles: Sequence[Allele], genome: Genome, seq_length: int
) -> tuple[npt.NDArray[np.uint8], npt.NDArray[np.uint8]]:
    """Reference and alternative windows ``(n, seq_length)`` as ASCII codes (N-padded)."""
    centre = seq_length // 2 - 1
    extra = max((len(a.variant.ref) - len(a.alt) for a in alleles), default=0)
    extra = max(extra, 0)
    starts = [a.variant.pos - centre for a in alleles]
    codes = genome.fetch_many([a.variant.chrom for a in alleles], starts, seq_length + extra)
    ref = np.ascontiguousarray(codes[:, :seq_length])
    alt = np.empty_like(ref)
    for i, a in enumerate(alleles):
        ref_allele = np.frombuffer(a.variant.ref.encode("ascii"), dtype=np.uint8)
        ref[i, centre : centre + len(ref_allele)] = ref_allele
        tail = codes[i, centre + len(ref_allele) :]
        row = np.concatenate(
            [codes[i, :centre], np.frombuffer(a.alt.encode("ascii"), dtype=np.uint8), tail]
        )
        alt[i] = row[:seq_length]
    return ref, alt


def score_alleles(
    model: SeqNN,
    alleles: Sequence[Allele],
    genome: Genome,
    head: str | None = None,
    options: InferenceOptions = InferenceOptions(batch_size=8),
) -> Iterator[npt.NDArray[np.float32]]:
    """Yield SAD ``(b, tracks)`` float32 batch by batch, in allele order."""
    return (batch["SAD"] for batch in score_stats(model, alleles, genome, head, options))


def score_stats(
    model: SeqNN,
    alleles: Sequence[Allele],
    genome: Genome,
    head: str | None = None,
    options: InferenceOptions = InferenceOptions(batch_size=8),
    stats: Sequence[str] = ("SAD",),
    genes: GeneIndex | None = None,
) -> Iterator[dict[str, Any]]:
    """Yield ``{stat: (b, tracks) float32}`` batch by batch, in allele order, for each of
    `stats` (``REF``/``ALT``: ``(b, bins, tracks)``); see :mod:`crossreg.variants.sad_stats`.
    With `genes`, each batch also holds a :class:`GeneBatch` under ``"genes"``: the batch's
    (allele, gene) rows and their gene-level scores, summed on the device."""
    stats = check_stats(stats)

    def load(chunk: Sequence[Allele]) -> npt.NDArray[np.float32]:
        ref, alt = allele_windows(chunk, genome, model.seq_length)
        return one_hot(np.concatenate([ref, alt]), dtype=np.float32, n_value=0.25)

    def reduce(pred: torch.Tensor, chunk: Sequence[Allele]) -> dict[str, Any]:
        n = len(chunk)  # reduced on the device: only (alleles, tracks) per stat travels back
        values = compute_stats(pred[:n], pred[n:], stats)
        result: dict[str, Any] = {name: value.cpu().numpy() for name, value in values.items()}
        if genes is not None:
            pairs = genes.pairs(chunk, model.seq_length, pred.shape[1], model.stride)
            result[GENES] = GeneBatch(pairs, gene_scores(pred[:n], pred[n:], pairs))
        return result

    return run_inference(model, head, alleles, options, load=load, reduce=reduce)
