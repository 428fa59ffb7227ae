"""A plain numpy + pyBigWig implementation of the dataset targets, for parity tests (and
the numpy baselines of ``benches/bench_bigwig.py``).

Deliberately simple and independent of crossreg's native code: per track and window,
read base values with pyBigWig, then apply the paper's transforms one numpy step at a time.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt
import pyBigWig

from crossreg.io.targets import Target, TargetsTable


def clean(values: npt.ArrayLike) -> npt.NDArray[np.float32]:
    """Base values as float32 with missing data (NaN) and negatives as 0."""
    out = np.nan_to_num(np.asarray(values, dtype=np.float32), nan=0.0)
    out[out < 0] = 0.0
    return out


def base_values(path: str, chrom: str, start: int, end: int) -> npt.NDArray[np.float32] | None:
    """Base-level values of ``[start, end)``: missing data, negatives and bases past the
    chromosome's end as 0; None when the file lacks the chromosome."""
    with_file = pyBigWig.open(str(path))
    try:
        chroms = with_file.chroms()
        if chrom not in chroms:
            return None
        out = np.zeros(end - start, dtype=np.float32)
        if start < chroms[chrom]:
            stop = min(end, chroms[chrom])
            vals = np.asarray(with_file.values(chrom, start, stop), dtype=np.float32)
            out[: stop - start] = vals
    finally:
        with_file.close()
    return clean(out)


def pool(values: npt.NDArray[np.float32], pool_width: int, sum_stat: str) -> npt.NDArray:
    """Pool base values into bins with a targets-table sum_stat."""
    bins = values.reshape(-1, pool_width).astype(np.float64)
    if sum_stat == "sum":
        return bins.sum(axis=1)
    if sum_stat == "mean":
        return bins.mean(axis=1)
    if sum_stat == "max":
        return bins.max(axis=1)
    if sum_stat == "sum_sqrt":
        return -1 + np.sqrt(1 + bins.sum(axis=1))
    if sum_stat == "mean_sqrt":
        return -1 + np.sqrt(1 + bins.mean(axis=1))
    raise ValueError(sum_stat)


def soft_clip(x: npt.NDArray, t: float) -> npt.NDArray:
    """Values above `t` become ``t + sqrt(x - t)``; the others stay."""
    return np.minimum(x, t + np.sqrt(np.maximum(x - t, 0)))


def finish(
    pooled: npt.NDArray,
    mask: npt.NDArray[np.bool_],
    target: Target,
    fill_quantile: float = 0.25,
) -> npt.NDArray[np.float16]:
    """The transforms after pooling of one track's ``(windows, bins)`` values: masked bins
    take the `fill_quantile` of the unmasked ones (of all windows), then soft clip, hard
    clip at ``target.hard_clip``, scale, float16 (clamped to its largest finite value)."""
    unmasked = pooled[~mask]
    fill = np.percentile(unmasked, 100 * fill_quantile) if unmasked.size else 0.0
    pooled = np.where(mask, fill, pooled)
    pooled = soft_clip(pooled, target.soft_clip_threshold)
    scaled = np.clip(pooled, 0, target.hard_clip) * target.scale
    return np.minimum(scaled, np.finfo(np.float16).max).astype(np.float16)


def reference_targets(
    table: TargetsTable,
    chroms: Sequence[str],
    starts: Sequence[int],
    *,
    bins: int,
    pool_width: int = 128,
    mask: npt.NDArray[np.bool_] | None = None,
    fill_quantile: float = 0.25,
) -> npt.NDArray[np.float16]:
    """``(windows, bins, tracks)`` float16 targets of target regions at `starts`.

    Replicates are averaged per base over the files that have the window's chromosome; a
    window on a chromosome none of a track's files has is masked for that track."""
    n = len(starts)
    mask = np.zeros((n, bins), dtype=bool) if mask is None else np.asarray(mask, dtype=bool)
    out = np.zeros((n, bins, len(table)), dtype=np.float16)
    for k, target in enumerate(table):
        files = table.track_files(target)
        pooled = np.zeros((n, bins))
        track_mask = mask.copy()
        for w, (chrom, start) in enumerate(zip(chroms, starts, strict=True)):
            end = int(start) + bins * pool_width
            found = [base_values(str(f), chrom, int(start), end) for f in files]
            reps = [r for r in found if r is not None]
            if not reps:
                track_mask[w] = True
                continue
            mean = np.sum(reps, axis=0, dtype=np.float32) * np.float32(1 / len(reps))
            pooled[w] = pool(mean, pool_width, target.sum_stat)
        out[:, :, k] = finish(pooled, track_mask, target, fill_quantile)
    return out
