"""Per-column statistics of ``crossreg evaluate`` beyond Pearson R (Basenji's
``basenji_test.py --rank/--peaks`` and ``basenji_test_specificity.py``), on whole columns.

Each function takes one column (or a ``(tracks, positions)`` block of columns) at a time:
what depends on every position of a track (ranks, sorts, a peak call over the track's
mean) cannot be accumulated window by window, so the caller reads tracks in groups
(:mod:`crossreg.evaluate.spill`).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

PEAK_STRIDE = 8  # Basenji calls peaks on every 8th bin of each window
PEAK_FDR = 0.01  # ... at Benjamini-Hochberg q below this


def sort_order(values: npt.NDArray) -> npt.NDArray[np.intp]:
    """The indices that sort the flat column `values` ascending (ties in any order).
    numpy sorts float16 (the store's targets) value by value, several times slower than
    other types: their bits, mapped to unsigned 16-bit keys in the same order, go through
    numpy's radix sort instead (``kind="stable"`` on a 16-bit type). NaN of either sign
    sorts last, as numpy sorts it."""
    if values.dtype != np.float16:
        return np.argsort(values)
    bits = np.ascontiguousarray(values).view(np.uint16)
    # a negative value's bits count down from the sign bit, a positive one's up from it
    keys = np.where(bits & 0x8000, ~bits, bits | 0x8000).astype(np.uint16)
    keys[np.isnan(values)] = np.iinfo(np.uint16).max  # a negative NaN's bits would lead
    return np.argsort(keys, kind="stable")


def tie_mean(values: npt.ArrayLike, reference: npt.ArrayLike) -> npt.NDArray[np.float64]:
    """For each value, the mean of ascending `reference` over the sorted positions its
    value occupies: values tied with each other share the mean of their block. With
    ``reference = 1..n`` this is the average rank (as Spearman's R ranks); with the mean
    of the sorted columns it is the quantile-normalised value."""
    x = np.asarray(values).ravel()
    ref = np.asarray(reference, dtype=np.float64)
    if ref.shape != x.shape:
        raise ValueError(f"{x.size} values but a reference of {ref.size}")
    order = sort_order(x)  # ties get one value: their order is free
    ordered = x[order]
    starts = np.flatnonzero(np.r_[True, ordered[1:] != ordered[:-1]])
    ends = np.r_[starts[1:], x.size]
    cumulative = np.r_[0.0, np.cumsum(ref)]
    block = (cumulative[ends] - cumulative[starts]) / (ends - starts)
    out = np.empty(x.size, dtype=np.float64)
    out[order] = np.repeat(block, ends - starts)
    return out


def pearson(a: npt.ArrayLike, b: npt.ArrayLike) -> float:
    """Pearson R of two equal-length vectors in float64; 0 when either is constant (as
    Basenji's metric, :mod:`crossreg.model.metrics`, gives a constant track)."""
    x = np.asarray(a, dtype=np.float64).ravel()
    y = np.asarray(b, dtype=np.float64).ravel()
    x = x - x.mean()
    y = y - y.mean()
    spread = float(np.sqrt(np.dot(x, x) * np.dot(y, y)))
    return float(np.clip(np.dot(x, y) / spread, -1.0, 1.0)) if spread > 0 else 0.0


def spearman(pred: npt.ArrayLike, target: npt.ArrayLike) -> float:
    """Spearman R: Pearson R of the average ranks (ties share their mean rank)."""
    n = np.asarray(pred).size
    ranks = np.arange(1, n + 1, dtype=np.float64)
    return pearson(tie_mean(pred, ranks), tie_mean(target, ranks))


def benjamini_hochberg(p: npt.ArrayLike) -> npt.NDArray[np.float64]:
    """Benjamini-Hochberg q-values (step-up: q of the i-th smallest p is the least
    ``p_(j)·m/j`` over j ≥ i, at most 1), in the order of `p`."""
    values = np.asarray(p, dtype=np.float64).ravel()
    m = values.size
    order = np.argsort(values)
    scaled = values[order] * m / np.arange(1, m + 1)
    q = np.minimum.accumulate(scaled[::-1])[::-1]
    out = np.empty(m, dtype=np.float64)
    out[order] = np.minimum(q, 1.0)
    return out


def poisson_peaks(target: npt.ArrayLike, fdr: float = PEAK_FDR) -> npt.NDArray[np.bool_]:
    """Basenji's peak call on a track's bins: the p-value of each bin's rounded coverage
    k under a Poisson of the track's mean, P(X ≥ k), Benjamini-Hochberg q below `fdr`."""
    from scipy.stats import poisson  # a second to import: only when peaks are called

    y = np.asarray(target, dtype=np.float64).ravel()
    k = np.round(y)
    p = poisson.sf(k - 1, y.mean()) if y.size else y
    return benjamini_hochberg(p) < fdr


def auroc(labels: npt.ArrayLike, scores: npt.ArrayLike) -> float:
    """Area under the ROC curve of `scores` for boolean `labels` (the trapezoids through
    each distinct score: tied scores count half); 0.5 when either class is empty."""
    truth = np.asarray(labels, dtype=bool).ravel()
    positives = int(truth.sum())
    negatives = truth.size - positives
    if positives == 0 or negatives == 0:
        return 0.5
    ranks = tie_mean(scores, np.arange(1, truth.size + 1, dtype=np.float64))
    u = ranks[truth].sum() - positives * (positives + 1) / 2
    return float(u / (positives * negatives))


def auprc(labels: npt.ArrayLike, scores: npt.ArrayLike) -> float:
    """Average precision of `scores` for boolean `labels`: Σ (recallₙ − recallₙ₋₁) ·
    precisionₙ over the distinct scores, highest first (sklearn's
    ``average_precision_score``, Basenji's AUPRC); the share of positives (0 when none)
    when a class is empty."""
    truth = np.asarray(labels, dtype=bool).ravel()
    positives = int(truth.sum())
    if positives == 0 or positives == truth.size:
        return positives / max(truth.size, 1)
    x = np.asarray(scores, dtype=np.float64).ravel()
    order = np.argsort(-x)
    ordered = x[order]
    last = np.r_[ordered[1:] != ordered[:-1], True]  # the end of each block of ties
    true_hits = np.cumsum(truth[order])[last]
    called = np.flatnonzero(last) + 1
    recall = true_hits / positives
    precision = true_hits / called
    return float(np.sum(np.diff(np.r_[0.0, recall]) * precision))


def peak_scores(pred: npt.ArrayLike, target: npt.ArrayLike) -> tuple[int, float, float]:
    """Basenji's ``--peaks`` for one track, on the bins already taken (every
    :data:`PEAK_STRIDE`-th): the number of peaks called on `target`
    (:func:`poisson_peaks`), and AUROC and AUPRC of `pred` against them (0.5 and 0 when
    no bin is a peak, as Basenji's)."""
    peaks = poisson_peaks(target)
    return int(peaks.sum()), auroc(peaks, pred), auprc(peaks, pred)


def sorted_column(values: npt.ArrayLike) -> npt.NDArray[np.float64]:
    """One column sorted ascending, in float64: the mean of a class's sorted columns is the
    distribution its columns are quantile-normalised to. float16 (the store's targets) is
    widened to float32 first, exactly: numpy sorts float32 several times faster."""
    x = np.asarray(values).ravel()
    return np.sort(x.astype(np.float32) if x.dtype == np.float16 else x).astype(np.float64)
