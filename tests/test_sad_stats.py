"""``crossreg sad --stats``: Basenji's SAD statistics against a plain numpy version of
``basenji_sad.py``'s definitions, their outputs (.h5 datasets, .tsv blocks) and errors."""

from __future__ import annotations

import shutil
from pathlib import Path

import h5py
import numpy as np
import polars as pl
import pytest
import torch
from scipy.special import rel_entr

from crossreg.cli import build_parser, main
from crossreg.genome import Genome
from crossreg.io.vcf import read_vcf
from crossreg.model.checkpoint import load_checkpoint
from crossreg.model.inference import InferenceOptions
from crossreg.variants.sad import write_sad
from crossreg.variants.sad_percentiles import PERCENTILES
from crossreg.variants.sad_read import read_sad
from crossreg.variants.sad_stats import (
    STATS,
    check_stats,
    compute_stats,
    parse_stats,
)
from crossreg.variants.scoring import score_alleles, score_stats, scored_alleles

FIXTURES = Path(__file__).parent / "data" / "basenji_fixtures"
FLAT = [name for name in STATS if name not in ("REF", "ALT")]


def basenji_stats(ref: np.ndarray, alt: np.ndarray) -> dict[str, np.ndarray]:
    """``basenji_sad.py``'s statistics of one variant's ``(bins, tracks)`` predictions, in
    float64 numpy, written out as Basenji writes them."""
    ref, alt = ref.astype(np.float64), alt.astype(np.float64)
    ref_log, alt_log = np.log2(ref + 1), np.log2(alt + 1)
    ref_sqrt, alt_sqrt = np.sqrt(ref), np.sqrt(alt)
    diff, log_diff, sqrt_diff = alt - ref, alt_log - ref_log, alt_sqrt - ref_sqrt
    max_i = np.argmax(np.abs(diff), axis=0)

    def jensen_shannon(r: np.ndarray, a: np.ndarray) -> np.ndarray:
        pseudocounts = np.percentile(r, 25, axis=0)
        r_norm = r + pseudocounts
        r_norm /= r_norm.sum(axis=0)
        a_norm = a + pseudocounts
        a_norm /= a_norm.sum(axis=0)
        return (rel_entr(r_norm, a_norm).sum(axis=0) + rel_entr(a_norm, r_norm).sum(axis=0)) / 2

    return {
        "SAD": alt.sum(axis=0) - ref.sum(axis=0),
        "logSAD": alt_log.sum(axis=0) - ref_log.sum(axis=0),
        "sqrtSAD": alt_sqrt.sum(axis=0) - ref_sqrt.sum(axis=0),
        "SAX": diff[max_i, np.arange(diff.shape[1])],
        "D1": np.abs(diff).sum(axis=0),
        "logD1": np.abs(log_diff).sum(axis=0),
        "sqrtD1": np.abs(sqrt_diff).sum(axis=0),
        "D2": np.sqrt(np.power(diff, 2).sum(axis=0)),
        "logD2": np.sqrt(np.power(log_diff, 2).sum(axis=0)),
        "sqrtD2": np.sqrt(np.power(sqrt_diff, 2).sum(axis=0)),
        "JS": jensen_shannon(ref, alt),
        "logJS": jensen_shannon(ref_log, alt_log),
        "REF": ref,
        "ALT": alt,
    }


@pytest.fixture(scope="module")
def predictions() -> tuple[np.ndarray, np.ndarray]:
    """Random non-negative ref/alt predictions (5 variants, 64 bins, 7 tracks), as a softplus
    head gives, with alt a perturbation of ref plus a few zeros."""
    rng = np.random.default_rng(7)
    ref = rng.gamma(0.8, 2.0, size=(5, 64, 7)).astype(np.float32)
    alt = (ref * rng.lognormal(0, 0.3, size=ref.shape)).astype(np.float32)
    ref[0, :3, 0] = 0  # zeros in ref (the JS pseudocount keeps KL finite)
    return ref, alt


@pytest.mark.parametrize("name", list(STATS))
def test_each_statistic_equals_basenji(predictions, name):
    ref, alt = predictions
    got = STATS[name](torch.from_numpy(ref), torch.from_numpy(alt))
    assert got.dtype == torch.float32
    want = np.stack([basenji_stats(r, a)[name] for r, a in zip(ref, alt, strict=True)])
    assert got.shape == want.shape
    # float32 sums over bins: relative 1e-5, with an absolute floor for differences near 0
    scale = np.abs(want).max()
    np.testing.assert_allclose(got.numpy(), want, rtol=1e-5, atol=1e-6 * scale, err_msg=name)


def test_compute_stats_shares_transforms_and_equals_each_function(predictions):
    ref, alt = (torch.from_numpy(x) for x in predictions)
    got = compute_stats(ref, alt, list(STATS))
    assert list(got) == list(STATS)
    for name, value in got.items():
        torch.testing.assert_close(value, STATS[name](ref, alt), rtol=0, atol=0, msg=name)


def test_names_are_checked():
    assert parse_stats("SAD, logD2,SAD") == ("SAD", "logD2")
    with pytest.raises(ValueError, match=r"unknown SAD statistic sad, L2; choose among SAD,logSAD"):
        check_stats(["sad", "SAD", "L2"])
    with pytest.raises(ValueError, match="no SAD statistic"):
        parse_stats(" , ")


@pytest.fixture(scope="module")
def work(tmp_path_factory) -> Path:
    """The fixture genome and VCF, and the joint mini model (tanh GELU), as test_sad.py."""
    root = tmp_path_factory.mktemp("sad_stats")
    shutil.copy(FIXTURES / "genome_chr2.fa", root / "genome.fa")
    shutil.copy(FIXTURES / "sad_snps.vcf", root / "snps.vcf")
    args = ["import-basenji", "--params", str(FIXTURES / "params_joint_mini.json")]
    for genome, weights in (("human", "model0_best.h5"), ("mouse", "model1_best.h5")):
        args += ["--weights", str(FIXTURES / weights), "--genome", genome]
        args += ["--targets", str(FIXTURES / f"targets_{genome}_mini.txt")]
    assert main([*args, "--out", str(root / "tanh"), "--gelu", "tanh"]) == 0
    return root


def _run(argv: list[str]) -> int:
    """Run a subcommand, letting its errors raise (``main`` would log them)."""
    args = build_parser().parse_args(argv)
    return args.run(args)


def _argv(work: Path, out: Path) -> list[str]:
    argv = ["sad", "--model", str(work / "tanh"), "--genome", "human", "--fasta"]
    return [*argv, str(work / "genome.fa"), "--vcf", str(work / "snps.vcf"), "--out", str(out)]


def test_sad_through_the_stats_path_equals_the_old_one(work):
    model, _ = load_checkpoint(work / "tanh")
    genome = Genome(work / "genome.fa")
    alleles = scored_alleles(read_vcf(work / "snps.vcf"), genome, source="snps.vcf")
    options = InferenceOptions(batch_size=3, rc=True, shifts=(1, 0, -1))
    old = np.concatenate(list(score_alleles(model, alleles, genome, "human", options)))
    batches = list(score_stats(model, alleles, genome, "human", options, ("logD2", "SAD")))
    assert all(list(b) == ["logD2", "SAD"] for b in batches)
    new = np.concatenate([b["SAD"] for b in batches])
    assert new.dtype == np.float32
    np.testing.assert_array_equal(new, old)


def test_cli_stats_write_every_dataset_with_its_percentiles(work):
    default, out = work / "default.h5", work / "all.h5"
    assert _run(_argv(work, default)) == 0
    assert _run([*_argv(work, out), "--stats", ",".join(STATS), "--batch-size", "3"]) == 0
    model, _ = load_checkpoint(work / "tanh")
    n_bins = model.output_length()
    with h5py.File(out) as got, h5py.File(default) as plain:
        n, tracks = got["snp"].shape[0], got["target_ids"].shape[0]
        # the default holds SAD alone; --stats adds a dataset (and _pct) per statistic
        common = {k for k in got if k not in STATS and not k.endswith("_pct")}
        assert set(plain) == {*common, "SAD", "SAD_pct"}
        assert set(got) == {*common, *STATS, *(f"{k}_pct" for k in FLAT)}
        for name in FLAT:
            assert got[name].shape == (n, tracks) and got[name].dtype == np.float16, name
            pct = got[f"{name}_pct"]
            assert pct.shape == (tracks, len(PERCENTILES)) and pct.dtype == np.float16, name
            want = np.percentile(got[name][:], 100 * PERCENTILES, axis=0).T.astype(np.float16)
            np.testing.assert_array_equal(pct[:], want, err_msg=name)
        for name in ("REF", "ALT"):  # the bin profiles, no percentiles (as Basenji)
            assert got[name].ndim == 3 and got[name].dtype == np.float16
            assert got[name].shape[0] == n and got[name].shape[2] == tracks
            assert got[name].shape[1] == n_bins
            assert f"{name}_pct" not in got
        # the default's SAD is the same with other statistics beside it
        np.testing.assert_array_equal(got["SAD"][:], plain["SAD"][:])
        np.testing.assert_array_equal(got["SAD_pct"][:], plain["SAD_pct"][:])
        # and every statistic is Basenji's of the stored profiles (float16 → loose)
        ref, alt = got["REF"][:].astype(np.float32), got["ALT"][:].astype(np.float32)
        for i in range(n):
            want = basenji_stats(ref[i], alt[i])
            for name in ("SAD", "D1", "D2", "logSAD"):
                np.testing.assert_allclose(
                    got[name][i].astype(np.float32), want[name], rtol=2e-2, atol=2e-2, err_msg=name
                )
    assert read_sad(out, "logD2").values.shape == (n, tracks)


def test_cli_stats_tsv_has_one_block_per_statistic(work, capsys):
    tsv, h5 = work / "two.tsv", work / "two.h5"
    assert _run([*_argv(work, tsv), "--stats", "SAD,logD2"]) == 0
    assert "SAD,logD2 of 8 alleles" in capsys.readouterr().out
    assert _run([*_argv(work, h5), "--stats", "SAD,logD2"]) == 0
    table = pl.read_csv(tsv, separator="\t")
    with h5py.File(h5) as got:
        ids = got["target_ids"][:].astype(str).tolist()
        want = [f"{s}:{t}" for s in ("SAD", "logD2") for t in ids]
        assert table.columns == ["snp", "chrom", "pos", "ref", "alt", *want]
        for name in ("SAD", "logD2"):
            values = table.select([f"{name}:{t}" for t in ids]).to_numpy()
            np.testing.assert_allclose(values, got[name][:], rtol=1e-3, atol=1e-4)
            back = read_sad(tsv, name)
            assert back.identifiers == ids
            np.testing.assert_allclose(back.values, values, rtol=1e-6)


def test_bad_statistics_stop_before_any_work(work):
    out = work / "bad.h5"
    with pytest.raises(SystemExit):
        _run([*_argv(work, out), "--stats", "SAD,logd2"])
    with pytest.raises(ValueError, match=r"REF are \(alleles, bins, tracks\) profiles"):
        _run([*_argv(work, work / "bad.tsv"), "--stats", "SAD,REF"])
    # write_sad checks before loading anything: a missing model is not even looked at
    with pytest.raises(ValueError, match="unknown SAD statistic"):
        write_sad(work / "nowhere", work / "genome.fa", work / "snps.vcf", out, stats=["X"])
    assert not out.exists() and not (work / "bad.tsv").exists()
    assert not list(work.glob(".bad*"))
