"""Streaming per-track accuracy over all bins of all windows, as Basenji defines it.

For each track, sums of ``y``, ``p``, ``y²``, ``p²``, ``y·p`` and ``(y − p)²`` and the count
accumulate in float64 (linear space) over every position of every batch; from them:

* Pearson R = cov / (sd_y · sd_p), and 0 when the prediction variance is ≤ 1e-12;
* R² = 1 − Σ(y − p)² / Σ(y − ȳ)².
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt
import torch

from crossreg import distributed
from crossreg.dna import one_hot
from crossreg.model.geometry import crop_to_targets
from crossreg.model.inference import InferenceOptions, model_device, run_inference
from crossreg.model.seqnn import SeqNN

if TYPE_CHECKING:
    from crossreg.progress import RowSlices

ZERO_VARIANCE = 1e-12
# a spread taken from float64 sums (Σx² − (Σx)²/n) below this share of Σx² is rounding:
# it is a standard deviation below 1e-6 of the values' size, under float32's resolution
# (the predictions') and float16's (the targets'), far above float64's summation error
RELATIVE_ROUNDING = 1e-12
# values of a batch summed at once (32 MB in float64): memory that does not grow with the
# batch, in few enough pieces that a CPU's threads or a GPU's kernel launches cost nothing
CHUNK_VALUES = 1 << 22


def _spread(sum_sq: np.ndarray, total: np.ndarray, n: int) -> np.ndarray:
    """Σ(x − x̄)² from Σx² and Σx, 0 where it is within rounding of 0."""
    spread = sum_sq - total * total / n
    return np.where(spread <= ZERO_VARIANCE + RELATIVE_ROUNDING * np.abs(sum_sq), 0.0, spread)


class TrackMetrics:
    """Per-track Pearson R and R² accumulated batch by batch (on the batches' device)."""

    def __init__(self, n_tracks: int, device: torch.device | str = "cpu") -> None:
        self.n_tracks = n_tracks
        self._sums = torch.zeros(6, n_tracks, dtype=torch.float64, device=device)
        self.count = 0

    def update(self, pred: torch.Tensor, target: torch.Tensor) -> None:
        """Add a batch: `pred` and `target` of shape ``(..., tracks)``."""
        if pred.shape != target.shape or pred.shape[-1] != self.n_tracks:
            raise ValueError(
                f"predictions {tuple(pred.shape)} and targets {tuple(target.shape)} must have "
                f"the same shape ending in {self.n_tracks} tracks"
            )
        preds = pred.detach().reshape(-1, self.n_tracks)
        targets = target.detach().reshape(-1, self.n_tracks)
        # float64 copies of a few rows at a time: of the whole batch they would take
        # 4 × its float32 size (585 MB at batch 4 of 896 bins × 5,313 tracks)
        rows = max(1, CHUNK_VALUES // self.n_tracks)
        for start in range(0, preds.shape[0], rows):
            p = preds[start : start + rows].double()
            y = targets[start : start + rows].to(torch.float64, copy=True)  # changed below
            sums = [y.sum(0), p.sum(0), (y * y).sum(0), (p * p).sum(0), (y * p).sum(0)]
            sums.append(y.sub_(p).square_().sum(0))
            self._sums += torch.stack(sums)
        self.count += preds.shape[0]

    def state(self) -> tuple[np.ndarray, int]:
        """The sums, float64 ``(6, tracks)``, and the count of positions added: what
        :meth:`restore` takes to continue exactly where these metrics are."""
        return self._sums.cpu().numpy().copy(), self.count

    def restore(self, sums: npt.ArrayLike, count: int) -> None:
        """Take the sums and count of :meth:`state` (of metrics of as many tracks)."""
        values = torch.as_tensor(np.asarray(sums, dtype=np.float64))
        if tuple(values.shape) != tuple(self._sums.shape):
            raise ValueError(
                f"sums of shape {tuple(values.shape)}, but these metrics hold "
                f"{tuple(self._sums.shape)}"
            )
        self._sums.copy_(values)
        self.count = int(count)

    def sum_over_processes(self) -> None:
        """Make these metrics the processes' together: under ``torchrun``, where each
        process added its share of the windows, the sums and counts of all of them, the
        same in every process (in one process, unchanged)."""
        self._sums = distributed.sum_over_processes(self._sums)
        count = torch.tensor(self.count, dtype=torch.int64, device=self._sums.device)
        self.count = int(distributed.sum_over_processes(count))

    def non_finite(self) -> np.ndarray:
        """Per track: whether a prediction or target added was NaN or infinite."""
        return ~np.isfinite(self._sums.cpu().numpy()).all(axis=0)

    def constant_predictions(self) -> np.ndarray:
        """Per track: whether its predictions were the same in every position added (a
        spread under :data:`RELATIVE_ROUNDING`, as :meth:`pearson_r` takes it)."""
        _, sp, _, spp, _, _ = self._sums.cpu().numpy()
        return _spread(spp, sp, max(self.count, 1)) == 0

    def pearson_r(self) -> np.ndarray:
        """Per-track Pearson R, float64 ``(tracks,)``, within [−1, 1]; 0 for a track whose
        targets or predictions are constant (a spread under :data:`RELATIVE_ROUNDING`),
        NaN for one given a non-finite value (:meth:`non_finite`)."""
        sy, sp, syy, spp, syp, _ = self._sums.cpu().numpy()
        n = max(self.count, 1)
        with np.errstate(invalid="ignore", divide="ignore"):  # non-finite sums: NaN below
            cov = syp - sy * sp / n
            var_y, var_p = _spread(syy, sy, n), _spread(spp, sp, n)
            spread = np.sqrt(var_y * var_p)
            r = np.where(spread > 0, cov / np.where(spread > 0, spread, 1.0), 0.0)
        return np.where(self.non_finite(), np.nan, np.clip(r, -1.0, 1.0))

    def r2(self) -> np.ndarray:
        """Per-track coefficient of determination, float64 ``(tracks,)``; NaN for a track
        whose targets are constant (a spread under :data:`RELATIVE_ROUNDING`) or given a
        non-finite value."""
        sy, _, syy, _, _, sse = self._sums.cpu().numpy()
        n = max(self.count, 1)
        with np.errstate(invalid="ignore", divide="ignore"):
            total = _spread(syy, sy, n)
            r2 = np.where(total > 0, 1 - sse / np.where(total > 0, total, 1.0), np.nan)
        return np.where(self.non_finite(), np.nan, r2)


def array_metrics(
    model: SeqNN,
    head: str,
    codes: npt.NDArray[np.uint8],
    targets: RowSlices,
    options: InferenceOptions,
    *,
    loss: Callable[[torch.Tensor, torch.Tensor], torch.Tensor] | None = None,
    observe: Callable[[Sequence[int], torch.Tensor, npt.NDArray], None] | None = None,
    start: int = 0,
    stop: int | None = None,
    metrics: TrackMetrics | None = None,
) -> tuple[TrackMetrics, float]:
    """Per-track metrics of `head` over every target bin of every window, for windows given
    as ASCII codes ``(N, L)`` with targets ``(N, bins, tracks)`` (a store split's arrays,
    read chunk by chunk), and the mean of ``loss(pred, targets)`` per window when `loss` is
    given (else NaN). `observe`, when given, is called with each batch's window rows, its
    predictions cropped to the target bins and its targets (to keep them, e.g.
    :class:`crossreg.evaluate.spill.ColumnSpill`), once the batch is added to the metrics.

    A pass continued from window `start` (a multiple of the batch size, so the batches are
    those of a whole pass) adds to `metrics`, those of windows ``0 .. start-1``; the loss
    is then of the windows from `start` on. With `stop`, the pass ends before window
    `stop` (a share of the windows, :func:`crossreg.distributed.share`; the loss is then
    that of windows ``start .. stop-1``, 0 when there are none)."""
    if not len(codes):
        raise ValueError("no windows to score")
    whole = start == len(codes) or start % options.batch_size == 0
    if not (0 <= start <= len(codes) and whole):
        raise ValueError(
            f"a pass continued from window {start} of {len(codes)} would batch the windows "
            f"otherwise than a whole pass at batch size {options.batch_size}"
        )
    stop = len(codes) if stop is None else stop
    if not start <= stop <= len(codes):
        raise ValueError(f"windows {start} to {stop} are not a pass over {len(codes)} windows")
    if metrics is None:
        metrics = TrackMetrics(model.num_targets(head), device=model_device(model))
    loss_sum = 0.0

    def load(rows: Sequence[int]) -> npt.NDArray[np.uint8]:
        return one_hot(np.ascontiguousarray(codes[rows[0] : rows[-1] + 1]), dtype=np.uint8)

    def reduce(pred: torch.Tensor, rows: Sequence[int]) -> None:
        nonlocal loss_sum
        y = np.array(targets[rows[0] : rows[-1] + 1])  # a writable copy for torch
        y_t = torch.from_numpy(y).to(pred.device).float()
        pred = crop_to_targets(pred, y_t.shape[1])
        metrics.update(pred, y_t)
        if observe is not None:
            observe(rows, pred, y)
        if loss is not None:
            loss_sum += float(loss(pred, y_t)) * len(rows)

    windows = range(start, stop)
    for _ in run_inference(model, head, windows, options, load=load, reduce=reduce):
        pass
    return metrics, (loss_sum / max(len(windows), 1) if loss is not None else float("nan"))
