"""BigWigs in the layouts writers choose read as the records planted in them: both byte
orders, blocks compressed or not, chromosome and index trees of several levels, leaves
unsorted, nodes padded; every section kind, overlapping records, missing, infinite and
negative values, records past a chromosome's end, chromosomes of length 0 and 1."""

from __future__ import annotations

import math
import shutil

import numpy as np
import pyBigWig
import pytest

from crossreg.data import compute_targets
from crossreg.io.targets_read import read_targets
from tests.bbi_files import BEDGRAPH, FIXED_STEP, VARIABLE_STEP, Section, write_bigwig
from tests.data_inputs import write_table
from tests.data_reference import finish


def _values(rng: np.random.Generator, n: int) -> list[float]:
    """Multiples of 1/8 (sums of them are exact in float32), some missing, infinite or
    negative."""
    values = rng.integers(0, 800, n) / 8
    kind = rng.random(n)
    values[kind < 0.05] *= -1
    values[(kind > 0.05) & (kind < 0.07)] = np.nan
    values[(kind > 0.07) & (kind < 0.075)] = np.inf
    return values.tolist()


def planted_track(seed: int) -> tuple[list[tuple[str, int]], list[Section]]:
    """Chromosomes (names of 2 to 18 characters, not in sorted order) and sections of every
    kind over them, the last one of a chromosome reaching past its end."""
    rng = np.random.default_rng(seed)
    names = [f"c{i}" + "x" * int(rng.integers(0, 16)) for i in range(60)]
    chroms = [(name, int(rng.choice([0, 1, 700, 3000, 6000]))) for name in names]
    sections = []
    for cid, (_, size) in enumerate(chroms):
        pos = int(rng.integers(0, 40))
        while pos < size:
            kind, n = int(rng.integers(1, 4)), int(rng.integers(1, 30))
            values = _values(rng, n)
            if kind == BEDGRAPH:
                ends = pos + np.cumsum(rng.integers(1, 90, n))
                starts = np.concatenate(([pos], ends[:-1]))
                ends += rng.integers(0, 30, n) * (rng.random(n) < 0.2)  # overlaps
                items = list(zip(starts.tolist(), ends.tolist(), values, strict=True))
                sections.append(Section(cid, kind, items))
                pos = int(ends.max())
            elif kind == VARIABLE_STEP:
                span = int(rng.integers(1, 40))
                starts = pos + np.cumsum(rng.integers(span, span + 100, n))
                sections.append(
                    Section(cid, kind, list(zip(starts.tolist(), values, strict=True)), span=span)
                )
                pos = int(starts[-1]) + span
            else:  # span above the step in some: records overlapping
                step = int(rng.integers(1, 50))
                span = 1 if step == 1 else int(rng.integers(1, 2 * step))
                steps = [(v,) for v in values]
                sections.append(Section(cid, kind, steps, start=pos, step=step, span=span))
                pos += (n - 1) * step + span
            pos += int(rng.integers(0, 300))
    return chroms, sections


def planted_coverage(chroms, sections) -> dict[str, np.ndarray]:
    """Per-base sums of the records (missing and negative values as 0, +inf kept), cut at
    each chromosome's end."""
    cover = {name: np.zeros(size) for name, size in chroms}
    for section in sections:
        name, size = chroms[section.chrom_id]
        for start, end, value in section.records():
            cover[name][start : min(end, size)] += value if value > 0 else 0.0
    return cover


def out_of_order(sections: list[Section]) -> list[Section]:
    """The sections as bigWigCat stores them when given the later halves of the
    chromosomes (one file) before their first halves (another): each input's blocks in
    turn, so each chromosome's later blocks first in the file."""
    halves: tuple[list[Section], list[Section]] = ([], [])
    for cid in sorted({s.chrom_id for s in sections}):
        own = [s for s in sections if s.chrom_id == cid]
        halves[0].extend(own[: len(own) // 2])
        halves[1].extend(own[len(own) // 2 :])
    return halves[1] + halves[0]


CHROMS, SECTIONS = planted_track(seed=3)
SIZES = dict(CHROMS)
ORDER = np.random.default_rng(0).permutation(len(CHROMS)).tolist()
LAYOUTS = {
    "little-endian": (SECTIONS, {}),
    "big-endian": (SECTIONS, {"big_endian": True}),
    "uncompressed": (SECTIONS, {"compress": False}),
    "big-endian, uncompressed": (SECTIONS, {"big_endian": True, "compress": False}),
    "trees of several levels": (SECTIONS, {"chrom_block_size": 3, "index_block_size": 2}),
    "leaves unsorted, nodes padded": (
        SECTIONS,
        {"chrom_order": ORDER, "pad": True, "chrom_block_size": 4, "index_block_size": 3},
    ),
    "blocks out of order, as bigWigCat concatenates": (out_of_order(SECTIONS), {}),
}


def targets_of(tmp_path, files: str, stat: str, pool: int) -> tuple[np.ndarray, np.ndarray]:
    """The targets of a track of `files` over every chromosome (tiled, a window past each
    end) in 1,024-bp windows, and those of the planted records."""
    row = {"identifier": "t", "file": files, "clip": 1e6, "scale": 1, "sum_stat": stat}
    table = read_targets(write_table(tmp_path / "t.txt", [row]))
    bins = 1024 // pool
    span = bins * pool
    windows = [(name, s) for name, size in CHROMS for s in range(0, size + span, span)]
    chroms, starts = np.array([w[0] for w in windows]), np.array([w[1] for w in windows])
    ours, _ = compute_targets(table, list(table), chroms, starts, bins=bins, pool_width=pool)
    cover = planted_coverage(CHROMS, SECTIONS)
    bases = np.zeros((len(windows), span))
    for w, (name, start) in enumerate(windows):
        part = cover[name][start : start + span]
        bases[w, : len(part)] = part
    per_bin = bases.reshape(len(windows), bins, pool)
    pooled = {"sum": per_bin.sum(2), "mean": per_bin.sum(2) / pool, "max": per_bin.max(2)}[stat]
    assert np.isinf(pooled).any() or pooled.max() > 1e30  # the infinite values are there
    with np.errstate(over="ignore", invalid="ignore"):
        return ours[:, :, 0], finish(pooled, np.zeros(pooled.shape, bool), table[0])


@pytest.mark.parametrize("layout", list(LAYOUTS))
@pytest.mark.parametrize(("stat", "pool"), [("sum", 1), ("sum", 128), ("mean", 128), ("max", 128)])
def test_each_layout_reads_as_its_planted_records(tmp_path, layout, stat, pool):
    sections, options = LAYOUTS[layout]
    write_bigwig(tmp_path / "t.bw", CHROMS, sections, **options)
    ours, want = targets_of(tmp_path, "t.bw", stat, pool)
    np.testing.assert_array_equal(ours, want)


@pytest.mark.parametrize("stat", ["mean", "max"])
def test_a_replicate_whose_blocks_are_out_of_order_averages_per_base(tmp_path, stat):
    """Replicates are merged base by base, walking each file's blocks along the
    chromosome: a bigWigCat file's blocks are walked in the order of their bases."""
    write_bigwig(tmp_path / "a.bw", CHROMS, SECTIONS)
    write_bigwig(tmp_path / "b.bw", CHROMS, out_of_order(SECTIONS))
    ours, want = targets_of(tmp_path, "a.bw,b.bw", stat, 128)
    np.testing.assert_array_equal(ours, want)


# base 7 holds 1 and base 31 the value tested, the last of the first 32-bp bin (so that
# its record ends on a bin edge), in each kind of section (the fixedStep of step and span
# 1 is read as a run of bases)
LONE_BASE = {
    "bedGraph": lambda v: Section(0, BEDGRAPH, [(7, 8, 1.0), (31, 32, v)]),
    "variableStep": lambda v: Section(0, VARIABLE_STEP, [(7, 1.0), (31, v)], span=1),
    "fixedStep of step 1": lambda v: Section(
        0, FIXED_STEP, [(1.0,), *[(0.0,)] * 23, (v,)], start=7, step=1, span=1
    ),
    "fixedStep of step 24": lambda v: Section(
        0, FIXED_STEP, [(1.0,), (v,)], start=7, step=24, span=1
    ),
}


@pytest.mark.parametrize("kind", list(LONE_BASE))
@pytest.mark.parametrize("files", ["t.bw", "t.bw,u.bw"])  # u.bw: a copy of t.bw
@pytest.mark.parametrize("stat", ["sum", "mean", "max", "sum_sqrt"])
def test_a_lone_infinite_or_missing_base_pools_alike_in_every_section_kind(
    tmp_path, kind, files, stat
):
    """+inf stays +inf (its bin pools to +inf, so the track's pooled statistics are
    infinite, stored as null in dataset.json, and its target is float16's largest); -inf,
    as a negative value, and NaN, as missing data, count as 0."""
    row = {"identifier": "t", "file": files, "clip": 1e6, "scale": 1, "sum_stat": stat}
    table = read_targets(write_table(tmp_path / "t.txt", [row]))
    # the bin of the base holding 1, as float32 pools it
    f32 = np.float32
    one = {"sum": f32(1), "mean": f32(1 / 32), "max": f32(1), "sum_sqrt": np.sqrt(f32(2)) - 1}[stat]
    for value in (math.inf, -math.inf, math.nan):
        write_bigwig(tmp_path / "t.bw", [("chr1", 1000)], [LONE_BASE[kind](value)])
        shutil.copyfile(tmp_path / "t.bw", tmp_path / "u.bw")
        chroms = np.array(["chr1"])
        targets, (stats,) = compute_targets(table, list(table), chroms, [0], bins=4, pool_width=32)
        if value == math.inf:
            assert (stats["pooled_max"], stats["pooled_mean"]) == (math.inf, math.inf), value
            assert targets[0, :, 0].tolist() == [65504, 0, 0, 0]
            assert stats["overflow_fraction"] == 0.25
        else:
            assert stats["pooled_max"] == one, value
            assert stats["pooled_mean"] == pytest.approx(one / 4, rel=1e-6), value
            assert targets[0, :, 0].tolist() == [np.float16(one), 0, 0, 0]


def test_masked_bins_of_a_track_mostly_infinite_take_its_infinite_quantile(tmp_path):
    """The fill value (the 25th percentile of the unmasked bins) lies between two +inf bins
    here: it is +inf, stored as 65,504, not the NaN that interpolating them would give."""
    write_bigwig(tmp_path / "t.bw", [("chr1", 1000)], [Section(0, BEDGRAPH, [(0, 96, math.inf)])])
    row = {"identifier": "t", "file": "t.bw", "clip": 32, "scale": 1, "sum_stat": "max"}
    table = read_targets(write_table(tmp_path / "t.txt", [row]))
    mask = np.array([[False, False, False, True]])
    chroms = np.array(["chr1"])
    targets, (stats,) = compute_targets(
        table, list(table), chroms, [0], bins=4, pool_width=32, mask=mask
    )
    assert stats["fill_value"] == math.inf
    assert targets[0, :, 0].tolist() == [65504] * 4
    assert stats["overflow_fraction"] == 1.0


def test_the_planted_records_are_what_pybigwig_reads(tmp_path):
    """The writer's little-endian file, read by libBigWig: each chromosome's records up to
    its end, in order."""
    path = write_bigwig(tmp_path / "t.bw", CHROMS, SECTIONS, chrom_block_size=3, index_block_size=2)
    handle = pyBigWig.open(str(path))
    assert handle.chroms() == SIZES
    for cid, (name, size) in enumerate(CHROMS):
        if size == 0:  # pyBigWig refuses a query of no bases
            continue
        want = [
            (s, e, v)
            for section in SECTIONS
            if section.chrom_id == cid
            for s, e, v in section.records()
            if s < size
        ]
        got = handle.intervals(name) or ()
        assert len(got) == len(want), name
        for (s, e, v), (gs, ge, gv) in zip(want, got, strict=True):
            assert (gs, ge) == (s, e)
            assert gv == v or (math.isnan(v) and math.isnan(gv))
    handle.close()


def test_an_infinite_bin_is_hard_clipped_where_the_table_has_clip_soft(tmp_path):
    """The soft clip leaves +inf infinite (stored as 65,504, above); a table's clip_soft
    column adds the hard clip at clip, which bounds it: clip x scale."""
    write_bigwig(tmp_path / "t.bw", [("chr1", 1000)], [Section(0, BEDGRAPH, [(7, 8, math.inf)])])
    row = {"identifier": "t", "file": "t.bw", "clip": 100, "clip_soft": 10, "scale": 2}
    table = read_targets(write_table(tmp_path / "t.txt", [{**row, "sum_stat": "sum"}], True))
    chroms = np.array(["chr1"])
    targets, (stats,) = compute_targets(table, list(table), chroms, [0], bins=4, pool_width=32)
    assert targets[0, :, 0].tolist() == [200, 0, 0, 0]
    assert stats["pooled_max"] == math.inf and stats["overflow_fraction"] == 0
