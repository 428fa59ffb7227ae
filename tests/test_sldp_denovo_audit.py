"""Audit fixes: ``--alpha`` below −1 with a MAF-0 SNP, annotations without signal, repeated
eQTL rows, a damaged ``--ld-cache`` entry, and a de novo group without variants."""

from __future__ import annotations

import gzip
import logging
import re
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from polars.testing import assert_frame_equal

from crossreg.stats.denovo_inputs import load_groups
from crossreg.stats.sldp.eqtl_table import read_eqtl
from tests.test_denovo_inputs import _controls, _write_group
from tests.test_sldp_estimator import CHROM, run_world, write_world

SAD_HEADER = "snp\tchrom\tpos\tref\talt\tt0\n"


def _rewrite_sannot(source: Path, target: Path, change) -> None:
    """`target`: the .sannot.gz `source` with `change` applied to its data rows' fields."""
    with gzip.open(source, "rt") as handle:
        header, *rows = handle.read().splitlines()
    changed = ["\t".join(change(row.split("\t"))) for row in rows]
    with gzip.open(target, "wt") as handle:
        handle.write("\n".join([header, *changed]) + "\n")


def _set_maf(root: Path, row: int, maf: str) -> str:
    """Set the .frq MAF of bim row `row` to `maf`; its SNP id."""
    frq = root / f"panel.{CHROM}.frq"
    header, *rows = frq.read_text().splitlines()
    fields = rows[row].split()
    fields[4] = maf
    rows[row] = " ".join(fields)
    frq.write_text("\n".join([header, *rows]) + "\n")
    return fields[1]


# 1. --alpha below -1 and a SNP whose 2p(1-p) is 0


def test_alpha_scale_is_zero_where_2p1p_is_zero() -> None:
    from crossreg.stats.sldp.annotations import alpha_scale  # new with this fix

    maf = np.array([0.0, np.nan, 0.5, 0.1])
    expected = [0.0, 0.0, 0.5**-0.25, 0.18**-0.25]
    np.testing.assert_allclose(alpha_scale(maf, -1.5), expected, rtol=1e-15)
    assert alpha_scale(maf, -1.0).tolist() == [1.0] * 4
    np.testing.assert_allclose(alpha_scale(maf, 0.0), [0.0, 0.0, 0.5**0.5, 0.18**0.5], rtol=1e-15)


@pytest.mark.parametrize("maf", ["0", "NA"])
def test_alpha_below_minus_one_scales_a_maf_0_snp_by_zero(tmp_path: Path, maf: str) -> None:
    # before: (2p(1-p))^(-0.25) was inf at p = 0 and every row of results.tsv NaN, exit 0
    world = write_world(tmp_path)
    row = 40  # a print-block SNP with a nonzero annotation
    assert world["block_of"][row] >= 0 and (world["v"][row] != 0).any()
    snp = _set_maf(tmp_path, row, maf)
    ours = run_world(tmp_path, tmp_path / "maf0", alpha=-1.5, plots=False)
    assert np.isfinite(ours.select("z", "p", "z_fast", "mu", "se_mu", "r_f").to_numpy()).all()

    def zeroed(fields: list[str]) -> list[str]:
        return fields[:3] + ["0.0"] * 3 if fields[0] == snp else fields

    _rewrite_sannot(
        tmp_path / f"annot.{CHROM}.sannot.gz", tmp_path / f"z.{CHROM}.sannot.gz", zeroed
    )
    expected = run_world(
        tmp_path, tmp_path / "zeroed", sannot_chr=[str(tmp_path / "z.")], alpha=-1.5, plots=False
    )
    assert_frame_equal(ours, expected)


def test_a_scaled_value_that_is_not_finite_names_the_snp(tmp_path: Path) -> None:
    # (2p(1-p))^(-499.5) overflows to inf at MAF 0.0948 (rs120, the first such SNP): stop
    # naming it (before: NaN rows, exit 0)
    write_world(tmp_path)
    message = (
        rf"{re.escape(str(tmp_path))}/annot\.{CHROM}\.sannot\.gz: annotation pred1 at SNP rs120 "
        rf"of {re.escape(str(tmp_path))}/panel\.{CHROM}\.bim is -inf after scaling by "
        r"\(2p\(1-p\)\)\^\(\(alpha\+1\)/2\) with --alpha -1000 \(MAF 0\.0948\); check that SNP's "
        r"value and its MAF in the \.frq"
    )
    with pytest.raises(ValueError, match=message):
        run_world(tmp_path, tmp_path / "out", alpha=-1000.0, plots=False)
    assert not (tmp_path / "out").exists()


# 2. annotations with no signed LD profile at the typed print SNPs


def _with_zero_column(root: Path, stem: str, keep_others: bool) -> None:
    """``{stem}.{CHROM}.sannot.gz``: annot's columns (or none of them) and a column zero."""
    with gzip.open(root / f"annot.{CHROM}.sannot.gz", "rt") as handle:
        header, *rows = handle.read().splitlines()
    width = None if keep_others else 3
    lines = [
        "\t".join([*header.split("\t")[:width], "zero"]),
        *("\t".join([*r.split("\t")[:width], "0"]) for r in rows),
    ]
    with gzip.open(root / f"{stem}.{CHROM}.sannot.gz", "wt") as handle:
        handle.write("\n".join(lines) + "\n")


def test_only_annotations_without_signal_are_named_not_the_sumstats(tmp_path: Path) -> None:
    # before: "trait.sumstats.gz: no SNP of it is typed in an LD block with signal"
    write_world(tmp_path)
    _with_zero_column(tmp_path, "onlyzero", keep_others=False)
    message = (
        rf"annotation\(s\) zero \({re.escape(str(tmp_path))}/onlyzero\.\{{chrom\}}\.sannot\.gz\) "
        rf"have no signed LD profile at the typed print SNPs of "
        rf"{re.escape(str(tmp_path))}/trait\.sumstats\.gz: .*so there is nothing to regress; "
        r"check that their values are not all 0 there and that their SNP ids and A1/A2 match "
        r"the panel's \.bim$"
    )
    with pytest.raises(ValueError, match=message):
        run_world(tmp_path, tmp_path / "out", sannot_chr=[str(tmp_path / "onlyzero.")])
    assert not (tmp_path / "out").exists()


def test_an_annotation_without_signal_beside_others_is_warned_about(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # before: a silent NaN row with p 1
    write_world(tmp_path)
    base = run_world(tmp_path, tmp_path / "base", plots=False)
    _with_zero_column(tmp_path, "withzero", keep_others=True)
    with caplog.at_level(logging.WARNING, logger="crossreg"):
        ours = run_world(
            tmp_path, tmp_path / "out", sannot_chr=[str(tmp_path / "withzero.")], plots=False
        )
    assert_frame_equal(ours.filter(pl.col("annot") != "zero"), base)
    zero = ours.filter(pl.col("annot") == "zero").row(0, named=True)
    assert zero["p"] == 1.0 and np.isnan(zero["z"]) and np.isnan(zero["mu"])
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    (warning,) = [w for w in warnings if "no signed LD profile" in w]
    assert warning.startswith(
        f"annotation(s) zero ({tmp_path}/withzero.{{chrom}}.sannot.gz) have no signed LD "
        f"profile at the typed print SNPs of {tmp_path}/trait.sumstats.gz: "
    )
    assert "their rows of results.tsv have no estimate (NaN, p 1)" in warning


# 3. a (SNP, gene) row of an --eqtl table listed twice


EQTL = (
    "SNP\tgene_id\tref\talt\tz\tN\n"
    "rs1\tg1\tA\tG\t2.0\t90\n"
    "rs1\tg2\tA\tG\t1.0\t90\n"
    "rs2\tg1\tC\tT\t-1.5\t90\n"
)


def test_a_repeated_snp_gene_row_counts_once_with_a_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # before: the repeat counted as another gene (Z_rs1 = (2 + 1 + 2)/sqrt(3))
    printed = np.array(["rs1", "rs2"])
    (tmp_path / "once.tsv").write_text(EQTL)
    (tmp_path / "twice.tsv").write_text(EQTL + "rs1\tg1\tA\tG\t2.0\t90\nrs2\tg1\tC\tT\t-1.5\t90\n")
    once = read_eqtl(tmp_path / "once.tsv", printed)
    with caplog.at_level(logging.WARNING, logger="crossreg"):
        twice = read_eqtl(tmp_path / "twice.tsv", printed)
    np.testing.assert_allclose(twice.z, [3.0 / np.sqrt(2), -1.5], rtol=1e-15)
    for column in ("snp", "a1", "a2", "z", "n"):
        assert getattr(twice, column).tolist() == getattr(once, column).tolist(), column
    assert [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING] == [
        f"{tmp_path}/twice.tsv: 2 row(s) at print SNPs repeat a SNP and gene listed before "
        "with the same values (e.g. SNP rs1, gene g1 on line 5): each pair counted once"
    ]


def test_a_snp_gene_row_repeated_with_other_values_stops(tmp_path: Path) -> None:
    (tmp_path / "clash.tsv").write_text(EQTL + "rs1\tg2\tA\tG\t1.5\t90\n")
    message = (
        rf"{re.escape(str(tmp_path))}/clash\.tsv lines 3 and 5: SNP rs1 and gene g2 are listed "
        r"twice with different alleles or statistics; keep one row per SNP and gene$"
    )
    with pytest.raises(ValueError, match=message):
        read_eqtl(tmp_path / "clash.tsv", np.array(["rs1", "rs2"]))


def test_a_repeated_eqtl_table_gives_the_results_of_the_original(tmp_path: Path) -> None:
    write_world(tmp_path)
    with gzip.open(tmp_path / "trait.sumstats.gz", "rt") as handle:
        _, *rows = handle.read().splitlines()
    lines = [f"{s}\tg{k % 3}\t{a2}\t{a1}\t{z}" for k, (s, a1, a2, z, _) in enumerate(
        r.split("\t") for r in rows
    )]  # fmt: skip
    for name, body in (("liver", lines), ("liverdup", lines + lines)):
        (tmp_path / f"{name}.txt").write_text(
            "\n".join(["SNP\tgene_id\tref\talt\tz", *body]) + "\n"
        )
    results = {
        name: run_world(
            tmp_path,
            tmp_path / name,
            sumstats=[],
            eqtl=[tmp_path / f"{name}.txt"],
            eqtl_n=5000.0,
            plots=False,
        ).drop("pheno")
        for name in ("liver", "liverdup")
    }
    assert_frame_equal(results["liverdup"], results["liver"])


# 4. a damaged --ld-cache entry


def _damage(path: Path, form: str) -> None:
    if form == "truncated":
        path.write_bytes(path.read_bytes()[:1000])
    elif form == "text":
        path.write_text("hello\n")
    elif form == "empty":
        path.write_bytes(b"")
    else:  # a readable .npz of other arrays
        with open(path, "wb") as handle:
            np.savez(handle, ids=np.arange(3))


@pytest.mark.parametrize("form", ["truncated", "text", "empty", "other arrays"])
def test_a_damaged_ld_cache_entry_is_recomputed_with_a_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, form: str
) -> None:
    # before: a raw zipfile/numpy traceback, or numpy's pickle message, without the file
    write_world(tmp_path)
    cache = tmp_path / "cache"
    expected = run_world(tmp_path, tmp_path / "clean", ld_cache=cache, plots=False)
    (entry,) = cache.glob(f"{CHROM}.*.npz")
    clean = entry.read_bytes()
    _damage(entry, form)
    with caplog.at_level(logging.WARNING, logger="crossreg"):
        ours = run_world(tmp_path, tmp_path / "damaged", ld_cache=cache, plots=False)
    assert_frame_equal(ours, expected)
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    (warning,) = [w for w in warnings if "cache" in w]
    assert warning.startswith(f"{entry}: unreadable LD-spectrum cache entry (")
    assert warning.endswith("); computing the spectra again and rewriting it")
    assert entry.read_bytes() == clean  # rewritten whole
    assert [p.name for p in cache.iterdir()] == [entry.name]  # no temporary file left


# 5. a de novo group without variants


def _cases(tmp_path: Path) -> tuple[Path, Path]:
    records = [("chr1", 101 + i, "G", ("T",), who, ".") for i, who in enumerate(("ann", "bob"))]
    scored = [(f"chr1:{101 + i}:G>T", "chr1", 101 + i, "G", "T", 1.0) for i in range(2)]
    return _write_group(tmp_path, "cases", records, scored)


def test_a_group_whose_vcf_has_no_variants_is_named(tmp_path: Path) -> None:
    # before: "empty.tsv does not hold the alleles of empty.vcf in order: its row 1 ..."
    vcf, sad = _write_group(tmp_path, "controls", [], [])
    sad.write_text(SAD_HEADER)
    message = (
        rf"^the controls' VCF {re.escape(str(vcf))} has no variants; the tests compare cases "
        r"with controls, so each group needs at least one de novo variant: give a VCF with "
        r"the controls' variants \(and their scores from crossreg sad\)$"
    )
    with pytest.raises(ValueError, match=message):
        load_groups({"case": _cases(tmp_path), "control": (vcf, sad)})


def test_a_group_with_no_scorable_variant_is_named(tmp_path: Path) -> None:
    vcf, sad = _write_group(tmp_path, "cases", [("chr1", 101, "G", ("<DEL>",), "ann", ".")], [])
    sad.write_text(SAD_HEADER)
    message = (
        rf"^the cases' VCF {re.escape(str(vcf))} has no variant crossreg sad can score \(its 1 "
        r"ALT allele\(s\) are symbolic, structural or at an N REF\); the tests compare cases "
        r"with controls, so each group needs at least one scorable variant$"
    )
    with pytest.raises(ValueError, match=message):
        load_groups({"case": (vcf, sad), "control": _controls(tmp_path)})


def test_a_group_whose_sad_file_has_no_rows_is_named(tmp_path: Path) -> None:
    vcf, sad = _cases(tmp_path)
    sad.write_text(SAD_HEADER)
    message = (
        rf"^the cases' SAD file {re.escape(str(sad))} has no rows: crossreg sad scored none of "
        rf"the 2 allele\(s\) of {re.escape(str(vcf))} \(it skips chromosomes its FASTA lacks "
        r"and alleles longer than half its window\); the tests compare cases with controls, so "
        r"each group needs at least one scored variant$"
    )
    with pytest.raises(ValueError, match=message):
        load_groups({"case": (vcf, sad), "control": _controls(tmp_path)})
