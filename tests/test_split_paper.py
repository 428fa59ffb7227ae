"""The synteny split at the paper's settings (1-Mbp regions joined above 100 kbp of aligned
bases) on a hand-written net in UCSC's full line format, every count and component worked
out by hand below: nested fills and gaps, a minus-strand fill crossing region borders on
both genomes, pairs just at, under and over the threshold, and a chain of joins."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from crossreg.split.synteny import NetSpec, split_genomes
from tests.split_reference import aligned_pairs_per_region, union_find_components, write
from tests.test_split_assign import same_partition
from tests.test_split_net import link_counts

HS = {"chr1": 4_000_000, "chr2": 3_000_000}
MM = {"chrA": 3_000_000, "chrB": 2_000_000}

# what netClass appends to every fill and gap line (only a fill's type, score and ali are
# read, and only to tell a full net)
TAIL = "qOver 0 qFar 0 qDup 0"
REPEATS = "tN 0 qN 0 tR 0 qR 0 tTrf 0 qTrf 0"
PAPER_NET = f"""net chr1 4000000
 fill 100000 400000 chrA + 200000 400000 id 1 score 40000000 ali 380000 {TAIL} type top {REPEATS}
  gap 150000 200000 chrA + 250000 200000 {REPEATS}
   fill 160000 150000 chrB - 880000 150000 id 2 score 900000 ali 150000 {TAIL} type nonSyn {REPEATS}
 fill 2900000 250000 chrA - 1950000 250000 id 3 score 20000000 ali 250000 {TAIL} type top {REPEATS}
 fill 3500000 100050 chrB + 1700000 100050 id 4 score 9000000 ali 90000 {TAIL} type top {REPEATS}
  gap 3550000 50 chrB + 1750000 50 {REPEATS}
net chr2 3000000
 fill 0 100001 chrB + 1200000 100001 id 5 score 9000000 ali 100001 {TAIL} type top {REPEATS}
 fill 1000000 99999 chrA + 700000 99999 id 6 score 9000000 ali 99999 {TAIL} type top {REPEATS}
 fill 2100000 110000 chrB + 1400000 110000 id 7 score 9000000 ali 110000 {TAIL} type top {REPEATS}
"""

# (target chromosome, 1-Mbp region), (query chromosome, region): aligned bases
EXPECTED_LINKS = {
    # fill 1 less its gap: chr1 100-150 kbp with chrA 200-250 kbp, then chr1 350-500 kbp
    # with chrA 450-600 kbp
    (("chr1", 0), ("chrA", 0)): 50_000 + 150_000,
    # fill 2, nested in that gap, on the minus strand of chrB 880-1030 kbp (forward
    # coordinates): chr1 160-190 kbp runs down chrB 1030-1000 kbp, chr1 190-310 kbp down
    # chrB 1000-880 kbp
    (("chr1", 0), ("chrB", 1)): 30_000,
    (("chr1", 0), ("chrB", 0)): 120_000,
    # fill 3, minus strand on chrA 1950-2200 kbp: chr1 2900-3000 kbp runs down chrA
    # 2200-2100 kbp, chr1 3000-3100 kbp down chrA 2100-2000 kbp, chr1 3100-3150 kbp down
    # chrA 2000-1950 kbp (read as the plus strand, chr1 region 3 would get 150 kbp of
    # chrA region 2 and be joined to it)
    (("chr1", 2), ("chrA", 2)): 100_000,
    (("chr1", 3), ("chrA", 2)): 100_000,
    (("chr1", 3), ("chrA", 1)): 50_000,
    # fill 4 spans 100,050 bp on both sides but aligns 100,000 of them (its 50-bp gap)
    (("chr1", 3), ("chrB", 1)): 100_000,
    # chr2: 100,001 and 110,000 bp to chrB region 1 (joined), 99,999 to chrA region 0
    (("chr2", 0), ("chrB", 1)): 100_001,
    (("chr2", 1), ("chrA", 0)): 99_999,
    (("chr2", 2), ("chrB", 1)): 110_000,
}

# regions in the order of the split (genome, chromosome, start): hs chr1 0-3, chr2 0-2, mm
# chrA 0-2, chrB 0-1; joined strictly above 100,000 bp: chr1:0 with chrA:0 (200,000) and
# with chrB:0 (120,000); chr2:0 and chr2:2, two regions of one genome, through chrB:1
EXPECTED_COMPONENTS = [
    {("chr1", 0), ("chrA", 0), ("chrB", 0)},
    {("chr2", 0), ("chrB", 1), ("chr2", 2)},
    *({region} for region in [("chr1", 1), ("chr1", 2), ("chr1", 3), ("chr2", 1)]),
    *({region} for region in [("chrA", 1), ("chrA", 2)]),
]


def test_the_paper_settings_on_a_hand_written_net(tmp_path: Path) -> None:
    net = write(tmp_path / "hs.mm.syn.net", PAPER_NET)
    result = split_genomes({"hs": HS, "mm": MM}, [NetSpec("hs", "mm", net)])
    assert (result.region_size, result.min_aligned) == (1_000_000, 100_000)
    assert link_counts(result) == Counter(EXPECTED_LINKS)
    # a second, base-by-base reading of the same net agrees
    assert link_counts(result) == aligned_pairs_per_region(PAPER_NET, HS, MM, 1_000_000)
    summary = result.net_summaries[0]
    assert (summary["fills"], summary["gaps"]) == (7, 2)
    assert summary["aligned_bases"] == sum(EXPECTED_LINKS.values())
    # the nonSyn fill is large enough for the syntenic net to keep it: no full-net warning
    assert summary["non_syntenic_fills"] == 0
    names = [
        result.chroms[result.genomes[g]][c]
        for g, c in zip(result.region_genome, result.region_chrom, strict=True)
    ]
    regions = [
        (name, int(start) // 1_000_000)
        for name, start in zip(names, result.region_start, strict=True)
    ]
    members: dict[int, set] = {}
    for region, component in zip(regions, result.region_component.tolist(), strict=True):
        members.setdefault(component, set()).add(region)
    assert sorted(map(sorted, members.values())) == sorted(map(sorted, EXPECTED_COMPONENTS))
    # the same partition from a plain union-find over the hand-computed links
    index = {region: i for i, region in enumerate(regions)}
    links = [(index[a], index[b], bases) for (a, b), bases in EXPECTED_LINKS.items()]
    reference = union_find_components(len(regions), links, 100_000)
    assert same_partition(result.region_component, reference)
    # a component goes whole to one split, and nothing above the threshold crosses splits
    for component in EXPECTED_COMPONENTS:
        assert len({int(result.region_split[index[region]]) for region in component}) == 1
    leakage = result.leakage()
    assert leakage.ok
    assert leakage.total_aligned_bases == sum(EXPECTED_LINKS.values())


# Regions at chromosome ends shorter than 1 Mbp (chr3 2.4 Mbp, chrC 1.25 Mbp), gap lines
# with an empty query side (a target insertion, as chainNet writes them), fills of every
# type nested to depth 5, and the '#' lines chainNet copies from the chains' header.
ENDS_HS = {"chr3": 2_400_000}
ENDS_MM = {"chrC": 1_250_000}
ENDS_NET = """#!chainNet -minSpace=25
# hs.mm chains
net chr3 2400000
 fill 900000 300000 chrC + 0 250000 id 1 score 30000000 ali 250000 type top
  gap 950000 50000 chrC + 50000 0
   fill 955000 40000 chrC - 600000 40000 id 2 score 900000 ali 20000 type inv
    gap 960000 20000 chrC - 615000 20000
     fill 962000 10000 chrC + 900000 10000 id 3 score 90000 ali 10000 type syn
 fill 2000000 350000 chrC - 950000 300000 id 4 score 30000000 ali 300000 type syn
  gap 2100000 50000 chrC - 1150000 0
"""
# (target region, query region): aligned bases, by hand
ENDS_LINKS = {
    # fill 1 before its gap: chr3 900-950 kbp with chrC 0-50 kbp; fill 2 (minus strand,
    # nested in that gap): chr3 955-960 kbp down chrC 640-635 kbp, its gap, chr3 980-995
    # kbp down chrC 615-600 kbp; fill 3 (depth 5, in fill 2's gap): 10 kbp
    (("chr3", 0), ("chrC", 0)): 50_000 + 5_000 + 15_000 + 10_000,
    # fill 1 after its gap, whose query side is empty: chr3 1000-1200 kbp with chrC 50-250
    (("chr3", 1), ("chrC", 0)): 200_000,
    # fill 4, minus strand on chrC 950-1250 kbp: chr3 2000-2100 kbp runs down chrC
    # 1250-1150 kbp, the gap takes chr3 2100-2150 kbp and no query base, then chr3
    # 2150-2350 kbp runs down chrC 1150-950 kbp, crossing chrC's region border at 1 Mbp
    (("chr3", 2), ("chrC", 1)): 100_000 + 150_000,
    (("chr3", 2), ("chrC", 0)): 50_000,
}


def test_short_end_regions_empty_gap_sides_and_deep_nesting(tmp_path: Path) -> None:
    net = write(tmp_path / "hs.mm.syn.net", ENDS_NET)
    result = split_genomes({"hs": ENDS_HS, "mm": ENDS_MM}, [NetSpec("hs", "mm", net)])
    # each chromosome tiled from its start, the last region shorter
    regions = list(zip(result.region_start.tolist(), result.region_end.tolist(), strict=True))
    assert regions == [
        (0, 1_000_000), (1_000_000, 2_000_000), (2_000_000, 2_400_000),  # hs chr3
        (0, 1_000_000), (1_000_000, 1_250_000),  # mm chrC
    ]  # fmt: skip
    assert link_counts(result) == Counter(ENDS_LINKS)
    assert link_counts(result) == aligned_pairs_per_region(ENDS_NET, ENDS_HS, ENDS_MM, 1_000_000)
    assert result.net_summaries[0]["aligned_bases"] == sum(ENDS_LINKS.values())
    assert (result.net_summaries[0]["fills"], result.net_summaries[0]["gaps"]) == (4, 3)
    assert not any("nonSyn" in w for w in result.warnings)
    # joined above 100 kbp: chr3:1 with chrC:0 and chr3:2 with chrC:1; chr3:0 alone
    component = result.region_component.tolist()
    assert component[1] == component[3] and component[2] == component[4]
    assert len(set(component)) == 3
    # a short region counts for its length in its genome's fractions
    lengths = (result.region_end - result.region_start).astype(int)
    for g, genome in enumerate(result.genomes):
        total = int(lengths[result.region_genome == g].sum())
        for s, label in enumerate(result.labels):
            in_split = (result.region_genome == g) & (result.region_split == s)
            assert result.fractions()[genome][label] == int(lengths[in_split].sum()) / total


def test_every_fill_type_counts_alike(tmp_path: Path) -> None:
    """netSyntenic's types (top, syn, inv, nonSyn) only tell a full net from the syntenic
    one: every fill counts for its aligned bases whatever its type, or without one (a net
    straight from chainNet)."""
    variants = {
        "as-written": PAPER_NET,
        "retyped": PAPER_NET.replace("type top", "type syn").replace("type nonSyn", "type inv"),
        "untyped": "\n".join(
            line.replace(" type top", "").replace(" type nonSyn", "")
            for line in PAPER_NET.splitlines()
        )
        + "\n",
    }
    for name, text in variants.items():
        net = write(tmp_path / f"{name}.net", text)
        result = split_genomes({"hs": HS, "mm": MM}, [NetSpec("hs", "mm", net)])
        assert link_counts(result) == Counter(EXPECTED_LINKS), name
        assert result.net_summaries[0]["non_syntenic_fills"] == 0, name
        assert not any("nonSyn" in w for w in result.warnings), name
