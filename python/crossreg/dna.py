"""DNA operations on byte sequences and one-hot arrays, computed by the native core.

Sequences are ``str``, ``bytes`` or uint8 arrays of ASCII codes whose last axis is the
position (a batch is ``(n, L)``). One-hot arrays have shape ``(..., L, 4)`` in A, C, G, T
channel order. Shifts follow Basenji: ``+1`` moves the sequence one position towards
higher indices (``GATTACA`` → ``NGATTAC``); they are whole numbers (a float shift is a
TypeError).
"""

from __future__ import annotations

from typing import TypeVar, overload

import numpy as np
import numpy.typing as npt

from crossreg import _native

SequenceLike = str | bytes | bytearray | memoryview | npt.NDArray[np.uint8]
S = TypeVar("S", str, bytes)

_UINT_OF_SIZE = {1: np.uint8, 2: np.uint16, 4: np.uint32, 8: np.uint64}


def as_codes(seq: SequenceLike) -> npt.NDArray[np.uint8]:
    """View `seq` as a C-contiguous uint8 array of ASCII codes (no copy for bytes/arrays)."""
    if isinstance(seq, str):
        seq = seq.encode("ascii")
    if isinstance(seq, (bytes, bytearray, memoryview)):
        return np.frombuffer(seq, dtype=np.uint8)
    arr = np.asarray(seq)
    if arr.dtype != np.uint8:
        raise TypeError(f"sequence codes must be uint8 (ASCII), got dtype {arr.dtype}")
    return np.require(arr, requirements="C")  # keeps a 0-d array 0-d


def one_hot(
    seq: SequenceLike,
    *,
    dtype: npt.DTypeLike = np.float32,
    n_value: float = 0.0,
    out: npt.NDArray | None = None,
) -> npt.NDArray:
    """One-hot encode `seq` to shape ``seq.shape + (4,)`` in A, C, G, T order.

    float32 by default, ready for a model (``torch.from_numpy(one_hot(seq))``); pass
    ``dtype=np.uint8`` for a quarter of the memory (and convert on the device). Lowercase
    bases encode like uppercase. Any other byte (N, IUPAC codes) becomes all zeros, or
    ``n_value`` in every channel when it is 0.25 (float32 only). Writes into `out` when
    given (uint8 or float32, C-contiguous, of the right shape; `dtype` is then `out`'s).

    >>> one_hot("ACN")
    array([[1., 0., 0., 0.],
           [0., 1., 0., 0.],
           [0., 0., 0., 0.]], dtype=float32)
    """
    codes = as_codes(seq)
    if n_value not in (0.0, 0.25):
        raise ValueError(f"n_value must be 0.0 or 0.25, got {n_value}")
    shape = (*codes.shape, 4)
    if out is None:
        out = np.empty(shape, dtype=np.dtype(dtype))
    elif out.shape != shape:
        raise ValueError(f"out has shape {out.shape}; one-hot of this input needs {shape}")
    elif not (out.flags.c_contiguous and out.flags.writeable):
        raise ValueError("out must be a writeable C-contiguous array (np.empty(shape, dtype))")
    if out.dtype == np.uint8:
        if n_value != 0.0:
            raise ValueError("uint8 one-hot cannot hold 0.25; use dtype=np.float32")
        _native.one_hot_u8(codes, out)
    elif out.dtype == np.float32:
        _native.one_hot_f32(codes, out, n_value == 0.25)
    else:
        raise TypeError(f"one-hot output must be uint8 or float32, got {out.dtype}")
    return out


@overload
def reverse_complement(seq: S) -> S: ...
@overload
def reverse_complement(seq: npt.NDArray[np.uint8]) -> npt.NDArray[np.uint8]: ...
def reverse_complement(seq: S | npt.NDArray[np.uint8]) -> S | npt.NDArray[np.uint8]:
    """Reverse complement of a sequence (IUPAC-aware, case kept): a str for a str, bytes
    for bytes-like input, a uint8 array for an array.

    A 2-D code array is treated as a batch: each row is reverse complemented.
    """
    codes = as_codes(seq).copy()
    if codes.ndim == 0:
        raise ValueError("a sequence array needs at least one axis")
    _native.reverse_complement_blocks(codes, codes.shape[-1] if codes.size else 0)
    if isinstance(seq, str):
        return codes.tobytes().decode("ascii")
    if isinstance(seq, (bytes, bytearray, memoryview)):
        return codes.tobytes()
    return codes


def _as_uint_view(arr: npt.NDArray) -> npt.NDArray:
    """A C-contiguous copy of `arr` viewed as the unsigned integer of the same width."""
    arr = np.array(arr, order="C", copy=True)
    uint = _UINT_OF_SIZE.get(arr.dtype.itemsize)
    if uint is None:
        raise TypeError(f"unsupported dtype {arr.dtype} ({arr.dtype.itemsize}-byte items)")
    return arr.view(uint)


def reverse_complement_one_hot(x: npt.ArrayLike) -> npt.NDArray:
    """Reverse complement of one-hot array(s) ``(..., L, 4)``: positions reversed, A↔T, C↔G
    (a numpy array, from anything numpy converts: a CPU tensor too)."""
    x = np.asarray(x)
    if x.ndim < 2 or x.shape[-1] != 4:
        raise ValueError(f"one-hot arrays have shape (..., L, 4), got {x.shape}")
    view = _as_uint_view(x)
    _native.reverse_rows(view, x.shape[-2] * 4, 1)
    return view.view(x.dtype)


def reverse_bins(targets: npt.ArrayLike) -> npt.NDArray:
    """Reverse binned targets ``(..., bins, tracks)`` along the bin axis (any dtype; a
    numpy array, from anything numpy converts)."""
    targets = np.asarray(targets)
    if targets.ndim < 2:
        raise ValueError(f"binned targets have shape (..., bins, tracks), got {targets.shape}")
    if targets.size == 0:
        return targets.copy()
    view = _as_uint_view(targets)
    _native.reverse_rows(view, targets.shape[-2], targets.shape[-1])
    return view.view(targets.dtype)


def _shift(arr: npt.NDArray, rows: int, row_len: int, shift: int, pad: npt.NDArray) -> npt.NDArray:
    if not isinstance(shift, int | np.integer):  # a float such as 1.5 is no number of positions
        raise TypeError(f"shift must be a whole number of positions, got {shift!r}")
    src = _as_uint_view(arr)
    dst = np.empty_like(src)
    pad_view = np.ascontiguousarray(pad, dtype=arr.dtype).view(src.dtype)
    _native.shift_rows(src, dst, pad_view, rows, row_len, int(shift))
    return dst.view(arr.dtype)


def shift_sequence(seq: S | npt.NDArray[np.uint8], shift: int) -> S | npt.NDArray[np.uint8]:
    """Shift a sequence (or each row of a code batch) by `shift` positions, padding with N
    (a str for a str, bytes for bytes-like input, a uint8 array for an array)."""
    codes = as_codes(seq)
    if codes.ndim == 0:
        raise ValueError("a sequence array needs at least one axis")
    shifted = _shift(codes, codes.shape[-1], 1, shift, np.array([ord("N")], np.uint8))
    if isinstance(seq, str):
        return shifted.tobytes().decode("ascii")
    if isinstance(seq, (bytes, bytearray, memoryview)):
        return shifted.tobytes()
    return shifted


def shift_one_hot(x: npt.ArrayLike, shift: int, *, pad_value: float = 0.0) -> npt.NDArray:
    """Shift one-hot array(s) ``(..., L, 4)`` along L; vacated rows hold `pad_value` (a
    numpy array, from anything numpy converts: a CPU tensor too).

    Basenji pads with 0 today (0.25 in its 2020 code).
    """
    x = np.asarray(x)
    if x.ndim < 2 or x.shape[-1] != 4:
        raise ValueError(f"one-hot arrays have shape (..., L, 4), got {x.shape}")
    if np.issubdtype(x.dtype, np.integer) and pad_value != int(pad_value):
        raise ValueError(f"{x.dtype} one-hot cannot hold {pad_value}; use float32 arrays")
    return _shift(x, x.shape[-2], 4, shift, np.full(4, pad_value, dtype=x.dtype))
