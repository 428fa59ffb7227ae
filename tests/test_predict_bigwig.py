"""``crossreg predict --bigwig``: tiled genome-wide predictions read back with pyBigWig."""

from __future__ import annotations

import json
import logging
import math
import os
import re
import shlex
import shutil
from pathlib import Path

import numpy as np
import pyBigWig
import pytest
import torch

from crossreg.cli import build_parser, main
from crossreg.errors import Interrupted
from crossreg.io.bigwig_write import BigWigFile
from crossreg.io.identity import IDENTITY_RULE, settings_hash
from crossreg.io.targets import Target
from crossreg.model.checkpoint import load_checkpoint, make_config, save_checkpoint
from crossreg.model.params import parse_params
from crossreg.model.seqnn import SeqNN
from crossreg.model.tiling import Geometry, Tile, bin_intervals, plan_tiles, tile_interval
from crossreg.predict import bigwig, bigwig_settings, bigwig_shards
from crossreg.predict.bigwig import write_bigwigs
from crossreg.runlog import RUNS_FILE, read_runs
from crossreg.variants.chunk_store import ChunkStore
from tests.pipeline import small_params

SIZES = {"chr1": 40_000, "chr2": 17_000, "chrS": 5_000}  # chrS: shorter than a window
TRACKS = {"human": 3, "mouse": 2}
# the index column of each head's targets table starts here (the paper's mouse table
# continues the human one's: 5313, 5314, ...)
TABLE_INDEX = {"human": 0, "mouse": 3}


@pytest.fixture(scope="module")
def work(tmp_path_factory) -> Path:
    """A random two-head model of 8,192-bp windows (128-bp bins, 48 kept) and a FASTA."""
    return write_world(tmp_path_factory.mktemp("bigwig"))


def write_world(root: Path) -> Path:
    """Into `root`: a random two-head model (``model/``) and a FASTA (``genome.fa``)."""
    params = small_params(TRACKS, dropout=0.0)
    model = SeqNN(parse_params(params).model, generator=torch.Generator().manual_seed(0))
    targets = {
        genome: [
            Target(
                TABLE_INDEX[genome] + i,
                f"{genome}_t{i}",
                (f"t{i}.bw",),
                32.0,
                1.0,
                "sum",
                f"CAGE:{genome} {i}",
            )
            for i in range(n)
        ]
        for genome, n in TRACKS.items()
    }
    save_checkpoint(root / "model", model, make_config(model, params, targets))
    rng = np.random.default_rng(0)
    with open(root / "genome.fa", "w") as handle:
        for chrom, size in SIZES.items():
            bases = rng.choice(list("ACGT"), size)
            bases[1000:1100] = "N"
            handle.write(f">{chrom}\n{''.join(bases)}\n")
    return root


def _run(argv: list[str]) -> int:
    args = build_parser().parse_args(argv)
    return args.run(args)


def bigwig_args(work: Path, out: Path, *extra: str) -> list[str]:
    base = ["predict", "--model", str(work / "model"), "--genome", "human"]
    return [*base, "--fasta", str(work / "genome.fa"), "--bigwig", str(out), *extra]


def expected_tracks(work: Path, tiles: list[Tile], head: str = "human") -> dict[str, np.ndarray]:
    """Per chromosome ``(tracks, bins)``: NaN, and each tile's kept bins from ``crossreg
    predict`` run on the tiles' windows written as FASTA records."""
    model, _ = load_checkpoint(work / "model")
    geometry = Geometry.of(model)
    lines = (work / "genome.fa").read_text().split()
    sequences = {name[1:]: seq for name, seq in zip(lines[::2], lines[1::2], strict=True)}
    fasta = work / f"windows_{head}_{len(tiles)}.fa"
    with open(fasta, "w") as handle:
        for i, t in enumerate(tiles):
            handle.write(f">w{i}\n{sequences[t.chrom][t.start : t.start + geometry.seq_length]}\n")
    assert main(["-q", "predict", "--model", str(work / "model"), "--genome", head,
                 "--fasta", str(fasta), "--out", str(fasta.with_suffix(".npy"))]) == 0  # fmt: skip
    preds = np.load(fasta.with_suffix(".npy"))
    w = geometry.bin_width
    out = {c: np.full((preds.shape[-1], -(-n // w)), np.nan) for c, n in SIZES.items()}
    for i, t in enumerate(tiles):
        out[t.chrom][:, t.start_bin : t.start_bin + t.count] = preds[
            i, t.first : t.first + t.count
        ].T
    return out


def read_tracks(out: Path, names: list[str]) -> dict[str, np.ndarray]:
    """Per chromosome ``(tracks, bins)`` of the BigWigs `names`, NaN where no value."""
    tracks: dict[str, list[np.ndarray]] = {c: [] for c in SIZES}
    for name in names:
        with pyBigWig.open(str(out / name)) as bw:
            assert bw.chroms() == SIZES
            for chrom, size in SIZES.items():
                values = np.full(-(-size // 128), np.nan)
                for start, end, value in bw.intervals(chrom) or ():
                    assert start % 128 == 0 and (end - start) % 128 == 0
                    values[start // 128 : -(-end // 128)] = value
                tracks[chrom].append(values)
    return {c: np.array(v) for c, v in tracks.items()}


def test_tiles_abut_and_stay_on_the_chromosome():
    g = Geometry(seq_length=8192, bin_width=128, crop=8, bins=48)
    tiles = tile_interval("c", 0, 40_000, 40_000, g)
    assert tiles[0] == Tile("c", 0, 0, 48, 8)  # the first bin a window on the chromosome keeps
    covered = [b for t in tiles for b in range(t.start_bin, t.start_bin + t.count)]
    assert covered == list(range(8, (40_000 - 8192) // 128 + 8 + 48))
    assert all(t.start >= 0 and t.start + 8192 <= 40_000 and t.start % 128 == 0 for t in tiles)
    last = tiles[-1]  # moved back to fit, keeping only the bins not predicted yet
    assert last.start == (40_000 - 8192) // 128 * 128 and last.first + last.count == 48
    assert tile_interval("c", 0, 5_000, 5_000, g) == []
    # a region: the grid bins it overlaps
    inner = tile_interval("c", 2_000, 2_300, 40_000, g)
    assert [(t.start_bin, t.count) for t in inner] == [(15, 3)]
    # empty regions (points): the bin after the point, or the last at the chromosome's end
    points = [("c", 300, 300), ("c", 256, 256), ("c", 40_000, 40_000), ("c", 384, 384)]
    assert bin_intervals(points, {"c": 40_000}, g) == [("c", 2, 4), ("c", 312, 313)]


def test_bigwigs_equal_predict_on_the_same_windows(work, tmp_path):
    out = tmp_path / "bw"
    assert _run(bigwig_args(work, out)) == 0
    names = [line.split("\t")[3] for line in (out / "tracks.tsv").read_text().splitlines()[1:]]
    assert names == ["human_t0.bw", "human_t1.bw", "human_t2.bw"]
    model, _ = load_checkpoint(work / "model")
    geometry = Geometry.of(model)
    tiles = plan_tiles([(c, 0, math.ceil(n / 128)) for c, n in SIZES.items()], SIZES, geometry)
    expected = expected_tracks(work, tiles)
    got = read_tracks(out, names)
    for chrom in SIZES:
        np.testing.assert_allclose(got[chrom], expected[chrom], rtol=1e-5, atol=1e-6)
    # where no full window fits: nothing (the first 8 bins, the end, all of chrS)
    assert np.isnan(got["chr1"][:, :8]).all() and not np.isnan(got["chr1"][:, 8]).any()
    assert np.isnan(got["chrS"]).all()
    assert not list(out.parent.glob("*.partial"))


def stop_after_chunks(count: int):
    """A :meth:`ChunkStore.commit` that commits as it does and then stops the run, as
    Ctrl-C does, once `count` chunks are done (to patch in for a run cut short)."""
    original = ChunkStore.commit

    def commit_then_stop(self, state, *args):
        state = original(self, state, *args)
        if state.chunks_done == count:
            raise KeyboardInterrupt
        return state

    return commit_then_stop


def test_resume_after_a_kill_gives_the_same_files(work, tmp_path, monkeypatch, logs):
    whole = tmp_path / "whole"
    assert _run(bigwig_args(work, whole, "--chunk-size", "2", "--targets", "human_t2,0")) == 0
    original = ChunkStore.commit
    calls = {"n": 0}

    def killed_after_two_chunks(self, *args):
        state = original(self, *args)
        calls["n"] += 1
        if calls["n"] == 2:
            raise KeyboardInterrupt
        return state

    monkeypatch.setattr(ChunkStore, "commit", killed_after_two_chunks)
    resumed = tmp_path / "resumed"
    with pytest.raises(Interrupted, match=r"4 of \d+ windows kept .*--resume"):
        _run(bigwig_args(work, resumed, "--chunk-size", "2", "--targets", "human_t2,0"))
    monkeypatch.setattr(ChunkStore, "commit", original)
    with pytest.raises(FileExistsError, match="--resume"):
        _run(bigwig_args(work, resumed, "--chunk-size", "2", "--targets", "human_t2,0"))
    logs.clear()
    assert (
        _run(bigwig_args(work, resumed, "--chunk-size", "2", "--targets", "human_t2,0", "--resume"))
        == 0
    )
    assert calls["n"] == 2
    total = re.search(r"predicting (\d+) windows", logs.text)
    assert total is not None  # two chunks of 2 windows were kept
    assert f"after chunk 2: 4/{total[1]} windows done" in logs.text
    for name in ("human_t2.bw", "human_t0.bw", "tracks.tsv"):
        assert (resumed / name).read_bytes() == (whole / name).read_bytes(), name


def test_ctrl_c_while_writing_the_bigwigs_says_resume_writes_them(work, tmp_path, monkeypatch):
    args = ("--chroms", "chr2", "--targets", "1,0")
    whole = tmp_path / "whole"
    assert _run(bigwig_args(work, whole, *args)) == 0

    def stopped(*_args, **_kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(BigWigFile, "add_steps", stopped)
    out = tmp_path / "bw"
    with pytest.raises(Interrupted, match=r"(\d+) of \1 windows kept .*--resume"):
        _run(bigwig_args(work, out, *args))
    assert not out.exists()
    monkeypatch.undo()
    assert _run(bigwig_args(work, out, *args, "--resume")) == 0
    for name in ("human_t1.bw", "human_t0.bw", "tracks.tsv"):
        assert (out / name).read_bytes() == (whole / name).read_bytes(), name


def test_ctrl_c_during_an_array_prediction_says_what_was_done_and_left(work, tmp_path, monkeypatch):
    import crossreg.predict

    original = crossreg.predict.predict_windows

    def stopped_after_one_batch(*args, **kwargs):
        batches = iter(original(*args, **kwargs))
        yield next(batches)
        raise KeyboardInterrupt

    monkeypatch.setattr(crossreg.predict, "predict_windows", stopped_after_one_batch)
    bed = tmp_path / "regions.bed"
    bed.write_text("".join(f"chr1\t{10_000 + i * 1000}\t{10_100 + i * 1000}\n" for i in range(5)))
    out = tmp_path / "preds.h5"
    argv = ["predict", "--model", str(work / "model"), "--genome", "human"]
    argv += ["--fasta", str(work / "genome.fa"), "--bed", str(bed), "--out", str(out)]
    with pytest.raises(Interrupted, match=r"2 of 5 windows predicted; .*preds\.h5 .* left as it"):
        _run([*argv, "--batch-size", "2"])
    assert not out.exists() and list(tmp_path.iterdir()) == [bed]


def test_shards_write_what_one_run_writes(work, tmp_path):
    whole = tmp_path / "whole"
    assert _run(bigwig_args(work, whole, "--chroms", "chr1")) == 0
    sharded = tmp_path / "sharded"
    assert _run(bigwig_args(work, sharded, "--chroms", "chr1", "--shard", "1/2")) == 0
    assert not sharded.exists()  # written by the last shard to finish
    assert _run(bigwig_args(work, sharded, "--chroms", "chr1", "--shard", "0/2")) == 0
    for name in ("human_t0.bw", "human_t1.bw", "human_t2.bw"):
        with pyBigWig.open(str(sharded / name)) as a, pyBigWig.open(str(whole / name)) as b:
            assert a.chroms() == b.chroms()
            np.testing.assert_allclose(a.intervals("chr1"), b.intervals("chr1"), rtol=1e-6)
    assert not list(tmp_path.glob("*.partial"))
    mixed = tmp_path / "mixed"
    assert _run(bigwig_args(work, mixed, "--chroms", "chr1", "--shard", "0/2")) == 0
    with pytest.raises(
        ValueError, match=r"than this one \(--targets every track then, 0 now; then: that shard"
    ):
        _run(bigwig_args(work, mixed, "--chroms", "chr1", "--shard", "1/2", "--targets", "0"))


def _staged(work: Path, where: Path) -> tuple[Path, Path]:
    """Copies of the model and FASTA at other paths with later modification times, as a
    job array stages its inputs on each node's local disk."""
    where.mkdir(parents=True)
    model = Path(shutil.copytree(work / "model", where / "checkpoint"))
    fasta = Path(shutil.copy(work / "genome.fa", where / "staged.fa"))
    later = (work / "genome.fa").stat().st_mtime_ns + 10**9
    for path in [*model.iterdir(), fasta]:
        os.utime(path, ns=(later, later))
    return model, fasta


def _from(model: Path, fasta: Path, out: Path, *extra: str) -> list[str]:
    base = ["predict", "--model", str(model), "--genome", "human", "--fasta", str(fasta)]
    return [*base, "--bigwig", str(out), "--chroms", "chr1", *extra]


def test_shards_from_staged_copies_write_what_one_run_writes(work, tmp_path):
    # before: the shard on another node's copies was refused ("another --model, --fasta")
    whole = tmp_path / "whole"
    assert _run(bigwig_args(work, whole, "--chroms", "chr1")) == 0
    model, fasta = _staged(work, tmp_path / "node1")
    sharded = tmp_path / "sharded"
    assert _run(_from(model, fasta, sharded, "--shard", "1/2")) == 0
    edited = tmp_path / "node0" / "genome.fa"  # one base changed: the same size
    edited.parent.mkdir()
    edited.write_bytes(fasta.read_bytes().replace(b"ACGT", b"ACGA", 1))
    with pytest.raises(ValueError) as refused:
        _run(_from(work / "model", edited, sharded, "--shard", "0/2"))
    assert "was run with other settings than this one (--fasta: the same size, other " in str(
        refused.value
    )
    assert _run(bigwig_args(work, sharded, "--chroms", "chr1", "--shard", "0/2")) == 0
    for name in ("human_t0.bw", "human_t1.bw", "human_t2.bw"):  # batched otherwise: float32
        with pyBigWig.open(str(sharded / name)) as a, pyBigWig.open(str(whole / name)) as b:
            np.testing.assert_allclose(a.intervals("chr1"), b.intervals("chr1"), rtol=1e-6)
    assert not list(tmp_path.glob("*.partial"))


def test_a_resume_from_staged_copies_continues(work, tmp_path, monkeypatch, logs):
    original = ChunkStore.commit

    def killed_after_a_chunk(self, *args):
        original(self, *args)
        raise KeyboardInterrupt

    monkeypatch.setattr(ChunkStore, "commit", killed_after_a_chunk)
    out = tmp_path / "resumed"
    with pytest.raises(Interrupted, match=r"2 of \d+ windows kept"):
        _run(bigwig_args(work, out, "--chroms", "chr1", "--chunk-size", "2"))
    monkeypatch.setattr(ChunkStore, "commit", original)
    model, fasta = _staged(work, tmp_path / "node")
    logs.clear()
    assert _run(_from(model, fasta, out, "--chunk-size", "2", "--resume")) == 0
    assert "after chunk 1: 2/" in logs.text
    whole = tmp_path / "whole"
    assert _run(_from(model, fasta, whole, "--chunk-size", "2")) == 0
    for name in ("human_t0.bw", "human_t1.bw", "human_t2.bw", "tracks.tsv"):
        assert (out / name).read_bytes() == (whole / name).read_bytes(), name


@pytest.mark.parametrize(
    ("second", "named"),
    [
        # another window count
        (["--chroms", "chr1,chr2", "--shard", "1/2"], "--chroms chr1 then, chr1,chr2 now"),
        (["--chroms", "chr1", "--shard", "1/3"], "--shard: shard count (its N) 2 then, 3 now"),
        (
            ["--bed", "BED", "--shard", "1/2"],
            "--bed: not given then, given now; --chroms chr1 then, every FASTA record now",
        ),
    ],
)
def test_shards_run_with_other_settings_are_refused(work, tmp_path, second, named):
    """Shards whose window counts differ never all look complete: without the check,
    each would exit leaving the BigWigs to another, and none would write them."""
    bed = tmp_path / "regions.bed"
    bed.write_text("chr1\t20000\t21000\n")
    second = [str(bed) if value == "BED" else value for value in second]
    out = tmp_path / "bw"
    assert _run(bigwig_args(work, out, "--chroms", "chr1", "--shard", "0/2")) == 0
    with pytest.raises(ValueError) as refused:
        _run(bigwig_args(work, out, *second))
    message = str(refused.value)
    # before: "was run with another --bed, --chroms than this one", not how they differ
    assert f"was run with other settings than this one ({named}" in message
    assert "rerun every shard with the same options" in message
    assert f"{out.name}.shard-0-of-2.partial" in message
    # the refused shard leaves no store of its own: rerun alike, it writes the BigWigs
    assert sorted(p.name for p in tmp_path.glob("*.partial")) == ["bw.shard-0-of-2.partial"]
    assert _run(bigwig_args(work, out, "--chroms", "chr1", "--shard", "1/2")) == 0
    assert (out / "human_t0.bw").exists() and not list(tmp_path.glob("*.partial"))


@pytest.mark.parametrize("spelling", ["--head", "--genome"])
def test_a_shard_of_another_head_names_the_option_as_typed(work, tmp_path, spelling):
    # before: "--head human then, mouse now" whatever was typed
    out = tmp_path / "bw"
    assert _run(bigwig_args(work, out, "--chroms", "chr1", "--shard", "0/2")) == 0
    with pytest.raises(ValueError, match="was run with other settings than this one") as err:
        _run(bigwig_args(work, out, "--chroms", "chr1", "--shard", "1/2", spelling, "mouse"))
    assert f"({spelling} human then, mouse now; then: that shard" in str(err.value)


@pytest.mark.parametrize("spelling", ["--head", "--genome"])
def test_the_rank_that_would_write_the_bigwigs_names_the_option_as_typed(
    work, tmp_path, monkeypatch, spelling
):
    """Under torchrun, the check made under the lock before the BigWigs are written (a
    rank that recorded its settings after this one started), as the first check does."""
    out = tmp_path / "bw"
    monkeypatch.setenv("WORLD_SIZE", "2")
    monkeypatch.setenv("RANK", "0")
    assert _run(bigwig_args(work, out, "--chroms", "chr1")) == 0
    checks = []
    real = bigwig.check_shard_settings

    def later(*args):  # rank 0's record not there yet at the start
        checks.append(args)
        if len(checks) > 1:
            real(*args)

    monkeypatch.setattr(bigwig, "check_shard_settings", later)  # when the run starts
    monkeypatch.setattr(bigwig_shards, "check_shard_settings", later)  # under the lock
    monkeypatch.setenv("RANK", "1")
    with pytest.raises(ValueError, match="was run with other settings than this one") as err:
        _run(bigwig_args(work, out, "--chroms", "chr1", spelling, "mouse"))
    assert len(checks) == 2 and not out.exists()
    assert f"({spelling} human then, mouse now; then: that shard" in str(err.value)


def _as_an_earlier_crossreg_left_it(store: Path) -> None:
    """Drop from a shard's store what an earlier crossreg, which shared out windows rather
    than whole chunks, did not record."""
    for name in ("settings.json", "run_settings.json"):
        record = json.loads((store / name).read_text())
        del record[bigwig_settings.SHARE_KEY]
        (store / name).write_text(json.dumps(record, sort_keys=True))
    progress = json.loads((store / "progress.json").read_text())
    progress["settings"] = settings_hash(json.loads((store / "settings.json").read_text()))
    (store / "progress.json").write_text(json.dumps(progress))


def test_a_shard_left_by_an_earlier_crossreg_is_refused(work, tmp_path):
    """Such a shard predicted other windows than this version's shards do: merged, the
    BigWigs would miss or repeat windows, so it is named, for its resume and for the
    other shards alike."""
    out = tmp_path / "bw"
    argv = bigwig_args(work, out, "--chroms", "chr1", "--chunk-size", "2")
    assert _run([*argv, "--shard", "0/2"]) == 0
    store = tmp_path / "bw.shard-0-of-2.partial"
    _as_an_earlier_crossreg_left_it(store)
    with pytest.raises(ValueError, match=r"--shard: shares by windows \(an earlier crossreg\) "
                       r"then, whole chunks now"):  # fmt: skip
        _run([*argv, "--shard", "1/2"])
    with pytest.raises(ValueError, match=r"bw.shard-0-of-2.partial: left by a run with other "
                       r"settings \(--shard: shares by windows"):  # fmt: skip
        _run([*argv, "--shard", "0/2", "--resume"])
    assert not out.exists()


def test_a_rerun_replaces_outdir_whole_only_with_overwrite(work, tmp_path):
    out = tmp_path / "bw"
    assert _run(bigwig_args(work, out, "--chroms", "chr2")) == 0
    with pytest.raises(ValueError, match="pass --overwrite to replace it"):
        _run(bigwig_args(work, out, "--chroms", "chr2", "--targets", "1"))
    assert _run(bigwig_args(work, out, "--chroms", "chr2", "--targets", "1", "--overwrite")) == 0
    # no BigWig of the first run is left beside the one tracks.tsv lists
    assert sorted(p.name for p in out.iterdir()) == [
        ".crossreg-contents",
        "human_t1.bw",
        "summary.json",
        "tracks.tsv",
    ]
    (out / "notes.txt").write_text("mine")
    with pytest.raises(ValueError, match=r"notes\.txt, which crossreg did not write there"):
        _run(bigwig_args(work, out, "--chroms", "chr2", "--overwrite"))
    other = tmp_path / "other"
    other.mkdir()
    (other / "notes.txt").write_text("mine")
    with pytest.raises(ValueError, match="is not empty"):
        _run(bigwig_args(work, other, "--chroms", "chr2"))
    assert [p.name for p in other.iterdir()] == ["notes.txt"]


def test_a_report_of_outdir_is_replaced_with_it_by_overwrite(work, tmp_path):
    """The page ``crossreg report OUTDIR`` writes there is crossreg's: a rerun with
    --overwrite replaces it with the folder instead of refusing it as the user's file."""
    out = tmp_path / "bw"
    assert _run(bigwig_args(work, out, "--chroms", "chr2", "--targets", "0")) == 0
    assert main(["-q", "report", str(out)]) == 0
    assert main(["-q", "report", str(out), "--out", str(out / "again.html")]) == 0
    assert _run(bigwig_args(work, out, "--chroms", "chr2", "--targets", "1", "--overwrite")) == 0
    assert sorted(p.name for p in out.iterdir()) == [
        ".crossreg-contents",
        "human_t1.bw",
        "summary.json",
        "tracks.tsv",
    ]


def test_chromosomes_or_regions_no_window_predicts_are_refused_saying_why(work, tmp_path):
    with pytest.raises(ValueError, match=r"the longest, chrS, is 5,000 bp\): nothing to predict"):
        _run(bigwig_args(work, tmp_path / "bw", "--chroms", "chrS"))
    bed = tmp_path / "edges.bed"
    bed.write_text("chr1\t0\t500\nchr2\t16900\t17000\nchrS\t0\t5000\n")
    with pytest.raises(ValueError, match=r"edges\.bed: every region .* within about 1,024 bp"):
        _run(bigwig_args(work, tmp_path / "bw", "--bed", str(bed)))
    assert not (tmp_path / "bw").exists()


def test_a_bigwig_run_is_logged_in_outdir(work, tmp_path):
    out = tmp_path / "logged"
    argv = ["-q", *bigwig_args(work, out, "--chroms", "chr2")]
    assert main(argv) == 0
    (run,) = read_runs(out / RUNS_FILE)
    assert run["command"] == "crossreg " + shlex.join(argv) and run["seconds"] > 0
    assert main([*argv, "--targets", "0"]) == 1  # OUTDIR holds BigWigs: refused, not logged
    assert main([*argv, "--targets", "NOSUCHTRACK", "--overwrite"]) == 1
    assert [r["command"] for r in read_runs(out / RUNS_FILE)] == [run["command"]]
    assert main([*argv, "--targets", "0", "--overwrite"]) == 0  # replaced whole, log too
    (run,) = read_runs(out / RUNS_FILE)
    assert run["command"].endswith("--targets 0 --overwrite")
    sharded = tmp_path / "sharded"
    for shard in ("1/2", "0/2"):  # the shard that writes the BigWigs logs its run there
        assert main([*bigwig_args(work, sharded, "--chroms", "chr2", "--shard", shard)]) == 0
    (run,) = read_runs(sharded / RUNS_FILE)
    assert run["command"].endswith("--shard 0/2")


def test_the_torchrun_rank_that_writes_the_bigwigs_logs_the_run(work, tmp_path, monkeypatch):
    """Whatever its rank; an OUTDIR whose name has a dot is a folder, not a file name."""
    (tmp_path / "sub").mkdir()
    out = tmp_path / "sub" / "bw.v1"
    argv = ["-q", *bigwig_args(work, out, "--chroms", "chr2")]
    monkeypatch.setenv("WORLD_SIZE", "2")
    monkeypatch.setenv("RANK", "0")
    assert main(argv) == 0  # shard 0/2 leaves the BigWigs to rank 1: no log anywhere
    assert not out.exists() and not (tmp_path / "sub" / RUNS_FILE).exists()
    monkeypatch.setenv("RANK", "1")
    assert main(argv) == 0
    assert (out / "human_t0.bw").exists()
    (run,) = read_runs(out / RUNS_FILE)
    assert run["command"] == "crossreg " + shlex.join(argv)
    assert sorted(p.name for p in (tmp_path / "sub").iterdir()) == ["bw.v1"]
    sharded = tmp_path / "sub" / "bw.v2"  # --shard: the same, in separate jobs
    with pytest.raises(ValueError, match=r"--shard 1/2 under torchrun: each rank takes its own"):
        _run(bigwig_args(work, sharded, "--chroms", "chr2", "--shard", "1/2"))
    monkeypatch.delenv("WORLD_SIZE")
    monkeypatch.delenv("RANK")
    assert main([*bigwig_args(work, sharded, "--chroms", "chr2", "--shard", "1/2")]) == 0
    assert main([*bigwig_args(work, sharded, "--chroms", "chr2", "--shard", "0/2")]) == 0
    assert sorted(p.name for p in (tmp_path / "sub").iterdir()) == ["bw.v1", "bw.v2"]
    (run,) = read_runs(sharded / RUNS_FILE)
    assert run["command"].endswith("--shard 0/2")


def test_bed_regions_and_another_head(work, tmp_path):
    bed = tmp_path / "regions.bed"
    # near chr1's start (partly before the first predictable bin), two overlapping
    # regions, one across chr2's end, one on a chromosome shorter than a window
    bed.write_text("chr1\t500\t1500\nchr1\t20000\t21000\nchr1\t20500\t22000\n"
                   "chr2\t16000\t17000\nchrS\t0\t100\n")  # fmt: skip
    out = tmp_path / "bed"
    argv = bigwig_args(work, out, "--bed", str(bed))
    argv[argv.index("human")] = "mouse"  # the mouse head on this (any) genome
    assert _run(argv) == 0
    model, _ = load_checkpoint(work / "model")
    geometry = Geometry.of(model)
    intervals = [("chr1", 3, 12), ("chr1", 156, 172), ("chr2", 125, 133), ("chrS", 0, 1)]
    tiles = plan_tiles(intervals, SIZES, geometry)
    expected = expected_tracks(work, tiles, head="mouse")
    got = read_tracks(out, ["mouse_t0.bw", "mouse_t1.bw"])
    for chrom in SIZES:
        np.testing.assert_allclose(got[chrom], expected[chrom], rtol=1e-5, atol=1e-6)
    assert not np.isnan(got["chr1"][:, 8:12]).any() and np.isnan(got["chr1"][:, :8]).all()
    assert not np.isnan(got["chr1"][:, 156:172]).any() and np.isnan(got["chr1"][:, 172:]).all()
    last = (17_000 - 8192) // 128 + 8 + 48  # chr2's last predictable bin + 1
    assert not np.isnan(got["chr2"][:, 125:last]).any() and np.isnan(got["chr2"][:, last:]).all()


def test_tracks_tsv_gives_the_indices_targets_takes(work, tmp_path):
    """``index`` is the track's place in the head, which ``--targets`` takes;
    ``table_index`` is the targets table's index."""
    argv = bigwig_args(work, tmp_path / "first", "--chroms", "chr2", "--targets", "1")
    argv[argv.index("human")] = "mouse"
    assert main(argv) == 0
    lines = (tmp_path / "first" / "tracks.tsv").read_text().splitlines()
    assert lines == [
        "index\tidentifier\tdescription\tfile\ttable_index",
        "1\tmouse_t1\tCAGE:mouse 1\tmouse_t1.bw\t4",
    ]
    index = lines[1].split("\t")[0]
    again = [*argv[: argv.index("--bigwig")], "--bigwig", str(tmp_path / "again")]
    assert main([*again, "--chroms", "chr2", "--targets", index]) == 0
    assert (tmp_path / "again" / "tracks.tsv").read_text().splitlines() == lines


def test_targets_of_another_head_name_that_head(work, tmp_path):
    """A track of the mouse head asked of the human head: the message names the head
    that has it, before the model loads."""
    argv = bigwig_args(work, tmp_path / "bw", "--targets", "mouse_t1")
    with pytest.raises(ValueError) as err:
        _run(argv)
    assert str(err.value) == (
        "--targets 'mouse_t1' selects no track: give indices 0-2, identifiers, or a word or "
        "glob pattern found in the descriptions; it names tracks of the 'mouse' head, not of "
        "'human': choose that head with --genome mouse"
    )
    argv[argv.index("human")] = "mouse"
    assert _run(argv) == 0
    with pytest.raises(ValueError, match=r"selects no track: give indices 0-2, identifiers, or "
                       r"a word or glob pattern found in the descriptions$"):  # fmt: skip
        _run(bigwig_args(work, tmp_path / "none", "--targets", "liver"))


def test_an_outdir_holding_other_files_is_refused_naming_them(work, tmp_path):
    out = tmp_path / "bw"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    (out / ".hidden").write_text("mine")
    with pytest.raises(ValueError) as err:
        _run(bigwig_args(work, out))
    assert str(err.value) == (
        f"--bigwig {out} exists, is not empty and is not the BigWigs of crossreg predict "
        "--bigwig; choose another --bigwig (it holds .hidden, notes.txt)"
    )
    assert sorted(p.name for p in out.iterdir()) == [".hidden", "notes.txt"]


def test_predict_bed_tiles_a_region_longer_than_a_window(work, tmp_path):
    bed = tmp_path / "long.bed"
    bed.write_text("chr1\t10000\t30000\tlong\nchr1\t5000\t5100\tshort\n")
    out = tmp_path / "long.h5"
    base = ["-q", "predict", "--model", str(work / "model"), "--genome", "human"]
    assert (
        main([*base, "--fasta", str(work / "genome.fa"), "--bed", str(bed), "--out", str(out)]) == 0
    )
    import h5py

    model, _ = load_checkpoint(work / "model")
    tiles = tile_interval("chr1", 10_000, 30_000, SIZES["chr1"], Geometry.of(model))
    with h5py.File(out) as handle:
        names = [s.decode() for s in handle["name"][:]]
        assert names == [f"long:{k}" for k in range(1, len(tiles) + 1)] + ["short"]
        assert list(handle["start"][: len(tiles)]) == [t.start for t in tiles]
        # the bins of each row that tile the region (the last window repeats some); a
        # region up to a window long keeps all of its window's bins
        first, count = handle["first_bin"][:], handle["bin_count"][:]
        assert list(first) == [t.first for t in tiles] + [0]
        assert list(count) == [t.count for t in tiles] + [handle["preds"].shape[1]]
        preds = handle["preds"][:]
    expected = expected_tracks(work, tiles)
    for i, t in enumerate(tiles):
        got = preds[i, t.first : t.first + t.count].T
        want = expected["chr1"][:, t.start_bin : t.start_bin + t.count]
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)


def test_a_npy_of_tiled_regions_is_refused_naming_the_region(work, tmp_path):
    # a .npy has no coordinates: with a region tiled into several windows its rows would
    # no longer be the BED's regions in order
    bed = tmp_path / "long.bed"
    bed.write_text("chr1\t5000\t5100\tshort\nchr1\t10000\t30000\tlong\n")
    out = tmp_path / "long.npy"
    base = ["predict", "--model", str(work / "model"), "--genome", "human"]
    argv = [*base, "--fasta", str(work / "genome.fa"), "--bed", str(bed), "--out", str(out)]
    with pytest.raises(ValueError, match=r"long.bed: 1 region\(s\) longer .* \(e\.g\. long, "):
        _run(argv)
    assert not out.exists()
    bed.write_text("chr1\t5000\t5100\tshort\nchr1\t10000\t10300\tlong\n")
    assert _run(argv) == 0
    assert np.load(out).shape[0] == 2


def test_bigwig_options_are_checked_before_any_work(work, tmp_path, monkeypatch):
    base = ["predict", "--model", str(work / "model"), "--fasta", str(work / "genome.fa")]
    with pytest.raises(ValueError, match="--chroms: only with --bigwig"):
        _run([*base, "--out", str(tmp_path / "x.npy"), "--chroms", "chr1"])
    with pytest.raises(ValueError, match="--overwrite: only with --bigwig"):
        _run([*base, "--out", str(tmp_path / "x.npy"), "--overwrite"])
    # --chunk-size sizes --bigwig's chunks only: an --out run would ignore it
    with pytest.raises(ValueError, match="--chunk-size: only with --bigwig"):
        _run([*base, "--out", str(tmp_path / "x.npy"), "--chunk-size", "8"])
    monkeypatch.chdir(tmp_path)  # OUTDIR is replaced whole: never the current directory
    for outdir in (".", str(tmp_path.parent)):
        with pytest.raises(ValueError, match="is or holds the current directory"):
            _run([*base, "--genome", "human", "--bigwig", outdir, "--chroms", "chr2"])
    assert not list(tmp_path.iterdir())
    with pytest.raises(ValueError, match="--chroms chrX: not in"):
        write_bigwigs(
            work / "model", work / "genome.fa", tmp_path / "o", head="human", chroms=["chrX"]
        )
    with pytest.raises(ValueError, match="no window of 8,192 bp fits"):
        write_bigwigs(
            work / "model", work / "genome.fa", tmp_path / "o", head="human", chroms=["chrS"]
        )


def test_an_out_of_another_format_is_refused_before_the_model_is_imported(
    work, tmp_path, monkeypatch
):
    import crossreg.predict

    def loaded(*_args, **_kwargs):
        raise AssertionError("the predict step was reached")

    monkeypatch.setattr(crossreg.predict, "write_predictions", loaded)
    base = ["predict", "--model", str(work / "model"), "--fasta", str(work / "genome.fa")]
    suffixes = " or ".join(crossreg.predict.OUTPUT_SUFFIXES)
    with pytest.raises(ValueError, match=rf"--out .*x\.txt: the output must end in {suffixes}"):
        _run([*base, "--genome", "human", "--out", str(tmp_path / "x.txt")])


def test_a_failed_first_batch_leaves_nothing_a_plain_rerun_refuses(
    work, tmp_path, monkeypatch, capsys
):
    import crossreg.model.inference as inference

    def broken(*_args):
        raise torch._dynamo.exc.TorchDynamoException("InvalidCxxCompiler: no working compiler")

    monkeypatch.setattr(inference, "_compiled_forward", lambda: broken)
    monkeypatch.chdir(tmp_path)
    argv = bigwig_args(work, Path("out"), "--chroms", "chr2", "--targets", "0")
    assert main([*argv, "--compile"]) == 1
    assert "Traceback" not in capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.iterdir()) == []  # no partial store
    assert main(argv) == 0  # the plain rerun the message asks for, into a relative path
    assert (tmp_path / "out" / "human_t0.bw").exists()


def test_the_python_predict_takes_uint8_one_hot_with_n_as_zeros(work):
    import crossreg.dna as dna
    from crossreg.genome import Genome
    from crossreg.model.inference import trunk_layout
    from crossreg.predict import predict

    model, _ = load_checkpoint(work / "model")
    genome = Genome(work / "genome.fa")
    codes = genome.fetch_many(["chr1", "chr1"], [0, 900], model.seq_length)  # N at 1000-1100
    x = dna.one_hot(codes, dtype=np.uint8)
    assert not x[1, 100:200].any()  # N: an all-zero row
    got = predict(model, x, "human")
    with torch.no_grad(), trunk_layout(model, True):  # as CPU inference runs it
        expected = model(torch.as_tensor(x).float(), "human").numpy()
    assert got.dtype == np.float32 and got.shape == (2, 48, 3)
    np.testing.assert_array_equal(got, expected)
    with pytest.raises(ValueError, match="windows of 8,000 bp given to a model of 8,192-bp"):
        predict(model, x[:, :8000], "human")


def _warnings(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.levelno >= logging.WARNING]


def test_a_long_region_at_a_chromosome_end_names_the_bp_left_without_rows(caplog):
    # before: the first crop x bin-width bp of a long region at a chromosome's start (and
    # the last ones at its end) had no row, without a word
    from types import SimpleNamespace

    from crossreg.io.bed import Interval
    from crossreg.predict import tiled_region_windows, uncovered_ends

    g = Geometry(seq_length=8192, bin_width=128, crop=8, bins=48)
    genome = SimpleNamespace(sizes={"c": 40_000})
    middle = tiled_region_windows([Interval("c", 10_000, 30_000, ("mid",))], genome, g, source="b")
    assert not _warnings(caplog)
    covered = [(w.start // 128 + 8 + w.first_bin, w.bin_count) for w in middle]
    assert covered[0][0] == 10_000 // 128 and sum(n for _, n in covered) == -(-30_000 // 128) - 78
    regions = [Interval("c", 0, 20_000, ("atstart",)), Interval("c", 25_000, 40_000, ("atend",))]
    windows = tiled_region_windows(regions, genome, g, source="b.bed")
    assert {w.name.split(":")[0] for w in windows} == {"atstart", "atend"}
    tiles = tile_interval("c", 0, 20_000, 40_000, g)
    assert uncovered_ends(0, 20_000, tiles, g) == (8 * 128, 0)
    last_bin = (40_000 - 8192) // 128 + 8 + 48  # past the last bin a window keeps
    tiles = tile_interval("c", 25_000, 40_000, 40_000, g)
    assert uncovered_ends(25_000, 40_000, tiles, g) == (0, 40_000 - last_bin * 128)
    (record,) = _warnings(caplog)
    assert "b.bed: 2 long region(s) reach within a window's crop of a chromosome end" in (
        record.getMessage()
    )
    assert "e.g. atstart: its first 1,024 bp and last 0 bp" in record.getMessage()


def test_a_full_disk_while_writing_the_bigwigs_is_one_line_and_resume_finishes(
    work, tmp_path, monkeypatch, capsys
):
    """libBigWig ignores write errors (a full disk aborted the process after writing every
    track); crossreg checks the free space before it can run out, names the file and keeps
    the predictions for ``--resume``."""
    import os
    from types import SimpleNamespace

    plain = tmp_path / "plain"
    assert main(bigwig_args(work, plain, "--chroms", "chr1,chr2")) == 0
    real = os.statvfs
    capacity = 300 * 1024  # the BigWigs' folder fills past this

    def small_disk(path):
        if not (tmp_path / ".out.partial").exists():  # room enough when the run starts:
            return SimpleNamespace(f_bavail=2**20, f_frsize=4096)  # another writer fills it
        used = sum(p.stat().st_size for p in tmp_path.glob(".out.partial/*") if p.is_file())
        return SimpleNamespace(f_bavail=max(capacity - used, 0) // 4096, f_frsize=4096)

    monkeypatch.setattr(os, "statvfs", small_disk)
    out = tmp_path / "out"
    capsys.readouterr()
    assert main(bigwig_args(work, out, "--chroms", "chr1,chr2")) == 1
    err = capsys.readouterr().err
    errors = [line.split("ERROR ", 1)[1] for line in err.splitlines() if "ERROR" in line]
    assert len(errors) == 1, err
    assert re.fullmatch(
        rf"{re.escape(str(out))}/human_t\d\.bw: not enough free space to write this BigWig: "
        r".* free in .*; free .* there and rerun with --resume \(the predictions are kept\)",
        errors[0],
    ), errors[0]
    assert "bwClose" not in err and "writing BigWigs: 3/3" not in err
    assert not out.exists() and not (tmp_path / ".out.partial").exists()  # no BigWig kept
    assert (tmp_path / "out.partial").is_dir()  # the predictions, for --resume
    monkeypatch.setattr(os, "statvfs", real)
    assert main(bigwig_args(work, out, "--chroms", "chr1,chr2", "--resume")) == 0
    for name in ("human_t0.bw", "human_t1.bw", "human_t2.bw", "tracks.tsv"):
        assert (out / name).read_bytes() == (plain / name).read_bytes(), name


def _outdir(out: Path) -> dict[str, tuple[int, bytes]]:
    """Each file of OUTDIR (the run log, which records each run, left out): its
    modification time and bytes."""
    return {
        p.name: (p.stat().st_mtime_ns, p.read_bytes())
        for p in out.iterdir()
        if p.name != "crossreg-runs.jsonl"
    }


def test_a_resume_of_a_finished_run_does_nothing(work, tmp_path, monkeypatch, logs):
    """A job requeued after it finished, or a shard's rerun after the last wrote the
    BigWigs: OUTDIR is left as it is and no window is predicted."""
    out = tmp_path / "done"
    argv = bigwig_args(work, out, "--chroms", "chr1", "--shard", "1/2")
    assert _run(argv) == 0
    assert _run(bigwig_args(work, out, "--chroms", "chr1", "--shard", "0/2")) == 0
    written = _outdir(out)
    predicted: list[int] = []
    monkeypatch.setattr(bigwig, "predict_chunks", lambda *a, **k: predicted.append(1))
    with logs.at_level(logging.INFO, logger="crossreg"):
        assert _run([*argv, "--resume"]) == 0
        assert _run(bigwig_args(work, out, "--chroms", "chr1", "--resume")) == 0
    assert f"{out} is complete for these settings; nothing to do" in logs.text
    assert not predicted and _outdir(out) == written


def test_a_resume_of_a_run_finished_with_other_settings_is_refused(work, tmp_path, monkeypatch):
    """Refused naming what differs, OUTDIR left as it is; with --overwrite, replaced."""
    out = tmp_path / "done"
    assert _run(bigwig_args(work, out, "--chroms", "chr1")) == 0
    written = _outdir(out)
    argv = bigwig_args(work, out, "--chroms", "chr1", "--targets", "0", "--resume")
    with pytest.raises(ValueError, match="is complete from a run with other settings") as err:
        _run(argv)
    # before: "--tracks None then, 0 now", an option predict does not have
    assert "--targets every track then, 0 now" in str(err.value)
    assert "--overwrite" in str(err.value)
    assert _outdir(out) == written
    assert _run([*argv, "--overwrite"]) == 0
    assert sorted(p.name for p in out.glob("*.bw")) == ["human_t0.bw"]


@pytest.mark.parametrize("spelling", ["--head", "--genome"])
def test_a_resume_with_another_head_names_the_option_as_typed(
    work, tmp_path, monkeypatch, spelling
):
    """Of a finished run and of an interrupted one's chunks alike."""
    done, cut = tmp_path / "done", tmp_path / "cut"
    assert _run(bigwig_args(work, done, "--chroms", "chr1")) == 0
    with monkeypatch.context() as patch:
        patch.setattr(ChunkStore, "commit", stop_after_chunks(1))
        with pytest.raises(Interrupted):
            _run(bigwig_args(work, cut, "--chroms", "chr1", "--chunk-size", "2"))
    for out, refused in ((done, "is complete from"), (cut, "left by")):
        argv = bigwig_args(work, out, "--chroms", "chr1", "--chunk-size", "2")
        with pytest.raises(ValueError, match=f"{refused} a run with other settings") as err:
            _run([*argv, spelling, "mouse", "--resume"])
        assert f"{spelling} human then, mouse now" in str(err.value)


RECORDED = {
    "identity": IDENTITY_RULE,
    "bed": None,
    "chroms": ["chr1"],
    "chunk_windows": 32,
    "head": "human",
    "options": [False, [0], False],
    "tracks": None,
}


def test_settings_that_differ_are_named_by_the_options_that_set_them():
    # before: "--chroms ['chr1'] then, None now; --chunk-windows 32 then, 8 now; --head
    # human then, mouse now; --options [False, [0], False] then, [True, [1, 0, -1], False]
    # now; --tracks None then, 0 now", names predict does not take
    now = {
        **RECORDED,
        "bed": {"size": 12, "sha256": "ab"},
        "chroms": None,
        "chunk_dtype": "float16",
        "chunk_windows": 8,
        "head": "mouse",
        "options": [True, [1, 0, -1], False],
        "tracks": "0",
    }
    assert bigwig_settings.run_setting_changes(RECORDED, now) == [
        "--bed: not given then, given now",
        "--chroms chr1 then, every FASTA record now",
        "--chunk-dtype float32 then, float16 now",
        "--chunk-size 32 then, 8 now",
        "--head human then, mouse now",
        "--rc off then, on now",
        "--shifts 0 then, 1,0,-1 now",
        "--targets every track then, 0 now",
    ]
    assert bigwig_settings.run_setting_changes(
        RECORDED, {**RECORDED, "options": [False, [0], True]}
    ) == ["--bf16 off then, on now"]
    assert bigwig_settings.run_setting_changes(RECORDED, dict(RECORDED)) == []


def test_a_left_over_store_of_other_settings_names_the_options(tmp_path):
    """The chunks an interrupted run left, resumed with another --chunk-size."""
    out = tmp_path / "bw"
    store = ChunkStore(out, unit="windows", changes=bigwig_settings.run_setting_changes)
    store.open(RECORDED, resume=False, total=4)
    again = ChunkStore(out, unit="windows", changes=bigwig_settings.run_setting_changes)
    # before: "--chunk-windows 32 then, 8 now"
    with pytest.raises(ValueError, match=r"other settings \(--chunk-size 32 then, 8 now\)"):
        again.open({**RECORDED, "chunk_windows": 8}, resume=True, total=4)


def test_a_resume_of_outputs_recording_no_settings_is_treated_as_before(work, tmp_path, logs):
    """An OUTDIR of an earlier crossreg, which recorded no settings: refused without
    --overwrite, as a rerun always was; predicted again with it."""
    out = tmp_path / "old"
    argv = bigwig_args(work, out, "--chroms", "chr1")
    assert _run(argv) == 0
    summary = json.loads((out / "summary.json").read_text())
    del summary["settings"]
    (out / "summary.json").write_text(json.dumps(summary))
    with pytest.raises(
        ValueError, match="already holds the BigWigs of crossreg predict --bigwig; pass --overwrite"
    ):
        _run([*argv, "--resume"])
    with logs.at_level(logging.INFO, logger="crossreg"):
        assert _run([*argv, "--resume", "--overwrite"]) == 0
    assert "records no settings (an earlier crossreg wrote it); computing it again" in logs.text
    assert "settings" in json.loads((out / "summary.json").read_text())
