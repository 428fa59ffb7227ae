"""The SLDP regression (§5): per-block numerators and the needed denominator entries,
chunks of consecutive blocks, the joint estimate μ̂, residualised chunk statistics,
sign-flip and analytic p-values, the jackknife SE and the derived quantities.

Only these denominator entries are formed, never the full A × A matrix: D[k,k] for every
marginal k, D[k,B] and D[B,B] for the background set B (background columns first)."""

from __future__ import annotations

import contextlib
import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import cast

import numpy as np
import numpy.typing as npt
import scipy.stats as st

from crossreg.progress import Progress
from crossreg.stats.sldp.weights import BlockWeights

SCALE = 1e6  # the reference's cosmetic 1e-6 factor (visible in chunk q and r)
FLIP_BATCH = 100_000  # the reference's sign-flip batch (rows of C draws)
FLIP_STOP = 0.01  # stop flipping once p reaches this
FLIP_CELLS = 1 << 22  # draws held in memory at once (a batch is drawn in pieces)


@dataclass
class BlockStats:
    """One block's (or chunk's, or the genome's) numerator (b + A) and denominator parts:
    ``dkk`` (A), ``dkb`` (A × b), ``dbb`` (b × b)."""

    numerator: npt.NDArray[np.float64]
    dkk: npt.NDArray[np.float64]
    dkb: npt.NDArray[np.float64]
    dbb: npt.NDArray[np.float64]

    def __add__(self, other: BlockStats) -> BlockStats:
        return BlockStats(
            self.numerator + other.numerator,
            self.dkk + other.dkk,
            self.dkb + other.dkb,
            self.dbb + other.dbb,
        )

    def __sub__(self, other: BlockStats) -> BlockStats:
        return BlockStats(
            self.numerator - other.numerator,
            self.dkk - other.dkk,
            self.dkb - other.dkb,
            self.dbb - other.dbb,
        )


def block_stats(
    weights: BlockWeights, profiles: npt.NDArray[np.float64], n_background: int
) -> BlockStats:
    """Pᵀ(W⁻¹α̂)/1e6 and the needed entries of Pᵀ W⁻¹ P/1e6, P = the typed rows of the
    profiles (background columns first). With W⁻¹ = B diag(1/c) Bᵀ and M = BᵀP the
    denominator is Mᵀ diag(1/c) M."""
    p = profiles[weights.typed]
    b = n_background
    if weights.basis is None:
        m = scaled = p
    else:
        m = weights.basis.T.dot(p)
        assert weights.divisors is not None
        scaled = m / weights.divisors[:, None]
    return BlockStats(
        p.T.dot(weights.winv_ahat) / SCALE,
        (scaled[:, b:] * m[:, b:]).sum(axis=0) / SCALE,
        scaled[:, b:].T.dot(m[:, :b]) / SCALE,
        scaled[:, :b].T.dot(m[:, :b]) / SCALE,
    )


def chunk_bounds(m_h: npt.NDArray[np.float64], n_chunks: int) -> list[tuple[int, int]]:
    """The reference's chunks over all blocks in file order: close a chunk once its typed
    SNP count exceeds max(1, T/n_chunks − avg/2), T = Σ M_H, avg = T/#(M_H > 0)."""
    total = float(m_h.sum())
    size = total / n_chunks
    average = total / float((m_h != 0).sum())
    ends, current = [0], 0
    while current < len(m_h):
        accumulated = 0.0
        while accumulated <= max(1, size - average / 2) and current < len(m_h):
            accumulated += m_h[current]
            current += 1
        ends.append(current)
    return list(itertools.pairwise(ends))


def solve_last(a: npt.NDArray[np.float64], b: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """The last element of solve(a, b) over stacked systems; NaN where singular."""
    try:
        return cast(npt.NDArray[np.float64], np.linalg.solve(a, b[..., None])[..., -1, 0])
    except np.linalg.LinAlgError:
        flat_a, flat_b = a.reshape(-1, *a.shape[-2:]), b.reshape(-1, b.shape[-1])
        out = np.full(len(flat_a), np.nan)
        for i in range(len(flat_a)):
            with contextlib.suppress(np.linalg.LinAlgError):
                out[i] = np.linalg.solve(flat_a[i], flat_b[i])[-1]
        return out.reshape(a.shape[:-2])


def joint_estimates(stats: BlockStats, n_background: int) -> npt.NDArray[np.float64]:
    """μ̂ of every marginal annotation k: the last element of solve(D[S,S], n[S]),
    S = B ∪ {k}."""
    b = n_background
    a_count = len(stats.dkk)
    system = np.empty((a_count, b + 1, b + 1))
    system[:, :b, :b] = stats.dbb
    system[:, :b, b] = stats.dkb
    system[:, b, :b] = stats.dkb
    system[:, b, b] = stats.dkk
    rhs = np.empty((a_count, b + 1))
    rhs[:, :b] = stats.numerator[:b]
    rhs[:, b] = stats.numerator[b:]
    return solve_last(system, rhs)


def residualized(
    chunks: list[BlockStats], total: BlockStats, n_background: int
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """Chunk statistics q and r (chunks × A) with the background regressed out by the
    genome-wide coefficients muy = D_BB⁻¹ n_B and mux = D_BB⁻¹ D_Bk."""
    b = n_background
    q = np.array([c.numerator[b:] for c in chunks])
    r = np.array([c.dkk for c in chunks])
    if b == 0:
        return q, r
    muy = np.linalg.solve(total.dbb, total.numerator[:b])
    mux = np.linalg.solve(total.dbb, total.dkb.T).T  # A × b
    dkb = np.array([c.dkb for c in chunks])  # C × A × b
    nb = np.array([c.numerator[:b] for c in chunks])  # C × b
    dbb = np.array([c.dbb for c in chunks])  # C × b × b
    q = q - dkb.dot(muy) - nb.dot(mux.T) + dbb.dot(muy).dot(mux.T)
    r = r - 2 * np.einsum("cab,ab->ca", dkb, mux) + np.einsum("cij,aj,ai->ca", dbb, mux, mux)
    return q, r


def sign_flip(
    q: npt.NDArray[np.float64], flips: int, rng: np.random.RandomState
) -> tuple[float, float]:
    """The reference's sign-flip p and z for score Σq: batches of 100,000 × C fair signs
    from `rng` (legacy stream), p = max(1, #|null| ≥ |score|)/draws, stop once p ≥ 0.01;
    z = score/(|score|/√χ²₁⁻¹(p)). A last batch shorter than 100,000 draws the rest (the
    reference stops with an error unless `flips` is a multiple of 100,000). A score of
    exactly 0 counts the undrawn flips as reached, as the reference does, which can take
    its p above 1; p is capped at 1. A null equal to the score but for rounding reaches
    it (the reference's float comparison can miss it: q with k nonzero terms, all of one
    sign, then got p 1/flips in place of 2^(1−k)). A score that is not a finite number
    (which checked inputs never give) has p and z NaN, never the smallest p the flips
    could give."""
    score = q.sum()
    if not np.isfinite(score):
        return math.nan, math.nan
    # a flip whose null equals the score in exact arithmetic (q's nonzero terms with their
    # own signs, or all opposite) differs from the score only by the order of additions
    # (BLAS's dot against q.sum()), at most C·ε·Σ|q| each: it reaches the score
    reach = np.abs(score) - 2 * len(q) * np.finfo(np.float64).eps * np.abs(q).sum()
    exceed, current, p = 0, 0, 1.0
    rows_per_piece = max(1, FLIP_CELLS // max(1, len(q)))
    while current < flips:
        batch = min(FLIP_BATCH, flips - current)
        for start in range(0, batch, rows_per_piece):
            # the reference's (-1)**binomial(1, 0.5): a fair binomial draw is one uniform
            # above 0.5, the same stream (tested) at a fifth of the cost, and the signs are
            # floats so that the product is BLAS's, the same sums the reference's give
            uniform = rng.random_sample((min(rows_per_piece, batch - start), len(q)))
            null = np.where(uniform > 0.5, -1.0, 1.0).dot(q)
            exceed += int((np.abs(null) >= reach).sum())
        current += batch
        unfilled = flips - current if np.abs(score) <= 0 else 0  # the reference's zeros
        p = max(1, exceed + unfilled) / float(current)
        if p >= FLIP_STOP:
            break
    p = min(p, 1.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        se = np.abs(score) / np.sqrt(st.chi2.isf(p, 1))
        return p, float(score / se)


def jackknife_se(
    estimate: npt.NDArray[np.float64], leave_one_out: npt.NDArray[np.float64]
) -> npt.NDArray[np.float64]:
    """Delete-one jackknife SE with equal chunk weights (chunks × A leave-one-out μ̂)."""
    g = len(leave_one_out)
    h = float(g)
    theta_j = g * estimate - ((h - 1) / h * leave_one_out).sum(axis=0)
    tau = estimate * h - (h - 1) * leave_one_out
    return np.sqrt(np.mean((tau - theta_j) ** 2 / (h - 1), axis=0))


@dataclass(frozen=True)
class Results:
    """Per marginal annotation: the reported columns, and the chunk q and r."""

    z: npt.NDArray[np.float64]
    p: npt.NDArray[np.float64]
    z_fast: npt.NDArray[np.float64]
    p_fast: npt.NDArray[np.float64]
    mu: npt.NDArray[np.float64]
    se: npt.NDArray[np.float64]
    q: npt.NDArray[np.float64]
    r: npt.NDArray[np.float64]


def check_background(stats: BlockStats, names: Sequence[str], where: str = "") -> None:
    """Stop, naming them, when background annotations `names` (D_BB's columns) are 0 at
    every typed print SNP or collinear over `stats`, so that the background cannot be
    regressed out (`where` says which chunks those are)."""
    if not names:
        return
    empty = [name for i, name in enumerate(names) if not stats.dbb[i, i] > 0]
    if empty:
        raise ValueError(
            f"background annotation(s) {', '.join(empty)} have no signed LD profile at the "
            f"typed print SNPs{where}, so they cannot be regressed out; drop them from the "
            "background"
        )
    if np.linalg.matrix_rank(stats.dbb) < len(names):
        kept: list[int] = []  # the first columns that add to the rank; the next one does not
        redundant = names[-1]
        for i in range(len(names)):
            if np.linalg.matrix_rank(stats.dbb[np.ix_([*kept, i], [*kept, i])]) == len(kept):
                redundant = names[i]
                break
            kept.append(i)
        raise ValueError(
            f"the background annotations ({', '.join(names)}) are collinear{where}: "
            f"{redundant} is a combination of {', '.join(names[k] for k in kept)}, so they "
            "cannot be regressed out; drop it (the --background-gtf and --background-maf-bins "
            "ones come as a set: give the ones you need as --background-sannot-chr files)"
        )


def regress(
    chunks: list[BlockStats],
    background: Sequence[str],
    flips: int,
    seed: int,
    meter: Progress | None = None,
) -> Results:
    """Estimates, sign-flip and analytic p-values and jackknife SEs of every marginal
    annotation, in order, with the `background` annotations (the first columns) regressed
    out; one legacy RNG stream seeded by `seed` runs across them. Each annotation's sign
    flips done count one unit on `meter`."""
    n_background = len(background)
    total = chunks[0]
    for chunk in chunks[1:]:
        total = total + chunk
    check_background(total, background)
    for i, chunk in enumerate(chunks):
        check_background(
            total - chunk,
            background,
            f" once chunk {i + 1} of {len(chunks)} is left out by the jackknife (it holds "
            "all their signal)",
        )
    mu = joint_estimates(total, n_background)
    leave_one_out = np.array([joint_estimates(total - c, n_background) for c in chunks])
    q, r = residualized(chunks, total, n_background)
    rng = np.random.RandomState(seed)
    flipped_rows = []
    for k in range(q.shape[1]):
        flipped_rows.append(sign_flip(np.ascontiguousarray(q[:, k]), flips, rng))
        if meter is not None:
            meter.update()
    flipped = np.array(flipped_rows).reshape(-1, 2)
    with np.errstate(invalid="ignore", divide="ignore"):
        z_fast = q.sum(axis=0) / np.linalg.norm(q, axis=0)
    return Results(
        flipped[:, 1], flipped[:, 0], z_fast, st.chi2.sf(z_fast**2, 1), mu,
        jackknife_se(mu, leave_one_out), q, r,
    )  # fmt: skip
