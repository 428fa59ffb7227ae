"""Contigs, split regions, tiling and bin masks of the dataset windows."""

from __future__ import annotations

import itertools
import logging

import numpy as np
import pytest

from crossreg.data.fractions import fraction_split, fraction_warnings
from crossreg.data.plan import Layout
from crossreg.data.windows import (
    bin_mask,
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


def test_held_out_regions_take_their_own_stride():
    regions = [
        Interval("a", 0, 40, ("train",)),
        Interval("a", 40, 80, ("test",)),
        Interval("b", 0, 40, ("valid",)),
        Interval("b", 40, 80, ("fold0",)),
    ]
    w = tile(regions, seq_length=10, stride=5, strides=Layout(stride=5, stride_test=10).strides)
    by_split = {s: w.starts[w.splits == s].tolist() for s in ("train", "test", "valid", "fold0")}
    assert by_split == {
        "train": [0, 5, 10, 15, 20, 25, 30],
        "test": [40, 50, 60, 70],
        "valid": [0, 10, 20, 30],
        "fold0": [40, 45, 50, 55, 60, 65, 70],
    }
    assert Layout(stride=5).strides == {}


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


def split_windows(pieces, seed=3, **fractions):
    regions = fraction_split(
        pieces, seq_length=131_072, stride=65_599, block_size=1_048_576, seed=seed, **fractions
    )
    return regions, tile(regions, 131_072, 65_599)


def shares(windows) -> dict[str, float]:
    names, counts = np.unique(windows.splits, return_counts=True)
    return {str(n): c / len(windows) for n, c in zip(names, counts, strict=True)}


def assert_no_overlap_across_splits(windows) -> None:
    order = np.lexsort((windows.starts, windows.chroms))
    for i, j in itertools.pairwise(order.tolist()):
        if (
            windows.chroms[i] == windows.chroms[j]
            and windows.starts[i] + 131_072 > windows.starts[j]
        ):
            assert windows.splits[i] == windows.splits[j]


def test_fraction_split_is_deterministic_and_hits_the_fractions():
    pieces = [Interval("a", 0, 200_000_000), Interval("b", 0, 70_000_000)]
    one, windows = split_windows(pieces, valid=0.1, test=0.2)
    two, _ = split_windows(pieces, valid=0.1, test=0.2)
    other, _ = split_windows(pieces, seed=4, valid=0.1, test=0.2)
    assert one == two and [r.extra for r in one] != [r.extra for r in other]
    # within a block of windows, and the train windows dropped where splits meet
    got = shares(windows)
    assert got["valid"] == pytest.approx(0.1, abs=0.01)
    assert got["test"] == pytest.approx(0.2, abs=0.01)
    assert_no_overlap_across_splits(windows)
    # the regions tile back into windows that each lie inside one region
    for r in one:
        assert r.length >= 131_072 and (r.length - 131_072) % 65_599 == 0
    with pytest.raises(ValueError, match="fractions"):
        fraction_split(pieces, seq_length=10, stride=5, valid=0.6, test=0.5, block_size=10, seed=0)


@pytest.mark.parametrize(
    ("pieces", "block", "counts"),
    [
        # one 1-Mb chromosome and six 5-kb ones (hold no window): every window went to valid
        (
            [Interval("chr1", 0, 1_000_000)] + [Interval(f"chrU{i}", 0, 5_000) for i in range(6)],
            1,
            {"train": 9, "valid": 1, "test": 1},
        ),
        # a 3-Mb stretch of human: exactly 90/5/5
        ([Interval("chr21", 0, 3_000_000)], 2, {"train": 36, "valid": 2, "test": 2}),
    ],
)
def test_fraction_split_of_a_small_genome_gives_every_split_windows(pieces, block, counts, caplog):
    with caplog.at_level(logging.WARNING, logger="crossreg"):
        _, windows = split_windows(pieces, seed=44, valid=0.05, test=0.05)
    assert f"blocks of {block} window(s) are used" in caplog.text
    assert {s: int((windows.splits == s).sum()) for s in counts} == counts
    assert_no_overlap_across_splits(windows)


def test_fraction_warnings_name_the_splits_that_miss():
    assert fraction_warnings({"train": 90, "valid": 5, "test": 5}, 0.05, 0.05) == []
    (warning,) = fraction_warnings({"train": 9, "valid": 1, "test": 1}, 0.05, 0.05)
    assert "valid 1 (9.1%, requested 5.0%)" in warning and "of 11 windows" in warning
    (warning,) = fraction_warnings({"train": 14}, 0.05, 0.05)
    assert "valid 0 (0.0%" in warning and "test 0 (0.0%" in warning


def test_bin_mask_matches_brute_force_overlap():
    rng = np.random.default_rng(1)
    chroms = np.array(["a"] * 20 + ["c"])
    starts = rng.integers(0, 8000, 21)
    intervals = [Interval("a", s, s + int(rng.integers(0, 300))) for s in rng.integers(0, 9000, 60)]
    intervals += [Interval("b", 0, 5), *(Interval("a", s, s) for s in starts[:6] + 200)]
    mask = bin_mask(chroms, starts, 8, 128, intervals)
    for w in range(21):
        for b in range(8):
            s = starts[w] + 128 * b
            hit = any(  # 1 bp or more in common; an empty interval has none
                iv.chrom == chroms[w] and min(iv.end, s + 128) - max(iv.start, s) >= 1
                for iv in intervals
            )
            assert mask[w, b] == hit


def test_fraction_warnings_count_the_windows_kept_and_weigh_them_by_stride():
    # 9 test windows at 4× the stride stand for 36: the share is of 36 in 78, the count 9
    counts = {"train": 30, "valid": 3, "test": 9}
    (warning,) = fraction_warnings(counts, 0.1, 0.1, {"valid": 4.0, "test": 4.0})
    assert "test 9 (46.2%, requested 10.0%)" in warning and "of 42 windows" in warning
    assert "each test window as 4 at --stride" in warning
