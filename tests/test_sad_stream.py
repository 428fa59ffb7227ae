"""``crossreg sad`` streaming: chunks, --resume, --shard and ``crossreg sad-merge``."""

from __future__ import annotations

import json
import logging
import os
import shutil
import subprocess
import sys
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import h5py
import numpy as np
import pytest

from crossreg.cli import build_parser, main
from crossreg.errors import Interrupted
from crossreg.runlog import RUNS_FILE, read_runs
from crossreg.shard import Shard
from crossreg.variants import sad, sad_chunks
from crossreg.variants.chunk_store import ChunkStore
from crossreg.variants.sad_read import read_sad
from crossreg.variants.sad_settings import scored_on
from tests.pipeline import within_float16_rounding

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
    _import_model(root / "model")
    return root


def _import_model(out: Path) -> None:
    """The joint mini model imported from the Basenji fixtures into `out` (each import a
    checkpoint of its own save id)."""
    args = ["import-basenji", "--params", str(FIXTURES / "params_joint_mini.json")]
    for genome, weights in (("human", "model0_best.h5"), ("mouse", "model1_best.h5")):
        args += ["--weights", str(FIXTURES / weights), "--genome", genome]
        args += ["--targets", str(FIXTURES / f"targets_{genome}_mini.txt")]
    assert main([*args, "--out", str(out), "--gelu", "tanh"]) == 0


def _run(argv: list[str]) -> int:
    args = build_parser().parse_args(argv)
    return args.run(args)


def _sad(work: Path, out: Path, *extra: str) -> int:
    argv = ["sad", "--model", str(work / "model"), "--genome", "human"]
    argv += ["--fasta", str(work / "genome.fa"), "--vcf", str(work / "snps.vcf")]
    return _run([*argv, "--stats", STATS, "--out", str(out), *extra])


def same_bytes(a: Path, b: Path) -> bool:
    """The two files hold the same bytes."""
    return a.read_bytes() == b.read_bytes()


def same_up_to_rounding(a: Path, b: Path) -> None:
    """Two SAD tables hold the same rows and the same scores up to float32 rounding: a
    prediction's last bits depend on the other sequences in its batch, and chunks and
    shards batch alleles differently (the TSV's six digits can show it; HDF5's float16
    does not)."""
    one, other = read_sad(a), read_sad(b)
    assert one.labels == other.labels
    scale = float(np.abs(one.values).max())
    np.testing.assert_allclose(other.values, one.values, rtol=1e-5, atol=1e-6 * scale)


@pytest.fixture(scope="module")
def whole(work) -> Path:
    """One uninterrupted run with the default chunk size (all alleles in one chunk)."""
    out = work / "whole.h5"
    assert _sad(work, out) == 0
    return out


def test_chunks_write_the_bytes_one_chunk_writes(work, whole, caplog, monkeypatch):
    monkeypatch.setenv("CROSSREG_PROGRESS_INTERVAL", "0")
    with caplog.at_level(logging.INFO, logger="crossreg"):
        assert _sad(work, work / "chunked.h5", "--chunk-size", "3") == 0
    assert same_bytes(whole, work / "chunked.h5")
    assert "skipped 2 records on 2 chromosome(s)" in caplog.text
    lines = [r.getMessage() for r in caplog.records if r.getMessage().startswith("sad: ")]
    assert lines[0].startswith("sad: 3/10 alleles (30.0%)") and "ETA" in lines[0]
    assert lines[-1].startswith("sad: 10/10 alleles (100.0%)") and "done in" in lines[-1]
    assert not (work / "chunked.h5.partial").exists()
    with h5py.File(whole, "r") as h5:
        assert h5.attrs["stats"] == STATS


KILL = """
import os, sys
from crossreg.variants import sad_chunks
real = sad_chunks.score_stats
calls = []
def dying(*args, **kwargs):
    calls.append(1)
    for k, batch in enumerate(real(*args, **kwargs)):
        if len(calls) == 2 and k == 1:
            os._exit(137)  # killed in the middle of chunk 2: no cleanup runs
        yield batch
sad_chunks.score_stats = dying
from crossreg.cli import main
sys.exit(main(sys.argv[1:]))
"""


def test_a_killed_run_resumes_to_the_same_bytes(work, whole):
    out = work / "killed.h5"
    argv = ["sad", "--model", str(work / "model"), "--genome", "human", "--fasta"]
    argv += [str(work / "genome.fa"), "--vcf", str(work / "snps.vcf"), "--stats", STATS]
    argv += ["--out", str(out), "--chunk-size", "3", "--batch-size", "1"]
    done = subprocess.run([sys.executable, "-c", KILL, *argv], capture_output=True, text=True)
    assert done.returncode == 137, done.stderr
    partial = work / "killed.h5.partial"
    assert not out.exists() and (partial / "chunk-000000").is_dir()
    assert '"chunks_done": 1' in (partial / "progress.json").read_text()
    assert (partial / ".chunk-000001.tmp").exists()  # the chunk it died in, half written
    same = ["--chunk-size", "3", "--batch-size", "1"]
    with pytest.raises(FileExistsError, match="rerun with --resume"):
        _sad(work, out, *same)
    changed = r"other settings \(--chunk-size 3 then, 4 now; --batch-size 1 then, 2 now\)"
    with pytest.raises(ValueError, match=changed):  # named, not only said to differ
        _sad(work, out, "--chunk-size", "4", "--batch-size", "2", "--resume")
    assert _sad(work, out, *same, "--resume") == 0
    assert not partial.exists()
    # the bytes of an unbroken run of the same settings (its batch size recorded in them)
    assert _sad(work, work / "unbroken.h5", *same) == 0
    assert same_bytes(work / "unbroken.h5", out)
    # --resume without a partial run starts from the beginning
    assert _sad(work, work / "fresh.h5", "--resume") == 0
    assert same_bytes(whole, work / "fresh.h5")


def _ctrl_c_at_third_chunk(monkeypatch) -> Callable[..., object]:
    """Make the third chunk's scoring a Ctrl-C (two chunks finish first); returns the real
    scoring, to put back for the resume."""
    real = sad_chunks.score_stats
    calls = []

    def interrupted(*args, **kwargs):
        calls.append(1)
        if len(calls) == 3:
            raise KeyboardInterrupt
        return real(*args, **kwargs)

    monkeypatch.setattr(sad_chunks, "score_stats", interrupted)
    return real


def test_ctrl_c_keeps_the_finished_chunks(work, whole, monkeypatch, caplog):
    out = work / "stopped.h5"
    real = _ctrl_c_at_third_chunk(monkeypatch)
    argv = ["sad", "--model", str(work / "model"), "--genome", "human", "--fasta"]
    argv += [str(work / "genome.fa"), "--vcf", str(work / "snps.vcf"), "--stats", STATS]
    argv += ["--out", str(out), "--chunk-size", "3"]
    with caplog.at_level(logging.INFO, logger="crossreg"):
        assert main(argv) == 130
    assert "interrupted; 6 of 10 alleles kept" in caplog.text
    assert "rerun with --resume" in caplog.text
    monkeypatch.setattr(sad_chunks, "score_stats", real)
    assert main([*argv, "--resume"]) == 0
    assert same_bytes(whole, out)


def test_a_partial_linked_to_another_disk_keeps_the_chunks_there(
    work, whole, tmp_path, monkeypatch, logs
):
    """``OUT.partial`` linked to a folder on a bigger disk: the chunks go there (before:
    the run tried to delete the link, then failed making the folder), a stop keeps them
    there, and once the output is written the folder is emptied and the link kept for
    the next run; a requeued --resume has nothing to do."""
    out, scratch = tmp_path / "linked.h5", tmp_path / "scratch" / "run1"
    partial = tmp_path / "linked.h5.partial"
    partial.symlink_to(scratch)  # a folder not made yet
    real = _ctrl_c_at_third_chunk(monkeypatch)
    with pytest.raises(Interrupted, match=f"6 of 10 alleles kept in {partial}"):
        _sad(work, out, "--chunk-size", "3")
    assert partial.is_symlink() and (scratch / "progress.json").is_file()
    assert sorted(p.name for p in scratch.glob("chunk-*")) == ["chunk-000000", "chunk-000001"]
    monkeypatch.setattr(sad_chunks, "score_stats", real)
    assert _sad(work, out, "--chunk-size", "3", "--resume") == 0
    assert same_bytes(whole, out)
    assert partial.is_symlink() and list(scratch.iterdir()) == []
    with logs.at_level(logging.INFO, logger="crossreg"):
        assert _sad(work, out, "--chunk-size", "3", "--resume") == 0
    assert f"{out} is complete for these settings; nothing to do" in logs.text
    assert _sad(work, out, "--chunk-size", "4") == 0  # not a run left over: it starts there
    assert same_bytes(whole, out) and partial.is_symlink() and list(scratch.iterdir()) == []


def test_a_partial_linked_to_a_folder_of_other_files_is_refused(work, tmp_path):
    """A link to a folder holding other files (the scratch disk's root): refused before
    scoring, naming one, and nothing deleted (a run clears the folder it scores into)."""
    out, scratch = tmp_path / "linked.h5", tmp_path / "scratch"
    scratch.mkdir()
    (scratch / "notes.txt").write_text("mine")
    (tmp_path / "linked.h5.partial").symlink_to(scratch)
    said = f"links to {scratch}, which holds notes.txt: a run clears the folder"
    for resume in ([], ["--resume"]):
        with pytest.raises(ValueError, match=said):
            _sad(work, out, *resume)
        assert (scratch / "notes.txt").read_text() == "mine" and not out.exists()
    (scratch / "notes.txt").unlink()
    (tmp_path / "file").write_text("")
    (tmp_path / "linked.h5.partial").unlink()
    (tmp_path / "linked.h5.partial").symlink_to(tmp_path / "file")
    with pytest.raises(ValueError, match="which is not a folder"):
        _sad(work, out)


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
    assert same_bytes(whole, merged)
    wrong = ["sad-merge", "--out", str(work / "bad.h5"), *map(str, [shards[1], shards[0]])]
    with pytest.raises(ValueError) as caught:
        _run(wrong)
    assert str(caught.value) == (  # before: no file named, nor the shard left out
        f"the run has 3 shards; 2 were given: {shards[1]} (1/3), {shards[0]} (0/3); missing: 2/3"
    )
    with pytest.raises(ValueError, match="given in place 0"):
        _run([*wrong, str(shards[2])])
    with pytest.raises(ValueError, match="not a shard"):
        _run(["sad-merge", "--out", str(work / "bad.h5"), str(whole)])
    with pytest.raises(ValueError, match=r"into an \.h5"):
        _run(["sad-merge", "--out", str(work / "bad.tsv"), *map(str, shards)])
    assert not (work / "bad.h5").exists()
    partial = work / "shard1.h5.partial"
    partial.mkdir()  # shard 1/3 being scored again: before, its earlier file was merged
    with pytest.raises(ValueError) as caught:
        _run(["sad-merge", "--out", str(work / "bad.h5"), *map(str, shards)])
    assert str(caught.value) == (
        f"{shards[1]}: {partial} is beside it, so a run scoring this shard is under way or "
        "was stopped (the file, if there is one, is an earlier run's); let it finish or "
        "continue it with crossreg sad --resume and the same --shard, then merge"
    )
    partial.rmdir()
    assert not (work / "bad.h5").exists()


def test_sad_merge_draws_what_one_run_draws_and_drops_an_earlier_gene_table(work, whole):
    from crossreg.variants.genes import genes_path
    from crossreg.variants.sad_figures import figure_paths

    shards = [work / f"drawn{i}.h5" for i in range(2)]
    for i, path in enumerate(shards):
        assert _sad(work, path, "--shard", f"{i}/2", "--no-plots") == 0
    merged = work / "drawn.h5"
    paths = figure_paths(merged)
    genes_path(merged).write_text("gene_id\tsnp\n")  # an earlier --gtf merge's
    assert _run(["sad-merge", "--out", str(merged), "--svg", *map(str, shards)]) == 0
    assert not genes_path(merged).exists()
    assert same_bytes(paths["table"], figure_paths(whole)["table"])
    assert all(p.exists() for p in [*paths.values(), paths["top"].with_suffix(".svg")])
    assert _run(["sad-merge", "--out", str(merged), "--no-plots", *map(str, shards)]) == 0
    assert not any(p.exists() for p in [*paths.values(), paths["top"].with_suffix(".svg")])


def test_merge_sad_from_python_joins_and_draws_as_the_command(work, whole):
    # before: the documented function, sad_files.merge_shards, joined the shards but drew
    # none of the figures sad-merge draws, and took one of the shards as its output
    from crossreg.variants.sad_figures import figure_paths
    from crossreg.variants.sad_merge import merge_sad

    shards = [work / f"api{i}.h5" for i in range(2)]
    for i, path in enumerate(shards):
        assert _sad(work, path, "--shard", f"{i}/2", "--no-plots") == 0
    with pytest.raises(ValueError, match="is one of the shards; merge into another file"):
        merge_sad(shards[1], shards)
    merged, alleles = merge_sad(work / "api.h5", shards, svg=True)
    assert alleles == 10 and same_bytes(whole, merged)
    paths = figure_paths(merged)
    assert same_bytes(paths["table"], figure_paths(whole)["table"])
    assert all(p.exists() for p in [*paths.values(), paths["top"].with_suffix(".svg")])


def test_torchrun_ranks_shard_and_the_last_merges(work, whole, monkeypatch, capsys):
    out = work / "ranks.h5"
    monkeypatch.setenv("WORLD_SIZE", "2")
    for rank in (1, 0):  # rank 1 finishes first; rank 0 finds both shards and merges
        monkeypatch.setenv("RANK", str(rank))
        assert _sad(work, out) == 0
        assert out.exists() == (rank == 0)
    said = capsys.readouterr().out.splitlines()
    assert "ranks.shard-1-of-2.h5" in said[0]
    assert f"of 10 alleles × 5 tracks in {out} (" in said[1]  # the merged file, all alleles
    assert same_bytes(whole, out)
    assert not list(work.glob("ranks.shard-*")) and not (work / "ranks.h5.merge.lock").exists()


def test_under_torchrun_the_rank_that_merges_logs_the_run(work, whole, monkeypatch):
    out = work / "logged" / "ranks.h5"
    argv = ["-q", "sad", "--model", str(work / "model"), "--genome", "human"]
    argv += ["--fasta", str(work / "genome.fa"), "--vcf", str(work / "snps.vcf")]
    argv += ["--stats", STATS, "--out", str(out)]
    monkeypatch.setenv("WORLD_SIZE", "2")
    monkeypatch.setenv("RANK", "0")
    assert main(argv) == 0  # rank 0's shard alone: the job's file is not written yet
    assert not (out.parent / RUNS_FILE).exists()
    monkeypatch.setenv("RANK", "1")
    assert main(argv) == 0
    assert same_bytes(whole, out)
    assert len(read_runs(out.parent / RUNS_FILE)) == 1


def test_a_shard_left_by_another_run_is_replaced_not_merged(work, whole, monkeypatch):
    out = work / "stale" / "ranks.h5"
    out.parent.mkdir()
    monkeypatch.setenv("WORLD_SIZE", "2")
    monkeypatch.setenv("RANK", "1")
    assert _run(["sad", "--model", str(work / "model"), "--genome", "human", "--fasta",
                 str(work / "genome.fa"), "--vcf", str(work / "snps.vcf"), "--stats", "SAD",
                 "--out", str(out)]) == 0  # fmt: skip
    assert (work / "stale" / "ranks.shard-1-of-2.h5").exists()  # another run's shard
    monkeypatch.setenv("RANK", "0")
    assert _sad(work, out) == 0  # not merged with the stale shard, nor refused
    assert not out.exists()
    monkeypatch.setenv("RANK", "1")
    assert _sad(work, out) == 0  # rank 1 replaces its shard and merges
    assert same_bytes(whole, out)


def test_the_rank_that_merges_counts_every_skipped_allele(work, monkeypatch, capsys):
    vcf = work / "symbolic.vcf"
    lines = (work / "snps.vcf").read_text().splitlines()
    head, body = [x for x in lines if x.startswith("#")], [x for x in lines if x[0] != "#"]
    at = max(i for i, line in enumerate(body) if line.startswith("chr2\t"))  # rank 1's share
    record = body[at].split("\t")
    record[4] += ",<DEL>"
    body[at] = "\t".join(record)
    vcf.write_text("\n".join([*head, *body]) + "\n")
    out = work / "skips" / "ranks.h5"
    argv = ["sad", "--model", str(work / "model"), "--genome", "human"]
    argv += ["--fasta", str(work / "genome.fa"), "--vcf", str(vcf), "--out", str(out)]
    monkeypatch.setenv("WORLD_SIZE", "2")
    for rank in (1, 0):  # rank 0 merges
        monkeypatch.setenv("RANK", str(rank))
        assert _run(argv) == 0
    first, merged = capsys.readouterr().out.splitlines()[-2:]
    assert "1 alleles of this shard skipped (symbolic or missing ALT: 1))" in first
    assert merged.endswith(", 1 alleles skipped (symbolic or missing ALT: 1))")


def test_shard_is_refused_under_torchrun(work, monkeypatch):
    monkeypatch.setenv("WORLD_SIZE", "2")
    monkeypatch.setenv("RANK", "0")
    with pytest.raises(ValueError, match=r"--shard 0/2 under torchrun: each rank takes its own"):
        _sad(work, work / "both.h5", "--shard", "0/2")
    assert not list(work.glob("both*"))


@pytest.mark.slow
def test_real_torchrun_two_processes(work, whole):
    out = work / "torchrun.h5"
    argv = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2"]
    argv += ["--master_port", "29517", "-m", "crossreg", "sad", "--model", str(work / "model")]
    argv += ["--genome", "human", "--fasta", str(work / "genome.fa"), "--vcf"]
    argv += [str(work / "snps.vcf"), "--stats", STATS, "--out", str(out), "--device", "cpu"]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    assert same_bytes(whole, out)


def test_shard_and_option_checks():
    assert Shard.parse("2/5").bounds(10) == (4, 6)
    assert [Shard(i, 3).bounds(8) for i in range(3)] == [(0, 2), (2, 5), (5, 8)]
    for text in ("3/3", "a/b", "1", "-1/2", "0/0"):
        with pytest.raises(ValueError, match="--shard"):
            Shard.parse(text)


def test_tsv_streams_resumes_and_merges(work, whole):
    argv = ["sad", "--model", str(work / "model"), "--genome", "human"]
    argv += ["--fasta", str(work / "genome.fa"), "--vcf", str(work / "snps.vcf")]
    out = work / "one.tsv"
    assert _run([*argv, "--out", str(out)]) == 0
    table = read_sad(out)
    with h5py.File(whole, "r") as h5:
        np.testing.assert_allclose(table.values, h5["SAD"][:].astype(np.float32), rtol=1e-3)
        assert table.labels == h5["snp"][:].astype(str).tolist()
    assert _run([*argv, "--out", str(work / "chunked.tsv"), "--chunk-size", "3"]) == 0
    same_up_to_rounding(out, work / "chunked.tsv")
    shards = [work / f"part{i}.tsv" for i in range(2)]
    for i, path in enumerate(shards):
        assert _run([*argv, "--out", str(path), "--shard", f"{i}/2"]) == 0
    merged = work / "merged.tsv"
    assert _run(["sad-merge", "--out", str(merged), *map(str, shards)]) == 0
    same_up_to_rounding(out, merged)
    assert same_bytes(out.with_name("one.tsv.json"), merged.with_name("merged.tsv.json"))


def test_targets_keep_the_named_tracks(work, whole):
    out = work / "cage.h5"
    assert _sad(work, out, "--targets", "1,3-4") == 0
    with h5py.File(whole, "r") as full, h5py.File(out, "r") as cut:
        ids = full["target_ids"][:]
        np.testing.assert_array_equal(cut["target_ids"][:], ids[[1, 3, 4]])
        np.testing.assert_allclose(
            cut["SAD"][:].astype(np.float32),
            full["SAD"][:, [1, 3, 4]].astype(np.float32),
            rtol=2e-3,
            atol=1e-4,
        )
        assert cut["REF"].shape[2] == 3 and cut.attrs["tracks"] == "1,3-4"
    with pytest.raises(ValueError, match="selects no track"):
        _sad(work, work / "none.h5", "--targets", "no-such-assay")


def test_unscorable_alleles_are_skipped_and_counted(work, tmp_path, logs):
    lines = (work / "snps.vcf").read_text().splitlines()
    first = next(line for line in lines if not line.startswith("#")).split("\t")
    pos, ref = first[1], first[3]
    odd = [
        f"chr2\t{pos}\tsym\t{ref}\t<DEL>\t.\t.\tSVTYPE=DEL;END=900",
        f"chr2\t{pos}\tstar\t{ref}\t*\t.\t.\t.",
        f"chr2\t{pos}\tsv\t{ref}\t{ref}ACGT\t.\t.\tSVTYPE=INS",
        f"chr2\t{pos}\tlong\t{ref}\t{ref + 'A' * 4200}\t.\t.\t.",
        f"chr2\t{pos}\tbnd\t{ref}\t{ref}]chr2:600]\t.\t.\t.",  # breakends
        f"chr2\t{pos}\tbnd2\t{ref}\t.{ref},[chr2:90[{ref}\t.\t.\t.",
        "\t".join([*first[:2], "dup1", *first[3:]]),
        "\t".join([*first[:2], "dup2", *first[3:]]),
    ]
    vcf = tmp_path / "odd.vcf"
    vcf.write_text("\n".join([*[x for x in lines if x.startswith("#")], *odd]) + "\n")
    out = tmp_path / "odd.h5"
    argv = ["sad", "--model", str(work / "model"), "--genome", "human", "--fasta"]
    argv += [str(work / "genome.fa"), "--vcf", str(vcf), "--out", str(out)]
    assert _run(argv) == 0
    with h5py.File(out, "r") as h5:
        assert h5["snp"][:].astype(str).tolist() == ["dup1", "dup2"]
        np.testing.assert_array_equal(h5["SAD"][0], h5["SAD"][1])  # identical rows, no NaN
        assert np.isfinite(h5["SAD"][:]).all()
        skipped = h5.attrs["skipped_alleles"]
    assert skipped == ("longer than the window:1,structural variant:1,symbolic or missing ALT:5")
    warned = [r.getMessage() for r in logs.records if r.levelno == logging.WARNING]
    assert f"{vcf}: skipping 7 alleles that cannot be scored (" in "\n".join(warned)


@pytest.mark.parametrize("n", [1, 2, 7, 1000, 5000])
def test_float16_percentiles_equal_numpy(n, monkeypatch):
    from crossreg.variants import sad_percentiles
    from crossreg.variants.sad_percentiles import PERCENTILES

    monkeypatch.setattr(sad_percentiles, "HISTOGRAM_TRACKS", 3)  # several passes over tracks
    rng = np.random.default_rng(n)
    scale = rng.choice([1e-3, 1.0, 300.0], size=7)
    scores = (rng.standard_normal((n, 7)) * scale).astype(np.float16)
    scores[rng.random(scores.shape) < 0.2] = 0  # ties
    scores[:, 6] = np.float16(-2.5)  # a constant track
    want = np.percentile(scores, 100 * PERCENTILES, axis=0).T.astype(np.float16)
    # groups of 3 tracks: 72 rows of scores sorted at once, or counted 18 rows at a time
    got = sad_percentiles.float16_percentiles(scores, n, block_bytes=18 * 3 * 8)
    np.testing.assert_array_equal(got, want)
    keys = sad_percentiles.float16_order_keys(np.sort(scores[:, 0]))
    assert np.all(np.diff(keys.astype(np.int64)) >= 0)
    back = sad_percentiles.float16_from_order_keys(keys)
    np.testing.assert_array_equal(back, np.sort(scores[:, 0]))


def test_float16_percentiles_sorted_and_counted_agree(monkeypatch):
    # a group of tracks whose rows fit one block is sorted, without a histogram of 65,536
    # counts per track; a larger one is counted: both give the same bits
    from crossreg.variants import sad_percentiles

    rng = np.random.default_rng(3)
    scores = (rng.standard_normal((300, 5)) * 10.0).astype(np.float16)
    scores[rng.random(scores.shape) < 0.3] = 0
    scores[:7, 1] = -np.float16(0.0)  # -0 and +0 tie
    counted = sad_percentiles.float16_percentiles(scores, len(scores), block_bytes=64)

    def no_histogram(*args, **kwargs):
        raise AssertionError("rows that fit one block were counted")

    monkeypatch.setattr(sad_percentiles, "_counted_ranks", no_histogram)
    sorted_ = sad_percentiles.float16_percentiles(scores, len(scores), block_bytes=64 << 20)
    np.testing.assert_array_equal(sorted_.view(np.uint16), counted.view(np.uint16))


def test_a_long_allele_does_not_pad_the_file(work, tmp_path):
    from crossreg.genome import Genome

    genome = Genome(work / "genome.fa")
    ref = genome.fetch("chr2", 40_000, 43_380).decode().upper()
    lines = (work / "snps.vcf").read_text().splitlines()
    vcf = tmp_path / "long.vcf"
    deletion = f"chr2\t40001\tbig_del\t{ref}\t{ref[0]}\t.\t.\t."
    vcf.write_text("\n".join([*lines, deletion]) + "\n")
    out = tmp_path / "long.h5"
    argv = ["sad", "--model", str(work / "model"), "--genome", "human", "--fasta"]
    argv += [str(work / "genome.fa"), "--vcf", str(vcf), "--out", str(out)]
    assert _run(argv) == 0
    with h5py.File(out, "r") as h5:
        assert h5["ref_allele"].dtype.itemsize == 3380  # Basenji's fixed-width strings
        assert h5["ref_allele"][-1].decode() == ref and h5["snp"][-1] == b"big_del"
        assert h5["ref_allele"].compression == "gzip"
    assert out.stat().st_size < 100_000  # 11 rows padded to 3,380 bytes would be 37 kB each


def _vcf(work: Path, path: Path, records: list[str]) -> Path:
    """The header of the work VCF with `records`."""
    lines = (work / "snps.vcf").read_text().splitlines()
    path.write_text("\n".join([*[x for x in lines if x.startswith("#")], *records]) + "\n")
    return path


def _records(work: Path) -> list[str]:
    lines = (work / "snps.vcf").read_text().splitlines()
    return [x for x in lines if not x.startswith("#") and x.startswith("chr2")]


def test_shards_without_alleles_write_empty_h5_that_merge(work, tmp_path):
    vcf = _vcf(work, tmp_path / "two.vcf", _records(work)[:2])
    base = ["sad", "--model", str(work / "model"), "--genome", "human", "--fasta"]
    base += [str(work / "genome.fa"), "--vcf", str(vcf), "--stats", STATS]
    assert _run([*base, "--out", str(tmp_path / "whole.h5")]) == 0
    shards = [tmp_path / f"s{i}.h5" for i in range(3)]
    for i, path in enumerate(shards):  # 2 records in 3 shares: shard 0 has none
        assert _run([*base, "--out", str(path), "--shard", f"{i}/3"]) == 0
        assert not (tmp_path / f"s{i}.h5.partial").exists()
    with h5py.File(shards[0], "r") as h5:
        assert h5["SAD"].shape == (0, 5) and h5["D2"].shape == (0, 5)
        assert h5["REF"].shape[0] == 0 and h5["snp"].shape == (0,)
        assert h5.attrs["shard_index"] == 0
    assert _run(["sad-merge", "--out", str(tmp_path / "merged.h5"), *map(str, shards)]) == 0
    assert same_bytes(tmp_path / "whole.h5", tmp_path / "merged.h5")


@pytest.mark.parametrize("body", ["header only", "symbolic ALTs only"])
def test_a_vcf_without_scorable_alleles_writes_an_empty_h5(work, tmp_path, body):
    first = _records(work)[0].split("\t")
    records = [] if body == "header only" else ["\t".join([*first[:4], "<DEL>", *first[5:]])]
    vcf = _vcf(work, tmp_path / "none.vcf", records)
    out = tmp_path / "none.h5"
    argv = ["sad", "--model", str(work / "model"), "--genome", "human", "--fasta"]
    argv += [str(work / "genome.fa"), "--vcf", str(vcf), "--out", str(out)]
    assert _run(argv) == 0
    assert not (tmp_path / "none.h5.partial").exists()
    assert read_sad(out).values.shape == (0, 5)


def test_a_ref_mismatch_stops_before_scoring_and_leaves_no_partial(work, tmp_path, monkeypatch):
    records = _records(work)
    last = records[-1].split("\t")
    wrong = next(b for b in "ACGT" if b not in (last[3], *last[4].split(",")))
    bad = _vcf(
        work, tmp_path / "bad.vcf", [*records[:-1], "\t".join([*last[:3], wrong, *last[4:]])]
    )
    out = tmp_path / "out.h5"
    real, calls = sad_chunks.score_stats, []
    monkeypatch.setattr(sad_chunks, "score_stats", lambda *a, **k: calls.append(1) or real(*a, **k))
    argv = ["sad", "--model", str(work / "model"), "--genome", "human", "--fasta"]
    argv += [str(work / "genome.fa"), "--out", str(out), "--chunk-size", "2"]
    with pytest.raises(ValueError, match=rf"has REF {wrong} but the genome has"):
        _run([*argv, "--vcf", str(bad)])
    assert not calls  # found by the pass that reads the VCF first
    assert not (tmp_path / "out.h5.partial").exists() and not out.exists()
    good = _vcf(work, tmp_path / "good.vcf", records)
    assert _run([*argv, "--vcf", str(good)]) == 0  # the corrected rerun, without --resume


def test_an_input_error_while_scoring_removes_the_partial(work, tmp_path, monkeypatch):
    real, calls = sad_chunks.score_stats, []

    def failing(*args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise ValueError("a record the survey could not judge")
        return real(*args, **kwargs)

    monkeypatch.setattr(sad_chunks, "score_stats", failing)
    out = tmp_path / "late.h5"
    with pytest.raises(ValueError, match="could not judge"):
        _sad(work, out, "--chunk-size", "3")
    assert len(calls) == 2 and not (tmp_path / "late.h5.partial").exists()
    monkeypatch.setattr(sad_chunks, "score_stats", real)
    assert _sad(work, out, "--chunk-size", "3") == 0


def test_text_a_sad_file_cannot_store_stops_before_scoring(work, tmp_path, monkeypatch):
    records = _records(work)
    first = records[0].split("\t")
    named = _vcf(
        work, tmp_path / "named.vcf", [*records, "\t".join([*first[:2], "rs_café", *first[3:]])]
    )
    real, calls = sad_chunks.score_stats, []
    monkeypatch.setattr(sad_chunks, "score_stats", lambda *a, **k: calls.append(1) or real(*a, **k))
    argv = ["sad", "--model", str(work / "model"), "--genome", "human", "--fasta"]
    argv += [str(work / "genome.fa"), "--chunk-size", "2"]
    ascii_only = r"named\.vcf:\d+: the record at chr2:\d+ \(rs_café\) .*ASCII"
    with pytest.raises(ValueError, match=ascii_only):
        _run([*argv, "--vcf", str(named), "--out", str(tmp_path / "n.h5")])
    targets = tmp_path / "targets.txt"
    table = (FIXTURES / "targets_human_mini.txt").read_text().splitlines()
    cells = table[1].split("\t")
    cells[-1] = "DNASE:β cell"
    targets.write_text("\n".join([table[0], "\t".join(cells), *table[2:]]) + "\n")
    model = tmp_path / "model"
    args = ["import-basenji", "--params", str(FIXTURES / "params_joint_mini.json"), "--gelu"]
    args += ["tanh", "--weights", str(FIXTURES / "model0_best.h5"), "--genome", "human"]
    assert main([*args, "--targets", str(targets), "--out", str(model)]) == 0
    argv[2] = str(model)
    good = ["--vcf", str(work / "snps.vcf")]
    with pytest.raises(ValueError, match=r"DNASE:β cell.*outside ASCII.*--out \.tsv"):
        _run([*argv, *good, "--out", str(tmp_path / "b.h5")])
    assert not calls and not list(tmp_path.glob("*.partial"))
    assert _run([*argv, *good, "--out", str(tmp_path / "b.tsv")]) == 0  # JSON holds it


def test_percentiles_between_the_float16_extremes_are_finite():
    # scores clipped to both ends of float16: numpy's b - a overflows to inf
    from crossreg.variants.sad_percentiles import PERCENTILES, float16_percentiles

    top = float(np.finfo(np.float16).max)
    scores = np.repeat(np.array([[-top], [top]], dtype=np.float16), [600, 400], axis=0)
    got = float16_percentiles(scores, len(scores), block_bytes=1 << 20)[0].astype(np.float64)
    assert np.isfinite(got).all()
    want = np.percentile(scores.astype(np.float64), 100 * PERCENTILES, axis=0)[:, 0]
    np.testing.assert_allclose(got, want.astype(np.float16), rtol=1e-3)


SYMBOLIC, SV, LONG = "symbolic or missing ALT", "structural variant", "longer than the window"
# gVCF-like records: (ALT, INFO) with REF the genome's base, its scored alleles and its
# skipped ones per reason (a 1,024-bp model scores alleles up to 513 bp)
GVCF_KINDS = [
    ("<NON_REF>", ".", 0, {SYMBOLIC: 1}),
    ("{other},<NON_REF>", ".", 1, {SYMBOLIC: 1}),
    ("{ref}ACGT,<NON_REF>", "SVTYPE=INS", 0, {SYMBOLIC: 1, SV: 1}),
    ("{ref}" + "A" * 600 + ",*,<NON_REF>", ".", 0, {LONG: 1, SYMBOLIC: 2}),
]


def _gvcf(path: Path, kinds: list[int]) -> Path:
    """A VCF of one record per entry of `kinds` (an index into GVCF_KINDS) on chr2 of the
    fixture genome, with a record off the FASTA after every fifth."""
    from crossreg.genome import Genome

    genome = Genome(FIXTURES / "genome_chr2.fa")
    lines = ["##fileformat=VCFv4.2", "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO"]
    for i, kind in enumerate(kinds):
        pos = 20_000 + 10 * i
        ref = genome.fetch("chr2", pos - 1, pos).decode().upper()
        other = next(b for b in "ACGT" if b != ref)
        alts, info = GVCF_KINDS[kind][:2]
        lines.append(f"chr2\t{pos}\tv{i}\t{ref}\t{alts.format(ref=ref, other=other)}\t.\t.\t{info}")
        if i % 5 == 4:
            lines.append("chrM\t5\t.\tA\t<NON_REF>\t.\t.\t.")
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.mark.parametrize(("start", "stop"), [(0, 23), (0, 0), (3, 9), (5, 6), (21, 23)])
def test_a_shares_plan_counts_its_skipped_alleles_per_reason(tmp_path, start, stop):
    from crossreg.genome import Genome
    from crossreg.variants.sad_survey import survey_vcf

    kinds = [i % len(GVCF_KINDS) for i in range(23)]
    vcf = _gvcf(tmp_path / "g.vcf", kinds)
    survey = survey_vcf(vcf, Genome(FIXTURES / "genome_chr2.fa"), 1024, source=str(vcf))
    assert survey.kept == 23 and survey.off_fasta == {"chrM": 4}
    plan = survey.plan(start, stop)
    expected = Counter()
    for kind in kinds[start:stop]:
        expected.update(GVCF_KINDS[kind][3])
    assert plan.skipped == dict(sorted(expected.items()))
    assert plan.alleles == sum(GVCF_KINDS[kind][2] for kind in kinds[start:stop])


def test_the_survey_keeps_a_few_bytes_per_unscorable_allele(tmp_path):
    # a gVCF has <NON_REF> on every record: a Python object per skipped allele (about 95
    # bytes) made the memory before scoring grow with the VCF, whatever --chunk-size
    import gc
    import tracemalloc

    from crossreg.genome import Genome
    from crossreg.variants.sad_survey import survey_vcf

    n = 5_000
    vcf = _gvcf(tmp_path / "g.vcf", [0] * n)
    genome = Genome(FIXTURES / "genome_chr2.fa")
    gc.collect()
    tracemalloc.start()
    try:
        survey = survey_vcf(vcf, genome, 1024, source=str(vcf))
        gc.collect()
        retained, _ = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert survey.plan(0, survey.kept).skipped == {SYMBOLIC: n}
    assert retained / n <= 16


def test_a_chunk_of_records_keeps_no_genotypes(tmp_path):
    # a 1000 Genomes record carries 2,504 genotypes: kept as Python strings they held about
    # 170 kB a record, so a chunk of 50,000 alleles took gigabytes whatever the tracks
    import gc
    import tracemalloc

    from crossreg.genome import Genome
    from crossreg.variants.sad_survey import kept_records, record_chunks

    samples = 2_504
    header = "\t".join(["#CHROM", "POS", "ID", "REF", "ALT", "QUAL", "FILTER", "INFO", "FORMAT"])
    lines = ["##fileformat=VCFv4.2", header + "".join(f"\tS{i}" for i in range(samples))]
    genome = Genome(FIXTURES / "genome_chr2.fa")
    n = 300
    for i in range(n):
        ref = genome.fetch("chr2", 2_000 + 50 * i, 2_001 + 50 * i).decode().upper()
        alt = "A" if ref != "A" else "C"
        site = f"chr2\t{2_001 + 50 * i}\trs{i}\t{ref}\t{alt}\t100\tPASS\tAC=1;AN=5008\tGT"
        lines.append(site + "\t0|0" * (samples - 1) + "\t0|1")
    vcf = tmp_path / "panel.vcf"
    vcf.write_text("\n".join(lines) + "\n")
    gc.collect()
    tracemalloc.start()
    try:
        (chunk,) = list(record_chunks(kept_records(vcf, genome), n, 1024))
        gc.collect()
        retained, _ = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert [v.id for v in chunk] == [f"rs{i}" for i in range(n)]
    assert chunk[7].pos == 2_350 and chunk[7].alts == ("A" if chunk[7].ref != "A" else "C",)
    assert retained / n <= 2_000


def test_a_shard_of_another_run_is_refused_naming_what_differs(work, tmp_path):
    # the refusal said only "a shard of another run (other settings)": which model, file
    # or option differed was left to guess across a job array's scripts
    vcf = _vcf(work, tmp_path / "two.vcf", _records(work)[:2])
    other = tmp_path / "other_model"  # imported again: another checkpoint (a copy is not)
    _import_model(other)
    shards = [tmp_path / f"s{i}.h5" for i in range(3)]

    def shard(i: int, model: Path, *extra: str) -> None:
        argv = ["sad", "--model", str(model), "--genome", "human", "--fasta"]
        argv += [str(work / "genome.fa"), "--vcf", str(vcf), "--no-plots", *extra]
        assert _run([*argv, "--out", str(shards[i]), "--shard", f"{i}/3"]) == 0

    shard(0, other)  # 2 records in 3 shares: shard 0 has none, so costs nothing to score
    shard(1, work / "model")
    shard(2, work / "model", "--batch-size", "4", "--indel", "left")
    merge = ["sad-merge", "--no-plots", "--out", str(tmp_path / "m.h5"), *map(str, shards)]
    advice = "; score every shard with the same model, FASTA, VCF and options"
    with pytest.raises(ValueError) as caught:
        _run(merge)
    ids = [json.loads((m / "config.json").read_text())["save_id"] for m in (other, work / "model")]
    assert str(caught.value) == (
        f"{shards[1]}: a shard of another run than {shards[0]} (--model: another checkpoint "
        f"(save id {ids[0]} then, {ids[1]} now)){advice}"
    )
    shard(0, work / "model")
    with pytest.raises(ValueError) as caught:
        _run(merge)
    assert str(caught.value) == (  # the batch size, which changes only rounding, unnamed
        f"{shards[2]}: a shard of another run than {shards[0]} (--indel basenji then, left "
        f"now){advice}"
    )
    assert not (tmp_path / "m.h5").exists()
    with h5py.File(shards[1], "r") as h5:
        assert "shard_settings" in h5.attrs
    shard(2, work / "model", "--batch-size", "4")
    assert _run(merge) == 0
    with h5py.File(tmp_path / "m.h5", "r") as h5:  # a shard's keys are not the run's
        assert "shard_settings" not in h5.attrs and "run_settings" not in h5.attrs
        assert list(h5.attrs["batch_sizes"]) == [4, 8]


@pytest.mark.parametrize("spelling", ["--head", "--genome"])
def test_a_shard_of_another_head_is_refused_naming_both_spellings(work, tmp_path, spelling):
    # before: "--head human then, mouse now", though the shards may have been given --genome;
    # the shards record the head, not how it was typed, so the merge names both
    vcf = _vcf(work, tmp_path / "two.vcf", _records(work)[:2])
    shards = [tmp_path / f"s{i}.h5" for i in range(3)]
    for i, head in enumerate(("mouse", "human", "human")):  # shard 0 holds no record
        argv = ["sad", "--model", str(work / "model"), spelling, head, "--fasta"]
        argv += [str(work / "genome.fa"), "--vcf", str(vcf), "--no-plots"]
        assert _run([*argv, "--out", str(shards[i]), "--shard", f"{i}/3"]) == 0
    with pytest.raises(ValueError) as caught:
        _run(["sad-merge", "--no-plots", "--out", str(tmp_path / "m.h5"), *map(str, shards)])
    assert str(caught.value) == (
        f"{shards[1]}: a shard of another run than {shards[0]} (--head/--genome mouse then, "
        "human now); score every shard with the same model, FASTA, VCF and options"
    )


def _staged(work: Path, where: Path) -> dict[str, Path]:
    """Copies of the run's model, FASTA and VCF at other paths and with later modification
    times, as a job array stages its inputs on each node's local disk."""
    where.mkdir(parents=True)
    staged = {
        "model": Path(shutil.copytree(work / "model", where / "checkpoint")),
        "fasta": Path(shutil.copy(work / "genome.fa", where / "hg.fa")),
        "vcf": Path(shutil.copy(work / "snps.vcf", where / "calls.vcf")),
    }
    later = (work / "snps.vcf").stat().st_mtime_ns + 10**9
    for path in [*staged["model"].iterdir(), staged["fasta"], staged["vcf"]]:
        os.utime(path, ns=(later, later))
    return staged


def _sad_from(inputs: dict[str, Path], out: Path, *extra: str) -> int:
    argv = ["sad", "--model", str(inputs["model"]), "--genome", "human", "--no-plots"]
    argv += ["--fasta", str(inputs["fasta"]), "--vcf", str(inputs["vcf"])]
    return _run([*argv, "--stats", STATS, "--out", str(out), *extra])


def test_shards_scored_from_staged_copies_merge_to_one_runs_bytes(work, whole, tmp_path):
    # before: inputs were matched by resolved path and modification time, so sad-merge
    # refused these shards as "a shard of another run (--model A then, B now)"
    shards = [tmp_path / f"shard{i}.h5" for i in range(3)]
    assert _sad(work, shards[0], "--shard", "0/3", "--chunk-size", "2", "--no-plots") == 0
    for i in (1, 2):
        inputs = _staged(work, tmp_path / f"node{i}")
        assert _sad_from(inputs, shards[i], "--shard", f"{i}/3", "--chunk-size", "2") == 0
    merged = tmp_path / "merged.h5"
    assert _run(["sad-merge", "--no-plots", "--out", str(merged), *map(str, shards)]) == 0
    mine, theirs = _datasets(merged), _datasets(whole)
    assert mine.keys() == theirs.keys()
    assert all(np.array_equal(mine[k], theirs[k]) for k in mine)
    # before: the merged file named shard 0's model path as every shard's
    attrs, one_run = _attrs(merged), _attrs(whole)
    staged = [work, tmp_path / "node1", tmp_path / "node2"]
    names = {"model": ("model", "checkpoint"), "fasta": ("genome.fa", "hg.fa")}
    names["vcf"] = ("snps.vcf", "calls.vcf")
    for key, (first, copy) in names.items():
        paths = [str(where / (first if where == work else copy)) for where in staged]
        assert list(attrs.pop(key)) == paths
        assert one_run.pop(key) == paths[0]
    layout = json.loads(str(attrs.pop("shard_layout")))
    assert [entry.pop("records") for entry in layout] == _shares(shards)
    assert layout == [{"shard": f"{i}/3", "batch_size": 8, "device": "cpu"} for i in range(3)]
    assert attrs.keys() == one_run.keys()
    assert all(np.array_equal(attrs[k], one_run[k]) for k in attrs)


def _datasets(path: Path) -> dict[str, np.ndarray]:
    with h5py.File(path, "r") as h5:
        return {name: h5[name][()] for name in h5}


def _attrs(path: Path) -> dict[str, object]:
    with h5py.File(path, "r") as h5:
        return dict(h5.attrs.items())


def _shares(shards: list[Path]) -> list[list[int]]:
    """The VCF records [start, stop) of the run each shard holds."""
    return [[int(x) for x in _attrs(path)["shard_records"]] for path in shards]  # type: ignore[attr-defined]


@pytest.fixture(scope="module")
def batched_apart(work, tmp_path_factory) -> tuple[list[Path], Path]:
    """Three shards, 2/3 scored again with --batch-size 1 (the others with the default,
    8), and the file sad-merge makes of them."""
    folder = tmp_path_factory.mktemp("batched_apart")
    shards = [folder / f"s{i}.h5" for i in range(3)]
    for i, path in enumerate(shards):
        smaller = ["--batch-size", "1"] if i == 2 else []
        assert _sad(work, path, "--shard", f"{i}/3", "--no-plots", *smaller) == 0
    merged = folder / "merged.h5"
    assert _run(["sad-merge", "--no-plots", "--out", str(merged), *map(str, shards)]) == 0
    return shards, merged


def test_a_shard_scored_again_with_a_smaller_batch_size_merges_and_says_so(
    work, whole, batched_apart, tmp_path
):
    """Shard 2/3 scored again with --batch-size 1 (the usual fix after running out of GPU
    memory): before, sad-merge refused it as another run's ("--batch-size 8 then, 1 now"),
    though batching changes the scores only by rounding."""
    shards, merged = batched_apart
    ones = tmp_path / "ones.h5"
    assert _sad(work, ones, "--batch-size", "1", "--no-plots") == 0
    mine, eights, by_ones = _datasets(merged), _datasets(whole), _datasets(ones)
    split = len(mine["snp"]) - len(_datasets(shards[2])["snp"])  # shard 2's first row
    scores = [*STATS.split(","), "SAD_pct", "D2_pct"]
    for name in STATS.split(","):
        assert np.array_equal(mine[name][:split], eights[name][:split], equal_nan=True)
        assert np.array_equal(mine[name][split:], by_ones[name][split:], equal_nan=True)
    for name in scores:
        assert within_float16_rounding(mine[name], eights[name])
    assert all(np.array_equal(mine[k], eights[k]) for k in eights if k not in scores)
    attrs, one_run = _attrs(merged), _attrs(whole)
    assert list(attrs.pop("batch_sizes")) == [1, 8]
    layout = json.loads(str(attrs.pop("shard_layout")))
    assert [entry.pop("records") for entry in layout] == _shares(shards)
    assert layout == [
        {"shard": f"{i}/3", "batch_size": size, "device": "cpu"} for i, size in enumerate([8, 8, 1])
    ]
    assert json.loads(str(attrs.pop("settings")))["options"]["batch_size"] == [1, 8]
    one_run.pop("settings")  # the rest of it: test_a_merged_files_settings_claim_...
    assert one_run["device"] == "cpu" and attrs.keys() == one_run.keys()
    assert all(np.array_equal(attrs[k], one_run[k]) for k in attrs)


def test_shards_given_another_device_merge_to_one_runs_bytes(work, whole, tmp_path):
    """--device cpu on one node, auto or cuda on others: before, sad-merge refused them
    as another run's ("--device cpu then, auto now"), though the device changes scores
    only by rounding and each shard records where it ran (here all on the CPU)."""
    shards = [tmp_path / f"s{i}.h5" for i in range(3)]
    for i, path in enumerate(shards):
        device = ["--device", "cpu"] if i == 1 else []  # the others: the default, auto
        assert _sad(work, path, "--shard", f"{i}/3", "--no-plots", *device) == 0
    merged = tmp_path / "merged.h5"
    assert _run(["sad-merge", "--no-plots", "--out", str(merged), *map(str, shards)]) == 0
    assert merged.read_bytes() == whole.read_bytes()
    with h5py.File(shards[1], "a") as h5:  # a shard of a crossreg that recorded no device
        del h5.attrs["device"]
    with pytest.raises(ValueError, match=r"\(--device auto then, cpu now\); score"):
        _run(["sad-merge", "--no-plots", "--out", str(tmp_path / "m.h5"), *map(str, shards)])


def test_a_shard_of_an_edited_input_of_the_same_size_is_refused(work, tmp_path):
    vcf = _vcf(work, tmp_path / "two.vcf", _records(work)[:2])
    edited = tmp_path / "node2" / "two.vcf"  # one ID's letter changed: the same size
    edited.parent.mkdir()
    edited.write_text(vcf.read_text().replace("rs_plain1", "rs_plainX"))
    assert edited.stat().st_size == vcf.stat().st_size
    inputs = {"model": work / "model", "fasta": work / "genome.fa", "vcf": vcf}
    shards = [tmp_path / f"s{i}.h5" for i in range(3)]
    for i, given in enumerate([vcf, vcf, edited]):
        assert _sad_from({**inputs, "vcf": given}, shards[i], "--shard", f"{i}/3") == 0
    merge = ["sad-merge", "--no-plots", "--out", str(tmp_path / "m.h5"), *map(str, shards)]
    with pytest.raises(ValueError) as caught:
        _run(merge)
    assert str(caught.value).startswith(
        f"{shards[2]}: a shard of another run than {shards[0]} (--vcf: the same size, other "
        "content (SHA-256 "
    )
    assert not (tmp_path / "m.h5").exists()


def test_a_resume_from_staged_copies_continues_and_an_edited_input_is_refused(
    work, whole, tmp_path, monkeypatch
):
    out = tmp_path / "stopped.h5"
    real = _ctrl_c_at_third_chunk(monkeypatch)
    argv = ["sad", "--model", str(work / "model"), "--genome", "human", "--fasta"]
    argv += [str(work / "genome.fa"), "--vcf", str(work / "snps.vcf"), "--stats", STATS]
    assert main([*argv, "--out", str(out), "--chunk-size", "3", "--no-plots"]) == 130
    inputs = _staged(work, tmp_path / "node")
    fasta = inputs["fasta"]
    fasta.write_bytes(fasta.read_bytes().replace(b"ACGT", b"ACGA", 1))  # the same size
    with pytest.raises(ValueError, match=r"--fasta: the same size, other content \(SHA-256 "):
        _sad_from(inputs, out, "--chunk-size", "3", "--resume")
    shutil.copy(work / "genome.fa", fasta)
    resumed: list[int] = []
    monkeypatch.setattr(
        sad_chunks, "score_stats", lambda *a, **k: resumed.append(1) or real(*a, **k)
    )
    assert _sad_from(inputs, out, "--chunk-size", "3", "--resume") == 0
    assert len(resumed) == 1  # the one chunk left: the 4 alleles after the 6 kept
    clean = tmp_path / "clean.h5"  # uninterrupted, from the copies (its model attribute
    assert _sad_from(inputs, clean) == 0  # names the path it was given)
    assert same_bytes(clean, out)


def test_a_partial_run_of_inputs_matched_by_path_is_refused_saying_what_to_do(work, tmp_path):
    out = tmp_path / "old.h5"
    assert _sad(work, out, "--chunk-size", "3", "--no-plots") == 0
    partial = tmp_path / "old.h5.partial"  # as an earlier crossreg left one
    partial.mkdir()
    old = {"model": str(work / "model"), "vcf": {"path": str(work / "snps.vcf"), "size": 1}}
    (partial / "settings.json").write_text(json.dumps(old))
    progress = {"settings": "0123456789abcdef", "records_done": 0, "alleles_done": 0}
    (partial / "progress.json").write_text(json.dumps({**progress, "chunks_done": 0}))
    with pytest.raises(ValueError) as caught:
        _sad(work, out, "--chunk-size", "3", "--resume")
    assert str(caught.value) == (
        f"{partial} was written by an earlier crossreg, which matched inputs by path and "
        "modification time, so its finished work cannot be checked against the inputs' "
        "content; delete it and start again without --resume"
    )


@pytest.mark.parametrize("skip", [0, 1, 7, 19, 20, 25])
def test_records_before_a_share_are_passed_over_unread(tmp_path, monkeypatch, skip):
    # a shard (or a resumed run) parsed every record before its own into a Variant and
    # dropped it: shard n-1 of an 80-M-record VCF parsed the whole file a second time
    from crossreg.genome import Genome
    from crossreg.io import vcf as vcf_module
    from crossreg.variants.sad_survey import kept_records

    genome = Genome(FIXTURES / "genome_chr2.fa")
    lines = ["##fileformat=VCFv4.2", "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO"]
    for i in range(20):
        ref = genome.fetch("chr2", 1_000 + 100 * i, 1_001 + 100 * i).decode().upper()
        lines.append(f"chr2\t{1_001 + 100 * i}\tr{i}\t{ref}\t{'A' if ref != 'A' else 'C'}\t.\t.\t.")
        if i % 6 == 2:  # off the FASTA: neither kept nor counted
            lines.append(f"chrUn\t{i + 1}\tu{i}\tA\tC\t.\t.\t.")
    vcf = tmp_path / "v.vcf"
    vcf.write_text("\n".join(lines) + "\n")
    built = []
    native = vcf_module._native

    class Counted:
        """The native reader, noting the ID of each record it returns."""

        def __init__(self, *args: Any, **kwargs: Any) -> None:
            self.sites = native.VcfSites(*args, **kwargs)

        def read(self, size: int) -> list[Any]:
            batch = self.sites.read(size)
            built.extend(site[3] for site in batch)
            return batch

        def __getattr__(self, name: str) -> Any:
            return getattr(self.sites, name)

    monkeypatch.setattr(vcf_module, "_native", SimpleNamespace(VcfSites=Counted))
    got = [v.id for v in kept_records(vcf, genome, skip=skip)]
    assert got == [f"r{i}" for i in range(skip, 20)]
    assert [name for name in built if name.startswith("r")] == got


def test_sad_takes_the_fastas_identity_from_the_read_that_loads_it(work, tmp_path, monkeypatch):
    # a second read of the whole FASTA (seconds for hg38, a staged copy on network disk)
    # only to hash it: the genome sad loads hashes its bytes as they are read
    from crossreg import genome

    hashed: list[str] = []
    content_identity = genome.identity.content_identity

    def recorded(path: str | os.PathLike[str]) -> dict[str, object]:
        hashed.append(os.fspath(path))
        return content_identity(path)

    monkeypatch.setattr(genome.identity, "content_identity", recorded)
    assert _sad(work, tmp_path / "one.h5", "--no-plots") == 0
    assert str(work / "genome.fa") not in hashed


def _outputs(out: Path) -> dict[str, tuple[int, bytes]]:
    """Each file the SAD output `out` made beside it: its modification time and bytes."""
    return {
        p.name: (p.stat().st_mtime_ns, p.read_bytes())
        for p in out.parent.glob(out.stem + "*")
        if p.is_file()
    }


@pytest.mark.parametrize("suffix", [".h5", ".tsv"])
def test_a_resume_of_a_finished_run_does_nothing(work, tmp_path, monkeypatch, logs, suffix):
    """A job requeued after it finished: the output and figures are left as they are and
    no allele is scored; a lost figure is drawn from the output."""
    out = tmp_path / f"done{suffix}"
    stats = "SAD,D2" if suffix == ".tsv" else STATS
    argv = ["--stats", stats, "--shard", "1/2"]
    assert _sad(work, out, *argv) == 0
    written = _outputs(out)
    assert out.with_name("done.top_variants.png").name in written
    scored: list[int] = []
    monkeypatch.setattr(sad_chunks, "score_stats", lambda *a, **k: scored.append(1) or iter(()))
    with logs.at_level(logging.INFO, logger="crossreg"):
        assert _sad(work, out, *argv, "--chunk-size", "3", "--resume") == 0
    assert f"{out} is complete for these settings; nothing to do" in logs.text
    assert not scored and _outputs(out) == written
    out.with_name("done.top_variants.png").unlink()
    logs.clear()
    with logs.at_level(logging.INFO, logger="crossreg"):
        assert _sad(work, out, *argv, "--resume") == 0
    # before: "nothing to do", then the figure was drawn
    said = f"{out} is complete for these settings but lacks done.top_variants.png; drawing them"
    assert said in logs.text and "nothing to do" not in logs.text
    assert not scored and _contents(out) == _contents(written)
    figure = out.with_name("done.score_distribution.png")
    figure.write_bytes(figure.read_bytes()[:-20])  # cut short: drawn again as a lost one
    logs.clear()
    with logs.at_level(logging.INFO, logger="crossreg"):
        assert _sad(work, out, *argv, "--resume") == 0
    assert f"{out} is complete for these settings but lacks {figure.name}; drawing" in logs.text
    assert not scored and _contents(out) == _contents(written)


def _contents(outputs: Path | dict[str, tuple[int, bytes]]) -> dict[str, bytes]:
    """The bytes of each file of :func:`_outputs` (of the output `outputs`)."""
    files = _outputs(outputs) if isinstance(outputs, Path) else outputs
    return {name: data for name, (_, data) in files.items()}


def test_a_resume_of_a_finished_run_without_figures_to_draw_names_none(work, tmp_path, logs):
    """Only the bin profiles (--stats REF), which have no figures: nothing to do, nothing
    named as lacking."""
    out = tmp_path / "profiles.h5"
    assert _sad(work, out, "--stats", "REF") == 0
    written = _outputs(out)
    with logs.at_level(logging.INFO, logger="crossreg"):
        assert _sad(work, out, "--stats", "REF", "--resume") == 0
    assert f"{out} is complete for these settings; nothing to do" in logs.text
    assert "but lacks" not in logs.text and _outputs(out) == written


# before: "--rc False then, True now"; the head is named as the spelling given now
@pytest.mark.parametrize(
    ("changed", "said"),
    [
        (["--shard", "0/2"], "--shard 1/2 then, 0/2 now"),
        (["--shard", "1/2", "--rc"], "--rc off then, on now"),
        (["--shard", "1/2", "--genome", "mouse"], "--genome human then, mouse now"),
        (["--shard", "1/2", "--head", "mouse"], "--head human then, mouse now"),
    ],
)
def test_a_resume_of_a_run_finished_with_other_settings_is_refused(work, tmp_path, changed, said):
    out = tmp_path / "done.h5"
    argv = ["sad", "--model", str(work / "model"), "--genome", "human"]
    argv += ["--fasta", str(work / "genome.fa"), "--vcf", str(work / "snps.vcf")]
    argv += ["--out", str(out)]
    assert _run([*argv, "--shard", "1/2"]) == 0
    written = _outputs(out)
    argv += [*changed, "--resume"]
    with pytest.raises(ValueError, match="is complete from a run with other settings") as err:
        _run(argv)
    assert said in str(err.value)
    assert _outputs(out) == written


@pytest.mark.parametrize("spelling", ["--head", "--genome"])
def test_a_resume_of_chunks_of_another_head_names_the_option_as_typed(
    work, tmp_path, monkeypatch, spelling
):
    out = tmp_path / "cut.h5"
    real = _ctrl_c_at_third_chunk(monkeypatch)
    with pytest.raises(Interrupted):
        _sad(work, out, "--chunk-size", "3")
    monkeypatch.setattr(sad_chunks, "score_stats", real)
    with pytest.raises(ValueError, match="left by a run with other settings") as err:
        _sad(work, out, "--chunk-size", "3", spelling, "mouse", "--resume")
    assert f"{spelling} human then, mouse now" in str(err.value)


def test_a_resume_of_an_output_recording_no_settings_scores_it_again(work, whole, tmp_path, logs):
    """An output of an earlier crossreg, which recorded no settings: scored again."""
    out = tmp_path / "old.h5"
    shutil.copy(whole, out)
    with h5py.File(out, "a") as h5:
        del h5.attrs["settings"]
    with logs.at_level(logging.INFO, logger="crossreg"):
        assert _sad(work, out, "--resume") == 0
    assert "records no settings (an earlier crossreg wrote it); computing it again" in logs.text
    assert same_bytes(whole, out)


def test_a_resume_of_an_output_whose_metadata_is_cut_short_scores_it_again(work, tmp_path, logs):
    """A .tsv output's metadata cut short (a copy that stopped): said to be unreadable (not
    an earlier crossreg's, nor a traceback) and scored again, to the bytes of a clean run."""
    out, clean = tmp_path / "cut.tsv", tmp_path / "clean.tsv"
    argv = ["--stats", "SAD", "--no-plots"]
    assert _sad(work, clean, *argv) == 0 and _sad(work, out, *argv) == 0
    meta = out.with_name(out.name + ".json")
    meta.write_bytes(meta.read_bytes()[:40])
    with logs.at_level(logging.INFO, logger="crossreg"):
        assert _sad(work, out, *argv, "--resume") == 0
    assert f"{out}: its record of the settings, {meta}, cannot be read (" in logs.text
    assert "earlier crossreg" not in logs.text
    assert same_bytes(clean, out)


def test_a_resume_under_torchrun_of_a_merged_run_scores_nothing(work, whole, monkeypatch, logs):
    """A torchrun job requeued after its ranks finished and one merged: before, each rank
    found its shard file gone (deleted by the merge) and scored its share again."""
    out = work / "requeued" / "ranks.h5"
    out.parent.mkdir()
    monkeypatch.setenv("WORLD_SIZE", "2")
    for rank in (1, 0):
        monkeypatch.setenv("RANK", str(rank))
        assert _sad(work, out) == 0
    written = _outputs(out)
    assert out.with_name("ranks.top_variants.png").name in written
    real, scored = sad_chunks.score_stats, []
    monkeypatch.setattr(
        sad_chunks, "score_stats", lambda *a, **k: scored.append(1) or real(*a, **k)
    )
    for rank in (0, 1):
        monkeypatch.setenv("RANK", str(rank))
        with logs.at_level(logging.INFO, logger="crossreg"):
            assert _sad(work, out, "--resume") == 0
    assert not scored
    assert logs.text.count(f"{out} is complete for these settings; nothing to do") == 2
    assert _outputs(out) == written and not list(out.parent.glob("ranks.shard-*"))
    out.with_name("ranks.top_variants.png").unlink()  # a stop while drawing: rank 0 draws it
    logs.clear()
    for rank in (1, 0):
        monkeypatch.setenv("RANK", str(rank))
        with logs.at_level(logging.INFO, logger="crossreg"):
            assert _sad(work, out, "--resume") == 0
        assert out.with_name("ranks.top_variants.png").exists() == (rank == 0)
    assert not scored
    said = "is complete for these settings but lacks ranks.top_variants.png; drawing them"
    assert logs.text.count(f"{out} {said}") == 1 and logs.text.count("nothing to do") == 1


def test_a_resume_under_torchrun_scores_only_the_shards_not_written(work, whole, monkeypatch):
    """Rank 1 finished its shard and rank 0 was stopped: the requeued rank 1 keeps its
    shard (before: scored again), rank 0 scores its own and merges."""
    out = work / "half" / "ranks.h5"
    out.parent.mkdir()
    monkeypatch.setenv("WORLD_SIZE", "2")
    monkeypatch.setenv("RANK", "1")
    assert _sad(work, out) == 0
    with h5py.File(out.with_name("ranks.shard-1-of-2.h5"), "r") as h5:
        theirs = len(h5["snp"])
    real, scored = sad_chunks.score_stats, []

    def counted(model, alleles, *args, **kwargs):
        scored.append(len(alleles))
        return real(model, alleles, *args, **kwargs)

    monkeypatch.setattr(sad_chunks, "score_stats", counted)
    assert _sad(work, out, "--resume") == 0  # rank 1 again
    assert not scored and not out.exists()
    monkeypatch.setenv("RANK", "0")
    assert _sad(work, out, "--resume") == 0
    assert 0 < theirs < 10 and sum(scored) == 10 - theirs  # rank 0's share alone
    assert same_bytes(whole, out) and not list(out.parent.glob("ranks.shard-*"))


def test_a_requeued_rank_whose_shard_is_merged_as_it_looks_scores_nothing(work, whole, monkeypatch):
    """Both shards written, the merge not yet done, the job requeued: rank 1 found its
    shard kept, rank 0 then merged and deleted it, and rank 1, looking a second time,
    found it gone and scored its share again, into a shard file no merge would take."""
    out = work / "racing" / "ranks.h5"
    out.parent.mkdir()
    monkeypatch.setenv("WORLD_SIZE", "2")
    merge = sad.merge_when_complete
    monkeypatch.setattr(sad, "merge_when_complete", lambda *a: None)  # stopped before merging
    for rank in (1, 0):
        monkeypatch.setenv("RANK", str(rank))
        assert _sad(work, out, "--no-plots") == 0
    monkeypatch.setattr(sad, "merge_when_complete", merge)
    kept, scored = sad.shard_kept, []

    def merged_meanwhile(shard: Path, settings: object) -> bool:
        found = kept(shard, settings)
        if found and not out.exists():  # rank 0 merges just after rank 1 looked
            assert merge(out, 2, settings) is not None
        return found

    monkeypatch.setattr(sad, "shard_kept", merged_meanwhile)
    real = sad_chunks.score_stats
    monkeypatch.setattr(
        sad_chunks, "score_stats", lambda *a, **k: scored.append(1) or real(*a, **k)
    )
    monkeypatch.setenv("RANK", "1")
    assert _sad(work, out, "--no-plots", "--resume") == 0
    assert not scored and same_bytes(whole, out)
    assert not list(out.parent.glob("ranks.shard-*"))


def _settings(path: Path) -> dict[str, Any]:
    return json.loads(str(_attrs(path)["settings"]))


def test_a_merged_files_settings_claim_the_batch_sizes_its_shards_differ_in(
    work, whole, batched_apart
):
    """Shard 2/3 scored again with --batch-size 1: before, the merged file's settings
    said the first shard's batch size, 8, so that a --resume with 8 found it "complete
    for these settings", though a third of it was batched by 1."""
    _, merged = batched_apart
    claimed, one_run = _settings(merged), _settings(whole)
    assert claimed["options"].pop("batch_size") == [1, 8]
    one_run["options"].pop("batch_size")
    assert claimed == one_run  # the shard None, as a run of no shard records it
    with pytest.raises(ValueError) as refused:
        _sad(work, merged, "--no-plots", "--resume")
    assert "(--batch-size 1,8 then, 8 now)" in str(refused.value)


def test_a_run_resumed_on_another_device_records_both(work, whole, tmp_path, monkeypatch):
    """Stopped on a GPU node, resumed on a CPU node: before, the file recorded only the
    CPU (``device``) and the kind ``cpu`` (``settings``), as if all were scored there."""
    out = tmp_path / "moved.h5"
    gpu = "cuda: NVIDIA H100 80GB HBM3"
    _ctrl_c_at_third_chunk(monkeypatch)
    monkeypatch.setattr(sad, "device_label", lambda device: gpu)
    argv = ["--shard", "0/2", "--chunk-size", "1", "--no-plots"]
    with pytest.raises(Interrupted, match="2 of 4 alleles kept"):
        _sad(work, out, *argv)
    monkeypatch.undo()  # the real scoring and device
    assert _sad(work, out, *argv, "--resume") == 0
    attrs = _attrs(out)
    assert list(attrs["device"]) == [gpu, "cpu"]
    assert _settings(out)["options"]["device"] == ["cpu", "cuda"]
    other = tmp_path / "other.h5"
    assert _sad(work, other, "--shard", "1/2", "--no-plots") == 0
    merged = tmp_path / "merged.h5"
    assert _run(["sad-merge", "--no-plots", "--out", str(merged), str(out), str(other)]) == 0
    attrs = _attrs(merged)
    assert list(attrs["device"]) == [gpu, "cpu", "cpu"]  # each shard's devices in turn
    layout = json.loads(str(attrs["shard_layout"]))
    assert [entry["device"] for entry in layout] == [[gpu, "cpu"], "cpu"]
    assert _settings(merged)["options"]["device"] == ["cpu", "cuda"]
    mine, theirs = _datasets(merged), _datasets(whole)
    assert all(np.array_equal(mine[k], theirs[k]) for k in theirs)  # all on the CPU here


def test_the_store_counts_each_device_that_finished_a_chunk(tmp_path):
    """A run stopped on one device and resumed on another: both scored its chunks."""
    batch = {"SAD": np.ones((2, 3), np.float32)}
    state = None
    for device in ("cuda: X", "cuda: X", "cpu"):
        store = ChunkStore(tmp_path / "s.h5", device=device)
        state = store.open({"stats": ["SAD"]}, resume=state is not None, total=6)
        with store.chunk(state, 2, "f2") as writer:
            writer.add(batch, ["SAD"])
        state = store.commit(state, 2, 2, 0)
    assert state is not None and state.devices == ("cuda: X", "cpu") == store.saved().devices
    run = {"options": {"device": "cpu", "batch_size": 8}, "shard": "None"}
    recorded = scored_on(run, state.devices, "cpu")
    assert recorded["device"] == ["cuda: X", "cpu"]
    assert json.loads(str(recorded["settings"]))["options"] == {
        "device": ["cpu", "cuda"],
        "batch_size": 8,
    }
    assert scored_on(run, (), "cpu") == {
        "device": "cpu",
        "settings": json.dumps(run, sort_keys=True),
    }


def test_a_rank_writing_its_shard_again_is_waited_for(work, whole, monkeypatch):
    """Rank 1 stopped after writing its shard file, before removing its chunks: the file
    is written again by its resume, so rank 0 does not merge it (nor fail on it)."""
    out = work / "rewrite" / "ranks.h5"
    out.parent.mkdir()
    monkeypatch.setenv("WORLD_SIZE", "2")
    monkeypatch.setenv("RANK", "1")
    assert _sad(work, out) == 0
    (out.parent / "ranks.shard-1-of-2.h5.partial").mkdir()  # its chunks, not yet removed
    monkeypatch.setenv("RANK", "0")
    assert _sad(work, out) == 0
    assert not out.exists()
    monkeypatch.setenv("RANK", "1")
    assert _sad(work, out, "--resume") == 0
    assert same_bytes(whole, out) and not list(out.parent.glob("ranks.shard-*"))


def test_shards_of_two_runs_or_other_tracks_are_refused_naming_the_files_and_fix(work, tmp_path):
    """Before: "{path}: not a shard of the same 2-shard run" and "{path}: other tracks than
    {first}", naming neither the other file nor what to do."""
    halves = [tmp_path / f"h{i}.h5" for i in range(2)]
    thirds = tmp_path / "t2.h5"
    for i, path in enumerate(halves):
        assert _sad(work, path, "--shard", f"{i}/2", "--no-plots") == 0
    assert _sad(work, thirds, "--shard", "2/3", "--no-plots") == 0
    merge = ["sad-merge", "--no-plots", "--out", str(tmp_path / "m.h5")]
    with pytest.raises(ValueError) as caught:
        _run([*merge, str(halves[0]), str(thirds)])
    assert str(caught.value) == (
        f"{thirds}: not a shard of the same 2-shard run as {halves[0]} (it is shard 2/3); "
        "give the 2 shards of one run"
    )
    with h5py.File(halves[1], "a") as h5:  # a shard whose tracks were edited since
        h5["target_ids"][0] = b"other"
    with pytest.raises(ValueError) as caught:
        _run([*merge, *map(str, halves)])
    assert str(caught.value) == (
        f"{halves[1]}: other tracks than {halves[0]}; rerun crossreg sad for this shard "
        "with the others' --targets"
    )
    assert not (tmp_path / "m.h5").exists()
