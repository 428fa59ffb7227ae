"""crossreg.signal against the formulas in numpy."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

import crossreg.signal as signal

floats = arrays(
    np.float32,
    st.integers(0, 200),
    elements=st.one_of(st.floats(-1e4, 1e6, width=32), st.just(float("nan"))),
)


def soft_clip_reference(x: np.ndarray, t: float) -> np.ndarray:
    with np.errstate(invalid="ignore"):
        return np.minimum(x, np.float32(t) + np.sqrt(np.maximum(np.float32(0), x - np.float32(t))))


@given(floats, st.sampled_from([1.0, 32.0, 384.0]))
def test_soft_clip_matches_formula(x, t):
    np.testing.assert_allclose(signal.soft_clip(x, t), soft_clip_reference(x, t), rtol=1e-6)


def test_soft_clip_known_values():
    got = signal.soft_clip([0.0, 32.0, 32.5, 36.0, 132.0, -4.0], 32)
    np.testing.assert_array_equal(got, [0.0, 32.0, 32.5, 34.0, 42.0, -4.0])


@given(floats)
def test_hard_clip_matches_numpy(x):
    np.testing.assert_array_equal(signal.hard_clip(x, 64.0), np.clip(x, 0, 64))


def test_hard_clip_needs_an_interval_to_clamp_into():
    # before: a negative bound turned every value into it (-1s out of "[0, -1]")
    for bound in (-1.0, float("nan")):
        with pytest.raises(ValueError, match="max_value must be >= 0"):
            signal.hard_clip([0.5, 3.0], bound)
    np.testing.assert_array_equal(signal.hard_clip([-2.0, 0.5, 3.0], 0.0), [0.0, 0.0, 0.0])


def test_scale_and_in_place_out(rng):
    x = rng.normal(size=(3, 1000)).astype(np.float32)
    original = x.copy()
    doubled = signal.scale(x, 2.0)
    np.testing.assert_array_equal(doubled, original * 2)
    np.testing.assert_array_equal(x, original)  # input untouched without out=
    same = signal.scale(x, 0.5, out=x)
    assert same is x
    np.testing.assert_array_equal(x, original * 0.5)


def test_large_arrays_take_the_parallel_path(rng):
    x = rng.gamma(2.0, 20.0, size=500_000).astype(np.float32)
    np.testing.assert_allclose(signal.soft_clip(x, 32), soft_clip_reference(x, 32), rtol=1e-6)


def test_out_must_be_float32_contiguous():
    with pytest.raises(ValueError, match="float32"):
        signal.scale([1.0], 2.0, out=np.zeros(1, dtype=np.float64))
    with pytest.raises(ValueError, match="shape"):
        signal.scale([1.0, 2.0], 2.0, out=np.zeros(3, dtype=np.float32))
