"""``crossreg sad`` streaming: chunks, --resume, --shard and ``crossreg sad-merge``."""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

import h5py
import numpy as np
import pytest

from crossreg.cli import build_parser, main
from crossreg.variants import sad
from crossreg.variants.sad_stream import Shard

FIXTURES = Path(__file__).parent / "data" / "basenji_fixtures"
STATS = "SAD,D2,REF"


@pytest.fixture(scope="module")
def work(tmp_path_factory) -> Path:
    """The fixture genome, its VCF plus records off the FASTA and a multi-allelic one, and
    the joint mini model."""
    root = tmp_path_factory.mktemp("sad_stream")
    shutil.copy(FIXTURES / "genome_chr2.fa", root / "genome.fa")
    lines = (FIXTURES / "sad_snps.vcf").read_text().splitlines()
    body = [line for line in lines if not line.startswith("#")]
    first = body[0].split("\t")
    bases = [b for b in "ACGT" if b != first[3]]
    multi = [*first[:2], "multi", first[3], ",".join(bases[:2]), *first[5:]]
    extra = ["chrM\t5\tm1\tA\tG\t.\t.\t.", "\t".join(multi), "chrUn\t9\tu1\tC\tT\t.\t.\t."]
    (root / "snps.vcf").write_text("\n".join([*lines[:4], *lines[4:], *extra]) + "\n")
    args = ["import-basenji", "--params", str(FIXTURES / "params_joint_mini.json")]
    for genome, weights in (("human", "model0_best.h5"), ("mouse", "model1_best.h5")):
        args += ["--weights", str(FIXTURES / weights), "--genome", genome]
        args += ["--targets", str(FIXTURES / f"targets_{genome}_mini.txt")]
    assert main([*args, "--out", str(root / "model"), "--gelu", "tanh"]) == 0
    return root


def _run(argv: list[str]) -> int:
    args = build_parser().parse_args(argv)
    return args.run(args)


def _sad(work: Path, out: Path, *extra: str) -> int:
    argv = ["sad", "--model", str(work / "model"), "--genome", "human"]
    argv += ["--fasta", str(work / "genome.fa"), "--vcf", str(work / "snps.vcf")]
    return _run([*argv, "--stats", STATS, "--out", str(out), *extra])


def assert_same_h5(a: Path, b: Path, *, skip_attrs: tuple[str, ...] = ()) -> None:
    """Every dataset of `a` and `b`: same names, dtypes, shapes and values; same attrs."""
    with h5py.File(a, "r") as x, h5py.File(b, "r") as y:
        assert sorted(x) == sorted(y)
        for key in x:
            assert x[key].dtype == y[key].dtype, key
            assert x[key].shape == y[key].shape, key
            np.testing.assert_array_equal(x[key][:], y[key][:], err_msg=key)
        xa = {k: v for k, v in x.attrs.items() if k not in skip_attrs}
        ya = {k: v for k, v in y.attrs.items() if k not in skip_attrs}
        assert sorted(xa) == sorted(ya)
        for key in xa:
            np.testing.assert_array_equal(xa[key], ya[key], err_msg=key)


@pytest.fixture(scope="module")
def whole(work) -> Path:
    """One uninterrupted run with the default chunk size (all alleles in one chunk)."""
    out = work / "whole.h5"
    assert _sad(work, out) == 0
    return out


def test_chunks_write_what_one_chunk_writes(work, whole, caplog):
    with caplog.at_level(logging.INFO, logger="crossreg"):
        assert _sad(work, work / "chunked.h5", "--chunk-size", "3") == 0
    assert_same_h5(whole, work / "chunked.h5")
    assert "skipped 2 records on 2 chromosome(s)" in caplog.text
    progress = [r.getMessage() for r in caplog.records if r.getMessage().startswith("chunk ")]
    assert len(progress) == 3 and progress[-1].startswith("chunk 3: 10/10 alleles (100.0%)")
    assert "alleles/s, ETA" in progress[0]


def test_resume_after_a_failure_in_chunk_two(work, whole, monkeypatch):
    out = work / "resumed.h5"
    real = sad.score_stats
    calls = []

    def failing(*args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise RuntimeError("killed in chunk 2")
        return real(*args, **kwargs)

    monkeypatch.setattr(sad, "score_stats", failing)
    with pytest.raises(RuntimeError, match="killed in chunk 2"):
        _sad(work, out, "--chunk-size", "3")
    monkeypatch.setattr(sad, "score_stats", real)
    partial, progress = work / "resumed.h5.partial", work / "resumed.h5.partial.json"
    assert partial.exists() and progress.exists() and not out.exists()
    assert '"chunks_done": 1' in progress.read_text()
    with pytest.raises(FileExistsError, match="rerun with --resume"):
        _sad(work, out, "--chunk-size", "3")
    with pytest.raises(ValueError, match="other settings"):  # another chunk size
        _sad(work, out, "--chunk-size", "4", "--resume")
    assert _sad(work, out, "--chunk-size", "3", "--resume") == 0
    assert not partial.exists() and not progress.exists()
    assert_same_h5(whole, out)
    # --resume without a partial file runs from the start
    assert _sad(work, work / "fresh.h5", "--resume") == 0
    assert_same_h5(whole, work / "fresh.h5")


def test_three_shards_merged_equal_one_run(work, whole, capsys):
    shards = [work / f"shard{i}.h5" for i in range(3)]
    for i, path in enumerate(shards):
        assert _sad(work, path, "--shard", f"{i}/3", "--chunk-size", "2") == 0
    with h5py.File(shards[1], "r") as h5:
        assert h5.attrs["shard_index"] == 1 and h5.attrs["shard_count"] == 3
        assert len(h5["snp"]) > 0
    merged = work / "merged.h5"
    argv = ["sad-merge", "--out", str(merged), *map(str, shards)]
    assert _run(argv) == 0
    assert "3 shards, 10 alleles" in capsys.readouterr().out
    assert_same_h5(whole, merged)
    wrong = ["sad-merge", "--out", str(work / "bad.h5"), *map(str, [shards[1], shards[0]])]
    with pytest.raises(ValueError, match="run has 3 shards"):
        _run(wrong)
    with pytest.raises(ValueError, match="given in place 0"):
        _run([*wrong, str(shards[2])])
    with pytest.raises(ValueError, match="not a shard"):
        _run(["sad-merge", "--out", str(work / "bad.h5"), str(whole)])
    assert not (work / "bad.h5").exists()


def test_shard_and_option_checks():
    assert Shard.parse("2/5").bounds(10) == (4, 6)
    assert [Shard(i, 3).bounds(8) for i in range(3)] == [(0, 2), (2, 5), (5, 8)]
    for text in ("3/3", "a/b", "1", "-1/2", "0/0"):
        with pytest.raises(ValueError, match="--shard"):
            Shard.parse(text)


def test_tsv_streams_and_refuses_resume(work, whole):
    out = work / "chunked.tsv"
    argv = ["sad", "--model", str(work / "model"), "--genome", "human"]
    argv += ["--fasta", str(work / "genome.fa"), "--vcf", str(work / "snps.vcf")]
    assert _run([*argv, "--out", str(out), "--chunk-size", "3"]) == 0
    table = sad.read_sad(out)
    with h5py.File(whole, "r") as h5:
        np.testing.assert_allclose(table.values, h5["SAD"][:].astype(np.float32), rtol=1e-3)
        assert table.labels == h5["snp"][:].astype(str).tolist()
    with pytest.raises(ValueError, match=r"write an \.h5"):
        _run([*argv, "--out", str(work / "r.tsv"), "--resume"])
