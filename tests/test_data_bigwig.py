"""BigWig → targets: known answers on hand-made BigWigs and parity with a numpy reference."""

from __future__ import annotations

import json
import logging
import math
import shutil
import struct
from pathlib import Path

import numpy as np
import pyBigWig
import pytest

from crossreg import _native
from crossreg.cli import main
from crossreg.data import DataStore, bigwig_chrom_sizes, compute_targets
from crossreg.data.bigwig import bigwig_identity, report_absent_chromosomes
from crossreg.io.identity import identity_difference
from crossreg.io.targets_read import read_targets
from tests.data_inputs import random_bigwig, random_genome, write_bigwig, write_fasta, write_table
from tests.data_reference import reference_targets

SIZES = {"chr1": 2048, "chr2": 1024}
BIG = 1e6  # a clip that never acts


def targets_of(tmp_path, rows, windows, *, bins, mask=None, clip_soft=False, **kw):
    table = read_targets(write_table(tmp_path / "targets.txt", rows, clip_soft=clip_soft))
    chroms = np.array([c for c, _ in windows])
    starts = np.array([s for _, s in windows])
    values, stats = compute_targets(
        table, list(table), chroms, starts, bins=bins, mask=mask, threads=2, **kw
    )
    return values.astype(np.float64), stats


@pytest.fixture
def step_bw(tmp_path):
    # bin 0: 64 bases of 2, 64 of 4; bin 1: 64 negative bases, 64 missing; bin 2: all 1.
    entries = [("chr1", 0, 64, 2.0), ("chr1", 64, 128, 4.0), ("chr1", 128, 192, -5.0)]
    entries.append(("chr1", 256, 384, 1.0))
    return write_bigwig(tmp_path / "step.bw", SIZES, entries)


@pytest.mark.parametrize(
    ("stat", "expect"),
    [
        ("sum", [384, 0, 128]),
        ("mean", [3, 0, 1]),
        ("max", [4, 0, 1]),
        ("sum_sqrt", [math.sqrt(385) - 1, 0, math.sqrt(129) - 1]),
        ("mean_sqrt", [1, 0, math.sqrt(2) - 1]),
    ],
)
def test_each_sum_stat_pools_exact_base_values(tmp_path, step_bw, stat, expect):
    row = {"identifier": "t", "file": step_bw.name, "clip": BIG, "scale": 1, "sum_stat": stat}
    values, _ = targets_of(tmp_path, [row], [("chr1", 0)], bins=3)
    np.testing.assert_allclose(values[0, :, 0], expect, rtol=1e-3)


def test_replicates_average_per_base_with_missing_as_zero(tmp_path):
    write_bigwig(tmp_path / "a.bw", SIZES, [("chr1", 0, 128, 2.0)])
    write_bigwig(tmp_path / "b.bw", SIZES, [("chr1", 0, 64, 4.0), ("chr1", 64, 128, -1.0)])
    rows = [
        {"identifier": s, "file": "a.bw,b.bw", "clip": BIG, "scale": 1, "sum_stat": s}
        for s in ("sum", "mean", "max")
    ]
    values, _ = targets_of(tmp_path, rows, [("chr1", 0)], bins=1)
    # per base: (2 + 4) / 2 = 3 on 64 bases, (2 + 0) / 2 = 1 on 64 bases
    np.testing.assert_allclose(values[0, 0], [256, 2, 3])


@pytest.mark.parametrize(("stat", "pool"), [("sum", np.sum), ("mean", np.mean), ("max", np.max)])
def test_overlapping_records_add_up_alike_in_one_file_and_in_replicates(tmp_path, stat, pool):
    # fixedStep with span 20 > step 10 (pyBigWig writes it): each base past the first 10
    # is covered by two records, whose values add up there (max: the largest such sum)
    path = tmp_path / "overlap.bw"
    bw = pyBigWig.open(str(path), "w")
    bw.addHeader(list(SIZES.items()), maxZooms=0)
    bw.addEntries("chr1", 0, values=[1.0, 2.0, 4.0, 8.0], span=20, step=10)
    bw.close()
    (tmp_path / "copy.bw").write_bytes(path.read_bytes())
    other = write_bigwig(tmp_path / "flat.bw", SIZES, [("chr1", 5, 45, 1.0)])
    per_base = np.zeros(128)
    for i, value in enumerate([1.0, 2.0, 4.0, 8.0]):
        per_base[10 * i : 10 * i + 20] += value
    flat = np.zeros(128)
    flat[5:45] = 1.0
    for files, expect in (
        ("overlap.bw", per_base),
        ("overlap.bw,copy.bw", per_base),
        (f"overlap.bw,{other.name}", (per_base + flat) / 2),
    ):
        row = {"identifier": "t", "file": files, "clip": BIG, "scale": 1, "sum_stat": stat}
        values, _ = targets_of(tmp_path, [row], [("chr1", 0)], bins=2, pool_width=64)
        bins = pool(expect.reshape(2, 64), axis=1)
        np.testing.assert_allclose(values[0, :, 0], bins, rtol=1e-3, err_msg=files)


def test_windows_whose_length_overflows_64_bits_are_refused(tmp_path, step_bw):
    """2 bins of 2^63 bp: their span wrapped around to 0 bp and every bin came back 0."""
    row = {"identifier": "t", "file": step_bw.name, "clip": BIG, "scale": 1, "sum_stat": "sum"}
    with pytest.raises(ValueError, match="longer than a BigWig chromosome"):
        targets_of(tmp_path, [row], [("chr1", 0)], bins=2, pool_width=2**63)


@pytest.mark.parametrize("threads", [0, 1025, 2**40])
def test_a_thread_count_outside_1_to_1024_is_refused(tmp_path, step_bw, threads):
    """2**40 tried to start that many threads (the call never returned); 0 meant all cores."""
    row = {"identifier": "t", "file": step_bw.name, "clip": BIG, "scale": 1, "sum_stat": "sum"}
    table = read_targets(write_table(tmp_path / "targets.txt", [row]))
    chroms, starts = np.array(["chr1"]), np.array([0])
    with pytest.raises(ValueError, match=f"threads must be from 1 to 1024 .*; got {threads}"):
        compute_targets(table, list(table), chroms, starts, bins=2, threads=threads)


def test_a_negative_or_fractional_start_is_refused(tmp_path, step_bw):
    """-128 became 2^64 - 128 in the cast to uint64, and 2.5 became 2."""
    row = {"identifier": "t", "file": step_bw.name, "clip": BIG, "scale": 1, "sum_stat": "sum"}
    with pytest.raises(ValueError, match="starts are BigWig positions, 0 or more; got -128"):
        targets_of(tmp_path, [row], [("chr1", -128)], bins=2)
    with pytest.raises(TypeError, match="starts must be integers"):
        targets_of(tmp_path, [row], [("chr1", 2.5)], bins=2)


def test_chromosome_absent_from_the_bigwig_is_masked_with_the_fill_value(tmp_path, step_bw):
    # chr2 is in the file without data (true zeros); chr3 is not in the file at all
    row = {"identifier": "t", "file": step_bw.name, "clip": BIG, "scale": 1, "sum_stat": "sum"}
    windows = [("chr1", 0), ("chr1", 128), ("chr2", 0), ("chr3", 0)]
    values, stats = targets_of(tmp_path, [row], windows, bins=2)
    # unmasked bins: 384, 0 | 0, 128 | 0, 0 → 25th percentile 0; then chr1 at 128 masked too
    assert stats[0]["absent_fraction"] == pytest.approx(1 / 4)
    assert stats[0]["fill_value"] == 0
    assert stats[0]["pooled_mean"] == pytest.approx(512 / 6)  # chr3's bins are not zeros
    assert stats[0]["pooled_max"] == 384
    np.testing.assert_allclose(values[:, :, 0], [[384, 0], [0, 128], [0, 0], [0, 0]])
    mask = np.zeros((4, 2), dtype=bool)
    mask[0] = True  # masking the 384 and 0 leaves 0, 128, 0, 0: fill 0; chr3 gets it
    _, stats = targets_of(tmp_path, [row], windows, bins=2, mask=mask)
    assert stats[0]["fill_value"] == 0
    step = write_bigwig(
        tmp_path / "ones.bw", SIZES, [("chr1", 0, 2048, 1.0), ("chr2", 0, 1024, 3.0)]
    )
    row = {"identifier": "t", "file": step.name, "clip": BIG, "scale": 1, "sum_stat": "mean"}
    values, stats = targets_of(tmp_path, [row], [("chr1", 0), ("chr2", 0), ("chrX", 0)], bins=2)
    # unmasked bins 1, 1, 3, 3: the 25th percentile is 1, given to both chrX bins
    np.testing.assert_allclose(values[:, :, 0], [[1, 1], [3, 3], [1, 1]])
    assert stats[0]["absent_fraction"] == pytest.approx(1 / 3)


def test_replicate_lacking_a_chromosome_is_left_out_of_its_average(tmp_path):
    write_bigwig(tmp_path / "a.bw", SIZES, [("chr1", 0, 128, 2.0), ("chr2", 0, 128, 2.0)])
    write_bigwig(tmp_path / "b.bw", {"chr1": 2048}, [("chr1", 0, 128, 4.0)])
    row = {"identifier": "t", "file": "a.bw,b.bw", "clip": BIG, "scale": 1, "sum_stat": "mean"}
    values, stats = targets_of(tmp_path, [row], [("chr1", 0), ("chr2", 0)], bins=1)
    np.testing.assert_allclose(values[:, 0, 0], [3, 2])  # chr2: a alone, not (2 + 0) / 2
    assert stats[0]["absent_fraction"] == 0


def test_masked_bins_get_the_tracks_25th_percentile_over_all_windows(tmp_path):
    # bin b of chr1 holds value b + 1 on every base: mean = b + 1
    entries = [("chr1", 128 * b, 128 * (b + 1), b + 1.0) for b in range(16)]
    bw = write_bigwig(tmp_path / "ramp.bw", SIZES, entries)
    row = {"identifier": "t", "file": bw.name, "clip": BIG, "scale": 1, "sum_stat": "mean"}
    mask = np.zeros((2, 8), dtype=bool)
    mask[0, 7] = mask[1, 0] = True  # values 8 and 9 masked
    values, stats = targets_of(tmp_path, [row], [("chr1", 0), ("chr1", 1024)], bins=8, mask=mask)
    unmasked = [v for v in range(1, 17) if v not in (8, 9)]
    fill = np.percentile(unmasked, 25)
    assert stats[0]["fill_value"] == pytest.approx(fill)
    assert values[0, 7, 0] == pytest.approx(fill, rel=1e-3)
    assert values[1, 0, 0] == pytest.approx(fill, rel=1e-3)
    np.testing.assert_allclose(values[0, :7, 0], np.arange(1, 8))
    np.testing.assert_allclose(values[1, 1:, 0], np.arange(10, 17))


@pytest.mark.parametrize(("quantile", "fill"), [(0.0, 1.0), (0.5, 9.0), (1.0, 16.0)])
def test_masked_bins_get_the_fill_quantile_given(tmp_path, quantile, fill):
    # the ramp's unmasked bin means are 1..16 without 8: its minimum, median and maximum
    entries = [("chr1", 128 * b, 128 * (b + 1), b + 1.0) for b in range(16)]
    bw = write_bigwig(tmp_path / "ramp.bw", SIZES, entries)
    row = {"identifier": "t", "file": bw.name, "clip": BIG, "scale": 1, "sum_stat": "mean"}
    mask = np.zeros((2, 8), dtype=bool)
    mask[0, 7] = True
    windows = [("chr1", 0), ("chr1", 1024)]
    values, stats = targets_of(tmp_path, [row], windows, bins=8, mask=mask, fill_quantile=quantile)
    assert stats[0]["fill_value"] == fill
    assert values[0, 7, 0] == fill


def test_soft_clip_then_hard_clip_then_scale(tmp_path):
    entries = [("chr1", 0, 128, 20.0), ("chr1", 128, 256, 100.0), ("chr1", 256, 384, 5.0)]
    bw = write_bigwig(tmp_path / "c.bw", SIZES, entries)
    rows = [
        # clip_soft 8, clip 32, scale 2: 20 → 8 + sqrt(12); 100 → 8 + sqrt(92); 5 stays
        {
            "identifier": "soft",
            "file": bw.name,
            "clip": 32,
            "clip_soft": 8,
            "scale": 2,
            "sum_stat": "mean",
        },
        # clip_soft 8, clip 10: 100 → 17.6 → 10 (hard)
        {
            "identifier": "hard",
            "file": bw.name,
            "clip": 10,
            "clip_soft": 8,
            "scale": 0.5,
            "sum_stat": "mean",
        },
    ]
    values, stats = targets_of(tmp_path, rows, [("chr1", 0)], bins=3, clip_soft=True)
    np.testing.assert_allclose(
        values[0, :, 0], [2 * (8 + math.sqrt(12)), 2 * (8 + math.sqrt(92)), 10], rtol=1e-3
    )
    np.testing.assert_allclose(values[0, :, 1], [0.5 * 10, 0.5 * 10, 2.5], rtol=1e-3)
    assert stats[0]["clipped_fraction"] == pytest.approx(2 / 3)


def test_without_clip_soft_clip_is_the_soft_clips_threshold_and_nothing_caps_it(tmp_path):
    records = [("chr1", 0, 128, 32.5), ("chr1", 128, 256, 36), ("chr1", 256, 384, 132)]
    bw = write_bigwig(tmp_path / "c.bw", SIZES, records)
    row = {"identifier": "t", "file": bw.name, "clip": 32, "scale": 2, "sum_stat": "mean"}
    values, stats = targets_of(tmp_path, [row], [("chr1", 0)], bins=3)
    # the paper's min(x, t + sqrt(max(0, x - t))) at t = 32: 32.5 stays (< 33), 36 → 34,
    # 132 → 42; then × 2
    np.testing.assert_array_equal(values[0, :, 0], np.float16([65, 68, 84]))
    assert stats[0]["clipped_fraction"] == pytest.approx(1)
    assert stats[0]["overflow_fraction"] == 0


def test_values_beyond_float16_are_stored_as_its_largest_and_counted(tmp_path):
    bw = write_bigwig(tmp_path / "c.bw", SIZES, [("chr1", 0, 128, 1000), ("chr1", 128, 256, 1)])
    row = {"identifier": "t", "file": bw.name, "clip": 1e6, "scale": 1, "sum_stat": "sum"}
    values, stats = targets_of(tmp_path, [row], [("chr1", 0)], bins=2)
    np.testing.assert_array_equal(values[0, :, 0], np.float16([65504, 128]))
    assert stats[0]["overflow_fraction"] == pytest.approx(1 / 2)
    assert stats[0]["pooled_max"] == 128_000


def test_windows_in_any_order_match_the_numpy_pybigwig_reference(tmp_path):
    sizes = {"chr1": 60_000, "chr2": 30_000}
    for i in range(3):
        random_bigwig(tmp_path / f"r{i}.bw", sizes, seed=i)
    rows = [
        {"identifier": "a", "file": "r0.bw", "clip": 32, "scale": 2, "sum_stat": "mean"},
        {"identifier": "b", "file": "r1.bw,r2.bw", "clip": 384, "scale": 1, "sum_stat": "sum"},
        {"identifier": "c", "file": "r2.bw", "clip": 20, "scale": 1, "sum_stat": "max"},
        {"identifier": "d", "file": "r0.bw", "clip": 64, "scale": 1, "sum_stat": "sum_sqrt"},
        {"identifier": "e", "file": "r1.bw", "clip": 8, "scale": 3, "sum_stat": "mean_sqrt"},
    ]
    table = read_targets(write_table(tmp_path / "t.txt", rows))
    rng = np.random.default_rng(0)
    bins = 40
    chroms = np.array(["chr2", "chr1", "chr1", "chr1", "chr2", "chr1"])
    starts = np.array([30_000 - bins * 128, 0, 777, 3000, 5, 60_000 - bins * 128])
    mask = rng.random((len(starts), bins)) < 0.1
    ours, _ = compute_targets(table, list(table), chroms, starts, bins=bins, mask=mask, threads=2)
    ref = reference_targets(table, chroms.tolist(), starts.tolist(), bins=bins, mask=mask)
    np.testing.assert_allclose(
        ours.astype(np.float32), ref.astype(np.float32), rtol=2e-3, atol=1e-3
    )


def mixed_bigwig(path, sizes, seed):
    """A BigWig of every record kind (bedGraph runs, fixed steps, variable steps) with
    gaps, zeros, negatives, 1-bp runs and runs spanning many 128-bp bins; the last runs
    may reach past the chromosome's end (pyBigWig writes them; readers cut them there)."""
    rng = np.random.default_rng(seed)
    bw = pyBigWig.open(str(path), "w")
    bw.addHeader(list(sizes.items()))
    for chrom, size in sizes.items():
        pos = int(rng.integers(0, 500))
        while pos < size - 2000:
            kind = rng.integers(0, 4)
            if kind == 0:  # an uncovered gap
                pos += int(rng.geometric(1 / 1500))
                continue
            n = int(rng.integers(1, 40))
            values = rng.lognormal(0.0, 1.0, n)
            values[rng.random(n) < 0.2] = 0.0
            values[rng.random(n) < 0.05] *= -1
            if kind == 1:  # bedGraph: runs of 1 bp to several kbp
                lengths = np.minimum(rng.geometric(1 / 60, n), 3000)
                lengths[rng.random(n) < 0.1] = 1
                ends = pos + np.cumsum(lengths)
                starts = np.concatenate(([pos], ends[:-1]))
                bw.addEntries(
                    [chrom] * n, starts.tolist(), ends=ends.tolist(), values=values.tolist()
                )
                pos = int(ends[-1])
            elif kind == 2:  # fixedStep: span ≤ step, half of them base by base
                step = 1 if rng.random() < 0.5 else int(rng.integers(1, 200))
                span = int(rng.integers(1, step + 1))
                bw.addEntries(chrom, pos, values=values.tolist(), span=span, step=step)
                pos += n * step
            else:  # variableStep
                starts = pos + np.cumsum(rng.integers(20, 400, n))
                span = 20
                bw.addEntries(chrom, starts.tolist(), values=values.tolist(), span=span)
                pos = int(starts[-1]) + span
            pos += int(rng.integers(0, 50))
    bw.close()
    return path


@pytest.mark.parametrize("pool_width", [128, 50])
def test_interval_pooling_matches_the_per_base_reference_on_random_tracks(tmp_path, pool_width):
    full = {"chr1": 90_000, "chr2": 40_000, "chr3": 20_000}
    mixed_bigwig(tmp_path / "m0.bw", full, seed=1)
    mixed_bigwig(tmp_path / "m1.bw", full, seed=2)
    mixed_bigwig(tmp_path / "m2.bw", {"chr1": 90_000, "chr2": 40_000}, seed=3)  # lacks chr3
    rows = [
        {"identifier": f"{s}{k}", "file": f, "clip": BIG, "scale": 1, "sum_stat": s}
        for s in ("sum", "mean", "max", "sum_sqrt", "mean_sqrt")
        for k, f in enumerate(["m0.bw", "m1.bw,m2.bw", "m2.bw", "m0.bw,m1.bw,m2.bw"])
    ]
    table = read_targets(write_table(tmp_path / "t.txt", rows))
    bins = 96
    span = bins * pool_width
    rng = np.random.default_rng(pool_width)
    chroms, starts = [], []
    for chrom, size in full.items():
        # overlapping windows at odd offsets, one past the chromosome's end, one at 0
        s = [*rng.integers(0, size - span, 12).tolist(), size - span // 3, 0]
        chroms += [chrom] * len(s)
        starts += s
    chroms.append("chr1")
    starts.append(full["chr1"] + 500)  # entirely past the end: zeros, not absent
    chroms, starts = np.array(chroms), np.array(starts)
    order = rng.permutation(len(starts))
    chroms, starts = chroms[order], starts[order]
    mask = rng.random((len(starts), bins)) < 0.05
    ours, stats = compute_targets(
        table, list(table), chroms, starts, bins=bins, pool_width=pool_width, mask=mask, threads=2
    )
    ref = reference_targets(
        table, chroms.tolist(), starts.tolist(), bins=bins, pool_width=pool_width, mask=mask
    )
    np.testing.assert_allclose(
        ours.astype(np.float32), ref.astype(np.float32), rtol=2e-3, atol=1e-3
    )
    assert (ours == ref).mean() > 0.99
    on_chr3 = (chroms == "chr3").mean()
    absent = {r["identifier"]: s["absent_fraction"] for r, s in zip(rows, stats, strict=True)}
    assert absent == {r["identifier"]: on_chr3 if r["file"] == "m2.bw" else 0 for r in rows}


def test_threads_and_window_order_do_not_change_the_targets(tmp_path):
    sizes = {"chr1": 60_000, "chr2": 30_000}
    mixed_bigwig(tmp_path / "m.bw", sizes, seed=4)
    rows = [{"identifier": "a", "file": "m.bw", "clip": 32, "scale": 2, "sum_stat": "sum"}]
    table = read_targets(write_table(tmp_path / "t.txt", rows))
    chroms = np.array(["chr1"] * 20 + ["chr2"] * 8)
    starts = np.concatenate([np.arange(20) * 2_500, np.arange(8) * 2_500])
    one, _ = compute_targets(table, list(table), chroms, starts, bins=40, threads=1)
    order = np.random.default_rng(0).permutation(len(starts))
    two, _ = compute_targets(table, list(table), chroms[order], starts[order], bins=40, threads=2)
    np.testing.assert_array_equal(two, one[order])


def test_chrom_sizes_and_unreadable_files(tmp_path, step_bw):
    assert bigwig_chrom_sizes(step_bw) == list(SIZES.items())
    with pytest.raises(FileNotFoundError, match=r"nope\.bw"):
        bigwig_chrom_sizes(tmp_path / "nope.bw")
    (tmp_path / "text.bw").write_text("not a bigwig\n" * 20)
    with pytest.raises(ValueError, match="not a BigWig"):
        bigwig_chrom_sizes(tmp_path / "text.bw")


def test_data_masks_chromosomes_a_track_lacks_and_strict_refuses(tmp_path, capsys, monkeypatch):
    sizes = {"chr1": 12_000, "chr2": 8_000}
    fasta = write_fasta(tmp_path / "g.fa", random_genome(sizes, seed=1))
    write_bigwig(tmp_path / "full.bw", sizes, [("chr1", 0, 12_000, 2.0), ("chr2", 0, 8_000, 4.0)])
    write_bigwig(tmp_path / "chr1.bw", {"chr1": 12_000}, [("chr1", 0, 12_000, 1.0)])
    rows = [
        {"identifier": "full", "file": "full.bw", "clip": BIG, "scale": 1, "sum_stat": "mean"},
        {"identifier": "part", "file": "chr1.bw", "clip": BIG, "scale": 1, "sum_stat": "mean"},
    ]
    table = write_table(tmp_path / "t.txt", rows)
    args = ["data", "--genome", "g", "--fasta", str(fasta), "--targets", str(table)]
    args += ["--seq-length", "2048", "--crop", "2", "--stride", "2048", "--regions"]
    (tmp_path / "regions.bed").write_text("chr1\t0\t12000\ttrain\nchr2\t0\t8000\ttest\n")
    args += [str(tmp_path / "regions.bed")]
    opened: list[str] = []
    read_sizes = _native.bigwig_chrom_sizes

    def counted(path: str) -> list[tuple[str, int]]:
        opened.append(path)
        return read_sizes(path)

    monkeypatch.setattr(_native, "bigwig_chrom_sizes", counted)
    assert main([*args, "--out", str(tmp_path / "store")]) == 0
    # each file's chromosome list read once (before: again to find what tracks lack)
    assert sorted(opened) == [str(tmp_path / "chr1.bw"), str(tmp_path / "full.bw")]
    err = capsys.readouterr().err
    assert "track 'part': no data on 1 of the genome's 2 chromosomes (chr2, 40.00%" in err
    store = DataStore(tmp_path / "store")
    assert [t["absent_fraction"] for t in store.track_stats()] == [0, pytest.approx(3 / 8)]
    test = store.targets("test").astype(np.float64)
    np.testing.assert_array_equal(test[:, :, 0], 4)  # chr2: real data
    np.testing.assert_array_equal(test[:, :, 1], 1)  # chr2 lacked: chr1's fill value, not 0
    assert main([*args, "--out", str(tmp_path / "strict"), "--strict"]) != 0
    err = capsys.readouterr().err
    assert "1 track(s) lack chromosomes of the genome (--strict)" in err
    assert "track 'part': no data on 1 of the genome's 2 chromosomes (chr2, 40.00%" in err
    assert not (tmp_path / "strict").exists()


def test_data_warns_about_tracks_beyond_float16(tmp_path, capsys):
    sizes = {"chr1": 12_000}
    fasta = write_fasta(tmp_path / "g.fa", random_genome(sizes, seed=2))
    write_bigwig(tmp_path / "hot.bw", sizes, [("chr1", 0, 12_000, 1000.0)])
    rows = [
        {"identifier": "ok", "file": "hot.bw", "clip": BIG, "scale": 1, "sum_stat": "mean"},
        {"identifier": "hot", "file": "hot.bw", "clip": 1e6, "scale": 1, "sum_stat": "sum"},
    ]
    table = write_table(tmp_path / "t.txt", rows)
    args = ["data", "--genome", "g", "--fasta", str(fasta), "--targets", str(table)]
    args += ["--seq-length", "2048", "--crop", "2", "--stride", "2048"]
    assert main([*args, "--out", str(tmp_path / "store")]) == 0
    err = capsys.readouterr().err
    assert "1 tracks have bins above the float16 range" in err and "hot (100%)" in err
    store = DataStore(tmp_path / "store")
    assert [t["overflow_fraction"] for t in store.track_stats()] == [0, 1]
    assert float(store.targets("train").max()) == 65504


def test_data_warns_about_tracks_that_are_zero_everywhere(tmp_path, capsys):
    sizes = {"chr1": 12_000}
    fasta = write_fasta(tmp_path / "g.fa", random_genome(sizes, seed=2))
    write_bigwig(tmp_path / "some.bw", sizes, [("chr1", 3072, 3200, 5.0)])  # one bin
    write_bigwig(tmp_path / "empty.bw", sizes, [])  # a header, no data
    write_bigwig(tmp_path / "negative.bw", sizes, [("chr1", 0, 12_000, -3.0)])
    rows = [
        {"identifier": i, "file": f"{i}.bw", "clip": 32, "scale": 2, "sum_stat": "mean"}
        for i in ("some", "empty", "negative")
    ]
    table = write_table(tmp_path / "t.txt", rows)
    args = ["data", "--genome", "g", "--fasta", str(fasta), "--targets", str(table)]
    args += ["--seq-length", "2048", "--crop", "2", "--stride", "2048"]
    assert main([*args, "--out", str(tmp_path / "store")]) == 0
    err = capsys.readouterr().err
    assert "2 tracks are 0 in every bin of the windows" in err
    assert "no positive value there" in err and ": empty, negative; check their files" in err
    store = DataStore(tmp_path / "store")
    assert [t["pooled_max"] for t in store.track_stats()] == [5, 0, 0]


def test_dataset_json_holds_infinite_track_statistics_as_null(tmp_path):
    sizes = {"chr1": 12_000}
    fasta = write_fasta(tmp_path / "g.fa", random_genome(sizes, seed=3))
    # +inf on 10 bases of every 1,000, some of them in every window's targets
    entries = [("chr1", a, a + 10, math.inf) for a in range(500, 12_000, 1000)]
    write_bigwig(tmp_path / "inf.bw", sizes, [*entries, ("chr1", 100, 200, 2.0)])
    rows = [{"identifier": "inf", "file": "inf.bw", "clip": 32, "scale": 2, "sum_stat": "mean"}]
    table = write_table(tmp_path / "t.txt", rows)
    args = ["data", "--genome", "g", "--fasta", str(fasta), "--targets", str(table)]
    args += ["--seq-length", "2048", "--crop", "2", "--stride", "2048"]
    assert main([*args, "--out", str(tmp_path / "store")]) == 0

    def refuse(token: str) -> None:
        raise ValueError(f"dataset.json holds {token}, which is not JSON")

    text = (tmp_path / "store" / "dataset.json").read_text()
    (stats,) = json.loads(text, parse_constant=refuse)["tracks"]
    assert stats["pooled_mean"] is None and stats["pooled_max"] is None
    assert stats["clipped_fraction"] > 0 and math.isfinite(stats["target_mean"])
    assert DataStore(tmp_path / "store").track_stats() == [stats]


def test_a_track_shard_checks_only_its_own_tracks_chromosomes(tmp_path, capsys):
    sizes = {"chr1": 12_000, "chr2": 8_000}
    fasta = write_fasta(tmp_path / "g.fa", random_genome(sizes, seed=1))
    write_bigwig(tmp_path / "full.bw", sizes, [("chr1", 0, 12_000, 2.0), ("chr2", 0, 8_000, 4.0)])
    write_bigwig(tmp_path / "chr1.bw", {"chr1": 12_000}, [("chr1", 0, 12_000, 1.0)])
    rows = [
        {"identifier": "full", "file": "full.bw", "clip": BIG, "scale": 1, "sum_stat": "mean"},
        {"identifier": "part", "file": "chr1.bw", "clip": BIG, "scale": 1, "sum_stat": "mean"},
    ]
    table = write_table(tmp_path / "t.txt", rows)
    args = ["data", "--genome", "g", "--fasta", str(fasta), "--targets", str(table)]
    args += ["--seq-length", "2048", "--crop", "2", "--stride", "2048", "--strict"]
    # shard 0 holds only 'full', which covers the genome: no warning, --strict passes
    assert main([*args, "--tracks", "0/2", "--out", str(tmp_path / "s0")]) == 0
    assert "track 'part'" not in capsys.readouterr().err
    # shard 1 holds 'part', which lacks chr2: --strict refuses it, naming only that track
    assert main([*args, "--tracks", "1/2", "--out", str(tmp_path / "s1")]) != 0
    err = capsys.readouterr().err
    assert "1 track(s) lack chromosomes of the genome (--strict)" in err
    assert "track 'part': no data on 1 of the genome's 2 chromosomes" in err
    assert not (tmp_path / "s1").exists()


def test_a_bigwig_without_data_reads_as_zeros_on_its_chromosomes(tmp_path):
    empty = pyBigWig.open(str(tmp_path / "empty.bw"), "w")
    empty.addHeader(list(SIZES.items()))  # libBigWig writes a data index offset of 0
    empty.close()
    write_bigwig(tmp_path / "a.bw", SIZES, [("chr1", 0, 128, 2.0)])
    rows = [
        {"identifier": "e", "file": "empty.bw", "clip": BIG, "scale": 1, "sum_stat": "sum"},
        {"identifier": "r", "file": "a.bw,empty.bw", "clip": BIG, "scale": 1, "sum_stat": "sum"},
    ]
    values, stats = targets_of(tmp_path, rows, [("chr1", 0), ("chr2", 0)], bins=1)
    np.testing.assert_allclose(values[:, 0], [[0, 128], [0, 0]])  # (2 + 0) / 2 per base
    assert [s["absent_fraction"] for s in stats] == [0, 0]


def test_tracks_lacking_the_same_chromosomes_share_one_line(tmp_path, logs):
    # as thousands of ENCODE tracks all lack chrM and the unplaced contigs of the FASTA
    sizes = {"chr1": 12_000, "chr2": 8_000, "chr3": 4_000}
    write_bigwig(tmp_path / "full.bw", sizes, [("chr1", 0, 10, 1.0)])
    write_bigwig(tmp_path / "chr1.bw", {"chr1": 12_000}, [("chr1", 0, 10, 1.0)])
    write_bigwig(tmp_path / "chr12.bw", {"chr1": 12_000, "chr2": 8_000}, [("chr1", 0, 10, 1.0)])
    files = ["full.bw", *["chr1.bw"] * 30, "chr12.bw"]
    rows = [
        {"identifier": f"t{i}", "file": f, "clip": BIG, "scale": 1, "sum_stat": "mean"}
        for i, f in enumerate(files)
    ]
    table = read_targets(write_table(tmp_path / "t.txt", rows))
    file_chroms = {
        file: frozenset(name for name, _ in bigwig_chrom_sizes(file))
        for target in table
        for file in table.track_files(target)
    }
    found = report_absent_chromosomes(table, sizes, file_chroms)
    assert len(found) == 31
    warnings = [r.getMessage() for r in logs.records if r.levelno == logging.WARNING]
    assert warnings == [
        "30 tracks ('t1', 't2', 't3', ... (30 in all)): no data on 2 of the genome's 3 "
        "chromosomes (chr2, chr3, 50.00% of its bases): their bins are masked (--strict makes "
        "this an error)",
        "track 't31': no data on 1 of the genome's 3 chromosomes (chr3, 16.67% of its bases): "
        "their bins are masked (--strict makes this an error)",
    ]
    with pytest.raises(ValueError, match=r"31 track\(s\) lack chromosomes .*\n  30 tracks \("):
        report_absent_chromosomes(table, sizes, file_chroms, strict=True)


def test_data_tells_tracks_of_infinite_values_from_those_beyond_float16(tmp_path, capsys):
    """A +inf in a BigWig stays +inf through the soft clip and the scale: the warning about
    its bins stored as 65,504 says to check the file, not to lower a clip or scale that
    cannot help; its pooled statistics are null in dataset.json."""
    sizes = {"chr1": 12_000}
    fasta = write_fasta(tmp_path / "g.fa", random_genome(sizes, seed=2))
    write_bigwig(tmp_path / "hot.bw", sizes, [("chr1", 0, 12_000, 1000.0)])
    write_bigwig(tmp_path / "inf.bw", sizes, [("chr1", 5000, 5010, math.inf)])
    rows = [
        {"identifier": "hot", "file": "hot.bw", "clip": 1e6, "scale": 1, "sum_stat": "sum"},
        {"identifier": "inf", "file": "inf.bw", "clip": 32, "scale": 0.5, "sum_stat": "sum"},
    ]
    table = write_table(tmp_path / "t.txt", rows)
    args = ["data", "--genome", "g", "--fasta", str(fasta), "--targets", str(table)]
    args += ["--seq-length", "2048", "--crop", "2", "--stride", "2048"]
    assert main([*args, "--out", str(tmp_path / "store"), "--threads", "1"]) == 0
    err = capsys.readouterr().err
    assert "1 tracks have bins above the float16 range after clipping and scaling" in err
    assert "hot (100%); lower their clip or scale" in err
    assert "1 tracks have bins of +inf (their BigWigs hold +inf values" in err
    assert "inf (1.67%); check their files" in err
    store = DataStore(tmp_path / "store")
    inf_stats = store.track_stats()[1]
    assert (inf_stats["pooled_max"], inf_stats["pooled_mean"]) == (None, None)
    assert inf_stats["overflow_fraction"] == pytest.approx(1 / 60)
    targets = np.concatenate([store.targets(s)[:, :, 1] for s in store.splits])
    assert (targets == 65504).sum() == 1 and np.isfinite(targets.astype(np.float32)).all()


def test_a_bigwig_s_identity_sees_its_summary_index_and_end_and_a_copy_is_the_same(tmp_path):
    path = tmp_path / "large.bw"
    bw = pyBigWig.open(str(path), "w")
    bw.addHeader([("chr1", 3_000_000)])
    values = np.random.default_rng(5).gamma(1.0, 3.0, 300_000)
    bw.addEntries("chr1", 0, values=values.tolist(), span=10, step=10)
    bw.close()
    data = path.read_bytes()
    size = len(data)
    _, _, _, _, data_start, index = struct.unpack_from("<IHHQQQ", data)
    (summary,) = struct.unpack_from("<Q", data, 44)
    # read in part, not whole: 64 KiB blocks apart from each other
    assert index - data_start > 300_000 and size - index > 2 * 65_536
    found = bigwig_identity(path)
    assert found["size"] == size
    (tmp_path / "node").mkdir()
    copy = Path(shutil.copy(path, tmp_path / "node" / "copied.bw"))  # another path and time
    assert bigwig_identity(copy) == found
    # a byte of the summary of every value, of the index's start, of the end: seen; one
    # amid the data, between the blocks read: unseen (as documented)
    for offset in (summary + 24, index + 100, size - 10):
        edited = bytearray(data)
        edited[offset] ^= 1
        copy.write_bytes(bytes(edited))
        assert identity_difference(found, bigwig_identity(copy)).startswith(
            "the same size, other content (SHA-256 of sampled blocks "
        )
    edited = bytearray(data)
    edited[data_start + 200_000] ^= 1
    copy.write_bytes(bytes(edited))
    assert bigwig_identity(copy) == found
