"""crossreg.io.vcf.iter_vcf reads natively (crossreg._native.VcfSites) the records, skips,
warnings and messages of the line-by-line Python reader it replaced
(tests/vcf_reference.py): on the real VCFs and on random awkward ones, plain and gzipped
in several members, with and without the sample columns and records passed over."""

from __future__ import annotations

import dataclasses
import gzip
import logging
import struct
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from crossreg.io.vcf import Variant, iter_vcf

from .vcf_reference import reference_iter_vcf

DATA = Path(__file__).parent / "data"
REAL = [*sorted((DATA / "basenji").glob("*.vcf")), DATA / "basenji_fixtures" / "sad_snps.vcf"]

Outcome = tuple[list[tuple[object, ...]], str | None, list[str]]


def _fields(v: Variant) -> tuple[object, ...]:
    return (v.chrom, v.pos, v.id, v.ref, v.alts, v.qual, v.filter, v.info, v.samples)


def _outcome(records: Iterator[Variant], logs: pytest.LogCaptureFixture) -> Outcome:
    """The records read (all fields) until the error, its message, and the warnings."""
    logs.clear()
    read: list[tuple[object, ...]] = []
    error = None
    try:
        for v in records:
            read.append(_fields(v))
    except ValueError as e:
        error = str(e)
    return read, error, [r.getMessage() for r in logs.records if r.levelno >= logging.WARNING]


def _both(
    path: Path, logs: pytest.LogCaptureFixture, *, sites_only: bool
) -> tuple[Outcome, Outcome]:
    return (
        _outcome(reference_iter_vcf(path, sites_only=sites_only), logs),
        _outcome(iter_vcf(path, sites_only=sites_only), logs),
    )


@pytest.mark.parametrize("path", REAL, ids=lambda p: p.name)
@pytest.mark.parametrize("sites_only", [False, True])
def test_real_vcfs_read_alike(path, sites_only, logs, tmp_path):
    expected, got = _both(path, logs, sites_only=sites_only)
    assert expected[0], "the real VCF has records"
    assert got == expected
    packed = tmp_path / "x.vcf.gz"
    packed.write_bytes(gzip.compress(path.read_bytes()))
    expected, got = _both(packed, logs, sites_only=sites_only)
    assert got == expected


CHROMS = ["1", "chr2", "1", "chrX", " ", "", "chré"]
POSITIONS = ["1", "12", "345", "0", "-3", "+5", "1_0", "x", " 7 ", "1__0", "_1", "-0", ""]
REFS = ["A", "C", "acg", "N", "GT", "X", "", "A C", "R", "aYn", "RX"]
ALTS = ["G", "t", "g,T", "<DEL>", "*", ".", "G[1:2[", "]1:2]A", ".A", "A.", "<>", "A[1", ""]
ALTS += [".[1:2[", "]1:2].", ".[1[.", "N,<DEL>"]  # telomere breakends (POS 0) and not
INFOS = [".", "", "AF=0.1;DB", "SVTYPE=DEL;;X=", "é=1"]
SAMPLES = ["GT", "0|1", "1/1", ".", "é"]
ENDS = ["\n", "\r\n", "\r"]


def _pick(rng: np.random.Generator, good: list[str], everything: list[str]) -> str:
    """Mostly a good value, sometimes any."""
    return str(rng.choice(good if rng.random() < 0.9 else everything))


def _random_vcf(rng: np.random.Generator) -> str:
    """A VCF of awkward lines: meta and blank lines, headers right and wrong, records
    short and long, good and bad fields (IUPAC codes in REF), some separated by spaces,
    every line end, maybe a BOM, maybe no last newline."""
    lines = []
    if rng.random() < 0.7:
        lines.append("##fileformat=VCFv4.2")
    if rng.random() < 0.8:
        header = ["#CHROM", "POS", "ID", "REF", "ALT", "QUAL", "FILTER", "INFO", "FORMAT", "S"]
        cut = int(rng.choice([10, 8, 5, 4])) if rng.random() < 0.1 else 8
        lines.append("\t".join(header[:cut]))
    width = int(rng.integers(5, 12))
    for _ in range(int(rng.integers(0, 25))):
        kind = rng.random()
        if kind < 0.05:
            lines.append(str(rng.choice(["", "  ", "\t", "##meta=1", "#bad\theader"])))
            continue
        fields = [
            _pick(rng, CHROMS[:4], CHROMS),
            _pick(rng, POSITIONS[:3], POSITIONS),
            str(rng.choice(["rs1", ".", "id;2"])),
            _pick(rng, REFS[:5], REFS),
            _pick(rng, ALTS[:10], ALTS),
            "50",
            "PASS",
            _pick(rng, INFOS[:4], INFOS),
        ]
        fields += [str(rng.choice(SAMPLES)) for _ in range(max(0, width - 8))]
        keep = width if rng.random() < 0.9 else int(rng.integers(1, width + 1))
        lines.append(("\t" if rng.random() < 0.97 else " ").join(fields[:keep]))
    text = "".join(line + str(rng.choice(ENDS)) for line in lines)
    if lines and rng.random() < 0.1:
        text = text.rstrip("\r\n")
    return ("\ufeff" if rng.random() < 0.1 else "") + text


def _gzip_members(data: bytes, rng: np.random.Generator) -> bytes:
    cut = int(rng.integers(0, len(data) + 1))
    return gzip.compress(data[:cut]) + gzip.compress(data[cut:])


def test_random_vcfs_read_alike(tmp_path, logs):
    rng = np.random.default_rng(7)
    errors = 0
    for case in range(300):
        data = _random_vcf(rng).encode()
        path = tmp_path / f"{case}.vcf"
        path.write_bytes(_gzip_members(data, rng) if case % 3 == 0 else data)
        for sites_only in (False, True):
            expected, got = _both(path, logs, sites_only=sites_only)
            assert got == expected, (case, data)
            errors += expected[1] is not None
    assert 50 < errors < 550, "the cases mix good files and bad ones"


def test_records_passed_over_alike(tmp_path, logs):
    rng = np.random.default_rng(8)
    kept = {"1", "chrX"}
    for case in range(100):
        path = tmp_path / f"{case}.vcf"
        path.write_bytes(_random_vcf(rng).encode())
        for skip in (0, 1, 3, 30):
            left = skip

            def pass_over(line: str) -> bool:
                nonlocal left
                if not left:
                    return False
                left -= line.split("\t", 1)[0] in kept
                return True

            reference = reference_iter_vcf(path, warn=False, sites_only=True, pass_over=pass_over)
            native = iter_vcf(path, warn=False, sites_only=True, skip=skip, skip_chroms=kept)
            assert _outcome(native, logs) == _outcome(reference, logs), (case, skip)


def test_a_bad_line_comes_after_the_records_before_it(tmp_path):
    """Records are read in batches, yet a consumer meets the records before a bad line
    (and may stop at one of them) before the bad line's error."""
    lines = [f"1\t{i + 1}\t.\tA\tG\n" for i in range(10)] + ["1\tx\t.\tA\tG\n"]
    path = tmp_path / "a.vcf"
    path.write_text("#CHROM\tPOS\tID\tREF\tALT\n" + "".join(lines))
    records = iter_vcf(path)
    assert [next(records).pos for _ in range(10)] == list(range(10))
    with pytest.raises(ValueError, match=r"a\.vcf:12: POS 'x' is not a whole number"):
        next(records)


def test_a_record_read_is_the_variant_its_constructor_makes(tmp_path):
    """iter_vcf fills each Variant without its __init__: every field set (the line the
    record was read from too), equal and hashed as the constructor's, still frozen."""
    path = tmp_path / "a.vcf"
    path.write_text("#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\nchr1\t5\trs1\tA\tG\t9\t.\tDB\n")
    (read,) = iter_vcf(path)
    made = Variant("chr1", 4, "A", ("G",), "rs1", "9", ".", {"DB": True}, line=2)
    assert vars(read) == vars(made)
    assert read == made and hash(read) == hash(made)
    with pytest.raises(dataclasses.FrozenInstanceError):
        read.pos = 0


def test_nul_bytes_between_gzip_members_are_skipped_as_by_python(tmp_path, logs):
    """Python's gzip skips NUL padding after a member (some writers pad); so does the
    native reader, rather than calling the stream corrupt."""
    header, record = b"#CHROM\tPOS\tID\tREF\tALT\n", b"1\t1\t.\tA\tG\n"
    path = tmp_path / "padded.vcf.gz"
    path.write_bytes(gzip.compress(header + record) + b"\0" * 3 + gzip.compress(record) + b"\0" * 8)
    expected, got = _both(path, logs, sites_only=True)
    assert expected[1] is None and len(expected[0]) == 2
    assert got == expected


def test_a_bcf_file_is_named_as_bcf(tmp_path):
    """BCF, binary VCF (bgzipped or not), read as a first record of one field or as text
    not UTF-8, with a fix that did not apply; it is named as BCF, with the conversion."""
    header = b"##fileformat=VCFv4.2\n#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n\0"
    for size in (len(header), 5000):  # l_text's bytes: text, or not UTF-8
        bcf = b"BCF\x02\x02" + struct.pack("<I", size) + header
        for name, data in (("u.bcf", bcf), ("b.bcf", gzip.compress(bcf))):
            path = tmp_path / name
            path.write_bytes(data)
            with pytest.raises(ValueError) as error:
                next(iter_vcf(path))
            assert str(error.value) == (
                f"{path}: the file is BCF (binary VCF), which crossreg does not read; convert "
                "it to VCF (bcftools view -Oz -o file.vcf.gz file.bcf)"
            )


def test_a_vcf_index_is_named_as_one(tmp_path):
    """A VCF's tabix or CSI index given for the VCF (a tab completion too far) is named as
    an index, not as a first line of one field or text not UTF-8."""
    for name, magic, kind in (("x.vcf.gz.tbi", b"TBI\x01", "tabix"), ("x.csi", b"CSI\x01", "CSI")):
        path = tmp_path / name
        path.write_bytes(gzip.compress(magic + struct.pack("<7i", 24, 0, 1, 2, 0, 35, 0)))
        with pytest.raises(ValueError) as error:
            next(iter_vcf(path))
        assert str(error.value).startswith(f"{path}: the file is a {kind} index")
        assert str(error.value).endswith("give the VCF it indexes (the .vcf.gz beside it)")


def test_bytes_after_the_last_gzip_member_are_named_as_python_names_them(tmp_path, logs):
    """Data after a gzip member that is not gzip (a plain file appended to a .vcf.gz) is
    called by what it is, as Python's gzip calls it, not a stream that ended early."""
    data = b"#CHROM\tPOS\tID\tREF\tALT\n1\t1\t.\tA\tG\n"
    for tail in (b"1\t2\t.\tA\tG\n", b"\0\0g", b"'x"):
        path = tmp_path / "appended.vcf.gz"
        path.write_bytes(gzip.compress(data) + tail)
        expected, got = _both(path, logs, sites_only=True)
        assert "Not a gzipped file" in str(expected[1])
        assert got == expected


def test_pos_0_is_read_for_telomere_breakends_alone(tmp_path, logs):
    """POS 0 (VCF's virtual telomere) is read, as -1, for a record without an ALT of bases,
    and refused with one, alike."""
    path = tmp_path / "telomere.vcf"
    read = []
    for alt in (".[1:2[", "]1:2].", "<DEL>", "*,.", ".A", "G", "<DEL>,g", ".[1[.", "T[1:2["):
        path.write_text(f"#CHROM\tPOS\tID\tREF\tALT\n1\t0\t.\tN\t{alt}\n")
        expected, got = _both(path, logs, sites_only=False)
        assert got == expected, alt
        read.append(expected[1] is None)
    assert read == [True] * 5 + [False] * 2 + [False, True]


def test_pos_is_read_as_int_reads_it(tmp_path, logs):
    """POS may have the whitespace int() strips around it, not the separators 0x1c-0x1f
    that str.strip() also strips (the native reader took both)."""
    for space in ("\u3000", "\x85", "\x1c", "\x1f"):
        path = tmp_path / "pos.vcf"
        path.write_text(f"#CHROM\tPOS\tID\tREF\tALT\n1\t{space}5\t.\tA\tG\n")
        expected, got = _both(path, logs, sites_only=False)
        assert got == expected, repr(space)
