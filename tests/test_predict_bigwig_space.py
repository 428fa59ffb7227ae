"""``crossreg predict --bigwig``: the disk space a run needs is checked before it predicts,
the chunks may be kept as float16, and the space used is recorded."""

from __future__ import annotations

import errno
import json
import math
import os
import re
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pyBigWig
import pytest

from crossreg.cli import main
from crossreg.errors import CommandError
from crossreg.io.bigwig_write import BigWigFile
from crossreg.io.partial import CHUNK_NAME
from crossreg.io.space import size_text
from crossreg.model.checkpoint import load_checkpoint
from crossreg.model.tiling import Geometry, plan_tiles
from crossreg.predict import bigwig, bigwig_chunks, bigwig_files
from crossreg.predict.scratch import SpaceNeed, chunk_file_bytes
from crossreg.variants.chunk_store import ChunkStore
from tests.test_predict_bigwig import SIZES, _run, bigwig_args, stop_after_chunks, write_world

BLOCK = 4096
TRACKS = 3  # the human head's
HEADER = 128  # np.save's header of a 2-d float array


@pytest.fixture(scope="module")
def work(tmp_path_factory) -> Path:
    """The model and FASTA of ``test_predict_bigwig``."""
    return write_world(tmp_path_factory.mktemp("space"))


def chunk_bins(work: Path, chunk: int, chroms: list[str]) -> list[int]:
    """The bins of each chunk of `chunk` windows tiling `chroms` whole."""
    model, _ = load_checkpoint(work / "model")
    geometry = Geometry.of(model)
    intervals = [(c, 0, math.ceil(SIZES[c] / 128)) for c in chroms]
    tiles = plan_tiles(intervals, SIZES, geometry)
    return [sum(t.count for t in tiles[a : a + chunk]) for a in range(0, len(tiles), chunk)]


def chunks_on_disk(bins: list[int], itemsize: int = 4) -> int:
    """Each chunk's ``values.npy`` in whole blocks, and a block for its folder."""
    return sum(-(-(HEADER + TRACKS * n * itemsize) // BLOCK) * BLOCK + BLOCK for n in bins)


def data_files(root: Path) -> list[Path]:
    """The chunks' values and the BigWigs under `root`."""
    return [p for p in root.rglob("*") if p.suffix in (".npy", ".bw") and p.is_file()]


def disk(monkeypatch: pytest.MonkeyPatch, root: Path, capacity: int) -> None:
    """A disk of `capacity` bytes holding the chunks and BigWigs under `root` (their
    sizes; the small records beside them, settings and tables, are left out: the 256 KiB
    the BigWig writer keeps free is there for them)."""

    def statvfs(_path: object) -> SimpleNamespace:
        used = sum(p.stat().st_size for p in data_files(root))
        return SimpleNamespace(f_bavail=max(capacity - used, 0) // BLOCK, f_frsize=BLOCK)

    monkeypatch.setattr(os, "statvfs", statvfs)


@pytest.fixture(scope="module")
def bounds(work, tmp_path_factory) -> list[float]:
    """The bound each BigWig of chr1 reached when its writer closed it."""
    reached: list[float] = []
    original = BigWigFile.close

    def close(self: BigWigFile) -> None:
        reached.append(self.bound)
        original(self)

    out = tmp_path_factory.mktemp("bounds") / "bw"
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(BigWigFile, "close", close)
        assert _run(bigwig_args(work, out, "--chroms", "chr1", "--chunk-size", "4")) == 0
    sizes = [(out / f"human_t{i}.bw").stat().st_size for i in range(TRACKS)]
    assert len(reached) == TRACKS and all(s <= b for s, b in zip(sizes, reached, strict=True))
    return reached


def bigwigs_on_disk(bounds: list[float]) -> int:
    """Each BigWig's bound in whole blocks, 2 blocks of slack each and 256 KiB kept free."""
    return sum(-(-math.ceil(b) // BLOCK) * BLOCK + 2 * BLOCK for b in bounds) + 256 * 1024


def test_a_run_the_disk_cannot_hold_is_refused_before_predicting(
    work,
    bounds,
    tmp_path,
    monkeypatch,
    capsys,
):
    """Needed: the chunks, exactly, and the BigWigs' bound; one block less is refused
    naming both, with nothing predicted or left behind; exactly enough runs."""
    scratch = chunks_on_disk(chunk_bins(work, 4, ["chr1"]))
    need = scratch + bigwigs_on_disk(bounds)
    root = tmp_path / "runs"
    root.mkdir()
    argv = bigwig_args(work, root / "out", "--chroms", "chr1", "--chunk-size", "4")
    predicted: list[int] = []
    original = bigwig.predict_chunks
    monkeypatch.setattr(bigwig, "predict_chunks", lambda *a: predicted.append(1) or original(*a))
    disk(monkeypatch, root, need - BLOCK)
    capsys.readouterr()
    assert main(argv) == 1
    errors = [line for line in capsys.readouterr().err.splitlines() if "ERROR" in line]
    assert len(errors) == 1
    message = errors[0].split("ERROR ", 1)[1]
    assert message.startswith(f"{root / 'out'}: not enough free space for this run: it needs ")
    assert f"{size_text(scratch)} for the predictions kept in {root / 'out.partial'}" in message
    assert f"up to {size_text(need - scratch)} for the BigWigs" in message
    assert f"{size_text(need)} in all" in message
    free = re.search(r"the disk holding both has ([\d.]+) KiB free;", message)
    assert free is not None and float(free[1]) * 1024 <= need - BLOCK  # less the store's records
    assert "--targets" in message and "--chunk-dtype float16" in message
    assert not predicted and list(root.iterdir()) == []
    disk(monkeypatch, root, need)
    assert main(argv) == 0
    assert predicted and sorted(p.name for p in root.iterdir()) == ["out"]


def test_skip_space_check_runs_where_the_bigwigs_bound_does_not_fit(
    work, bounds, tmp_path, monkeypatch, logs
):
    """The bound sums every track at its largest; written one at a time, the BigWigs
    need one bound and the others' compressed sizes. A disk that holds that but not the
    bound: refused naming --skip-space-check, which then writes what a roomy disk does."""
    scratch = chunks_on_disk(chunk_bins(work, 4, ["chr1"]))
    root = tmp_path / "runs"
    root.mkdir()
    argv = bigwig_args(work, root / "out", "--chroms", "chr1", "--chunk-size", "4")
    roomy = tmp_path / "roomy"
    assert _run([*argv[: argv.index("--bigwig")], "--bigwig", str(roomy), *argv[-4:]]) == 0
    monkeypatch.setattr(bigwig_files, "OPEN_FILES", 1)
    disk(monkeypatch, root, scratch + bigwigs_on_disk(bounds) - BLOCK)
    with pytest.raises(CommandError) as err:
        _run(argv)
    assert "start anyway with --skip-space-check if the BigWigs" in str(err.value)
    assert list(root.iterdir()) == []
    assert _run([*argv, "--skip-space-check"]) == 0
    assert "going on with --skip-space-check although it needs" in logs.text
    for name in (f"human_t{i}.bw" for i in range(TRACKS)):
        assert (root / "out" / name).read_bytes() == (roomy / name).read_bytes()
    with pytest.raises(ValueError, match="--skip-space-check: only with --bigwig"):
        _run([*argv[: argv.index("--bigwig")], "--out", str(tmp_path / "x.h5"),
              "--skip-space-check"])  # fmt: skip


def test_a_full_disk_while_saving_a_chunk_names_the_store_and_resume_continues(
    work, tmp_path, monkeypatch, capsys
):
    """Skipping the check where even the chunks do not fit: the disk that fills while a
    chunk is saved stops the run in one line naming the store, the windows kept and how
    to continue; the chunks saved stay for --resume."""
    root = tmp_path / "runs"
    root.mkdir()
    argv = bigwig_args(work, root / "out", "--chroms", "chr1", "--chunk-size", "2")
    saved = np.save
    calls: list[int] = []

    def filling(path: object, values: np.ndarray) -> None:
        calls.append(1)
        if len(calls) == 3:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))  # write() names no file
        saved(path, values)

    with monkeypatch.context() as patch:
        patch.setattr(np, "save", filling)
        disk(patch, root, BLOCK)
        capsys.readouterr()
        assert main([*argv, "--skip-space-check"]) == 1
    errors = [line for line in capsys.readouterr().err.splitlines() if "ERROR" in line]
    assert len(errors) == 1
    assert errors[0].split("ERROR ", 1)[1] == (
        f"{root / 'out.partial'}: No space left on device while saving a chunk of "
        "predictions; 4 of 7 windows are kept there: free space on its disk and rerun with "
        "--resume to continue"
    )
    kept = root / "out.partial"
    assert sorted(p.name for p in kept.iterdir() if p.is_dir()) == [
        CHUNK_NAME.format(0),
        CHUNK_NAME.format(1),
    ]
    assert _run([*argv, "--resume"]) == 0
    assert sorted(p.name for p in root.iterdir()) == ["out"]


def test_a_resume_needs_only_what_remains(
    work,
    bounds,
    tmp_path,
    monkeypatch,
):
    root = tmp_path / "runs"
    root.mkdir()
    argv = bigwig_args(work, root / "out", "--chroms", "chr1", "--chunk-size", "2")
    original = ChunkStore.commit
    monkeypatch.setattr(ChunkStore, "commit", stop_after_chunks(2))
    with pytest.raises(KeyboardInterrupt):
        _run(argv)
    monkeypatch.setattr(ChunkStore, "commit", original)
    used = sum(p.stat().st_size for p in data_files(root))
    need = chunks_on_disk(chunk_bins(work, 2, ["chr1"])[2:]) + bigwigs_on_disk(bounds)
    disk(monkeypatch, root, used + need - BLOCK)
    with pytest.raises(CommandError, match="not enough free space for this run"):
        _run([*argv, "--resume"])
    kept = root / "out.partial"
    assert sorted(p.name for p in kept.iterdir() if p.is_dir()) == [
        CHUNK_NAME.format(0),
        CHUNK_NAME.format(1),
    ]
    disk(monkeypatch, root, used + need)
    assert _run([*argv, "--resume"]) == 0


def test_separate_disks_are_each_compared_with_their_own_need(tmp_path):
    """An ``OUTDIR.partial`` on another file system (a link to scratch space) than the
    BigWigs' folder: each shortage is named with its own disk's free space."""
    need = SpaceNeed(
        partial=tmp_path / "out.partial",
        outdir=tmp_path / "out",
        bins=1000,
        tracks=5313,
        dtype="float32",
        scratch=3 * 2**30,
        bigwigs=5 * 2**30,
        scratch_free=4 * 2**30,
        bigwig_free=6 * 2**30,
        shared=False,
    )
    need.check()  # each fits its own disk, though not both on one
    assert need.describe().endswith(
        "and up to 5.0 GiB for the BigWigs; 4.0 GiB and 6.0 GiB free on their disks"
    )
    with pytest.raises(CommandError) as err:
        SpaceNeed(**{**need.__dict__, "shared": True}).check()
    assert "8.0 GiB in all, and the disk holding both has 4.0 GiB free" in str(err.value)
    assert "--skip-space-check" in str(err.value)  # the chunks fit: only the bound is short
    SpaceNeed(**{**need.__dict__, "shared": True}).check(skip=True)  # warned of, not raised
    with pytest.raises(CommandError) as err:
        SpaceNeed(**{**need.__dict__, "scratch_free": 2**30, "bigwig_free": 2**30}).check()
    text = str(err.value)
    assert "--skip-space-check" not in text  # the chunks, known exactly, do not fit
    assert "3.0 GiB for the predictions kept in" in text
    assert "(1,000 bins x 5,313 tracks x 4 bytes), with 1.0 GiB free there" in text
    assert (
        f"up to 5.0 GiB for the BigWigs (an upper bound), with 1.0 GiB free beside "
        f"{tmp_path / 'out'}" in text
    )
    with pytest.raises(CommandError) as err:
        SpaceNeed(**{**need.__dict__, "dtype": "float16", "bigwig_free": 2**30}).check()
    assert "for the predictions" not in str(err.value) and "--chunk-dtype" not in str(err.value)


def test_summary_records_the_scratch_used_and_the_bigwig_bytes(work, tmp_path, logs):
    out = tmp_path / "bw"
    assert _run(bigwig_args(work, out, "--chroms", "chr1,chr2", "--chunk-size", "4")) == 0
    summary = json.loads((out / "summary.json").read_text())
    bins = chunk_bins(work, 4, ["chr1", "chr2"])
    assert summary["scratch_bytes"] == sum(HEADER + TRACKS * n * 4 for n in bins)
    written = sum(p.stat().st_size for p in out.glob("*.bw"))
    assert summary["bigwig_bytes"] == written
    assert re.search(
        rf"wrote 3 BigWigs in {re.escape(str(out))} \({re.escape(size_text(written))}\) from "
        rf"{re.escape(size_text(summary['scratch_bytes']))} of predictions kept",
        logs.text,
    )
    assert "disk space: " in logs.text and "for the BigWigs" in logs.text


def _values(out: Path, track: int) -> np.ndarray:
    with pyBigWig.open(str(out / f"human_t{track}.bw")) as bw:
        return np.array([v for chrom in ("chr1", "chr2") for *_, v in bw.intervals(chrom) or ()])


def test_float16_chunks_take_half_and_round_within_float16(work, tmp_path, monkeypatch):
    """The BigWigs from float16 chunks differ from the float32 ones by float16's rounding
    (at most 2^-11 of a value), at the same bins; the chunks take half the bytes."""
    args = ("--chroms", "chr1,chr2", "--chunk-size", "4")
    plain, half = tmp_path / "plain", tmp_path / "half"
    assert _run(bigwig_args(work, plain, *args)) == 0
    assert _run(bigwig_args(work, half, *args, "--chunk-dtype", "float16")) == 0
    for track in range(TRACKS):
        exact, rounded = _values(plain, track), _values(half, track)
        assert exact.shape == rounded.shape and exact.size > 0
        np.testing.assert_array_equal(rounded, exact.astype(np.float16).astype(np.float32))
        assert np.abs(rounded - exact).max() > 0
        assert (np.abs(rounded - exact) / np.abs(exact)).max() <= 2.0**-11
    scratch = {
        p: json.loads((p / "summary.json").read_text())["scratch_bytes"] for p in (plain, half)
    }
    bins = chunk_bins(work, 4, ["chr1", "chr2"])
    assert scratch[half] == sum(HEADER + TRACKS * n * 2 for n in bins)
    assert json.loads((half / "summary.json").read_text())["settings"]["chunk_dtype"] == "float16"
    assert "chunk_dtype" not in json.loads((plain / "summary.json").read_text())["settings"]


def test_float16_chunks_clip_values_beyond_its_range(work, tmp_path, monkeypatch):
    original = bigwig_chunks.predict_tiles

    def huge(*args, **kwargs):
        for values in original(*args, **kwargs):
            yield values * 1e6

    monkeypatch.setattr(bigwig_chunks, "predict_tiles", huge)
    out = tmp_path / "bw"
    assert _run(bigwig_args(work, out, "--chroms", "chr2", "--chunk-dtype", "float16")) == 0
    with pyBigWig.open(str(out / "human_t0.bw")) as bw:
        values = np.array([v for *_, v in bw.intervals("chr2")])
    assert np.isfinite(values).all() and values.max() == 65504.0


def test_a_resume_or_shard_with_another_chunk_dtype_is_refused_naming_it(
    work,
    tmp_path,
    monkeypatch,
):
    original = ChunkStore.commit

    def killed(self, *args):
        original(self, *args)
        raise KeyboardInterrupt

    out = tmp_path / "bw"
    monkeypatch.setattr(ChunkStore, "commit", killed)
    with pytest.raises(KeyboardInterrupt):
        _run(bigwig_args(work, out, "--chroms", "chr1", "--chunk-dtype", "float16"))
    monkeypatch.setattr(ChunkStore, "commit", original)
    with pytest.raises(ValueError, match="--chunk-dtype float16 then, float32 now"):
        _run(bigwig_args(work, out, "--chroms", "chr1", "--resume"))
    assert (
        _run(bigwig_args(work, out, "--chroms", "chr1", "--chunk-dtype", "float16", "--resume"))
        == 0
    )
    sharded = tmp_path / "sharded"
    assert _run(bigwig_args(work, sharded, "--chroms", "chr1", "--shard", "0/2")) == 0
    with pytest.raises(
        ValueError,
        match=r"than this one \(--chunk-dtype float32 then, float16 now; then: that shard",
    ):
        _run(
            bigwig_args(
                work, sharded, "--chroms", "chr1", "--shard", "1/2", "--chunk-dtype", "float16"
            )
        )


def test_chunk_dtype_is_refused_without_bigwig(work, tmp_path):
    argv = ["predict", "--model", str(work / "model"), "--genome", "human"]
    argv += ["--fasta", str(work / "genome.fa"), "--out", str(tmp_path / "p.npy")]
    with pytest.raises(ValueError, match="--chunk-dtype: only with --bigwig"):
        _run([*argv, "--chunk-dtype", "float16"])


@pytest.mark.parametrize("dtype", ["float32", "float16"])
@pytest.mark.parametrize("shape", [(1, 1), (3, 296), (5313, 7)])
def test_a_chunk_file_is_the_size_np_save_writes(tmp_path, dtype, shape):
    path = tmp_path / "values.npy"
    np.save(path, np.zeros(shape, dtype=dtype))
    assert chunk_file_bytes(*shape, dtype) == path.stat().st_size


def test_a_partial_linked_to_a_scratch_disk_keeps_the_chunks_and_is_measured_there(
    work, tmp_path, monkeypatch, capsys
):
    """``OUTDIR.partial`` linked to a folder on a scratch disk: the free space compared is
    that disk's (the file system holding the link's folder, as the kernel measures a
    link), the chunks go there (before: the run failed making the folder), and once the
    BigWigs are written the folder is emptied, the link kept for the next run."""
    root, scratch = tmp_path / "runs", tmp_path / "scratch" / "run1"
    root.mkdir()
    (root / "out.partial").symlink_to(scratch)  # a folder not made yet
    small = 8 * BLOCK  # less than the chunks need

    def statvfs(path: str | os.PathLike[str]) -> SimpleNamespace:
        on_scratch = os.path.realpath(path).startswith(str(tmp_path / "scratch"))
        return SimpleNamespace(f_bavail=(small if on_scratch else 2**40) // BLOCK, f_frsize=BLOCK)

    monkeypatch.setattr(os, "statvfs", statvfs)
    argv = bigwig_args(work, root / "out", "--chroms", "chr1", "--chunk-size", "4")
    capsys.readouterr()
    assert main(argv) == 1
    message = capsys.readouterr().err
    assert "not enough free space for this run" in message
    assert f"the disk holding both has {size_text(small)} free" in message
    assert (root / "out.partial").is_symlink() and list(scratch.iterdir()) == []
    small = 2**40
    assert main(argv) == 0
    assert sorted(p.name for p in (root / "out").glob("*.bw")) == [
        f"human_t{i}.bw" for i in range(TRACKS)
    ]
    assert (root / "out.partial").is_symlink() and list(scratch.iterdir()) == []


@pytest.mark.parametrize("shard", [[], ["--shard", "0/2"]])
def test_a_partial_linked_to_the_output_folder_is_refused_before_predicting(
    work, tmp_path, capsys, shard
):
    """``ln -s out out.partial``: the chunks went into the output folder, which the
    BigWigs' folder replaced; the store's removal then emptied it: the run said
    'wrote 3 BigWigs' and left none. A shard's link (``out.shard-0-of-2.partial``) put
    its chunks in ``out``, and the other shard was refused ('out exists, is not empty and
    is not the BigWigs of crossreg predict --bigwig')."""
    link = tmp_path / ("out.shard-0-of-2.partial" if shard else "out.partial")
    link.symlink_to("out")
    capsys.readouterr()
    argv = bigwig_args(work, tmp_path / "out", "--chroms", "chr1", "--chunk-size", "4", *shard)
    assert main(argv) == 1
    assert f"{link} links to {tmp_path / 'out'}, the output itself" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()
