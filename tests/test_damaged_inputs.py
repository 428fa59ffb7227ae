"""Damaged input files stop with one ValueError that names the file and, for line-based
formats, the line: never a crash, a misleading message or silently wrong data."""

from __future__ import annotations

import gzip
import logging
import os
import re
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from crossreg.cli import main
from crossreg.data.checks import check_inputs
from crossreg.genome import Genome
from crossreg.io.bed import iter_bed, read_bed
from crossreg.io.chrom_sizes import read_chrom_sizes
from crossreg.io.gtf import read_gtf
from crossreg.io.targets_read import read_targets
from crossreg.io.vcf import read_vcf
from crossreg.split.synteny import NetSpec, split_genomes
from crossreg.stats.sldp.annotations import read_sannot
from crossreg.stats.sldp.inputs import read_print_snps
from crossreg.stats.sldp.ldscores import LdScores, read_ldscores
from crossreg.stats.sldp.panel import read_ld_blocks
from crossreg.stats.sldp.plink import read_bim, read_frq
from crossreg.stats.sldp.sumstats import read_sumstats
from crossreg.variants.sad_read import read_sad
from tests.data_inputs import small_inputs, write_fasta
from tests.test_data_store import cli_args
from tests.test_sldp_estimator import argv_of, write_world

TARGETS = (
    "index\tidentifier\tfile\tclip\tscale\tsum_stat\tdescription\n"
    "0\tENCFF1\tr0.bw\t32\t2\tmean\tDNASE:liver\n"
    "1\tENCFF2\tr1.bw\t384\t1\tsum\tCAGE:brain\n"
    "2\tENCFF3\tr2.bw\t16\t2\tmean\tCHIP:H3K27ac\n"
)
BED = "chr1\t0\t20000\ttrain\nchr1\t20000\t40000\tvalid\nchr2\t0\t26000\ttest\n"
SIZES = {"chr1": 40_000, "chr2": 26_000}
SIZES_TEXT = "chr1\t40000\nchr2\t26000\n"
VCF = (
    "##fileformat=VCFv4.2\n##contig=<ID=chr1,length=40000>\n"
    "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n"
    "chr1\t101\trs1\tA\tC\t.\tPASS\tSAMPLE=p1\n"
    "chr1\t201\trs2\tG\tT\t.\tPASS\tSAMPLE=p2\n"
    "chr2\t301\trs3\tC\tA,G\t.\tPASS\tSAMPLE=p3\n"
)
GTF = (
    'chr1\ttest\tgene\t101\t900\t.\t+\t.\tgene_id "G1";\n'
    'chr1\ttest\ttranscript\t101\t900\t.\t+\t.\tgene_id "G1"; transcript_id "T1";\n'
    'chr1\ttest\texon\t101\t300\t.\t+\t.\tgene_id "G1"; transcript_id "T1";\n'
)
SUMSTATS = "SNP\tA1\tA2\tZ\tN\nrs1\tA\tG\t1.5\t5000\nrs2\tC\tT\t-0.3\t5000\nrs3\tG\tA\t2.1\t5000\n"
SANNOT = (
    "SNP\tA1\tA2\tpred1\tpred2\nrs1\tA\tG\t0.5\t-1.0\nrs2\tC\tT\t0.0\t2.0\nrs3\tG\tA\t1.5\t0.25\n"
)
BIM = "1\trs1\t0\t1000\tA\tG\n1\trs2\t0\t2000\tC\tT\n1\trs3\t0\t3000\tG\tA\n"
FRQ = " CHR SNP A1 A2 MAF NCHROBS\n1 rs1 A G 0.1 120\n1 rs2 C T 0.2 120\n1 rs3 G A 0.3 120\n"
BLOCKS = "chr1\t500\t1500\nchr1\t1500\t2500\nchr1\t2500\t3500\n"
LDSCORE = "CHR\tSNP\tBP\tL2\n1\trs1\t1000\t2.5\n1\trs2\t2000\t3.5\n1\trs3\t3000\t1.5\n"
SAD_TSV = (
    "snp\tchrom\tpos\tref\talt\tt0\tt1\n"
    "rs1\tchr1\t101\tA\tC\t0.5\t1.0\n"
    "rs2\tchr1\t201\tG\tT\t-0.5\t2.0\n"
    "rs3\tchr2\t301\tC\tA\t0.1\t0.2\n"
)
NET = (
    "net chr1 40000\n"
    " fill 100 1000 chrA + 200 1000 id 1 score 1 ali 1000\n"
    "  gap 300 100 chrA + 400 100\n"
    "net chr2 26000\n"
    " fill 0 500 chrA + 5000 500\n"
)
PRINT_SNPS = np.array(["rs1", "rs2", "rs3"])
U64_MAX = 2**64 - 1


def _write(path: Path, data: str | bytes) -> Path:
    path.write_bytes(data.encode() if isinstance(data, str) else data)
    return path


def _replace_line(text: str, line: int, new: str) -> str:
    """`text` with its 1-based line `line` replaced by `new` (a newline is added)."""
    lines = text.splitlines(keepends=True)
    lines[line - 1] = new + "\n"
    return "".join(lines)


def _latin1_on_line(text: str, line: int) -> bytes:
    """`text` as UTF-8 with a Latin-1 byte (é, 0xE9) at the start of line `line`."""
    lines = text.encode().splitlines(keepends=True)
    lines[line - 1] = b"\xe9" + lines[line - 1]
    return b"".join(lines)


def _where(name: str, line: int) -> str:
    """A pattern for a message that names file `name` and its line `line` (``name:3`` or
    ``name line 3``)."""
    return rf"{re.escape(name)}(:| line ){line}\b"


def _split(tmp_path: Path, net: Path) -> None:
    _write(tmp_path / "t.sizes", SIZES_TEXT)
    _write(tmp_path / "q.sizes", "chrA\t30000\n")
    sizes = {"t": tmp_path / "t.sizes", "q": tmp_path / "q.sizes"}
    split_genomes(sizes, [NetSpec("t", "q", net)], region_size=1000)


def _frq(path: Path) -> object:
    return read_frq(path, read_bim(_write(path.with_name("ref.bim"), BIM)))


# ---- damage that is reported well --------------------------------------------------------


@pytest.mark.parametrize(
    ("line", "row", "match"),
    [
        (3, "1\tENCFF2\tr1.bw\tabc\t1\tsum\tCAGE:brain", "column 'clip' is 'abc', not a number"),
        (3, "1\tENCFF2\tr1.bw\t-1\t1\tsum\tCAGE:brain", "column 'clip' is -1; it must be a pos"),
        (3, "1\tENCFF2\tr1.bw\t384\tnan\tsum\tCAGE:brain", "column 'scale' is nan; it must be a"),
        (3, "1\tENCFF2\tr1.bw\t384\t0\tsum\tCAGE:brain", "column 'scale' is 0; it must be a pos"),
        (3, "1\tENCFF2\tr1.bw\t384\t1\tmedian\tCAGE:brain", "sum_stat 'median' is unknown"),
        (3, "x\tENCFF2\tr1.bw\t384\t1\tsum\tCAGE:brain", "index 'x' is not a whole number"),
        (3, "1\tENCFF2\tr1.bw\t384\t1\tsum", "6 tab-separated fields but the header has 7"),
        (3, "1\tENCFF2\tr1.bw\t384\t1\tsum\tCAGE:brain\tx", "8 tab-separated fields but the"),
        (3, "1\tENCFF1\tr1.bw\t384\t1\tsum\tCAGE:brain", "'ENCFF1' already used on line 2"),
        (3, "# a comment", "1 tab-separated fields but the header has 7"),
    ],
)
def test_a_bad_targets_row_names_the_table_and_line(
    tmp_path: Path, line: int, row: str, match: str
) -> None:
    path = _write(tmp_path / "targets.txt", _replace_line(TARGETS, line, row))
    with pytest.raises(ValueError, match=rf"targets\.txt:{line}: .*{re.escape(match)}"):
        read_targets(path)


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("", r"targets\.txt: the targets table is empty"),
        (TARGETS.splitlines(keepends=True)[0], r"targets\.txt: the targets table has a header"),
        (TARGETS.replace("\t", " "), r"targets\.txt:1: the header lacks column\(s\) identifier"),
        (TARGETS.replace("\t", " "), r"no tab: the columns are separated by spaces; use tabs\)$"),
        (TARGETS.replace("\t", ","), r"no tab: the columns are separated by commas; use tabs\)$"),
        (">chr1\nACGT\n", r"description \(this file starts like a FASTA: is it the --fasta\?\)$"),
    ],
)
def test_an_empty_or_headless_targets_table_is_named(tmp_path: Path, text: str, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        read_targets(_write(tmp_path / "targets.txt", text))


@pytest.mark.parametrize(
    ("line", "row", "match"),
    [
        (2, "chr1\t40000\t20000\tvalid", r"interval chr1:40000-20000 is invalid"),
        (2, "chr1\t-5\t20000\tvalid", r"interval chr1:-5-20000 is invalid"),
        (2, "chr1\t1.5\t20000\tvalid", r"start and end must be whole numbers"),
        (2, "chr1\t0\tinf\tvalid", r"start and end must be whole numbers, got '0' and 'inf'$"),
        (
            1,
            "chrom\tstart\tend\tsplit",
            r"start .*, got 'start' and 'end' \(a column header\? BED has none",
        ),
        (2, "chr1\t20000", r"expected at least 3 tab-separated columns"),
    ],
)
def test_a_bad_bed_line_names_the_file_and_line(
    tmp_path: Path, line: int, row: str, match: str
) -> None:
    path = _write(tmp_path / "regions.bed", _replace_line(BED, line, row))
    with pytest.raises(ValueError, match=rf"regions\.bed:{line}: {match}"):
        read_bed(path, sizes=SIZES)


def test_bed_line_ends_comments_and_compression_do_not_change_the_intervals(
    tmp_path: Path,
) -> None:
    expected = read_bed(_write(tmp_path / "a.bed", BED), sizes=SIZES)
    variants: dict[str, str | bytes] = {
        "crlf.bed": BED.replace("\n", "\r\n"),
        "comments.bed": "# header\ntrack name=x\n" + BED + "\n\n",
        "spaces.bed": BED.replace("\t", " "),
        "gzipped_without_suffix.bed": gzip.compress(BED.encode()),
        "plain_with_suffix.bed.gz": BED,
    }
    for name, data in variants.items():
        assert read_bed(_write(tmp_path / name, data), sizes=SIZES) == expected, name


def test_a_chromosome_named_like_a_header_word_is_read(tmp_path: Path) -> None:
    # before: any line starting "track" or "browser" was skipped, so contig trackA was lost
    text = "browser position chr1:1-100\ntrack name=x\ntrackA\t0\t100\nbrowserB\t5\t9\n"
    intervals = list(iter_bed(_write(tmp_path / "a.bed", text)))
    assert [(i.chrom, i.start, i.end, i.line) for i in intervals] == [
        ("trackA", 0, 100, 3),
        ("browserB", 5, 9, 4),
    ]


@pytest.mark.parametrize(
    ("line", "row", "match"),
    [
        (2, "chr2\tabc", "the length of 'chr2' is 'abc', not a whole number"),
        (2, "chr2\t0", "the length of 'chr2' must be positive"),
        (2, "chr2\t-5", "the length of 'chr2' must be positive"),
        (2, "chr2\t1e400", "the length of 'chr2' is '1e400', not a whole number"),
        (2, "chr1\t26000", "chromosome 'chr1' is listed twice"),
        (2, "chr2", "expected 'name<TAB>length', found 'chr2'"),
        # a BED or the FASTA given for the sizes: named as such, with what to give
        (1, "chr1\t0\t9\tx", "the length of 'chr1' must be positive; the line looks like a BED"),
        (2, "chr1\t9\t20", "chromosome 'chr1' is listed twice; the line looks like a BED"),
        (1, ">chr1 x", "expected 'name<TAB>length', found '>chr1 x'; the line looks like a FASTA"),
    ],
)
def test_a_bad_chrom_sizes_line_names_the_file_and_line(
    tmp_path: Path, line: int, row: str, match: str
) -> None:
    path = _write(tmp_path / "genome.sizes", _replace_line(SIZES_TEXT, line, row))
    with pytest.raises(ValueError, match=rf"genome\.sizes:{line}: {re.escape(match)}"):
        read_chrom_sizes(path)


@pytest.mark.parametrize(
    ("line", "row", "match"),
    [
        (5, "chr1\tabc\trs2\tG\tT\t.\tPASS\t.", "POS 'abc' is not a whole number"),
        (5, "chr1\t0\trs2\tG\tT\t.\tPASS\t.", "POS 0 is invalid"),
        (5, "chr1\t201\trs2\tX\tT\t.\tPASS\t.", "REF 'X' must be bases"),
        (5, "chr1\t201\trs2\tG\tT!\t.\tPASS\t.", "ALT allele 'T!' is not bases"),
        (5, "\t201\trs2\tG\tT\t.\tPASS\t.", "CHROM is empty"),
        (5, "chr1\t201\trs2\tG", "4 tab-separated fields"),
        (3, "#CHROM POS ID REF ALT", "the column header must start with"),
    ],
)
def test_a_bad_vcf_line_names_the_file_and_line(
    tmp_path: Path, line: int, row: str, match: str
) -> None:
    path = _write(tmp_path / "v.vcf", _replace_line(VCF, line, row))
    with pytest.raises(ValueError, match=rf"v\.vcf:{line}: {re.escape(match)}"):
        read_vcf(path)


def test_a_vcf_cut_inside_its_last_record_names_that_line(tmp_path: Path) -> None:
    path = _write(tmp_path / "v.vcf", VCF[:-12])
    with pytest.raises(ValueError, match=r"v\.vcf:6: the last record has no newline"):
        read_vcf(path)


@pytest.mark.parametrize(
    ("line", "row", "match"),
    [
        (2, 'chr1\ttest\ttranscript\t900\t101\t.\t+\t.\tgene_id "G1";', "is invalid"),
        (2, 'chr1\ttest\ttranscript\t0\t101\t.\t+\t.\tgene_id "G1";', "is invalid"),
        (2, 'chr1\ttest\ttranscript\tx\t101\t.\t+\t.\tgene_id "G1";', "must be whole numbers"),
        (2, 'chr1\ttest\ttranscript\t101\t900\t.\t*\t.\tgene_id "G1";', "strand '*' must be"),
        (2, "chr1\ttest\ttranscript\t101\t900\t.\t+\t.", "8 tab-separated fields"),
        (2, "chr1\ttest\ttranscript\t101\t900\t.\t+\t.\tgene_id", "attribute 'gene_id' needs"),
    ],
)
def test_a_bad_gtf_line_names_the_file_and_line(
    tmp_path: Path, line: int, row: str, match: str
) -> None:
    path = _write(tmp_path / "a.gtf", _replace_line(GTF, line, row))
    with pytest.raises(ValueError, match=rf"a\.gtf:{line}: .*{re.escape(match)}"):
        read_gtf(path)


@pytest.mark.parametrize(
    ("line", "row", "match"),
    [
        (2, " fill -100 1000 chrA + 200 1000", "tStart is '-100', not a non-negative whole"),
        (2, " fill 100 1000 chrA * 200 1000", "query strand is '*'"),
        (2, " fill 100 1000 chrA +", "a 'fill' line needs 6 fields"),
        (2, " fill 39500 1000 chrA + 200 1000", "runs past the end of chr1"),
        (2, " fill 100 1000 chrA + 29500 1000", "runs past the end of chrA"),
        (1, f"net chr1 {2**64}", "chromosome size is '18446744073709551616'"),
        (2, "\tfill 100 1000 chrA + 200 1000", "indented by 0 spaces"),
    ],
)
def test_a_bad_net_line_names_the_file_and_line(
    tmp_path: Path, line: int, row: str, match: str
) -> None:
    net = _write(tmp_path / "x.net", _replace_line(NET, line, row))
    with pytest.raises(ValueError, match=rf"x\.net:{line}: .*{re.escape(match)}"):
        _split(tmp_path, net)


def test_a_net_line_that_is_not_text_names_the_file_and_line(tmp_path: Path) -> None:
    net = _write(tmp_path / "x.net", _latin1_on_line(NET, 4))
    with pytest.raises(ValueError, match=r"x\.net:4: the line is not text"):
        _split(tmp_path, net)


def test_a_truncated_gzip_net_names_the_file(tmp_path: Path) -> None:
    net = _write(tmp_path / "x.net.gz", gzip.compress(NET.encode())[:-10])
    with pytest.raises(ValueError, match=r"x\.net\.gz:\d+: cannot read the file .* truncated"):
        _split(tmp_path, net)


def _error_lines(logs: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in logs.records if r.levelno >= logging.ERROR]


def test_split_names_a_net_that_is_not_text_without_calling_it_cut_short(
    tmp_path: Path, logs: pytest.LogCaptureFixture
) -> None:
    # before: a binary file given as the net (here one that starts as a BigWig does), whose
    # last byte is no newline, was refused as a net cut short inside its last "line"
    net = _write(tmp_path / "x.net", b"\x26\xfc\x8f\x88\x04\x00" + bytes(range(256)) * 4)
    _write(tmp_path / "t.sizes", SIZES_TEXT)
    _write(tmp_path / "q.sizes", "chrA\t30000\n")
    argv = ["split", "--sizes", f"t={tmp_path / 't.sizes'}", "--sizes", f"q={tmp_path / 'q.sizes'}"]
    argv += ["--net", f"t,q={net}", "--out", str(tmp_path / "out")]
    assert main(argv) == 1
    errors = _error_lines(logs)
    assert len(errors) == 1, errors
    assert re.fullmatch(r".*x\.net:1: the line is not text \(is this a \.net file\?\)", errors[0])
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("", r"g\.fa: no '>' record with bases"),
        ("ACGT\n>chr1\nACGT\n", r"g\.fa:1: sequence data before the first '>' header"),
        (">chr1\nACGT\nACGTAC\n", r"g\.fa:3: record 'chr1' has a line of 6 bases after lines"),
        (">chr1\nACGT\nAC\nACGT\n", r"g\.fa:4: record 'chr1' has lines of different lengths"),
        (">chr1\nACGT\n>chr1\nACGT\n", r"g\.fa:3: sequence name 'chr1' appears twice"),
        (">\nACGT\n", r"g\.fa:1: a '>' header line has no name"),
        # before: read as the sequence 'ch\ufffd1', which no BED, VCF or BigWig names
        (b">ch\xe91 x\nACGT\n", r"g\.fa:1: the header '>ch\ufffd1 x' is not UTF-8 text"),
        # before: "g.fa:1: sequence data before the first '>' header; is this a FASTA file?"
        (b"\x43\x27\x41\x1a" + bytes(12), r"g\.fa: is a UCSC \.2bit file, not a FASTA; convert"),
    ],
)
def test_a_bad_fasta_names_the_file_and_line(tmp_path: Path, text: str | bytes, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        Genome(_write(tmp_path / "g.fa", text))


@pytest.mark.parametrize(
    ("name", "make", "fix"),
    [
        ("fasta", lambda p: p.mkdir(), "FASTA is a folder; give the file"),
        ("regions", os.mkfifo, "regions BED is a pipe or other stream, which can be read only"),
    ],
)
def test_data_names_an_input_that_is_no_file_with_the_fix(
    tmp_path: Path,
    logs: pytest.LogCaptureFixture,
    name: str,
    make: Callable[[Path], None],
    fix: str,
) -> None:
    # before: "PATH: FASTA is not a regular file", with nothing on what to give instead
    inputs = small_inputs(tmp_path / "inputs")
    inputs[name] = tmp_path / "given"
    make(inputs[name])
    assert main(cli_args(inputs, tmp_path / "store")) == 1
    errors = _error_lines(logs)
    assert len(errors) == 1 and errors[0].startswith(f"{inputs[name]}: {fix}"), errors
    assert not (tmp_path / "store").exists()


@pytest.mark.parametrize(
    ("make", "says"),
    [
        (
            lambda p: p.write_text("chr1\t2o\t6\t20\t21\n"),
            r":1: field 2 is '2o', not a whole number",
        ),
        (lambda p: p.mkdir(), r": cannot be read \(.*\)"),
    ],
)
def test_a_fasta_index_that_cannot_be_read_asks_to_delete_it(
    tmp_path: Path, make: Callable[[Path], None], says: str
) -> None:
    # before: the index's line and field (or the OS error) were named, but not the fix
    path = write_fasta(tmp_path / "g.fa", {"chr1": "ACGT" * 5})
    make(tmp_path / "g.fa.fai")
    with pytest.raises(
        ValueError, match=rf"g\.fa\.fai{says}; delete the index to have it rebuilt$"
    ):
        Genome(path)


def test_a_truncated_gzipped_fasta_names_the_file_and_the_fix(tmp_path: Path) -> None:
    path = _write(tmp_path / "g.fa", gzip.compress(b">chr1\nACGT\n" * 50)[:-12])
    with pytest.raises(ValueError, match=r"g\.fa: the gzip stream is truncated or corrupt"):
        Genome(path)


def test_a_stale_fasta_index_asks_to_delete_it(tmp_path: Path) -> None:
    path = write_fasta(tmp_path / "g.fa", {"chr1": "ACGT" * 5})
    _write(tmp_path / "g.fa.fai", "chr1\t21\t6\t20\t21\n")
    with pytest.raises(ValueError, match=r"g\.fa\.fai: the index does not match .*delete it"):
        Genome(path)


@pytest.mark.parametrize(
    ("line", "row", "match"),
    [
        (3, "rs2\tC\tT\tabc\t5000", "column Z has 'abc', not a number"),
        (3, "rs2\tC\tT\tinf\t5000", "column Z has inf; it must be a finite number"),
        (3, "rs2\tC\tT\t-0.3\t0", "column N has 0.0; it must be a finite number above 0"),
        (3, "rs2\tC\tT\t-0.3\t-inf", "column N has -inf; it must be a finite number above 0"),
    ],
)
def test_a_bad_sumstats_value_names_the_file_and_line(
    tmp_path: Path, line: int, row: str, match: str
) -> None:
    path = _write(tmp_path / "p.sumstats", _replace_line(SUMSTATS, line, row))
    with pytest.raises(ValueError, match=rf"p\.sumstats line {line}: {re.escape(match)}"):
        read_sumstats(path, PRINT_SNPS)


@pytest.mark.parametrize(
    ("name", "reader", "text", "match"),
    [
        ("p.sumstats", lambda p: read_sumstats(p, PRINT_SNPS), "", r"p\.sumstats: empty file"),
        ("s.sumstats", lambda p: read_sumstats(p, PRINT_SNPS), "SNP\tA1\n", r"missing column"),
        ("a.sannot.gz", read_sannot, SANNOT.replace("0.25", "nan"), r"a\.sannot\.gz line 4"),
        ("a.sannot.gz", read_sannot, "SNP\tA1\tA2\n", r"no annotation columns besides SNP"),
        ("panel.bim", read_bim, re.sub(r"\t\w\n", "\n", BIM), r"a \.bim has 6 columns"),
        ("panel.bim", read_bim, BIM.replace("3000", "x"), r"panel\.bim line 3: column BP"),
        ("panel.frq", _frq, FRQ.replace("rs3", "rs9"), r"no frequency for SNP rs3"),
        ("blocks.bed", read_ld_blocks, BLOCKS + "chr1\t600\t700\n", r"line 4"),
        ("blocks.bed", read_ld_blocks, "chr1\t5\n", r"need 3 columns"),
    ],
)
def test_a_bad_sldp_table_names_the_file(
    tmp_path: Path, name: str, reader: Callable[[Path], object], text: str, match: str
) -> None:
    with pytest.raises(ValueError) as caught:
        reader(_write(tmp_path / name, text))
    assert name in str(caught.value) and re.search(match, str(caught.value))


# ---- damage that is not yet reported well ------------------------------------------------


def test_a_targets_table_that_is_not_utf8_names_the_file_and_line(tmp_path: Path) -> None:
    path = _write(tmp_path / "targets.txt", _latin1_on_line(TARGETS, 3))
    with pytest.raises(ValueError, match=_where("targets.txt", 3)):
        read_targets(path)


def test_a_gzipped_targets_table_is_read_or_refused_by_name(tmp_path: Path) -> None:
    path = _write(tmp_path / "targets.txt", gzip.compress(TARGETS.encode()))
    try:
        table = read_targets(path)
    except ValueError as err:
        assert "targets.txt" in str(err)
    else:
        assert table.identifiers == ["ENCFF1", "ENCFF2", "ENCFF3"]


@pytest.mark.parametrize("scale", ["inf", "1e400"])
def test_an_infinite_targets_scale_names_the_file_and_line(tmp_path: Path, scale: str) -> None:
    row = f"1\tENCFF2\tr1.bw\t384\t{scale}\tsum\tCAGE:brain"
    path = _write(tmp_path / "targets.txt", _replace_line(TARGETS, 3, row))
    with pytest.raises(ValueError, match=r"targets\.txt:3: column 'scale'"):
        read_targets(path)


def test_data_names_a_bigwig_chromosome_name_that_is_not_utf8(
    tmp_path: Path, logs: pytest.LogCaptureFixture
) -> None:
    # before: read as chromosome 'ch\ufffd1', absent from the FASTA, so the track's chr1
    # was masked with a warning that its BigWig has no data there
    inputs = small_inputs(tmp_path / "inputs")
    track = tmp_path / "inputs" / "r0.bw"
    data = track.read_bytes()
    track.write_bytes(data.replace(b"chr1", b"ch\xe91", 1))
    assert main(cli_args(inputs, tmp_path / "store")) == 1
    errors = _error_lines(logs)
    assert len(errors) == 1, errors
    assert re.search(
        r"r0\.bw: corrupt BigWig: chromosome name 'ch\ufffd1' is not UTF-8 text.* "
        r"\(track 'dnase', .*targets\.txt line 2\)$",
        errors[0],
    )
    assert not (tmp_path / "store").exists()


def test_a_track_that_is_not_a_bigwig_names_its_own_targets_line(tmp_path: Path) -> None:
    write_fasta(tmp_path / "g.fa", {"chr1": "ACGT" * 50})
    _write(tmp_path / "r0.bw", "not a BigWig\n")
    header, row, *_ = TARGETS.splitlines(keepends=True)
    _write(tmp_path / "targets.txt", header + "\n" + row)
    with pytest.raises(ValueError, match=r"targets\.txt line 3\b"):
        check_inputs(fasta=tmp_path / "g.fa", targets=tmp_path / "targets.txt")


def test_data_names_an_empty_bigwig_as_empty(
    tmp_path: Path, logs: pytest.LogCaptureFixture
) -> None:
    # before: "...r2.bw: not a BigWig file (shorter than its header) (track 'cage', ...);
    # is it a BigWig file?", of a file of no bytes at all
    inputs = small_inputs(tmp_path / "inputs")
    (tmp_path / "inputs" / "r2.bw").write_bytes(b"")
    assert main(cli_args(inputs, tmp_path / "store")) == 1
    errors = _error_lines(logs)
    assert len(errors) == 1, errors
    assert re.search(
        r"r2\.bw: the BigWig file is empty \(0 bytes\).*; copy it again "
        r"\(track 'cage', .*targets\.txt line 3\)$",
        errors[0],
    )
    assert "is it a BigWig" not in errors[0]
    assert not (tmp_path / "store").exists()


@pytest.mark.parametrize(
    ("name", "reader", "text", "line"),
    [
        ("regions.bed", read_bed, BED, 2),
        ("genome.sizes", read_chrom_sizes, SIZES_TEXT, 2),
        ("a.gtf", read_gtf, GTF, 2),
    ],
)
def test_a_line_that_is_not_utf8_names_the_file_and_line(
    tmp_path: Path, name: str, reader: Callable[[Path], object], text: str, line: int
) -> None:
    path = _write(tmp_path / name, _latin1_on_line(text, line))
    with pytest.raises(ValueError, match=_where(name, line)):
        reader(path)


def test_a_vcf_line_that_is_not_utf8_names_that_line(tmp_path: Path) -> None:
    path = _write(tmp_path / "v.vcf", _latin1_on_line(VCF, 5))
    with pytest.raises(ValueError, match=r"v\.vcf(:5\b|: the text after line 4 )"):
        read_vcf(path)


@pytest.mark.parametrize(
    ("name", "reader", "text"),
    [
        ("regions.bed", read_bed, BED),
        ("genome.sizes", read_chrom_sizes, SIZES_TEXT),
        ("a.gtf", read_gtf, GTF),
        ("p.sumstats.gz", lambda p: read_sumstats(p, PRINT_SNPS), SUMSTATS),
        ("a.sannot.gz", read_sannot, SANNOT),
    ],
)
def test_a_truncated_gzip_file_names_the_file(
    tmp_path: Path, name: str, reader: Callable[[Path], object], text: str
) -> None:
    path = _write(tmp_path / name, gzip.compress(text.encode())[:-10])
    with pytest.raises(ValueError, match=rf"{re.escape(name)}: .*truncated"):
        reader(path)


@pytest.mark.parametrize(
    "row", ["chrZZ\t20000\t40000\tvalid", "chr1\t20000\t40001\tvalid", f"chr1\t0\t{2**64}\tv"]
)
def test_a_bed_interval_outside_the_genome_names_the_line(tmp_path: Path, row: str) -> None:
    path = _write(tmp_path / "regions.bed", _replace_line(BED, 2, row))
    with pytest.raises(ValueError, match=r"regions\.bed:2\b"):
        read_bed(path, sizes=SIZES)


def test_a_chromosome_length_beyond_64_bits_names_the_file_and_line(tmp_path: Path) -> None:
    sizes = _write(tmp_path / "genome.sizes", f"chr1\t{2**64}\n")
    with pytest.raises(ValueError, match=r"genome\.sizes:1\b"):
        split_genomes({"a": sizes}, [], region_size=1000)


@pytest.mark.parametrize(
    ("line", "row"),
    [
        (2, f" fill {U64_MAX} 2 chrA + 200 1000"),
        (2, f" fill 100 {U64_MAX} chrA + 200 1000"),
        (2, f" fill 100 1000 chrA + {U64_MAX} 2"),
        (2, f" fill 100 1000 chrA - {U64_MAX} 2"),
        (3, f"  gap 300 {U64_MAX} chrA + 400 100"),
        (3, f"  gap 300 100 chrA + {U64_MAX} 2"),
    ],
)
def test_a_net_coordinate_that_overflows_names_the_file_and_line(
    tmp_path: Path, line: int, row: str
) -> None:
    net = _write(tmp_path / "x.net", _replace_line(NET, line, row))
    with pytest.raises(ValueError, match=rf"x\.net:{line}: .*runs past the end"):
        _split(tmp_path, net)


@pytest.mark.parametrize("text", ["", "# nothing here\n"])
def test_a_net_without_net_lines_names_the_file(tmp_path: Path, text: str) -> None:
    net = _write(tmp_path / "x.net", text)
    with pytest.raises(ValueError, match=r"x\.net"):
        _split(tmp_path, net)


@pytest.mark.parametrize("line", [b"ACGTA\tGTAC", b"ACGT12GTAC", b"ACGT\xe9CGTAC"])
def test_a_fasta_line_with_bytes_that_are_not_bases_names_the_file_and_line(
    tmp_path: Path, line: bytes
) -> None:
    path = _write(tmp_path / "g.fa", b">chr1\n" + line + b"\nACG\n")
    with pytest.raises(ValueError, match=r"g\.fa:2\b"):
        Genome(path)


@pytest.mark.parametrize(
    ("name", "reader", "text", "line", "row"),
    [
        ("p.sumstats", "sumstats", SUMSTATS, 3, "rs2\tC\tT\t-0.3"),
        ("p.sumstats", "sumstats", SUMSTATS, 3, "rs2\tC\tT\t-0.3\t5000\t7"),
        ("p.sumstats", "sumstats", SUMSTATS, 3, "# a comment"),
        ("a.sannot.gz", "sannot", SANNOT, 3, "rs2\tC\tT\t0.0"),
        ("a.sannot.gz", "sannot", SANNOT, 3, "   "),
        ("panel.frq", "frq", FRQ, 3, "1 rs2 C T"),
        ("panel.bim", "bim", BIM, 2, "1\trs2\t0\t2000\tC\tT\tX"),
        ("blocks.bed", "blocks", BLOCKS, 2, "chr1\t1500\t2500\t9"),
    ],
)
def test_a_sldp_row_with_a_wrong_number_of_fields_names_the_file_and_line(
    tmp_path: Path, name: str, reader: str, text: str, line: int, row: str
) -> None:
    readers: dict[str, Callable[[Path], object]] = {
        "sumstats": lambda p: read_sumstats(p, PRINT_SNPS),
        "sannot": read_sannot,
        "frq": _frq,
        "bim": read_bim,
        "blocks": read_ld_blocks,
    }
    path = _write(tmp_path / name, _replace_line(text, line, row))
    with pytest.raises(ValueError, match=_where(name, line)):
        readers[reader](path)


def test_a_print_snp_line_with_a_second_field_is_read_by_its_first(tmp_path: Path) -> None:
    path = _write(tmp_path / "print.txt", "rs1\nrs2 rs9\nrs3\n")
    assert read_print_snps(path).tolist() == ["rs1", "rs2", "rs3"]


@pytest.mark.parametrize(
    ("name", "text"), [("p.sumstats", SUMSTATS), ("panel.bim", BIM), ("blocks.bed", BLOCKS)]
)
def test_a_sldp_table_that_is_not_utf8_names_the_file(tmp_path: Path, name: str, text: str) -> None:
    readers: dict[str, Callable[[Path], object]] = {
        "p.sumstats": lambda p: read_sumstats(p, PRINT_SNPS),
        "panel.bim": read_bim,
        "blocks.bed": read_ld_blocks,
    }
    path = _write(tmp_path / name, _latin1_on_line(text, 3))
    with pytest.raises(ValueError, match=re.escape(name)):
        readers[name](path)


def test_a_frq_without_rows_names_the_file(tmp_path: Path) -> None:
    path = _write(tmp_path / "panel.frq", FRQ.splitlines(keepends=True)[0])
    with pytest.raises(ValueError, match=r"panel\.frq"):
        _frq(path)


@pytest.mark.parametrize("row", ["chr1\t2500\t1500", "chr1\t1500\t-5"])
def test_an_ld_block_that_ends_before_it_starts_names_the_file_and_line(
    tmp_path: Path, row: str
) -> None:
    path = _write(tmp_path / "blocks.bed", _replace_line(BLOCKS, 2, row))
    with pytest.raises(ValueError, match=r"blocks\.bed line 2\b"):
        read_ld_blocks(path)


def _ldscores(tmp_path: Path, scores: str, m_5_50: bytes) -> LdScores:
    tmp_path.mkdir(exist_ok=True)
    with gzip.open(tmp_path / "ld.1.l2.ldscore.gz", "wt") as handle:
        handle.write(scores)
    _write(tmp_path / "ld.1.l2.M_5_50", m_5_50)
    return read_ldscores(str(tmp_path / "ld."))


def test_an_m_5_50_file_that_is_not_utf8_names_the_file_and_line(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"ld\.1\.l2\.M_5_50:1\b"):
        _ldscores(tmp_path, LDSCORE, b"3\xe9\n")


def test_a_gzipped_m_5_50_file_reads_as_the_plain_one(tmp_path: Path) -> None:
    packed = _ldscores(tmp_path / "packed", LDSCORE, gzip.compress(b"3\n", mtime=0))
    plain = _ldscores(tmp_path / "plain", LDSCORE, b"3\n")
    assert packed.m_5_50 == plain.m_5_50 == 3


@pytest.mark.parametrize(
    ("scores", "m_5_50", "match"),
    [
        (LDSCORE, b"-3\n", r"ld\.1\.l2\.M_5_50 line 1"),
        (LDSCORE.replace("3.5", "inf"), b"3\n", r"ld\.1\.l2\.ldscore\.gz line 3"),
    ],
)
def test_impossible_ld_scores_name_the_file(
    tmp_path: Path, scores: str, m_5_50: bytes, match: str
) -> None:
    with pytest.raises(ValueError, match=match):
        _ldscores(tmp_path, scores, m_5_50)


@pytest.mark.parametrize(
    ("text", "match"),
    [
        (_replace_line(SAD_TSV, 3, "rs2\tchr1\t201\tG\tT\tabc\t2.0"), _where("s.tsv", 3)),
        (_replace_line(SAD_TSV, 3, "rs2\tchr1\t201\tG\tT\t-0.5\t2.0\t9"), _where("s.tsv", 3)),
        ("", r"s\.tsv"),
    ],
)
def test_a_damaged_sad_table_names_the_file(tmp_path: Path, text: str, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        read_sad(_write(tmp_path / "s.tsv", text))


class _Messages(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


def test_sldp_blames_a_truncated_annotation_on_that_annotation(tmp_path: Path) -> None:
    write_world(tmp_path)
    annotation = tmp_path / "annot.7.sannot.gz"
    annotation.write_bytes(annotation.read_bytes()[:-12])
    argv = argv_of(str(tmp_path), "unused.tsv")
    at = argv.index("--sad")
    argv[at : at + 2] = ["--sannot-chr", f"{tmp_path}/annot."]
    argv += ["--out", str(tmp_path / "out"), "--no-plots", "--flips", "1000"]
    handler, logger = _Messages(), logging.getLogger("crossreg")
    logger.addHandler(handler)
    try:
        assert main(argv) == 1
    finally:
        logger.removeHandler(handler)
    assert "annot.7.sannot.gz" in handler.messages[-1]
