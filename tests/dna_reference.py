"""Plain numpy reference implementations of crossreg.dna, used by the tests (and, for its
baselines, by ``benches/bench_dna.py``)."""

from __future__ import annotations

import numpy as np

ONE_HOT_TABLE = np.zeros((256, 4), dtype=np.float32)
for channel, (upper, lower) in enumerate([("A", "a"), ("C", "c"), ("G", "g"), ("T", "t")]):
    ONE_HOT_TABLE[ord(upper), channel] = 1
    ONE_HOT_TABLE[ord(lower), channel] = 1

COMPLEMENT = np.arange(256, dtype=np.uint8)
for a, b in [("A", "T"), ("C", "G"), ("R", "Y"), ("K", "M"), ("B", "V"), ("D", "H")]:
    for x, y in [(a, b), (a.lower(), b.lower())]:
        COMPLEMENT[ord(x)], COMPLEMENT[ord(y)] = ord(y), ord(x)


def one_hot(codes: np.ndarray, n_value: float = 0.0) -> np.ndarray:
    """Lookup-table one-hot, float32, with `n_value` in every channel for non-ACGT."""
    table = ONE_HOT_TABLE.copy()
    table[table.sum(axis=1) == 0] = n_value
    return table[codes]


def reverse_complement(codes: np.ndarray) -> np.ndarray:
    """Complement lookup, then reverse along the last axis."""
    return COMPLEMENT[codes][..., ::-1]


def shift(x: np.ndarray, s: int, pad: np.ndarray, axis: int) -> np.ndarray:
    """Basenji shift along `axis`: +s moves content to higher indices, `pad` fills."""
    x = np.moveaxis(x, axis, 0)
    out = np.empty_like(x)
    n = x.shape[0]
    k = min(abs(s), n)
    out[...] = pad
    if s >= 0:
        out[k:] = x[: n - k]
    else:
        out[: n - k] = x[k:]
    return np.moveaxis(out, 0, axis)
