"""crossreg sldp on a tiny hand-built world against the dense reference estimator
(tests/sldp_reference.py), hand-checked pieces, reconciliation, the RNG stream, bad inputs
and the command line."""

from __future__ import annotations

import gzip
import json
import logging
import os
import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, TypedDict

import h5py
import numpy as np
import polars as pl
import pytest
from scipy.stats import norm

from crossreg.cli import main
from crossreg.io.plink import BYTE_TABLE, pack_bed
from crossreg.stats.sldp.plink import unit_standardize
from crossreg.stats.sldp.reconcile import reconcile
from crossreg.stats.sldp.refpanel import truncation_rank
from crossreg.stats.sldp.regression import chunk_bounds, sign_flip
from crossreg.stats.sldp.run import write_sldp
from tests import sldp_reference as dense

if TYPE_CHECKING:
    from typing_extensions import Unpack  # typing.Unpack from Python 3.11

CHROM = "7"
N_SAMPLES, N_BLOCKS, PER_BLOCK = 60, 24, 8
JK_BLOCKS = 20  # enough chunks that the all-same sign pattern (a float tie) is rare
PAIRS = ["AC", "AG", "CA", "CT", "GA", "GT", "TC", "TG"]


def write_world(root: Path, seed: int = 1) -> dict:
    """Panel, blocks, print SNPs, LD scores, annotations and sumstats for one chromosome;
    block 2 has a single print SNP (rank 0), block 5 none; SNPs between blocks exist."""
    rng = np.random.default_rng(seed)
    m = N_BLOCKS * (PER_BLOCK + 1)
    latent = np.zeros((2 * N_SAMPLES, m))
    for j in range(m):
        fresh = rng.standard_normal(2 * N_SAMPLES)
        latent[:, j] = fresh if j % (PER_BLOCK + 1) == 0 else 0.8 * latent[:, j - 1] + 0.6 * fresh
    freq = rng.uniform(0.1, 0.6, m)
    from scipy.special import ndtri

    haps = (latent > ndtri(1 - freq)).astype(int)
    counts = haps[:N_SAMPLES] + haps[N_SAMPLES:]
    counts[:, 3] = 2  # monomorphic
    counts[rng.random(counts.shape) < 0.02] = -1  # missing calls
    snp = np.array([f"rs{100 + j}" for j in range(m)])
    bp = 10_000 + 1000 * np.arange(m)
    pair = [PAIRS[j % len(PAIRS)] for j in range(m)]
    (root / f"panel.{CHROM}.bed").write_bytes(pack_bed(counts))
    (root / f"panel.{CHROM}.bim").write_text(
        "".join(f"{CHROM} {snp[j]} 0 {bp[j]} {pair[j][0]} {pair[j][1]}\n" for j in range(m))
    )
    (root / f"panel.{CHROM}.fam").write_text(
        "".join(f"f{i} i{i} 0 0 1 -9\n" for i in range(N_SAMPLES))
    )
    observed = np.where(counts >= 0, counts, 0).sum(0) / (2 * (counts >= 0).sum(0))
    maf = np.minimum(observed, 1 - observed)
    (root / f"panel.{CHROM}.frq").write_text(
        " CHR SNP A1 A2 MAF NCHROBS\n"
        + "".join(
            f"{CHROM} {snp[j]} {pair[j][0]} {pair[j][1]} {maf[j]:.4f} 120\n" for j in range(m)
        )
    )
    starts = [1 + b * (PER_BLOCK + 1) for b in range(N_BLOCKS)]  # SNP 0 etc. outside blocks
    (root / "blocks.bed").write_text(
        "".join(f"chr{CHROM}\t{bp[s]}\t{bp[s + PER_BLOCK - 1] + 1}\n" for s in starts)
    )
    printed = rng.random(m) < 0.75
    block_of = np.full(m, -1)
    for b, s in enumerate(starts):
        block_of[s : s + PER_BLOCK] = b
    printed[block_of == 5] = False
    printed[block_of == 2] = False
    printed[starts[2]] = True
    (root / "print_snps.txt").write_text("\n".join(snp[printed]) + "\n")
    v = rng.standard_normal((m, 3)) * (rng.random((m, 3)) < 0.8)
    bg = rng.standard_normal((m, 1))
    for name, values, cols in (("annot", v, ["pred1", "NA", "null"]), ("bg", bg, ["bgmaf"])):
        text = "SNP\tA1\tA2\t" + "\t".join(cols) + "\n"
        text += "".join(
            f"{snp[j]}\t{pair[j][0]}\t{pair[j][1]}\t"
            + "\t".join(repr(float(x)) for x in values[j])
            + "\n"
            for j in range(m)
        )
        with gzip.open(root / f"{name}.{CHROM}.sannot.gz", "wt") as handle:
            handle.write(text)
    z = rng.standard_normal(m) * 1.3
    keep = printed & (rng.random(m) < 0.9)
    with gzip.open(root / "trait.sumstats.gz", "wt") as handle:
        handle.write("SNP\tA1\tA2\tZ\tN\n")
        handle.write(
            "".join(
                f"{snp[j]}\t{pair[j][0]}\t{pair[j][1]}\t{float(z[j])!r}\t5000\n"
                for j in np.nonzero(keep)[0]
            )
        )
    l2 = rng.uniform(1, 10, m)
    with gzip.open(root / f"ld.{CHROM}.l2.ldscore.gz", "wt") as handle:
        handle.write(
            "CHR\tSNP\tBP\tL2\n"
            + "".join(f"{CHROM}\t{snp[j]}\t{bp[j]}\t{float(l2[j])!r}\n" for j in range(m))
        )
    (root / f"ld.{CHROM}.l2.M_5_50").write_text(f"{m}\n")
    return {
        "counts": counts, "printed": printed, "block_of": block_of, "v": v, "bg": bg,
        "z": np.where(keep, z, np.nan), "l2": l2, "snp": snp, "pair": pair, "bp": bp,
    }  # fmt: skip


class SldpOptions(TypedDict, total=False):
    """The keyword options of :func:`write_sldp` that :func:`run_world` leaves open."""

    sumstats: Sequence[str | os.PathLike[str]]
    eqtl: Sequence[str | os.PathLike[str]]
    eqtl_n: float | None
    sannot_chr: Sequence[str | os.PathLike[str]]
    sad: Sequence[str | os.PathLike[str]]
    background_sannot_chr: Sequence[str | os.PathLike[str]]
    background_maf_bins: int
    background_gtf: str | os.PathLike[str] | None
    chroms: Sequence[str] | None
    weights: str
    alpha: float
    background_alpha: float
    spectrum_percent: float
    ld_cache: str | os.PathLike[str] | None
    plots: bool
    svg: bool


def run_world(root: Path, out: Path, **options: Unpack[SldpOptions]) -> pl.DataFrame:
    options = {
        "sannot_chr": [str(root / "annot.")],
        "sumstats": [root / "trait.sumstats.gz"],
    } | options
    write_sldp(
        str(root / "panel."), root / "print_snps.txt", root / "blocks.bed", str(root / "ld."), out,
        jk_blocks=JK_BLOCKS, flips=300_000, seed=3, verbose_thresh=1.0, **options,
    )  # fmt: skip
    return pl.read_csv(out / "results.tsv", separator="\t")


def dense_expected(
    world: dict, v: np.ndarray, n_background: int, weights: str = "Winv_ahat_h"
) -> tuple[dict, float]:
    """The dense reference's results on the test world for annotations `v` (background
    columns first), and the σ²_g it used."""
    counts = world["counts"].astype(float)
    counts[counts < 0] = np.nan
    x_all = dense.standardize(2 - counts)  # A1 counts would give the same numbers
    z, n = world["z"], np.where(np.isnan(world["z"]), np.nan, 5000.0)
    typed = ~np.isnan(z)
    sigma2g = (np.mean(z[typed] ** 2) - 1) / np.mean(5000 * world["l2"][typed])
    # per block (x, printed, v, ahat, n), None without print SNPs: dense.sldp's input
    blocks: list[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray] | None] = []
    for b in range(N_BLOCKS):
        rows = np.nonzero(world["block_of"] == b)[0]
        printed = world["printed"][rows]
        if not printed.any():
            blocks.append(None)
            continue
        blocks.append(
            (x_all[:, rows], printed, v[rows], (z / np.sqrt(n))[rows][printed], n[rows][printed])
        )
    return dense.sldp(blocks, sigma2g, n_background, JK_BLOCKS, 300_000, 3, weights), sigma2g


@pytest.mark.parametrize(
    ("weights", "background"),
    [("Winv_ahat_h", True), ("Winv_ahat_h", False), ("Winv_ahat_I", True)],
)
def test_matches_the_dense_reference(tmp_path, weights, background):
    world = write_world(tmp_path)
    ours = run_world(
        tmp_path, tmp_path / "out", weights=weights,
        background_sannot_chr=[str(tmp_path / "bg.")] if background else [],
    )  # fmt: skip
    v = np.hstack([world["bg"], world["v"]]) if background else world["v"]
    expected, sigma2g = dense_expected(world, v, int(background), weights)
    assert ours["annot"].to_list() == ["pred1", "NA", "null"]
    assert ours["p"].to_list() == expected["p"].tolist()
    np.testing.assert_allclose(ours["z"], expected["z"], rtol=1e-12)
    for column, key in (("mu", "mu"), ("se_mu", "se"), ("z_fast", "z_fast"), ("p_fast", "p_fast")):
        np.testing.assert_allclose(ours[column], expected[key], rtol=1e-9)
    for k, name in enumerate(["pred1", "NA", "null"]):
        chunks = pl.read_csv(tmp_path / "out" / "chunks" / "trait" / f"{name}.tsv", separator="\t")
        np.testing.assert_allclose(chunks["q"], expected["q"][:, k], rtol=1e-9, atol=1e-20)
        np.testing.assert_allclose(chunks["r"], expected["r"][:, k], rtol=1e-9)
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    np.testing.assert_allclose(summary["phenotypes"]["trait"]["sigma2g"], sigma2g, rtol=1e-12)


def test_hand_checked_pieces():
    assert truncation_rank(np.array([3.0, 1.0]), 95) == 1  # shares 0.75, 1.0
    assert truncation_rank(np.array([1.9, 0.1]), 95) == 0  # the first alone reaches 95%
    assert truncation_rank(np.array([5.0]), 95) == 0  # one print SNP: nothing kept
    assert truncation_rank(np.array([0.0, 0.0]), 95) == 0
    # byte 0b11_10_01_00: samples hom A1 (0 A2), missing, het, hom A2
    np.testing.assert_array_equal(BYTE_TABLE[0b11100100], [0, np.nan, 1, 2])
    x = unit_standardize(np.array([[0.0, 2, 1], [1, 2, np.nan], [2, 2, 1], [1, 2, 0]]))
    np.testing.assert_allclose(x[:, 0], np.array([-1, 0, 1, 0]) / np.sqrt(0.5))
    assert (x[:, 1] == 0).all()  # monomorphic
    assert x[1, 2] == 0  # missing call at the mean


def test_reconciliation_cases():
    bim = (
        np.array(["s1", "s2", "s3", "s4", "s5", "s6", "s7"]),
        np.array(list("AAAAACG")),
        np.array(list("CCCCTAC")),
    )
    data = (
        np.array(["s1", "s2", "s3", "s4", "s4", "s5", "s7", "sX"]),
        np.array(list("ACTGGAGA")),
        np.array(list("CAGTAACC")),
    )
    aligned = reconcile(*bim, *data)
    values = aligned.apply(np.arange(1.0, 9.0), np.nan)
    # same, swapped, complemented, duplicate (its 2nd row is the swapped complement),
    # ambiguous, missing, ambiguous
    np.testing.assert_array_equal(values, [1, -2, 3, -4, np.nan, np.nan, np.nan])
    assert aligned.counts == {
        "matched": 4, "swapped": 2, "complemented": 2, "ambiguous": 2, "mismatched": 0,
        "missing": 1, "duplicated": 1,
    }  # fmt: skip
    assert aligned.apply(np.arange(1.0, 9.0), 0.0, signed=False)[1] == 2


def test_rng_stream_equals_the_reference_global_state():
    q = np.random.default_rng(0).standard_normal(7)
    np.random.seed(11)
    reference = [((-1) ** np.random.binomial(1, 0.5, size=(100_000, 7))).dot(q) for _ in range(2)]
    rng = np.random.RandomState(11)
    ours = [((-1) ** rng.binomial(1, 0.5, size=(n, 7))).dot(q) for n in (30_000, 70_000, 100_000)]
    np.testing.assert_array_equal(np.concatenate(reference), np.concatenate(ours))
    # 7 equal q: only the all-same signs (2 of 128) reach |score|, so p ≈ 1/64 ≥ 0.01 and
    # the first batch of 100,000 rows ends it; z is the normal quantile of p/2, signed
    p, z = sign_flip(np.ones(7), 1_000_000, np.random.RandomState(0))
    signs = np.random.RandomState(0).binomial(1, 0.5, size=(100_000, 7))
    same = int(np.isin(signs.sum(axis=1), [0, 7]).sum())
    assert p == same / 100_000 and p == pytest.approx(1 / 64, rel=0.05)
    assert z == pytest.approx(norm.isf(p / 2), rel=1e-12)
    p, z = sign_flip(-np.ones(7), 1_000_000, np.random.RandomState(0))
    assert p == same / 100_000 and z == pytest.approx(-norm.isf(p / 2), rel=1e-12)
    # 30 equal q: no flip reaches the score, p sits at its floor 1/T after every batch
    p, z = sign_flip(np.ones(30), 200_000, np.random.RandomState(0))
    assert p == 1 / 200_000 and z == pytest.approx(norm.isf(0.5 / 200_000), rel=1e-12)


def test_bad_inputs_stop_naming_the_file(tmp_path):
    write_world(tmp_path)

    def fails(match: str, **options) -> None:
        with pytest.raises(ValueError, match=match):
            run_world(tmp_path, tmp_path / "bad", **options)
        assert not (tmp_path / "bad" / "results.tsv").exists()

    bim = tmp_path / f"panel.{CHROM}.bim"
    lines = bim.read_text().splitlines(keepends=True)
    bim.write_text("".join([lines[1], lines[0], *lines[2:]]))
    fails(r"panel\.7\.bim line 2: .*sorted")
    bim.write_text("".join(lines))
    frq = tmp_path / f"panel.{CHROM}.frq"
    frq.rename(tmp_path / "kept.frq")
    fails(r"panel\.7\.frq: missing \.frq")
    (tmp_path / "kept.frq").rename(frq)
    blocks = tmp_path / "blocks.bed"
    kept = blocks.read_text()
    blocks.write_text("chr9\t1\t100\n")
    fails(
        r"blocks\.bed: no LD block lies on the analysed chromosome\(s\) 7 \(its blocks are on 9\)"
    )
    blocks.write_text(kept)
    fails(r"--chroms names chromosome\(s\) 7 more than once", chroms=[CHROM, CHROM])
    with gzip.open(tmp_path / "other.7.sannot.gz", "wt") as handle:
        handle.write("SNP\tA1\tA2\tx\nrs99999999\tA\tC\t1.0\n")
    fails(r"other\.: no annotated SNP matches the panel", sannot_chr=[str(tmp_path / "other.")])
    with gzip.open(tmp_path / "noz.sumstats.gz", "wt") as handle:
        handle.write("SNP\tA1\tA2\tN\nrs101\tA\tG\t10\n")
    fails(r"noz\.sumstats\.gz: missing column\(s\) Z", sumstats=[tmp_path / "noz.sumstats.gz"])


def argv_of(root: str, scores: str) -> list[str]:
    """``crossreg sldp`` on the test world with SAD scores from `scores` (no --out)."""
    return [
        "sldp", "--bfile-chr", f"{root}/panel.", "--print-snps", f"{root}/print_snps.txt",
        "--ld-blocks", f"{root}/blocks.bed", "--ldscores-chr", f"{root}/ld.",
        "--sad", f"{root}/{scores}", "--sumstats", f"{root}/trait.sumstats.gz",
        "--chroms", CHROM, "--seed", "3", "--flips", "300000", "--jk-blocks", str(JK_BLOCKS),
        "--verbose-thresh", "1",
    ]  # fmt: skip


def test_command_line_with_sad_scores(tmp_path):
    world = write_world(tmp_path)
    expected = run_world(tmp_path, tmp_path / "sannot")
    # the same values as SAD tracks (alt − ref), with alt = bim A2 on every other SNP (negated)
    flip = np.arange(len(world["snp"])) % 2 == 1
    a1 = np.array([p[0] for p in world["pair"]])
    a2 = np.array([p[1] for p in world["pair"]])
    with h5py.File(tmp_path / "scores.h5", "w") as handle:
        handle["snp"] = world["snp"].astype("S")
        handle["chr"] = np.array([CHROM] * len(a1), dtype="S")
        handle["pos"] = world["bp"].astype(np.uint32)
        handle["ref_allele"] = np.where(flip, a1, a2).astype("S")
        handle["alt_allele"] = np.where(flip, a2, a1).astype("S")
        handle["target_ids"] = np.array(["pred1", "NA", "null"], dtype="S")
        handle["SAD"] = (world["v"] * np.where(flip, -1, 1)[:, None]).astype(np.float64)
    root = str(tmp_path)
    code = main([*argv_of(root, "scores.h5"), "--out", f"{root}/cli"])
    assert code == 0
    ours = pl.read_csv(tmp_path / "cli" / "results.tsv", separator="\t")
    assert ours.columns == [
        "pheno", "annot", "z", "p", "z_fast", "p_fast", "mu", "se_mu", "h2g", "r_f", "h2v_h2g",
        "h2v", "supp_frac",
    ]  # fmt: skip
    # SAD is float32: agreement to its precision, identical p
    for column in ("mu", "z_fast", "se_mu"):
        np.testing.assert_allclose(ours[column], expected[column], rtol=1e-5)
    assert ours["p"].to_list() == expected["p"].to_list()
    summary = json.loads((tmp_path / "cli" / "summary.json").read_text())
    assert summary["reconciliation"][f"{root}/scores.h5"]["swapped"] == int(flip.sum())
    assert summary["figures"] == ["z_heatmap.png", "z_correlation.png"]
    assert (tmp_path / "cli" / "z_heatmap.png").read_bytes()[:4] == b"\x89PNG"
    # the same scores as a crossreg sad .tsv give the same results
    values = (world["v"] * np.where(flip, -1, 1)[:, None]).astype(np.float32)
    lines = ["snp\tchrom\tpos\tref\talt\tpred1\tNA\tnull"]
    for k, snp in enumerate(world["snp"]):
        ref, alt = (a2[k], a1[k]) if not flip[k] else (a1[k], a2[k])
        lines.append(
            "\t".join([snp, CHROM, str(world["bp"][k]), ref, alt, *(f"{v:.9g}" for v in values[k])])
        )
    (tmp_path / "scores.tsv").write_text("\n".join(lines) + "\n")
    assert main([*argv_of(root, "scores.tsv"), "--out", f"{root}/cli_tsv"]) == 0
    from_tsv = pl.read_csv(tmp_path / "cli_tsv" / "results.tsv", separator="\t")
    assert from_tsv.equals(ours)
    shutil.rmtree(tmp_path / "cli")
    assert main(["sldp", "--bfile-chr", f"{root}/nothing.", "--print-snps", "x", "--ld-blocks", "x",
                 "--ldscores-chr", "x", "--sad", "x.h5", "--out", f"{root}/cli"]) == 1  # fmt: skip


def test_eqtl_rows_are_oriented_and_combined_per_snp(tmp_path):
    from crossreg.stats.sldp.eqtl_table import read_eqtl

    path = tmp_path / "gtex.tsv"
    path.write_text(
        "variant_id\tgene_id\tslope\tslope_se\n"
        "chr1_100_A_G_b38\tg1\t2.0\t1.0\n"  # alt G: z 2
        "chr1_100_G_A_b38\tg2\t1.0\t2.0\n"  # another id: its own SNP, z 0.5 for alt A
        "chr1_100_A_T_b38\tg3\t9.0\t1.0\n"  # not a print SNP
        "chr1_200_C_T_b38\tg1\t-3.0\t1.0\n"
        "chr1_300_C_T_b38\tg1\t1.0\t1.0\n"  # not a print SNP
    )
    printed = np.array(["chr1_100_A_G_b38", "chr1_200_C_T_b38", "chr1_100_G_A_b38"])
    stats = read_eqtl(path, printed, n=500)
    assert stats.snp.tolist() == ["chr1_100_A_G_b38", "chr1_100_G_A_b38", "chr1_200_C_T_b38"]
    np.testing.assert_allclose(stats.z, [2.0, 0.5, -3.0])
    assert stats.a1.tolist() == ["G", "A", "T"] and (stats.n == 500).all()
    path.write_text("SNP\tgene_id\tref\talt\tz\tN\nrs1\tg1\tA\tG\t2.0\t90\nrs1\tg2\tA\tG\t1.0\t90\n"
                    "rs1\tg3\tG\tA\t1.0\t90\nrs1\tg4\tT\tC\t-1.0\t90\n")  # fmt: skip
    stats = read_eqtl(path, np.array(["rs1"]))
    # g3 is swapped (negated), g4 the strand complement (kept): oriented to alt G of g1
    np.testing.assert_allclose(stats.z, [(2.0 + 1.0 - 1.0 - 1.0) / 2])
    assert stats.n.tolist() == [90.0]


def test_thin_annotations_and_the_ld_cache(tmp_path):
    write_world(tmp_path)
    expected = run_world(tmp_path, tmp_path / "full")
    with gzip.open(tmp_path / f"annot.{CHROM}.sannot.gz", "rt") as handle:
        table = pl.read_csv(handle.read().encode(), separator="\t")
    with gzip.open(tmp_path / f"thin.{CHROM}.sannot.gz", "wt") as handle:
        handle.write(table.drop("SNP", "A1", "A2").write_csv(separator="\t"))
    cache = tmp_path / "cache"
    for out in ("thin1", "thin2"):
        ours = run_world(
            tmp_path, tmp_path / out, sannot_chr=[str(tmp_path / "thin.")], ld_cache=cache
        )
        assert ours["p"].to_list() == expected["p"].to_list()
        np.testing.assert_allclose(ours["mu"], expected["mu"], rtol=1e-12)
    assert len(list(cache.glob(f"{CHROM}.*.npz"))) == 1


def test_a_panel_chromosome_without_blocks_adds_snps_but_no_signal(tmp_path, caplog):
    write_world(tmp_path)
    one = run_world(tmp_path, tmp_path / "one")
    # chromosome 9: the same genotypes under other ids, no LD block, annotation all zero
    rows = (tmp_path / f"panel.{CHROM}.bim").read_text().splitlines()
    (tmp_path / "panel.9.bim").write_text(
        "".join(f"9 c9_{f[1]} {' '.join(f[2:])}\n" for f in (r.split() for r in rows))
    )
    for suffix in ("bed", "fam"):
        data = (tmp_path / f"panel.{CHROM}.{suffix}").read_bytes()
        (tmp_path / f"panel.9.{suffix}").write_bytes(data)
    frq = (tmp_path / f"panel.{CHROM}.frq").read_text().splitlines()
    (tmp_path / "panel.9.frq").write_text(
        "\n".join([frq[0], *(f"9 c9_{f[1]} {' '.join(f[2:])}" for f in map(str.split, frq[1:]))])
        + "\n"
    )
    with gzip.open(tmp_path / "annot.9.sannot.gz", "wt") as handle:
        handle.write("SNP\tA1\tA2\tpred1\tNA\tnull\n")
        handle.write("".join(f"c9_{f[1]}\t{f[4]}\t{f[5]}\t0\t0\t0\n" for f in map(str.split, rows)))
    with caplog.at_level(logging.WARNING, logger="crossreg"):
        two = run_world(tmp_path, tmp_path / "two")
    for column in ("z", "p", "z_fast", "p_fast", "mu", "se_mu"):
        assert two[column].to_list() == one[column].to_list(), column
    np.testing.assert_allclose(two["supp_frac"], one["supp_frac"] / 2, rtol=1e-12)
    # the warning says so (before: "their SNPs take no part")
    (warning,) = [r.getMessage() for r in caplog.records if "no LD block on" in r.getMessage()]
    assert "no regression signal but count in M and ‖v‖²" in warning
    assert "supp_frac" in warning


def _reference_sign_flip(q, flips, rng):
    """The reference's loop as written: (-1)**binomial draws, batches of 100,000."""
    score, exceed, current = q.sum(), 0, 0
    while current < flips:
        null = ((-1) ** rng.binomial(1, 0.5, size=(100_000, len(q)))).dot(q)
        exceed += int((np.abs(null) >= np.abs(score)).sum())
        current += 100_000
        p = max(1, exceed) / float(current)
        if p >= 0.01:
            break
    return p


def test_sign_flips_draw_the_references_signs_across_annotations(monkeypatch):
    # uniforms above 0.5 stand for the reference's binomial draws: the same p, to the
    # count, for annotations that stop after one batch and after several, one stream
    from crossreg.stats.sldp import regression

    monkeypatch.setattr(regression, "FLIP_CELLS", 50_000 * 63)  # batches drawn in pieces
    gen = np.random.default_rng(5)
    annotations = [gen.standard_normal(63) + shift for shift in (0.0, 0.3, 0.45, 0.2)]
    ours, theirs = np.random.RandomState(3), np.random.RandomState(3)
    for q in annotations:
        p, _ = sign_flip(q, 400_000, ours)
        assert p == _reference_sign_flip(q, 400_000, theirs)
    assert ours.random_sample() == theirs.random_sample()  # as many draws taken


def test_a_flip_equal_to_the_score_but_for_rounding_reaches_it():
    # before: q.sum() and BLAS's dot add in other orders, so the flips that keep the signs
    # of q's 4 nonzero terms (or reverse them all) fell 1 ulp short of the score: no flip
    # reached it and p was 1/flips (z 4.89) where the exact sign-flip p is 2/16
    q = np.zeros(20)
    q[[0, 5, 11, 17]] = [0.1, 0.2, 0.3, 0.001]  # OpenBLAS's dot of all +1 is 1 ulp short
    p, z = sign_flip(q, 1_000_000, np.random.RandomState(0))
    signs = np.random.RandomState(0).binomial(1, 0.5, size=(100_000, 20))[:, [0, 5, 11, 17]]
    same = int(np.isin(signs.sum(axis=1), [0, 4]).sum())
    assert p == same / 100_000 and p == pytest.approx(1 / 8, rel=0.05)
    assert z == pytest.approx(norm.isf(p / 2), rel=1e-12)


def test_a_chunk_closes_once_its_count_exceeds_the_size_not_when_it_equals_it():
    # T = 4 typed SNPs, 4 chunks asked: close once a chunk holds more than
    # max(1, 4/4 - 1/2) = 1, so each chunk takes 2 blocks of 1 SNP
    assert chunk_bounds(np.ones(4), 4) == [(0, 2), (2, 4)]
    # size 8/2 - (8/3)/2 = 2.67 with empty blocks counted in file order: a chunk closes
    # at 3 or more and the empty blocks travel with their neighbours
    assert chunk_bounds(np.array([0.0, 2, 0, 1, 0, 5]), 2) == [(0, 4), (4, 6)]


def test_a_score_of_zero_is_reached_by_every_flip():
    # q all 0: every flip's null (0) reaches the score (0), as the reference's >= counts
    # it, so p is 1, not 1/flips
    p, _ = sign_flip(np.zeros(7), 100_000, np.random.RandomState(0))
    assert p == 1.0
    # the undrawn flips past the first batch count as reached too, as in the reference,
    # which would take p to 2.5 here; it is capped at 1
    p, _ = sign_flip(np.zeros(7), 250_000, np.random.RandomState(0))
    assert p == 1.0


def test_flipping_stops_at_the_batch_whose_p_reaches_the_threshold(monkeypatch):
    # batches of 100: p = 1/100 after the first (seed 2: one flip of 8 equal terms keeps
    # them all alike) is exactly the threshold 0.01, so flipping stops there
    from crossreg.stats.sldp import regression

    monkeypatch.setattr(regression, "FLIP_BATCH", 100)
    rng = np.random.RandomState(2)
    p, _ = sign_flip(np.ones(8), 10_000, rng)
    assert p == 0.01
    drawn = np.random.RandomState(2)
    drawn.random_sample((100, 8))
    assert rng.random_sample() == drawn.random_sample()  # one batch drawn, no more
