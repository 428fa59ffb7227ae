"""One LD block's work at the real panel's scale: the truncated spectra (R_oo and R2) against
the reference's own steps (an SVD of X_oᵀ, a full SVD of R2 = X_oᵀX XᵀX_o/N²) on blocks
with fewer and with more print SNPs than samples, with no decomposition larger than
samples × samples; the signed LD profiles in either multiplication order against the dense
R v; and annotation values taken for a block without converting the whole table."""

from __future__ import annotations

import tracemalloc
from typing import Any

import numpy as np
import pytest

from crossreg.stats.sldp import refpanel
from crossreg.stats.sldp.annotations import signed_ld_profiles
from crossreg.stats.sldp.plink import unit_standardize
from crossreg.stats.sldp.reconcile import Alignment
from crossreg.stats.sldp.refpanel import block_spectrum
from tests.sldp_reference import rank


def correlated_block(n: int, snps: int, seed: int) -> np.ndarray:
    """Standardised genotypes (n × snps) of haplotypes copied along the block, so that
    neighbouring SNPs are in LD; two monomorphic SNPs."""
    rng = np.random.default_rng(seed)
    switch = rng.random((2 * n, snps)) < 0.1
    switch[:, 0] = True
    source = np.maximum.accumulate(np.where(switch, np.arange(snps), 0), axis=1)
    fresh = rng.random((2 * n, snps)) < rng.uniform(0.05, 0.5, snps)
    haplotypes = np.take_along_axis(fresh, source, axis=1)
    counts = haplotypes[:n].astype(float) + haplotypes[n:]
    counts[:, [3, snps // 2]] = 1.0
    return unit_standardize(unit_standardize(counts))


def reference_spectrum(x: np.ndarray, printed: np.ndarray, percent: float) -> tuple:
    """preprocessrefpanel's steps, literally."""
    n = x.shape[0]
    x_o = x[:, printed]
    u, s, _ = np.linalg.svd(x_o.T)
    svs = s**2 / n
    k = rank(svs, percent)
    r2 = x_o.T.dot(x.dot(x.T)).dot(x_o) / n**2
    r2_u, r2_svs, _ = np.linalg.svd(r2)
    k2 = rank(r2_svs, percent)
    return u[:, :k], svs[:k], r2_u[:, :k2], r2_svs[:k2]


def same_up_to_sign(ours: np.ndarray, theirs: np.ndarray, rtol: float) -> None:
    signs = np.sign((ours * theirs).sum(axis=0))
    np.testing.assert_allclose(ours * signs, theirs, rtol=rtol, atol=rtol)


@pytest.mark.parametrize(
    ("n", "snps", "print_share"),
    [(80, 120, 0.3), (80, 120, 1.0), (40, 300, 0.5)],
    ids=["fewer-print-snps-than-samples", "more-print-snps", "many-more"],
)
@pytest.mark.parametrize("percent", [95.0, 80.0])
def test_block_spectrum_equals_the_references_svds(
    n: int, snps: int, print_share: float, percent: float
) -> None:
    x = correlated_block(n, snps, seed=snps + n)
    printed = np.random.default_rng(3).random(snps) < print_share
    printed[3] = True  # a monomorphic print SNP
    ours = block_spectrum(x, printed, percent)
    u, svs, r2_u, r2_svs = reference_spectrum(x, printed, percent)
    assert ours.u.shape == u.shape and ours.r2_u.shape == r2_u.shape
    # not views of the whole eigenvector matrices, which a chromosome's spectra would hold
    assert all(a.base is None for a in (ours.u, ours.svs, ours.r2_u, ours.r2_svs))
    assert u.shape[1] > 1 and r2_u.shape[1] >= 1
    np.testing.assert_allclose(ours.svs, svs, rtol=1e-10)
    np.testing.assert_allclose(ours.r2_svs, r2_svs, rtol=1e-10)
    same_up_to_sign(ours.u, u, 1e-8)
    same_up_to_sign(ours.r2_u, r2_u, 1e-8)
    # what the weights use: the kept projector U diag(1/λ) Uᵀ
    np.testing.assert_allclose(
        (ours.u / ours.svs).dot(ours.u.T), (u / svs).dot(u.T), rtol=1e-8, atol=1e-8
    )


def test_no_decomposition_is_larger_than_samples_by_samples(monkeypatch) -> None:
    n, snps = 30, 200
    x = correlated_block(n, snps, seed=5)
    printed = np.ones(snps, dtype=bool)
    sizes: list[tuple[int, ...]] = []
    for name in ("svd", "eigh", "eigvalsh"):
        original = getattr(np.linalg, name)

        def recorded(a: np.ndarray, *args: Any, _original: Any = original, **kwargs: Any) -> Any:
            sizes.append(a.shape)
            return _original(a, *args, **kwargs)

        monkeypatch.setattr(refpanel.np.linalg, name, recorded)
    block_spectrum(x, printed, 95.0)
    assert sizes and max(min(shape) for shape in sizes) <= n


@pytest.mark.parametrize("print_share", [0.1, 0.9])
@pytest.mark.parametrize("annotations", [1, 300])
def test_signed_ld_profiles_equal_the_dense_rv(print_share: float, annotations: int) -> None:
    # 0.1 × 400 print SNPs < 60 samples with 300 annotations: the (X_oᵀX) v order
    x = correlated_block(60, 400, seed=9)
    rng = np.random.default_rng(4)
    printed = rng.random(400) < print_share
    v = rng.laplace(size=(400, annotations))
    dense = (x.T.dot(x) / 60).dot(v)[printed]
    np.testing.assert_allclose(signed_ld_profiles(x, printed, v), dense, rtol=1e-10, atol=1e-12)


def test_a_blocks_values_convert_only_its_rows() -> None:
    rows, tracks = 200_000, 25  # a float32 table of 20 MB, 40 MB as float64
    table = np.random.default_rng(0).random((rows, tracks), dtype=np.float32)
    order = np.random.default_rng(1).permutation(rows)
    sign = np.where(np.arange(rows) % 3 == 0, -1.0, 1.0)
    alignment = Alignment(np.where(np.arange(rows) % 7 == 0, -1, order), sign, {})
    tracemalloc.start()
    got = alignment.apply(table, 0.0, slice(1000, 1100))
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 1 << 20
    expected = np.where(
        (np.arange(1000, 1100) % 7 == 0)[:, None],
        0.0,
        table[order[1000:1100]].astype(np.float64) * sign[1000:1100, None],
    )
    assert got.dtype == np.float64
    np.testing.assert_array_equal(got, expected)
