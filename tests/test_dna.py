"""crossreg.dna against plain numpy references, Basenji's examples and properties."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import crossreg.dna as dna
from crossreg import _native
from tests import dna_reference as ref

IUPAC = "ACGTNacgtnRYKMBVDHSWrykmbvdhsw"
dna_text = st.text(alphabet=IUPAC, max_size=300)
any_bytes = st.binary(max_size=300)


def codes_of(text: str) -> np.ndarray:
    return np.frombuffer(text.encode(), dtype=np.uint8)


# Basenji's own examples (reference §7)


def test_basenji_reverse_complement_examples():
    assert dna.reverse_complement("GATTACA") == "TGTAATC"
    assert dna.reverse_complement("TAGATAC") == "GTATCTA"
    assert dna.reverse_complement(dna.reverse_complement("GATTACA")) == "GATTACA"


def test_basenji_shift_examples():
    assert dna.shift_sequence("GATTACA", 1) == "NGATTAC"
    assert dna.shift_sequence("GATTACA", -1) == "ATTACAN"
    # shift applied before the reverse complement
    assert dna.reverse_complement(dna.shift_sequence("GATTACA", 1)) == "GTAATCN"
    assert dna.reverse_complement(dna.shift_sequence("GATTACA", -1)) == "NTGTAAT"


# one-hot


def test_one_hot_every_byte_matches_lookup_table():
    codes = np.arange(256, dtype=np.uint8)
    np.testing.assert_array_equal(dna.one_hot(codes, dtype=np.uint8), ref.one_hot(codes))
    assert dna.one_hot(codes, dtype=np.uint8).dtype == np.uint8
    np.testing.assert_array_equal(dna.one_hot(codes, dtype=np.float32), ref.one_hot(codes))
    np.testing.assert_array_equal(
        dna.one_hot(codes, dtype=np.float32, n_value=0.25), ref.one_hot(codes, 0.25)
    )


@pytest.mark.parametrize("length", [0, 1, 7, 65_536 * 2 + 3])
def test_one_hot_random_lengths(rng, length):
    codes = rng.choice(np.frombuffer(b"ACGTNacgtRX-", np.uint8), size=length)
    np.testing.assert_array_equal(dna.one_hot(codes), ref.one_hot(codes))
    np.testing.assert_array_equal(dna.one_hot(codes, dtype=np.uint8), ref.one_hot(codes))


def test_one_hot_is_float32_by_default_and_feeds_a_model_as_it_comes():
    import torch

    codes = np.frombuffer(b"ACGTN" * 4, np.uint8)[None]
    x = torch.from_numpy(dna.one_hot(codes))  # (1, 20, 4)
    assert x.dtype == torch.float32
    conv = torch.nn.Conv1d(4, 2, 3)
    expected = torch.from_numpy(ref.one_hot(codes).astype(np.float32))
    torch.testing.assert_close(conv(x.mT), conv(expected.mT))


def test_one_hot_all_n_and_empty():
    assert dna.one_hot("NNNN").sum() == 0
    np.testing.assert_array_equal(
        dna.one_hot("NN", dtype=np.float32, n_value=0.25), np.full((2, 4), 0.25)
    )
    assert dna.one_hot("").shape == (0, 4)
    assert dna.one_hot(b"").dtype == np.float32


def test_one_hot_batch_and_out_buffer(rng):
    codes = rng.choice(np.frombuffer(b"ACGTN", np.uint8), size=(3, 50))
    out = np.full((3, 50, 4), 7, dtype=np.float32)
    result = dna.one_hot(codes, out=out)
    assert result is out
    np.testing.assert_array_equal(out, ref.one_hot(codes))


def test_one_hot_rejects_bad_requests():
    with pytest.raises(ValueError, match=r"uint8 one-hot cannot hold 0\.25"):
        dna.one_hot("ACGT", dtype=np.uint8, n_value=0.25)
    with pytest.raises(ValueError, match="shape"):
        dna.one_hot("ACGT", out=np.zeros((3, 4), np.uint8))
    with pytest.raises(TypeError, match="uint8 or float32"):
        dna.one_hot("ACGT", dtype=np.int64)
    # before: a Fortran-order out got C-order values (scrambled), a read-only one a panic
    fortran = np.asfortranarray(np.zeros((7, 4), np.float32))
    with pytest.raises(ValueError, match="writeable C-contiguous"):
        dna.one_hot("ACGTNac", out=fortran)
    frozen = np.zeros((4, 4), np.uint8)
    frozen.flags.writeable = False
    with pytest.raises(ValueError, match="writeable C-contiguous"):
        dna.one_hot("ACGT", dtype=np.uint8, out=frozen)
    with pytest.raises(TypeError, match="uint8"):
        dna.one_hot(np.array([65, 67], dtype=np.int32))
    with pytest.raises(ValueError, match="n_value"):
        dna.one_hot("A", dtype=np.float32, n_value=0.5)


def test_one_hot_accepts_non_contiguous_codes(rng):
    codes = rng.choice(np.frombuffer(b"ACGT", np.uint8), size=(4, 20))[:, ::2]
    np.testing.assert_array_equal(dna.one_hot(codes), ref.one_hot(codes))


# reverse complement


@given(any_bytes)
def test_reverse_complement_is_an_involution(seq):
    assert dna.reverse_complement(dna.reverse_complement(seq)) == seq


@given(dna_text)
def test_reverse_complement_matches_reference(text):
    expect = ref.reverse_complement(codes_of(text)).tobytes().decode()
    assert dna.reverse_complement(text) == expect


def test_reverse_complement_batch_rows(rng):
    codes = rng.choice(np.frombuffer(b"ACGTNacgt", np.uint8), size=(5, 33))
    np.testing.assert_array_equal(dna.reverse_complement(codes), ref.reverse_complement(codes))
    assert dna.reverse_complement(np.zeros((0,), np.uint8)).shape == (0,)


@given(dna_text)
def test_one_hot_reverse_complement_commutes(text):
    x = dna.one_hot(text, dtype=np.float32)
    expect = dna.one_hot(dna.reverse_complement(text), dtype=np.float32)
    np.testing.assert_array_equal(dna.reverse_complement_one_hot(x), expect)


@pytest.mark.parametrize("dtype", [np.uint8, np.float16, np.float32, np.float64, bool])
def test_reverse_complement_one_hot_any_dtype(rng, dtype):
    x = dna.one_hot(rng.choice(np.frombuffer(b"ACGTN", np.uint8), size=(2, 40))).astype(dtype)
    np.testing.assert_array_equal(dna.reverse_complement_one_hot(x), x[:, ::-1, ::-1])


# reversal of binned targets


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.uint8])
def test_reverse_bins_matches_numpy(rng, dtype):
    targets = rng.gamma(1.0, 3.0, size=(3, 17, 5)).astype(dtype)
    np.testing.assert_array_equal(dna.reverse_bins(targets), targets[:, ::-1, :])
    np.testing.assert_array_equal(dna.reverse_bins(targets[0]), targets[0, ::-1])


def test_reverse_bins_rejects_vectors():
    with pytest.raises(ValueError, match="bins, tracks"):
        dna.reverse_bins(np.zeros(5))


# shifts


@given(dna_text, st.integers(-3, 3))
def test_shift_sequence_matches_reference(text, s):
    codes = codes_of(text)
    if codes.size == 0:
        assert dna.shift_sequence(text, s) == ""
        return
    expect = ref.shift(codes, s, np.uint8(ord("N")), axis=0).tobytes().decode()
    assert dna.shift_sequence(text, s) == expect


@pytest.mark.parametrize("s", [-3, -1, 0, 2, 3, 400])
@pytest.mark.parametrize("pad", [0.0, 0.25])
def test_shift_one_hot_matches_reference(rng, s, pad):
    x = dna.one_hot(rng.choice(np.frombuffer(b"ACGTN", np.uint8), size=(4, 100)), dtype=np.float32)
    expect = ref.shift(x, s, np.full(4, pad, np.float32), axis=1)
    np.testing.assert_array_equal(dna.shift_one_hot(x, s, pad_value=pad), expect)


def test_shift_batch_of_codes(rng):
    codes = rng.choice(np.frombuffer(b"ACGT", np.uint8), size=(3, 10))
    np.testing.assert_array_equal(
        dna.shift_sequence(codes, -2), ref.shift(codes, -2, np.uint8(ord("N")), axis=1)
    )


def test_real_window_round_trips(data_dir):
    from crossreg.genome import Genome

    genome = Genome(data_dir / "basenji" / "gata4.fa")
    (name,) = genome.names
    seq = genome.fetch(name, 0, genome.sizes[name])
    assert len(seq) == 131_072
    x = dna.one_hot(seq)
    assert x.sum() == sum(seq.upper().count(b) for b in (b"A", b"C", b"G", b"T"))
    rc = dna.reverse_complement_one_hot(x)
    np.testing.assert_array_equal(dna.reverse_complement_one_hot(rc), x)
    np.testing.assert_array_equal(rc, dna.one_hot(dna.reverse_complement(seq)))


def test_edge_shapes_and_pads_give_documented_results():
    # before: a 0-d array became 1-d, zero tracks stopped the Rust core, and a uint8
    # shift silently padded 0.25 as 0
    assert dna.one_hot(np.array(ord("C"), np.uint8)).tolist() == [0, 1, 0, 0]
    with pytest.raises(ValueError, match="at least one axis"):
        dna.reverse_complement(np.array(ord("C"), np.uint8))
    assert dna.reverse_bins(np.zeros((2, 5, 0), np.float16)).shape == (2, 5, 0)
    with pytest.raises(ValueError, match=r"uint8 one-hot cannot hold 0\.25"):
        dna.shift_one_hot(np.zeros((5, 4), np.uint8), 1, pad_value=0.25)
    assert (
        dna.shift_one_hot(np.zeros((5, 4), np.float32), 1, pad_value=0.25)[0].tolist() == [0.25] * 4
    )


def test_a_shift_that_is_not_a_whole_number_is_refused():
    # before: 1.5 and 1.7 were truncated to a shift of 1
    x = dna.one_hot("GATTACA")
    for shift in (1.5, 1.7, np.float64(2.0)):
        with pytest.raises(TypeError, match="shift must be a whole number of positions"):
            dna.shift_one_hot(x, shift)
        with pytest.raises(TypeError, match="shift must be a whole number of positions"):
            dna.shift_sequence("GATTACA", shift)
    assert dna.shift_sequence("GATTACA", np.int64(1)) == "NGATTAC"
    np.testing.assert_array_equal(dna.shift_one_hot(x, np.int32(-1)), dna.shift_one_hot(x, -1))


@pytest.mark.parametrize(("bins", "tracks"), [(3, 1), (3, 0), (0, 2)])
def test_batch_augmentation_transforms_sequences_whatever_the_target_shape(bins, tracks):
    # before: without targets (no tracks or no bins) no sequence was shifted or flipped
    texts, flips, shifts = ["GATTACA", "GATTACA", "CCGTAAN"], [True, False, True], [1, -1, 0]
    seqs = np.stack([codes_of(t) for t in texts])
    targets = np.arange(3 * bins * tracks, dtype=np.uint16).reshape(3, bins, tracks)
    expect_targets = np.where(np.array(flips)[:, None, None], targets[:, ::-1], targets)
    _native.augment_batch(seqs, targets, np.array(flips), np.array(shifts, np.int64))
    expect = [
        dna.reverse_complement(dna.shift_sequence(t, s)) if f else dna.shift_sequence(t, s)
        for t, f, s in zip(texts, flips, shifts, strict=True)
    ]
    assert [row.tobytes().decode() for row in seqs] == expect
    np.testing.assert_array_equal(targets, expect_targets)


def test_batch_augmentation_reverses_targets_of_empty_sequences():
    targets = np.arange(6, dtype=np.uint16).reshape(2, 3, 1)
    seqs = np.zeros((2, 0), np.uint8)
    _native.augment_batch(seqs, targets, np.array([True, False]), np.zeros(2, np.int64))
    np.testing.assert_array_equal(targets[:, :, 0], [[2, 1, 0], [3, 4, 5]])


def test_blocks_whose_size_overflows_64_bits_are_refused():
    """(2^63 + 4) rows of 2 values: the block size wrapped around to 8 values, and reversing
    or shifting an 8-value array by such blocks overran it (a PanicException)."""
    rows = 2**63 + 4
    data = np.arange(8, dtype=np.uint8)
    with pytest.raises(ValueError, match="cannot be cut into blocks"):
        _native.reverse_rows(data, rows, 2)
    with pytest.raises(ValueError, match="cannot be cut into blocks"):
        _native.shift_rows(data, np.empty_like(data), np.zeros(2, np.uint8), rows, 2, 1)
    np.testing.assert_array_equal(data, np.arange(8))


def test_shift_rows_names_the_argument_whose_dtype_differs():
    # before: "TypeError: 'ndarray' object is not an instance of 'ndarray'"
    src = np.arange(4, dtype=np.uint8)
    with pytest.raises(TypeError, match="dst must be a uint8 array like src"):
        _native.shift_rows(src, np.empty(4, np.uint16), np.zeros(1, np.uint8), 4, 1, 1)
    with pytest.raises(TypeError, match="pad must be a uint8 array like src"):
        _native.shift_rows(src, np.empty_like(src), np.zeros(1, np.uint16), 4, 1, 1)


def test_the_array_transforms_take_what_numpy_converts(rng):
    # before: a torch tensor failed with "Cannot interpret 'torch.float32' as a data type"
    import torch

    x = dna.one_hot(rng.choice(np.frombuffer(b"ACGT", np.uint8), size=(2, 9)))
    targets = rng.normal(size=(2, 5, 3)).astype(np.float32)
    for transform, array in (
        (dna.reverse_complement_one_hot, x),
        (lambda a: dna.shift_one_hot(a, 2), x),
        (dna.reverse_bins, targets),
    ):
        expected = transform(array)
        for other in (torch.from_numpy(array), array.tolist()):
            got = transform(other)
            assert isinstance(got, np.ndarray)
            np.testing.assert_array_equal(got.astype(expected.dtype), expected)
