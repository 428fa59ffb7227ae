"""``crossreg denovo`` refuses inputs and settings it cannot test, before writing anything."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl
import pytest

from crossreg.cli import build_parser
from crossreg.io.vcf import Variant, write_vcf
from crossreg.stats.denovo import risk_scores
from crossreg.stats.denovo_report import load_groups
from crossreg.variants.sad_files import SadTable
from tests.test_denovo import _planted, _write_inputs


def _argv(tmp_path: Path, paths: dict, *extra: str) -> list[str]:
    argv = ["denovo", "--out", str(tmp_path / "r"), "--no-plots", *extra]
    for group, (vcf, table) in paths.items():
        argv += [f"--{group}-vcf", str(vcf), f"--{group}-sad", str(table)]
    return argv


def _fails(argv: list[str], match: str) -> None:
    args = build_parser().parse_args(argv)
    with pytest.raises(ValueError, match=match):
        args.run(args)


def test_a_person_in_cases_and_controls_names_both_vcfs(tmp_path: Path) -> None:
    sad, people, is_case = _planted(n_people=8)
    people = list(people)
    shared = people[int(is_case.nonzero()[0][0])]
    people[int((~is_case).nonzero()[0][0])] = shared
    paths = _write_inputs(tmp_path, sad, people, is_case)
    _fails(
        _argv(tmp_path, paths),
        rf"1 individual\(s\) carry variants in both .*cases\.vcf and .*controls\.vcf \({shared}\)",
    )
    assert not (tmp_path / "r").exists()


@pytest.mark.parametrize(
    ("extra", "match"),
    [
        (("--folds", "17"), "17-fold risk scores need at least 17 cases and 17 .*there are 16"),
    ],
)
def test_settings_that_cannot_be_tested_stop(tmp_path: Path, extra: tuple, match: str) -> None:
    sad, people, is_case = _planted(n_people=16)
    paths = _write_inputs(tmp_path, sad, people, is_case)
    _fails(_argv(tmp_path, paths, *extra), match)
    assert not (tmp_path / "r").exists()


def test_a_sad_file_of_other_alleles_names_the_first_that_differs(tmp_path: Path) -> None:
    sad, people, is_case = _planted(n_people=6)
    paths = _write_inputs(tmp_path, sad, people, is_case)
    table = paths["cases"][1]
    lines = table.read_text().splitlines(keepends=True)
    table.write_text("".join([lines[0], lines[2], lines[1], *lines[3:]]))
    _fails(
        _argv(tmp_path, paths),
        r"cases\.tsv does not hold the alleles of .*cases\.vcf in order: its row 2 \(dn0\) is "
        r"not one of the VCF's alleles after the 1 matched \(36 rows, 36 alleles\)",
    )


def test_alleles_crossreg_sad_skipped_are_left_out_with_a_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # crossreg sad skips records on chromosomes its FASTA lacks and alleles longer than
    # half its window; before, denovo refused the file it wrote
    sad, people, is_case = _planted(n_people=6)
    paths = _write_inputs(tmp_path, sad, people, is_case)
    table = paths["cases"][1]
    lines = table.read_text().splitlines(keepends=True)
    table.write_text("".join([lines[0], *lines[2:7], *lines[13:]]))  # dn0, and case001's six
    data = load_groups({"case": paths["cases"], "control": paths["controls"]})
    assert len(data.individuals) == 72 - 7
    assert "case001" not in data.individuals and data.is_case.sum() == 36 - 7
    np.testing.assert_array_equal(data.values[0], np.float32(sad[1]))
    assert "7 of 36 alleles of" in caplog.text and "1 person(s) with no other" in caplog.text


def test_an_infinite_score_is_named() -> None:
    # before: an .h5 from another tool holding inf failed the PCA ("SVD did not converge")
    table = SadTable(["a", "b"], ["t0", "t1"], [], np.array([[1, 2], [3, np.inf]], np.float32))
    with pytest.raises(ValueError, match=r"allele b \(row 2\) has no finite score \(inf\)"):
        table.require_every_score("x.h5", "drop it")


def test_one_fold_is_refused_by_name() -> None:
    sad, people, is_case = _planted(n_people=6)
    with pytest.raises(ValueError, match="at least 2 folds, got 1"):
        risk_scores(sad, list(people), is_case, folds=1)


def test_a_rerun_without_figures_leaves_none_of_the_earlier_ones(tmp_path: Path) -> None:
    sad, people, is_case = _planted(n_people=10)
    paths = _write_inputs(tmp_path, sad, people, is_case)
    argv = [a for a in _argv(tmp_path, paths) if a != "--no-plots"]
    args = build_parser().parse_args([*argv, "--svg"])
    assert args.run(args) == 0
    assert (tmp_path / "r" / "risk_score.svg").exists()
    args = build_parser().parse_args(_argv(tmp_path, paths))
    assert args.run(args) == 0
    assert not [p.name for p in (tmp_path / "r").iterdir() if p.suffix in (".png", ".svg")]


def test_a_nan_score_names_the_allele_and_track(tmp_path: Path) -> None:
    # before: the per-track tests ran and the PCA stopped with "SVD did not converge"
    sad, people, is_case = _planted(n_people=6)
    sad[2, 1] = float("nan")
    paths = _write_inputs(tmp_path, sad, people, is_case)
    _fails(
        _argv(tmp_path, paths),
        r"cases\.tsv: allele dn2 \(row 3\) has no finite score \(nan\) for track t1_other, "
        r"and 0 more scores are not finite",
    )
    assert not (tmp_path / "r").exists()


def _multi_allelic_inputs(tmp_path: Path, carriers: str) -> dict[str, tuple[Path, Path]]:
    """Cases: a record ALT C,G whose INFO SAMPLE is `carriers`, and one of ann's own;
    controls: two people with one variant each."""
    groups: dict[str, list[tuple[tuple[str, ...], str]]] = {
        "case": [(("C", "G"), carriers), (("T",), "ann")],
        "control": [(("C",), "cy"), (("T",), "dee")],
    }
    paths = {}
    for group, records in groups.items():
        variants = [
            Variant("chr1", 100 + 10 * i, "A", alts, info={"SAMPLE": who})
            for i, (alts, who) in enumerate(records)
        ]
        write_vcf(tmp_path / f"{group}.vcf", variants, contigs={"chr1": 10_000})
        alleles = [(v, alt) for v in variants for alt in v.alts]
        pl.DataFrame(
            {
                "snp": [f"chr1:{v.pos + 1}:A>{alt}" for v, alt in alleles],
                "chrom": "chr1",
                "pos": [v.pos + 1 for v, _ in alleles],
                "ref": "A",
                "alt": [alt for _, alt in alleles],
                "t0": [float(k) for k in range(len(alleles))],
            }
        ).write_csv(tmp_path / f"{group}.tsv", separator="\t")
        paths[group] = (tmp_path / f"{group}.vcf", tmp_path / f"{group}.tsv")
    return paths


def test_one_carrier_per_alt_is_read_per_alt(tmp_path: Path) -> None:
    # before: a person named "ann,bob" carried both alleles
    data = load_groups(_multi_allelic_inputs(tmp_path, "ann,bob"))
    assert data.individuals == ["ann", "bob", "ann", "cy", "dee"]
    data = load_groups(_multi_allelic_inputs(tmp_path, "bob"))
    assert data.individuals == ["bob", "bob", "ann", "cy", "dee"]


@pytest.mark.parametrize("carriers", ["ann,bob,cy", "ann,"])
def test_a_carrier_list_that_does_not_fit_the_alts_is_named(tmp_path: Path, carriers: str) -> None:
    with pytest.raises(
        ValueError, match=rf"INFO SAMPLE={carriers} names \d carrier\(s\) for 2 ALT"
    ):
        load_groups(_multi_allelic_inputs(tmp_path, carriers))
