"""BigWig → targets: known answers on hand-made BigWigs and parity with a numpy reference."""

from __future__ import annotations

import math

import numpy as np
import pytest

from crossreg.data import bigwig_chrom_sizes, compute_targets
from crossreg.io.targets import read_targets
from tests.data_inputs import random_bigwig, write_bigwig, write_table
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


def test_chromosome_absent_from_the_bigwig_reads_as_zero(tmp_path, step_bw):
    row = {"identifier": "t", "file": step_bw.name, "clip": BIG, "scale": 1, "sum_stat": "sum"}
    values, _ = targets_of(tmp_path, [row], [("chr2", 0), ("chr3", 0)], bins=4)
    assert not values.any()


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


def test_soft_clip_threshold_defaults_to_clip(tmp_path):
    bw = write_bigwig(tmp_path / "c.bw", SIZES, [("chr1", 0, 128, 32.5), ("chr1", 128, 256, 36)])
    row = {"identifier": "t", "file": bw.name, "clip": 32, "scale": 1, "sum_stat": "mean"}
    values, _ = targets_of(tmp_path, [row], [("chr1", 0)], bins=2)
    # soft clip at 32 keeps 32.5 (< 33) and maps 36 to 34; the hard clip at 32 then caps both
    np.testing.assert_allclose(values[0, :, 0], [32, 32])


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


def test_chrom_sizes_and_unreadable_files(tmp_path, step_bw):
    assert bigwig_chrom_sizes(step_bw) == list(SIZES.items())
    with pytest.raises(FileNotFoundError, match=r"nope\.bw"):
        bigwig_chrom_sizes(tmp_path / "nope.bw")
    (tmp_path / "text.bw").write_text("not a bigwig\n" * 20)
    with pytest.raises(ValueError, match="not a BigWig"):
        bigwig_chrom_sizes(tmp_path / "text.bw")
