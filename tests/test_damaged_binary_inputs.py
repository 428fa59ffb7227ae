"""Damaged binary inputs (BigWigs, dataset stores, checkpoints, SAD .h5 files, PLINK .bed)
stop with one ValueError or OSError naming the file: never a crash, a traceback, a
misleading message or silently wrong data."""

from __future__ import annotations

import json
import logging
import re
import shutil
import struct
import subprocess
import sys
import zlib
from collections.abc import Callable
from pathlib import Path

import h5py
import numpy as np
import pytest
import torch

from crossreg.cli import main
from crossreg.data import DataStore, bigwig_chrom_sizes, compute_targets
from crossreg.data.checks import check_inputs
from crossreg.io.targets_read import read_targets
from crossreg.model.checkpoint import load_checkpoint, make_config, save_checkpoint
from crossreg.model.params import parse_params
from crossreg.model.seqnn import SeqNN
from crossreg.stats.sldp.plink import read_bed
from crossreg.variants.sad_h5 import write_h5
from crossreg.variants.sad_read import read_sad
from tests.data_inputs import random_bigwig, random_genome, small_inputs, write_fasta, write_table
from tests.data_reference import reference_targets
from tests.pipeline import small_params
from tests.test_data_store import cli_args
from tests.test_sldp_estimator import CHROM, argv_of, write_world

SIZES = {"chr1": 40_000, "chr2": 26_000}
WINDOWS = (np.array(["chr1", "chr2"]), np.array([0, 1000]))


def _errors(logs: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in logs.records if r.levelno >= logging.ERROR]


def _fails_naming(logs: pytest.LogCaptureFixture, status: int, name: str) -> None:
    """The command exited with 1 after one ERROR line that names `name`."""
    assert status == 1
    errors = _errors(logs)
    assert len(errors) == 1, errors
    assert name in errors[0], errors[0]


# ---- BigWig ------------------------------------------------------------------------------


class BigWigLayout:
    """Offsets of the parts of a BigWig written by pyBigWig (little-endian)."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.chrom_tree, _, self.index = struct.unpack_from("<QQQ", data, 8)
        self.key_size = struct.unpack_from("<I", data, self.chrom_tree + 8)[0]
        #: first leaf item of the chromosome tree and of the data index
        self.chrom_item = self.chrom_tree + 36
        self.leaf = self.index + 52
        self.block, self.block_size = struct.unpack_from("<QQ", data, self.leaf + 16)

    def chrom_id_at(self, item: int) -> int:
        """Offset of the id of the chromosome tree's leaf item `item`."""
        return self.chrom_item + item * (self.key_size + 8) + self.key_size


def _put(data: bytes, offset: int, fmt: str, *values: object) -> bytes:
    out = bytearray(data)
    struct.pack_into(fmt, out, offset, *values)
    return bytes(out)


def _flip(data: bytes, offset: int) -> bytes:
    out = bytearray(data)
    out[offset] ^= 0xFF
    return bytes(out)


def _with_block(lay: BigWigLayout, edit: Callable[[bytes], bytes]) -> bytes:
    """The file with its first data block decompressed, edited, recompressed and appended at
    the end, the index pointing there."""
    raw = edit(zlib.decompress(lay.data[lay.block : lay.block + lay.block_size]))
    packed = zlib.compress(raw)
    head = _put(lay.data, lay.leaf + 16, "<QQ", len(lay.data), len(packed))
    return head + packed


def _index_node_twice(lay: BigWigLayout) -> bytes:
    """The index's leaf copied to the end of the file and its root made a node whose two
    items both lead there: each block was read, and its values added, twice (65,535 items
    to a full leaf would make billions of blocks)."""
    leaf = lay.data[lay.index + 48 : lay.index + 52 + 2 * 32]
    head = _put(lay.data, lay.index + 48, "<BBH", 0, 0, 2)
    for item in range(2):
        head = _put(head, lay.leaf + 24 * item, "<IIIIQ", 0, 0, 9, 0, len(lay.data))
    return head + leaf


def _chrom_tree_node_twice(lay: BigWigLayout) -> bytes:
    """As `_index_node_twice` for the chromosome tree (its leaf of 2 chromosomes)."""
    root, item = lay.chrom_tree + 32, lay.key_size + 8
    leaf = lay.data[root : root + 4 + 2 * item]
    head = _put(lay.data, root, "<BBH", 0, 0, 2)
    for k in range(2):
        head = _put(head, root + 4 + k * item, f"<{lay.key_size}sQ", b"chr1", len(lay.data))
    return head + leaf


@pytest.fixture(scope="module")
def bigwig(tmp_path_factory: pytest.TempPathFactory) -> BigWigLayout:
    path = random_bigwig(tmp_path_factory.mktemp("bw") / "intact.bw", SIZES, seed=1)
    return BigWigLayout(path.read_bytes())


def _targets_of(path: Path) -> np.ndarray:
    row = {"identifier": "t", "file": path.name, "clip": 1e6, "scale": 1, "sum_stat": "sum"}
    table = read_targets(write_table(path.with_name("targets.txt"), [row]))
    values, _ = compute_targets(table, list(table), *WINDOWS, bins=8, threads=1)
    return values


DAMAGED_BIGWIGS: dict[str, Callable[[BigWigLayout], bytes]] = {
    "empty": lambda w: b"",
    "text": lambda w: b"chr1\t0\t100\t1.5\n" * 20,
    "cut_in_magic": lambda w: w.data[:3],
    "cut_in_header": lambda w: w.data[:63],
    "cut_after_header": lambda w: w.data[:64],
    "cut_in_chrom_tree": lambda w: w.data[: w.chrom_tree + 40],
    "cut_before_index": lambda w: w.data[: w.index],
    "cut_in_index": lambda w: w.data[: w.index + 60],
    "cut_in_block": lambda w: w.data[: w.block + w.block_size // 2],
    "wrong_magic": lambda w: _flip(w.data, 0),
    "bigbed_magic": lambda w: _put(w.data, 0, "<I", 0x8789F2EB),
    "chrom_tree_magic": lambda w: _flip(w.data, w.chrom_tree),
    "chrom_tree_count": lambda w: _put(w.data, w.chrom_tree + 34, "<H", 0xFFFF),
    "index_magic": lambda w: _flip(w.data, w.index),
    "index_count": lambda w: _put(w.data, w.index + 50, "<H", 0xFFFF),
    "index_node_not_leaf": lambda w: _put(w.data, w.index + 48, "<B", 0),
    "index_node_twice": lambda w: _index_node_twice(w),
    "chrom_tree_node_twice": lambda w: _chrom_tree_node_twice(w),
    "index_loop": lambda w: _put(
        _put(w.data, w.index + 48, "<B", 0), w.leaf + 16, "<Q", w.index + 48
    ),
    "block_offset_past_end": lambda w: _put(w.data, w.leaf + 16, "<Q", 2**62),
    "block_size_short": lambda w: _put(w.data, w.leaf + 24, "<Q", 10),
    "zlib_header": lambda w: _flip(w.data, w.block),
    "zlib_data": lambda w: _flip(w.data, w.block + w.block_size // 2),
    "zlib_checksum": lambda w: _flip(w.data, w.block + w.block_size - 1),
    "uncompress_buffer_small": lambda w: _put(w.data, 52, "<I", 16),
    "section_type": lambda w: _with_block(w, lambda raw: _put(raw, 20, "<B", 9)),
    "section_count": lambda w: _with_block(w, lambda raw: _put(raw, 22, "<H", 0xFFFF)),
}


@pytest.mark.parametrize("damage", list(DAMAGED_BIGWIGS))
def test_a_damaged_bigwig_is_refused_naming_the_file(
    tmp_path: Path, bigwig: BigWigLayout, damage: str
) -> None:
    path = tmp_path / "track.bw"
    path.write_bytes(DAMAGED_BIGWIGS[damage](bigwig))
    with pytest.raises(ValueError, match=rf"{re.escape(str(path))}: .*(BigWig|bigwig)"):
        _targets_of(path)


def test_the_intact_bigwig_reads(tmp_path: Path, bigwig: BigWigLayout) -> None:
    """The control of the damaged files: the intact one gives a plain reading's targets."""
    path = tmp_path / "track.bw"
    path.write_bytes(bigwig.data)
    ours = _targets_of(path)
    table = read_targets(path.with_name("targets.txt"))
    want = reference_targets(table, WINDOWS[0].tolist(), WINDOWS[1].tolist(), bins=8)
    assert ours.shape == want.shape == (2, 8, 1) and len(np.unique(want)) > 8
    np.testing.assert_array_equal(ours, want)


_NATIVE_TARGETS = """
import resource
import sys
if len(sys.argv) > 2:  # a limit on the child's memory
    resource.setrlimit(resource.RLIMIT_AS, (int(sys.argv[2]),) * 2)
import numpy as np
from crossreg import _native
track = {"files": [sys.argv[1]], "sum_stat": "sum", "clip": 1e6, "clip_soft": 1e6, "scale": 1.0}
out = np.zeros((2, 8, 1), dtype=np.uint16)
ids, starts = np.array([0, 1], np.uint32), np.array([0, 1000], np.uint64)
try:
    _native.bigwig_targets([track], ["chr1", "chr2"], ids, starts, 128, None, 0.25, out, 1)
    print("read")
except BaseException as err:
    print(f"{type(err).__name__}: {err}")
"""


def _read_in_a_child(path: Path, memory: int | None = None) -> subprocess.CompletedProcess:
    """The BigWig's targets computed in a child process (a crash there is not this one's),
    held to `memory` bytes of address space when given."""
    limit = [] if memory is None else [str(memory)]
    return subprocess.run(
        [sys.executable, "-c", _NATIVE_TARGETS, str(path), *limit],
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.parametrize(
    "damage",
    [
        pytest.param(
            lambda w: _put(
                _put(w.data, w.chrom_tree + 8, "<I", 0xFFFFFFF0), w.chrom_tree + 34, "<H", 0xFFFF
            ),
            id="chrom_tree_key_size",
        ),
        pytest.param(
            lambda w: _put(w.data, w.leaf + 24, "<Q", 2**50),
            id="block_size_huge",
        ),
        pytest.param(
            lambda w: _put(w.data, w.leaf + 24, "<Q", 2**64 - 1),
            id="block_size_max",
        ),
    ],
)
def test_a_bigwig_with_impossible_sizes_is_refused_without_a_crash(
    tmp_path: Path, bigwig: BigWigLayout, damage: Callable[[BigWigLayout], bytes]
) -> None:
    path = tmp_path / "track.bw"
    path.write_bytes(damage(bigwig))
    done = _read_in_a_child(path)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.startswith(f"ValueError: {path}: corrupt BigWig"), done.stdout


def test_a_block_size_no_block_can_have_is_refused_before_it_is_read(
    tmp_path: Path, bigwig: BigWigLayout
) -> None:
    """A damaged block size that still lies within a large file: refused for what it claims,
    not allocated (2.5 GB) and read before its decompression fails; in a child held to
    1.5 GB, such an allocation aborts the process."""
    path = tmp_path / "track.bw"
    with open(path, "wb") as handle:
        handle.write(_put(bigwig.data, bigwig.leaf + 24, "<Q", 5 << 29))
        handle.truncate(3 << 30)  # sparse: the file takes no disk space
    done = _read_in_a_child(path, memory=3 << 29)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.startswith(f"ValueError: {path}: corrupt BigWig: the block at offset")
    assert "more than a block of this file can be" in done.stdout


def test_a_bigwig_header_pointing_past_any_file_is_corrupt(
    tmp_path: Path, bigwig: BigWigLayout
) -> None:
    path = tmp_path / "track.bw"
    path.write_bytes(_put(bigwig.data, 8, "<Q", 2**63))
    with pytest.raises(ValueError, match=rf"{re.escape(str(path))}: corrupt BigWig"):
        _targets_of(path)


#: Where a download or copy of the intact file stopped: in its data, just before its data
#: index, in the index's header and in its root node (writers put the index after the data).
CUT_SHORT = {
    "in_data": lambda w: w.block + w.block_size // 2,
    "before_index": lambda w: w.index,
    "in_index_header": lambda w: w.index + 40,
    "in_index_root": lambda w: w.leaf + 20,
}


@pytest.mark.parametrize("where", list(CUT_SHORT))
def test_a_bigwig_cut_short_is_refused_as_it_opens(
    tmp_path: Path, bigwig: BigWigLayout, where: str
) -> None:
    """The input checks open each file once: a file cut short is refused there, not when
    its track is computed after the tracks before it."""
    path = tmp_path / "track.bw"
    path.write_bytes(bigwig.data[: CUT_SHORT[where](bigwig)])
    with pytest.raises(ValueError, match=rf"{re.escape(str(path))}: corrupt BigWig: .*cut short"):
        bigwig_chrom_sizes(path)


def test_data_refuses_a_bigwig_cut_short_in_its_input_checks(
    tmp_path: Path, logs: pytest.LogCaptureFixture
) -> None:
    inputs = small_inputs(tmp_path / "inputs")
    track = tmp_path / "inputs" / "r2.bw"
    data = track.read_bytes()
    track.write_bytes(data[: len(data) // 2])
    with pytest.raises(ValueError, match=r"r2\.bw: corrupt BigWig: .*cut short.*track 'cage'"):
        check_inputs(fasta=inputs["fasta"], targets=inputs["targets"])
    status = main(cli_args(inputs, tmp_path / "store"))
    _fails_naming(logs, status, str(track))
    assert "is it a BigWig file?" not in _errors(logs)[0]  # it is one, damaged
    assert not (tmp_path / "store").exists()


def _without_data_as_ucsc_writes_it(lay: BigWigLayout) -> bytes:
    """The file as UCSC's tools write one without data: an index header of no items and no
    node after it (here the end signature, as they write it last)."""
    head = _put(lay.data[: lay.index + 48], lay.index + 8, "<Q", 0)
    return head + struct.pack("<I", 0x888FFC26)


def test_a_bigwig_whose_index_holds_no_items_reads_as_zeros(
    tmp_path: Path, bigwig: BigWigLayout
) -> None:
    path = tmp_path / "track.bw"
    path.write_bytes(_without_data_as_ucsc_writes_it(bigwig))
    assert bigwig_chrom_sizes(path) == list(SIZES.items())
    assert not _targets_of(path).any()


SILENT_BIGWIGS = [
    pytest.param(
        lambda w: _put(w.data, w.chrom_id_at(1), "<I", 0),
        id="two_chromosomes_with_one_id",
    ),
    pytest.param(
        lambda w: _put(w.data, w.chrom_id_at(0), "<I", 7),
        id="chromosome_id_out_of_range",
    ),
    pytest.param(
        lambda w: _put(w.data, w.leaf, "<I", 1),
        id="index_entry_ending_before_it_starts",
    ),
    pytest.param(
        lambda w: _with_block(w, lambda raw: _put(raw, 0, "<I", 7)),
        id="block_of_another_chromosome",
    ),
]


@pytest.mark.parametrize("damage", SILENT_BIGWIGS)
def test_a_bigwig_whose_chromosome_ids_disagree_is_refused(
    tmp_path: Path, bigwig: BigWigLayout, damage: Callable[[BigWigLayout], bytes]
) -> None:
    path = tmp_path / "track.bw"
    path.write_bytes(damage(bigwig))
    with pytest.raises(ValueError, match=rf"{re.escape(str(path))}: corrupt BigWig"):
        _targets_of(path)


def test_data_names_a_bigwig_with_a_corrupt_block_in_one_error_line(
    tmp_path: Path, bigwig: BigWigLayout, logs: pytest.LogCaptureFixture
) -> None:
    inputs = small_inputs(tmp_path / "inputs")
    inputs["r2"] = tmp_path / "inputs" / "r2.bw"
    data = inputs["r2"].read_bytes()
    lay = BigWigLayout(data)
    inputs["r2"].write_bytes(_flip(data, lay.block + lay.block_size // 2))
    status = main(cli_args(inputs, tmp_path / "store"))
    _fails_naming(logs, status, str(inputs["r2"]))
    assert "does not decompress" in _errors(logs)[0]
    assert not (tmp_path / "store").exists()


# ---- dataset stores ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A plain and a compressed store of the small inputs, and a checkpoint that reads them."""
    root = tmp_path_factory.mktemp("stores")
    inputs = small_inputs(root / "inputs")
    paths = {}
    for name, extra in (("plain", ()), ("packed", ("--compress-targets", "1"))):
        assert main(cli_args(inputs, root / name, *extra)) == 0
        paths[name] = root / name
    raw = small_params({"test": 4})
    raw["model"]["seq_length"] = 4096
    raw["model"]["trunk"][3]["cropping"] = 4
    params = parse_params(raw)
    model = SeqNN(params.model, generator=torch.Generator().manual_seed(0))
    config = make_config(model, raw, {"test": read_targets(root / "plain" / "targets.txt")})
    paths["model"] = save_checkpoint(root / "model", model, config)
    paths["fasta"] = write_fasta(root / "query.fa", random_genome({"q1": 4096}, seed=3))
    return paths


def _copy(built: dict[str, Path], kind: str, tmp_path: Path) -> Path:
    return Path(shutil.copytree(built[kind], tmp_path / kind))


def _cut(path: Path, keep: int) -> None:
    data = path.read_bytes()
    path.write_bytes(data[:keep])


def _resave(path: Path, edit: Callable[[np.ndarray], np.ndarray]) -> None:
    np.save(path, edit(np.load(path)))


def _edit_json(path: Path, edit: Callable[[dict], object]) -> None:
    data = json.loads(path.read_text())
    edit(data)
    path.write_text(json.dumps(data))


def _evaluate(built: dict[str, Path], store: Path, out: Path) -> int:
    args = ["-q", "evaluate", "--model", str(built["model"]), "--data", str(store)]
    return main([*args, "--out", str(out), "--no-plots", "--device", "cpu"])


def test_evaluate_reads_the_intact_stores(
    built: dict[str, Path], tmp_path: Path, logs: pytest.LogCaptureFixture
) -> None:
    for kind in ("plain", "packed"):
        assert _evaluate(built, built[kind], tmp_path / kind) == 0
    assert not _errors(logs)


@pytest.mark.parametrize("name", ["targets.npy", "targets.rows", "targets.offsets.npy"])
def test_a_missing_target_file_is_named_by_evaluate(
    built: dict[str, Path], tmp_path: Path, logs: pytest.LogCaptureFixture, name: str
) -> None:
    store = _copy(built, "packed" if "rows" in name or "offsets" in name else "plain", tmp_path)
    (store / name).unlink()
    _fails_naming(logs, _evaluate(built, store, tmp_path / "eval"), str(store / name))


READ = {
    "targets.npy": lambda s: np.asarray(s.targets("test")),
    "sequences.npy": lambda s: np.asarray(s.sequences("test")),
    "masked.npy": lambda s: np.asarray(s.masked("test")),
}


@pytest.mark.parametrize("name", list(READ))
def test_a_cut_store_array_is_named(built: dict[str, Path], tmp_path: Path, name: str) -> None:
    store = _copy(built, "plain", tmp_path)
    _cut(store / name, -100)
    with pytest.raises(ValueError, match=re.escape(str(store / name))):
        READ[name](DataStore(store))


def test_evaluate_names_a_cut_targets_array(
    built: dict[str, Path], tmp_path: Path, logs: pytest.LogCaptureFixture
) -> None:
    store = _copy(built, "plain", tmp_path)
    _cut(store / "targets.npy", -100)
    _fails_naming(logs, _evaluate(built, store, tmp_path / "eval"), str(store / "targets.npy"))


def test_evaluate_names_an_empty_targets_array_without_blaming_gzip(
    built: dict[str, Path], tmp_path: Path, logs: pytest.LogCaptureFixture
) -> None:
    store = _copy(built, "plain", tmp_path)
    _cut(store / "targets.npy", 0)
    _fails_naming(logs, _evaluate(built, store, tmp_path / "eval"), str(store / "targets.npy"))
    assert "gzip" not in _errors(logs)[0]


SHORT_ARRAYS = {
    "targets.npy": ("plain", lambda a: a[:20]),
    "sequences.npy": ("plain", lambda a: a[:25]),
    "masked.npy": ("plain", lambda a: a[:10]),
    "targets.offsets.npy": ("packed", lambda a: a[:20]),
}


@pytest.mark.parametrize("name", list(SHORT_ARRAYS))
def test_a_store_array_with_too_few_rows_is_named(
    built: dict[str, Path], tmp_path: Path, name: str
) -> None:
    kind, edit = SHORT_ARRAYS[name]
    store = _copy(built, kind, tmp_path)
    _resave(store / name, edit)
    read = READ.get(name, READ["targets.npy"])
    with pytest.raises(ValueError, match=re.escape(str(store / name))):
        read(DataStore(store))


def test_a_split_beyond_the_stores_rows_is_named(built: dict[str, Path], tmp_path: Path) -> None:
    store = _copy(built, "plain", tmp_path)
    _edit_json(store / "dataset.json", lambda m: m["splits"]["test"].update(count=1000))
    with pytest.raises(ValueError, match=re.escape(str(store / "dataset.json"))):
        np.asarray(DataStore(store).sequences("test"))


@pytest.mark.parametrize("text", ["", "{", '{"format": "crossreg-dataset",'])
def test_a_dataset_json_that_is_not_json_is_named(
    built: dict[str, Path], tmp_path: Path, text: str
) -> None:
    store = _copy(built, "plain", tmp_path)
    (store / "dataset.json").write_text(text)
    with pytest.raises(ValueError, match=re.escape(str(store / "dataset.json"))):
        DataStore(store)


BAD_METADATA: dict[str, Callable[[dict], object]] = {
    "no_splits": lambda m: m.pop("splits"),
    "no_genome": lambda m: m.pop("genome"),
    "no_num_targets": lambda m: m.pop("num_targets"),
    "no_target_length": lambda m: m.pop("target_length"),
    "split_without_offset": lambda m: m["splits"]["test"].pop("offset"),
    "splits_a_list": lambda m: m.update(splits=[1, 2]),
    "format_version_text": lambda m: m.update(format_version="1"),
    "target_length_text": lambda m: m.update(target_length="24"),
    "options_a_list": lambda m: m.update(options=[1]),
}


@pytest.mark.parametrize("damage", list(BAD_METADATA))
def test_evaluate_names_a_dataset_json_with_a_missing_or_mistyped_key(
    built: dict[str, Path], tmp_path: Path, logs: pytest.LogCaptureFixture, damage: str
) -> None:
    store = _copy(built, "plain", tmp_path)
    _edit_json(store / "dataset.json", BAD_METADATA[damage])
    status = _evaluate(built, store, tmp_path / "eval")
    _fails_naming(logs, status, str(store / "dataset.json"))


def test_a_dataset_json_that_is_not_an_object_is_named(
    built: dict[str, Path], tmp_path: Path
) -> None:
    store = _copy(built, "plain", tmp_path)
    (store / "dataset.json").write_text("[1, 2]")
    with pytest.raises(ValueError, match=re.escape(str(store / "dataset.json"))):
        DataStore(store)


@pytest.mark.parametrize("keep", [0, -50])
def test_a_cut_compressed_targets_file_is_named(
    built: dict[str, Path], tmp_path: Path, keep: int
) -> None:
    store = _copy(built, "packed", tmp_path)
    _cut(store / "targets.rows", keep)
    with pytest.raises(ValueError, match=re.escape(str(store / "targets.rows"))):
        np.asarray(DataStore(store).targets("test"))


def _read_all(store: Path) -> np.ndarray:
    """Every window's targets of the store at `store`, split after split."""
    opened = DataStore(store)
    return np.concatenate([np.asarray(opened.targets(split)) for split in opened.splits])


def test_a_flipped_bit_in_compressed_targets_is_detected(
    built: dict[str, Path], tmp_path: Path
) -> None:
    store = _copy(built, "packed", tmp_path)
    rows = store / "targets.rows"
    intact, blob = _read_all(store), rows.read_bytes()
    offsets = np.load(store / "targets.offsets.npy").astype(np.int64)
    # 400 bits across the file, and every bit of the first and last windows' CRC32s
    sampled = np.random.default_rng(0).choice(8 * len(blob), 400, replace=False)
    checks = [8 * (end - 4) + np.arange(32) for end in (offsets[1], offsets[-1])]
    refused = 0
    for bit in np.concatenate([sampled, *checks]).tolist():
        damaged = bytearray(blob)
        damaged[bit // 8] ^= 1 << (bit % 8)
        rows.write_bytes(bytes(damaged))
        window = int(np.searchsorted(offsets, bit // 8, side="right")) - 1
        try:
            decoded = _read_all(store)
        except ValueError as err:
            refused += 1
            assert f"{rows}: window {window} " in str(err), (bit, str(err))
            assert "crossreg data" in str(err)
        else:
            assert np.array_equal(decoded, intact, equal_nan=True), f"bit {bit}: other targets"
    assert refused >= 0.95 * (400 + 64)


def test_evaluate_names_compressed_offsets_of_the_wrong_type(
    built: dict[str, Path], tmp_path: Path, logs: pytest.LogCaptureFixture
) -> None:
    store = _copy(built, "packed", tmp_path)
    _resave(store / "targets.offsets.npy", lambda a: a.astype(np.int64))
    status = _evaluate(built, store, tmp_path / "eval")
    _fails_naming(logs, status, str(store / "targets.offsets.npy"))


# ---- checkpoints ---------------------------------------------------------------------------


WEIGHTS_DAMAGE: dict[str, Callable[[bytes], bytes]] = {
    "empty": lambda b: b"",
    "cut_in_length": lambda b: b[:4],
    "cut_in_header": lambda b: b[:100],
    "cut_in_tensors": lambda b: b[: len(b) // 2],
    "last_byte_cut": lambda b: b[:-1],
    "trailing_bytes": lambda b: b + b"\0" * 8,
    "header_length_huge": lambda b: struct.pack("<Q", 2**62) + b[8:],
    "header_not_utf8": lambda b: b[:40] + b"\xff" + b[41:],
}


@pytest.mark.parametrize("damage", list(WEIGHTS_DAMAGE))
def test_predict_names_damaged_checkpoint_weights(
    built: dict[str, Path], tmp_path: Path, logs: pytest.LogCaptureFixture, damage: str
) -> None:
    model = _copy(built, "model", tmp_path)
    weights = model / "model.safetensors"
    weights.write_bytes(WEIGHTS_DAMAGE[damage](weights.read_bytes()))
    args = ["-q", "predict", "--model", str(model), "--fasta", str(built["fasta"])]
    status = main([*args, "--out", str(tmp_path / "p.npy"), "--device", "cpu"])
    _fails_naming(logs, status, str(weights))


def test_a_checkpoint_config_that_is_not_an_object_is_named(
    built: dict[str, Path], tmp_path: Path
) -> None:
    model = _copy(built, "model", tmp_path)
    (model / "config.json").write_text("[]")
    with pytest.raises(ValueError, match=re.escape(str(model / "config.json"))):
        load_checkpoint(model)


def test_a_checkpoint_config_with_mistyped_genomes_is_named(
    built: dict[str, Path], tmp_path: Path
) -> None:
    model = _copy(built, "model", tmp_path)
    _edit_json(model / "config.json", lambda c: c.update(genomes=7))
    with pytest.raises(ValueError, match=re.escape(str(model / "config.json"))):
        load_checkpoint(model)


# ---- SAD .h5 -------------------------------------------------------------------------------


def _sad_part(start: int, n: int) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(start)
    return {
        "snp": np.array([f"rs{i}" for i in range(start, start + n)], dtype="S"),
        "chr": np.array(["chr1"] * n, dtype="S"),
        "pos": np.arange(start, start + n, dtype=np.uint32) + 100,
        "ref_allele": np.array(["A"] * n, dtype="S"),
        "alt_allele": np.array(["C"] * n, dtype="S"),
        "SAD": rng.normal(size=(n, 3)).astype(np.float16),
    }


@pytest.fixture
def shards(tmp_path: Path) -> list[Path]:
    """Two shards of a `crossreg sad --shard i/2` run of 300 alleles each."""
    paths = []
    for i in range(2):
        attrs = {
            "stats": "SAD",
            "shard_index": i,
            "shard_count": 2,
            "run_settings": "{}",
            "shard_records": np.array([300 * i, 300 * (i + 1)]),
        }
        path = tmp_path / f"shard{i}.h5"
        write_h5(
            path, [_sad_part(300 * i, 300)], ["SAD"], ["t0", "t1", "t2"], ["a", "b", "c"], attrs
        )
        paths.append(path)
    return paths


def _replace(path: Path, name: str, value: np.ndarray | None) -> None:
    with h5py.File(path, "r+") as handle:
        del handle[name]
        if value is not None:
            handle[name] = value


def test_the_intact_shards_merge(shards: list[Path], tmp_path: Path) -> None:
    assert main(["-q", "sad-merge", "--out", str(tmp_path / "m.h5"), *map(str, shards)]) == 0
    assert read_sad(tmp_path / "m.h5").values.shape == (600, 3)


@pytest.mark.parametrize("name", ["snp", "SAD", "target_ids"])
def test_read_sad_names_a_file_without_a_dataset(shards: list[Path], name: str) -> None:
    _replace(shards[1], name, None)
    with pytest.raises(ValueError, match=rf"{re.escape(str(shards[1]))}: not a SAD file"):
        read_sad(shards[1])


@pytest.mark.parametrize("keep", [0, 100, -10])
def test_read_sad_names_a_cut_h5(shards: list[Path], keep: int) -> None:
    _cut(shards[1], keep)
    with pytest.raises(OSError, match=re.escape(str(shards[1]))):
        read_sad(shards[1])


def test_sad_merge_names_a_cut_shard(
    shards: list[Path], tmp_path: Path, logs: pytest.LogCaptureFixture
) -> None:
    _cut(shards[1], 1000)
    status = main(["-q", "sad-merge", "--out", str(tmp_path / "m.h5"), *map(str, shards)])
    _fails_naming(logs, status, str(shards[1]))


@pytest.mark.parametrize("name", ["snp", "SAD", "target_ids"])
def test_sad_merge_names_a_shard_without_a_dataset(
    shards: list[Path], tmp_path: Path, logs: pytest.LogCaptureFixture, name: str
) -> None:
    _replace(shards[1], name, None)
    status = main(["-q", "sad-merge", "--out", str(tmp_path / "m.h5"), *map(str, shards)])
    _fails_naming(logs, status, str(shards[1]))


MISSHAPEN_SAD = {
    "fewer_score_rows": ("SAD", np.zeros((10, 3), np.float16)),
    "fewer_labels": ("snp", np.array([b"rs1"] * 10)),
    "more_tracks_than_ids": ("SAD", np.zeros((300, 5), np.float16)),
    "scores_one_dimensional": ("SAD", np.zeros(300, np.float16)),
}


@pytest.mark.parametrize("damage", list(MISSHAPEN_SAD))
def test_read_sad_names_scores_that_do_not_fit_the_labels(shards: list[Path], damage: str) -> None:
    _replace(shards[1], *MISSHAPEN_SAD[damage])
    with pytest.raises(ValueError, match=re.escape(str(shards[1]))):
        read_sad(shards[1])


@pytest.mark.parametrize("damage", ["fewer_labels", "fewer_score_rows"])
def test_sad_merge_names_a_shard_whose_datasets_disagree(
    shards: list[Path], tmp_path: Path, logs: pytest.LogCaptureFixture, damage: str
) -> None:
    _replace(shards[1], *MISSHAPEN_SAD[damage])
    status = main(["-q", "sad-merge", "--out", str(tmp_path / "m.h5"), *map(str, shards)])
    _fails_naming(logs, status, str(shards[1]))


@pytest.mark.parametrize(
    "damage",
    [
        pytest.param(lambda sad: sad[:0, :0], id="no_scores"),
        pytest.param(
            lambda sad: sad[:10],
            id="fewer_scores_than_labels",
        ),
    ],
)
def test_sldp_names_a_sad_h5_whose_scores_are_damaged(
    tmp_path: Path, logs: pytest.LogCaptureFixture, damage: Callable[[np.ndarray], np.ndarray]
) -> None:
    world = write_world(tmp_path)
    path = tmp_path / "scores.h5"
    with h5py.File(path, "w") as handle:
        handle["snp"] = world["snp"].astype("S")
        handle["chr"] = np.array([CHROM] * len(world["snp"]), dtype="S")
        handle["pos"] = world["bp"].astype(np.uint32)
        handle["ref_allele"] = np.array([p[1] for p in world["pair"]], dtype="S")
        handle["alt_allele"] = np.array([p[0] for p in world["pair"]], dtype="S")
        handle["target_ids"] = np.array(["pred1", "NA", "null"], dtype="S")
        scores = damage(np.asarray(world["v"], dtype=np.float64))
        if scores.size:
            handle["SAD"] = scores
    status = main(["-q", *argv_of(str(tmp_path), "scores.h5"), "--out", str(tmp_path / "out")])
    _fails_naming(logs, status, str(path))


# ---- PLINK .bed ----------------------------------------------------------------------------


BED_DAMAGE: dict[str, tuple[Callable[[bytes], bytes], str]] = {
    "empty": (lambda b: b"", "not a SNP-major PLINK 1 .bed"),
    "wrong_magic": (lambda b: b"\x00" + b[1:], "not a SNP-major PLINK 1 .bed"),
    "individual_major": (lambda b: b[:2] + b"\x00" + b[3:], "not a SNP-major PLINK 1 .bed"),
    "cut": (lambda b: b[:-7], "bytes, but 8 SNPs × 10 samples need 27"),
    "trailing_byte": (lambda b: b + b"\0", "bytes, but 8 SNPs × 10 samples need 27"),
}


@pytest.mark.parametrize("damage", list(BED_DAMAGE))
def test_a_damaged_plink_bed_names_the_file(tmp_path: Path, damage: str) -> None:
    edit, message = BED_DAMAGE[damage]
    path = tmp_path / "panel.7.bed"
    path.write_bytes(edit(b"\x6c\x1b\x01" + bytes(range(24))))
    with pytest.raises(ValueError, match=rf"{re.escape(str(path))}: .*{re.escape(message)}"):
        read_bed(path, 10, 8, 0, 8)
