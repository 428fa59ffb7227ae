"""``crossreg sldp`` stops with one clear error on phenotypes it cannot regress and on input
tables it cannot read, naming the file and the line."""

from __future__ import annotations

import argparse
import gzip
import json
import shutil
from pathlib import Path
from typing import TYPE_CHECKING

import h5py
import numpy as np
import polars as pl
import pytest
from polars.testing import assert_frame_equal

from crossreg.cli import build_parser
from crossreg.commands import sldp as sldp_command
from crossreg.stats.sldp.background import CODING_FEATURES, read_frq_alleles
from crossreg.stats.sldp.inputs import read_print_snps
from crossreg.stats.sldp.ldscores import read_ldscores
from crossreg.stats.sldp.outputs import escape_file_name
from crossreg.stats.sldp.panel import panel_chroms, read_ld_blocks
from crossreg.stats.sldp.plink import read_bim, read_fam_count, read_frq
from crossreg.stats.sldp.regression import sign_flip
from crossreg.stats.sldp.run import write_sldp
from crossreg.stats.sldp.tables import numbers, read_text_table
from crossreg.variants.sad_tsv import metadata_path
from tests.test_sldp_estimator import CHROM, SldpOptions, run_world, write_world

if TYPE_CHECKING:
    from typing_extensions import Unpack  # typing.Unpack from Python 3.11

COMPLEMENT = {"A": "T", "C": "G", "G": "C", "T": "A"}


def test_sumstats_whose_alleles_match_no_panel_snp_are_named(tmp_path: Path) -> None:
    write_world(tmp_path)
    with gzip.open(tmp_path / "trait.sumstats.gz", "rt") as handle:
        header, *rows = handle.read().splitlines()
    bad = []
    for row in rows:  # A2 by its complement: neither the pair, its swap nor its complement
        snp, a1, a2, *rest = row.split("\t")
        bad.append("\t".join([snp, a1, COMPLEMENT.get(a2, a2), *rest]))
    with gzip.open(tmp_path / "other.sumstats.gz", "wt") as handle:
        handle.write("\n".join([header, *bad]) + "\n")
    message = r"other\.sumstats\.gz: no SNP of it is typed .* 0 matched"
    with pytest.raises(ValueError, match=message):
        run_world(tmp_path, tmp_path / "out", sumstats=[tmp_path / "other.sumstats.gz"])
    assert not (tmp_path / "out" / "results.tsv").exists()


def test_a_zero_score_has_p_one_at_most() -> None:
    # every flip reaches a score of 0; the undrawn ones count too, as in the reference
    p, z = sign_flip(np.zeros(20), 1_000_000, np.random.RandomState(0))
    assert p == 1.0 and np.isnan(z)


def test_a_score_that_is_not_a_number_has_no_p() -> None:
    # never the smallest p the flips could give (no null flip reaches a NaN score)
    p, z = sign_flip(np.array([1.0, np.nan, 2.0]), 1000, np.random.RandomState(0))
    assert np.isnan(p) and np.isnan(z)


def test_ld_scores_that_name_no_print_snp_stop_naming_both(tmp_path: Path) -> None:
    # LD scores keyed chrom:pos against rsID sumstats: before, h2g was NaN and every p 1/flips
    write_world(tmp_path)
    ld = tmp_path / f"ld.{CHROM}.l2.ldscore.gz"
    with gzip.open(ld, "rt") as handle:
        header, *rows = handle.read().splitlines()
    renamed = [f"{c}\t{c}:{bp}\t{bp}\t{l2}" for c, _, bp, l2 in (r.split("\t") for r in rows)]
    with gzip.open(ld, "wt") as handle:
        handle.write("\n".join([header, *renamed]) + "\n")
    message = (
        r"trait\.sumstats\.gz: none of its \d+ rows at print SNPs has an LD score in "
        rf"{tmp_path}/ld\.\*\.l2\.ldscore\.gz \({len(rows)} SNPs\)"
    )
    with pytest.raises(ValueError, match=message):
        run_world(tmp_path, tmp_path / "out")
    assert not (tmp_path / "out").exists()


def _sad_of_annotations(root: Path, world: dict, values: np.ndarray) -> Path:
    """A ``crossreg sad`` .tsv of `values` (SNPs × 3 tracks) with alt = bim A1."""
    table = pl.DataFrame(
        {
            "snp": world["snp"],
            "chrom": CHROM,
            "pos": world["bp"],
            "ref": [pair[1] for pair in world["pair"]],
            "alt": [pair[0] for pair in world["pair"]],
            **{name: values[:, k] for k, name in enumerate(["pred1", "NA", "null"])},
        }
    )
    table.write_csv(root / "scores.tsv", separator="\t")
    return root / "scores.tsv"


def test_a_sad_score_that_is_nan_is_named(tmp_path: Path) -> None:
    # before, the track got p = 1/flips, a chunk table and a figure, exit 0
    world = write_world(tmp_path)
    values = world["v"].copy()
    values[65, 0] = values[70, 2] = np.nan
    sad = _sad_of_annotations(tmp_path, world, values)
    message = (
        r"scores\.tsv: allele rs165 \(row 66\) has no finite score \(nan\) for track pred1, "
        r"and 1 more of the scores read for chr7 are not finite; SLDP cannot take a missing "
        r"score as 0"
    )
    with pytest.raises(ValueError, match=message):
        run_world(tmp_path, tmp_path / "out", sad=[sad], sannot_chr=[])
    assert not (tmp_path / "out").exists()


def test_annotations_repeated_across_files_are_named_with_their_files(tmp_path: Path) -> None:
    # before: "annotation names repeat across scores.tsv, again.tsv", neither the names nor
    # the way on
    world = write_world(tmp_path)
    sad = _sad_of_annotations(tmp_path, world, world["v"])
    again = shutil.copy(sad, tmp_path / "again.tsv")
    message = (
        rf"annotation names repeat across {sad}, {again}: pred1, NA, null; SLDP tells "
        r"annotations apart by name, so give each of these to its own crossreg sldp run"
    )
    with pytest.raises(ValueError, match=message):
        run_world(tmp_path, tmp_path / "out", sad=[sad, again], sannot_chr=[])
    assert not (tmp_path / "out").exists()


def test_an_na_frequency_is_a_snp_without_genotypes_under_alpha_0(tmp_path: Path) -> None:
    # (2p(1-p))^(1/2) of an NA MAF was NaN, and made every profile of its block NaN; a SNP
    # never observed is scaled as a monomorphic one (MAF 0): by 0
    world = write_world(tmp_path)
    sad = _sad_of_annotations(tmp_path, world, world["v"])
    frq = tmp_path / f"panel.{CHROM}.frq"
    header, *rows = frq.read_text().splitlines()
    fields = rows[40].split()
    results = {}
    for maf in ("NA", "0"):
        fields[4] = maf
        frq.write_text("\n".join([header, *rows[:40], " ".join(fields), *rows[41:]]) + "\n")
        results[maf] = run_world(
            tmp_path, tmp_path / maf, sad=[sad], sannot_chr=[], alpha=0.0, plots=False
        )
    assert np.isfinite(results["NA"].select("z", "p", "mu", "r_f").to_numpy()).all()
    assert_frame_equal(results["NA"], results["0"])


def test_a_background_annotation_without_signal_is_named(tmp_path: Path) -> None:
    # before: numpy's bare "Singular matrix"
    write_world(tmp_path)
    with gzip.open(tmp_path / f"bg.{CHROM}.sannot.gz", "rt") as handle:
        header, *rows = handle.read().splitlines()
    with gzip.open(tmp_path / f"bg2.{CHROM}.sannot.gz", "wt") as handle:
        handle.write("\n".join([header + "\tempty", *(f"{r}\t0" for r in rows)]) + "\n")
    message = (
        r"background annotation\(s\) empty have no signed LD profile at the typed print SNPs, "
        r"so they cannot be regressed out"
    )
    with pytest.raises(ValueError, match=message):
        run_world(tmp_path, tmp_path / "out", background_sannot_chr=[str(tmp_path / "bg2.")])
    assert not (tmp_path / "out").exists()


def test_collinear_background_annotations_are_named(tmp_path: Path) -> None:
    write_world(tmp_path)
    with gzip.open(tmp_path / f"bg.{CHROM}.sannot.gz", "rt") as handle:
        header, *rows = handle.read().splitlines()
    doubled = (f"{r}\t{2 * float(r.split()[-1])!r}" for r in rows)
    with gzip.open(tmp_path / f"bg2.{CHROM}.sannot.gz", "wt") as handle:
        handle.write("\n".join([header + "\ttwice", *doubled]) + "\n")
    message = (
        r"background annotations \(bgmaf, twice\) are collinear: twice is a combination of bgmaf"
    )
    with pytest.raises(ValueError, match=message):
        run_world(tmp_path, tmp_path / "out", background_sannot_chr=[str(tmp_path / "bg2.")])


@pytest.mark.parametrize("percent", [0.0, 100.0, 150.0])
def test_spectrum_percent_outside_0_to_100_stops(tmp_path: Path, percent: float) -> None:
    write_world(tmp_path)
    with pytest.raises(ValueError, match=rf"--spectrum-percent .* got {percent}"):
        run_world(tmp_path, tmp_path / "out", spectrum_percent=percent)
    assert not (tmp_path / "out").exists()


def test_eqtl_n_without_eqtl_tables_stops(tmp_path: Path) -> None:
    # --sumstats files hold their own N: an --eqtl-n beside them only would do nothing
    write_world(tmp_path)
    with pytest.raises(ValueError, match=r"--eqtl-n 500 is the sample size of --eqtl tables"):
        run_world(tmp_path, tmp_path / "out", eqtl_n=500.0)
    assert not (tmp_path / "out").exists()


def test_a_rerun_into_the_same_folder_leaves_no_earlier_tables_or_figures(
    tmp_path: Path,
) -> None:
    write_world(tmp_path)
    out = tmp_path / "out"
    common = (str(tmp_path / "panel."), tmp_path / "print_snps.txt", tmp_path / "blocks.bed")
    sannot_chr = [str(tmp_path / "annot.")]
    write_sldp(
        *common, str(tmp_path / "ld."), out, sumstats=[tmp_path / "trait.sumstats.gz"],
        sannot_chr=sannot_chr, jk_blocks=20, flips=1000, verbose_thresh=1.0, svg=True,
    )  # fmt: skip
    assert len(list((out / "chunks").rglob("*.tsv"))) == 3 and (out / "z_heatmap.svg").exists()
    write_sldp(
        *common, str(tmp_path / "ld."), out, sumstats=[tmp_path / "trait.sumstats.gz"],
        sannot_chr=sannot_chr, jk_blocks=20, flips=1000, verbose_thresh=0.0, plots=False,
    )  # fmt: skip
    assert list((out / "chunks").iterdir()) == []
    assert sorted(p.name for p in out.iterdir()) == ["chunks", "results.tsv", "summary.json"]


def test_the_stems_may_be_paths_as_the_files_may(tmp_path: Path) -> None:
    # before: a Path stem stopped inside the LD score listing, "object of type 'PosixPath'
    # has no len()"
    write_world(tmp_path)
    files = (tmp_path / "print_snps.txt", tmp_path / "blocks.bed")
    sumstats = [tmp_path / "trait.sumstats.gz"]
    write_sldp(
        str(tmp_path / "panel."), *files, str(tmp_path / "ld."), tmp_path / "text",
        sannot_chr=[str(tmp_path / "annot.")], sumstats=sumstats, jk_blocks=20, flips=1000,
        plots=False,
    )  # fmt: skip
    write_sldp(
        tmp_path / "panel.", *files, tmp_path / "ld.", tmp_path / "paths",
        sannot_chr=[tmp_path / "annot."], sumstats=sumstats, jk_blocks=20, flips=1000,
        plots=False,
    )  # fmt: skip
    for name in ("results.tsv", "summary.json"):
        text = (tmp_path / "text" / name).read_text()
        assert text == (tmp_path / "paths" / name).read_text()
    assert len(text) > 100


# ---- tables: every line a row, bad ones named ----------------------------------------------

SUMSTATS = "SNP\tA1\tA2\tZ\tN\nrs1\tA\tG\t1.5\t5000\nrs2\tC\tT\t-0.3\t5000\n"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("\n" + SUMSTATS, "p.sumstats line 1: blank line; remove it"),
        (SUMSTATS.replace("\nrs2", "\n  \t \nrs2"), "p.sumstats line 3: blank line; remove it"),
        (SUMSTATS + "# done\n", "p.sumstats line 4: a comment (starts with #); remove it"),
        (
            SUMSTATS + "rs3\tG\tA\t2.1\n",
            "p.sumstats line 4: 4 fields but the header has 5; every row needs one field per "
            "column",
        ),
        (
            SUMSTATS.replace("\tN\n", "\tZ\n"),
            "p.sumstats line 1: column 'Z' appears twice; rename one",
        ),
    ],
)
def test_a_bad_table_line_is_named_exactly(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "p.sumstats"
    path.write_text(text)
    with pytest.raises(ValueError) as caught:
        read_text_table(path, header=True)
    assert str(caught.value) == f"{tmp_path / message}"


def test_blank_lines_at_the_end_are_ignored(tmp_path: Path) -> None:
    plain, padded = tmp_path / "plain.txt", tmp_path / "padded.txt"
    plain.write_text(SUMSTATS)
    padded.write_text(SUMSTATS + "\n  \t\n\n")
    assert read_text_table(padded, header=True).equals(read_text_table(plain, header=True))
    ragged_end = tmp_path / "ragged.txt"
    ragged_end.write_text(SUMSTATS.replace("5000\n", "\n") + "\n")
    table = read_text_table(ragged_end, header=True, whitespace=False)
    assert table["N"].to_list() == ["", ""]


def test_runs_of_spaces_and_tabs_read_as_single_tabs_do(tmp_path: Path) -> None:
    tabs, spaced = tmp_path / "tabs.txt", tmp_path / "spaced.txt"
    tabs.write_text(SUMSTATS)
    spaced.write_text("\ufeff  " + SUMSTATS.replace("\t", " \t  ").replace("\n", " \n"))
    assert read_text_table(spaced, header=True).equals(read_text_table(tabs, header=True))


def test_an_empty_field_is_missing_in_a_tab_separated_table_only(tmp_path: Path) -> None:
    path = tmp_path / "p.sumstats"
    path.write_text(SUMSTATS.replace("1.5", ""))
    table = read_text_table(path, header=True, whitespace=False)
    assert table["Z"].to_list() == ["", "-0.3"]
    assert np.isnan(numbers(table, "Z", path, header=True, na=True)[0])
    with pytest.raises(ValueError, match=r"p\.sumstats line 2: 4 fields but the header has 5"):
        read_text_table(path, header=True)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("rs1\n\nrs2\n", "print.txt line 2: blank line; remove it"),
        ("# ids\nrs1\n", "print.txt line 1: a comment (starts with #); remove it"),
    ],
)
def test_a_blank_or_comment_print_snp_line_is_named(
    tmp_path: Path, text: str, message: str
) -> None:
    (tmp_path / "print.txt").write_text(text)
    with pytest.raises(ValueError) as caught:
        read_print_snps(tmp_path / "print.txt")
    assert str(caught.value) == f"{tmp_path / message}"


def test_print_snps_are_the_first_fields_once_each(tmp_path: Path) -> None:
    (tmp_path / "print.txt").write_text("rs2 x\n  rs1\t\ty z\nrs2\n")
    assert read_print_snps(tmp_path / "print.txt").tolist() == ["rs1", "rs2"]


def test_a_snp_without_frequency_names_its_bim_line(tmp_path: Path) -> None:
    (tmp_path / "p.bim").write_text("1 rs1 0 1000 A G\n1 rs2 0 2000 C T\n")
    (tmp_path / "p.frq").write_text(" CHR SNP A1 A2 MAF NCHROBS\n1 rs1 A G 0.1 120\n")
    with pytest.raises(ValueError) as caught:
        read_frq(tmp_path / "p.frq", read_bim(tmp_path / "p.bim"))
    assert str(caught.value) == (
        f"{tmp_path}/p.frq: no frequency for SNP rs2 ({tmp_path}/p.bim line 2); make the .frq "
        "with plink --freq on the same panel"
    )


def test_an_impossible_ld_block_is_named_exactly(tmp_path: Path) -> None:
    (tmp_path / "b.bed").write_text("chr1\t0\t10\nchr1\t20\t20\nchr1\t40\t30\n")
    with pytest.raises(ValueError) as caught:
        read_ld_blocks(tmp_path / "b.bed")
    assert str(caught.value) == (
        f"{tmp_path}/b.bed line 3: block chr1 40 30 is impossible; a block needs 0 <= start <= end"
    )


def _ld_files(folder: Path, m_5_50: bytes) -> str:
    with gzip.open(folder / "ld.1.l2.ldscore.gz", "wt") as handle:
        handle.write("CHR\tSNP\tBP\tL2\n1\trs1\t1000\t2.5\n")
    (folder / "ld.1.l2.M_5_50").write_bytes(m_5_50)
    return str(folder / "ld.")


@pytest.mark.parametrize("m_5_50", [b"3\n", b"3", gzip.compress(b"3\n"), b" 3 \n7\n"])
def test_m_5_50_is_the_number_on_its_first_line(tmp_path: Path, m_5_50: bytes) -> None:
    assert read_ldscores(_ld_files(tmp_path, m_5_50)).m_5_50 == 3


@pytest.mark.parametrize("m_5_50", [b"", b"3\t4\n", b"-3\n", b"3.0\n", "\u00b3\n".encode()])
def test_an_m_5_50_that_is_not_one_count_is_named_exactly(tmp_path: Path, m_5_50: bytes) -> None:
    first = m_5_50.decode().split("\n")[0].strip()
    with pytest.raises(ValueError) as caught:
        read_ldscores(_ld_files(tmp_path, m_5_50))
    assert str(caught.value) == (
        f"{tmp_path}/ld.1.l2.M_5_50 line 1: {first!r} is not one whole number of SNPs "
        "(0 or more); ldsc --l2 writes it"
    )


def test_repeated_frq_ids_in_bim_order_are_taken_by_position(tmp_path: Path) -> None:
    # plink names SNPs without an id '.'; before, every '.' got the first '.' row's MAF
    (tmp_path / "p.bim").write_text(
        "1 . 0 100 A G\n1 . 0 200 C T\n1 rs3 0 300 G A\n1 . 0 400 T C\n"
    )
    rows = ["1 . A G 0.1 100", "1 . T C 0.2 100", "1 rs3 G A 0.3 100", "1 . C T 0.4 100"]
    frq = tmp_path / "p.frq"
    frq.write_text(" CHR SNP A1 A2 MAF NCHROBS\n" + "\n".join(rows) + "\n")
    bim = read_bim(tmp_path / "p.bim")
    np.testing.assert_allclose(read_frq(frq, bim), [0.1, 0.2, 0.3, 0.4])
    maf, a1_freq = read_frq_alleles(frq, bim)
    np.testing.assert_allclose(maf, [0.1, 0.2, 0.3, 0.4])
    np.testing.assert_allclose(a1_freq, [0.1, 0.8, 0.3, 0.6])
    frq.write_text(" CHR SNP A1 A2 MAF NCHROBS\n" + "\n".join(rows[::-1]) + "\n")
    with pytest.raises(ValueError, match=r"p\.frq: SNP \. is on several rows and the rows"):
        read_frq(frq, bim)


def test_a_gzipped_fam_counts_its_samples(tmp_path: Path) -> None:
    text = "".join(f"f{i} i{i} 0 0 1 -9\n" for i in range(100))
    (tmp_path / "p.fam").write_text(text)
    (tmp_path / "q.fam").write_bytes(gzip.compress(text.encode()))
    assert read_fam_count(tmp_path / "p.fam") == read_fam_count(tmp_path / "q.fam") == 100


def test_blocks_on_other_chromosomes_change_nothing(tmp_path: Path) -> None:
    # the reference walks every line of a genome-wide blocks file; before, a block on a
    # chromosome without panel files stopped the run
    write_world(tmp_path)
    expected = run_world(tmp_path, tmp_path / "a")
    blocks = tmp_path / "blocks.bed"
    blocks.write_text(blocks.read_text() + "chr9\t1\t100\nchr12\t1\t100\n")
    assert_frame_equal(run_world(tmp_path, tmp_path / "b"), expected)


def test_annotation_names_with_a_slash_stay_one_chunk_file(tmp_path: Path) -> None:
    write_world(tmp_path)
    path = tmp_path / f"annot.{CHROM}.sannot.gz"
    with gzip.open(path, "rt") as handle:
        header, rest = handle.read().split("\n", 1)
    names = header.split("\t")[3:]
    with gzip.open(path, "wt") as handle:
        handle.write("\t".join([*header.split("\t")[:3], "DNase/liver", *names[1:]]))
        handle.write("\n" + rest)
    run_world(tmp_path, tmp_path / "out")
    assert escape_file_name("a/b%c\\d") == "a%2Fb%25c%5Cd"
    assert [escape_file_name(name) for name in (".", "..", ".x")] == ["%2E", "%2E.", "%2Ex"]
    tables = tmp_path / "out" / "chunks" / "trait"
    assert "DNase%2Fliver.tsv" in sorted(p.name for p in tables.iterdir())
    assert all(p.is_file() for p in tables.iterdir())


def test_blocks_whose_spectrum_keeps_nothing_are_counted_or_stop(tmp_path: Path) -> None:
    # one print SNP per block: each block's first eigenvalue is all its variance (k = 0);
    # before, every statistic was NaN with exit 0
    write_world(tmp_path)
    bim = read_bim(tmp_path / f"panel.{CHROM}.bim")
    blocks = read_ld_blocks(tmp_path / "blocks.bed")
    firsts = [bim.snp[np.searchsorted(bim.bp, start)] for start in blocks.start]
    printed = tmp_path / "print_snps.txt"
    every = printed.read_text().split()
    printed.write_text("\n".join(firsts) + "\n")
    with pytest.raises(ValueError, match=r"every one of the \d+ LD blocks with print SNPs keeps"):
        run_world(tmp_path, tmp_path / "out")
    # the first two blocks with one print SNP each, the others with all theirs
    lone = set(firsts[:2])
    inside = (bim.bp[:, None] >= blocks.start[:2]) & (bim.bp[:, None] < blocks.end[:2])
    dropped = set(bim.snp[inside.any(axis=1)]) - lone
    printed.write_text("\n".join(s for s in every if s not in dropped) + "\n")
    run_world(tmp_path, tmp_path / "out")
    counts = json.loads((tmp_path / "out" / "summary.json").read_text())["ld_blocks"]
    assert counts["rank_0"] == 2 and counts["with_print_snps"] > 2


def test_a_vcf_given_as_sad_is_named_with_its_option(tmp_path: Path) -> None:
    """A VCF given to --sad (the file the SAD scores come from) is refused naming the
    option and the fix, before the panel is read and without making --out."""
    for name in ("s", "b", "t.sumstats.gz", "calls.vcf.gz", "x.h5"):
        (tmp_path / name).write_text("")
    argv = ["sldp", "--bfile-chr", str(tmp_path / "p."), "--print-snps", str(tmp_path / "s")]
    argv += ["--ld-blocks", str(tmp_path / "b"), "--ldscores-chr", str(tmp_path / "ld.")]
    argv += ["--sumstats", str(tmp_path / "t.sumstats.gz"), "--out", str(tmp_path / "o")]
    args = build_parser().parse_args(
        [*argv, "--sad", str(tmp_path / "x.h5"), str(tmp_path / "calls.vcf.gz")]
    )
    with pytest.raises(ValueError) as caught:
        sldp_command.run(args)
    assert str(caught.value) == (
        f"--sad {tmp_path / 'calls.vcf.gz'}: SAD files are .h5 or .tsv, as crossreg sad writes "
        "them; this is a VCF: give the SAD file crossreg sad scored from it"
    )
    assert not (tmp_path / "o").exists()


def test_every_repeated_eqtl_option_is_kept() -> None:
    # before: --eqtl a --eqtl b kept b alone, as --sumstats did not
    argv = ["sldp", "--bfile-chr", "p.", "--print-snps", "s", "--ld-blocks", "b"]
    argv += ["--ldscores-chr", "ld.", "--sad", "x.h5", "--out", "o"]
    args = build_parser().parse_args([*argv, "--eqtl", "a", "--eqtl", "b", "c"])
    assert args.eqtl == [Path("a"), Path("b"), Path("c")]


def _quick_run(root: Path, out: Path, **options: Unpack[SldpOptions]) -> pl.DataFrame:
    """The test world's run with few flips, no figures and a chunk table for every row."""
    options = {
        "sannot_chr": [str(root / "annot.")], "sumstats": [root / "trait.sumstats.gz"],
        "plots": False,
    } | options  # fmt: skip
    write_sldp(
        str(root / "panel."), root / "print_snps.txt", root / "blocks.bed", str(root / "ld."), out,
        jk_blocks=20, flips=1000, verbose_thresh=1.0, **options,
    )  # fmt: skip
    return pl.read_csv(out / "results.tsv", separator="\t")


def _chunk_tables(out: Path) -> dict[str, pl.DataFrame]:
    """Every chunk table of a run by its path under ``chunks/``."""
    folder = out / "chunks"
    return {
        path.relative_to(folder).as_posix(): pl.read_csv(path, separator="\t")
        for path in sorted(folder.rglob("*.tsv"))
        if path.is_file()
    }


def test_chunk_tables_of_names_that_join_alike_stay_apart(tmp_path: Path) -> None:
    # phenotype a × annotation p.q and phenotype a.p × annotation q: before, both were
    # chunks/a.p.q.tsv and the second replaced the first
    write_world(tmp_path)
    path = tmp_path / f"annot.{CHROM}.sannot.gz"
    with gzip.open(path, "rt") as handle:
        text = handle.read()
    with gzip.open(path, "wt") as handle:
        handle.write(text.replace("\tpred1\tNA\t", "\tp.q\tq\t", 1))
    for pheno in ("a", "a.p"):
        shutil.copy(tmp_path / "trait.sumstats.gz", tmp_path / f"{pheno}.sumstats.gz")
    sumstats = [tmp_path / "a.sumstats.gz", tmp_path / "a.p.sumstats.gz"]
    _quick_run(tmp_path, tmp_path / "out", sumstats=sumstats)
    tables = _chunk_tables(tmp_path / "out")
    assert sorted(tables) == [
        "a.p/null.tsv", "a.p/p.q.tsv", "a.p/q.tsv", "a/null.tsv", "a/p.q.tsv", "a/q.tsv",
    ]  # fmt: skip
    assert tables["a/p.q.tsv"]["q"].to_list() != tables["a.p/q.tsv"]["q"].to_list()
    assert json.loads((tmp_path / "out" / "summary.json").read_text())["chunk_tables"] == 6


def test_a_rerun_keeps_a_phenotype_folder_named_like_a_table(tmp_path: Path) -> None:
    write_world(tmp_path)
    shutil.copy(tmp_path / "trait.sumstats.gz", tmp_path / "x.tsv.sumstats.gz")
    sumstats = [tmp_path / "x.tsv.sumstats.gz"]
    _quick_run(tmp_path, tmp_path / "out", sumstats=sumstats)
    _quick_run(tmp_path, tmp_path / "out", sumstats=sumstats)
    assert sorted(_chunk_tables(tmp_path / "out")) == [
        "x.tsv/NA.tsv", "x.tsv/null.tsv", "x.tsv/pred1.tsv",
    ]  # fmt: skip


def test_a_file_name_that_leaves_no_phenotype_name_stops(tmp_path: Path) -> None:
    # before: phenotype "" wrote its chunk tables as hidden files beside the others
    write_world(tmp_path)
    shutil.copy(tmp_path / "trait.sumstats.gz", tmp_path / ".sumstats.gz")
    with pytest.raises(ValueError, match=r"\.sumstats\.gz: its file name leaves no phenotype"):
        _quick_run(tmp_path, tmp_path / "out", sumstats=[tmp_path / ".sumstats.gz"])


def _rename_chrom_files(root: Path, stem: str, suffixes: tuple[str, ...]) -> None:
    """``{stem}7{suffix}`` to ``{stem}chr7{suffix}``."""
    for suffix in suffixes:
        (root / f"{stem}{CHROM}{suffix}").rename(root / f"{stem}chr{CHROM}{suffix}")


def test_a_panel_named_chr7_gives_the_bare_named_panels_results(tmp_path: Path) -> None:
    # before: panel.chr7.* stopped, blaming the LD blocks file (chr7 against bare 7)
    write_world(tmp_path)
    expected = _quick_run(tmp_path, tmp_path / "bare")
    _rename_chrom_files(tmp_path, "panel.", (".bed", ".bim", ".fam", ".frq"))
    _quick_run(tmp_path, tmp_path / "panel_chr", chroms=["chr7"])  # annotations still 7
    _rename_chrom_files(tmp_path, "annot.", (".sannot.gz",))
    _quick_run(tmp_path, tmp_path / "both_chr", chroms=["7"])
    summary = json.loads((tmp_path / "bare" / "summary.json").read_text())
    for out in (tmp_path / "panel_chr", tmp_path / "both_chr"):
        assert_frame_equal(pl.read_csv(out / "results.tsv", separator="\t"), expected)
        ours, theirs = _chunk_tables(out), _chunk_tables(tmp_path / "bare")
        assert ours.keys() == theirs.keys()
        for name, table in ours.items():
            assert_frame_equal(table, theirs[name])
        reconciliation = json.loads((out / "summary.json").read_text())["reconciliation"]
        assert list(reconciliation.values()) == list(summary["reconciliation"].values())
        phenotype = f"{tmp_path / 'trait.sumstats.gz'} chr{CHROM}"  # counted as chr7 either way
        assert reconciliation[phenotype] == summary["reconciliation"][phenotype]


def test_a_panel_chromosome_named_both_ways_stops(tmp_path: Path) -> None:
    write_world(tmp_path)
    for suffix in (".bed", ".bim", ".fam", ".frq"):
        shutil.copy(tmp_path / f"panel.{CHROM}{suffix}", tmp_path / f"panel.chr{CHROM}{suffix}")
    with pytest.raises(ValueError, match=r"panel files name chromosome 7 twice"):
        _quick_run(tmp_path, tmp_path / "out")


def test_the_help_says_what_weights_and_gtf_features_do() -> None:
    # before: Winv_ahat_I was "without h2g" (it does not weight at all) and the GTF's
    # coding features left out start_codon
    parser = argparse.ArgumentParser()
    sldp_command.add_arguments(parser)
    help_text = " ".join(parser.format_help().split())
    assert "Winv_ahat_I does not weight (W = I)" in help_text
    assert "without h2g" not in help_text
    for feature in CODING_FEATURES:
        assert feature in help_text


def test_a_stem_without_its_separator_says_which_stem_to_give(tmp_path: Path) -> None:
    ld = _ld_files(tmp_path, b"3\n")[: -len(".")]
    with pytest.raises(ValueError) as caught:
        read_ldscores(ld)
    assert str(caught.value) == (
        f"--ldscores-chr {ld}: its files name chromosomes .1; the stem ends where the "
        f"chromosome name begins, so give --ldscores-chr {ld}."
    )
    for suffix in (".bed", ".bim", ".fam"):
        (tmp_path / f"panel_7{suffix}").write_text("")
    assert panel_chroms(str(tmp_path / "panel_")) == ["7"]
    with pytest.raises(ValueError, match=rf"so give --bfile-chr {tmp_path}/panel_$"):
        panel_chroms(str(tmp_path / "panel"))


def test_print_snps_none_of_which_is_a_panel_snp_stop_naming_the_print_snps(
    tmp_path: Path,
) -> None:
    # before: each phenotype was said to be typed at no print SNP, pointing at its own ids
    write_world(tmp_path)
    for bim in tmp_path.glob("panel.*.bim"):  # the panel's SNPs renamed, in its .frq too
        rows = [line.split() for line in bim.read_text().splitlines()]
        bim.write_text("".join("\t".join([r[0], f"x{r[1]}", *r[2:]]) + "\n" for r in rows))
        frq = bim.with_suffix(".frq")
        head, *lines = [line.split() for line in frq.read_text().splitlines()]
        renamed = [[r[0], f"x{r[1]}", *r[2:]] for r in lines]
        frq.write_text("".join(" ".join(r) + "\n" for r in [head, *renamed]))
    with gzip.open(tmp_path / "annot.7.sannot.gz", "rt") as handle:
        head_line, *annotated = handle.read().splitlines()
    with gzip.open(tmp_path / "annot.7.sannot.gz", "wt") as handle:  # the annotation's too
        handle.write("\n".join([head_line, *(f"x{row}" for row in annotated)]) + "\n")
    with pytest.raises(ValueError, match=r"no LD block holds a print SNP of the panel: the "):
        _quick_run(tmp_path, tmp_path / "out")


def test_a_panel_on_another_build_than_the_ld_blocks_is_named_as_such(tmp_path: Path) -> None:
    # before: the print SNPs were said not to be the panel's SNP ids, which they were
    write_world(tmp_path)
    shift = 100_000_000  # every panel position moved past the blocks, as another build's
    for bim in tmp_path.glob("panel.*.bim"):
        rows = [line.split() for line in bim.read_text().splitlines()]
        bim.write_text(
            "".join("\t".join([*r[:3], str(int(r[3]) + shift), *r[4:]]) + "\n" for r in rows)
        )
    message = (
        r"no LD block holds a print SNP of the panel: the 158 print SNPs of chr7 lie at "
        r"100,010,000-100,224,000 in .*panel\.7\.bim and its LD blocks span 11,000-225,001 "
        r"in .*blocks\.bed; the panel's positions \(\.bim column 4\) and the --ld-blocks "
        r"look like two genome builds: give LD blocks of the panel's build"
    )
    with pytest.raises(ValueError, match=message):
        _quick_run(tmp_path, tmp_path / "out")


def test_a_sad_file_on_no_panel_chromosome_stops_before_the_block_pass(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # before: the whole block pass ran, then "no annotated SNP matches the panel"
    world = write_world(tmp_path)
    sad = _sad_of_annotations(tmp_path, world, world["v"])
    table = pl.read_csv(sad, separator="\t")
    table.with_columns(chrom=pl.lit("chrX7")).write_csv(sad, separator="\t")
    message = (
        r"scores\.tsv: none of its variants is on a panel chromosome analysed \(chr7\); its "
        r"chromosomes: chrX7\. Score the panel's variants"
    )
    with caplog.at_level("INFO", logger="crossreg"), pytest.raises(ValueError, match=message):
        run_world(tmp_path, tmp_path / "out", sad=[sad], sannot_chr=[])
    assert "signed LD profiles" not in caplog.text


def test_a_sad_file_of_no_variant_is_named_as_empty(tmp_path: Path) -> None:
    # before: "none of its variants is on a panel chromosome analysed (chr7); its
    # chromosomes: none", as if it had been scored on another genome
    world = write_world(tmp_path)
    sad = _sad_of_annotations(tmp_path, world, world["v"])
    pl.read_csv(sad, separator="\t").head(0).write_csv(sad, separator="\t")
    message = r"scores\.tsv: the SAD file holds no variant \(crossreg sad scored none: its VCF"
    with pytest.raises(ValueError, match=message):
        run_world(tmp_path, tmp_path / "out", sad=[sad], sannot_chr=[])


def test_annotation_ids_spelled_unlike_the_panels_stop_before_the_block_pass(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # before: the whole block pass ran, then "no annotated SNP matches the panel" (a SAD
    # file scored from a VCF without IDs names its variants chrom:pos:ref>alt)
    world = write_world(tmp_path)
    sad = _sad_of_annotations(tmp_path, world, world["v"])
    table = pl.read_csv(sad, separator="\t")
    labels = [f"chr7:{bp}:{ref}>{alt}" for bp, ref, alt in table.select("pos", "ref", "alt").rows()]
    table.with_columns(snp=pl.Series(labels)).write_csv(sad, separator="\t")
    message = (
        r"scores\.tsv: none of its 216 SNP ids on chr7 is a SNP of the panel .*panel\.7\.bim "
        r"\(e\.g\. 'chr7:10000:C>A' against the panel's 'rs100'\), and none is written like a "
        r"panel id; crossreg sad names a variant"
    )
    with caplog.at_level("INFO", logger="crossreg"), pytest.raises(ValueError, match=message):
        run_world(tmp_path, tmp_path / "out", sad=[sad], sannot_chr=[])
    assert "signed LD profiles" not in caplog.text
    with gzip.open(tmp_path / "annot.7.sannot.gz", "rt") as handle:
        head, *rows = handle.read().splitlines()
    with gzip.open(tmp_path / "coded.7.sannot.gz", "wt") as handle:
        handle.write("\n".join([head, *(f"7:{row}" for row in rows)]) + "\n")
    with pytest.raises(ValueError, match=r"coded\.7\.sannot\.gz: none of its 216 SNP ids on chr7"):
        run_world(tmp_path, tmp_path / "out2", sannot_chr=[str(tmp_path / "coded.")])


def test_a_few_annotation_ids_written_unlike_the_panels_stop_before_the_block_pass(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # before: under 100 rows naming no panel SNP ran the whole signed-LD pass, then "no
    # annotated SNP matches the panel"; ids written like the panel's that miss it (a
    # sparse annotation) still pass the chromosome and stop only if nothing matches at all
    write_world(tmp_path)
    with gzip.open(tmp_path / "annot.7.sannot.gz", "rt") as handle:
        head, *rows = handle.read().splitlines()
    few = [row.split("\t") for row in rows[:12]]
    with gzip.open(tmp_path / "coded.7.sannot.gz", "wt") as handle:
        lines = ["\t".join([f"chr7:{100 * i}:{r[1]}>{r[2]}", *r[1:]]) for i, r in enumerate(few)]
        handle.write("\n".join([head, *lines]) + "\n")
    message = (
        r"coded\.7\.sannot\.gz: none of its 12 SNP ids on chr7 is a SNP of the panel "
        r".*\(e\.g\. 'chr7:0:.>.' against the panel's 'rs100'\), and none is written like a "
        r"panel id; give the file the panel's SNP ids"
    )
    with caplog.at_level("INFO", logger="crossreg"), pytest.raises(ValueError, match=message):
        _quick_run(tmp_path, tmp_path / "out", sannot_chr=[str(tmp_path / "coded.")])
    assert "signed LD profiles" not in caplog.text
    with gzip.open(tmp_path / "sparse.7.sannot.gz", "wt") as handle:
        lines = ["\t".join([f"rs{9_000_000 + i}", *r[1:]]) for i, r in enumerate(few)]
        handle.write("\n".join([head, *lines]) + "\n")
    caplog.clear()
    with (
        caplog.at_level("INFO", logger="crossreg"),
        pytest.raises(ValueError, match=r"sparse\.: no annotated SNP matches the panel"),
    ):
        _quick_run(tmp_path, tmp_path / "out2", sannot_chr=[str(tmp_path / "sparse.")])
    assert "signed LD profiles" in caplog.text


def test_a_missing_sannot_file_stops_before_the_block_pass_naming_the_stem(
    tmp_path: Path,
) -> None:
    # before: each chromosome's file was looked for when the pass reached it, so one missing
    # for a late chromosome stopped the run after the earlier ones' LD work (and removed
    # their checkpoint), with only "no such annotation file"
    write_world(tmp_path)
    with pytest.raises(
        ValueError,
        match=rf"--sannot-chr {tmp_path}/annot: no annotation file {tmp_path}/annot7\.sannot\.gz "
        rf"for chr7 of the panel; the stem ends where the chromosome name begins: give "
        rf"--sannot-chr {tmp_path}/annot\.$",
    ):
        run_world(tmp_path, tmp_path / "out", sannot_chr=[str(tmp_path / "annot")])
    with pytest.raises(
        ValueError,
        match=r"--background-sannot-chr .*/other\.: no annotation file .*other\.7\.sannot\.gz for "
        r"chr7 of the panel; every analysed chromosome needs one",
    ):
        run_world(tmp_path, tmp_path / "out", background_sannot_chr=[str(tmp_path / "other.")])
    assert not (tmp_path / "out").exists()


def test_a_shard_of_a_sad_run_is_refused(tmp_path: Path) -> None:
    # a shard holds only its share of the VCF's alleles: the panel SNPs of the others were
    # read as never scored (0 in every annotation), and the regression ran on the share
    world = write_world(tmp_path)
    sad = _sad_of_annotations(tmp_path, world, world["v"])
    metadata_path(sad).write_text(json.dumps({"shard_index": 1, "shard_count": 3}))
    with pytest.raises(ValueError, match=r"scores\.tsv: shard 1/3 of a crossreg sad --shard run"):
        run_world(tmp_path, tmp_path / "out", sad=[sad], sannot_chr=[])
    table = pl.read_csv(sad, separator="\t")
    h5 = tmp_path / "scores.h5"
    with h5py.File(h5, "w") as handle:
        for name, column in (("snp", "snp"), ("chr", "chrom"), ("ref_allele", "ref")):
            handle[name] = table[column].cast(pl.String).to_numpy().astype("S")
        handle["alt_allele"] = table["alt"].to_numpy().astype("S")
        handle["pos"] = table["pos"].to_numpy().astype(np.uint32)
        handle["target_ids"] = np.array(["pred1", "NA", "null"], dtype="S")
        handle["SAD"] = table.select("pred1", "NA", "null").to_numpy().astype(np.float16)
        handle.attrs.update({"shard_index": 0, "shard_count": 2})
    with pytest.raises(ValueError, match=r"scores\.h5: shard 0/2 of a crossreg sad --shard run"):
        run_world(tmp_path, tmp_path / "out2", sad=[h5], sannot_chr=[])
