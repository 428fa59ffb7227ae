"""Case/control tests of de novo variants' predicted effects.

Input: one SAD row per variant (tracks as columns) and, for each variant, its group (case
or control) and the individual carrying it. Three views, each answering whether the cases'
variants change predicted regulation differently from the controls':

* per track, a two-sided Mann–Whitney U test of case vs control SAD, with
  Benjamini–Hochberg q-values over tracks and the AUC ``U / (n_case · n_control)``
  (above 0.5: case variants score higher);
* per principal component of the variants' standardised SAD (tracks centred and scaled by
  the controls), the same test on the variants' PC scores;
* per individual, a risk score: the sum over their variants of the SAD (standardised by
  the other folds' controls) projected on the case − control direction, that direction
  learned on the other folds of individuals (k-fold cross-validation, so no individual
  scores itself), with its AUC and test.

The scores are held once; what is derived from them whole (standardised scores, the
Gram matrix, projections) is made from float64 blocks of :data:`BLOCK_ROWS` rows.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy import stats

from crossreg.progress import Progress, progress, track

CASE, CONTROL = "case", "control"
BLOCK_ROWS = 2048  # rows of the scores standardised (in float64) at a time
TRACK_BLOCK = 64  # tracks whose values are gathered at a time for their tests
log = logging.getLogger("crossreg")


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
    """Two-sided Mann–Whitney U test of `case` vs `control` by its normal approximation
    (midranks, tie-corrected variance, continuity correction ½), at any group size."""
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


def _track_columns(
    sad: npt.NDArray, is_case: npt.NDArray[np.bool_]
) -> Iterator[tuple[npt.NDArray, npt.NDArray]]:
    """Each track's case and control values, gathered :data:`TRACK_BLOCK` tracks at a time
    (one column at a time would read a whole row of the table for each value)."""
    cases, controls = np.flatnonzero(is_case), np.flatnonzero(~is_case)
    for start in range(0, sad.shape[1], TRACK_BLOCK):
        for column in np.ascontiguousarray(sad[:, start : start + TRACK_BLOCK].T):
            yield column[cases], column[controls]


def track_tests(sad: npt.NDArray, is_case: npt.NDArray[np.bool_]) -> list[GroupTest]:
    """:func:`mann_whitney` of each track (column of `sad`)."""
    columns = _track_columns(sad, is_case)
    tracks = track(columns, "case/control tests", "tracks", total=sad.shape[1])
    return [mann_whitney(case, control) for case, control in tracks]


def block_count(rows: int) -> int:
    """The blocks of :data:`BLOCK_ROWS` in a pass over `rows` rows."""
    return -(-rows // BLOCK_ROWS)


@dataclass(frozen=True)
class Standardised:
    """A score table with each track centred by `mean` and divided by `scale`, made in
    float64 :data:`BLOCK_ROWS` rows at a time instead of held whole beside the table (at
    255,000 variants × 5,313 tracks a float64 copy is 10.8 GB). A pass given a `meter`
    counts each block on it."""

    table: npt.NDArray
    mean: npt.NDArray[np.float64]
    scale: npt.NDArray[np.float64]

    @property
    def shape(self) -> tuple[int, int]:
        """Rows and tracks."""
        rows, tracks = self.table.shape
        return rows, tracks

    def blocks(
        self, meter: Progress | None = None
    ) -> Iterator[tuple[slice, npt.NDArray[np.float64]]]:
        """Each block of rows: where it lies, and its standardised values (a new array)."""
        for rows, raw in _row_blocks(self.table, meter):
            block = np.subtract(raw, self.mean, dtype=np.float64)
            block /= self.scale
            yield rows, block

    def means(
        self, *selections: npt.NDArray[np.bool_], meter: Progress | None = None
    ) -> list[npt.NDArray[np.float64]]:
        """The mean standardised row of each selection of rows, from one pass."""
        totals = [np.zeros(self.shape[1]) for _ in selections]
        for rows, block in self.blocks(meter):
            for total, chosen in zip(totals, selections, strict=True):
                total += chosen[rows].astype(np.float64) @ block  # no copy of the rows
        return [
            total / np.count_nonzero(chosen)
            for total, chosen in zip(totals, selections, strict=True)
        ]

    def project(
        self, vectors: npt.NDArray[np.float64], meter: Progress | None = None
    ) -> npt.NDArray[np.float64]:
        """The standardised rows times `vectors` (tracks, or tracks × k)."""
        out = np.empty((self.shape[0], *vectors.shape[1:]))
        for rows, block in self.blocks(meter):
            out[rows] = block @ vectors
        return out


def standardise(
    sad: npt.NDArray, reference: npt.NDArray[np.bool_], *, meter: Progress | None = None
) -> Standardised:
    """`sad` (finite scores) with each track centred and scaled by the mean and sd of the
    `reference` rows (constant tracks scale by 1), both summed in float64 a block of rows
    at a time (the two passes' blocks counted on `meter`)."""
    count = np.count_nonzero(reference)
    if not count:
        raise ValueError("standardising needs at least one reference row")
    tracks = sad.shape[1]
    unscaled = Standardised(sad, np.zeros(tracks), np.ones(tracks))
    (mean,) = unscaled.means(reference, meter=meter)
    squares = np.zeros(tracks)
    for rows, block in unscaled.blocks(meter):
        block -= mean
        block *= block
        squares += reference[rows].astype(np.float64) @ block
    sd = np.sqrt(squares / count)
    return Standardised(sad, mean, np.where(sd > 0, sd, 1.0))


@dataclass(frozen=True)
class Components:
    """Principal components of standardised SAD: scores (variants × k), loadings
    (tracks × k) and the share of variance each explains."""

    scores: npt.NDArray[np.float64]
    loadings: npt.NDArray[np.float64]
    explained: npt.NDArray[np.float64]


def principal_components(z: Standardised | npt.NDArray, k: int) -> Components:
    """The top `k` principal components of the rows of `z` (centred here), signs fixed so
    each loading's largest entry is positive; at most the centred matrix's rank of them
    (numpy's ``matrix_rank`` tolerance on its Gram matrix), since a component past it is
    rounding noise. They come from the top eigenvectors of the Gram matrix of the
    smaller side (tracks × tracks, or variants × variants when there are fewer variants),
    summed :data:`BLOCK_ROWS` rows at a time, not an SVD of the whole matrix: hundreds
    of thousands of de novo variants on 5,313 tracks would take an SVD hours and copies of
    the matrix more memory. The passes for the mean row, the Gram matrix and the
    projection show progress, and a line names the eigendecomposition between the last
    two (at the paper's scale, from seconds to a minute each on a 2-core machine, by its
    load)."""
    from scipy.linalg import eigh
    from scipy.linalg.blas import dsyrk as syrk

    if not isinstance(z, Standardised):
        table = np.asarray(z)
        z = Standardised(table, np.zeros(table.shape[1]), np.ones(table.shape[1]))
    n, t = z.shape
    with progress(block_count(n), "centring the scores", "row blocks") as meter:
        mean = z.means(np.ones(n, dtype=bool), meter=meter)[0] if n else np.zeros(t)
    by_track = t <= n
    if by_track:  # its lower triangle summed in place by BLAS syrk (eigh reads only that)
        gram = np.zeros((t, t), order="F")
        for _, block in track(
            z.blocks(), "principal components", "row blocks", total=block_count(n)
        ):
            block -= mean
            gram = syrk(1.0, block.T, beta=1.0, c=gram, lower=1, overwrite_c=1)
    else:  # fewer variants than tracks: the centred matrix is smaller than the Gram matrix
        centred = np.concatenate([block for _, block in z.blocks()]) - mean
        gram = centred @ centred.T
    size = len(gram)
    total = float(np.trace(gram))
    if size == 0 or not total > 0:
        return Components(np.zeros((n, 0)), np.zeros((t, 0)), np.zeros(0))
    k = min(k, size)
    log.info(
        "principal components: the top %d eigenvectors of the %d × %d Gram matrix", k, size, size
    )
    values, vectors = eigh(gram, subset_by_index=[size - k, size - 1], overwrite_a=True)
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
    with progress(block_count(n), "projecting on the principal components", "row blocks") as meter:
        scores = z.project(loadings, meter) - mean @ loadings
    return Components(scores, loadings, values / total)


def standardised_components(
    sad: npt.NDArray, reference: npt.NDArray[np.bool_], k: int
) -> Components:
    """:func:`principal_components` of `sad` standardised by the `reference` rows
    (:func:`standardise`, its two passes over the table shown as they go: half a minute at
    the paper's scale)."""
    with progress(2 * block_count(len(sad)), "standardising the scores", "row blocks") as meter:
        z = standardise(sad, reference, meter=meter)
    return principal_components(z, k)


def _row_blocks(table: npt.NDArray, meter: Progress | None) -> Iterator[tuple[slice, npt.NDArray]]:
    """Each block of :data:`BLOCK_ROWS` rows of `table` as read (counted on `meter`)."""
    for start in range(0, len(table), BLOCK_ROWS):
        rows = slice(start, start + BLOCK_ROWS)
        yield rows, table[rows]
        if meter is not None:
            meter.update()


def _by_group(
    group: npt.NDArray[np.int64], groups: int, block: npt.NDArray[np.float64]
) -> npt.NDArray[np.float64]:
    """The sum of the rows of `block` of each group (`group` of each row, from 0; a row of
    group -1 is in none): groups × tracks."""
    return (group == np.arange(groups)[:, None]).astype(np.float64) @ block


def _group_sums(
    table: npt.NDArray, group: npt.NDArray[np.int64], groups: int, meter: Progress | None
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """One pass over `table`: each group's float64 sum of its rows, and of their deviations
    from a shift, the first block's mean row (near every group's mean for like rows).
    Means are told apart by the deviations, which keep their precision where a track's
    mean is far from zero against its spread."""
    shift = np.zeros(0)
    sums, deviations = np.zeros((2, groups, table.shape[1]))
    for rows, raw in _row_blocks(table, meter):
        block = np.asarray(raw, dtype=np.float64)
        if not shift.size:
            shift = block.mean(axis=0)
        sums += _by_group(group[rows], groups, block)
        deviations += _by_group(group[rows], groups, block - shift)
    return sums, deviations, shift


def _group_squares(
    table: npt.NDArray,
    group: npt.NDArray[np.int64],
    groups: int,
    around: npt.NDArray[np.float64],
    meter: Progress | None,
) -> npt.NDArray[np.float64]:
    """One pass over `table`: each group's float64 sum of its rows' squared deviations from
    `around`."""
    squares = np.zeros((groups, table.shape[1]))
    for rows, raw in _row_blocks(table, meter):
        block = np.subtract(raw, around, dtype=np.float64)
        block *= block
        squares += _by_group(group[rows], groups, block)
    return squares


def out_of_fold_scores(
    sad: npt.NDArray,
    fold: npt.NDArray[np.int64],
    is_case: npt.NDArray[np.bool_],
    folds: int,
    *,
    meter: Progress | None = None,
) -> npt.NDArray[np.float64]:
    """Each row's score ``z · w`` by the other folds (`fold` of each row, 0 to `folds` - 1):
    z standardised by the mean and sd of the other folds' control rows, w the unit
    difference of the other folds' case and control means of z (every fold's other folds
    hold cases and controls). Three passes over `sad` (each block counted on `meter`),
    not four for each fold: each fold's cases' and controls' sums (:func:`_group_sums`),
    then each fold's controls' squared deviations from the mean of all controls (the other
    folds' sums of squares about their own mean follow exactly, and keep their precision
    as the two means differ little), then each row standardised by its fold's other folds
    and projected on their direction."""
    others = 1.0 - np.eye(folds)  # row f sums the folds other than f
    group = fold + folds * is_case  # controls' folds, then cases'
    sums, deviations, shift = _group_sums(sad, group, 2 * folds, meter)
    counts = np.bincount(group, minlength=2 * folds).astype(np.float64)
    controls, cases = others @ counts[:folds], others @ counts[folds:]
    control_mean = others @ sums[:folds] / controls[:, None]
    control_deviation = others @ deviations[:folds] / controls[:, None]
    case_deviation = others @ deviations[folds:] / cases[:, None]
    overall = deviations[:folds].sum(axis=0) / counts[:folds].sum()  # all controls, from shift
    squares = _group_squares(sad, np.where(is_case, -1, fold), folds, shift + overall, meter)
    centred = others @ squares - controls[:, None] * (control_deviation - overall) ** 2
    sd = np.sqrt(np.maximum(centred, 0.0) / controls[:, None])
    scale = np.where(sd > 0, sd, 1.0)
    direction = (case_deviation - control_deviation) / scale
    norm = np.linalg.norm(direction, axis=1, keepdims=True)
    direction /= np.where(norm > 0, norm, 1.0)
    scores = np.empty(len(sad))
    for rows, raw in _row_blocks(sad, meter):
        here, out = fold[rows], scores[rows]
        for f in np.unique(here):
            held = here == f
            z = np.subtract(raw[held], control_mean[f], dtype=np.float64)
            z /= scale[f]
            out[held] = z @ direction[f]
    return scores


@dataclass(frozen=True)
class RiskScores:
    """Out-of-fold risk score per individual, with its fold and group."""

    individuals: list[str]
    is_case: npt.NDArray[np.bool_]
    scores: npt.NDArray[np.float64]
    folds: npt.NDArray[np.int64]


def check_fold_groups(folds: int, cases: int, controls: int) -> None:
    """Stop unless every one of `folds` folds can hold a case and a control person; the
    fix named is a lower --folds where one of at least 2 would do, else more people, since
    a person's risk score is learned from other cases and controls than theirs."""
    fewest = min(cases, controls)
    if fewest < folds:
        fix = (
            f"lower --folds to {fewest} or below"
            if fewest >= 2
            else "each group needs at least 2 people, as each person's score is learned "
            "from the other folds' cases and controls: add people to the smaller group"
        )
        raise ValueError(
            f"{folds}-fold risk scores need at least {folds} cases and {folds} controls; "
            f"there are {cases} cases and {controls} controls ({fix})"
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
    variants, so nothing of a held-out individual enters its score's making. All folds
    come from three passes over the table (:func:`out_of_fold_scores`), counted in row
    blocks on one meter."""
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
    fold = fold_of[owner]
    with progress(3 * block_count(len(sad)), "risk scores", "row blocks") as meter:
        variant_score = out_of_fold_scores(sad, fold, is_case, folds, meter=meter)
    scores = np.zeros(len(names))
    np.add.at(scores, owner, variant_score)
    return RiskScores(names, group, scores, fold_of)
