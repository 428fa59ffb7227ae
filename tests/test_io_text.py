"""crossreg.io.text.open_text and numbered_lines: gzip told by its magic bytes, not the
file's name, a leading byte-order mark dropped, text that is not UTF-8 named by its line,
and the readers built on them (BED, chrom sizes, VCF, GTF, targets tables)."""

from __future__ import annotations

import bz2
import gzip
import lzma
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from crossreg.io.bed import Interval, read_bed
from crossreg.io.chrom_sizes import MAX_LENGTH, read_chrom_sizes
from crossreg.io.gtf import read_gtf
from crossreg.io.targets_read import read_targets
from crossreg.io.text import is_gzipped, numbered_lines, open_text
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


TARGETS = (
    "index\tidentifier\tfile\tclip\tscale\tsum_stat\tdescription\n"
    "0\tT0\tr0.bw\tinf\t2\tmean\tDNASE:liver\n"
    "\n"
    "1\tT1\tr1.bw\t384\t1\tsum\tCAGE:brain\n"
)


def _write(path: Path, data: bytes, gzipped: bool) -> Path:
    path.write_bytes(gzip.compress(data) if gzipped else data)
    return path


@pytest.mark.parametrize("gzipped", [True, False])
def test_a_leading_byte_order_mark_is_dropped_once(tmp_path, gzipped):
    path = _write(tmp_path / "bom.txt", b"\xef\xbb\xbfa\n\xef\xbb\xbfb\n", gzipped)
    assert list(numbered_lines(path)) == [(1, "a\n"), (2, "\ufeffb\n")]


@pytest.mark.parametrize("gzipped", [True, False])
def test_readers_ignore_a_leading_byte_order_mark(tmp_path, gzipped):
    def write(name: str, text: str) -> Path:
        return _write(tmp_path / name, b"\xef\xbb\xbf" + text.encode(), gzipped)

    assert read_bed(write("a.bed", "chr1\t0\t10\n")) == [Interval("chr1", 0, 10)]
    assert read_chrom_sizes(write("a.sizes", "chr1\t1000\n")) == {"chr1": 1000}
    assert [r.gene_id for r in read_gtf(write("a.gtf", GTF))] == ["G1"]
    assert [v.id for v in read_vcf(write("a.vcf", VCF))] == ["rs1"]
    assert read_targets(write("targets.txt", TARGETS)).identifiers == ["T0", "T1"]


@pytest.mark.parametrize("gzipped", [True, False])
def test_a_byte_that_is_not_utf8_is_named_by_its_line_far_into_the_file(tmp_path, gzipped):
    lines = [b"chr1\t%d\t%d\n" % (i, i + 1) for i in range(100_000)]
    lines[70_000] = b"chr1\t\xe9\t1\n"  # far past the text layer's first chunk
    path = _write(tmp_path / "a.bed", b"".join(lines), gzipped)
    with pytest.raises(ValueError, match=r"a\.bed:70001: the line is not UTF-8 text"):
        list(numbered_lines(path))


def test_a_gzip_stream_cut_short_names_the_file_and_last_line(tmp_path):
    text = b"".join(b"chr1\t%d\t%d\n" % (i * 7, i * 7 + i % 5) for i in range(100_000))
    path = _write(tmp_path / "a.bed", text, gzipped=True)
    path.write_bytes(path.read_bytes()[:-1000])
    with pytest.raises(ValueError, match=r"a\.bed: the gzip stream is truncated .* after line \d"):
        read_bed(path)


def test_a_chromosome_length_up_to_2_to_the_40_is_accepted(tmp_path):
    path = tmp_path / "g.sizes"
    path.write_text(f"big\t{MAX_LENGTH}\n")
    assert read_chrom_sizes(path) == {"big": 2**40}
    path.write_text(f"chr1\t5\nbig\t{MAX_LENGTH + 1}\n")
    message = r"g\.sizes:2: the length of 'big' is 1,099,511,627,777 bp, more than"
    with pytest.raises(ValueError, match=message):
        read_chrom_sizes(path)


@pytest.mark.parametrize("gzipped", [True, False])
def test_a_targets_table_keeps_each_rows_own_line(tmp_path, gzipped):
    table = read_targets(_write(tmp_path / "targets.txt", TARGETS.encode(), gzipped))
    assert [table.line_of(t) for t in table] == [2, 4]
    assert table.targets[0].clip == float("inf")  # an infinite clip means no clip


@pytest.mark.parametrize(("column", "value"), [("scale", "inf"), ("scale", "1e400")])
def test_an_infinite_scale_is_refused_by_its_line(tmp_path, column, value):
    path = tmp_path / "targets.txt"
    path.write_text(TARGETS.replace("384\t1\t", f"384\t{value}\t"))
    message = rf"targets\.txt:4: column '{column}' is {value}; it must be a positive finite"
    with pytest.raises(ValueError, match=message):
        read_targets(path)


@contextmanager
def _pipe(data: bytes) -> Iterator[str]:
    """A path naming a pipe that holds `data`, as a shell's ``<(...)`` gives one."""
    read_end, write_end = os.pipe()
    os.write(write_end, data)
    os.close(write_end)
    try:
        yield f"/dev/fd/{read_end}"
    finally:
        os.close(read_end)


@pytest.mark.skipif(not Path("/dev/fd").is_dir(), reason="needs /dev/fd")
@pytest.mark.parametrize("gzipped", [True, False])
def test_a_pipe_reads_whole(gzipped):
    # before: looking for the gzip magic consumed the pipe, which then read empty
    def pipe(text: str):
        return _pipe(gzip.compress(text.encode()) if gzipped else text.encode())

    with pipe("chr2\t100\t200\nchr2\t300\t400\n") as path:
        assert read_bed(path) == [Interval("chr2", 100, 200), Interval("chr2", 300, 400)]
    with pipe(VCF) as path:
        assert [v.id for v in read_vcf(path)] == ["rs1"]
    with pipe(GTF) as path:
        assert [r.gene_id for r in read_gtf(path)] == ["G1"]


UTF16_FIX = r"is UTF-16 text, not UTF-8; .*\(iconv -f utf-16 -t utf-8\)"


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (TARGETS.encode("utf-16"), UTF16_FIX),
        (gzip.compress(TARGETS.encode("utf-16")), UTF16_FIX),
        (bz2.compress(TARGETS.encode()), r"is bzip2-compressed, .*\(bzip2 -d\) or recompress"),
        (
            lzma.compress(TARGETS.encode()),
            r"is xz-compressed, .*\(xz -d\) or recompress it with gzip",
        ),
        (bytes.fromhex("28b52ffd") + b"\x00\x88\xff", r"is zstd-compressed, .*\(zstd -d\)"),
    ],
)
def test_utf16_and_other_compressions_are_named_with_their_fix(tmp_path, data, message):
    # before: every such file was advised `iconv -f latin1 -t utf-8`
    path = _write(tmp_path / "targets.txt", data, gzipped=False)
    with pytest.raises(ValueError, match=message) as raised:
        read_targets(path)
    assert "latin1" not in str(raised.value)


def test_read_json_names_the_file_and_line_and_gives_the_remedy(tmp_path):
    from crossreg.io.text import read_json

    good = tmp_path / "good.json"
    good.write_text('{"a": [1, 2]}')
    assert read_json(good) == {"a": [1, 2]}
    bad = tmp_path / "bad.json"
    bad.write_text('{\n"a": 1\n"b": 2}')
    with pytest.raises(ValueError) as err:
        read_json(bad)
    assert str(err.value) == f"{bad}: not valid JSON (Expecting ',' delimiter at line 3)"
    with pytest.raises(ValueError, match=r"at line 3\); rerun it$"):
        read_json(bad, "rerun it")
    # bytes that are not UTF-8: before, a bare UnicodeDecodeError naming no file
    latin = tmp_path / "latin.json"
    latin.write_bytes('{\n"a": "café"}'.encode("latin-1"))
    with pytest.raises(ValueError) as err:
        read_json(latin, "rerun it")
    assert (
        str(err.value) == f"{latin}: not JSON: line 2 is not UTF-8 text (a binary file?); rerun it"
    )
    wide = tmp_path / "wide.json"
    wide.write_text('{"a": 1}', encoding="utf-16")
    with pytest.raises(ValueError, match=r"wide\.json: not JSON: the file is UTF-16 text, not"):
        read_json(wide)
