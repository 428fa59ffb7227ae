"""The per-chromosome, per-LD-block pass of a run: each panel chromosome's annotations,
their ``.info`` sums and the phenotypes aligned to its SNPs, then each LD block's
spectrum (from the cache or the genotypes), signed LD profiles, weights and statistics."""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TypeVar

import numpy as np
import numpy.typing as npt

from crossreg.progress import Progress, progress
from crossreg.stats.sldp.annotation_set import AnnotationSet, chrom_annotations
from crossreg.stats.sldp.annotations import INFO_FIELDS, ChromAnnotations, signed_ld_profiles
from crossreg.stats.sldp.panel import ChromPanel, LdBlocks, load_chrom_panel
from crossreg.stats.sldp.plink import standardized_genotypes
from crossreg.stats.sldp.reconcile import add_counts
from crossreg.stats.sldp.refpanel import (
    Spectrum,
    block_spectrum,
    cache_path,
    read_cached_spectra,
    write_cached_spectra,
)
from crossreg.stats.sldp.regression import BlockStats, block_stats
from crossreg.stats.sldp.sumstats import Heritability, Sumstats, block_weights

log = logging.getLogger("crossreg")
T = TypeVar("T")
Info = dict[str, npt.NDArray[np.float64] | float]  # the .info sums of the marginal annotations


@dataclass
class PhenoBlocks:
    """One phenotype's per-block statistics, typed counts and print-SNP index ranges."""

    stats: dict[int, BlockStats]
    m_h: npt.NDArray[np.float64]
    snpind: npt.NDArray[np.int64]  # blocks × (begin, end)
    typed: bool = False  # some print SNP of a block with an LD spectrum is typed
    indefinite: int = 0  # blocks whose W = R/N + σ²_g R² has an eigenvalue ≤ 0 (σ²_g < 0)
    signal: npt.NDArray[np.bool_] = field(default_factory=lambda: np.zeros(0, dtype=bool))

    def note_signal(self, typed_profiles: npt.NDArray[np.float64]) -> None:
        """Mark the marginal annotations whose signed LD profile is not 0 at these typed
        print SNPs (rows × marginal annotations)."""
        hits = (typed_profiles != 0).any(axis=0)
        self.typed = True
        self.signal = self.signal | hits if self.signal.size else hits


@dataclass(frozen=True)
class BlockScan:
    """What the pass found: each phenotype's blocks, the marginal annotations' ``.info``
    sums (M, ‖v‖², support; each summed over the chromosomes), the reconciliation counts
    per file (and per phenotype file and chromosome), and the LD blocks with print SNPs
    and those whose truncated spectrum keeps no eigenvector."""

    per_pheno: dict[str, PhenoBlocks]
    info: Info
    counts: dict[str, dict[str, int]]
    ranks: dict[str, int]


@dataclass(frozen=True)
class BlockSettings:
    """How the pass weighs and caches: `weights` (one of ``sumstats.WEIGHTS``), the
    spectrum truncation percentage and the LD cache folder (None: beside the panel)."""

    weights: str
    spectrum_percent: float
    ld_cache: str | os.PathLike[str] | None


def scan_blocks(
    bfile_chr: str,
    chroms: Sequence[str],
    printed: npt.NDArray[np.str_],
    blocks: LdBlocks,
    phenos: Sequence[Sumstats],
    heritability: Mapping[str, Heritability],
    marginal: AnnotationSet,
    background: AnnotationSet,
    settings: BlockSettings,
) -> BlockScan:
    """The pass over the panel chromosomes `chroms` (``{bfile_chr}{chrom}``) and their LD
    blocks, with print SNPs `printed`, counted on a progress meter by blocks; one
    chromosome's annotations and spectra are held at a time."""
    per_pheno = {
        s.name: PhenoBlocks({}, np.zeros(len(blocks)), np.zeros((len(blocks), 2), dtype=np.int64))
        for s in phenos
    }
    ranks = {"with_print_snps": 0, "rank_0": 0}
    scan = BlockScan(per_pheno, dict.fromkeys(INFO_FIELDS, 0.0), {}, ranks)
    total_blocks = sum(len(blocks.on(c)) for c in chroms)
    with progress(total_blocks, "SLDP signed LD profiles", "blocks") as meter:
        for chrom in chroms:
            panel = load_chrom_panel(bfile_chr, chrom, printed, blocks)
            annotations = chrom_annotations(panel, background, marginal, scan.counts)
            n_background = len(background.names or [])
            with progress(len(panel.bim), f"{panel.label} annotation sums", "SNPs") as sums:
                chrom_info = annotations.info(sums)
            for name in INFO_FIELDS:
                scan.info[name] = scan.info[name] + chrom_info[name][n_background:]
            aligned = {}
            for stats in phenos:
                alignment, z, n = stats.align(panel)
                add_counts(scan.counts, f"{stats.source} {panel.label}", alignment.counts)
                aligned[stats.name] = (z / np.sqrt(n), n)
            sigma2g = {name: heritability[name].sigma2g for name in aligned}
            spectra = _chrom_blocks(
                panel, blocks, annotations, n_background, aligned, sigma2g, scan, settings, meter
            )
            scan.ranks["with_print_snps"] += len(spectra)
            scan.ranks["rank_0"] += sum(s.u.shape[1] == 0 for s in spectra.values())
            log.info(
                "%s: %d blocks with print SNPs, %d SNPs", panel.label, len(spectra), len(panel.bim)
            )
            del annotations, spectra  # freed before the next chromosome's are read
    return scan


def _chrom_blocks(
    panel: ChromPanel,
    blocks: LdBlocks,
    annotations: ChromAnnotations,
    n_background: int,
    aligned: dict[str, tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]],
    sigma2g: dict[str, float],
    scan: BlockScan,
    settings: BlockSettings,
    meter: Progress,
) -> dict[int, Spectrum]:
    """The LD blocks of one panel chromosome into `scan`'s phenotypes (`aligned`: each
    one's ahat and N per panel SNP); its blocks' spectra, written to the cache when they
    did not come from it."""
    print_index = np.cumsum(panel.printed) - 1
    ranges = zip(panel.block_ids, panel.block_start, panel.block_stop, strict=True)
    spectra_path = cache_path(panel, blocks, settings.spectrum_percent, settings.ld_cache)
    cached = read_cached_spectra(spectra_path, panel)
    spectra: dict[int, Spectrum] = {}
    for block, start, stop in _counting(ranges, meter):
        mask = panel.printed[start:stop]
        if not mask.any():
            continue
        # one read of the block's genotypes: its spectrum (without a cache) and Rv
        x = standardized_genotypes(panel.bed, panel.n_samples, len(panel.bim), start, stop)
        spectrum = (
            cached[int(block)]
            if cached is not None
            else block_spectrum(x, mask, settings.spectrum_percent)
        )
        spectra[int(block)] = spectrum
        profiles = signed_ld_profiles(x, mask, annotations.values(start, stop))
        for name, (ahat, n) in aligned.items():
            ahat_o, n_o = ahat[start:stop][mask], n[start:stop][mask]
            typed = ~np.isnan(ahat_o)
            if not typed.any():
                continue
            target = scan.per_pheno[name]
            target.note_signal(profiles[typed, n_background:])
            if not profiles.any():
                continue
            weighting = block_weights(spectrum, ahat_o, n_o, sigma2g[name], settings.weights)
            target.stats[int(block)] = block_stats(weighting, profiles, n_background)
            divisors = weighting.divisors
            target.indefinite += int(divisors is not None and bool((divisors <= 0).any()))
            target.m_h[block] = typed.sum()
            rows = print_index[start:stop][mask]
            target.snpind[block] = (rows.min(), rows.max() + 1)
    if cached is None:
        write_cached_spectra(spectra_path, spectra)
    return spectra


def _counting(items: Iterable[T], meter: Progress) -> Iterator[T]:
    """`items`, each counted as one unit on `meter` once the caller is done with it."""
    for item in items:
        yield item
        meter.update()
