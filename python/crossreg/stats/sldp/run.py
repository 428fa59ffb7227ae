"""``write_sldp``: the SLDP step from panel, annotations and summary statistics to results."""

from __future__ import annotations

import json
import logging
import math
import os
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

import numpy as np
import numpy.typing as npt
import polars as pl

from crossreg.errors import require_path_list
from crossreg.io.atomic import atomic_write
from crossreg.io.chroms import bare_chrom
from crossreg.plots import check_plot_options, remove_stale_figures
from crossreg.progress import Progress, progress
from crossreg.stats.sldp.annotations import (
    INFO_FIELDS,
    AnnotationTable,
    ChromAnnotations,
    read_sannot,
    sannot_path,
    signed_ld_profiles,
)
from crossreg.stats.sldp.background import BuiltBackgrounds, build_backgrounds
from crossreg.stats.sldp.figures import FIGURE_STEMS, write_figures
from crossreg.stats.sldp.panel import (
    ChromPanel,
    LdBlocks,
    chrom_label,
    load_chrom_panel,
    panel_chroms,
    read_ld_blocks,
)
from crossreg.stats.sldp.plink import standardized_genotypes
from crossreg.stats.sldp.reconcile import Alignment
from crossreg.stats.sldp.refpanel import (
    Spectrum,
    block_spectrum,
    cache_path,
    read_cached_spectra,
    write_cached_spectra,
)
from crossreg.stats.sldp.regression import BlockStats, block_stats, chunk_bounds, regress
from crossreg.stats.sldp.sad_annotations import SadAnnotations
from crossreg.stats.sldp.sumstats import (
    WEIGHTS,
    Heritability,
    Sumstats,
    block_weights,
    estimate_h2g,
    read_eqtl,
    read_ldscores,
    read_sumstats,
)
from crossreg.stats.sldp.tables import read_first_fields

RESULT_COLUMNS = [
    "pheno", "annot", "z", "p", "z_fast", "p_fast", "mu", "se_mu", "h2g", "r_f", "h2v_h2g",
    "h2v", "supp_frac",
]  # fmt: skip
log = logging.getLogger("crossreg")
T = TypeVar("T")


@dataclass(frozen=True)
class SldpRun:
    """What a run wrote: the results table, phenotypes × annotations, chunk tables."""

    results: Path
    phenotypes: int
    annotations: int
    chunk_tables: int


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


class AnnotationSet:
    """Annotation sources by kind; sannot stems are read per chromosome, SAD files one
    chromosome at a time (:class:`SadAnnotations`), built backgrounds (MAF bins, GTF
    features) come per chromosome from `built`. `alpha` (α and the option that set it)
    scales the sannot and SAD values; built backgrounds are per normalised genotype
    already."""

    def __init__(
        self,
        stems: Sequence[str],
        sad: Sequence[str | os.PathLike[str]] = (),
        built: BuiltBackgrounds | None = None,
        alpha: tuple[float, str] = (-1.0, ""),
    ):
        self.stems = list(stems)
        self.sad = [SadAnnotations(p) for p in sad]
        self.built = built
        self._alpha = alpha
        self.names: list[str] | None = None
        self.origin: dict[str, str] = {}  # annotation name -> its file (or stem)
        self.matched = {source: 0 for source in self.sources}

    @property
    def sources(self) -> list[str]:
        built = [s.source for s in self.built.sources] if self.built else []
        return self.stems + [t.source for t in self.sad] + built

    def alpha(self, source: str) -> tuple[float, str]:
        """α of `source` (one of `sources`) and the option that set it."""
        built = [s.source for s in self.built.sources] if self.built else []
        return (-1.0, "") if source in built else self._alpha

    def aligned(self, panel: ChromPanel) -> list[tuple[AnnotationTable, Alignment]]:
        """Each source's annotations on the panel's chromosome with their alignment to its
        SNPs, in `sources` order (a SAD file: only the rows the alignment uses)."""
        chrom = panel.chrom
        tables = [read_sannot(sannot_path(stem, chrom)) for stem in self.stems]
        pairs = [(t, t.align(panel)) for t in tables]
        pairs += [sad.aligned(panel) for sad in self.sad]
        built = self.built.tables(chrom) if self.built else []
        pairs += [(t, t.align(panel)) for t in built]
        names = [n for t, _ in pairs for n in t.names]
        if self.names is None:
            if len(set(names)) != len(names):
                raise ValueError(f"annotation names repeat across {', '.join(self.sources)}")
            self.names = names
            self.origin = {
                n: s for (t, _), s in zip(pairs, self.sources, strict=True) for n in t.names
            }
        elif names != self.names:
            raise ValueError(
                f"{chrom_label(chrom)}: annotation columns differ from the first chromosome's"
            )
        return pairs

    def described(self, names: Sequence[str]) -> str:
        """`names` with their files: ``a, b ({stem}{chrom}.sannot.gz)`` or ``(file)``."""
        by_source: dict[str, list[str]] = {}
        for name in names:
            by_source.setdefault(self.origin.get(name, "?"), []).append(name)
        return "; ".join(
            f"{', '.join(found)} ({source}{{chrom}}.sannot.gz)"
            if source in self.stems
            else f"{', '.join(found)} ({source})"
            for source, found in by_source.items()
        )


def read_print_snps(path: str | os.PathLike[str]) -> npt.NDArray[np.str_]:
    """One SNP id per line (the first field), no header."""
    return np.unique(read_first_fields(path))


def _phenotypes(
    sumstats: Sequence[str | os.PathLike[str]],
    eqtl: Sequence[str | os.PathLike[str]],
    eqtl_n: float | None,
    print_snps: npt.NDArray[np.str_],
) -> list[Sumstats]:
    found = [read_sumstats(p, print_snps) for p in sumstats]
    found += [read_eqtl(p, print_snps, eqtl_n) for p in eqtl]
    if not found:
        raise ValueError("give at least one --sumstats or --eqtl file")
    unnamed = [s.source for s in found if not s.name]
    if unnamed:
        raise ValueError(
            f"{unnamed[0]}: its file name leaves no phenotype name (the name without "
            ".gz/.tsv/.txt/.sumstats); rename the file"
        )
    names = [s.name for s in found]
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise ValueError(f"phenotype names repeat (file names without suffix): {repeated}")
    return found


def write_sldp(
    bfile_chr: str,
    print_snps: str | os.PathLike[str],
    ld_blocks: str | os.PathLike[str],
    ldscores_chr: str,
    out: str | os.PathLike[str],
    *,
    sumstats: Sequence[str | os.PathLike[str]] = (),
    eqtl: Sequence[str | os.PathLike[str]] = (),
    eqtl_n: float | None = None,
    sannot_chr: Sequence[str] = (),
    sad: Sequence[str | os.PathLike[str]] = (),
    background_sannot_chr: Sequence[str] = (),
    background_maf_bins: int = 0,
    background_gtf: str | os.PathLike[str] | None = None,
    chroms: Sequence[str] | None = None,
    seed: int = 0,
    flips: int = 1_000_000,
    jk_blocks: int = 300,
    weights: str = "Winv_ahat_h",
    alpha: float = -1.0,
    background_alpha: float = -1.0,
    spectrum_percent: float = 95.0,
    ld_cache: str | os.PathLike[str] | None = None,
    verbose_thresh: float = 0.05,
    plots: bool = True,
    svg: bool = False,
) -> SldpRun:
    """Run SLDP for every phenotype × marginal annotation and write ``out/results.tsv``,
    ``out/summary.json``, ``out/chunks/{pheno}/{annot}.tsv`` (rows with p below
    `verbose_thresh`) and, unless `plots` is false, the figures ``out/z_heatmap.png`` and
    ``out/z_correlation.png`` (an SVG beside each with `svg`). Each phenotype's sign flips
    use a fresh legacy RNG seeded by `seed`, so its numbers equal a reference run on that
    phenotype alone."""
    check_plot_options(plots, svg)
    for name, value in {
        "sumstats": sumstats,
        "eqtl": eqtl,
        "sad": sad,
        "sannot_chr": sannot_chr,
        "background_sannot_chr": background_sannot_chr,
    }.items():
        require_path_list(value, name)
    if weights not in WEIGHTS:
        raise ValueError(f"weights must be one of {', '.join(WEIGHTS)}, not {weights}")
    if flips < 1 or jk_blocks < 2:
        raise ValueError("flips must be ≥ 1 and jk-blocks ≥ 2")
    if not 0 < spectrum_percent < 100:
        raise ValueError(
            f"--spectrum-percent must lie strictly between 0 and 100, got {spectrum_percent}"
        )
    for option, scale in (("--alpha", alpha), ("--background-alpha", background_alpha)):
        if not math.isfinite(scale):
            raise ValueError(f"{option} must be a finite number (-1 or 0, as sldp), got {scale}")
    if bool(sannot_chr) == bool(sad):
        raise ValueError("give annotations as --sannot-chr stems or --sad files (one kind)")
    if background_alpha != -1.0 and not background_sannot_chr:
        raise ValueError(
            f"--background-alpha {background_alpha:g} scales --background-sannot-chr files, and "
            "none is given (the built MAF-bin and GTF backgrounds are per normalised genotype "
            "whatever it says); leave it out"
        )
    if eqtl_n is not None and not eqtl:
        raise ValueError(
            f"--eqtl-n {eqtl_n:g} is the sample size of --eqtl tables, and none is given "
            "(--sumstats files hold their own N); leave it out"
        )
    chroms = _analysed_chroms(chroms, bfile_chr)
    printed = read_print_snps(print_snps)
    blocks = read_ld_blocks(ld_blocks)
    _check_blocks_cover(blocks, chroms)
    ld = read_ldscores(ldscores_chr)
    phenos = _phenotypes(sumstats, eqtl, eqtl_n, printed)
    heritability = {s.name: estimate_h2g(s, ld) for s in phenos}
    marginal = AnnotationSet(sannot_chr, sad, alpha=(alpha, "--alpha"))
    built = build_backgrounds(bfile_chr, chroms, maf_bins=background_maf_bins, gtf=background_gtf)
    background = AnnotationSet(
        background_sannot_chr, built=built, alpha=(background_alpha, "--background-alpha")
    )
    per_pheno = {
        s.name: PhenoBlocks({}, np.zeros(len(blocks)), np.zeros((len(blocks), 2), dtype=np.int64))
        for s in phenos
    }
    info: dict[str, npt.NDArray[np.float64] | float] = dict.fromkeys(INFO_FIELDS, 0.0)
    counts: dict[str, dict[str, int]] = {}
    total_blocks = sum(len(blocks.on(c)) for c in chroms)
    # blocks with print SNPs, and those whose truncated spectrum keeps no eigenvector
    ranks = {"with_print_snps": 0, "rank_0": 0}
    with progress(total_blocks, "SLDP signed LD profiles", "blocks") as meter:
        for chrom in chroms:
            panel = load_chrom_panel(bfile_chr, chrom, printed, blocks)
            annotations = _chrom_annotations(panel, background, marginal, counts)
            n_background = len(background.names or [])
            with progress(len(panel.bim), f"{panel.label} annotation sums", "SNPs") as sums:
                chrom_info = annotations.info(sums)
            for name in INFO_FIELDS:
                info[name] = info[name] + chrom_info[name][n_background:]
            aligned = {}
            for stats in phenos:
                alignment, z, n = stats.align(panel)
                _add_counts(counts, f"{stats.source} {panel.label}", alignment.counts)
                aligned[stats.name] = (z / np.sqrt(n), n)
            print_index = np.cumsum(panel.printed) - 1
            ranges = zip(panel.block_ids, panel.block_start, panel.block_stop, strict=True)
            spectra_path = cache_path(panel, blocks, spectrum_percent, ld_cache)
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
                    else block_spectrum(x, mask, spectrum_percent)
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
                    weighting = block_weights(
                        spectrum, ahat_o, n_o, heritability[name].sigma2g, weights
                    )
                    target.stats[int(block)] = block_stats(weighting, profiles, n_background)
                    divisors = weighting.divisors
                    target.indefinite += int(divisors is not None and bool((divisors <= 0).any()))
                    target.m_h[block] = typed.sum()
                    rows = print_index[start:stop][mask]
                    target.snpind[block] = (rows.min(), rows.max() + 1)
            if cached is None:
                write_cached_spectra(spectra_path, spectra)
            ranks["with_print_snps"] += len(spectra)
            ranks["rank_0"] += sum(s.u.shape[1] == 0 for s in spectra.values())
            log.info(
                "%s: %d blocks with print SNPs, %d SNPs", panel.label, len(spectra), len(panel.bim)
            )
            del annotations, spectra, cached  # freed before the next chromosome's are read
    _check_ranks(ranks, spectrum_percent)
    for group in (marginal, background):
        for source, matched in group.matched.items():
            if matched == 0:
                raise ValueError(f"{source}: no annotated SNP matches the panel {bfile_chr}")
    for stats in phenos:
        if not per_pheno[stats.name].typed:
            found = {key: 0 for key in ("matched", "ambiguous", "mismatched", "missing")}
            for chrom in chroms:
                for key in found:
                    found[key] += counts.get(f"{stats.source} {chrom_label(chrom)}", {}).get(key, 0)
            raise ValueError(
                f"{stats.source}: no SNP of it is typed at a print SNP of an LD block "
                f"(of the panel's SNPs: {found['matched']} matched, {found['ambiguous']} "
                f"strand-ambiguous, {found['mismatched']} with other alleles, {found['missing']} "
                "absent); check its SNP ids and A1/A2 against the panel's .bim"
            )
    _check_annotation_signal(phenos, per_pheno, marginal)
    for stats in phenos:
        _warn_indefinite(stats, heritability[stats.name], per_pheno[stats.name])
    names = marginal.names or []
    background_names = background.names or []
    return _write_outputs(
        Path(out),
        phenos,
        heritability,
        per_pheno,
        blocks,
        names,
        info,
        counts,
        ranks,
        background_names=background_names,
        flips=flips,
        seed=seed,
        jk_blocks=jk_blocks,
        verbose_thresh=verbose_thresh,
        plots=plots,
        svg=svg,
        settings={
            "bfile_chr": bfile_chr,
            "print_snps": str(print_snps),
            "ld_blocks": str(ld_blocks),
            "ldscores_chr": ldscores_chr,
            "ldscore_chroms": ld.chroms,
            "M_5_50": ld.m_5_50,
            "annotations": marginal.sources,
            "background": background.sources,
            "background_names": background_names,
            "background_maf_bins": background_maf_bins,
            "background_gtf": None if background_gtf is None else str(background_gtf),
            "background_built": built.describe() if built else None,
            "chroms": chroms,
            "seed": seed,
            "flips": flips,
            "jk_blocks": jk_blocks,
            "weights": weights,
            "alpha": alpha,
            "background_alpha": background_alpha,
            "spectrum_percent": spectrum_percent,
            "verbose_thresh": verbose_thresh,
        },
    )


def _chrom_annotations(
    panel: ChromPanel,
    background: AnnotationSet,
    marginal: AnnotationSet,
    counts: dict[str, dict[str, int]],
) -> ChromAnnotations:
    """Background then marginal annotations on the panel's chromosome, aligned to its SNPs
    (counted in `counts` and each set's ``matched``)."""
    tables, alignments, alphas = [], [], []
    for group in (background, marginal):
        pairs = group.aligned(panel)
        for (table, alignment), source in zip(pairs, group.sources, strict=True):
            group.matched[source] += alignment.counts["matched"]
            _add_counts(counts, table.source, alignment.counts)
            tables.append(table)
            alignments.append(alignment)
            alphas.append(group.alpha(source))
    _check_disjoint(marginal.names or [], background.names or [])
    return ChromAnnotations(panel, tables, alignments, alphas)


def chunk_table_path(pheno: str, annotation: str) -> Path:
    """Where a phenotype × annotation's table goes in ``chunks/``: ``{pheno}/{annotation}.tsv``,
    a folder per phenotype, so that no two pairs share a file (each part written as one
    name by `escape_file_name`)."""
    return Path(escape_file_name(pheno), f"{escape_file_name(annotation)}.tsv")


def escape_file_name(name: str) -> str:
    """`name` as one plain file name: ``%``, ``/`` and ``\\`` written ``%25``, ``%2F`` and
    ``%5C``, and a leading ``.`` written ``%2E`` (so ``.`` and ``..`` name no other folder)."""
    escaped = name.replace("%", "%25").replace("/", "%2F").replace("\\", "%5C")
    return "%2E" + escaped[1:] if escaped.startswith(".") else escaped


def _check_disjoint(names: list[str], background_names: list[str]) -> None:
    """Stop when a marginal annotation has a background annotation's name (the reference
    requires disjoint sets); checked on the first chromosome, before any LD work."""
    overlap = sorted(set(names) & set(background_names))
    if overlap:
        raise ValueError(
            f"background and marginal annotation names overlap: {overlap}; rename the "
            "background column(s)"
        )


def _warn_indefinite(stats: Sumstats, h: Heritability, target: PhenoBlocks) -> None:
    """Warn when σ²_g < 0 (mean χ² below 1) left W = R/N + σ²_g R² with an eigenvalue at or
    below 0 in some blocks: the reference keeps σ²_g so, and so does crossreg, but W⁻¹ then
    weights those blocks' leading LD components by a negative or unbounded factor."""
    if not target.indefinite:
        return
    log.warning(
        "%s: sigma2g %.3g is below 0 (mean chi2 %.4g < 1), so W = R/N + sigma2g R^2 has an "
        "eigenvalue at or below 0 in %d of %d LD blocks (those with an LD eigenvalue at or "
        "above 1/(N |sigma2g|)): their weights are negative or unbounded, as in the reference; "
        "--weights Winv_ahat_I does not use sigma2g",
        stats.source,
        h.sigma2g,
        h.mean_chi2,
        target.indefinite,
        len(target.stats),
    )


def _check_ranks(ranks: dict[str, int], spectrum_percent: float) -> None:
    """Stop when every block's truncated LD spectrum keeps no eigenvector (so every
    statistic would be NaN); warn when some do not."""
    total, empty = ranks["with_print_snps"], ranks["rank_0"]
    why = (
        f"its first eigenvalue alone holds {spectrum_percent:g}% of the block's variance "
        "(--spectrum-percent), as with one print SNP in the block"
    )
    if total and empty == total:
        raise ValueError(
            f"every one of the {total} LD blocks with print SNPs keeps no LD eigenvector: "
            f"{why}; give more print SNPs per block or a higher --spectrum-percent"
        )
    if empty:
        log.warning(
            "%d of %d LD blocks with print SNPs keep no LD eigenvector (%s): they contribute "
            "0, as in the reference",
            empty,
            total,
            why,
        )


def _check_annotation_signal(
    phenos: list[Sumstats], per_pheno: dict[str, PhenoBlocks], marginal: AnnotationSet
) -> None:
    """Stop, naming them, when no marginal annotation has a signed LD profile at a
    phenotype's typed print SNPs (nothing to regress); warn, naming them, about those
    without one while others have one (their rows are NaN, p 1)."""
    names = marginal.names or []
    for stats in phenos:
        signal = per_pheno[stats.name].signal
        empty = [name for k, name in enumerate(names) if not signal[k]]
        if not empty:
            continue
        where = (
            f"no signed LD profile at the typed print SNPs of {stats.source}: they are 0 at "
            "every SNP of the LD blocks with typed print SNPs"
        )
        check = (
            "check that their values are not all 0 there and that their SNP ids and A1/A2 "
            "match the panel's .bim"
        )
        if len(empty) == len(names):
            raise ValueError(
                f"annotation(s) {marginal.described(empty)} have {where}, so there is "
                f"nothing to regress; {check}"
            )
        log.warning(
            "annotation(s) %s have %s: their rows of results.tsv have no estimate (NaN, p 1); %s",
            marginal.described(empty),
            where,
            check,
        )


def _analysed_chroms(requested: Sequence[str] | None, bfile_chr: str) -> list[str]:
    """The panel chromosomes `requested` names (``chr7`` and ``7`` alike), as the panel's
    file names spell them; every one with panel files when None."""
    available = panel_chroms(bfile_chr)
    if not available:
        raise ValueError(f"{bfile_chr}: no panel files {bfile_chr}{{chrom}}.bed/.bim/.fam")
    if not requested:
        return available
    spelled = {bare_chrom(c): c for c in available}
    wanted = [bare_chrom(c) for c in requested]
    twice = sorted({c for c in wanted if wanted.count(c) > 1})
    if twice:
        raise ValueError(f"--chroms names chromosome(s) {', '.join(twice)} more than once")
    absent = [c for c, bare in zip(requested, wanted, strict=True) if bare not in spelled]
    if absent:
        raise ValueError(f"{bfile_chr}: no panel files for chromosome(s) {', '.join(absent)}")
    return [spelled[bare] for bare in wanted]


def _check_blocks_cover(blocks: LdBlocks, chroms: list[str]) -> None:
    """Stop when no LD block lies on the analysed chromosomes; warn about those without."""
    without = [c for c in chroms if not len(blocks.on(c))]
    if len(without) == len(chroms):
        found = ", ".join(dict.fromkeys(blocks.bare.tolist())) or "none"
        raise ValueError(
            f"{blocks.path}: no LD block lies on the analysed chromosome(s) "
            f"{', '.join(chroms)} (its blocks are on {found}); check its chromosome names"
        )
    if without:
        log.warning(
            "%s: no LD block on chromosome(s) %s: their SNPs add no regression signal but "
            "count in M and ‖v‖² (so in r_f, h2v_h2g, h2v and supp_frac), as in the reference",
            blocks.path,
            ", ".join(without),
        )


def _counting(items: Iterable[T], meter: Progress) -> Iterator[T]:
    """`items`, each counted as one unit on `meter` once the caller is done with it."""
    for item in items:
        yield item
        meter.update()


def _add_counts(counts: dict[str, dict[str, int]], key: str, new: dict[str, int]) -> None:
    into = counts.setdefault(key, {})
    for name, value in new.items():
        into[name] = into.get(name, 0) + value


def _chunks(
    target: PhenoBlocks, blocks: LdBlocks, jk_blocks: int
) -> tuple[list[BlockStats], list[dict[str, object]]]:
    """Chunk sums and the reference's chunk description rows."""
    order = np.nonzero(~blocks.mhc)[0]
    sums, rows = [], []
    for begin, end in chunk_bounds(target.m_h[order], jk_blocks):
        ids = [int(i) for i in order[begin:end] if int(i) in target.stats]
        if not ids:
            continue
        total = target.stats[ids[0]]
        for i in ids[1:]:
            total = total + target.stats[i]
        sums.append(total)
        first, last = min(ids), max(ids)
        rows.append(
            {
                "ldblock_begin": first,
                "ldblock_end": last + 1,
                "chr_begin": str(blocks.chrom[first]),
                "chr_end": str(blocks.chrom[last]),
                "bp_begin": int(blocks.start[first]),
                "bp_end": int(blocks.end[last]),
                "snpind_begin": int(target.snpind[first, 0]),
                "snpind_end": int(target.snpind[last, 1]),
                "numsnps": float(target.m_h[ids].sum()),
            }
        )
    return sums, rows


def _replace_chunk_tables(folder: Path, tables: dict[Path, pl.DataFrame]) -> None:
    """Write `tables` (paths inside `folder`), first removing the tables an earlier run left
    in `folder` that this run does not write, and the phenotype folders left empty."""
    for path in sorted(folder.rglob("*.tsv")):
        if path.is_file() and path not in tables:
            path.unlink()
    for sub in sorted(folder.iterdir()) if folder.is_dir() else []:
        if sub.is_dir() and not any(sub.iterdir()):
            sub.rmdir()
    for path, table in tables.items():
        with atomic_write(path) as handle:
            table.write_csv(handle, separator="\t")


def _write_outputs(
    out: Path,
    phenos: list[Sumstats],
    heritability: dict[str, Heritability],
    per_pheno: dict[str, PhenoBlocks],
    blocks: LdBlocks,
    names: list[str],
    info: dict[str, npt.NDArray[np.float64] | float],
    counts: dict[str, dict[str, int]],
    ranks: dict[str, int],
    *,
    background_names: list[str],
    flips: int,
    seed: int,
    jk_blocks: int,
    verbose_thresh: float,
    plots: bool,
    svg: bool,
    settings: dict[str, object],
) -> SldpRun:
    rows: list[dict[str, object]] = []
    chunk_tables: dict[Path, pl.DataFrame] = {}
    chunk_counts = {}
    sqnorm, supp, m = (np.asarray(info[k], dtype=np.float64) for k in ("sqnorm", "supp", "M"))
    with progress(len(phenos) * len(names), "SLDP sign flips", "annotations") as meter:
        for stats in phenos:
            h = heritability[stats.name]
            sums, chunk_rows = _chunks(per_pheno[stats.name], blocks, jk_blocks)
            if len(sums) < 2:
                raise ValueError(f"{stats.source}: {len(sums)} chunk(s) with typed SNPs; need ≥ 2")
            chunk_counts[stats.name] = len(sums)
            log.info(
                "%s: regression over %d chunks, %d annotations", stats.name, len(sums), len(names)
            )
            meter.set_postfix(pheno=stats.name)
            res = regress(sums, background_names, flips, seed, meter)
            rf = res.mu * np.sqrt(sqnorm / h.h2g)
            h2v_h2g = rf**2 - res.se**2 * sqnorm / (m * h.sigma2g)
            for k, name in enumerate(names):
                rows.append(
                    {
                        "pheno": stats.name,
                        "annot": name,
                        "z": res.z[k],
                        "p": res.p[k],
                        "z_fast": res.z_fast[k],
                        "p_fast": res.p_fast[k],
                        "mu": res.mu[k],
                        "se_mu": res.se[k],
                        "h2g": h.h2g,
                        "r_f": rf[k],
                        "h2v_h2g": h2v_h2g[k],
                        "h2v": h2v_h2g[k] * h.h2g,
                        "supp_frac": supp[k] / m[k],
                    }
                )
                if res.p[k] < verbose_thresh:
                    table = pl.DataFrame(chunk_rows).with_columns(
                        q=pl.Series(res.q[:, k]), r=pl.Series(res.r[:, k])
                    )
                    chunk_tables[out / "chunks" / chunk_table_path(stats.name, name)] = table
    _replace_chunk_tables(out / "chunks", chunk_tables)
    results = pl.DataFrame(
        rows,
        schema=[(c, pl.String if c in ("pheno", "annot") else pl.Float64) for c in RESULT_COLUMNS],
    )
    with atomic_write(out / "results.tsv") as handle:
        results.write_csv(handle, separator="\t", null_value="nan")
    figures = write_figures(results, out, flips=flips, svg=svg) if plots else []
    remove_stale_figures(out, FIGURE_STEMS, figures)
    summary = {
        "settings": settings,
        "phenotypes": {
            s.name: {
                "source": s.source,
                "h2g": heritability[s.name].h2g,
                "sigma2g": heritability[s.name].sigma2g,
                "Nbar": heritability[s.name].nbar,
                "mean_chi2": heritability[s.name].mean_chi2,
                "chunks": chunk_counts[s.name],
                "blocks": len(per_pheno[s.name].stats),
                "blocks_w_not_positive": per_pheno[s.name].indefinite,
            }
            for s in phenos
        },
        "annotations": names,
        "reconciliation": counts,
        "ld_blocks": ranks,
        "chunk_tables": len(chunk_tables),
        "figures": [f.name for f in figures],
    }
    with atomic_write(out / "summary.json") as handle:
        json.dump(summary, handle, indent=2)
    return SldpRun(out / "results.tsv", len(phenos), len(names), len(chunk_tables))
