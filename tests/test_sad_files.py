"""A ``crossreg sad`` ``.tsv`` read back: what the writer writes (``nan`` included) reads
as written; what it cannot write stops naming the file, the line and the column."""

from __future__ import annotations

import re
from pathlib import Path

import h5py
import numpy as np
import pytest

from crossreg.variants.sad import write_sad
from crossreg.variants.sad_attrs import read_attrs
from crossreg.variants.sad_join import merge_shards
from crossreg.variants.sad_names import check_stats
from crossreg.variants.sad_read import read_sad
from crossreg.variants.sad_tsv import write_tsv

HEADER = "snp\tchrom\tpos\tref\talt\tt0\tt1\n"


def test_a_nan_score_written_by_crossreg_reads_back_as_nan(tmp_path: Path) -> None:
    part = {
        "snp": np.array([b"rs1", b"rs2"]),
        "chr": np.array([b"chr1", b"chr1"]),
        "pos": np.array([101, 201]),
        "ref_allele": np.array([b"A", b"G"]),
        "alt_allele": np.array([b"C", b"T"]),
        "SAD": np.array([[0.5, np.nan], [-0.25, 2.0]], dtype=np.float16),
    }
    path = tmp_path / "s.tsv"
    write_tsv(path, [part], ["SAD"], ["t0", "t1"], ["a", "b"], {"stats": "SAD"})
    table = read_sad(path)
    assert table.labels == ["rs1", "rs2"] and table.identifiers == ["t0", "t1"]
    assert table.descriptions == ["a", "b"]
    np.testing.assert_array_equal(table.values, np.array([[0.5, np.nan], [-0.25, 2.0]]))


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        ("rs1\tchr1\t101\tA\tC\t0.5\t-inf\n", "line 2: column t1 has -inf; SAD scores are finite"),
        ("rs1\tchr1\t101\tA\tC\t0.5\t1\nrs2\tchr1\t201\tG\tT\t\t1\n", "line 3: column t0 has ''"),
        ("rs1\tchr1\t101\tA\tC\t0.5\n", "line 2: 6 fields but the header has 7"),
        ("rs1\tchr1\t101\tA\tC\t0.5\t1\t9\n", "line 2: 8 fields but the header has 7"),
        ("rs1\tchr1\t101\tA\tC\t0.5\t1\n\n", "line 3: blank line; remove it"),
        ("rs1\t\t101\tA\tC\t0.5\t1\n", "line 2: an empty field among snp chrom pos ref alt"),
        ("rs1\tchr1\t101\tA\tC\t1e39\t1\n", "line 2: column t0 has 1e+39; SAD scores are finite"),
        ("rs1\n", "line 2: 1 field but the header has 7"),
    ],
)
def test_a_score_crossreg_cannot_write_is_named(tmp_path: Path, rows: str, message: str) -> None:
    path = tmp_path / "s.tsv"
    path.write_text(HEADER + rows)
    with pytest.raises(ValueError) as caught:
        read_sad(path)
    assert str(caught.value).startswith(f"{path} {message}")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", ": empty file; a SAD .tsv has a header and one row per allele"),
        ("snp\tpos\n", " line 1: a SAD .tsv starts with columns snp chrom pos ref alt"),
        (HEADER.replace("t1", "t0"), " line 1: column 't0' appears twice"),
    ],
)
def test_a_sad_header_crossreg_cannot_write_is_named(
    tmp_path: Path, text: str, message: str
) -> None:
    path = tmp_path / "s.tsv"
    path.write_text(text)
    with pytest.raises(ValueError) as caught:
        read_sad(path)
    assert str(caught.value) == f"{path}{message}"


def test_a_sad_file_without_the_statistic_asked_for_names_what_it_holds(tmp_path: Path) -> None:
    # sldp and denovo read SAD: a file of --stats logD2 alone names its statistic and the fix
    fix = "score the variants again with crossreg sad --stats naming SAD"
    tsv = tmp_path / "s.tsv"
    tsv.write_text("snp\tchrom\tpos\tref\talt\tlogD2:t0\nrs1\tchr1\t101\tA\tC\t0.5\n")
    with pytest.raises(ValueError, match=f"no SAD columns \\(it holds logD2\\); {fix}"):
        read_sad(tsv)
    h5 = tmp_path / "s.h5"
    with h5py.File(h5, "w") as handle:
        handle["snp"] = np.array([b"rs1"])
        handle["target_ids"] = np.array([b"t0"])
        handle["logD2"] = np.zeros((1, 1), dtype=np.float16)
    with pytest.raises(ValueError, match=f"holds logD2, not SAD; {fix}"):
        read_sad(h5)


def test_read_sad_names_a_non_hdf5_file_and_keeps_a_missing_one_missing(tmp_path: Path) -> None:
    path = tmp_path / "scores.h5"
    path.write_text("not hdf5\n")
    with pytest.raises(ValueError, match=rf"{re.escape(str(path))}: not a complete HDF5 file"):
        read_sad(path)
    with pytest.raises(FileNotFoundError):
        read_sad(tmp_path / "absent.h5")


def test_read_sad_names_a_row_field_of_another_length(tmp_path: Path) -> None:
    import h5py

    path = tmp_path / "scores.h5"
    with h5py.File(path, "w") as handle:
        handle["snp"] = np.array([b"rs1", b"rs2"])
        handle["pos"] = np.array([1], np.uint32)
        handle["target_ids"] = np.array([b"t0"])
        handle["SAD"] = np.zeros((2, 1), np.float16)
    with pytest.raises(ValueError, match=rf"{re.escape(str(path))}: dataset pos has shape"):
        read_sad(path)


def test_read_sad_converts_float16_scores_as_it_reads_them(tmp_path: Path, monkeypatch) -> None:
    # a 1,000,000 × 5,313 table is 10 GB of float16: read whole and then converted, the
    # float32 copy came on top of it
    import h5py

    scores = np.array([[0.5, -np.inf], [np.nan, 65504.0], [-0.0, 6e-8]], np.float16)
    path = tmp_path / "scores.h5"
    with h5py.File(path, "w") as handle:
        handle["snp"] = np.array([b"rs1", b"rs2", b"rs3"])
        handle["target_ids"] = np.array([b"t0", b"t1"])
        handle.create_dataset("SAD", data=scores, chunks=(1, 2))
    whole = h5py.Dataset.__getitem__

    def no_float16_table(self, key, *args, **kwargs):
        got = whole(self, key, *args, **kwargs)
        assert not (getattr(got, "dtype", None) == np.float16 and got.shape == scores.shape)
        return got

    monkeypatch.setattr(h5py.Dataset, "__getitem__", no_float16_table)
    values = read_sad(path).values
    assert values.dtype == np.float32
    np.testing.assert_array_equal(values, scores.astype(np.float32))
    assert np.signbit(values[2, 0])


def test_stats_given_as_one_string_are_refused_with_the_list_form(tmp_path: Path) -> None:
    assert check_stats(["SAD", "logD2", "SAD"]) == ("SAD", "logD2")
    with pytest.raises(TypeError, match=re.escape("stats must be a list of names, e.g. ['SAD']")):
        check_stats("SAD")
    with pytest.raises(TypeError, match="stats must be a list of names"):
        write_sad("model", "genome.fa", "snps.vcf", tmp_path / "out.h5", stats="SAD")
    assert not (tmp_path / "out.h5").exists()


def test_merge_names_the_shard_of_another_kind(tmp_path: Path) -> None:
    # before: the message named only the merged file, not the shard of the wrong kind
    shards = [tmp_path / "sad.0.h5", tmp_path / "variants.vcf", tmp_path / "sad.2.tsv"]
    with pytest.raises(ValueError, match=r"variants\.vcf: not a \.h5 shard, as .*sm\.h5 is"):
        merge_shards(tmp_path / "sm.h5", shards)


def test_scores_beyond_float16_are_stored_as_its_extremes_not_infinite(tmp_path: Path) -> None:
    """As Basenji's ``basenji_sad.py`` clips its float32 scores to the float16 range before
    storing them: ±1e6 becomes ±65,504; NaN and ordinary values pass."""
    from crossreg.variants.chunk_store import ChunkWriter

    writer = ChunkWriter(tmp_path, 2, "float16")
    scores = np.array([[1e6, -1e6], [1.5, np.nan]], dtype=np.float32)
    assert writer.add({"SAD": scores, "D2": scores[:, ::-1]}, ["SAD", "D2"]) == 2
    written = writer.arrays["SAD"]
    assert written.dtype == np.float16
    expected = np.array([[65504, -65504], [1.5, np.nan]], dtype=np.float16)
    np.testing.assert_array_equal(written, expected)
    np.testing.assert_array_equal(writer.arrays["D2"], expected[:, ::-1])


def test_an_attribute_hdf5_cannot_parse_is_named(tmp_path: Path, monkeypatch) -> None:
    """h5py raises a KeyError for an attribute whose object header is damaged; read one by
    one it names the file, where ``attrs.items()`` gave None for its value."""
    path = tmp_path / "scores.h5"
    with h5py.File(path, "w") as handle:
        handle.attrs["model"] = "m"

    def unreadable(self, name):
        raise KeyError("Unable to synchronously open object (message size exceeds buffer end)")

    monkeypatch.setattr(h5py.AttributeManager, "__getitem__", unreadable)
    with pytest.raises(ValueError, match=re.escape(f"{path}: its data do not read back")):
        read_attrs(path)
