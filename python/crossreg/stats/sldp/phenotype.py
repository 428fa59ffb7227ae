"""A phenotype as the block pass holds it for the whole run: its summary statistics at the
print SNPs with each SNP id replaced by its print-SNP index and each allele by a one-byte
code (22 bytes a row, 14 when every row has the same N, instead of ~60 with the ids and
alleles as numpy strings, 4 bytes a character); a chromosome's rows are turned back into
:class:`~crossreg.stats.sldp.sumstats.Sumstats` when the pass aligns them to that
chromosome's panel."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from crossreg.stats.sldp.panel import ChromPanel
from crossreg.stats.sldp.reconcile import ALLELES, Alignment, allele_codes
from crossreg.stats.sldp.sumstats import Sumstats


@dataclass(frozen=True)
class Phenotype:
    """One phenotype's statistics at print SNPs, rows in file order: the print SNP of each
    (its index in the run's sorted print SNPs), its alleles A1 and A2 (codes into
    :data:`ALLELES`), Z for A1 and N (one number broadcast to every row when all rows
    have the same N)."""

    name: str
    source: str
    snp: npt.NDArray[np.int32]
    alleles: npt.NDArray[np.uint8]  # rows × (A1, A2)
    z: npt.NDArray[np.float64]
    n: npt.NDArray[np.float64]

    @classmethod
    def of(cls, stats: Sumstats, print_snps: npt.NDArray[np.str_]) -> Phenotype:
        """`stats` (whose SNPs are among the sorted, unique `print_snps`) held compactly."""
        snp = np.searchsorted(print_snps, stats.snp).astype(np.int32)
        if not np.array_equal(print_snps[np.minimum(snp, len(print_snps) - 1)], stats.snp):
            raise AssertionError(f"{stats.source}: rows at SNPs that are not print SNPs")
        alleles = np.column_stack([allele_codes(stats.a1), allele_codes(stats.a2)])
        n = stats.n
        if len(n) and (n == n[0]).all():  # one N for every row (as --eqtl-n gives): 8 bytes
            n = np.broadcast_to(n[0], n.shape)
        return cls(stats.name, stats.source, snp, alleles, stats.z, n)

    def align(
        self, panel: ChromPanel, print_snps: npt.NDArray[np.str_]
    ) -> tuple[Alignment, npt.NDArray[np.float64], npt.NDArray[np.float64]]:
        """:meth:`Sumstats.align` of the rows at the print SNPs of `panel`'s bim (the
        others match none of its SNPs): the same alignment counts, Z and N."""
        on_chrom = np.zeros(len(print_snps), dtype=bool)
        on_chrom[np.searchsorted(print_snps, panel.bim.snp[panel.printed])] = True
        rows = np.flatnonzero(on_chrom[self.snp])
        alleles = ALLELES[self.alleles[rows]]
        here = Sumstats(
            self.name,
            self.source,
            print_snps[self.snp[rows]],
            alleles[:, 0],
            alleles[:, 1],
            self.z[rows],
            self.n[rows],
        )
        return here.align(panel)
