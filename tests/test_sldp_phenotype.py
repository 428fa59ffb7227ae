"""A phenotype held compactly for the pass (print-SNP indices and allele codes, no id
strings) aligns to each chromosome's panel exactly as its summary statistics do."""

from __future__ import annotations

import gzip
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from crossreg.stats.sldp.inputs import read_print_snps
from crossreg.stats.sldp.panel import load_chrom_panel, read_ld_blocks
from crossreg.stats.sldp.phenotype import Phenotype
from crossreg.stats.sldp.sumstats import read_sumstats

INPUTS = Path(__file__).parent / "data" / "sldp" / "inputs"  # chromosomes 1 and 22


def _messier(path: Path) -> None:
    """pheno_a of the world (already with swapped, strand-complemented, ambiguous,
    mismatched, duplicated and absent SNPs) with lower-case and longer alleles, and SNPs
    listed twice with a first row that matches no panel pair."""
    with gzip.open(INPUTS / "pheno_a.sumstats.gz", "rt") as handle:
        header, *rows = handle.read().splitlines()
    lines = [header]
    for k, row in enumerate(rows):
        snp, a1, a2, z, n = row.split("\t")
        if k % 7 == 0:
            a1, a2 = a1.lower(), a2.lower()
        if k % 11 == 0:
            a1 += "T"
        if k % 13 == 0:
            lines.append(f"{snp}\tA\tA\t9.9\t{n}")
        if k % 17 == 0:
            lines.append(f"{snp}\t{a2}\t{a1}\t{z}\t{n}")
        lines.append(f"{snp}\t{a1}\t{a2}\t{z}\t{n}")
    path.write_text("\n".join(lines) + "\n")


@pytest.mark.parametrize("chrom", ["1", "22"])
def test_a_phenotype_aligns_as_its_summary_statistics(tmp_path: Path, chrom: str) -> None:
    printed = read_print_snps(INPUTS / "print_snps.txt")
    _messier(tmp_path / "messy.sumstats")
    stats = read_sumstats(tmp_path / "messy.sumstats", printed)
    panel = load_chrom_panel(
        str(INPUTS / "panel."), chrom, printed, read_ld_blocks(INPUTS / "blocks.bed")
    )
    theirs, z, n = stats.align(panel)
    mine, my_z, my_n = Phenotype.of(stats, printed).align(panel, printed)
    assert mine.counts == theirs.counts
    for kind in ("matched", "swapped", "complemented", "ambiguous", "mismatched", "duplicated"):
        assert theirs.counts[kind] > 0, kind  # the messy rows reach this chromosome
    np.testing.assert_array_equal(my_z, z)
    np.testing.assert_array_equal(my_n, n)
    np.testing.assert_array_equal(mine.sign, theirs.sign)


def test_a_phenotype_holds_no_strings(tmp_path: Path) -> None:
    printed = read_print_snps(INPUTS / "print_snps.txt")
    _messier(tmp_path / "messy.sumstats")
    stats = read_sumstats(tmp_path / "messy.sumstats", printed)
    held = Phenotype.of(stats, printed)
    arrays: list[np.ndarray] = [held.snp, held.alleles, held.z, held.n]
    assert sum(a.nbytes for a in arrays) == 22 * len(stats.z)
    assert held.snp.tolist() == [printed.tolist().index(s) for s in stats.snp]


def test_one_n_for_every_row_is_held_once(tmp_path: Path) -> None:
    # an eQTL set with --eqtl-n (or a table of one N) has the same N on every row
    printed = read_print_snps(INPUTS / "print_snps.txt")
    _messier(tmp_path / "messy.sumstats")
    varied = read_sumstats(tmp_path / "messy.sumstats", printed)
    stats = replace(varied, n=np.full(len(varied.n), 5000.0))
    held = Phenotype.of(stats, printed)
    base = held.n.base
    assert held.n.strides == (0,) and isinstance(base, np.ndarray) and base.nbytes == 8
    panel = load_chrom_panel(
        str(INPUTS / "panel."), "22", printed, read_ld_blocks(INPUTS / "blocks.bed")
    )
    theirs, z, n = stats.align(panel)
    mine, my_z, my_n = held.align(panel, printed)
    assert mine.counts == theirs.counts
    np.testing.assert_array_equal(my_z, z)
    np.testing.assert_array_equal(my_n, n)
