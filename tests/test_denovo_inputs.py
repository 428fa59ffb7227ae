"""``crossreg denovo`` refuses inputs and settings it cannot test, before writing anything."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from pathlib import Path

import h5py
import numpy as np
import polars as pl
import pytest

from crossreg.cli import build_parser, main
from crossreg.io.vcf import Variant, write_vcf
from crossreg.stats.denovo import risk_scores
from crossreg.stats.denovo_inputs import load_groups
from crossreg.stats.denovo_report import write_denovo
from crossreg.variants.sad_read import require_finite
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


def test_one_vcf_given_for_both_groups_is_named_so(tmp_path: Path) -> None:
    # before: "8 individual(s) carry variants in both cases.vcf and cases.vcf (...)"
    sad, people, is_case = _planted(n_people=8)
    paths = _write_inputs(tmp_path, sad, people, is_case)
    (tmp_path / "link.vcf").symlink_to(paths["cases"][0])
    paths["controls"] = (tmp_path / "link.vcf", paths["cases"][1])
    _fails(
        _argv(tmp_path, paths),
        r"cases\.vcf is given as both the cases' and the controls' VCF; give each group's own",
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
        r"cases\.tsv does not hold the alleles of .*cases\.vcf in order: its row 2 \(dn0 at "
        r"chr1:101:A>C\) is not one of the VCF's alleles after the 1 matched \(36 rows, 36 "
        r"alleles\)",
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
    values = np.array([[1, 2], [3, np.inf]], np.float32)
    with pytest.raises(ValueError, match=r"allele b \(row 2\) has no finite score \(inf\)"):
        require_finite("x.h5", values, ["a", "b"], ["t0", "t1"], "drop it")


def test_one_fold_is_refused_by_name() -> None:
    sad, people, is_case = _planted(n_people=6)
    with pytest.raises(ValueError, match="at least 2 folds, got 1"):
        risk_scores(sad, list(people), is_case, folds=1)


def test_the_help_names_every_table_written() -> None:
    from crossreg.commands import denovo
    from crossreg.stats.denovo_files import TABLES

    assert all(f"{table}.tsv" in denovo.DESCRIPTION for table in TABLES)


def test_a_rerun_without_figures_leaves_none_of_the_earlier_ones(tmp_path: Path) -> None:
    sad, people, is_case = _planted(n_people=10)
    paths = _write_inputs(tmp_path, sad, people, is_case)
    argv = [a for a in _argv(tmp_path, paths) if a != "--no-plots"]
    assert main(["-q", *argv, "--svg"]) == 0  # main logs the run: a rerun may replace it
    assert (tmp_path / "r" / "risk_score.svg").exists()
    assert main(["-q", *_argv(tmp_path, paths)]) == 0
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


def test_a_carrier_list_that_does_not_fit_the_alts_is_named(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"INFO SAMPLE=ann,bob,cy names 3 carrier\(s\) for 2 ALT"):
        load_groups(_multi_allelic_inputs(tmp_path, "ann,bob,cy"))


@pytest.mark.parametrize("carriers", [".", "ann,", "ann,.", ".,bob"])
def test_a_missing_carrier_name_is_refused_naming_the_record(tmp_path: Path, carriers: str) -> None:
    # before: SAMPLE=. (VCF's missing value) made a person named "."
    inputs = _multi_allelic_inputs(tmp_path, carriers)
    lines = inputs["case"][0].read_text().splitlines()
    line = next(n for n, text in enumerate(lines, 1) if text.startswith("chr1\t101\t"))
    with pytest.raises(
        ValueError,
        match=rf"case\.vcf:{line}: variant \. at chr1:101 has no INFO SAMPLE=NAME naming its "
        rf"carrier \(it has SAMPLE={re.escape(carriers)}\)",
    ):
        load_groups(inputs)


def _write_group(
    tmp_path: Path,
    group: str,
    records: Sequence[tuple[str, int, str, tuple[str, ...], str, str]],
    scored: Sequence[tuple[str, str, int, str, str, float]],
) -> tuple[Path, Path]:
    """A VCF of `records` (chrom, 1-based pos, REF, ALTs, INFO SAMPLE, ID) and a SAD .tsv of
    the `scored` alleles (label, chrom, 1-based pos, REF, ALT, score of track t0)."""
    variants = [
        Variant(chrom, pos - 1, ref, alts, id=name, info={"SAMPLE": who})
        for chrom, pos, ref, alts, who, name in records
    ]
    vcf = tmp_path / f"{group}.vcf"
    write_vcf(vcf, variants, contigs={"chr1": 10_000, "chrUn": 1_000})
    columns = ("snp", "chrom", "pos", "ref", "alt", "t0")
    pl.DataFrame([dict(zip(columns, row, strict=True)) for row in scored]).write_csv(
        tmp_path / f"{group}.tsv", separator="\t"
    )
    return vcf, tmp_path / f"{group}.tsv"


def _controls(tmp_path: Path, people: tuple[str, ...] = ("cy", "dee")) -> tuple[Path, Path]:
    """Controls: one scored SNV (score 0) per person of `people`."""
    records = [("chr1", 501 + i, "A", ("C",), who, ".") for i, who in enumerate(people)]
    scored = [(f"chr1:{501 + i}:A>C", "chr1", 501 + i, "A", "C", 0.0) for i in range(len(people))]
    return _write_group(tmp_path, "controls", records, scored)


def test_sad_rows_are_tied_to_alleles_by_site_not_by_id_alone(tmp_path: Path) -> None:
    # ann's rs9 is on chrUn (which crossreg sad skips), bob's rs9 on chr1; dan's ALT of rs5
    # is too long to score, cat's is not. Before: ann took bob's score, dan took cat's.
    cases = [
        ("chrUn", 11, "A", ("C",), "ann", "rs9"),
        ("chr1", 101, "G", ("T",), "bob", "rs9"),
        ("chr1", 201, "A", ("CCCC", "C"), "dan,cat", "rs5"),
    ]
    scored = [("rs9", "chr1", 101, "G", "T", 9.0), ("rs5", "chr1", 201, "A", "C", 1.0)]
    paths = {"case": _write_group(tmp_path, "cases", cases, scored), "control": _controls(tmp_path)}
    data = load_groups(paths)
    assert data.individuals == ["bob", "cat", "cy", "dee"]
    assert data.values[:, 0].tolist() == [9.0, 1.0, 0.0, 0.0]
    assert data.labels[:2] == ["rs9", "rs5"]
    assert data.sites[:2] == [("chr1", "101", "G", "T"), ("chr1", "201", "A", "C")]


def test_a_person_named_in_both_vcfs_is_refused_though_unscored_in_one(tmp_path: Path) -> None:
    # ann's only control allele is on chrUn, which crossreg sad skipped; before, she was
    # silently kept as a case
    cases = [("chr1", 101, "G", ("T",), "ann", "."), ("chr1", 201, "G", ("T",), "bob", ".")]
    scored = [(f"chr1:{p}:G>T", "chr1", p, "G", "T", 1.0) for p in (101, 201)]
    controls = [("chrUn", 11, "A", ("C",), "ann", "."), ("chr1", 501, "A", ("C",), "cy", ".")]
    paths = {
        "case": _write_group(tmp_path, "cases", cases, scored),
        "control": _write_group(
            tmp_path, "controls", controls, [("chr1:501:A>C", "chr1", 501, "A", "C", 0.0)]
        ),
    }
    with pytest.raises(
        ValueError, match=r"1 individual\(s\) carry variants in both .*cases\.vcf and .*\(ann\)"
    ):
        load_groups(paths)


def test_a_persons_allele_listed_twice_counts_once(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # concatenated per-family VCFs may list one call twice; bob carrying the same allele
    # as ann is another call and stays. Before: ann's allele counted twice in every test.
    cases = [
        ("chr1", 101, "G", ("T",), "ann", "."),
        ("chr1", 101, "G", ("T",), "ann", "."),
        ("chr1", 101, "G", ("T",), "bob", "."),
        ("chr1", 201, "G", ("T",), "bob", "."),
    ]
    scored = [("chr1:101:G>T", "chr1", 101, "G", "T", 5.0)] * 3
    scored += [("chr1:201:G>T", "chr1", 201, "G", "T", 1.0)]
    paths = {"case": _write_group(tmp_path, "cases", cases, scored), "control": _controls(tmp_path)}
    data = load_groups(paths)
    assert data.individuals == ["ann", "bob", "bob", "cy", "dee"]
    assert data.values[:, 0].tolist() == [5.0, 5.0, 1.0, 0.0, 0.0]
    assert "1 allele(s) listed again for the same person (e.g. ann's chr1:101:G>T)" in caplog.text


def _write_h5(path: Path, rows: list[tuple[str, str, int, str, str, float]], sites: bool) -> Path:
    """A SAD .h5 of `rows` (label, chrom, pos, REF, ALT, score of track t0), with or without
    its chr, pos, ref_allele and alt_allele datasets."""
    with h5py.File(path, "w") as handle:
        handle["snp"] = np.array([row[0] for row in rows], dtype="S")
        handle["SAD"] = np.array([[row[5]] for row in rows], dtype=np.float16)
        handle["target_ids"] = np.array(["t0"], dtype="S")
        if sites:
            for k, name in ((1, "chr"), (3, "ref_allele"), (4, "alt_allele")):
                handle[name] = np.array([row[k] for row in rows], dtype="S")
            handle["pos"] = np.array([row[2] for row in rows], dtype=np.uint32)
    return path


def test_an_h5_is_tied_to_the_vcf_by_its_sites(tmp_path: Path) -> None:
    cases = [("chrUn", 11, "A", ("C",), "ann", "rs9"), ("chr1", 101, "G", ("T",), "bob", "rs9")]
    cases += [("chr1", 201, "G", ("T",), "cat", "rs7")]
    scored = [("rs9", "chr1", 101, "G", "T", 9.0), ("rs7", "chr1", 201, "G", "T", 1.0)]
    vcf, _ = _write_group(tmp_path, "cases", cases, scored)
    h5 = _write_h5(tmp_path / "cases.h5", scored, sites=True)
    data = load_groups({"case": (vcf, h5), "control": _controls(tmp_path)})
    assert data.individuals == ["bob", "cat", "cy", "dee"]
    assert data.values[:, 0].tolist() == [9.0, 1.0, 0.0, 0.0]
    bare = _write_h5(tmp_path / "bare.h5", scored, sites=False)
    with pytest.raises(ValueError, match=r"bare\.h5 has no chr, pos, ref_allele and alt_allele"):
        load_groups({"case": (vcf, bare), "control": _controls(tmp_path)})


def test_groups_scored_with_other_settings_are_refused(tmp_path: Path, caplog) -> None:
    # controls scored with --rc, cases without: every control score moves, which the tests
    # would report as a case-control difference
    cases = [("chr1", 101, "G", ("T",), "bob", "rs1"), ("chr1", 201, "G", ("T",), "cat", "rs2")]
    scored = [("rs1", "chr1", 101, "G", "T", 9.0), ("rs2", "chr1", 201, "G", "T", 1.0)]
    vcf, _ = _write_group(tmp_path, "cases", cases, scored)
    h5 = _write_h5(tmp_path / "cases.h5", scored, sites=True)
    controls_vcf, controls_tsv = _controls(tmp_path)
    settings = {"genome": "human", "rc": False, "shifts": [0], "indel": "basenji", "model": "m"}
    with h5py.File(h5, "a") as handle:
        handle.attrs.update(settings)
    meta = controls_tsv.with_name(controls_tsv.name + ".json")
    meta.write_text(json.dumps({**settings, "rc": True, "shifts": [1, 0, -1]}))
    groups = {"case": (vcf, h5), "control": (controls_vcf, controls_tsv)}
    match = r"cases\.h5 and .*controls\.tsv were scored with other settings \(rc False and True; "
    with pytest.raises(ValueError, match=match + r"shifts \[0\] and \[1, 0, -1\]\)"):
        load_groups(groups)
    # the head that scored, which the file records as its genome, is named the head
    meta.write_text(json.dumps({**settings, "genome": "mouse"}))
    with pytest.raises(ValueError, match=r"other settings \(head human and mouse\)"):
        load_groups(groups)
    meta.write_text(json.dumps({**settings, "model": "copy"}))  # alike but for the model path
    assert load_groups(groups).values[:, 0].tolist() == [9.0, 1.0, 0.0, 0.0]
    assert "cases.h5 was scored with model m and " in caplog.text
    caplog.clear()  # a merge of shards that read copies of the model records each path
    meta.write_text(json.dumps({**settings, "model": ["copy", "m"]}))
    assert load_groups(groups).values[:, 0].tolist() == [9.0, 1.0, 0.0, 0.0]
    assert "scored with model" not in caplog.text


def test_a_shard_of_a_sad_run_is_refused(tmp_path: Path) -> None:
    # a shard holds only its share of the VCF's alleles: the rest were left out as if
    # crossreg sad had skipped them, with a warning, and the tests ran on the share
    cases = [("chr1", 101, "G", ("T",), "bob", "rs1"), ("chr1", 201, "G", ("T",), "cat", "rs2")]
    scored = [("rs1", "chr1", 101, "G", "T", 9.0)]
    vcf, _ = _write_group(tmp_path, "cases", cases, scored)
    h5 = _write_h5(tmp_path / "cases.h5", scored, sites=True)
    with h5py.File(h5, "a") as handle:
        handle.attrs.update({"shard_index": 0, "shard_count": 2})
    with pytest.raises(ValueError, match=r"cases\.h5: shard 0/2 of a crossreg sad --shard run"):
        load_groups({"case": (vcf, h5), "control": _controls(tmp_path)})


def test_alleles_missing_beyond_what_sad_skipped_are_refused(tmp_path: Path) -> None:
    # the SAD file was scored from an earlier, shorter VCF: it says it skipped nothing, so
    # the VCF's allele it lacks is not one crossreg sad left out
    cases = [("chr1", 101, "G", ("T",), "bob", "rs1"), ("chr1", 201, "G", ("T",), "cat", "rs2")]
    scored = [("rs1", "chr1", 101, "G", "T", 9.0)]
    vcf, _ = _write_group(tmp_path, "cases", cases, scored)
    h5 = _write_h5(tmp_path / "cases.h5", scored, sites=True)
    with h5py.File(h5, "a") as handle:
        handle.attrs.update({"skipped_records": 0, "skipped_alleles": ""})
    groups = {"case": (vcf, h5), "control": _controls(tmp_path)}
    with pytest.raises(ValueError, match=r"cases\.h5: 1 of the 2 alleles .* skipped 0 alleles of"):
        load_groups(groups)
    with h5py.File(h5, "a") as handle:  # one allele longer than half the window, skipped
        handle.attrs["skipped_alleles"] = "longer than half the window:1"
    assert load_groups(groups).values[:, 0].tolist() == [9.0, 0.0, 0.0]


@pytest.mark.parametrize(
    ("groups", "error", "match"),
    [
        # before: KeyError 'case'
        (
            {"cases": ("c.vcf", "c.h5"), "controls": ("d.vcf", "d.h5")},
            ValueError,
            r"groups must have the keys 'case' and 'control' \(.*\); got 'cases', 'controls'",
        ),
        # before: the path read letter by letter, "x: No such file or directory"
        (
            {"case": "x.vcf", "control": ("d.vcf", "d.h5")},
            TypeError,
            r"groups\['case'\] must be a \(vcf, sad\) pair of paths \(.*\), got 'x\.vcf'",
        ),
        ([("c.vcf", "c.h5")], TypeError, r"groups must be a dict such as \{\"case\""),
    ],
)
def test_groups_that_are_no_case_and_control_pairs_say_what_to_pass(
    tmp_path: Path, groups: object, error: type, match: str
) -> None:
    with pytest.raises(error, match=match):
        write_denovo(groups, tmp_path / "r")  # type: ignore[arg-type]
    assert not (tmp_path / "r").exists()
