"""The windows of a dataset: contigs → split regions → tiled windows → masks and filter."""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass

import numpy as np
import numpy.typing as npt

from crossreg.data import defaults
from crossreg.data.checks import Inputs
from crossreg.data.fractions import fraction_split, fraction_warnings
from crossreg.data.windows import (
    Windows,
    bin_mask,
    contigs,
    intersect_labelled,
    order_by_split,
    tile,
)
from crossreg.io.bed import Interval

log = logging.getLogger("crossreg")

HELD_OUT = ("valid", "test")  # the split labels --stride-test tiles


@dataclass(frozen=True)
class Layout:
    """Window geometry: input length, bin width, bins cropped per side, tiling stride (of
    the valid and test windows: `stride_test`, when given, as Basenji's ``--stride_test``)."""

    seq_length: int = defaults.DEFAULT_SEQ_LENGTH
    pool_width: int = defaults.DEFAULT_POOL_WIDTH
    crop_bins: int = defaults.DEFAULT_CROP_BINS
    stride: int = defaults.DEFAULT_STRIDE
    stride_test: int | None = None

    @property
    def strides(self) -> dict[str, int]:
        """The stride of each split label that has its own (``valid``, ``test``)."""
        return dict.fromkeys(HELD_OUT, self.stride_test) if self.stride_test else {}

    @property
    def target_bins(self) -> int:
        """Bins per window after cropping (896 for the defaults)."""
        return self.seq_length // self.pool_width - 2 * self.crop_bins

    @property
    def crop_bp(self) -> int:
        """Bases cropped from each side of a window for its targets."""
        return self.crop_bins * self.pool_width


@dataclass(frozen=True)
class SplitOptions:
    """How windows get split labels when no regions BED is given."""

    valid_fraction: float = defaults.DEFAULT_VALID_FRACTION
    test_fraction: float = defaults.DEFAULT_TEST_FRACTION
    block_size: int = defaults.DEFAULT_SPLIT_BLOCK
    seed: int = defaults.DEFAULT_SEED


@dataclass(frozen=True)
class Plan:
    """Windows (grouped by split) with their target-bin masks and the tiled regions."""

    windows: Windows
    masked: npt.NDArray[np.bool_]
    regions: list[Interval]
    dropped_unmappable: int


def plan_windows(
    inputs: Inputs,
    layout: Layout,
    split: SplitOptions,
    *,
    min_n_run: int = defaults.DEFAULT_MIN_N_RUN,
    max_unmappable: float = defaults.DEFAULT_MAX_UNMAPPABLE,
) -> Plan:
    """Tile the genome into windows and compute which target bins are masked.

    Windows lie wholly inside one contig (between gaps and N runs ≥ `min_n_run`) and
    inside regions of one split label (the regions BED's, or by fraction: see
    :mod:`crossreg.data.fractions`, with a warning when the fractions cannot be met). A
    window is dropped when at least `max_unmappable` of its target bins overlap the
    unmappable BED. `masked` marks target bins that overlap
    the blacklist or the unmappable regions. A `layout.stride_test` with regions that hold
    no valid or test region (folds) is refused: it would space no window; so is a `split`
    other than the default with regions, whose labels make the split.
    """
    if inputs.regions is not None and split != SplitOptions():
        changed = [
            f"{name} {value}"
            for name, value in asdict(split).items()
            if value != getattr(SplitOptions(), name)
        ]
        raise ValueError(
            f"split options {', '.join(changed)} apply only without a regions BED (its labels "
            "make the split); leave the split at its defaults, or give no regions"
        )
    if layout.stride_test is not None and inputs.regions is not None:
        labels = dict.fromkeys(iv.extra[0] for iv in inputs.regions)
        if not any(label in HELD_OUT for label in labels):
            raise ValueError(
                f"--stride-test {layout.stride_test} tiles the valid and test windows, but "
                f"the regions BED has none (its labels: {', '.join(labels)}); every fold "
                "takes --stride: drop --stride-test"
            )
    pieces = contigs(inputs.genome, inputs.gaps, min_n_run=min_n_run)
    if inputs.regions is not None:
        regions = intersect_labelled(pieces, inputs.regions)
    else:
        regions = fraction_split(
            pieces,
            seq_length=layout.seq_length,
            stride=layout.stride,
            valid=split.valid_fraction,
            test=split.test_fraction,
            block_size=split.block_size,
            seed=split.seed,
        )
    windows = tile(regions, layout.seq_length, layout.stride, layout.strides)
    target_starts = windows.starts + layout.crop_bp
    bins = layout.target_bins
    unmappable = bin_mask(windows.chroms, target_starts, bins, layout.pool_width, inputs.unmappable)
    keep = unmappable.mean(axis=1) < max_unmappable if bins else np.ones(len(windows), bool)
    dropped = int((~keep).sum())
    if dropped:
        log.info("dropped %d windows with ≥ %.0f%% unmappable bins", dropped, 100 * max_unmappable)
    windows = windows.take(keep)
    windows = order_by_split(windows)
    if inputs.regions is None:
        # the shares of the genome: a held-out window at a longer stride stands for more
        weight = {name: step / layout.stride for name, step in layout.strides.items()}
        counts = {name: int((windows.splits == name).sum()) for name in windows.split_names()}
        valid, test = split.valid_fraction, split.test_fraction
        for warning in fraction_warnings(counts, valid, test, weight):
            log.warning("%s", warning)
    target_starts = windows.starts + layout.crop_bp
    masked = bin_mask(
        windows.chroms,
        target_starts,
        bins,
        layout.pool_width,
        [*inputs.blacklist, *inputs.unmappable],
    )
    return Plan(windows, masked, regions, dropped)
