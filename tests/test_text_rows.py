"""Score rows as text: the native formatter writes each value as Python's ``.6g`` does."""

from __future__ import annotations

import numpy as np
import pytest

from crossreg import _native


def python_rows(prefixes: list[str], values: np.ndarray) -> bytes:
    rows = zip(prefixes, values.tolist(), strict=True)
    return "".join("\t".join([p, *(f"{x:.6g}" for x in row)]) + "\n" for p, row in rows).encode()


def test_every_magnitude_every_float16_and_special_values_are_written_as_python_writes_them():
    # a SAD .h5 holds float16: each of its values (many an exact tie at the sixth digit)
    rng = np.random.default_rng(7)
    magnitudes = 10.0 ** rng.uniform(-46, 38.5, 200_000)  # float32's range
    values = (magnitudes * rng.choice([-1.0, 1.0], magnitudes.size)).astype(np.float32)
    bits = rng.integers(0, 2**32, 100_000, dtype=np.uint64).astype(np.uint32)  # any float32
    special = [0.0, -0.0, np.nan, np.inf, -np.inf, 1e-45, 65504.0, 999999.5, 1234565.0]
    # values whose sixth significant digit is an exact tie, and near-powers of ten
    ties = [1234565.0, 1234575.0, 8388605.0, 0.5, 0.125, 9.999995, 99999.95, 1e-5, 9.99999e-5]
    halves = np.arange(2**16, dtype=np.uint32).astype(np.uint16).view(np.float16)  # every one
    every = np.concatenate(
        [
            values,
            bits.view(np.float32),
            halves.astype(np.float32),
            np.array(special + ties, np.float32),
        ]
    )
    every = every[: every.size // 8 * 8].reshape(-1, 8)
    prefixes = [f"rs{i}\tchr{i % 22 + 1}" for i in range(len(every))]
    assert _native.format_rows(prefixes, every) == python_rows(prefixes, every)


def test_prefixes_pass_through_and_rows_must_match_them():
    values = np.array([[1.5, -2e-7], [0.0, 3e8]], np.float32)
    assert _native.format_rows(["é1", "x"], values) == "é1\t1.5\t-2e-07\nx\t0\t3e+08\n".encode()
    assert _native.format_rows([], np.zeros((0, 4), np.float32)) == b""
    with pytest.raises(ValueError, match="values has 2 rows for 1 prefixes"):
        _native.format_rows(["one"], values)
