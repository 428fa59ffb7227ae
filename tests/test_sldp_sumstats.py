"""Summary statistics that cannot enter the regression stop naming file and line."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from crossreg.stats.sldp.eqtl_table import read_eqtl
from crossreg.stats.sldp.sumstats import read_sumstats

PRINTED = np.array(["rs1", "rs2", "rs3"])


def _sumstats(tmp_path: Path, rows: str) -> Path:
    path = tmp_path / "trait.sumstats"
    path.write_text("SNP\tA1\tA2\tZ\tN\n" + rows)
    return path


def test_missing_z_and_n_drop_their_rows(tmp_path: Path) -> None:
    path = _sumstats(tmp_path, "rs1\tA\tG\tNaN\t90\nrs2\tA\tG\t1.5\tNA\nrs3\tC\tT\t-2\t90\n")
    stats = read_sumstats(path, PRINTED)
    assert stats.snp.tolist() == ["rs3"] and stats.z.tolist() == [-2.0]


@pytest.mark.parametrize("batch", [None, 20])
def test_an_empty_z_or_n_of_a_tab_separated_file_drops_its_row(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, batch: int | None
) -> None:
    # the reference reads the file tab-separated (pandas): an empty Z or N is NaN and its
    # row is dropped; before, the row stopped the run ("4 fields but the header has 5"),
    # an empty field at a line's end included; in batches of a few lines too
    from crossreg.stats.sldp import tables

    if batch is not None:
        monkeypatch.setattr(tables, "BATCH_CHARS", batch)
    rows = "rs1\tA\tG\t\t90\nrs2 \tA\tG\t 1.5\t\nrs3\tC\tT\t-2\t90\nrs4\tA\tC\t3\t90 \n"
    stats = read_sumstats(_sumstats(tmp_path, rows), np.array([*PRINTED, "rs4"]))
    assert stats.snp.tolist() == ["rs3", "rs4"] and stats.z.tolist() == [-2.0, 3.0]
    # a row with a field too few, tab-separated or not, still stops naming its line
    for short in ("rs1\tA\tG\t90\n", "rs1 A G 1.0\n"):
        with pytest.raises(ValueError, match=r"trait\.sumstats line 2: 4 fields but the header"):
            read_sumstats(_sumstats(tmp_path, short), PRINTED)


def test_an_empty_eqtl_z_drops_its_row(tmp_path: Path) -> None:
    path = tmp_path / "gtex.tsv"
    path.write_text("SNP\tgene_id\tref\talt\tz\tN\nrs1\tg1\tA\tG\t\t90\nrs1\tg2\tA\tG\t1\t90\n")
    stats = read_eqtl(path, PRINTED)
    assert stats.snp.tolist() == ["rs1"] and stats.z.tolist() == [1.0]


@pytest.mark.parametrize(
    ("rows", "expected"),
    [
        ("rs1\tA\tG\t1.0\t90\nrs2\tA\tG\tinf\t90\n", r"line 3: column Z has inf"),
        ("rs1\tA\tG\t-inf\t90\n", r"line 2: column Z has -inf"),
        ("rs1\tA\tG\t1.0\t0\n", r"line 2: column N has 0\.0; it must be a finite number above 0"),
        ("rs1\tA\tG\t1.0\t-5\n", r"line 2: column N has -5\.0"),
        ("rs1\tA\tG\t1.0\tinf\n", r"line 2: column N has inf"),
    ],
)
def test_infinite_z_or_unusable_n_stops(tmp_path: Path, rows: str, expected: str) -> None:
    with pytest.raises(ValueError, match=rf"trait\.sumstats {expected}"):
        read_sumstats(_sumstats(tmp_path, rows), PRINTED)


def test_eqtl_sample_sizes_must_be_above_zero(tmp_path: Path) -> None:
    path = tmp_path / "gtex.tsv"
    path.write_text("SNP\tgene_id\tref\talt\tz\tN\nrs1\tg1\tA\tG\t2.0\t90\nrs1\tg2\tA\tG\t1\t0\n")
    with pytest.raises(ValueError, match=r"gtex\.tsv line 3: column N has 0\.0"):
        read_eqtl(path, PRINTED)
    with pytest.raises(ValueError, match=r"gtex\.tsv: the eQTL sample size must be .* got 0"):
        read_eqtl(path, PRINTED, n=0)


@pytest.mark.parametrize(
    ("columns", "row", "expected"),
    [
        ("z", "inf", r"line 2: column z has inf"),
        ("slope\tslope_se", "0.5\t0", r"line 2: column slope_se has 0\.0"),
        ("slope\tslope_se", "inf\t0.1", r"line 2: column slope has inf"),
    ],
)
def test_an_infinite_eqtl_z_stops(tmp_path: Path, columns: str, row: str, expected: str) -> None:
    # before: the row was dropped with only numpy's divide-by-zero warning
    path = tmp_path / "gtex.tsv"
    path.write_text(f"SNP\tgene_id\tref\talt\t{columns}\tN\nrs1\tg1\tA\tG\t{row}\t90\n")
    with pytest.raises(ValueError, match=rf"gtex\.tsv {expected}"):
        read_eqtl(path, PRINTED)


def test_an_eqtl_snp_takes_the_alleles_of_its_first_valid_row(tmp_path: Path) -> None:
    # before: an indel row listed first set the SNP's alleles, dropping its SNV rows
    path = tmp_path / "gtex.tsv"
    path.write_text(
        "SNP\tgene_id\tref\talt\tz\tN\n"
        "rs1\tg0\tA\tAT\t5.0\t90\n"
        "rs1\tg1\ta\tg\t1.0\t90\n"
        "rs1\tg2\tG\tA\t2.0\t90\n"
        "rs2\tg1\tA\tT\t3.0\t90\n"
    )
    stats = read_eqtl(path, PRINTED)
    assert stats.snp.tolist() == ["rs1", "rs2"]
    assert (stats.a1.tolist(), stats.a2.tolist()) == (["G", "T"], ["A", "A"])
    np.testing.assert_allclose(stats.z, [(1.0 - 2.0) / np.sqrt(2), 3.0])


def test_ids_named_unlike_the_print_snps_stop_with_an_example_of_each(tmp_path: Path) -> None:
    # before: "no rows at print SNPs", with no hint that the ids are spelled another way
    path = _sumstats(tmp_path, "1:100\tA\tG\t1.0\t90\n1:200\tA\tG\tNA\t90\n")
    expected = r"trait\.sumstats: none of its 1 rows .*\(SNP ids such as '1:100'\).*e\.g\. 'rs1'\)"
    with pytest.raises(ValueError, match=expected):
        read_sumstats(path, PRINTED)
    eqtl = tmp_path / "gtex.tsv"
    rows = "chr1_100\tg1\tA\tG\t2.0\t90\nchr1_100\tg2\tA\tG\t1.0\t90\n"
    eqtl.write_text("SNP\tgene_id\tref\talt\tz\tN\n" + rows)
    # it said "none of its 2 SNP ids", of one id: the count is of rows (one per gene)
    with pytest.raises(ValueError, match=r"gtex\.tsv: none of its 2 rows .*'chr1_100'"):
        read_eqtl(eqtl, PRINTED)


def test_rows_at_no_print_snp_are_dropped_when_some_are(tmp_path: Path) -> None:
    stats = read_sumstats(_sumstats(tmp_path, "1:100\tA\tG\t1.0\t90\nrs2\tA\tG\t2\t90\n"), PRINTED)
    assert stats.snp.tolist() == ["rs2"]


def test_beta_and_se_without_z_say_how_to_get_z(tmp_path: Path) -> None:
    # before: "missing column(s) Z", not saying what to do with the BETA and SE there
    path = tmp_path / "trait.sumstats"
    path.write_text("SNP\tA1\tA2\tBETA\tSE\tN\nrs1\tA\tG\t0.1\t0.05\t90\n")
    with pytest.raises(ValueError, match=r"trait\.sumstats: no Z column .*Z = BETA / SE"):
        read_sumstats(path, PRINTED)


def test_an_eqtl_table_without_n_points_at_eqtl_n(tmp_path: Path) -> None:
    # before: "missing column(s) N", not naming the option that gives it
    path = tmp_path / "gtex.tsv"
    path.write_text("SNP\tgene_id\tref\talt\tz\nrs1\tg1\tA\tG\t2.0\n")
    with pytest.raises(ValueError, match=r"gtex\.tsv: no N column .*with --eqtl-n"):
        read_eqtl(path, PRINTED)
    assert read_eqtl(path, PRINTED, n=90).n.tolist() == [90.0]


def test_an_eqtl_table_without_an_id_column_names_the_ones_read(tmp_path: Path) -> None:
    # before: "missing column(s) SNP", not saying that rsid or variant_id would do
    path = tmp_path / "gtex.tsv"
    path.write_text("snp\tgene_id\tref\talt\tz\tN\nrs1\tg1\tA\tG\t2.0\t90\n")
    expected = (
        r"gtex\.tsv: no column of SNP ids \(SNP, rsid, variant_id\) among snp, gene_id, ref, "
        r"alt, z, N; names are case-sensitive, so 'snp' is not one"
    )
    with pytest.raises(ValueError, match=expected):
        read_eqtl(path, PRINTED)
    path.write_text("id\tgene_id\tref\talt\tz\tN\nrs1\tg1\tA\tG\t2.0\t90\n")
    with pytest.raises(ValueError, match=r"among id, gene_id, ref, alt, z, N: name the column"):
        read_eqtl(path, PRINTED)
    path.write_text("rsid\tgene_id\tref\talt\tz\tN\nrs1\tg1\tA\tG\t2.0\t90\n")
    assert read_eqtl(path, PRINTED).snp.tolist() == ["rs1"]


def test_strand_ambiguous_eqtl_snps_are_kept_for_h2g(tmp_path: Path) -> None:
    # before: an A/T SNP had no valid first pair and was dropped from the eQTL statistics,
    # so h²_g saw fewer SNPs than a .sumstats file of the same SNPs gives it
    path = tmp_path / "gtex.tsv"
    path.write_text(
        "SNP\tgene_id\tref\talt\tz\tN\n"
        "rs1\tg1\tA\tT\t2.0\t90\n"
        "rs1\tg2\tT\tA\t1.0\t90\n"  # the swapped pair: negated
        "rs1\tg3\tA\tC\t5.0\t90\n"  # other alleles: dropped
        "rs2\tg1\tC\tG\t-1.5\t90\n"
        "rs3\tg1\tA\tG\t3.0\t90\n"
        "rs3\tg2\tA\tG\t1.0\t90\n"
    )
    stats = read_eqtl(path, PRINTED)
    assert stats.snp.tolist() == ["rs1", "rs2", "rs3"]
    assert stats.a1.tolist() == ["T", "G", "G"] and stats.a2.tolist() == ["A", "C", "A"]
    np.testing.assert_allclose(stats.z, [(2.0 - 1.0) / np.sqrt(2), -1.5, 4.0 / np.sqrt(2)])
    sumstats = _sumstats(tmp_path, "rs1\tT\tA\t0.7\t90\nrs2\tG\tC\t-1.5\t90\nrs3\tG\tA\t2.8\t90\n")
    assert read_sumstats(sumstats, PRINTED).snp.tolist() == stats.snp.tolist()


def test_an_ambiguous_eqtl_snp_listed_both_ways_beside_the_other_strand_stops(
    tmp_path: Path,
) -> None:
    # before: A/T then T/A was read as a swap (z 2 - 1) although the table lists rs3 on the
    # other strand, where T/A is A/T's complement (z 2 + 1): h2g took one guess silently
    path = tmp_path / "gtex.tsv"
    header = "SNP\tgene_id\tref\talt\tz\tN\n"
    both = "rs1\tg1\tA\tT\t2.0\t90\nrs1\tg2\tT\tA\t1.0\t90\n"
    path.write_text(header + both + "rs3\tg1\tA\tG\t3.0\t90\nrs3\tg2\tT\tC\t1.0\t90\n")
    expected = (
        r"gtex\.tsv lines 2 and 3: the strand-ambiguous SNP rs1 is listed as T/A and as A/T, "
        r".* \(line 5: rs3 as C/T against G/A on line 4\); give every row"
    )
    with pytest.raises(ValueError, match=expected):
        read_eqtl(path, PRINTED)
    # on one strand the swap is a swap; the other strand without an A/T swap is matched
    path.write_text(header + both + "rs3\tg1\tA\tG\t3.0\t90\n")
    np.testing.assert_allclose(read_eqtl(path, PRINTED).z, [1 / np.sqrt(2), 3.0])
    path.write_text(
        header + both[: both.index("rs1\tg2")] + "rs3\tg1\tA\tG\t3.0\t90\nrs3\tg2\tT\tC\t1.0\t90\n"
    )
    np.testing.assert_allclose(read_eqtl(path, PRINTED).z, [2.0, 4 / np.sqrt(2)])


def test_a_variant_id_without_alleles_names_its_line(tmp_path: Path) -> None:
    # before: "variant_id is not chr_pos_ref_alt[_build] and no ref/alt columns", no line,
    # no id: in a table of millions of rows, one malformed id could not be found
    path = tmp_path / "tissue.tsv"
    rows = [f"chr1_{k}_A_G_b38\tG1\t1.5" for k in range(100)]
    rows[57] = "chr1_57_A\tG1\t1.5"
    path.write_text("variant_id\tgene_id\tz\n" + "\n".join(rows) + "\n")
    with pytest.raises(
        ValueError,
        match=rf"{path} line 59: variant_id 'chr1_57_A' is not chr_pos_ref_alt\[_build\] "
        r"\(e\.g\. chr1_13550_G_A_b38\), and the table has no ref and alt columns",
    ):
        read_eqtl(path, np.array(["chr1_3_A_G_b38"]), n=500)
