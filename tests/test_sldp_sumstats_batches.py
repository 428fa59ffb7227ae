"""A phenotype file (``--sumstats`` or ``--eqtl``) is read a batch of rows at a time: the
statistics of the file read whole, bad rows named by their line in the file wherever a
batch starts, and memory of a batch, not of the file's text."""

from __future__ import annotations

import logging
import subprocess
import sys
import tracemalloc
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from crossreg.stats.sldp import tables
from crossreg.stats.sldp.eqtl_table import read_eqtl
from crossreg.stats.sldp.sumstats import Sumstats, read_sumstats

PRINTED = np.array([f"rs{i}" for i in range(0, 3000, 3)])
EQTL_HEADER = "rsid gene_id alt ref slope slope_se N\n"


def _gwas(path: Path, rows: int, every: int) -> Path:
    """`rows` rows of ``SNP A1 A2 Z N``, every `every`-th at a print SNP (each listed
    again after 3,000 such rows), alleles in both orders and cases, some Z missing, runs
    of spaces between some fields."""
    rng = np.random.default_rng(5)
    lines = ["SNP  A1 A2\tZ\tN"]
    for k in range(rows):
        snp = f"rs{k // every % 1000 * 3}" if k % every == 0 else f"rs{3000 + k}"
        a1, a2 = ("A", "g") if k % 4 else ("G", "A")
        z = "NA" if k % 29 == 0 else f"{rng.normal():.4f}"
        lines.append(f"{snp}\t{a1}   {a2}\t{z}\t{1000 + k % 7}")
    path.write_text("\n".join(lines) + "\n\n")
    return path


def _eqtl(path: Path, rows: int, snps: int = 3000) -> Path:
    """`rows` gene-SNP rows (``rsid gene_id alt ref slope slope_se N``) at SNPs ``rs0`` to
    ``rs{snps - 1}`` in turn, some repeated."""
    rng = np.random.default_rng(6)
    lines = [EQTL_HEADER.rstrip("\n")]
    for k in range(rows):
        alt, ref = ("T", "C") if k % 5 else ("C", "T")
        lines.append(f"rs{k % snps} G{k // snps} {alt} {ref} {rng.normal():.4f} 0.1 500")
        if k % 41 == 0:
            lines.append(lines[-1])
    path.write_text("\n".join(lines) + "\n")
    return path


def _fields(stats: Sumstats) -> list[np.ndarray]:
    return [stats.snp, stats.a1, stats.a2, stats.z, stats.n]


@pytest.mark.parametrize("kind", ["sumstats", "eqtl"])
def test_batches_give_the_statistics_of_the_whole_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, kind: str
) -> None:
    if kind == "sumstats":
        path = _gwas(tmp_path / "trait.sumstats", 20_000, 4)
        read = read_sumstats
    else:
        path = _eqtl(tmp_path / "tissue.tsv", 20_000)
        read = read_eqtl
    whole = read(path, PRINTED)
    monkeypatch.setattr(tables, "BATCH_CHARS", 997)  # ~40 rows a batch: 500 batches
    batched = read(path, PRINTED)
    assert len(whole.snp) > 500
    for mine, theirs in zip(_fields(batched), _fields(whole), strict=True):
        np.testing.assert_array_equal(mine, theirs)


def test_a_bad_row_on_line_5_000_000_is_named(tmp_path: Path) -> None:
    # a UK Biobank-sized file is read in several batches; the error names the file's line
    path = tmp_path / "big.sumstats"
    good = "rs3\tA\tG\t1.5\t90\n" * (5_000_000 - 2)
    path.write_text(f"SNP\tA1\tA2\tZ\tN\n{good}rs3\tA\tG\t1,5\t90\nrs3\tA\tG\t1.5\t90\n")
    assert path.stat().st_size > 2 * tables.BATCH_CHARS
    with pytest.raises(ValueError, match=r"big\.sumstats line 5000000: column Z has '1,5'"):
        read_sumstats(path, PRINTED)


SUMSTATS_ERRORS = [
    ("rs3\tA\tG\tx\t90", "line {line}: column Z has 'x', not a number"),
    ("rs3\tA\tG\tinf\t90", "line {line}: column Z has inf; it must be a finite number"),
    ("rs3\tA\tG\t1\t0", "line {line}: column N has 0.0; it must be a finite number above 0"),
    ("rs3\tA\tG\t1", "line {line}: 4 fields but the header has 5"),
    ("rs3\tA\tG\t1\t90\t7", "line {line}: 6 fields but the header has 5"),
    ("", "line {line}: blank line; remove it"),
    ("# more", "line {line}: a comment (starts with #); remove it"),
]


@pytest.mark.parametrize(("row", "message"), SUMSTATS_ERRORS)
@pytest.mark.parametrize("line", [2, 700, 1401, 3001])
def test_a_bad_sumstats_row_is_named_by_its_line_in_the_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, row: str, message: str, line: int
) -> None:
    monkeypatch.setattr(tables, "BATCH_CHARS", 1000)  # ~60 rows a batch
    rows = ["SNP\tA1\tA2\tZ\tN", *[f"rs{k}\tA\tG\t0.5\t90" for k in range(3000)]]
    rows.insert(line - 1, row)
    path = tmp_path / "trait.sumstats"
    path.write_text("\n".join(rows) + "\n")
    with pytest.raises(ValueError) as error:
        read_sumstats(path, PRINTED)
    assert str(error.value).startswith(f"{path} {message.format(line=line)}")


@pytest.mark.parametrize(
    ("row", "message"),
    [
        ("rs3 G9 T C inf 0.1 500", "line {line}: column slope has inf"),
        ("rs3 G9 T C 0.1 0 500", "line {line}: column slope_se has 0.0"),
        ("rs3 G9 T C 0.1 0.1 NaN?", "line {line}: column N has 'NaN?', not a number"),
        ("rs3 G9 T C 0.1", "line {line}: 5 fields but the header has 7"),
    ],
)
def test_a_bad_eqtl_row_is_named_by_its_line_in_the_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, row: str, message: str
) -> None:
    monkeypatch.setattr(tables, "BATCH_CHARS", 1000)
    rows = [EQTL_HEADER.rstrip("\n"), *[f"rs{k} G1 T C 0.1 0.1 500" for k in range(3000)]]
    rows.insert(2345, row)
    path = tmp_path / "tissue.tsv"
    path.write_text("\n".join(rows) + "\n")
    with pytest.raises(ValueError) as error:
        read_eqtl(path, PRINTED)
    assert str(error.value).startswith(f"{path} {message.format(line=2346)}")


def test_blank_lines_at_a_batch_end_stop_only_when_a_row_follows(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(tables, "BATCH_CHARS", 64)
    rows = "SNP A1 A2 Z N\n" + "".join(f"rs{k} A G 0.5 90\n" for k in range(0, 30, 3))
    ended = tmp_path / "ended.sumstats"
    ended.write_text(rows + "\n" * 100 + "  \t\n" * 20)
    assert read_sumstats(ended, PRINTED).snp.tolist() == [f"rs{k}" for k in range(0, 30, 3)]
    gap = tmp_path / "gap.sumstats"
    gap.write_text(rows + "\n" * 100 + "rs3 A G 0.5 90\n")
    with pytest.raises(ValueError, match=r"gap\.sumstats line 12: blank line"):
        read_sumstats(gap, PRINTED)


@pytest.mark.parametrize("kind", ["sumstats", "eqtl"])
def test_a_file_is_held_a_batch_at_a_time(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, kind: str
) -> None:
    # before, the file's whole text was read into one string (and its ids into numpy
    # strings, 4 bytes a character) before its rows were reduced to the print SNPs; and
    # then an eQTL table's rows were all held (and their repeats looked for) before they
    # were cut to the print SNPs. Here, as in a GTEx all-pairs table, 1 row in 30 is at a
    # print SNP.
    if kind == "sumstats":
        path, read = _gwas(tmp_path / "trait.sumstats", 200_000, 200), read_sumstats
    else:
        path, read = _eqtl(tmp_path / "tissue.tsv", 200_000, snps=30_000), read_eqtl
    monkeypatch.setattr(tables, "BATCH_CHARS", 1 << 16)
    read(_eqtl(tmp_path / "warm.tsv", 10) if kind == "eqtl" else path, PRINTED)  # imports
    tracemalloc.start()
    try:
        stats = read(path, PRINTED)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert len(stats.snp) > 0.9 * len(PRINTED)
    # a batch of the file's text and a few numbers for each row at a print SNP: before, 9
    # times the file's size for the GWAS, and 0.7 times for the eQTL table (a few numbers
    # for every row, whose columns polars held where tracemalloc does not see); now a
    # tenth for the eQTL table
    assert peak < path.stat().st_size / 5, (peak, path.stat().st_size)


def test_batches_of_any_size_read_every_table_as_the_whole_read_does(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # random tables of a few lines, some blank, spaced, commented, ragged or with empty
    # tab-separated fields, some starting with a byte-order mark, read in batches of 1 to 8
    # characters: the same rows, or the same error, as read in one batch; and as
    # read_text_table reads them when no row has an empty field
    rng = np.random.default_rng(8)
    kinds = ["a\tb", "a b", "  ", "", "\t", "x  y ", "#c", "a\tb\t", " a \t  \t\t\t\t b\t", "a  b"]
    path = tmp_path / "t.txt"
    for _ in range(300):
        lines = [kinds[k] for k in rng.integers(0, len(kinds), rng.integers(0, 8))]
        ending = ["", "\n", "\n\n", " \n"][rng.integers(0, 4)]
        path.write_text("\ufeff" * (rng.random() < 0.2) + "\n".join(lines) + ending)
        monkeypatch.setattr(tables, "BATCH_CHARS", 1 << 24)
        try:
            whole: pl.DataFrame | str = pl.concat([t for _, t in tables.read_table_batches(path)])
        except ValueError as error:
            whole = str(error)
        try:
            text_table: pl.DataFrame | str = tables.read_text_table(path, header=True)
        except ValueError as error:
            text_table = str(error)
        if lines and not any("\t" in line for line in lines[1:]):  # no row splits on tabs
            assert str(text_table) == str(whole), path.read_text()
        for size in (1, 3, 8):
            monkeypatch.setattr(tables, "BATCH_CHARS", size)
            try:
                got: pl.DataFrame | str = pl.concat([t for _, t in tables.read_table_batches(path)])
            except ValueError as error:
                got = str(error)
            if isinstance(whole, str) or isinstance(got, str):
                assert got == whole, (path.read_text(), size)
            else:
                assert got.equals(whole), path.read_text()


def test_an_eqtl_table_is_checked_for_repeats_at_print_snps_only(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    # the rows at print SNPs are kept batch by batch and only they are combined: a SNP and
    # gene listed twice with other values at a SNP that is no print SNP (rs1) is never
    # used and passes; repeats are counted, and clashes named, by their lines in the file
    monkeypatch.setattr(tables, "BATCH_CHARS", 1000)  # ~40 rows a batch
    rows = [f"rs{k} G{k % 7} T C 0.{k % 9}1 0.1 500" for k in range(3000)]
    path = tmp_path / "tissue.tsv"
    path.write_text(EQTL_HEADER + "\n".join(rows) + "\n")
    clean = read_eqtl(path, PRINTED)
    twice = [*rows, rows[1].replace(" 0.11 ", " 0.5 "), rows[2], rows[3], rows[4], rows[6]]
    path.write_text(EQTL_HEADER + "\n".join(twice) + "\n")
    with caplog.at_level(logging.WARNING, logger="crossreg"):
        repeated = read_eqtl(path, PRINTED)
    for mine, theirs in zip(_fields(repeated), _fields(clean), strict=True):
        np.testing.assert_array_equal(mine, theirs)
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING] == [
        f"{path}: 2 row(s) at print SNPs repeat a SNP and gene listed before with the same "
        "values (e.g. SNP rs3, gene G3 on line 3004): each pair counted once"
    ]
    path.write_text(EQTL_HEADER + "\n".join([*twice, rows[2997].replace("T C", "C T")]) + "\n")
    with pytest.raises(
        ValueError, match=rf"{path.name} lines 2999 and 3007: SNP rs2997 and gene G1 are "
    ):
        read_eqtl(path, PRINTED)


PEAK_PER_ROW = """
import re, sys
from pathlib import Path
import numpy as np
from crossreg.stats.sldp import tables
from crossreg.stats.sldp.eqtl_table import read_eqtl
def peak():  # this process's own peak (ru_maxrss keeps the parent's across exec)
    return int(re.search(r"VmHWM:\\s+(\\d+) kB", Path("/proc/self/status").read_text())[1])
tables.BATCH_CHARS = 1 << 18  # batches of ~6,000 rows: the rows at print SNPs dominate
printed = np.array([f"rs{i}" for i in range(int(sys.argv[3]))])
read_eqtl(sys.argv[1], printed, 500.0)
before = peak()
stats = read_eqtl(sys.argv[2], printed, 500.0)
print(len(stats.snp), (peak() - before) * 1024 // int(sys.argv[4]))
"""


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads Linux's VmHWM")
def test_eqtl_rows_at_print_snps_are_held_compactly(tmp_path: Path) -> None:
    """A GTEx all-pairs table has ~24M rows at HapMap3 print SNPs (~20 genes a SNP). Held as
    polars strings while they were combined, they took ~430 bytes a row (~10 GB); here, of
    a fresh process's peak resident memory above its imports, 549 bytes a row. Held as
    print-SNP index, gene and allele-pair codes, z, N and line (36 bytes a row) and
    combined on those integer keys: 126 bytes a row (the combining's sort and masks)."""
    rows, snps = 400_000, 20_000
    k = np.arange(rows)
    table = pl.DataFrame(
        {
            "rsid": pl.Series([f"rs{i}" for i in k // 20]),
            "gene_id": pl.Series([f"ENSG{g:011d}.4" for g in k % 20 * 977]),
            "alt": np.where(k % 7, "T", "C"),
            "ref": np.where(k % 7, "C", "T"),
            "slope": np.random.default_rng(0).normal(0, 0.2, rows).round(4),
            "slope_se": 0.1,
        }
    )
    table.write_csv(tmp_path / "tissue.tsv", separator="\t")
    table.head(1).write_csv(tmp_path / "warm.tsv", separator="\t")
    script = [str(tmp_path / "warm.tsv"), str(tmp_path / "tissue.tsv"), str(snps), str(rows)]
    done = subprocess.run(
        [sys.executable, "-c", PEAK_PER_ROW, *script], capture_output=True, text=True, check=True
    )
    kept, per_row = (int(x) for x in done.stdout.split())
    assert kept == snps
    assert per_row < 250, f"{per_row} bytes a row at print SNPs"
