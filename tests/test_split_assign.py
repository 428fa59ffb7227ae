"""Components and their assignment in ``crossreg.split.synteny``: three genomes, thresholds,
determinism, requested fractions, folds, indivisible components."""

from __future__ import annotations

import random
from pathlib import Path

import numpy as np
import pytest

from crossreg.split.report import summarize
from crossreg.split.synteny import NetSpec, SplitResult, split_genomes
from tests.split_reference import syntenic_net, union_find_components, write


def same_partition(labels_a: np.ndarray, labels_b: list[int]) -> bool:
    pairs = set(zip(labels_a.tolist(), labels_b, strict=True))
    return len(pairs) == len(set(labels_a.tolist())) == len(set(labels_b))


def three_genomes(tmp_path: Path, b_to_c_bases: int = 200) -> SplitResult:
    sizes = {"a": {"chr1": 3000}, "b": {"chrA": 3000}, "c": {"chrX": 3000}}
    ab = write(tmp_path / "a.b.net", "net chr1 3000\n fill 0 500 chrA + 1000 500\n")
    bc = write(
        tmp_path / "b.c.net",
        f"net chrA 3000\n fill 1200 {b_to_c_bases} chrX - 800 {b_to_c_bases}\n",
    )
    return split_genomes(
        sizes,
        [NetSpec("a", "b", ab), NetSpec("b", "c", bc)],
        region_size=1000,
        min_aligned=100,
    )


def region_index(result: SplitResult, genome: str, start: int) -> int:
    g = result.genomes.index(genome)
    return int(np.flatnonzero((result.region_genome == g) & (result.region_start == start))[0])


def test_three_genomes_are_joined_through_the_middle_one(tmp_path: Path) -> None:
    result = three_genomes(tmp_path)
    a0, b1 = region_index(result, "a", 0), region_index(result, "b", 1000)
    # chrX 800-1000 (minus strand) lies in region 0 of c.
    c2 = region_index(result, "c", 0)
    component = result.region_component
    assert component[a0] == component[b1] == component[c2]
    assert len(set(component.tolist())) == 9 - 2
    split = result.region_split
    assert split[a0] == split[b1] == split[c2]
    assert result.leakage().ok


def test_regions_join_only_strictly_above_the_threshold(tmp_path: Path) -> None:
    result = three_genomes(tmp_path, b_to_c_bases=100)
    b1, c2 = region_index(result, "b", 1000), region_index(result, "c", 0)
    assert result.region_component[b1] != result.region_component[c2]
    assert result.link_bases.tolist() == [500, 100]


def generated(tmp_path: Path, seed: int = 3, **kwargs) -> SplitResult:
    rng = random.Random(seed)
    sizes = {
        "hs": {f"chr{i}": rng.randint(150_000, 400_000) for i in range(1, 9)},
        "mm": {f"chr{i}": rng.randint(150_000, 350_000) for i in range(1, 8)},
        "rn": {f"chr{i}": rng.randint(100_000, 300_000) for i in range(1, 6)},
    }
    nets = [
        NetSpec(
            "hs", "mm", write(tmp_path / "hs.mm.net", syntenic_net(rng, sizes["hs"], sizes["mm"]))
        ),
        NetSpec(
            "mm", "rn", write(tmp_path / "mm.rn.net", syntenic_net(rng, sizes["mm"], sizes["rn"]))
        ),
    ]
    kwargs.setdefault("region_size", 2_000)
    kwargs.setdefault("min_aligned", 200)
    return split_genomes(sizes, nets, **kwargs)


def test_fractions_are_met_on_many_regions(tmp_path: Path) -> None:
    result = generated(tmp_path, valid=0.1, test=0.15)
    assert len(result.region_genome) > 2_000
    assert len(result.component_split) > 300
    assert not result.warnings
    for genome, fractions in result.fractions().items():
        for label, requested in result.requested.items():
            assert fractions[label] == pytest.approx(requested, abs=0.01), (genome, label)
    leak = result.leakage()
    assert leak.ok and leak.above_bases == 0
    assert leak.below_pairs > 0  # weak links do cross splits, and are reported


def test_components_match_a_plain_union_find(tmp_path: Path) -> None:
    result = generated(tmp_path)
    links = list(
        zip(result.link_a.tolist(), result.link_b.tolist(), result.link_bases.tolist(), strict=True)
    )
    reference = union_find_components(len(result.region_genome), links, result.min_aligned)
    assert same_partition(result.region_component, reference)
    # every component lies in one split, by construction of region_split
    for a, b, bases in links:
        if bases > result.min_aligned:
            assert result.region_split[a] == result.region_split[b]


def test_same_seed_same_split_other_seed_other_split(tmp_path: Path) -> None:
    one = generated(tmp_path, seed=3)
    again = generated(tmp_path, seed=3)
    np.testing.assert_array_equal(one.region_split, again.region_split)
    np.testing.assert_array_equal(one.region_component, again.region_component)
    reseeded = split_genomes(
        {g: dict(zip(one.chroms[g], _sizes(one, g), strict=True)) for g in one.genomes},
        one.nets,
        region_size=one.region_size,
        min_aligned=one.min_aligned,
        seed=one.seed + 1,
    )
    np.testing.assert_array_equal(one.region_component, reseeded.region_component)
    assert not np.array_equal(one.region_split, reseeded.region_split)
    for genome, fractions in reseeded.fractions().items():
        assert fractions["test"] == pytest.approx(0.12, abs=0.01), genome


def test_the_order_of_the_nets_does_not_change_the_split(tmp_path: Path) -> None:
    """Regions and components are numbered in the order of --sizes, not of the nets, so
    the nets given in another order give the same split for a seed."""
    one = generated(tmp_path)
    sizes = {g: dict(zip(one.chroms[g], _sizes(one, g), strict=True)) for g in one.genomes}
    swapped = split_genomes(sizes, one.nets[::-1], region_size=2_000, min_aligned=200)
    np.testing.assert_array_equal(one.region_component, swapped.region_component)
    np.testing.assert_array_equal(one.component_split, swapped.component_split)
    assert [s["aligned_bases"] for s in swapped.net_summaries] == [
        s["aligned_bases"] for s in one.net_summaries[::-1]
    ]


def test_no_test_fraction_leaves_no_test_region(tmp_path: Path) -> None:
    result = generated(tmp_path, valid=0.2, test=0.0)
    assert result.labels == ["train", "valid", "test"]
    assert not (result.region_split == result.labels.index("test")).any()
    for genome, fractions in result.fractions().items():
        assert fractions == pytest.approx({"train": 0.8, "valid": 0.2, "test": 0.0}, abs=0.01), (
            genome
        )


def _sizes(result: SplitResult, genome: str) -> list[int]:
    g = result.genomes.index(genome)
    ends = result.region_end[result.region_genome == g]
    chroms = result.region_chrom[result.region_genome == g]
    return [int(ends[chroms == c].max()) for c in range(len(result.chroms[genome]))]


def test_folds(tmp_path: Path) -> None:
    result = generated(tmp_path, folds=5)
    assert result.labels == [f"fold{k}" for k in range(5)]
    for genome, fractions in result.fractions().items():
        for label in result.labels:
            assert fractions[label] == pytest.approx(0.2, abs=0.01), (genome, label)
    assert result.leakage().ok


def test_an_indivisible_component_is_warned_about_and_placed_best(tmp_path: Path) -> None:
    sizes = {"a": {"chr1": 10_000}, "b": {"chr1": 10_000}}
    # a 0-8000 aligned with b 500-8500: region boundaries interleave, so the regions chain
    # into one component holding a 0-8000 (80% of a) and b 0-9000 (90% of b)
    net = write(tmp_path / "a.b.net", "net chr1 10000\n fill 0 8000 chr1 + 500 8000\n")
    result = split_genomes(sizes, [NetSpec("a", "b", net)], region_size=1000, min_aligned=100)
    assert len(set(result.region_component.tolist())) == 4
    assert len(result.warnings) == 2
    assert result.warnings[0].startswith(
        "genome 'a': the requested fractions cannot be met: train 80.0% (requested 76.0%)"
    )
    assert "holds 80.0% of it" in result.warnings[0]
    # a component of one region too large for a split is cut smaller only by the regions
    assert "lower --region-size for smaller ones" in result.warnings[0]
    assert "holds 90.0% of it" in result.warnings[1]
    # best possible: the big component in train, the free regions in valid and test
    assert result.fractions()["a"] == pytest.approx({"train": 0.8, "valid": 0.1, "test": 0.1})
    b = result.fractions()["b"]
    assert b["train"] == pytest.approx(0.9)
    assert sorted([b["valid"], b["test"]]) == pytest.approx([0.0, 0.1])
    assert result.leakage().ok


@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        ({"valid": 0.6, "test": 0.5}, "leave nothing for train"),
        ({"valid": 0.5, "test": 0.5}, "leave nothing for train"),
        ({"valid": -0.1}, "valid fraction must lie in"),
        ({"folds": 1}, "at least 2"),
        ({"region_size": 0}, "at least 1 bp"),
        ({"min_aligned": -1}, "non-negative"),
        ({"seed": -1}, "seed must lie in"),
    ],
)
def test_bad_options_are_rejected(tmp_path: Path, kwargs: dict, expected: str) -> None:
    with pytest.raises(ValueError, match=expected):
        split_genomes({"a": {"chr1": 10}}, [], **kwargs)


@pytest.mark.parametrize(
    ("valid", "test", "train"),
    [(0.1, 0.08, 0.82), (0.2, 0.1, 0.7), (0.0, 0.07, 0.93), (0.12, 0.12, 0.76)],
)
def test_train_gets_the_rest_as_written(
    tmp_path: Path, valid: float, test: float, train: float
) -> None:
    """Before: the float subtraction, 0.8200000000000001 for valid 0.1 and test 0.08, in
    split.json's requested fractions."""
    result = split_genomes({"a": {"chr1": 10_000}}, [], region_size=100, valid=valid, test=test)
    assert result.requested == {"train": train, "valid": valid, "test": test}
    assert repr(summarize(result)["parameters"]["requested"]["train"]) == repr(train)
    # 100 regions of 1%: every fraction met to the region
    assert result.fractions()["a"] == pytest.approx(result.requested)


def test_bad_genomes_are_rejected(tmp_path: Path) -> None:
    net = write(tmp_path / "n.net", "net chr1 10\n")
    with pytest.raises(ValueError, match="genome 'c' has no sizes; give them with --sizes c="):
        split_genomes({"a": {"chr1": 10}}, [NetSpec("a", "c", net)])
    # one genome named in two cases: the net's name is pointed to the sizes' one, and two
    # genomes named alike but for case are refused (a net of each direction would both count)
    with pytest.raises(ValueError, match="genome 'A' has no sizes; name it 'a', as --sizes"):
        split_genomes({"a": {"chr1": 10}, "b": {"chr1": 10}}, [NetSpec("b", "A", net)])
    with pytest.raises(ValueError, match="genome names 'a' and 'A' differ only by case"):
        split_genomes(
            {"a": {"chr1": 10}, "b": {"chr1": 10}, "A": {"chr1": 10}},
            [
                NetSpec("a", "b", net),
                NetSpec("b", "A", write(tmp_path / "b.a.net", "net chr1 10\n")),
            ],
        )
    with pytest.raises(ValueError, match="must align two different genomes"):
        split_genomes({"a": {"chr1": 10}}, [NetSpec("a", "a", net)])
    with pytest.raises(ValueError, match="genome name 'a/b'"):
        split_genomes({"a/b": {"chr1": 10}}, [])
    with pytest.raises(ValueError, match=r"genome name 'hü' .* only ASCII letters"):
        split_genomes({"hü": {"chr1": 10}}, [])
    with pytest.raises(ValueError, match="has length 0"):
        split_genomes({"a": {"chr1": 0}}, [])


def test_no_nets_gives_a_split_of_single_regions(tmp_path: Path) -> None:
    result = split_genomes({"a": {"chr1": 100_000}}, [], region_size=1000)
    assert len(result.component_split) == 100
    assert result.fractions()["a"] == pytest.approx({"train": 0.76, "valid": 0.12, "test": 0.12})


def test_a_genome_in_no_net_is_warned_about(tmp_path: Path) -> None:
    sizes = {"a": {"chr1": 10_000}, "b": {"chr1": 10_000}, "c": {"chr1": 10_000}}
    net = write(tmp_path / "a.b.net", "net chr1 10000\n fill 0 8000 chr1 + 500 8000\n")
    result = split_genomes(sizes, [NetSpec("a", "b", net)], region_size=1000, min_aligned=100)
    (unaligned,) = [w for w in result.warnings if "is in no --net" in w]
    assert unaligned.startswith("genome 'c' is in no --net, so none of its regions is joined")
    assert unaligned.endswith("(--net a,c=FILE)")
    alone = split_genomes({"a": sizes["a"], "b": sizes["b"]}, [], region_size=1000)
    assert [w for w in alone.warnings if "is in no --net" in w] == [
        f"genome '{g}' is in no --net, so none of its regions is joined to its orthologues in "
        f"the other genomes, which may fall in other splits; give the net aligning it to "
        f"another genome (--net a,b=FILE)"  # both to one net: both directions are refused
        for g in ("a", "b")
    ]
    # one genome alone has no orthologues to join
    one = split_genomes({"a": {"chr1": 100_000}}, [], region_size=1000)
    assert not [w for w in one.warnings if "is in no --net" in w]


def test_a_pair_aligning_exactly_the_threshold_joins_nothing_and_is_warned_of(
    tmp_path: Path,
) -> None:
    sizes = {"a": {"chr1": 3000}, "b": {"chrA": 3000}}
    net = write(tmp_path / "a.b.net", "net chr1 3000\n fill 0 100 chrA + 1000 100\n")
    result = split_genomes(sizes, [NetSpec("a", "b", net)], region_size=1000, min_aligned=100)
    assert result.link_bases.tolist() == [100]
    assert len(set(result.region_component.tolist())) == 6
    assert [w for w in result.warnings if w.startswith("no two regions")] == [
        "no two regions share more than --min-aligned (100 bp) of aligned bases (the most "
        "is 100 bp), so no regions were joined and orthologous regions may fall in "
        "different splits"
    ]


def test_the_report_counts_components_by_size_and_quantiles_of_their_bases(
    tmp_path: Path,
) -> None:
    # a 0-8000 aligned with b 500-8500 chains a's 8 first regions and b's 9 first into one
    # component of 17 regions; the 3 regions left are each alone
    sizes = {"a": {"chr1": 10_000}, "b": {"chr1": 10_000}}
    net = write(tmp_path / "a.b.net", "net chr1 10000\n fill 0 8000 chr1 + 500 8000\n")
    result = split_genomes(sizes, [NetSpec("a", "b", net)], region_size=1000, min_aligned=100)
    components = summarize(result)["components"]
    counts = {row["regions"]: row["components"] for row in components["regions_per_component"]}
    assert counts == {
        "1": 3, "2": 0, "3-5": 0, "6-10": 0, "11-50": 1, "51-200": 0, "201+": 0
    }  # fmt: skip
    # bases per component: 1000, 1000, 1000 and 17,000, each quantile one of them
    assert components["bp_per_component"] == {"p50": 1000, "p90": 1000, "p99": 1000, "p100": 17_000}
    assert components["largest"]["regions"] == 17
    assert components["largest"]["share"] == pytest.approx({"a": 0.8, "b": 0.9})
