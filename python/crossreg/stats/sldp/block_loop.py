"""The per-chromosome, per-LD-block pass of a run: each panel chromosome's annotations,
their ``.info`` sums and the phenotypes aligned to its SNPs, then each LD block's
spectrum (from the cache or the genotypes), signed LD profiles, weights and statistics."""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, TypeVar

import numpy as np
import numpy.typing as npt

from crossreg.progress import Progress, progress
from crossreg.stats.sldp.annotation_set import AnnotationSet, chrom_annotations
from crossreg.stats.sldp.annotations import INFO_FIELDS, ChromAnnotations, signed_ld_profiles
from crossreg.stats.sldp.chrom_part import ChromPart, ChromStats, Info, PhenoBlocks
from crossreg.stats.sldp.heritability import Heritability
from crossreg.stats.sldp.panel import ChromPanel, LdBlocks, chrom_label, load_chrom_panel
from crossreg.stats.sldp.phenotype import Phenotype
from crossreg.stats.sldp.plink import standardized_genotypes
from crossreg.stats.sldp.reconcile import add_counts
from crossreg.stats.sldp.refpanel import (
    Spectrum,
    block_spectrum,
    cache_path,
    read_cached_spectra,
    write_cached_spectra,
)
from crossreg.stats.sldp.regression import block_stats
from crossreg.stats.sldp.weights import block_weights

if TYPE_CHECKING:
    from crossreg.stats.sldp.checkpoint import Checkpoint

log = logging.getLogger("crossreg")
T = TypeVar("T")


@dataclass(frozen=True)
class BlockScan:
    """What the pass found: what is kept of each phenotype's blocks (their statistics are
    in the checkpoint, :meth:`~crossreg.stats.sldp.checkpoint.Checkpoint.pheno_stats`), the
    marginal annotations' ``.info`` sums (M, ‖v‖², support; each summed over the
    chromosomes), the reconciliation counts per file (and per phenotype file and
    chromosome), and the LD blocks with print SNPs and those whose truncated spectrum keeps
    no eigenvector."""

    per_pheno: dict[str, PhenoBlocks]
    info: Info
    counts: dict[str, dict[str, int]]
    ranks: dict[str, int]

    def add(self, part: ChromPart) -> None:
        """Add one chromosome's share, in chromosome order (the sums are in that order)."""
        for name, target in self.per_pheno.items():
            target.add(part.per_pheno[name])
        for name in INFO_FIELDS:
            self.info[name] = self.info[name] + part.info[name]
        for key, counted in part.counts.items():
            add_counts(self.counts, key, counted)
        for key, count in part.ranks.items():
            self.ranks[key] += count


@dataclass(frozen=True)
class BlockSettings:
    """How the pass weighs and caches: `weights` (one of ``weights.WEIGHTS``), the
    spectrum truncation percentage and the LD cache folder (None: no cache)."""

    weights: str
    spectrum_percent: float
    ld_cache: str | os.PathLike[str] | None


@dataclass(frozen=True)
class PassInputs:
    """What the pass reads besides the chromosome: the panel stem (``{bfile_chr}{chrom}``),
    its print SNPs, the LD blocks, the phenotypes with their heritability, the marginal
    and background annotation sets, and the settings."""

    bfile_chr: str
    printed: npt.NDArray[np.str_]
    blocks: LdBlocks
    phenos: Sequence[Phenotype]
    heritability: Mapping[str, Heritability]
    marginal: AnnotationSet
    background: AnnotationSet
    settings: BlockSettings


def scan_blocks(inputs: PassInputs, chroms: Sequence[str], checkpoint: Checkpoint) -> BlockScan:
    """The pass over the panel chromosomes `chroms` and their LD blocks, counted on a
    progress meter by blocks. Each chromosome the `checkpoint` holds is taken from it, and
    each one computed is saved to it; one chromosome's annotations, spectra and block
    statistics are held at a time."""
    blocks = inputs.blocks
    per_pheno = {s.name: PhenoBlocks.empty(len(blocks)) for s in inputs.phenos}
    ranks = {"with_print_snps": 0, "rank_0": 0}
    scan = BlockScan(per_pheno, dict.fromkeys(INFO_FIELDS, 0.0), {}, ranks)
    total_blocks = sum(len(blocks.on(c)) for c in chroms)
    with progress(total_blocks, "SLDP signed LD profiles", "blocks") as meter:
        for chrom in chroms:
            scan.add(_saved_part(inputs, chrom, checkpoint, meter))
    return scan


def _saved_part(
    inputs: PassInputs, chrom: str, checkpoint: Checkpoint, meter: Progress
) -> ChromPart:
    """The chromosome `chrom`'s share: taken from the `checkpoint` (without its block
    statistics), or computed and saved to it."""
    part = checkpoint.load(chrom, len(inputs.blocks))
    if part is not None:
        inputs.marginal.restore(part.annotations["marginal"], chrom_label(chrom))
        inputs.background.restore(part.annotations["background"], chrom_label(chrom))
        meter.skip(len(inputs.blocks.on(chrom)))
        return part
    part = _chrom_part(inputs, chrom, meter)
    checkpoint.save(part)
    return part


def _chrom_part(inputs: PassInputs, chrom: str, meter: Progress) -> ChromPart:
    """One panel chromosome's share of the pass, computed from its files."""
    blocks, marginal, background = inputs.blocks, inputs.marginal, inputs.background
    panel = load_chrom_panel(inputs.bfile_chr, chrom, inputs.printed, blocks)
    before = {"marginal": dict(marginal.matched), "background": dict(background.matched)}
    counts: dict[str, dict[str, int]] = {}
    annotations = chrom_annotations(panel, background, marginal, counts)
    n_background = len(background.names or [])
    with progress(len(panel.bim), f"{panel.label} annotation sums", "SNPs") as sums:
        chrom_info = annotations.info(sums)
    info: Info = {name: chrom_info[name][n_background:] for name in INFO_FIELDS}
    aligned = {}
    for stats in inputs.phenos:
        alignment, z, n = stats.align(panel, inputs.printed)
        add_counts(counts, f"{stats.source} {panel.label}", alignment.counts)
        aligned[stats.name] = (z / np.sqrt(n), n)
    sigma2g = {name: inputs.heritability[name].sigma2g for name in aligned}
    per_pheno = {s.name: PhenoBlocks.empty(len(blocks)) for s in inputs.phenos}
    chrom_stats: ChromStats = {s.name: {} for s in inputs.phenos}
    spectra = _chrom_blocks(
        panel, blocks, annotations, n_background, aligned, sigma2g, per_pheno, chrom_stats,
        inputs.settings, meter,
    )  # fmt: skip
    ranks = {
        "with_print_snps": len(spectra),
        "rank_0": sum(s.u.shape[1] == 0 for s in spectra.values()),
    }
    log.info("%s: %d blocks with print SNPs, %d SNPs", panel.label, len(spectra), len(panel.bim))
    state = {
        "marginal": marginal.state_since(before["marginal"]),
        "background": background.state_since(before["background"]),
    }
    return ChromPart(chrom, per_pheno, info, counts, ranks, state, len(panel.bim), chrom_stats)


def _chrom_blocks(
    panel: ChromPanel,
    blocks: LdBlocks,
    annotations: ChromAnnotations,
    n_background: int,
    aligned: dict[str, tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]],
    sigma2g: dict[str, float],
    per_pheno: dict[str, PhenoBlocks],
    stats: ChromStats,
    settings: BlockSettings,
    meter: Progress,
) -> dict[int, Spectrum]:
    """The LD blocks of one panel chromosome into `per_pheno` and `stats` (`aligned`: each
    phenotype's ahat and N per panel SNP); its blocks' spectra, written to the cache when
    they did not come from it."""
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
            target = per_pheno[name]
            target.note_signal(profiles[typed, n_background:])
            if not profiles.any():
                continue
            weighting = block_weights(spectrum, ahat_o, n_o, sigma2g[name], settings.weights)
            stats[name][int(block)] = block_stats(weighting, profiles, n_background)
            target.with_stats[block] = True
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
