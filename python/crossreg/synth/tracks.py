"""Signal tracks: noise-free expected coverage and sampled read coverage per experiment.

For each track the expected per-base coverage ``lambda`` is a chromatin background plus
Gaussian-shaped contributions of the planted elements (see :class:`TrackSpec` kinds), plus
artefactual plateaus over satellites (the blacklist) and zero over the duplicated stretch
(reads there do not map uniquely). Reads start at rate ``lambda / read_bp``, times a
gamma factor (shape ``DISPERSION_SHAPE``, mean 1) drawn anew at every base, and each
covers ``read_bp`` bases centred on its start; the noise-free track is the exact
expectation of that coverage. Each base's start count is negative binomial, but the
factors are independent from base to base, so a 128-bp bin's start count has
variance/mean ``1 + sum(rate^2) / (DISPERSION_SHAPE * sum(rate))``: nearly Poisson (at
most about 1.05 in DNase, ATAC and ChIP tracks, whose rates stay below 0.5), overdispersed
only at the strongest CAGE TSSs (up to about 2.5). Assembly gaps and a few drop-out
stretches per track hold no data (NaN, absent from the BigWig).

The *in-window* track is the same expectation with only what a sequence model of the
window can know: the regional chromatin level (a random factor per 5-kbp block) at its
mean and CAGE from in-window expression (:meth:`Regulation.expression`). Its R with the
measured track is the reachable ceiling; the noise-free track's is the noise ceiling.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from crossreg.io.bed import Interval
from crossreg.synth.cells import TrackSpec
from crossreg.synth.genomes import SpeciesGenome
from crossreg.synth.regulation import Regulation

BIN_BP = 128
DISPERSION_SHAPE = 8.0  # gamma shape of the per-base read-rate factor (NB size)
CHROMATIN_BLOCK_BP = 5_000
ARTEFACT_LEVEL = {"cage": 40.0}


@dataclass(frozen=True)
class ChromTrack:
    """Noisy and noise-free per-base coverage of one track on one chromosome (float32)."""

    noisy: npt.NDArray[np.float32]
    clean: npt.NDArray[np.float32]
    in_window: npt.NDArray[np.float32]


def _add_gaussians(
    out: npt.NDArray[np.float64],
    centers: npt.NDArray,
    heights: npt.NDArray,
    sd: float,
) -> None:
    """Add ``height * exp(-x^2 / 2 sd^2)`` around each center (truncated at 4 sd)."""
    keep = heights > 0
    centers, heights = np.asarray(centers)[keep], np.asarray(heights)[keep]
    if centers.size == 0:
        return
    half = int(4 * sd)
    offsets = np.arange(-half, half + 1)
    kernel = np.exp(-0.5 * (offsets / sd) ** 2)
    idx = centers[:, None].astype(np.int64) + offsets[None, :]
    vals = heights[:, None] * kernel[None, :]
    ok = (idx >= 0) & (idx < out.size)
    np.add.at(out, idx[ok], vals[ok])


class TrackSynthesizer:
    """Builds every track of one species, chromosome by chromosome."""

    def __init__(
        self,
        genome: SpeciesGenome,
        regulation: Regulation,
        read_depth: float,
        rng: np.random.Generator,
    ) -> None:
        self.genome = genome
        self.reg = regulation
        self.read_depth = read_depth
        self.activity = regulation.activity()
        self.expression = regulation.expression(self.activity)
        self.in_window_expression = regulation.expression(self.activity, in_window=True)
        self.site_signal = regulation.site_signal(self.activity)
        self.chromatin = {
            chrom: np.exp(rng.normal(0.0, 0.25, size=n // CHROMATIN_BLOCK_BP + 1))
            for chrom, n in genome.sizes.items()
        }

    def expected(
        self, spec: TrackSpec, chrom: str, *, in_window: bool = False
    ) -> npt.NDArray[np.float64]:
        """Per-base expected coverage of `spec` on `chrom` before read spreading (with
        `in_window`: of the in-window track, see the module docstring)."""
        n = self.genome.sizes[chrom]
        reg = self.reg
        c = reg.cells.index(spec.cell)
        if in_window:
            level = np.concatenate(list(self.chromatin.values())).mean()
            lam = np.full(n, level * spec.background)
        else:
            lam = np.repeat(self.chromatin[chrom] * spec.background, CHROMATIN_BLOCK_BP)[:n].copy()
        on = [i for i, p in enumerate(reg.elements) if p.chrom == chrom]
        centers = np.array([reg.elements[i].center for i in on], dtype=np.int64)
        kinds = np.array([reg.elements[i].element.kind for i in on])
        act = self.activity[on, c] if on else np.empty(0)
        if spec.kind == "accessibility":
            _add_gaussians(lam, centers, act * spec.peak, 75.0)
        elif spec.kind == "histone":
            regulatory = kinds != "insulator"
            for shift in (-600, 600):
                _add_gaussians(lam, centers[regulatory] + shift, act[regulatory] * spec.peak, 300.0)
        elif spec.kind in ("tf", "insulator"):
            chosen = [i for i, s in enumerate(reg.sites) if s.chrom == chrom and s.tf == spec.tf]
            site_centers = np.array([(reg.sites[i].start + reg.sites[i].end) // 2 for i in chosen])
            if spec.kind == "tf":
                heights = self.site_signal[chosen, c] if chosen else np.empty(0)
            else:
                heights = reg.occupancy[chosen] if chosen else np.empty(0)
            _add_gaussians(lam, site_centers.astype(np.int64), heights * spec.peak, 40.0)
        elif spec.kind in ("promoter_mark", "cage"):
            genes = [g for g, pg in enumerate(reg.genes) if pg.chrom == chrom]
            tss = np.array([reg.genes[g].tss for g in genes], dtype=np.int64)
            strands = np.array([reg.genes[g].strand for g in genes], dtype=np.int64)
            if spec.kind == "promoter_mark":
                prom = reg.promoter_of_gene[genes] if genes else np.empty(0, np.int64)
                heights = np.where(prom >= 0, self.activity[prom, c], 0.0) if genes else prom
                _add_gaussians(lam, tss + 400 * strands, heights * spec.peak, 600.0)
            else:
                sd = 6.0
                expression = self.in_window_expression if in_window else self.expression
                area = expression[genes, c] if genes else np.empty(0)
                _add_gaussians(lam, tss, area * spec.peak / (sd * np.sqrt(2 * np.pi)), sd)
        else:
            raise ValueError(f"unknown track kind '{spec.kind}' of {spec.identifier}")
        level = ARTEFACT_LEVEL.get(spec.kind, 0.8 * spec.peak)
        for iv in self.genome.artefacts:
            if iv.chrom == chrom:
                lam[iv.start : iv.end] = level
        for iv in (*self.genome.duplicates, *self.genome.gaps):
            if iv.chrom == chrom:
                lam[iv.start : iv.end] = 0.0
        return lam * self.read_depth

    def sample(
        self,
        spec: TrackSpec,
        chrom: str,
        no_data: list[Interval],
        rng: np.random.Generator,
    ) -> ChromTrack:
        """Noisy read coverage, its exact expectation and the in-window expectation; NaN
        over gaps and `no_data`."""
        lam = self.expected(spec, chrom)
        rate = lam / spec.read_bp
        starts = rng.poisson(rng.gamma(DISPERSION_SHAPE, rate / DISPERSION_SHAPE)).astype(
            np.float64
        )
        noisy = _spread(starts, spec.read_bp) * spec.unit
        clean = _spread(rate, spec.read_bp) * spec.unit
        reachable = _spread(self.expected(spec, chrom, in_window=True) / spec.read_bp, spec.read_bp)
        reachable *= spec.unit
        for iv in (*self.genome.gaps, *no_data):
            if iv.chrom == chrom:
                for values in (noisy, clean, reachable):
                    values[iv.start : iv.end] = np.nan
        return ChromTrack(
            noisy.astype(np.float32), clean.astype(np.float32), reachable.astype(np.float32)
        )


def _spread(starts: npt.NDArray[np.float64], width: int) -> npt.NDArray[np.float64]:
    """Coverage by reads of `width` bp; a read starting at s covers ``[s - width // 2, ...)``."""
    left = width // 2
    right = width - left
    padded = np.concatenate([np.zeros(right - 1), starts, np.zeros(left)])
    csum = np.concatenate([[0.0], np.cumsum(padded)])
    n = starts.size
    return csum[width : width + n] - csum[:n]


def bin_sums(values: npt.NDArray[np.float32]) -> tuple[npt.NDArray, npt.NDArray[np.bool_]]:
    """Sums over whole 128-bp bins (NaN counted as 0) and whether a bin has any data."""
    n = values.size // BIN_BP * BIN_BP
    blocks = values[:n].astype(np.float64).reshape(-1, BIN_BP)
    has = ~np.all(np.isnan(blocks), axis=1)
    return np.nansum(blocks, axis=1), has


def pearson(x: npt.NDArray, y: npt.NDArray) -> float:
    """Pearson correlation of two 1-D arrays (NaN when either is constant)."""
    x = x - x.mean()
    y = y - y.mean()
    denom = np.sqrt((x * x).sum() * (y * y).sum())
    return float((x * y).sum() / denom) if denom > 0 else float("nan")


def ceiling(noisy: dict[str, np.ndarray], clean: dict[str, np.ndarray]) -> tuple[float, int]:
    """Pearson R of noisy vs noise-free sums over 128-bp bins with data, and the bin count."""
    xs, ys = [], []
    for chrom, values in noisy.items():
        x, has = bin_sums(values)
        y, _ = bin_sums(clean[chrom])
        xs.append(x[has])
        ys.append(y[has])
    x, y = np.concatenate(xs), np.concatenate(ys)
    return pearson(x, y), int(x.size)
