"""Contigs, split regions, tiling and bin masks of the dataset windows."""

from __future__ import annotations

import numpy as np
import pytest

from crossreg.data.windows import (
    bin_mask,
    fraction_split,
    intersect_labelled,
    labelled_regions,
    n_runs,
    order_by_split,
    subtract,
    tile,
)
from crossreg.io.bed import Interval


def test_n_runs_finds_long_runs_in_both_cases():
    seq = b"ACNNNNGTnnnnnnA" + b"N" * 3
    assert n_runs(seq, 4) == [(2, 6), (8, 14)]
    assert n_runs(seq, 1) == [(2, 6), (8, 14), (15, 18)]


def test_subtract_leaves_pieces_between_holes():
    regions = [Interval("a", 0, 100), Interval("b", 0, 50)]
    holes = [Interval("a", 10, 20), Interval("a", 15, 30), Interval("a", 90, 120)]
    assert subtract(regions, holes) == [
        Interval("a", 0, 10),
        Interval("a", 30, 90),
        Interval("b", 0, 50),
    ]


def test_tile_keeps_windows_wholly_inside_each_region():
    regions = [Interval("a", 10, 40, ("train",)), Interval("b", 0, 9, ("test",))]
    w = tile(regions, seq_length=10, stride=7)
    assert w.starts.tolist() == [10, 17, 24]  # 31 + 10 > 40
    assert w.chroms.tolist() == ["a"] * 3
    assert set(w.splits.tolist()) == {"train"}


def test_labelled_regions_merge_per_label_and_refuse_overlaps():
    regs = [
        Interval("a", 0, 10, ("train",)),
        Interval("a", 10, 20, ("train",)),
        Interval("a", 20, 30, ("valid",)),
    ]
    merged = labelled_regions(regs, source="r.bed")
    assert [(iv.start, iv.end, iv.extra) for iv in merged] == [
        (0, 20, ("train",)),
        (20, 30, ("valid",)),
    ]
    with pytest.raises(ValueError, match=r"r.bed: a:5-12 is labelled both .train. and .test."):
        labelled_regions([*regs, Interval("a", 5, 12, ("test",))], source="r.bed")
    with pytest.raises(ValueError, match="no split label"):
        labelled_regions([Interval("a", 0, 5)], source="r.bed")


def test_windows_stay_inside_one_split_and_one_contig():
    contig_pieces = [Interval("a", 0, 100), Interval("a", 120, 300)]
    labelled = [Interval("a", 0, 200, ("train",)), Interval("a", 200, 300, ("valid",))]
    regions = intersect_labelled(contig_pieces, labelled)
    assert [(r.start, r.end, r.extra[0]) for r in regions] == [
        (0, 100, "train"),
        (120, 200, "train"),
        (200, 300, "valid"),
    ]
    w = order_by_split(tile(regions, 50, 25))
    for chrom, start, split in zip(w.chroms, w.starts, w.splits, strict=True):
        assert any(
            r.start <= start and start + 50 <= r.end and r.extra[0] == split for r in regions
        )
        assert chrom == "a"
    assert w.split_names() == ["train", "valid"]
    assert list(w.splits) == sorted(w.splits, key=["train", "valid"].index)


def test_fraction_split_is_deterministic_and_hits_the_fractions():
    pieces = [Interval("a", 0, 10_000_000), Interval("b", 0, 7_000_000)]
    one = fraction_split(pieces, valid=0.1, test=0.2, block_size=100_000, seed=3)
    two = fraction_split(pieces, valid=0.1, test=0.2, block_size=100_000, seed=3)
    other = fraction_split(pieces, valid=0.1, test=0.2, block_size=100_000, seed=4)
    assert [(r.chrom, r.start, r.end, r.extra) for r in one] == [
        (r.chrom, r.start, r.end, r.extra) for r in two
    ]
    assert [r.extra for r in one] != [r.extra for r in other]
    total = 17_000_000
    share = {s: sum(r.length for r in one if r.extra[0] == s) / total for s in ("valid", "test")}
    assert share["valid"] == pytest.approx(0.1, abs=0.006)
    assert share["test"] == pytest.approx(0.2, abs=0.006)
    assert sum(r.length for r in one) == total
    with pytest.raises(ValueError, match="fractions"):
        fraction_split(pieces, valid=0.6, test=0.5, block_size=10, seed=0)


def test_bin_mask_matches_brute_force_overlap():
    rng = np.random.default_rng(1)
    intervals = [Interval("a", s, s + int(rng.integers(1, 300))) for s in rng.integers(0, 9000, 40)]
    intervals.append(Interval("b", 0, 5))
    chroms = np.array(["a"] * 20 + ["c"])
    starts = rng.integers(0, 8000, 21)
    mask = bin_mask(chroms, starts, 8, 128, intervals)
    for w in range(21):
        for b in range(8):
            s = starts[w] + 128 * b
            hit = any(
                iv.chrom == chroms[w] and iv.start < s + 128 and iv.end > s for iv in intervals
            )
            assert mask[w, b] == hit
