"""``crossreg predict`` against a plain reference: windows placed by a plain loop, each run
through the model on its own with the rc/shift average written out in numpy, and the
outputs read back with pyBigWig and h5py."""

from __future__ import annotations

import json
from pathlib import Path

import h5py
import numpy as np
import pyBigWig
import pytest
import torch

from crossreg.cli import main
from crossreg.model.checkpoint import load_checkpoint
from crossreg.model.seqnn import SeqNN
from crossreg.variants.chunk_store import ChunkStore
from tests.test_predict_bigwig import bigwig_args, stop_after_chunks, write_world

WIDTH, CROP, BINS, LENGTH = 128, 8, 48, 8192  # the test model's geometry
ENSEMBLE = ("--rc", "--shifts", "1,0,-1")


@pytest.fixture(scope="module")
def work(tmp_path_factory) -> Path:
    """The random two-head model and FASTA of ``test_predict_bigwig``."""
    return write_world(tmp_path_factory.mktemp("reference"))


@pytest.fixture(scope="module")
def model(work) -> SeqNN:
    loaded, _ = load_checkpoint(work / "model")
    assert (loaded.seq_length, loaded.stride, loaded.crop[0], loaded.output_length()) == (
        LENGTH,
        WIDTH,
        CROP,
        BINS,
    )
    return loaded.eval()


def fasta_records(path: Path) -> dict[str, str]:
    """The records of a FASTA written one line per sequence."""
    lines = path.read_text().split()
    return {name[1:]: seq for name, seq in zip(lines[::2], lines[1::2], strict=True)}


def one_hot(seq: str, start: int) -> np.ndarray:
    """``(LENGTH, 4)`` A, C, G, T of ``seq[start : start + LENGTH]``; N and bases off the
    sequence are zeros."""
    x = np.zeros((LENGTH, 4), np.float32)
    for i in range(LENGTH):
        if 0 <= start + i < len(seq) and seq[start + i] in "ACGT":
            x[i, "ACGT".index(seq[start + i])] = 1
    return x


def shifted(x: np.ndarray, shift: int) -> np.ndarray:
    """`x` moved `shift` bp towards its end (back for a negative one), padded with N."""
    out = np.zeros_like(x)
    if shift >= 0:
        out[shift:] = x[: LENGTH - shift]
    else:
        out[:shift] = x[-shift:]
    return out


def window_prediction(
    model: SeqNN, head: str, x: np.ndarray, rc: bool, shifts: tuple[int, ...]
) -> np.ndarray:
    """``(BINS, tracks)``: the mean over `shifts` (and with `rc` the reverse complement,
    its bins flipped back) of the model run on one window."""
    preds = []
    with torch.no_grad():
        for shift in shifts:
            seq = shifted(x, shift)
            preds.append(model(torch.from_numpy(seq[None]), head)[0].numpy())
            if rc:
                back = model(torch.from_numpy(seq[::-1, ::-1].copy()[None]), head)[0].numpy()
                preds.append(back[::-1])
    return np.mean(preds, axis=0)


def chromosome_windows(size: int) -> list[tuple[int, range]]:
    """Whole-chromosome windows: each starts one window's central bins after the one
    before, the last moved back to end on the chromosome, each keeping the grid bins no
    window before it predicted."""
    if size < LENGTH:
        return []
    last = (size - LENGTH) // WIDTH * WIDTH
    starts = list(range(0, last + 1, BINS * WIDTH))
    if starts[-1] != last:
        starts.append(last)
    windows, done = [], CROP
    for start in starts:
        first = start // WIDTH + CROP
        windows.append((start, range(max(first, done), first + BINS)))
        done = first + BINS
    return windows


def region_windows(size: int, lo: int, hi: int) -> list[tuple[int, range]]:
    """The windows of grid bins ``[lo, hi)``: the first keeps bin `lo` as its first
    output bin, each next one starts where the one before stopped, and one that would
    run past the chromosome is moved back to end on it; bins no window on the chromosome
    reaches are left out."""
    last = (size - LENGTH) // WIDTH  # the last window's start, in bins
    lo, hi = max(lo, CROP), min(hi, last + CROP + BINS)
    windows, j = [], lo
    while j < hi:
        start = min(j - CROP, last)
        keep = range(j, min(hi, start + CROP + BINS))
        windows.append((start * WIDTH, keep))
        j = keep.stop
    return windows


def reference_tracks(
    model: SeqNN,
    records: dict[str, str],
    windows: dict[str, list[tuple[int, range]]],
    head: str,
    tracks: list[int],
    rc: bool = False,
    shifts: tuple[int, ...] = (0,),
) -> dict[str, np.ndarray]:
    """Per chromosome ``(tracks, grid bins)``: NaN, and each window's kept bins."""
    out = {c: np.full((len(tracks), -(-len(s) // WIDTH)), np.nan) for c, s in records.items()}
    for chrom, chrom_windows in windows.items():
        for start, keep in chrom_windows:
            pred = window_prediction(model, head, one_hot(records[chrom], start), rc, shifts)
            first = start // WIDTH + CROP
            out[chrom][:, keep.start : keep.stop] = pred[keep.start - first : keep.stop - first][
                :, tracks
            ].T
    return out


def read_bigwig(path: Path, records: dict[str, str]) -> dict[str, np.ndarray]:
    """Per chromosome its grid bins' values, NaN where the file has none; every entry is
    checked to be whole bins."""
    out = {}
    with pyBigWig.open(str(path)) as bw:
        assert bw.chroms() == {c: len(s) for c, s in records.items()}  # the FASTA's sizes
        for chrom, seq in records.items():
            values = np.full(-(-len(seq) // WIDTH), np.nan)
            for start, end, value in bw.intervals(chrom) or ():
                assert start % WIDTH == 0 and end - start == WIDTH
                values[start // WIDTH] = value
            out[chrom] = values
    return out


def test_bigwigs_are_the_models_predictions_of_abutting_windows(work, model, tmp_path):
    """Every bin of every BigWig is the rc/shift-averaged prediction of the window a plain
    loop assigns it; the bins no window on the chromosome reaches have no value."""
    records = fasta_records(work / "genome.fa")
    out = tmp_path / "bw"
    argv = bigwig_args(work, out, "--targets", "2,0", "--chunk-size", "3", "--batch-size", "2")
    assert main([*argv, *ENSEMBLE]) == 0
    windows = {c: chromosome_windows(len(s)) for c, s in records.items()}
    want = reference_tracks(model, records, windows, "human", [2, 0], True, (1, 0, -1))
    for k, name in enumerate(["human_t2.bw", "human_t0.bw"]):
        got = read_bigwig(out / name, records)
        for chrom in records:
            np.testing.assert_allclose(got[chrom], want[chrom][k], rtol=1e-4, atol=1e-5)
    # chr1 (40,000 bp): bins 8 .. 303 have values; the crop at the start, the last 9
    # bins (1,088 bp: the crop and the part-window at the end) and chrS have none
    values = read_bigwig(out / "human_t0.bw", records)
    assert np.flatnonzero(~np.isnan(values["chr1"])).tolist() == list(range(8, 304))
    assert np.isnan(values["chrS"]).all()
    predicted = 304 - 8 + (17_000 - 8192) // 128 + 48
    with pyBigWig.open(str(out / "human_t0.bw")) as bw:
        assert bw.header()["nBasesCovered"] == predicted * 128
    summary = json.loads((out / "summary.json").read_text())
    asked = sum(-(-len(seq) // 128) for seq in records.values())
    assert (summary["requested_bins"], summary["predicted_bins"]) == (asked, predicted)
    assert summary["windows"] == sum(len(w) for w in windows.values())


def test_bed_regions_are_tiled_from_their_first_bin(work, model, tmp_path):
    """With --bed the windows of each (merged) region start at its first grid bin, so
    its values are those of its own windows, not of a whole-chromosome run's."""
    records = fasta_records(work / "genome.fa")
    bed = tmp_path / "regions.bed"
    # a long region, two that overlap (merged), one into chr2's end crop (its window moved
    # back to fit), one on a chromosome shorter than a window
    bed.write_text("chr1\t3000\t12000\nchr1\t20000\t21000\nchr1\t20500\t22000\n"
                   "chr2\t14000\t16500\nchrS\t0\t100\n")  # fmt: skip
    out = tmp_path / "bw"
    argv = bigwig_args(work, out, "--bed", str(bed), "--targets", "1")
    argv[argv.index("human")] = "mouse"
    assert main(argv) == 0
    windows = {
        "chr1": region_windows(40_000, 3000 // 128, -(-12_000 // 128))
        + region_windows(40_000, 20_000 // 128, -(-22_000 // 128)),
        "chr2": region_windows(17_000, 14_000 // 128, -(-16_500 // 128)),
    }
    assert [start for start, _ in windows["chr1"]] == [1920, 8064, 18944]
    assert windows["chr2"] == [((17_000 - LENGTH) // 128 * 128, range(109, 124))]
    want = reference_tracks(model, records, windows, "mouse", [1])
    got = read_bigwig(out / "mouse_t1.bw", records)
    for chrom in records:
        np.testing.assert_allclose(got[chrom], want[chrom][0], rtol=1e-4, atol=1e-5)
    assert np.flatnonzero(~np.isnan(got["chr1"])).tolist() == [
        *range(23, 94),
        *range(156, 172),
    ]
    assert np.flatnonzero(~np.isnan(got["chr2"])).tolist() == list(range(109, 124))


def test_h5_rows_are_windows_and_a_long_region_joins_to_the_bigwig(work, model, tmp_path):
    """.h5: one row per window with the targets' labels; a short region is centred in its
    window (off the chromosome: N), a long one is tiled as --bigwig tiles it, and its rows
    joined by first_bin/bin_count equal the BigWig of the same BED."""
    records = fasta_records(work / "genome.fa")
    bed = tmp_path / "regions.bed"
    bed.write_text("chr2\t100\t300\tnear_start\nchr1\t3000\t12000\tlong\n")
    out = tmp_path / "preds.h5"
    base = ["-q", "predict", "--model", str(work / "model"), "--genome", "human"]
    base += ["--fasta", str(work / "genome.fa"), "--bed", str(bed), "--targets", "2,0"]
    assert main([*base, "--out", str(out), *ENSEMBLE]) == 0
    long_windows = region_windows(40_000, 3000 // 128, -(-12_000 // 128))
    with h5py.File(out) as handle:
        preds = handle["preds"][:]
        assert preds.shape == (1 + len(long_windows), BINS, 2) and preds.dtype == np.float32
        assert [s.decode() for s in handle["target_ids"][:]] == ["human_t2", "human_t0"]
        assert [s.decode() for s in handle["target_labels"][:]] == ["CAGE:human 2", "CAGE:human 0"]
        assert [s.decode() for s in handle["name"][:]] == ["near_start", "long:1", "long:2"]
        assert [s.decode() for s in handle["chrom"][:]] == ["chr2", "chr1", "chr1"]
        centre = 200 - LENGTH // 2  # the window runs 3,896 bp off chr2's start
        assert list(handle["start"][:]) == [centre] + [s for s, _ in long_windows]
        assert list(handle["end"][:]) == [s + LENGTH for s in handle["start"][:]]
        first, count = handle["first_bin"][:].tolist(), handle["bin_count"][:].tolist()
    assert first[0] == 0 and count[0] == BINS
    want = window_prediction(model, "human", one_hot(records["chr2"], centre), True, (1, 0, -1))
    np.testing.assert_allclose(preds[0], want[:, [2, 0]], rtol=1e-4, atol=1e-5)
    joined = np.concatenate(
        [preds[i, first[i] : first[i] + count[i]] for i in range(1, len(long_windows) + 1)]
    )
    assert len(joined) == 94 - 23  # the grid bins 3,000-12,000 overlaps, less the crop
    bigwig = tmp_path / "bw"
    assert main([*base, "--bigwig", str(bigwig), *ENSEMBLE]) == 0
    for k, name in enumerate(["human_t2.bw", "human_t0.bw"]):
        values = read_bigwig(bigwig / name, records)["chr1"]
        np.testing.assert_allclose(joined[:, k], values[23:94], rtol=1e-6)


def _bigwig_bytes(out: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(out.glob("*.bw"))}


def test_shards_and_resume_write_the_bytes_one_run_writes(work, tmp_path, monkeypatch):
    """Shards (each predicting whole chunks, so the same batches as one run) and a killed
    run resumed write the same BigWig bytes as one run of the same options; another batch
    size, whose batches the model computes in another order, agrees to float32 rounding,
    as --chroms and --targets (batched apart, the head cut) do with that run's values."""
    records = fasta_records(work / "genome.fa")
    options = ("--chunk-size", "4", "--batch-size", "3")  # 10 windows: chunks of 4, 4, 2
    one = tmp_path / "one"
    assert main([*bigwig_args(work, one), *options]) == 0
    expected = _bigwig_bytes(one)
    assert sorted(expected) == ["human_t0.bw", "human_t1.bw", "human_t2.bw"]
    sharded = tmp_path / "sharded"
    for i in (2, 0, 1):
        assert main([*bigwig_args(work, sharded, "--shard", f"{i}/3"), *options]) == 0
    assert _bigwig_bytes(sharded) == expected
    many = tmp_path / "many"  # more shards than chunks: some predict nothing
    for i in range(5):
        assert main([*bigwig_args(work, many, "--shard", f"{i}/5"), *options]) == 0
    assert _bigwig_bytes(many) == expected
    resumed = tmp_path / "resumed"
    argv = [*bigwig_args(work, resumed), *options]
    with monkeypatch.context() as patch:
        patch.setattr(ChunkStore, "commit", stop_after_chunks(2))
        assert main(argv) == 130
    assert main([*argv, "--resume"]) == 0
    assert _bigwig_bytes(resumed) == expected
    batched = tmp_path / "batched"
    assert main([*bigwig_args(work, batched), "--chunk-size", "4", "--batch-size", "4"]) == 0
    subset = tmp_path / "subset"
    assert main([*bigwig_args(work, subset, "--chroms", "chr2", "--targets", "1"), *options]) == 0
    assert sorted(_bigwig_bytes(subset)) == ["human_t1.bw"]
    for k in range(3):
        whole = read_bigwig(one / f"human_t{k}.bw", records)
        other = read_bigwig(batched / f"human_t{k}.bw", records)
        for chrom in records:
            np.testing.assert_allclose(other[chrom], whole[chrom], rtol=1e-6, atol=1e-7)
    got = read_bigwig(subset / "human_t1.bw", records)
    whole = read_bigwig(one / "human_t1.bw", records)["chr2"]
    np.testing.assert_allclose(got["chr2"], whole, rtol=1e-6, atol=1e-7)
    assert np.isnan(got["chr1"]).all() and np.isnan(got["chrS"]).all()
