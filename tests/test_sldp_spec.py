"""Statements of the reference SLDP method (docs: sldp.md) that the parity tests against the
reference's outputs do not reach: the MHC blocks, LD block bounds, the h²_g floor, the
MAF ≥ 0.05 count, ``--alpha`` scaling in every reported column, disjoint background
names, the ``--verbose-thresh`` cut, an h²_g above 1, and what ``--help`` says of them."""

from __future__ import annotations

import argparse
import gzip
import json
import logging
from dataclasses import replace
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from crossreg.commands import sldp as sldp_command
from crossreg.stats.sldp.annotations import AnnotationTable, ChromAnnotations
from crossreg.stats.sldp.heritability import estimate_h2g
from crossreg.stats.sldp.ldscores import LdScores
from crossreg.stats.sldp.panel import MHC, load_chrom_panel, read_ld_blocks
from crossreg.stats.sldp.sumstats import Sumstats
from tests import sldp_reference as dense
from tests.test_sldp_estimator import CHROM, N_BLOCKS, run_world, write_world


def test_chr6_blocks_overlapping_the_mhc_are_dropped(tmp_path: Path) -> None:
    # overlap is end > 25,684,587 and start < 35,455,756, on chr6 only
    assert MHC == (25_684_587, 35_455_756)
    path = tmp_path / "blocks.bed"
    path.write_text(
        "chr6\t0\t25684587\n"  # ends where the MHC starts: kept
        "chr6\t25684587\t25684588\n"  # its first base: dropped
        "chr6\t35455700\t35455756\n"  # ends at its end: dropped
        "chr6\t35455756\t36000000\n"  # starts at its end: kept
        "chr5\t25000000\t36000000\n"  # another chromosome: kept
    )
    blocks = read_ld_blocks(path)
    assert blocks.mhc.tolist() == [False, True, True, False, False]
    assert blocks.on("chr6").tolist() == [0, 3] and blocks.on("6").tolist() == [0, 3]
    assert blocks.on("5").tolist() == [4]


def test_a_block_holds_the_snps_from_its_start_to_before_its_end(tmp_path: Path) -> None:
    # SNPs at BP 99, 100, 200, 300, 399, 400, 500; blocks [100, 300) and [300, 400)
    bps = [99, 100, 200, 300, 399, 400, 500]
    (tmp_path / "p.1.bim").write_text(
        "".join(f"1\trs{i}\t0\t{bp}\tA\tC\n" for i, bp in enumerate(bps))
    )
    (tmp_path / "p.1.frq").write_text(
        " CHR SNP A1 A2 MAF NCHROBS\n" + "".join(f"1 rs{i} A C 0.2 20\n" for i in range(len(bps)))
    )
    (tmp_path / "p.1.fam").write_text("".join(f"f{i} i{i} 0 0 1 -9\n" for i in range(10)))
    (tmp_path / "blocks.bed").write_text("chr1\t100\t300\nchr1\t300\t400\n")
    blocks = read_ld_blocks(tmp_path / "blocks.bed")
    panel = load_chrom_panel(str(tmp_path / "p."), "1", np.array(["rs1"]), blocks)
    assert panel.block_start.tolist() == [1, 3]  # BP 100 and 300: a block's start is in it
    assert panel.block_stop.tolist() == [3, 5]  # BP 300 and 400: its end is not


def _sumstats(z: list[float], n: float = 100.0) -> Sumstats:
    snp = np.array([f"rs{i}" for i in range(len(z))])
    pair = np.array(["A"] * len(z))
    return Sumstats("t", "t.sumstats", snp, pair, pair, np.array(z), np.full(len(z), n))


@pytest.mark.parametrize(
    ("z", "m_5_50", "sigma2g", "h2g"),
    [
        # mean χ² 1.125 over all four rows; mean N·ℓ 400 over the three with an LD score
        ([1.0, 1.0, 0.5, 1.5], 1000, 0.125 / 400, 0.125 / 400 * 1000),
        ([1.0, 1.0, 0.5, 1.5], 50, 0.125 / 400, 0.03),  # 0.015625 floored; σ²_g is not
        ([0.5, 0.5, 0.5, 0.5], 1000, -0.75 / 400, 0.03),  # below 0: h²_g 0.03, σ²_g < 0
    ],
)
def test_h2g_is_the_aggregate_estimate_floored_at_0_03(
    z: list[float], m_5_50: int, sigma2g: float, h2g: float
) -> None:
    # rs1 has no LD score: it counts in mean χ² but not in mean N·ℓ
    ld = LdScores(np.array(["rs0", "rs2", "rs3"]), np.array([2.0, 4.0, 6.0]), m_5_50, ["1"], "ld.")
    found = estimate_h2g(_sumstats(z), ld)
    assert found.sigma2g == pytest.approx(sigma2g, rel=1e-12)
    assert found.h2g == pytest.approx(h2g, rel=1e-12)
    assert found.nbar == 100.0


def test_m_5_50_counts_the_snps_of_maf_0_05_and_above(tmp_path: Path) -> None:
    write_world(tmp_path)
    panel = load_chrom_panel(
        str(tmp_path / "panel."), CHROM, np.array([]), read_ld_blocks(tmp_path / "blocks.bed")
    )
    maf = np.zeros(len(panel.bim))
    maf[:5] = [0.05, 0.0499, 0.5, 0.05, 0.0]  # the rest 0: rare
    panel = replace(panel, maf=maf)
    values = np.zeros((len(maf), 1))
    values[:5, 0] = [2.0, 3.0, 0.0, -1.0, 4.0]
    table = AnnotationTable("v", ["v"], values)
    info = ChromAnnotations(panel, [table], [table.align(panel)]).info()
    assert info["M"].tolist() == [len(maf)] and info["M_5_50"].tolist() == [3]
    # ‖v‖², as the reference's np.linalg.norm(v)**2 (5.000000000000001 for 2² + (−1)²)
    np.testing.assert_allclose(info["sqnorm"], [30.0], rtol=1e-15)
    np.testing.assert_allclose(info["sqnorm_5_50"], [5.0], rtol=1e-15)
    assert info["supp"].tolist() == [4] and info["supp_5_50"].tolist() == [2]


def _scaled_copy(root: Path, source: str, target: str) -> None:
    """``{target}{CHROM}.sannot.gz``: the annotations of ``{source}{CHROM}.sannot.gz`` times
    √(2p(1−p)), p the .frq MAF."""
    maf = {
        fields[1]: float(fields[4])
        for fields in map(str.split, (root / f"panel.{CHROM}.frq").read_text().splitlines()[1:])
    }
    with gzip.open(root / f"{source}{CHROM}.sannot.gz", "rt") as handle:
        header, *rows = handle.read().splitlines()
    lines = [header]
    for row in rows:
        fields = row.split("\t")
        factor = np.sqrt(2 * maf[fields[0]] * (1 - maf[fields[0]]))
        scaled = (repr(float(float(x) * factor)) for x in fields[3:])
        lines.append("\t".join([*fields[:3], *scaled]))
    with gzip.open(root / f"{target}{CHROM}.sannot.gz", "wt") as handle:
        handle.write("\n".join(lines) + "\n")


def _assert_same_results(ours: pl.DataFrame, expected: pl.DataFrame) -> None:
    assert ours["p"].to_list() == expected["p"].to_list()
    for column in ("z", "z_fast", "p_fast", "mu", "se_mu", "r_f", "h2v_h2g", "h2v", "supp_frac"):
        np.testing.assert_allclose(ours[column], expected[column], rtol=1e-9, err_msg=column)


def test_alpha_0_is_the_per_allele_annotation_scaled_to_per_normalised_genotype(
    tmp_path: Path,
) -> None:
    # every column, r_f, h2v and supp_frac (‖v‖², supp of the scaled v) included, is the
    # run on annotations scaled beforehand by (2p(1−p))^((0+1)/2)
    world = write_world(tmp_path)
    assert (world["v"][3] != 0).any()  # the monomorphic SNP: scaled to 0, out of supp
    _scaled_copy(tmp_path, "annot.", "scaled.")
    ours = run_world(tmp_path, tmp_path / "alpha0", alpha=0.0, plots=False)
    expected = run_world(
        tmp_path, tmp_path / "prescaled", sannot_chr=[str(tmp_path / "scaled.")], plots=False
    )
    plain = run_world(tmp_path, tmp_path / "plain", plots=False)
    _assert_same_results(ours, expected)
    assert (ours["supp_frac"] < plain["supp_frac"]).all()


def test_background_files_take_their_own_alpha(tmp_path: Path) -> None:
    # the reference preprocesses each annotation file with its own --alpha: --alpha 0 for
    # per-allele scores leaves a per-normalised-genotype background as it is (before: it
    # was scaled too), and --background-alpha 0 scales it
    write_world(tmp_path)
    _scaled_copy(tmp_path, "annot.", "scaled.")
    _scaled_copy(tmp_path, "bg.", "bgscaled.")
    background = [str(tmp_path / "bg.")]
    ours = run_world(
        tmp_path, tmp_path / "alpha0", alpha=0.0, background_sannot_chr=background, plots=False
    )
    expected = run_world(
        tmp_path, tmp_path / "prescaled", sannot_chr=[str(tmp_path / "scaled.")],
        background_sannot_chr=background, plots=False,
    )  # fmt: skip
    _assert_same_results(ours, expected)
    both = run_world(
        tmp_path, tmp_path / "both0", alpha=0.0, background_alpha=0.0,
        background_sannot_chr=background, plots=False,
    )  # fmt: skip
    expected = run_world(
        tmp_path, tmp_path / "bothscaled", sannot_chr=[str(tmp_path / "scaled.")],
        background_sannot_chr=[str(tmp_path / "bgscaled.")], plots=False,
    )  # fmt: skip
    _assert_same_results(both, expected)


def test_background_names_must_differ_from_the_marginal_ones(tmp_path: Path) -> None:
    write_world(tmp_path)
    with gzip.open(tmp_path / f"bg.{CHROM}.sannot.gz", "rt") as handle:
        text = handle.read()
    with gzip.open(tmp_path / f"same.{CHROM}.sannot.gz", "wt") as handle:
        handle.write(text.replace("\tbgmaf\n", "\tpred1\n", 1))
    with pytest.raises(ValueError, match=r"annotation names overlap: \['pred1'\]; rename"):
        run_world(
            tmp_path, tmp_path / "out", background_sannot_chr=[str(tmp_path / "same.")],
            ld_cache=tmp_path / "cache", plots=False,
        )  # fmt: skip
    assert not (tmp_path / "cache").exists()  # stopped before the LD spectra


def test_chunk_tables_are_written_for_p_strictly_below_the_threshold(tmp_path: Path) -> None:
    from crossreg.stats.sldp.run import write_sldp

    write_world(tmp_path)
    found = run_world(tmp_path, tmp_path / "all", plots=False)
    cut = sorted(found["p"].to_list())[1]  # the second smallest p: only the smallest passes
    write_sldp(
        str(tmp_path / "panel."), tmp_path / "print_snps.txt", tmp_path / "blocks.bed",
        str(tmp_path / "ld."), tmp_path / "cut", sannot_chr=[str(tmp_path / "annot.")],
        sumstats=[tmp_path / "trait.sumstats.gz"], jk_blocks=20, flips=300_000, seed=3,
        verbose_thresh=cut, plots=False,
    )  # fmt: skip
    written = sorted(p.stem for p in (tmp_path / "cut" / "chunks" / "trait").glob("*.tsv"))
    assert written == found.filter(pl.col("p") < cut)["annot"].to_list()


def test_an_h2g_estimate_above_1_is_warned_about(caplog: pytest.LogCaptureFixture) -> None:
    # mean χ² 9, mean N·ℓ 200, M_5_50 100: h²_g 4, kept as the reference keeps it
    ld = LdScores(np.array(["rs0", "rs1"]), np.array([2.0, 2.0]), 100, ["1"], "ld.")
    with caplog.at_level(logging.WARNING, logger="crossreg"):
        found = estimate_h2g(_sumstats([3.0, 3.0]), ld)
        assert found.h2g == pytest.approx(4.0, rel=1e-12)
        estimate_h2g(_sumstats([1.5, 1.5]), ld)  # h²_g 0.625: no warning
    (warning,) = [r.getMessage() for r in caplog.records]
    assert warning == (
        "t.sumstats: its h2g estimate, 4 = (mean chi2 9 - 1) / mean N*L2 200 * M_5_50 100, is "
        "above 1: check its N column, the LD scores and M_5_50 (ld.*); r_f, h2v_h2g and h2v "
        "are relative to it"
    )


def test_the_help_states_the_block_and_spectrum_rules() -> None:
    # before: --spectrum-percent claimed to keep the eigenvectors explaining that percent
    # (the one crossing it is dropped), and --ld-blocks said nothing of bounds or the MHC
    parser = argparse.ArgumentParser()
    sldp_command.add_arguments(parser)
    text = " ".join(parser.format_help().split())
    assert "start <= BP < end" in text and "MHC (25,684,587-35,455,756)" in text
    assert "before the one at which their cumulative share of the variance reaches" in text
    assert "until p >= 0.01, so p >= 1/T" in text


def test_blocks_where_a_negative_sigma2g_leaves_w_not_positive_are_counted(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # mean χ² < 1 gives σ²_g < 0, kept as the reference keeps it: W's eigenvalue
    # σ²_g λ² + λ/N is ≤ 0 in the blocks with a kept LD eigenvalue λ ≥ 1/(N|σ²_g|)
    world = write_world(tmp_path)
    with gzip.open(tmp_path / "trait.sumstats.gz", "rt") as handle:
        header, *rows = handle.read().splitlines()
    halved = []
    for row in rows:
        fields = row.split("\t")
        halved.append("\t".join([*fields[:3], repr(float(fields[3]) / 2), fields[4]]))
    with gzip.open(tmp_path / "trait.sumstats.gz", "wt") as handle:
        handle.write("\n".join([header, *halved]) + "\n")
    positions = zip(world["snp"], world["bp"], strict=True)
    with gzip.open(tmp_path / f"ld.{CHROM}.l2.ldscore.gz", "wt") as handle:
        handle.write(
            "CHR\tSNP\tBP\tL2\n" + "".join(f"{CHROM}\t{s}\t{b}\t0.5\n" for s, b in positions)
        )
    z = world["z"][~np.isnan(world["z"])] / 2
    sigma2g = (np.mean(z**2) - 1) / (5000 * 0.5)
    assert sigma2g < 0
    counts = world["counts"].astype(float)
    counts[counts < 0] = np.nan
    x = dense.standardize(counts)
    expected = 0
    for block in range(N_BLOCKS):
        rows_ = np.nonzero((world["block_of"] == block) & world["printed"])[0]
        if not len(rows_) or np.isnan(world["z"][rows_]).all():
            continue
        lam = np.linalg.eigvalsh(x[:, rows_].T @ x[:, rows_] / x.shape[0])[::-1]
        kept = lam[: dense.rank(lam)]
        expected += int((sigma2g * kept**2 + kept / 5000 <= 0).any())
    assert expected > 0
    with caplog.at_level(logging.WARNING, logger="crossreg"):
        run_world(tmp_path, tmp_path / "out", plots=False)
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())["phenotypes"]["trait"]
    assert summary["sigma2g"] == pytest.approx(sigma2g, rel=1e-12)
    assert summary["blocks_w_not_positive"] == expected
    (warning,) = [r.getMessage() for r in caplog.records if "sigma2g" in r.getMessage()]
    assert f"in {expected} of {summary['blocks']} LD blocks" in warning
