"""The SAD scoring loop: a run's records scored chunk by chunk into its
:class:`~crossreg.variants.chunk_store.ChunkStore`, with progress in alleles."""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from crossreg.genome import Genome
from crossreg.io.vcf import Variant
from crossreg.model.inference import InferenceOptions
from crossreg.model.seqnn import SeqNN
from crossreg.progress import progress
from crossreg.variants.alleles import Allele
from crossreg.variants.chunk_store import ChunkStore, StoreState
from crossreg.variants.genes import GENES, GeneBatch, GeneIndex, write_gene_rows
from crossreg.variants.sad_survey import Plan, kept_records, record_chunks
from crossreg.variants.scoring import score_stats, scored_alleles


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


def score_run(
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
