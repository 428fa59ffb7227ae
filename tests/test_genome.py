"""crossreg.genome.Genome against pyfaidx on generated FASTA files, and its errors."""

from __future__ import annotations

import copy
import pickle
from pathlib import Path

import numpy as np
import pyfaidx
import pytest

from crossreg.dna import one_hot
from crossreg.genome import Genome
from crossreg.io.identity import content_identity


def write_fasta(path: Path, records: dict[str, str], width: int) -> None:
    with open(path, "w") as handle:
        for name, seq in records.items():
            handle.write(f">{name} some description\n")
            for i in range(0, len(seq), width):
                handle.write(seq[i : i + width] + "\n")


def random_records(rng: np.random.Generator) -> dict[str, str]:
    alphabet = np.array(list("ACGTacgtN"))
    records = {}
    for i, length in enumerate([1, 59, 60, 61, 1000, 12_345]):
        seq = rng.choice(alphabet, size=length)
        if length > 100:
            seq[10:60] = "N"
        records[f"chr{i + 1}"] = "".join(seq)
    return records


def padded_reference(records: dict[str, str], chrom: str, start: int, end: int) -> bytes:
    seq = records[chrom]
    return "".join(seq[i] if 0 <= i < len(seq) else "N" for i in range(start, end)).encode()


@pytest.mark.parametrize("width", [60, 70, 80])
def test_fetch_matches_pyfaidx_and_padding(tmp_path, rng, width):
    records = random_records(rng)
    fasta = tmp_path / "genome.fa"
    write_fasta(fasta, records, width)
    genome = Genome(fasta)
    assert genome.names == list(records)
    assert genome.sizes == {k: len(v) for k, v in records.items()}
    faidx = pyfaidx.Fasta(str(fasta), sequence_always_upper=False)
    for chrom, seq in records.items():
        for _ in range(20):
            start = int(rng.integers(0, len(seq)))
            end = int(rng.integers(start, len(seq) + 1))
            assert genome.fetch(chrom, start, end) == str(faidx[chrom][start:end]).encode()
        for start, end in [(-5, 3), (len(seq) - 2, len(seq) + 4), (-3, len(seq) + 3)]:
            assert genome.fetch(chrom, start, end) == padded_reference(records, chrom, start, end)


def test_index_written_like_samtools(tmp_path, rng):
    records = random_records(rng)
    ours, theirs = tmp_path / "a.fa", tmp_path / "b.fa"
    write_fasta(ours, records, 60)
    write_fasta(theirs, records, 60)
    Genome(ours)
    pyfaidx.Faidx(str(theirs))
    assert Path(f"{ours}.fai").read_text() == Path(f"{theirs}.fai").read_text()


def test_fetch_many_matches_fetch(tmp_path, rng):
    records = random_records(rng)
    fasta = tmp_path / "g.fa"
    write_fasta(fasta, records, 61)
    genome = Genome(fasta)
    chroms = ["chr6", "chr5", "chr1", "chr6"]
    starts = [-100, 900, 0, 12_300]
    windows = genome.fetch_many(chroms, starts, 200)
    assert windows.shape == (4, 200) and windows.dtype == np.uint8
    for row, chrom, start in zip(windows, chroms, starts, strict=True):
        assert row.tobytes() == genome.fetch(chrom, start, start + 200)
    hot = genome.one_hot_many(chroms, starts, 200)  # float32 by default, as dna.one_hot
    assert hot.shape == (4, 200, 4) and hot.dtype == np.float32
    np.testing.assert_array_equal(hot, one_hot(windows))
    small = genome.one_hot_many(chroms, starts, 200, dtype=np.uint8)
    assert small.dtype == np.uint8
    np.testing.assert_array_equal(small, hot)


def test_unknown_chromosome_names_the_fix(tmp_path):
    fasta = tmp_path / "g.fa"
    write_fasta(fasta, {"chr1": "ACGT"}, 60)
    genome = Genome(fasta)
    with pytest.raises(ValueError, match=r"'1' is not in .*g\.fa.*did you mean 'chr1'"):
        genome.fetch("1", 0, 2)
    with pytest.raises(ValueError, match="did you mean 'chr1'"):
        genome.fetch_many(["1"], [0], 2)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (">a\nACG\nA\nACG\n", r":4: record 'a' has lines of different lengths"),
        (">a\nAC\nACGT\n", r":3: record 'a' has a line of 4 bases after lines of 2"),
        ("ACGT\n", r":1: sequence data before the first '>' header"),
        (">a\nA\n>a\nC\n", r":3: sequence name 'a' appears twice"),
        ("", r"no '>' record with bases"),
        (">empty\n", r"no '>' record with bases"),
    ],
)
def test_malformed_fasta_errors_name_the_line(tmp_path, text, message):
    fasta = tmp_path / "bad.fa"
    fasta.write_text(text)
    with pytest.raises(ValueError, match=message):
        Genome(fasta)


def test_missing_file_and_stale_index(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"nope\.fa"):
        Genome(tmp_path / "nope.fa")
    fasta = tmp_path / "g.fa"
    fasta.write_text(">a\nACGT\n")
    Genome(fasta)
    fasta.write_text(">a\nACGTACGT\n")
    with pytest.raises(ValueError, match="does not match"):
        Genome(fasta)


def test_window_arguments_are_checked(tmp_path):
    fasta = tmp_path / "g.fa"
    fasta.write_text(">a\nACGT\n")
    genome = Genome(fasta)
    with pytest.raises(ValueError, match="ends before it starts"):
        genome.fetch("a", 3, 1)
    with pytest.raises(ValueError, match="one start per window"):
        genome.fetch_many(["a", "a"], [0], 2)
    # before: a name given as a string was taken letter by letter ("4 chromosomes")
    with pytest.raises(TypeError, match=r"got the string 'chr1': pass \['chr1'\]"):
        genome.fetch_many("chr1", [0], 2)


def test_a_window_too_large_for_memory_is_a_memory_error(tmp_path):
    # before: the allocation failure aborted the interpreter (fetch) or raised pyo3's
    # PanicException, which `except Exception` does not catch (fetch_many)
    fasta = tmp_path / "g.fa"
    fasta.write_text(">a\nACGT\n")
    genome = Genome(fasta)
    with pytest.raises(MemoryError, match=r"window a:0-4611686018427387904: .*shorter windows"):
        genome.fetch("a", 0, 2**62)
    with pytest.raises(MemoryError, match="longer than can be addressed"):
        genome.fetch("a", -(2**63), 2**63 - 1)
    for n, length in ((1, 2**62), (2**20, 2**50)):
        with pytest.raises(MemoryError, match=f"{n} windows of {length} bp"):
            genome.fetch_many(["a"] * n, [0] * n, length)
    assert genome.fetch("a", 2, 6) == b"GTNN"  # still usable afterwards


def test_fetch_many_takes_integer_starts_only(tmp_path):
    fasta = tmp_path / "g.fa"
    fasta.write_text(">a\nACGTACGT\n")
    genome = Genome(fasta)
    for starts in ([2.7], [np.nan], np.array([1e30]), [True]):
        with pytest.raises(TypeError, match="starts must be integers"):
            genome.fetch_many(["a"], starts, 4)
    with pytest.raises(ValueError, match="past the largest int64"):
        genome.fetch_many(["a"], np.array([2**63], dtype=np.uint64), 4)
    with pytest.raises(ValueError, match="past the largest int64"):  # 2**63 - 1 as a float
        genome.fetch_many(["a"], np.array([2**63 + 1], dtype=np.uint64), 4)
    for starts in ([2], np.array([2], dtype=np.uint64), np.array([2], dtype=np.int32)):
        assert genome.fetch_many(["a"], starts, 4).tobytes() == b"GTAC"
    assert genome.fetch_many([], [], 4).shape == (0, 4)


def test_a_genome_pickles_for_dataloader_workers(tmp_path):
    # before: the native genome could not be pickled, so a dataset holding one failed in
    # workers started by spawn or a fork server (copy.deepcopy failed too)
    fasta = tmp_path / "g.fa"
    fasta.write_text(">a\nACGTACGT\n>b\nTTGA\n")
    genome = Genome(fasta)
    for copied in (pickle.loads(pickle.dumps(genome)), copy.deepcopy(genome)):
        assert copied.path == genome.path and copied.sizes == genome.sizes
        assert copied.fetch("a", -1, 2) == b"NAC"
        assert copied.fetch_many(["b"], [2], 3).tobytes() == b"GAN"


@pytest.mark.parametrize("newline", ["\n", "\r\n"])
def test_the_content_identity_is_taken_from_the_read_that_loads_the_genome(tmp_path, rng, newline):
    # before: sad, ism, predict --bigwig and data recorded the FASTA's identity from a
    # second read of the whole file (seconds for hg38); now it is hashed as it is loaded
    fasta = tmp_path / "g.fa"
    records = random_records(rng)
    write_fasta(fasta, records, 60)
    fasta.write_bytes(fasta.read_bytes().replace(b"\n", newline.encode()))
    genome = Genome(fasta, hash_content=True)
    # the same values as hashing the file separately, so earlier stores and shards match
    assert genome.content_identity() == content_identity(fasta)
    old = {"chroms": {n: len(s) for n, s in records.items()}, **content_identity(fasta)}
    assert genome.fasta_identity() == old
    copied = pickle.loads(pickle.dumps(genome))  # a worker's copy: hashed when asked
    assert copied.fasta_identity() == old
    # the identity is of the bytes loaded: an edit after the load is not mixed in
    fasta.write_bytes(fasta.read_bytes().replace(b"some", b"same", 1))
    assert genome.fasta_identity() == old
    assert Genome(fasta).content_identity() == content_identity(fasta) != old
