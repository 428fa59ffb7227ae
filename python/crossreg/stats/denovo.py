"""Case/control tests of de novo variants' predicted effects.

Input: one SAD row per variant (tracks as columns) and, for each variant, its group (case
or control) and the individual carrying it. Three views, each answering whether the cases'
variants change predicted regulation differently from the controls':

* per track, a two-sided Mann–Whitney U test of case vs control SAD, with
  Benjamini–Hochberg q-values over tracks and the AUC ``U / (n_case · n_control)``
  (above 0.5: case variants score higher);
* per principal component of the variants' standardised SAD (tracks centred and scaled by
  the controls), the same test on the variants' PC scores;
* per individual, a risk score: the sum over their variants of the SAD projected on the
  case − control direction, that direction learned on the other folds of individuals
  (k-fold cross-validation, so no individual scores itself), with its AUC and test.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy import stats

from crossreg.progress import track

CASE, CONTROL = "case", "control"
GRAM_ROWS = 4096  # rows of the scores centred at a time for the principal components


def benjamini_hochberg(p: npt.ArrayLike) -> npt.NDArray[np.float64]:
    """Benjamini–Hochberg q-values of `p` (NaN stays NaN), in input order."""
    p = np.asarray(p, dtype=np.float64)
    q = np.full_like(p, np.nan)
    ok = ~np.isnan(p)
    values = p[ok]
    n = values.size
    if n == 0:
        return q
    order = np.argsort(values)
    ranked = values[order] * n / np.arange(1, n + 1)
    ranked = np.minimum.accumulate(ranked[::-1])[::-1]
    out = np.empty(n)
    out[order] = np.minimum(ranked, 1.0)
    q[ok] = out
    return q


@dataclass(frozen=True)
class GroupTest:
    """Mann–Whitney U of one score between case and control variants (or individuals)."""

    n_case: int
    n_control: int
    median_case: float
    median_control: float
    auc: float
    p: float


def mann_whitney(case: npt.ArrayLike, control: npt.ArrayLike) -> GroupTest:
    """Two-sided Mann–Whitney U test (ties corrected, asymptotic) of `case` vs `control`."""
    a, b = np.asarray(case, np.float64), np.asarray(control, np.float64)
    if a.size == 0 or b.size == 0:
        raise ValueError(f"both groups need values (cases {a.size}, controls {b.size})")
    u, p = stats.mannwhitneyu(a, b, alternative="two-sided", method="asymptotic")
    return GroupTest(
        a.size,
        b.size,
        float(np.median(a)),
        float(np.median(b)),
        float(u) / (a.size * b.size),
        float(p),
    )


def track_tests(sad: npt.NDArray, is_case: npt.NDArray[np.bool_]) -> list[GroupTest]:
    """:func:`mann_whitney` of each track (column of `sad`)."""
    tracks = track(range(sad.shape[1]), "case/control tests", "tracks")
    return [mann_whitney(sad[is_case, t], sad[~is_case, t]) for t in tracks]


def standardise(sad: npt.NDArray, reference: npt.NDArray[np.bool_]) -> npt.NDArray[np.float64]:
    """Centre and scale each track by the mean and sd of the `reference` rows (constant
    tracks scale by 1)."""
    ref = sad[reference].astype(np.float64)
    sd = ref.std(axis=0)
    return (sad - ref.mean(axis=0)) / np.where(sd > 0, sd, 1.0)


@dataclass(frozen=True)
class Components:
    """Principal components of standardised SAD: scores (variants × k), loadings
    (tracks × k) and the share of variance each explains."""

    scores: npt.NDArray[np.float64]
    loadings: npt.NDArray[np.float64]
    explained: npt.NDArray[np.float64]


def principal_components(z: npt.NDArray[np.float64], k: int) -> Components:
    """The top `k` principal components of the rows of `z` (centred here), signs fixed so
    each loading's largest entry is positive; at most the centred matrix's rank of them
    (numpy's ``matrix_rank`` tolerance on its Gram matrix), since a component past it is
    rounding noise. They come from the top eigenvectors of the Gram matrix of the
    smaller side (tracks × tracks, or variants × variants when there are fewer variants),
    centred :data:`GRAM_ROWS` rows at a time, not an SVD of the whole matrix: hundreds of
    thousands of de novo variants on 5,313 tracks would take an SVD hours and copies of
    the matrix more memory."""
    from scipy.linalg import eigh

    n, t = z.shape
    mean = z.mean(axis=0) if n else np.zeros(t)
    by_track = t <= n
    if by_track:  # centred a block of rows at a time
        gram = np.zeros((t, t))
        for start in range(0, n, GRAM_ROWS):
            block = z[start : start + GRAM_ROWS] - mean
            gram += block.T @ block
    else:  # fewer variants than tracks: the centred copy is small
        centred = z - mean
        gram = centred @ centred.T
    size = len(gram)
    total = float(np.trace(gram))
    if size == 0 or not total > 0:
        return Components(np.zeros((n, 0)), np.zeros((t, 0)), np.zeros(0))
    k = min(k, size)
    values, vectors = eigh(gram, subset_by_index=[size - k, size - 1])
    values, vectors = values[::-1], vectors[:, ::-1]
    k = int((values > values[0] * max(n, t) * np.finfo(np.float64).eps).sum())
    values, vectors = values[:k], vectors[:, :k]
    if by_track:
        loadings = vectors
    else:  # the variants' side: loadings are centredᵀ u / s, normalised
        loadings = centred.T @ vectors
        loadings /= np.linalg.norm(loadings, axis=0)
    flip = np.sign(loadings[np.abs(loadings).argmax(axis=0), np.arange(k)])
    loadings = loadings * np.where(flip == 0, 1.0, flip)
    return Components(z @ loadings - mean @ loadings, loadings, values / total)


@dataclass(frozen=True)
class RiskScores:
    """Out-of-fold risk score per individual, with its fold and group."""

    individuals: list[str]
    is_case: npt.NDArray[np.bool_]
    scores: npt.NDArray[np.float64]
    folds: npt.NDArray[np.int64]


def check_fold_groups(folds: int, cases: int, controls: int) -> None:
    """Stop unless every one of `folds` folds can hold a case and a control person."""
    if min(cases, controls) < folds:
        raise ValueError(
            f"{folds}-fold risk scores need at least {folds} cases and {folds} controls; "
            f"there are {cases} cases and {controls} controls (lower --folds)"
        )


def risk_scores(
    sad: npt.NDArray,
    individual: list[str],
    is_case: npt.NDArray[np.bool_],
    *,
    folds: int = 5,
    seed: int = 0,
) -> RiskScores:
    """Each individual's sum of variant scores ``z · w``, out of fold: for each fold of
    individuals (drawn within cases and within controls), SAD is standardised by the mean
    and sd of the other folds' control variants (:func:`standardise`) and ``w`` (unit
    length) is the mean of the other folds' case variants minus that of their control
    variants, so nothing of a held-out individual enters its score's making."""
    names = sorted(set(individual))
    index = {name: i for i, name in enumerate(names)}
    owner = np.array([index[name] for name in individual])
    group = np.zeros(len(names), dtype=bool)
    group[owner[is_case]] = True
    mixed = sorted({names[i] for i in owner[group[owner] != is_case]})
    if mixed:
        raise ValueError(
            f"an individual carries both case and control variants: {', '.join(mixed[:5])}"
        )
    if folds < 2:
        raise ValueError(f"the risk scores need at least 2 folds, got {folds}")
    check_fold_groups(folds, int(group.sum()), int((~group).sum()))
    rng = np.random.default_rng(seed)
    fold_of = np.empty(len(names), dtype=np.int64)
    for members in (np.flatnonzero(group), np.flatnonzero(~group)):
        fold_of[rng.permutation(members)] = np.arange(members.size) % folds
    scores = np.zeros(len(names))
    for fold in range(folds):
        train = fold_of[owner] != fold
        z = standardise(sad, train & ~is_case)
        direction = z[train & is_case].mean(axis=0) - z[train & ~is_case].mean(axis=0)
        norm = np.linalg.norm(direction)
        variant_score = z @ (direction / norm if norm > 0 else direction)
        held = ~train
        np.add.at(scores, owner[held], variant_score[held])
    return RiskScores(names, group, scores, fold_of)
