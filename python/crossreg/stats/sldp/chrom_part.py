"""What one panel chromosome adds to a run's block pass (:class:`ChromPart`): each
phenotype's statistics of its LD blocks and what the run keeps of them (:class:`PhenoBlocks`),
the ``.info`` sums of its SNPs, its allele reconciliation counts, its blocks' ranks and what
its annotations matched; computed by :mod:`crossreg.stats.sldp.block_loop` or read back
from a checkpoint (:mod:`crossreg.stats.sldp.checkpoint`), and added into the run's totals
the same way."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from crossreg.stats.sldp.regression import BlockStats

Info = dict[str, npt.NDArray[np.float64] | float]  # the .info sums of the marginal annotations
#: Each phenotype's statistics of one chromosome's LD blocks, by block.
ChromStats = dict[str, dict[int, BlockStats]]


@dataclass
class PhenoBlocks:
    """What the run keeps of one phenotype's LD blocks: which have statistics (the
    statistics themselves are written to the checkpoint and read back one phenotype at a
    time for its regression), their typed counts and print-SNP index ranges."""

    with_stats: npt.NDArray[np.bool_]
    m_h: npt.NDArray[np.float64]
    snpind: npt.NDArray[np.int64]  # blocks × (begin, end)
    typed: bool = False  # some print SNP of a block with an LD spectrum is typed
    indefinite: int = 0  # blocks whose W = R/N + σ²_g R² has an eigenvalue ≤ 0 (σ²_g < 0)
    signal: npt.NDArray[np.bool_] = field(default_factory=lambda: np.zeros(0, dtype=bool))

    @classmethod
    def empty(cls, n_blocks: int) -> PhenoBlocks:
        """No statistics yet, for a run of `n_blocks` LD blocks."""
        return cls(
            np.zeros(n_blocks, dtype=bool),
            np.zeros(n_blocks),
            np.zeros((n_blocks, 2), dtype=np.int64),
        )

    @property
    def counted(self) -> int:
        """The LD blocks with statistics."""
        return int(self.with_stats.sum())

    def note_signal(self, typed_profiles: npt.NDArray[np.float64]) -> None:
        """Mark the marginal annotations whose signed LD profile is not 0 at these typed
        print SNPs (rows × marginal annotations)."""
        self.typed = True
        self._add_signal((typed_profiles != 0).any(axis=0))

    def add(self, part: PhenoBlocks) -> None:
        """Add `part`, what is kept of other LD blocks (one chromosome's)."""
        ids = np.flatnonzero(part.with_stats)
        self.with_stats[ids] = True
        self.m_h[ids] = part.m_h[ids]
        self.snpind[ids] = part.snpind[ids]
        self.typed = self.typed or part.typed
        self.indefinite += part.indefinite
        if part.signal.size:
            self._add_signal(part.signal)

    def _add_signal(self, hits: npt.NDArray[np.bool_]) -> None:
        self.signal = self.signal | hits if self.signal.size else hits


@dataclass(frozen=True)
class AnnotationState:
    """What reading one chromosome's annotations of a set (marginal or background) told
    it: the annotation names, the file of each, and how many panel SNPs each source
    matched there."""

    names: list[str]
    origin: dict[str, str]
    matched: dict[str, int]


@dataclass(frozen=True)
class ChromPart:
    """One panel chromosome's share of the block pass: `per_pheno` (what the run keeps of
    its LD blocks), `info` (its SNPs' ``.info`` sums), `counts` (reconciliation counts),
    `ranks` (its blocks with print SNPs, and of those the ones whose spectrum keeps no
    eigenvector), `annotations` (``marginal`` and ``background``: what each set read),
    `snps`, its panel SNPs, and `stats`, each phenotype's statistics of its blocks: those
    of a share just computed, to write to the checkpoint; none in a share read back from
    it (they stay in its file until the regression)."""

    chrom: str
    per_pheno: dict[str, PhenoBlocks]
    info: Info
    counts: dict[str, dict[str, int]]
    ranks: dict[str, int]
    annotations: dict[str, AnnotationState]
    snps: int
    stats: ChromStats
