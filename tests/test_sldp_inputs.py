"""``crossreg sldp`` stops with one clear error on phenotypes it cannot regress."""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pytest

from crossreg.stats.sldp.regression import sign_flip
from crossreg.stats.sldp.run import write_sldp
from tests.test_sldp_estimator import run_world, write_world

COMPLEMENT = {"A": "T", "C": "G", "G": "C", "T": "A"}


def test_sumstats_whose_alleles_match_no_panel_snp_are_named(tmp_path: Path) -> None:
    write_world(tmp_path)
    with gzip.open(tmp_path / "trait.sumstats.gz", "rt") as handle:
        header, *rows = handle.read().splitlines()
    bad = []
    for row in rows:  # A2 by its complement: neither the pair, its swap nor its complement
        snp, a1, a2, *rest = row.split("\t")
        bad.append("\t".join([snp, a1, COMPLEMENT.get(a2, a2), *rest]))
    with gzip.open(tmp_path / "other.sumstats.gz", "wt") as handle:
        handle.write("\n".join([header, *bad]) + "\n")
    message = r"other\.sumstats\.gz: no SNP of it is typed .* 0 matched"
    with pytest.raises(ValueError, match=message):
        run_world(tmp_path, tmp_path / "out", sumstats=[tmp_path / "other.sumstats.gz"])
    assert not (tmp_path / "out" / "results.tsv").exists()


def test_a_zero_score_has_p_one_at_most() -> None:
    # every flip reaches a score of 0; the undrawn ones count too, as in the reference
    p, z = sign_flip(np.zeros(20), 1_000_000, np.random.RandomState(0))
    assert p == 1.0 and np.isnan(z)


@pytest.mark.parametrize("percent", [0.0, 100.0, 150.0])
def test_spectrum_percent_outside_0_to_100_stops(tmp_path: Path, percent: float) -> None:
    write_world(tmp_path)
    with pytest.raises(ValueError, match=rf"--spectrum-percent .* got {percent}"):
        run_world(tmp_path, tmp_path / "out", spectrum_percent=percent)
    assert not (tmp_path / "out").exists()


def test_a_rerun_into_the_same_folder_leaves_no_earlier_tables_or_figures(
    tmp_path: Path,
) -> None:
    write_world(tmp_path)
    out = tmp_path / "out"
    common = [str(tmp_path / "panel."), tmp_path / "print_snps.txt", tmp_path / "blocks.bed"]
    options = {"sannot_chr": [str(tmp_path / "annot.")], "jk_blocks": 20, "flips": 1000}
    write_sldp(
        *common, str(tmp_path / "ld."), out, sumstats=[tmp_path / "trait.sumstats.gz"],
        verbose_thresh=1.0, svg=True, **options,
    )  # fmt: skip
    assert len(list((out / "chunks").glob("*.tsv"))) == 3 and (out / "z_heatmap.svg").exists()
    write_sldp(
        *common, str(tmp_path / "ld."), out, sumstats=[tmp_path / "trait.sumstats.gz"],
        verbose_thresh=0.0, plots=False, **options,
    )  # fmt: skip
    assert list((out / "chunks").glob("*.tsv")) == []
    assert sorted(p.name for p in out.iterdir()) == ["chunks", "results.tsv", "summary.json"]
