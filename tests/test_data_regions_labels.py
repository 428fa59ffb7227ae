"""Split labels of a regions BED: train/valid/test or folds fold0..fold{K-1}, nothing else,
refused before any work with the file, the line and the allowed labels."""

from __future__ import annotations

import logging
import re
from dataclasses import replace
from pathlib import Path

import pytest

from crossreg.cli import main
from crossreg.data import BuildOptions, DataStore, Layout, build_dataset
from crossreg.data.checks import check_split_labels
from crossreg.data.plan import SplitOptions
from crossreg.io.bed import Interval
from tests.data_inputs import small_inputs

LAYOUT = Layout(seq_length=4096, pool_width=128, crop_bins=4, stride=1500)


@pytest.fixture(scope="module")
def inputs(tmp_path_factory) -> dict[str, Path]:
    return small_inputs(tmp_path_factory.mktemp("inputs"))


def regions_bed(path: Path, *labels: str) -> Path:
    """The small genome's three regions with `labels`, after a comment line."""
    rows = [("chr1", 0, 20_000), ("chr1", 20_000, 40_000), ("chr2", 0, 26_000)]
    text = "# split regions\n"
    text += "".join(
        f"{c}\t{s}\t{e}\t{label}\n" for (c, s, e), label in zip(rows, labels, strict=True)
    )
    path.write_text(text)
    return path


def build(inputs: dict[str, Path], out: Path, regions: Path) -> DataStore:
    return build_dataset(
        out,
        fasta=inputs["fasta"],
        targets=inputs["targets"],
        regions=regions,
        gaps=inputs["gaps"],
        options=BuildOptions(genome="test", layout=LAYOUT, threads=2),
    )


def test_misspelt_label_stops_the_build_naming_file_line_and_labels(inputs, tmp_path):
    regions = regions_bed(tmp_path / "r.bed", "train", "trian", "test")
    out = tmp_path / "out"
    with pytest.raises(ValueError) as err:
        build(inputs, out, regions)
    message = str(err.value)
    assert f"{regions}:3:" in message  # line 1 is the comment
    assert "'trian'" in message
    assert "train, valid and test" in message and "fold0..fold{K-1}" in message
    assert not out.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.bed"]  # no partial store


def test_cli_refuses_a_misspelt_label_and_fails(inputs, tmp_path, logs):
    regions = regions_bed(tmp_path / "r.bed", "train", "valid", "Test")
    out = tmp_path / "out"
    args = ["data", "--genome", "test", "--fasta", str(inputs["fasta"])]
    args += ["--targets", str(inputs["targets"]), "--out", str(out), "--regions", str(regions)]
    args += ["--seq-length", "4096", "--stride", "1500", "--crop", "4", "--threads", "2"]
    with logs.at_level(logging.ERROR, logger="crossreg"):
        assert main(args) == 1
    assert f"{regions}:4: split label 'Test' is not allowed" in logs.text
    assert not out.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.bed"]


def test_fold_labels_build_one_split_per_fold(inputs, tmp_path):
    regions = regions_bed(tmp_path / "r.bed", "fold0", "fold1", "fold2")
    store = build(inputs, tmp_path / "folds", regions)
    assert list(store.splits) == ["fold0", "fold1", "fold2"]
    assert all(w.chrom == "chr2" for w in store.windows("fold2"))


@pytest.mark.parametrize(
    ("labels", "message"),
    [
        # one stray fold among train/valid/test, and the reverse
        (
            ["train", "valid", "fold1", "test"],
            r"r.bed:3: split label 'fold1' is a fold but line 1 ",
        ),
        (["fold0", "fold1", "train", "fold2"], r"r.bed:3: .*'train' .*the folds fold0..fold2"),
        # folds run from fold0 without gaps: fold5 of 3 folds is a typo
        (["fold0", "fold1", "fold2", "fold5"], r"r.bed:4: .*'fold5' .*fold0..fold2.*no 'fold3'"),
        (["fold0", "fold1", "fodl2", "fold2"], r"r.bed:3: .*'fodl2' .*the folds fold0..fold2"),
        (["fold1", "fold2"], r"r.bed:1: .*'fold1' .*no 'fold0'"),
        (["fold0", "fold01"], r"r.bed:2: .*'fold01' .*the folds fold0..fold0"),
        (["train", ""], r"r.bed:2: no split label in column 4 .*train, valid and test"),
    ],
)
def test_bad_label_sets_are_refused(labels, message):
    records = [
        Interval("chr1", 10 * n, 10 * n + 10, (lab,), line=n) for n, lab in enumerate(labels, 1)
    ]
    with pytest.raises(ValueError, match=message):
        check_split_labels(records, "r.bed")


@pytest.mark.parametrize(
    "labels",
    [["train", "valid", "test"], ["train", "train"], ["fold1", "fold0"], ["fold0"] * 3],
)
def test_good_label_sets_pass(labels):
    records = [
        Interval("chr1", 10 * n, 10 * n + 10, (lab,), line=n) for n, lab in enumerate(labels, 1)
    ]
    check_split_labels(records, "r.bed")


def test_message_names_every_allowed_label():
    records = [Interval("chr1", 0, 10, ("trian",), line=7)]
    with pytest.raises(ValueError) as err:
        check_split_labels(records, "r.bed")
    assert re.search(r"train, valid and test .*fold0..fold\{K-1\}", str(err.value))


def test_stride_test_with_fold_labels_is_refused(inputs, tmp_path):
    # folds all take --stride: a --stride-test would space no window, yet be recorded
    regions = regions_bed(tmp_path / "r.bed", "fold0", "fold1", "fold2")
    out = tmp_path / "folds"
    options = BuildOptions(genome="test", layout=replace(LAYOUT, stride_test=4096), threads=2)
    with pytest.raises(ValueError, match=r"--stride-test 4096 tiles the valid and test windows"):
        build_dataset(out, fasta=inputs["fasta"], targets=inputs["targets"], regions=regions,
                      options=options)  # fmt: skip
    assert not out.exists()


def test_split_options_with_regions_are_refused(inputs, tmp_path, logs):
    # the regions BED's labels make the split: a --valid-fraction beside it would do nothing
    regions = regions_bed(tmp_path / "r.bed", "train", "valid", "test")
    out = tmp_path / "out"
    args = ["data", "--genome", "test", "--fasta", str(inputs["fasta"])]
    args += ["--targets", str(inputs["targets"]), "--out", str(out), "--regions", str(regions)]
    args += ["--seq-length", "4096", "--stride", "1500", "--crop", "4", "--threads", "2"]
    with logs.at_level(logging.ERROR, logger="crossreg"):
        assert main([*args, "--valid-fraction", "0.3", "--seed", "3"]) == 1
    assert "--valid-fraction, --seed: only without --regions" in logs.text
    assert not out.exists()
    assert main(args) == 0
    # and the Python build, whose SplitOptions the regions would silently override
    split = SplitOptions(valid_fraction=0.3, seed=3)
    options = BuildOptions(genome="test", layout=LAYOUT, threads=2, split=split)
    with pytest.raises(ValueError, match=r"split options valid_fraction 0.3, seed 3 apply only"):
        build_dataset(tmp_path / "py", fasta=inputs["fasta"], targets=inputs["targets"],
                      regions=regions, options=options)  # fmt: skip
    assert not (tmp_path / "py").exists()


def test_regions_labelled_twice_are_refused_naming_the_file(inputs, tmp_path):
    regions = tmp_path / "r.bed"
    regions.write_text("chr1\t0\t20000\ttrain\nchr1\t15000\t40000\tvalid\n")
    with pytest.raises(ValueError) as err:
        build(inputs, tmp_path / "out", regions)
    assert str(err.value) == (
        f"{regions} (regions BED): chr1:15000-20000 is labelled both 'train' and 'valid'; each "
        "base may belong to one split only"
    )
    assert not (tmp_path / "out").exists()
