"""crossreg.io.text.open_text: gzip told by its magic bytes, not the file's name, and the
readers built on it (BED, chrom sizes, VCF, GTF)."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest

from crossreg.io.bed import Interval, read_bed
from crossreg.io.chrom_sizes import read_chrom_sizes
from crossreg.io.gtf import read_gtf
from crossreg.io.text import is_gzipped, open_text
from crossreg.io.vcf import read_vcf

TEXT = "line one\nline two\n"


def _gzipped(path: Path, text: str) -> Path:
    path.write_bytes(gzip.compress(text.encode()))
    return path


@pytest.mark.parametrize("name", ["data.txt", "data", "data.gz.txt", "data.gz"])
def test_gzipped_file_reads_whatever_its_name(tmp_path, name):
    path = _gzipped(tmp_path / name, TEXT)
    assert is_gzipped(path)
    with open_text(path) as handle:
        assert handle.read() == TEXT


@pytest.mark.parametrize("name", ["data.gz", "data.txt", "data.bgz"])
def test_plain_file_reads_whatever_its_name(tmp_path, name):
    path = tmp_path / name
    path.write_text(TEXT)
    assert not is_gzipped(path)
    with open_text(path) as handle:
        assert handle.read() == TEXT


def test_short_and_empty_files_are_plain(tmp_path):
    for text in ["", "x", "\x1f"]:
        path = tmp_path / "short.gz"
        path.write_text(text)
        with open_text(path) as handle:
            assert handle.read() == text


def test_concatenated_gzip_members_read_as_one(tmp_path):
    path = tmp_path / "members"
    path.write_bytes(gzip.compress(b"a\n") + gzip.compress(b"b\n"))
    with open_text(path) as handle:
        assert handle.read() == "a\nb\n"


def test_missing_file_raises_file_not_found(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"absent\.gz"):
        open_text(tmp_path / "absent.gz")


VCF = (
    "##fileformat=VCFv4.2\n#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n"
    "chr1\t5\trs1\tA\tC\t.\t.\t.\n"
)
GTF = 'chr1\tsrc\tgene\t1\t100\t.\t+\t.\tgene_id "G1";\n'


@pytest.mark.parametrize("gzipped", [True, False])
@pytest.mark.parametrize("name", ["file", "file.gz"])
def test_readers_decide_by_content(tmp_path, gzipped, name):
    def write(stem: str, text: str) -> Path:
        path = tmp_path / f"{stem}.{name}"
        if gzipped:
            return _gzipped(path, text)
        path.write_text(text)
        return path

    assert read_bed(write("bed", "chr1\t0\t10\tx\n")) == [Interval("chr1", 0, 10, ("x",))]
    assert read_chrom_sizes(write("sizes", "chr1\t1000\n")) == {"chr1": 1000}
    assert [v.id for v in read_vcf(write("vcf", VCF))] == ["rs1"]
    assert [r.gene_id for r in read_gtf(write("gtf", GTF))] == ["G1"]
