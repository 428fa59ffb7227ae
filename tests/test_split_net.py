"""Aligned-base counting of ``crossreg.split.synteny`` against hand-computed answers and a
per-base pure-Python reference; net parsing errors."""

from __future__ import annotations

import bz2
import contextlib
import gzip
import json
import lzma
import os
import random
import subprocess
import sys
import threading
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from crossreg.io.chrom_sizes import read_chrom_sizes
from crossreg.split.report import write_split
from crossreg.split.synteny import NetSpec, SplitResult, split_genomes
from tests.split_reference import aligned_pairs_per_region, random_net, write
from tests.test_genome_gzip import bgzf


def link_counts(result: SplitResult) -> Counter:
    """``{((t_chrom, t_region), (q_chrom, q_region)): bases}`` for the first two genomes."""
    out: Counter = Counter()
    size = result.region_size
    for a, b, bases in zip(result.link_a, result.link_b, result.link_bases, strict=True):
        ends = []
        for i in (a, b):
            genome = result.genomes[result.region_genome[i]]
            chrom = result.chroms[genome][result.region_chrom[i]]
            ends.append((result.region_genome[i], (chrom, int(result.region_start[i]) // size)))
        ends.sort()
        out[ends[0][1], ends[1][1]] += int(bases)
    return out


# target a: chr1 3000 bp; query b: chrA 2000 bp, chrB 500 bp; regions of 1000 bp.
HAND_NET = """net chr1 3000
 fill 500 1500 chrA + 100 1500 id 1 score 10 ali 1300
  gap 900 200 chrA + 500 200 tN 0 qN 0
   fill 950 100 chrB - 0 100 id 2 score 5 ali 100
 fill 2500 500 chrA - 900 500 id 3 score 5 ali 400
  gap 2600 100 chrA - 1200 100
"""
A = {"chr1": 3000}
B = {"chrA": 2000, "chrB": 500}


def test_hand_made_net_gives_the_hand_computed_counts(tmp_path: Path) -> None:
    net = write(tmp_path / "a.b.net", HAND_NET)
    result = split_genomes({"a": A, "b": B}, [NetSpec("a", "b", net)], region_size=1000)
    expected = {
        # fill 1 before its gap: target 500-900 with chrA 100-500
        (("chr1", 0), ("chrA", 0)): 400,
        # after the gap: target 1100-2000 with chrA 700-1600, cut at chrA 1000
        (("chr1", 1), ("chrA", 0)): 300,
        (("chr1", 1), ("chrA", 1)): 600,
        # nested fill inside the gap: target 950-1050 with chrB 0-100 (minus strand), cut
        # at target 1000
        (("chr1", 0), ("chrB", 0)): 50,
        (("chr1", 1), ("chrB", 0)): 50,
        # minus-strand fill on chrA 900-1400 (forward coordinates, as UCSC writes them):
        # target 2500-2600 runs down chrA 1400-1300, the gap is chrA 1200-1300, then
        # target 2700-3000 runs down chrA 1200-900, crossing chrA's region boundary at 1000
        (("chr1", 2), ("chrA", 1)): 100 + 200,
        (("chr1", 2), ("chrA", 0)): 100,
    }
    assert link_counts(result) == Counter(expected)
    assert result.net_summaries[0]["aligned_bases"] == sum(expected.values())
    # the default threshold (100 kbp) joins nothing here; at 100 bp every chr1 and chrA
    # region is linked, while chrB's 50 + 50 bases stay at or below it
    assert len(set(result.region_component.tolist())) == 6
    joined = split_genomes(
        {"a": A, "b": B}, [NetSpec("a", "b", net)], region_size=1000, min_aligned=100
    )
    component = joined.region_component.tolist()  # regions: chr1 x3, chrA x2, chrB x1
    assert component == [0, 0, 0, 0, 0, 1]
    assert result.net_summaries[0]["fills"] == 3
    assert result.net_summaries[0]["gaps"] == 2


@pytest.mark.parametrize("seed", range(6))
def test_random_nested_nets_match_the_per_base_reference(tmp_path: Path, seed: int) -> None:
    rng = random.Random(seed)
    target = {f"t{i}": rng.randint(800, 4000) for i in range(3)}
    query = {f"q{i}": rng.randint(500, 5000) for i in range(4)}
    text = random_net(rng, target, query)
    region_size = rng.choice([97, 250, 1000])
    net = write(tmp_path / "r.net", text)
    result = split_genomes(
        {"t": target, "q": query}, [NetSpec("t", "q", net)], region_size=region_size
    )
    assert link_counts(result) == aligned_pairs_per_region(text, target, query, region_size)


def test_gzipped_net_gives_the_same_split(tmp_path: Path) -> None:
    plain = write(tmp_path / "a.b.net", HAND_NET)
    packed = tmp_path / "a.b.net.gz"
    packed.write_bytes(gzip.compress(HAND_NET.encode()))
    runs = [
        split_genomes({"a": A, "b": B}, [NetSpec("a", "b", path)], region_size=1000)
        for path in (plain, packed)
    ]
    assert link_counts(runs[0]) == link_counts(runs[1])
    np.testing.assert_array_equal(runs[0].region_split, runs[1].region_split)


def test_a_net_split_by_chromosome_adds_up_to_the_whole(tmp_path: Path) -> None:
    sizes = {"a": {**A, "chr2": 2000}, "b": B}
    chr2 = "net chr2 2000\n fill 0 1500 chrA + 200 1500\n"
    whole = write(tmp_path / "a.b.net", HAND_NET + chr2)
    parts = [write(tmp_path / "chr1.net", HAND_NET), write(tmp_path / "chr2.net", chr2)]
    one = split_genomes(sizes, [NetSpec("a", "b", whole)], region_size=1000)
    two = split_genomes(sizes, [NetSpec("a", "b", p) for p in parts], region_size=1000)
    assert link_counts(one) == link_counts(two)
    assert link_counts(two)[("chr2", 0), ("chrA", 0)] == 800


@pytest.mark.parametrize("copy_name", ["a.b.copy.net", "a.b.net.gz", "chr1.net"])
def test_the_same_alignments_in_two_files_are_refused(tmp_path: Path, copy_name: str) -> None:
    """A copy, the gzipped twin or a per-chromosome file beside the whole net would count
    the same aligned bases twice."""
    net = write(tmp_path / "a.b.net", HAND_NET)
    copy = tmp_path / copy_name
    copy.write_bytes(
        gzip.compress(HAND_NET.encode()) if copy_name.endswith(".gz") else net.read_bytes()
    )
    nets = [NetSpec("a", "b", net), NetSpec("a", "b", copy)]
    with pytest.raises(
        ValueError,
        match=rf"{copy_name}:1: the 'net' block for chr1 \(a against b\) is also in "
        r".*a\.b\.net line 1; the same alignments given twice would count double",
    ):
        split_genomes({"a": A, "b": B}, nets, region_size=1000)


def test_nets_of_both_directions_of_one_pair_are_refused(tmp_path: Path) -> None:
    """UCSC offers a pair's net in both directions, each one view of the same orthology:
    one fill seen from both sides counts once, so together they are refused rather than
    added up (which would join regions sharing half of --min-aligned)."""
    forward = write(tmp_path / "a.b.net", "net chr1 3000\n fill 0 500 chrA + 0 500\n")
    reverse = write(tmp_path / "b.a.net", "net chrA 2000\n fill 0 500 chr1 + 0 500\n")
    nets = [NetSpec("a", "b", forward), NetSpec("b", "a", reverse)]
    for net in nets:  # either alone: 500 bp, not above 600, so nothing is joined
        alone = split_genomes({"a": A, "b": B}, [net], region_size=1000, min_aligned=600)
        assert link_counts(alone) == Counter({(("chr1", 0), ("chrA", 0)): 500})
        assert len(set(alone.region_component.tolist())) == 6
    for given in (nets, nets[::-1]):
        first, second = given
        with pytest.raises(
            ValueError,
            match=rf"nets .*{first.path.name} \({first.target},{first.query}\) and "
            rf".*{second.path.name} \({second.target},{second.query}\) align the same two "
            r"genomes in both directions: .* would count its aligned bases twice \(in effect "
            r"halving --min-aligned\); give the nets of one direction only "
            rf"\(--net {first.target},{first.query}=FILE or --net {second.target},"
            rf"{second.query}=FILE\)",
        ):
            split_genomes({"a": A, "b": B}, given, region_size=1000, min_aligned=600)
    # the nets of three genomes, one direction per pair whichever way, are all counted
    c = write(tmp_path / "c.a.net", "net chrX 1000\n fill 0 700 chr1 + 2000 700\n")
    three = split_genomes(
        {"a": A, "b": B, "c": {"chrX": 1000}},
        [nets[1], NetSpec("c", "a", c)],
        region_size=1000,
        min_aligned=600,
    )
    assert int(three.link_bases.sum()) == 500 + 700


@pytest.mark.parametrize("second", [("a", "b"), ("b", "a")])
def test_one_net_file_given_twice_is_refused(tmp_path: Path, second: tuple[str, str]) -> None:
    net = write(tmp_path / "a.b.net", HAND_NET)
    nets = [NetSpec("a", "b", net), NetSpec(*second, tmp_path / "." / "a.b.net")]
    with pytest.raises(ValueError, match=r"a\.b\.net is given twice .* give each file once"):
        split_genomes({"a": A, "b": B}, nets, region_size=1000)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            HAND_NET + HAND_NET,
            r"a\.b\.net:7: a second 'net' block for chr1 \(the first is at line 1\)",
        ),
        (
            HAND_NET + " fill 2900 100 chrA + 1800 100\n",
            r"a\.b\.net:7: the fill chr1:2900-3000 starts before the previous fill at depth 1 ends",
        ),
    ],
)
def test_a_net_repeating_part_of_itself_is_refused(tmp_path: Path, text: str, message: str) -> None:
    net = write(tmp_path / "a.b.net", text)
    with pytest.raises(ValueError, match=message):
        split_genomes({"a": A, "b": B}, [NetSpec("a", "b", net)], region_size=1000)


def net_error(tmp_path: Path, text: str, **kwargs) -> str:
    net = write(tmp_path / "bad.net", text)
    with pytest.raises(ValueError) as info:
        split_genomes({"a": A, "b": B}, [NetSpec("a", "b", net)], region_size=1000, **kwargs)
    return str(info.value)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("net chr1 3000\n fill 0 10 chrA + 0\n", "bad.net:2: a 'fill' line needs 6 fields"),
        ("net chr1 3000\n fill 0 ten chrA + 0 10\n", "bad.net:2: tSize is 'ten'"),
        ("net chr1 3000\n fill 0 10 chrA x 0 10\n", "bad.net:2: query strand is 'x'"),
        ("net chr1 3000\n\n  gap 0 10 chrA + 0 10\n", "bad.net:3: a 'gap' at depth 2 has no"),
        ("net chr1 3000\n fill 0 10 chrA + 0 10\n   fill 0 5 chrA + 0 5\n", "bad.net:3:"),
        ("net chr1 3000\n fill 0 10 chrA + 0 10\n  gap 5 10 chrA + 5 1\n", "not inside what is"),
        (
            "net chr1 3000\n fill 0 20 chrA - 0 20\n  gap 5 2 chrA - 2 2\n  gap 9 2 chrA - 4 2\n",
            "bad.net:4: the gap (target 9-11, query 4-6) is not inside what is left of its fill "
            "after the previous gap (target 7-20, query 0-2); gaps lie inside their fill in "
            "target order, and on the minus strand their (forward-strand) query starts decrease",
        ),
        ("net chr1 3000\n what 1\n", "bad.net:2: unknown line type 'what'"),
        (" fill 0 10 chrA + 0 10\n", "bad.net:1: a 'fill' line before any 'net' line"),
        ("net chr1 2999\n", "bad.net:1: the net gives chr1 2999 bp but the sizes of genome 'a'"),
        ("net chr1 3000\n fill 2990 20 chrA + 0 20\n", "bad.net:2: the fill chr1:2990-3010 runs"),
        (
            "net chr1 3000\n fill 0 20 chrB - 490 20\n",
            "bad.net:2: the fill's query chrB:490-510 runs past the end of chrB (500 bp in "
            "genome 'b')",
        ),
        (
            "net 1 3000\n",
            "chromosome '1' is not in the sizes of genome 'a' (used at",
        ),
        ("net chr1 3000\n fill 0 20 A + 0 20\n", "did you mean 'chrA'"),
    ],
)
def test_bad_nets_stop_with_file_line_and_cause(tmp_path: Path, text: str, expected: str) -> None:
    message = net_error(tmp_path, text)
    assert expected in message
    assert "bad.net" in message


def test_unknown_chromosome_names_the_fix(tmp_path: Path) -> None:
    message = net_error(tmp_path, "net chr1 3000\n fill 0 20 chrZ + 0 20\n")
    assert "chromosome 'chrZ' is not in the sizes of genome 'b'" in message
    assert "bad.net:2" in message
    assert "--skip-unknown-chroms" in message
    assert "did you mean 'chr1'" in net_error(tmp_path, "net 1 3000\n")


def test_unknown_chromosomes_can_be_skipped(tmp_path: Path) -> None:
    skipped_fill = " fill 2000 50 chrQ + 0 50\n fill 2500"
    text = "net chrUn 50\n fill 0 50 chrA + 0 50\n" + HAND_NET.replace(" fill 2500", skipped_fill)
    net = write(tmp_path / "a.b.net", text)
    sizes = {"a": A, "b": B}
    skipped = split_genomes(
        sizes, [NetSpec("a", "b", net)], region_size=1000, skip_unknown_chroms=True
    )
    clean = split_genomes(
        sizes, [NetSpec("a", "b", write(tmp_path / "c.net", HAND_NET))], region_size=1000
    )
    assert link_counts(skipped) == link_counts(clean)
    assert skipped.net_summaries[0]["skipped_fills"] == 2
    assert skipped.net_summaries[0]["skipped_chroms"] == ["chrQ", "chrUn"]


def test_a_net_whose_fills_are_all_skipped_is_warned_about(tmp_path: Path) -> None:
    net = write(tmp_path / "b.a.net", "net chrA 2000\n fill 0 500 chr1 + 0 500\n")
    swapped = split_genomes(
        {"a": A, "b": B}, [NetSpec("a", "b", net)], region_size=1000, skip_unknown_chroms=True
    )
    warning = swapped.warnings[-1]
    assert f"net {net}: all 1 fills lie on chromosomes outside the sizes" in warning
    assert "target is 'a' and its query 'b'" in warning
    right = split_genomes({"a": A, "b": B}, [NetSpec("b", "a", net)], region_size=1000)
    assert not any("joined no regions" in w for w in right.warnings)


# A syntenic top fill; in its gap an inversion elsewhere large enough that the syntenic net
# (netFilter -syn) keeps it although netSyntenic typed it nonSyn.
SYNTENIC_NET = """net chr1 100000
 fill 1000 60000 chrA + 2000 60000 id 1 score 900000 ali 58000 qDup 0 type top tN 0 qN 0
  gap 5000 40000 chrA + 6000 40000 tN 0 qN 0
   fill 6000 30000 chrB - 10000 30000 id 7 score 250000 ali 12000 qOver 0 qFar 300000 type nonSyn
"""
# ... and, as in the full net, a processed pseudogene in the same gap: a small nonSyn fill.
PSEUDOGENE = """   fill 40000 400 chrB + 100 420 id 9 score 9000 ali 390 qFar 5000 type nonSyn
    gap 40100 20 chrB + 200 40 tN 0 qN 0
"""


def test_a_full_net_with_non_syntenic_fills_is_warned_about(tmp_path: Path) -> None:
    # before: the full net's nonSyn fills were counted without a word, though the docs
    # ask for the syntenic net
    sizes = {"a": {"chr1": 100_000}, "b": {"chrA": 100_000, "chrB": 50_000}}
    syntenic = write(tmp_path / "a.b.syn.net", SYNTENIC_NET)
    full = write(tmp_path / "a.b.net", SYNTENIC_NET + PSEUDOGENE)
    kept = split_genomes(sizes, [NetSpec("a", "b", syntenic)], region_size=10_000)
    assert not any("nonSyn" in w for w in kept.warnings), kept.warnings
    assert kept.net_summaries[0]["non_syntenic_fills"] == 0
    result = split_genomes(sizes, [NetSpec("a", "b", full)], region_size=10_000)
    # the pseudogene aligns target 40000-40100 with chrB 100-200 and 40120-40400 with 240-520
    assert result.net_summaries[0]["non_syntenic_fills"] == 1
    assert result.net_summaries[0]["non_syntenic_bases"] == 100 + 280
    assert [w for w in result.warnings if "nonSyn" in w] == [
        f"net {full} holds nonSyn fills that the syntenic net leaves out (netFilter -syn): 1 "
        "of them, aligning 380 bp, were counted, so this looks like the full net, whose "
        "non-syntenic alignments (paralogues, processed pseudogenes) may join regions that "
        "are not orthologous; give the syntenic net (a.b.syn.net.gz) instead"
    ]
    # the warning reaches split.json
    write_split(result, tmp_path / "out")
    report = json.loads((tmp_path / "out" / "split.json").read_text())
    assert report["nets"][0]["non_syntenic_fills"] == 1
    assert any("looks like the full net" in w for w in report["warnings"])


def test_missing_net_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match=r"nope\.net"):
        split_genomes({"a": A, "b": B}, [NetSpec("a", "b", tmp_path / "nope.net")])


def test_truncated_gzip_is_reported(tmp_path: Path) -> None:
    path = tmp_path / "t.net.gz"
    path.write_bytes(gzip.compress((HAND_NET * 50).encode())[:60])
    with pytest.raises(ValueError, match=r"t\.net\.gz:\d+: cannot read the file .* truncated"):
        split_genomes({"a": A, "b": B}, [NetSpec("a", "b", path)], region_size=1000)


@pytest.mark.parametrize(
    ("cut", "line"),
    [
        (len(HAND_NET) - 3, 6),  # the last gap's qSize 100 read as 1
        (HAND_NET.index("tN 0"), 3),  # what follows the cut gap line is lost
        (len(HAND_NET) - 1, 6),  # whole lines, but no newline ends the last
    ],
)
def test_a_plain_net_cut_inside_a_line_is_refused(tmp_path: Path, cut: int, line: int) -> None:
    """A net cut short (an interrupted download or copy) silently lacked the alignments
    after the cut, and its cut line often still parsed, with a shorter number."""
    net = write(tmp_path / "cut.net", HAND_NET[:cut])
    with pytest.raises(
        ValueError,
        match=rf"cut\.net:{line}: the file ends inside line {line} \(no newline ends it\), so it "
        r"was probably cut short .* download or copy it again, or, if the line is whole, end "
        r"it with a newline",
    ):
        split_genomes({"a": A, "b": B}, [NetSpec("a", "b", net)], region_size=1000)


def test_a_bgzip_net_without_its_end_block_is_refused(tmp_path: Path) -> None:
    """A BGZF file cut at a block's end decompresses without error: its missing end-of-file
    block tells it."""
    whole, cut = tmp_path / "whole.net.gz", tmp_path / "cut.net.gz"
    whole.write_bytes(bgzf(HAND_NET.encode(), block=100))
    cut.write_bytes(bgzf(HAND_NET.encode(), block=100, eof=False))
    sizes = {"a": A, "b": B}
    read = split_genomes(sizes, [NetSpec("a", "b", whole)], region_size=1000)
    plain = write(tmp_path / "a.b.net", HAND_NET)
    assert link_counts(read) == link_counts(
        split_genomes(sizes, [NetSpec("a", "b", plain)], region_size=1000)
    )
    with pytest.raises(
        ValueError,
        match=r"cut\.net\.gz: the BGZF \(bgzip\) file lacks its end-of-file block, so it was "
        r"probably cut short .* \(bgzip -t tests it\)",
    ):
        split_genomes(sizes, [NetSpec("a", "b", cut)], region_size=1000)


def test_chrom_sizes_reader(tmp_path: Path) -> None:
    good = write(tmp_path / "g.sizes", "# comment\nchr1\t100\n\nchr2 50 extra\n")
    assert read_chrom_sizes(good) == {"chr1": 100, "chr2": 50}
    packed = tmp_path / "g.sizes.gz"
    packed.write_bytes(gzip.compress(b"chr1\t100\n"))
    assert read_chrom_sizes(packed) == {"chr1": 100}
    for text, expected in [
        ("chr1\n", "g.sizes:1: expected 'name<TAB>length'"),
        ("chr1\t1e5\n", "g.sizes:1: the length of 'chr1' is '1e5'"),
        ("chr1\t0\n", "must be positive"),
        ("chr1\t5\nchr1\t6\n", "g.sizes:2: chromosome 'chr1' is listed twice"),
        ("\n", "no chromosomes found"),
    ]:
        with pytest.raises(ValueError, match=expected):
            read_chrom_sizes(write(tmp_path / "g.sizes", text))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (b" net chr1 3000\n", "bad.net:1: a 'net' line must not be indented"),
        (b"net chr1\n", "bad.net:1: expected 'net <chrom> <size>'"),
        (b"net chr1 3k\n", "bad.net:1: chromosome size is '3k'"),
        (
            b"net chr1 3000\n fill 0 20 chrA + 0 20\n   gap 0 1 chrA + 0 1\n",
            "bad.net:3: a 'gap' line",
        ),
        (b"net chr1 3000\n fill 0 20 chrA + 0 20\n  gap 0 1 chrB + 0 1\n", "its fill is on chrA +"),
        (b"net chr1 3000\n\xff\xfe\n", "bad.net:2: the line is not text"),
    ],
)
def test_more_malformed_lines(tmp_path: Path, text: bytes, expected: str) -> None:
    net = tmp_path / "bad.net"
    net.write_bytes(text)
    with pytest.raises(ValueError) as info:
        split_genomes({"a": A, "b": B}, [NetSpec("a", "b", net)], region_size=1000)
    assert expected in str(info.value)


def test_corrupt_gzip_is_named(tmp_path: Path) -> None:
    path = tmp_path / "bad.net.gz"
    path.write_bytes(b"\x1f\x8b not really gzip")
    with pytest.raises(ValueError, match=r"bad\.net\.gz:1: cannot read the file .* corrupt"):
        split_genomes({"a": A, "b": B}, [NetSpec("a", "b", path)], region_size=1000)


def test_empty_sizes_are_rejected() -> None:
    with pytest.raises(ValueError, match="genome 'a' has no chromosomes"):
        split_genomes({"a": {}}, [])


def test_a_net_given_the_wrong_way_round_says_so(tmp_path: Path) -> None:
    net = write(tmp_path / "b.a.net", "net chrA 2000\n fill 0 500 chr1 + 0 500\n")
    with pytest.raises(ValueError, match=r"looks like genome 'b': give it as --net b,a=FILE"):
        split_genomes({"a": A, "b": B}, [NetSpec("a", "b", net)], region_size=1000)
    # the same chromosome name in both genomes, at the query's size
    sizes = {"a": {"chr1": 3000}, "b": {"chr1": 2000}}
    net = write(tmp_path / "b.a.same.net", "net chr1 2000\n fill 0 500 chr1 + 0 500\n")
    with pytest.raises(ValueError, match=r"genome 'b' has chr1 at that size, so the net's target"):
        split_genomes(sizes, [NetSpec("a", "b", net)], region_size=1000)
    # which is also what a right net with the two --sizes files swapped gives: named too
    with pytest.raises(ValueError, match=r"if the net is a,b as given, swap the files of --sizes"):
        split_genomes(sizes, [NetSpec("a", "b", net)], region_size=1000)
    other = write(tmp_path / "other.net", "net chr1 2500\n fill 0 500 chr1 + 0 500\n")
    with pytest.raises(ValueError, match="come from different assemblies"):
        split_genomes(sizes, [NetSpec("a", "b", other)], region_size=1000)


def test_a_threshold_no_pair_can_pass_is_warned_about(tmp_path: Path) -> None:
    net = write(tmp_path / "a.b.net", HAND_NET)
    kept = split_genomes(
        {"a": A, "b": B}, [NetSpec("a", "b", net)], region_size=1000, min_aligned=100
    )
    assert not any("no regions were joined" in w for w in kept.warnings)
    too_high = split_genomes(
        {"a": A, "b": B}, [NetSpec("a", "b", net)], region_size=1000, min_aligned=1000
    )
    warning = too_high.warnings[-1]
    assert "no two regions share more than --min-aligned (1,000 bp)" in warning
    assert "one net aligns at most --region-size (1,000 bp)" in warning
    assert len(set(too_high.region_component.tolist())) == len(too_high.region_component)


def _feed(path: Path, data: bytes) -> threading.Thread:
    """A thread that writes `data` to the pipe or FIFO `path` (opening a FIFO waits for its
    reader) and closes it."""

    def write_all() -> None:
        with contextlib.suppress(BrokenPipeError), open(path, "wb") as handle:
            handle.write(data)

    thread = threading.Thread(target=write_all, daemon=True)
    thread.start()
    return thread


@pytest.mark.parametrize("packed", [False, True], ids=["plain", "gzipped"])
def test_a_net_from_a_pipe_reads_whole(tmp_path: Path, packed: bool) -> None:
    """A shell's ``<(...)`` is a pipe named /dev/fd/N. Before: the net was opened twice (once
    to look at its first two bytes), and the second open of a pipe read it without them:
    "unknown line type 't'", or for a gzipped one "invalid gzip header"."""
    data = gzip.compress(HAND_NET.encode()) if packed else HAND_NET.encode()
    plain = write(tmp_path / "a.b.net", HAND_NET)
    expected = split_genomes({"a": A, "b": B}, [NetSpec("a", "b", plain)], region_size=1000)
    read, written = os.pipe()
    try:
        writer = threading.Thread(target=lambda: _write_fd(written, data), daemon=True)
        writer.start()
        result = split_genomes(
            {"a": A, "b": B}, [NetSpec("a", "b", Path(f"/dev/fd/{read}"))], region_size=1000
        )
        writer.join(timeout=10)
    finally:
        os.close(read)
    assert link_counts(result) == link_counts(expected)
    assert result.net_summaries[0]["fills"] == 3


def _write_fd(fd: int, data: bytes) -> None:
    with contextlib.suppress(BrokenPipeError), os.fdopen(fd, "wb") as handle:
        handle.write(data)


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no named pipes here")
def test_a_net_from_a_named_fifo_does_not_hang(tmp_path: Path) -> None:
    """Before: the second open of a FIFO waited for a writer that had gone, forever (in the
    native call, which even SIGTERM could not stop). Run as a command, so that a hang
    fails the test instead of stopping the suite."""
    fifo = tmp_path / "a.b.net"
    os.mkfifo(fifo)
    sizes = {"a": write(tmp_path / "a.sizes", "chr1\t3000\n")}
    sizes["b"] = write(tmp_path / "b.sizes", "chrA\t2000\nchrB\t500\n")
    writer = _feed(fifo, HAND_NET.encode())
    command = [sys.executable, "-m", "crossreg.cli", "split", "--out", str(tmp_path / "out")]
    command += ["--sizes", f"a={sizes['a']}", "--sizes", f"b={sizes['b']}"]
    command += ["--net", f"a,b={fifo}", "--region-size", "1000", "--min-aligned", "100"]
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)
    except subprocess.TimeoutExpired:
        done = None
    finally:
        if writer.is_alive():  # a writer still waiting for a reader: let it go
            with contextlib.suppress(OSError):
                os.close(os.open(fifo, os.O_RDONLY | os.O_NONBLOCK))
    assert done is not None, "reading the net from a FIFO hung"
    assert done.returncode == 0, done.stderr
    report = json.loads((tmp_path / "out" / "split.json").read_text())
    assert report["nets"][0]["fills"] == 3


@pytest.mark.parametrize(
    ("name", "data", "expected"),
    [
        (
            "a.net.bz2",
            bz2.compress(HAND_NET.encode()),
            "the file is bzip2-compressed, which crossreg does not read; decompress it "
            "(bzip2 -d) or recompress it with gzip or bgzip",
        ),
        (
            "a.net.xz",
            lzma.compress(HAND_NET.encode()),
            "the file is xz-compressed, which crossreg does not read; decompress it (xz -d) "
            "or recompress it with gzip or bgzip",
        ),
        (
            "a.net.zst",  # a zstd frame's magic number and header; no zstd module needed
            b"\x28\xb5\x2f\xfd\x24\x00" + HAND_NET.encode(),
            "the file is zstd-compressed, which crossreg does not read; decompress it "
            "(zstd -d) or recompress it with gzip or bgzip",
        ),
        (
            "a16.net",
            HAND_NET.encode("utf-16"),
            "the file is UTF-16 text, not UTF-8; convert it to UTF-8 (iconv -f utf-16 -t utf-8)",
        ),
        (
            "a16be.net.gz",
            gzip.compress(b"\xfe\xff" + HAND_NET.encode("utf-16-be")),
            "the file is UTF-16 text, not UTF-8; convert it to UTF-8 (iconv -f utf-16 -t utf-8)",
        ),
    ],
)
def test_other_compressions_and_utf16_nets_say_how_to_convert(
    tmp_path: Path, name: str, data: bytes, expected: str
) -> None:
    """As the text readers say (crossreg.io.text); before: "the line is not text"."""
    net = tmp_path / name
    net.write_bytes(data)
    with pytest.raises(ValueError) as info:
        split_genomes({"a": A, "b": B}, [NetSpec("a", "b", net)], region_size=1000)
    assert str(info.value) == f"{net}: {expected}"


@pytest.mark.parametrize("packed", [False, True], ids=["plain", "gzipped"])
def test_a_byte_order_mark_starting_a_net_is_skipped(tmp_path: Path, packed: bool) -> None:
    """Before: "unknown line type '\\ufeffnet'"."""
    data = b"\xef\xbb\xbf" + HAND_NET.encode()
    net = tmp_path / "bom.net"
    net.write_bytes(gzip.compress(data) if packed else data)
    result = split_genomes({"a": A, "b": B}, [NetSpec("a", "b", net)], region_size=1000)
    plain = write(tmp_path / "a.b.net", HAND_NET)
    expected = split_genomes({"a": A, "b": B}, [NetSpec("a", "b", plain)], region_size=1000)
    assert link_counts(result) == link_counts(expected)
