"""A VCF cut short or corrupted stops with the file and line named (or, for a BGZF file
cut at a block boundary, is read with a warning), instead of losing records silently."""

from __future__ import annotations

import gzip
import struct
import zlib
from pathlib import Path

import pytest

from crossreg.io.text import BGZF_EOF, bgzf_end_missing, is_bgzf
from crossreg.io.vcf import read_vcf

HEADER = "##fileformat=VCFv4.2\n#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n"
RECORDS = "".join(f"chr1\t{10 * i + 1}\tv{i}\tA\tC,G\t50\tPASS\t.\n" for i in range(40))
TEXT = HEADER + RECORDS  # 42 lines


def _bgzf_block(data: bytes) -> bytes:
    """One BGZF block of `data` (the SAM/BAM specification's layout)."""
    packer = zlib.compressobj(6, zlib.DEFLATED, -15)
    body = packer.compress(data) + packer.flush()
    header = struct.pack("<BBBBIBBHBBHH", 31, 139, 8, 4, 0, 0, 255, 6, 66, 67, 2, len(body) + 25)
    return header + body + struct.pack("<II", zlib.crc32(data), len(data))


def _bgzf_blocks(text: str, size: int = 200) -> list[bytes]:
    data = text.encode()
    return [_bgzf_block(data[i : i + size]) for i in range(0, len(data), size)]


def test_the_bgzf_end_of_file_block_is_bgzips():
    assert _bgzf_block(b"") == BGZF_EOF


def test_a_complete_bgzf_vcf_reads_without_a_warning(tmp_path, logs):
    path = tmp_path / "a.vcf.gz"
    path.write_bytes(b"".join(_bgzf_blocks(TEXT)) + BGZF_EOF)
    assert is_bgzf(path) and not bgzf_end_missing(path)
    assert len(read_vcf(path)) == 40
    assert "truncated" not in logs.text


def test_a_bgzf_vcf_cut_at_a_line_end_warns_that_it_may_be_truncated(tmp_path, logs):
    data = TEXT.encode()
    cut = data.index(b"\n", len(HEADER) + 500) + 1  # a whole number of lines
    path = tmp_path / "cut.vcf.gz"
    path.write_bytes(b"".join(_bgzf_blocks(data[:cut].decode())))  # no end-of-file block
    assert bgzf_end_missing(path)
    variants = read_vcf(path)
    assert 0 < len(variants) < 40
    assert "the BGZF file lacks its end-of-file block, so it may be truncated" in logs.text
    assert "cut.vcf.gz" in logs.text


def test_a_bgzf_vcf_cut_inside_a_line_stops_at_that_line(tmp_path, logs):
    blocks = _bgzf_blocks(TEXT, size=100)
    path = tmp_path / "cut.vcf.gz"
    path.write_bytes(b"".join(blocks[:5]))  # 500 bytes: the last line is cut
    last = TEXT[:500].count("\n") + 1
    with pytest.raises(ValueError, match=rf"cut\.vcf\.gz:{last}: the last record has no newline"):
        read_vcf(path)
    assert "may be truncated" in logs.text


def test_plain_gzip_has_no_end_block_and_no_warning(tmp_path, logs):
    path = tmp_path / "a.vcf.gz"
    path.write_bytes(gzip.compress(TEXT.encode()))
    assert not is_bgzf(path) and not bgzf_end_missing(path)
    assert len(read_vcf(path)) == 40
    assert "truncated" not in logs.text


def test_a_truncated_gzip_stream_names_the_file_and_the_last_line_read(tmp_path):
    whole = gzip.compress(TEXT.encode())
    path = tmp_path / "trunc.vcf.gz"
    path.write_bytes(whole[: len(whole) - 20])  # the trailer and some data lost
    with pytest.raises(
        ValueError,
        match=r"trunc\.vcf\.gz: the gzip stream is truncated or corrupt after line \d+ .*"
        r"re-download or re-compress it",
    ):
        read_vcf(path)


def test_a_corrupt_gzip_stream_names_the_file(tmp_path):
    whole = bytearray(gzip.compress(TEXT.encode()))
    whole[30:60] = b"\xff" * 30  # the deflate data damaged
    path = tmp_path / "bad.vcf.gz"
    path.write_bytes(bytes(whole))
    with pytest.raises(ValueError, match=r"bad\.vcf\.gz: the gzip stream is .*corrupt"):
        read_vcf(path)


def test_a_plain_vcf_cut_inside_its_last_line_stops_at_that_line(tmp_path):
    cut = TEXT.index("C,G", len(HEADER) + 300) + 1  # inside an ALT: "C" instead of "C,G"
    path = tmp_path / "trunc.vcf"
    path.write_text(TEXT[:cut])
    line = TEXT[:cut].count("\n") + 1
    with pytest.raises(ValueError, match=rf"trunc\.vcf:{line}: the last record has no newline"):
        read_vcf(path)


def test_a_record_shorter_than_the_first_stops(tmp_path):
    body = "chr1\t5\ta\tA\tC\t.\t.\t.\nchr1\t9\tb\tA\tC\nchr1\t12\tc\tA\tG\t.\t.\t.\n"
    path = tmp_path / "short.vcf"
    path.write_text(HEADER + body)
    with pytest.raises(ValueError, match=r"short\.vcf:4: 5 tab-separated fields where the first"):
        read_vcf(path)
    # a file whose records all stop early (Basenji's seven columns) reads as before
    seven = HEADER + "chr1\t5\ta\tA\tC\t.\t.\nchr1\t9\tb\tA\tC\t.\t.\n"
    assert [v.id for v in read_vcf(_write(tmp_path / "seven.vcf", seven))] == ["a", "b"]


def _write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path
