"""crossreg.io.chroms: one wording for chromosome naming mismatches, shared with the native
core's errors and used by the BED, VCF and dataset-input checks."""

from __future__ import annotations

from pathlib import Path

import pytest

from crossreg.data.checks import check_chromosomes
from crossreg.genome import Genome
from crossreg.io.bed import Interval, check_within, read_bed
from crossreg.io.chroms import chrom_hint, prefix_twin
from crossreg.io.vcf import Variant, require_chromosome


def test_hint_names_the_other_spelling():
    assert chrom_hint("1", ["chr1", "chr2"]).startswith("; did you mean 'chr1'? ")
    assert "carry the 'chr' prefix" in chrom_hint("1", ["chr1"])
    assert "have no 'chr' prefix" in chrom_hint("chr1", {"1": 10, "2": 5})
    assert "case-sensitive" in chrom_hint("CHRX", ["chrX"])
    assert chrom_hint("chr9", [f"chr{i}" for i in range(1, 8)]) == (
        " (it holds chr1, chr2, chr3, chr4, chr5, ...)"
    )


def test_prefix_twin_only_for_the_prefix():
    known = {"chr1": 10, "2": 5}
    assert prefix_twin("1", known) == "chr1"
    assert prefix_twin("chr2", known) == "2"
    assert prefix_twin("chr1", known) is None
    assert prefix_twin("CHR1", known) is None
    assert prefix_twin("3", known) is None


def test_python_and_native_errors_word_it_alike(tmp_path: Path):
    fasta = tmp_path / "g.fa"
    fasta.write_text(">chr1\nACGTACGTAC\n")
    genome = Genome(fasta)
    hint = chrom_hint("1", genome.names)
    with pytest.raises(ValueError) as native:
        genome.fetch("1", 0, 2)
    assert str(native.value).endswith(hint)
    with pytest.raises(ValueError) as bed:
        check_within([Interval("1", 0, 2)], genome.sizes, source="a.bed", fasta="g.fa")
    assert str(bed.value) == f"a.bed: chromosome '1' is not in g.fa{hint}"
    with pytest.raises(ValueError) as vcf:
        variant = Variant("1", 0, "A", ("C",), id="rs1")
        require_chromosome(variant, genome.sizes, source="a.vcf", fasta="g.fa")
    # the hint's "names here" are the FASTA's, named just before it
    assert str(vcf.value) == f"a.vcf: variant rs1 at 1:1 is on a chromosome not in g.fa{hint}"
    with pytest.raises(ValueError) as track:
        check_chromosomes("t.bw", {"1": 10}, genome.sizes, fasta="g.fa")
    assert str(track.value) == f"t.bw: chromosome '1' is not in g.fa{hint}"


def test_check_within_names_the_line_an_interval_was_read_from(tmp_path: Path):
    bed = tmp_path / "a.bed"
    bed.write_text("# header\nchr1\t0\t5\nchr1\t5\t11\n")
    intervals = read_bed(bed)
    assert [iv.line for iv in intervals] == [2, 3]
    with pytest.raises(ValueError) as caught:
        check_within(intervals, {"chr1": 10}, source="a.bed", what="blacklist BED")
    assert str(caught.value).startswith(
        "a.bed:3 (blacklist BED): interval chr1:5-11 runs past the chromosome end (10 bp)"
    )
