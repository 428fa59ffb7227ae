"""A gzip, many-member gzip or BGZF (bgzip) FASTA loads as its plain file does: the same
names, sizes and windows, its identity that of the compressed bytes, no ``.fai`` beside
it, and a truncated or damaged stream stopped with the file named."""

from __future__ import annotations

import gzip
import hashlib
import itertools
import lzma
import os
import pickle
import struct
import threading
import zlib
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from crossreg.genome import Genome
from crossreg.io.identity import content_identity
from crossreg.io.text import bgzf_end_missing, is_bgzf

DATA = Path(__file__).parent / "data"

#: BGZF's end-of-file block: an empty member, as bgzip ends every file with it.
BGZF_EOF = bytes.fromhex("1f8b08040000000000ff0600424302001b0003000000000000000000")


def bgzf(data: bytes, block: int = 65_280, *, eof: bool = True) -> bytes:
    """`data` as bgzip writes it: members of at most `block` input bytes, each with the
    ``BC`` extra subfield giving its size, then the empty end-of-file block."""
    out = bytearray()
    for start in range(0, len(data), block):
        chunk = data[start : start + block]
        packer = zlib.compressobj(6, zlib.DEFLATED, -15)
        body = packer.compress(chunk) + packer.flush()
        header = b"\x1f\x8b\x08\x04\x00\x00\x00\x00\x00\xff\x06\x00BC\x02\x00"
        size = len(header) + 2 + len(body) + 8
        out += header + struct.pack("<H", size - 1) + body
        out += struct.pack("<II", zlib.crc32(chunk), len(chunk))
    return bytes(out + (BGZF_EOF if eof else b""))


def members(data: bytes, *, at: tuple[float, ...] = (1 / 3, 2 / 3)) -> bytes:
    """`data` as concatenated gzip members (``cat a.gz b.gz``), split at the fractions
    `at` of it (thirds)."""
    cuts = [0, *(int(len(data) * f) for f in at), len(data)]
    return b"".join(gzip.compress(data[a:b]) for a, b in itertools.pairwise(cuts))


COMPRESSIONS: dict[str, Callable[[bytes], bytes]] = {
    "gzip": gzip.compress,
    "members": members,
    # the last member's ISIZE, the room first tried, is less than the first member's size
    "members-first-larger": lambda data: members(data, at=(0.9,)),
    "bgzf": bgzf,
    "bgzf-small-blocks": lambda data: bgzf(data, block=1_000),
}


def synthetic(newline: str, width: int | None) -> bytes:
    """Three chromosomes of random bases, lowercase runs and N runs, lines of `width`
    bases (one line each when None), ending with `newline`."""
    rng = np.random.default_rng(7)
    text = []
    for name, size in (("chr1", 50_003), ("chr2", 7_001), ("chrUn_x", 61)):
        seq = bytearray(np.frombuffer(b"ACGT", np.uint8)[rng.integers(0, 4, size)].tobytes())
        seq[10:900] = seq[10:900].lower()
        if size > 3_500:
            seq[2_000:3_500] = b"N" * 1_500
        step = width or size
        lines = [seq[i : i + step].decode() for i in range(0, size, step)]
        text.append(f">{name} description{newline}" + "".join(x + newline for x in lines))
    return "".join(text).encode()


def plain_and_compressed(tmp_path: Path, data: bytes, compress: Callable[[bytes], bytes]):
    plain = tmp_path / "plain" / "g.fa"
    packed = tmp_path / "packed" / "g.fa.gz"
    for path, content in ((plain, data), (packed, compress(data))):
        path.parent.mkdir()
        path.write_bytes(content)
    return Genome(plain), Genome(packed, hash_content=True), packed


def assert_same(plain: Genome, packed: Genome) -> None:
    assert packed.sizes == plain.sizes
    assert packed.names == plain.names
    rng = np.random.default_rng(0)
    for name, size in plain.sizes.items():
        assert packed.fetch(name, 0, size) == plain.fetch(name, 0, size)
        assert packed.fetch(name, -5, size + 5) == plain.fetch(name, -5, size + 5)
    chroms = [plain.names[i] for i in rng.integers(0, len(plain.names), 64)]
    starts = rng.integers(-100, max(plain.sizes.values()), 64)
    np.testing.assert_array_equal(
        packed.fetch_many(chroms, starts, 1_000), plain.fetch_many(chroms, starts, 1_000)
    )


@pytest.mark.parametrize("kind", list(COMPRESSIONS))
def test_the_real_human_window_compressed_loads_as_the_plain_file(tmp_path, kind):
    # before: every compressed FASTA stopped with "decompress it first (gunzip)"
    data = (DATA / "basenji" / "gata4.fa").read_bytes()
    plain, packed, path = plain_and_compressed(tmp_path, data, COMPRESSIONS[kind])
    assert packed.sizes == {"chr8:11496144-11627216": 131_072}
    assert_same(plain, packed)
    assert packed.content_identity() == content_identity(path)
    assert not (path.parent / "g.fa.gz.fai").exists()


@pytest.mark.parametrize("kind", list(COMPRESSIONS))
@pytest.mark.parametrize(("newline", "width"), [("\n", 60), ("\r\n", 70), ("\n", None)])
def test_synthetic_fastas_compressed_load_as_their_plain_files(tmp_path, kind, newline, width):
    plain, packed, path = plain_and_compressed(
        tmp_path, synthetic(newline, width), COMPRESSIONS[kind]
    )
    assert list(packed.sizes.values()) == [50_003, 7_001, 61]
    assert packed.fetch("chr1", 100, 104).islower()
    assert packed.fetch("chr1", 2_000, 3_500) == b"N" * 1_500
    assert_same(plain, packed)
    assert packed.content_identity() == content_identity(path)


def test_the_test_writer_writes_bgzf(tmp_path):
    # the BGZF the tests write is what crossreg.io.text recognises as bgzip's
    path = tmp_path / "x.gz"
    path.write_bytes(bgzf(b">a\nACGT\n"))
    assert is_bgzf(path) and not bgzf_end_missing(path)
    assert gzip.decompress(path.read_bytes()) == b">a\nACGT\n"


def test_a_pickled_compressed_genome_reads_the_file_again(tmp_path):
    path = tmp_path / "g.fa.gz"
    path.write_bytes(bgzf(synthetic("\n", 60), block=4_096))
    genome = Genome(path, hash_content=True)
    copied = pickle.loads(pickle.dumps(genome))
    assert copied.sizes == genome.sizes
    assert copied.fetch("chr2", 10, 200) == genome.fetch("chr2", 10, 200)
    assert copied.content_identity() == genome.content_identity() == content_identity(path)


def test_a_fai_beside_a_compressed_fasta_is_neither_written_nor_trusted(tmp_path):
    path = tmp_path / "g.fa.gz"
    path.write_bytes(gzip.compress(b">a\nACGT\nAC\n>b\nGG\n"))
    Genome(path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["g.fa.gz"]
    # samtools' index of a bgzip file (offsets in the decompressed text), or a stale one
    (tmp_path / "g.fa.gz.fai").write_text("a\t99\t3\t4\t5\n")
    assert Genome(path).fetch("a", 0, 6) == b"ACGTAC"


def _truncated_gzip(data: bytes) -> bytes:
    return gzip.compress(data)[:-20]


def _corrupt_bgzf(data: bytes) -> bytes:
    packed = bytearray(bgzf(data, block=2_000))
    packed[40] ^= 0xFF  # inside the first block's deflate stream
    return bytes(packed)


@pytest.mark.parametrize(
    ("damage", "detail"),
    [
        (_truncated_gzip, ""),
        (lambda data: members(data)[:-3], ""),
        (lambda data: bgzf(data, block=2_000)[:-40], "ends inside the block"),
        (lambda data: bgzf(data, block=2_000, eof=False), "lacks its end-of-file block"),
        (_corrupt_bgzf, ""),
        (lambda data: gzip.compress(data) + b"garbage!", ""),
    ],
)
def test_a_truncated_or_corrupt_stream_names_the_file_and_the_fix(tmp_path, damage, detail):
    path = tmp_path / "g.fa.gz"
    path.write_bytes(damage(synthetic("\n", 60)))
    with pytest.raises(
        ValueError, match=r"g\.fa\.gz: the gzip stream is truncated or corrupt"
    ) as e:
        Genome(path)
    assert detail in str(e.value)
    assert str(e.value).endswith("re-download the file, or check it with `gzip -t`")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["g.fa.gz"]


@pytest.mark.parametrize(
    "compress", [lambda data: data, gzip.compress, bgzf], ids=["plain", "gzip", "bgzf"]
)
@pytest.mark.parametrize(
    ("text", "match"),
    [
        (b"", r"g\.fa: no '>' record with bases"),
        (b"##fileformat=VCFv4.2\n#CHROM\tPOS\n", r"g\.fa:1: sequence data before the first '>'"),
    ],
    ids=["empty", "vcf"],
)
def test_an_empty_or_non_fasta_gzip_gives_the_plain_files_error(tmp_path, compress, text, match):
    path = tmp_path / "g.fa"
    path.write_bytes(compress(text))
    with pytest.raises(ValueError, match=match):
        Genome(path)


@pytest.mark.parametrize(
    ("compress", "tool"),
    [
        (lzma.compress, "xz"),
        (lambda data: b"BZh91AY&SY" + data, "bzip2"),
        (lambda data: b"\x28\xb5\x2f\xfd" + data, "zstd"),
    ],
)
def test_other_compressions_are_named_with_how_to_decompress(tmp_path, compress, tool):
    path = tmp_path / "g.fa"
    path.write_bytes(compress(b">a\nACGT\n"))
    with pytest.raises(ValueError, match=rf"g\.fa: the file is {tool}-compressed.*\({tool} -d\)"):
        Genome(path)


def test_the_cli_precheck_reads_no_fai_beside_a_compressed_fasta(tmp_path):
    from crossreg.commands.inputs import indexed_sizes

    for name, content in (("g.fa", b">a\nACGT\n"), ("g.fa.gz", gzip.compress(b">a\nACGT\n"))):
        path = tmp_path / name
        path.write_bytes(content)
        (tmp_path / f"{name}.fai").write_text("a\t4\t3\t4\t5\n")
        expected = None if name.endswith(".gz") else {"a": 4}
        assert indexed_sizes(path) == expected


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="named pipes")
@pytest.mark.parametrize(
    "compress", [lambda data: data, gzip.compress, bgzf], ids=["plain", "gzip", "bgzf"]
)
def test_a_fasta_from_a_pipe_is_read_once_whole(tmp_path, compress):
    # the file is opened once and its first bytes read through the handle that reads the
    # rest: a pipe (a shell's <(...)) loses none of them
    stored = compress(synthetic("\n", 60))
    fifo = tmp_path / "g.fa"
    os.mkfifo(fifo)
    writer = threading.Thread(target=lambda: fifo.write_bytes(stored))
    writer.start()
    genome = Genome(fifo, hash_content=True)
    writer.join()
    assert list(genome.sizes.values()) == [50_003, 7_001, 61]
    assert genome.content_identity() == {
        "size": len(stored),
        "sha256": hashlib.sha256(stored).hexdigest(),
    }
