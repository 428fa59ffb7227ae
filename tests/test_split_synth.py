"""The split on the synthetic mini world's net: no leakage, fractions met, orthologs together."""

from __future__ import annotations

import json

import polars as pl
import pytest

from crossreg.cli import main
from crossreg.io.bed import read_bed


@pytest.fixture(scope="module")
def mini(tmp_path_factory):
    out = tmp_path_factory.mktemp("mini")
    assert (
        main(["-q", "synth", "--preset", "mini", "--seed", "2", "--no-cohorts", "--out", str(out)])
        == 0
    )
    return out


def run_split(mini, out, *extra: str) -> dict:
    args = ["-q", "split", "--out", str(out), "--net", f"human,mouse={mini / 'human.mouse.net'}"]
    for genome in ("human", "mouse"):
        args += ["--sizes", f"{genome}={mini / genome / 'chrom.sizes'}"]
    main([*args, *extra])
    return json.loads((out / "split.json").read_text())


def test_scaled_regions_meet_the_fractions_without_leakage(mini, tmp_path):
    report = run_split(mini, tmp_path, "--region-size", "100000", "--min-aligned", "10000")
    assert report["leakage"]["ok"] and report["leakage"]["above_threshold_bp"] == 0
    for genome in ("human", "mouse"):
        fractions = report["genomes"][genome]["fraction"]
        assert fractions["valid"] == pytest.approx(0.12, abs=0.03)
        assert fractions["test"] == pytest.approx(0.12, abs=0.03)


def test_orthologous_blocks_share_a_split(mini, tmp_path):
    run_split(mini, tmp_path, "--region-size", "100000", "--min-aligned", "10000")
    label = {}
    for genome in ("human", "mouse"):
        for iv in read_bed(tmp_path / f"{genome}.regions.bed", min_columns=4):
            label[(genome, iv.chrom, iv.start // 100_000)] = iv.extra[0]
    orthology = pl.read_csv(mini / "orthology.tsv", separator="\t")
    checked = 0
    for row in orthology.iter_rows(named=True):
        h = (row["human_start"] // 100_000, (row["human_end"] - 1) // 100_000)
        m = (row["mouse_start"] // 100_000, (row["mouse_end"] - 1) // 100_000)
        # a block of more than 10 kbp inside one region on each side joins those regions
        if row["length"] > 12_000 and h[0] == h[1] and m[0] == m[1]:
            human = label[("human", row["human_chrom"], h[0])]
            mouse = label[("mouse", row["mouse_chrom"], m[0])]
            assert human == mouse, row
            checked += 1
    assert checked > 10


def test_paper_defaults_report_an_indivisible_component_without_leakage(mini, tmp_path):
    report = run_split(mini, tmp_path)
    assert report["leakage"]["above_threshold_bp"] == 0
    assert any("cannot be met" in w for w in report["warnings"])
