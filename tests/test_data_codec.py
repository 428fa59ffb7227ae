"""The native row codec: float16 rows compressed one by one, any of them decoded alone."""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from crossreg import _native
from crossreg.data.compressed import CompressedRows, compress_targets


def test_rows_decode_to_the_exact_float16_values_in_any_order():
    rng = np.random.default_rng(3)
    values = rng.gamma(2.0, 3.0, (6, 40, 50)) * (rng.random((6, 40, 50)) < 0.2)
    values = values.astype(np.float16)
    values[2, 0, :3] = [np.inf, -0.0, 65504]
    rows = values.view(np.uint16).reshape(6, -1)
    blob, offsets = _native.compress_rows(rows, 6)
    assert offsets.tolist()[0] == 0 and offsets.tolist()[-1] == blob.size and offsets.size == 7
    assert blob.nbytes < rows.nbytes / 2  # 80% zeros
    wanted = np.array([5, 2, 2, 0], dtype=np.uint64)
    out = np.empty((4, rows.shape[1]), dtype=np.uint16)
    _native.decompress_rows(blob, offsets, wanted, out)
    np.testing.assert_array_equal(out.view(np.float16).reshape(4, 40, 50), values[[5, 2, 2, 0]])


def test_bad_rows_and_data_are_refused():
    rows = np.ones((3, 10), dtype=np.uint16)
    blob, offsets = _native.compress_rows(rows, 1)
    out = np.empty((1, 10), dtype=np.uint16)
    with pytest.raises(ValueError, match="row 3 is not among the 3 rows"):
        _native.decompress_rows(blob, offsets, np.array([3], np.uint64), out)
    with pytest.raises(ValueError, match=r"does not decode|past the end"):
        _native.decompress_rows(blob[:-2], offsets, np.array([2], np.uint64), out)
    with pytest.raises(ValueError, match="level 13 is not in 0-12"):
        _native.compress_rows(rows, 13)


def test_each_row_ends_with_a_crc32_checked_unless_told_otherwise():
    rows = np.arange(60, dtype=np.uint16).reshape(3, 20)
    blob, offsets = _native.compress_rows(rows, 6)
    out = np.empty((1, 20), dtype=np.uint16)
    damaged = blob.copy()
    damaged[int(offsets[2]) - 1] ^= 1  # the last byte of row 1's CRC32
    with pytest.raises(ValueError, match="window 1 fails its checksum"):
        _native.decompress_rows(damaged, offsets, np.array([1], np.uint64), out)
    # rows of store format version 1 are the deflate stream alone
    old = np.concatenate([blob[a : b - 4] for a, b in itertools.pairwise(offsets.tolist())])
    old_offsets = offsets - np.arange(4, dtype=np.uint64) * np.uint64(4)
    _native.decompress_rows(old, old_offsets, np.array([2], np.uint64), out, checked=False)
    np.testing.assert_array_equal(out[0], rows[2])


def test_native_functions_refuse_fortran_order_arrays():
    """A Fortran-order array is contiguous but not in row-major index order: the bindings
    refuse it rather than read or write its buffer as if it were."""
    rows = np.asfortranarray(np.arange(12, dtype=np.uint16).reshape(4, 3))
    with pytest.raises(ValueError, match="values must be a C-contiguous"):
        _native.compress_rows(rows, 1)
    blob, offsets = _native.compress_rows(np.ascontiguousarray(rows), 1)
    out = np.zeros((4, 3), np.uint16, order="F")
    with pytest.raises(ValueError, match="out must be a C-contiguous"):
        _native.decompress_rows(blob, offsets, np.arange(4, dtype=np.uint64), out)
    seqs = np.zeros((2, 8), np.uint8, order="F")
    targets = np.zeros((2, 1, 1), np.uint16)
    with pytest.raises(ValueError, match="seqs must be a C-contiguous"):
        _native.augment_batch(seqs, targets, np.zeros(2, bool), np.zeros(2, np.int64))
    with pytest.raises(ValueError, match="data must be a C-contiguous"):
        _native.reverse_rows(np.zeros((4, 2), np.uint8, order="F"), 4, 2)


def _read_only(array: np.ndarray) -> np.ndarray:
    array.flags.writeable = False
    return array


def test_native_functions_refuse_read_only_and_overlapping_arrays():
    """An output that is read-only, or that overlaps another argument, is a ValueError (an
    array being written by a call on another thread is refused the same way), not the
    PanicException, which `except Exception` misses, that borrowing it used to raise."""
    seq = np.frombuffer(b"ACGTN", np.uint8)
    read_only = "is a read-only array"
    with pytest.raises(ValueError, match=f"out {read_only}"):
        _native.one_hot_u8(seq, _read_only(np.zeros((5, 4), np.uint8)))
    with pytest.raises(ValueError, match=f"out {read_only}"):
        _native.one_hot_f32(seq, _read_only(np.zeros((5, 4), np.float32)), True)
    with pytest.raises(ValueError, match=f"seqs {read_only}"):
        _native.reverse_complement_blocks(seq, 5)
    with pytest.raises(ValueError, match=f"data {read_only}"):
        _native.reverse_rows(_read_only(np.zeros(8, np.uint16)), 2, 4)
    for clip in (_native.soft_clip, _native.hard_clip, _native.scale):
        with pytest.raises(ValueError, match=f"values {read_only}"):
            clip(_read_only(np.ones(3, np.float32)), 1.0)
    rows = np.arange(12, dtype=np.uint16).reshape(4, 3)
    blob, offsets = _native.compress_rows(rows, 1)
    wanted = np.arange(4, dtype=np.uint64)
    with pytest.raises(ValueError, match=f"out {read_only}"):
        _native.decompress_rows(blob, offsets, wanted, _read_only(np.zeros((4, 3), np.uint16)))
    track = {"files": ["absent.bw"], "sum_stat": "sum", "clip": 1.0, "clip_soft": 1.0, "scale": 1.0}
    ids, starts = np.zeros(1, np.uint32), np.zeros(1, np.uint64)
    out = _read_only(np.zeros((1, 2, 1), np.uint16))
    with pytest.raises(ValueError, match=f"out {read_only}"):
        _native.bigwig_targets([track], ["chr1"], ids, starts, 8, None, 0.5, out, 1)

    overlap = "shares its memory with an array that this call"
    codes = np.frombuffer(b"ACGT" * 5, np.uint8).copy()
    with pytest.raises(ValueError, match=f"seq {overlap}"):
        _native.one_hot_u8(codes[:5], codes.reshape(5, 4))
    src = np.arange(8, dtype=np.uint8)
    with pytest.raises(ValueError, match=f"src {overlap}"):
        _native.shift_rows(src, src, np.zeros(2, np.uint8), 4, 2, 1)
    dst = np.empty_like(src)
    with pytest.raises(ValueError, match=f"pad {overlap}"):
        _native.shift_rows(src, dst, dst[:2], 4, 2, 1)
    seqs = np.zeros((2, 4), np.uint8)
    with pytest.raises(ValueError, match=f"targets {overlap}"):
        targets = seqs.view(np.uint16).reshape(2, 2, 1)
        _native.augment_batch(seqs, targets, np.ones(2, bool), np.zeros(2, np.int64))
    out = np.zeros((4, 3), np.uint16)
    with pytest.raises(ValueError, match=f"rows {overlap}"):
        _native.decompress_rows(blob, offsets, out.reshape(-1)[:4].view(np.uint64)[:1], out)


def _compressed_copy(values: np.ndarray, directory: Path, rows: slice) -> CompressedRows:
    """`values` written as a store's compressed targets, read back as windows `rows`."""
    np.save(directory / "targets.npy", values)
    compress_targets(directory, 1)
    return CompressedRows(directory, values.shape[1], values.shape[2], rows)


def test_compressed_rows_index_like_the_plain_array(tmp_path: Path) -> None:
    values = np.random.default_rng(4).normal(size=(12, 6, 3)).astype(np.float16)
    rows = _compressed_copy(values, tmp_path, slice(2, 11))
    plain = values[2:11]
    mask = np.arange(len(plain)) % 3 == 0
    pick = np.array([[4, 0], [8, 4]])
    keys = [
        3, -1, np.int64(2), slice(None), slice(7, 1, -2), slice(20, 30), [0, 2], pick, mask,
        np.array([], dtype=np.int64), (), ..., (..., 0), (0, ...), (1, ..., 2), (..., None),
        (None, ...), (None, 0), (None, pick, 1), (slice(1, 4), None), (mask, ..., 1),
        (pick, slice(None), [0, 2]), (..., [1, 2], 0), True, (False, 3),
    ]  # fmt: skip
    for key in keys:
        want = plain[key]
        got = rows[key]
        assert got.shape == want.shape, key
        np.testing.assert_array_equal(got, want, err_msg=repr(key))
    refused: list[Any] = [[len(plain)], 1.0, np.array([0.0, 1.0]), mask[:-1], (..., 0, ...)]
    for key in refused:
        with pytest.raises(IndexError):
            plain[key]
        with pytest.raises(IndexError):
            rows[key]
