"""Gene-level variant scores: alt − ref summed over the bins of each gene's TSSs.

For each scored allele, the genes with a TSS (a transcript's first base, strand-aware: its
last base on the minus strand; genes without transcript records use their first exons,
then their gene record, as :func:`crossreg.io.gtf.gene_tss` reads a GTF) inside the
model's output bins of the allele's window get one row each: per track, the sum over the
gene's TSS bins (each bin once, however many TSSs fall in it) of ``alt − ref``. The output
bins are those the model predicts: ``bins`` of ``bin_width`` bp centred in the window, so
the first covers ``[start + (L − bins·bin_width) / 2, …)`` where the window starts at
``start = pos − (L/2 − 1)`` (Basenji's placement; under ``indel="basenji"`` a deletion's
reference window starts ``e // 2`` bases later,
:func:`crossreg.variants.scoring.basenji_fronts`). The sums are taken on the model's
device; only ``(pairs, tracks)`` travels back.
"""

from __future__ import annotations

import bisect
import logging
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

import numpy as np
import numpy.typing as npt

from crossreg import _native
from crossreg.io.chroms import chrom_hint, prefix_twin
from crossreg.io.gtf import gene_tss, iter_gtf
from crossreg.io.gtf_genome import check_gtf_genome
from crossreg.variants.alleles import Allele

if TYPE_CHECKING:
    import torch

    from crossreg.genome import Genome

log = logging.getLogger("crossreg")

GENES = "genes"  # the key of a scored batch's GeneBatch
GENE_COLUMNS = ("snp", "chrom", "pos", "ref", "alt", "gene_id", "tss_count", "tss_distance")


@dataclass(frozen=True)
class GenePair:
    """One (allele, gene) row: the allele's index in its batch, the gene, how many of its
    TSSs lie in the window's output bins, the distance (bp) of the nearest to the variant's
    first base, and the distinct output bins they fall in."""

    row: int
    gene_id: str
    tss_count: int
    distance: int
    bins: tuple[int, ...]


@dataclass(frozen=True)
class GeneBatch:
    """A batch's (allele, gene) rows and their ``(pairs, tracks)`` float32 scores."""

    pairs: list[GenePair]
    scores: npt.NDArray[np.float32]


class GeneIndex:
    """The TSSs of a GTF's genes, sorted per chromosome for window look-ups."""

    def __init__(self, sites: dict[str, list[tuple[str, int]]]) -> None:
        by_chrom: dict[str, list[tuple[int, str]]] = {}
        for gene, places in sites.items():
            for chrom, pos in places:
                by_chrom.setdefault(chrom, []).append((pos, gene))
        self.positions: dict[str, list[int]] = {}
        self.genes: dict[str, list[str]] = {}
        for chrom, items in by_chrom.items():
            items.sort()
            self.positions[chrom] = [pos for pos, _ in items]
            self.genes[chrom] = [gene for _, gene in items]
        self.tss = sites

    @classmethod
    def from_gtf(cls, path: str | os.PathLike[str]) -> GeneIndex:
        """Read `path`'s gene TSSs (transcript starts, strand-aware)."""
        return cls(gene_tss(iter_gtf(path)))

    @property
    def chromosomes(self) -> set[str]:
        """The chromosomes with a TSS."""
        return set(self.positions)

    def check_chromosomes(self, gtf: str | os.PathLike[str], fasta: Genome) -> None:
        """Stop when a chromosome of `gtf` differs from one of `fasta`'s only by the
        ``chr`` prefix (``1`` for ``chr1``), with the renaming hint, as ``crossreg data``
        and ``transfer`` do, or when a TSS lies past the end of its chromosome in `fasta`
        (a GTF of another genome, :func:`crossreg.io.gtf_genome.check_gtf_genome`); warn
        when `gtf` gives no gene a TSS, or counting the genes on chromosomes `fasta`
        lacks."""
        if not self.positions:
            log.warning(
                "%s: the GTF has no transcript, exon or gene records on a strand ('+' or "
                "'-'), so no gene has a TSS and no gene is scored; give a gene annotation GTF "
                "(GENCODE, Ensembl or UCSC)",
                gtf,
            )
            return
        sizes: Mapping[str, int] = fasta.sizes
        for name in self.positions:
            if name not in sizes and prefix_twin(name, sizes) is not None:
                raise ValueError(
                    f"{gtf}: chromosome '{name}' is not in {fasta.path}{chrom_hint(name, sizes)}"
                )
        check_gtf_genome(
            gtf,
            self.tss,
            sizes,
            str(fasta.path),
            f"give the GTF of the genome of {fasta.path}",
            absent_is_error=False,
        )

    def pairs(
        self,
        alleles: Sequence[Allele],
        seq_length: int,
        bins: int,
        bin_width: int,
        starts: Sequence[int] | None = None,
    ) -> list[GenePair]:
        """The (allele, gene) rows of `alleles`, in allele order, genes by identifier; the
        windows start at `starts` (default: Basenji's, ``pos − (L/2 − 1)``)."""
        centre = seq_length // 2 - 1
        offset = (seq_length - bins * bin_width) // 2
        found: list[GenePair] = []
        for row, a in enumerate(alleles):
            v = a.variant
            positions = self.positions.get(v.chrom)
            if not positions:
                continue
            first = (v.pos - centre if starts is None else starts[row]) + offset
            lo = bisect.bisect_left(positions, first)
            hi = bisect.bisect_left(positions, first + bins * bin_width)
            per_gene: dict[str, list[int]] = {}
            for k in range(lo, hi):
                per_gene.setdefault(self.genes[v.chrom][k], []).append(positions[k])
            for gene in sorted(per_gene):
                tss = per_gene[gene]
                found.append(
                    GenePair(
                        row,
                        gene,
                        len(tss),
                        min(abs(p - v.pos) for p in tss),
                        tuple(sorted({(p - first) // bin_width for p in tss})),
                    )
                )
        return found


def gene_scores(
    ref: torch.Tensor, alt: torch.Tensor, pairs: Sequence[GenePair]
) -> npt.NDArray[np.float32]:
    """``(pairs, tracks)`` float32: per pair, Σ over its bins of ``alt − ref``, summed on
    the predictions' device from ``(b, bins, tracks)`` `ref` and `alt`."""
    import torch

    tracks = ref.shape[-1]
    if not pairs:
        return np.zeros((0, tracks), dtype=np.float32)
    rows = [p.row for p in pairs for _ in p.bins]
    bins = [b for p in pairs for b in p.bins]
    which = [i for i, p in enumerate(pairs) for _ in p.bins]
    device = ref.device
    rows_t = torch.tensor(rows, dtype=torch.long, device=device)
    bins_t = torch.tensor(bins, dtype=torch.long, device=device)
    which_t = torch.tensor(which, dtype=torch.long, device=device)
    diff = alt[rows_t, bins_t].float() - ref[rows_t, bins_t].float()
    out = torch.zeros((len(pairs), tracks), dtype=torch.float32, device=device)
    out.index_add_(0, which_t, diff)
    return out.cpu().numpy()


def genes_path(out: str | os.PathLike[str]) -> Path:
    """``OUT.genes.tsv`` beside a SAD output ``OUT.h5`` or ``OUT.tsv``."""
    out = Path(out)
    return out.with_name(out.stem + ".genes.tsv")


def write_gene_header(handle: TextIO, identifiers: Sequence[str]) -> None:
    """The gene table's header: :data:`GENE_COLUMNS`, then one column per track."""
    handle.write("\t".join([*GENE_COLUMNS, *identifiers]) + "\n")


def write_gene_rows(
    handle: TextIO,
    alleles: Sequence[Allele],
    pairs: Sequence[GenePair],
    scores: npt.NDArray[np.float32],
) -> int:
    """Write one row per pair (`alleles` is the batch the pairs index); returns the count."""
    prefixes = []
    for pair in pairs:
        a = alleles[pair.row]
        v = a.variant
        fields = [a.label, v.chrom, str(v.pos + 1), v.ref, a.alt, pair.gene_id]
        prefixes.append("\t".join([*fields, str(pair.tss_count), str(pair.distance)]))
    rows = np.ascontiguousarray(scores, dtype=np.float32)
    handle.write(_native.format_rows(prefixes, rows).decode())
    return len(pairs)
