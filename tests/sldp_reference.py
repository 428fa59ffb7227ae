"""A plain dense-numpy SLDP estimator, written from the method (docs: sldp.md §2-§5) with
none of crossreg's code: full block LD R = XᵀX/N, eigh for the truncated spectrum, the
dense W⁻¹ over the typed SNPs, full (b + A) × (b + A) denominators, explicit chunk sums,
the numpy global legacy RNG for sign flips and a looped jackknife."""

from __future__ import annotations

import numpy as np
import scipy.stats as st


def standardize(counts: np.ndarray) -> np.ndarray:
    """Unit standardisation (missing → 0, constant → 0), twice, as gprim does."""

    def once(x: np.ndarray) -> np.ndarray:
        out = np.zeros_like(x, dtype=float)
        for j in range(x.shape[1]):
            seen = ~np.isnan(x[:, j])
            mean = x[seen, j].mean()
            sd = np.sqrt((x[seen, j] ** 2).mean() - mean**2)
            if sd > 0:
                out[seen, j] = (x[seen, j] - mean) / sd
        return out

    return once(once(counts))


def rank(svs: np.ndarray, percent: float = 95.0) -> int:
    total, running = svs.sum(), 0.0
    for i, s in enumerate(svs):
        running += s
        if running / total >= percent / 100:
            return i
    return 0


def block_terms(x, printed, v, ahat, n, sigma2g, weights):
    """Numerator and full denominator of one block, or None when it is skipped."""
    big_r = x.T @ x / x.shape[0]
    rv = (big_r @ v)[printed]
    typed = ~np.isnan(ahat)
    if not typed.any() or not rv.any():
        return None, 0
    if weights == "Winv_ahat_I":
        w_inv = np.eye(typed.sum())
    else:
        lam, u = np.linalg.eigh(big_r[np.ix_(printed, printed)])
        lam, u = lam[::-1], u[:, ::-1]
        k = rank(lam)
        u_t = u[typed, :k]
        w_inv = u_t @ np.diag(1 / (sigma2g * lam[:k] ** 2 + lam[:k] / n[typed].mean())) @ u_t.T
    p = rv[typed]
    return (p.T @ w_inv @ ahat[typed] / 1e6, p.T @ w_inv @ p / 1e6), int(typed.sum())


def chunks_of(m_h: list[float], n_chunks: int) -> list[list[int]]:
    total = sum(m_h)
    size, avg = total / n_chunks, total / sum(1 for m in m_h if m != 0)
    out, current, i = [], [], 0
    acc = 0.0
    for i, m in enumerate(m_h):
        current.append(i)
        acc += m
        if acc > max(1, size - avg / 2):
            out.append(current)
            current, acc = [], 0.0
    if current:
        out.append(current)
    return out


def sldp(blocks, sigma2g, n_background, n_chunks, flips, seed, weights="Winv_ahat_h"):
    """`blocks`: per LD block in file order, (x, printed, v, ahat, n) or None (no print
    SNPs). Returns mu, se, z, p, z_fast, p_fast and the chunk q, r (chunks × A)."""
    terms, m_h = [], []
    for block in blocks:
        t, m = (None, 0) if block is None else block_terms(*block, sigma2g, weights)
        terms.append(t)
        m_h.append(m)
    chunk_n, chunk_d = [], []
    for members in chunks_of(m_h, n_chunks):
        used = [terms[i] for i in members if terms[i] is not None]
        if used:
            chunk_n.append(sum(t[0] for t in used))
            chunk_d.append(sum(t[1] for t in used))
    b = n_background
    n_all, d_all = sum(chunk_n), sum(chunk_d)
    n_annot = len(n_all) - b
    out = {key: np.zeros(n_annot) for key in ("mu", "se", "z", "p", "z_fast", "p_fast")}
    out["q"] = np.zeros((len(chunk_n), n_annot))
    out["r"] = np.zeros((len(chunk_n), n_annot))
    np.random.seed(seed)
    for k in range(n_annot):
        s = [*range(b), b + k]

        def est(nn, dd, s=s):
            return np.linalg.solve(dd[np.ix_(s, s)], nn[s])[-1]

        mu = est(n_all, d_all)
        loo = np.array(
            [est(n_all - nc, d_all - dc) for nc, dc in zip(chunk_n, chunk_d, strict=True)]
        )
        c = len(loo)
        theta_j = c * mu - (c - 1) / c * loo.sum()
        tau = c * mu - (c - 1) * loo
        out["se"][k] = np.sqrt(np.mean((tau - theta_j) ** 2 / (c - 1)))
        out["mu"][k] = mu
        mux = np.linalg.solve(d_all[:b, :b], d_all[:b, b + k]) if b else np.zeros(0)
        muy = np.linalg.solve(d_all[:b, :b], n_all[:b]) if b else np.zeros(0)
        a_x = np.concatenate([-mux, [1.0, 0.0]])  # over (background, k, alphahat)
        a_y = np.concatenate([-muy, [0.0, 1.0]])
        for i, (nc, dc) in enumerate(zip(chunk_n, chunk_d, strict=True)):
            gram = np.zeros((b + 2, b + 2))  # inner products under W⁻¹ (alphahat·alphahat unused)
            gram[: b + 1, : b + 1] = dc[np.ix_(s, s)]
            gram[: b + 1, b + 1] = gram[b + 1, : b + 1] = nc[s]
            out["q"][i, k] = a_x @ gram @ a_y
            out["r"][i, k] = a_x @ gram @ a_x
        q = out["q"][:, k]
        score = q.sum()
        exceed, drawn = 0, 0
        while drawn < flips:
            signs = (-1) ** np.random.binomial(1, 0.5, size=(min(100_000, flips - drawn), len(q)))
            exceed += int((np.abs(signs @ q) >= abs(score)).sum())
            drawn += len(signs)
            p = max(1, exceed) / drawn
            if p >= 0.01:
                break
        out["p"][k] = p
        out["z"][k] = np.sign(score) * np.sqrt(st.chi2.isf(p, 1))
        out["z_fast"][k] = q.sum() / np.sqrt((q**2).sum())
        out["p_fast"][k] = st.chi2.sf(out["z_fast"][k] ** 2, 1)
    return out
