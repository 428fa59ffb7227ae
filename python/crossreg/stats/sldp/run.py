"""``write_sldp``: the SLDP step from panel, annotations and summary statistics to results."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from crossreg.errors import require_name_list
from crossreg.plots import check_plot_options
from crossreg.stats.sldp.annotation_set import AnnotationSet
from crossreg.stats.sldp.annotations import sannot_path
from crossreg.stats.sldp.background import BuiltBackgrounds, build_backgrounds
from crossreg.stats.sldp.block_loop import BlockScan, BlockSettings, PassInputs, scan_blocks
from crossreg.stats.sldp.checkpoint import Checkpoint, fingerprint, refuse_checkpoint
from crossreg.stats.sldp.inputs import (
    analysed_chroms,
    check_blocks_cover,
    read_phenotypes,
    read_print_snps,
)
from crossreg.stats.sldp.ldscores import LdScores, ldscore_chroms, read_ldscores
from crossreg.stats.sldp.options import check_options
from crossreg.stats.sldp.outputs import SldpRun, finished_outputs, run_record, write_outputs
from crossreg.stats.sldp.panel import read_ld_blocks
from crossreg.stats.sldp.scan_checks import (
    check_annotation_signal,
    check_ranks,
    require_blocked_print_snps,
    require_typed,
    warn_indefinite,
)

PANEL_SUFFIXES = ("bed", "bim", "fam", "frq")
LD_FILES = ("ldscore.gz", "M_5_50")


def write_sldp(
    bfile_chr: str | os.PathLike[str],
    print_snps: str | os.PathLike[str],
    ld_blocks: str | os.PathLike[str],
    ldscores_chr: str | os.PathLike[str],
    out: str | os.PathLike[str],
    *,
    sumstats: Sequence[str | os.PathLike[str]] = (),
    eqtl: Sequence[str | os.PathLike[str]] = (),
    eqtl_n: float | None = None,
    sannot_chr: Sequence[str | os.PathLike[str]] = (),
    sad: Sequence[str | os.PathLike[str]] = (),
    background_sannot_chr: Sequence[str | os.PathLike[str]] = (),
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
    resume: bool = False,
) -> SldpRun:
    """Run SLDP for every phenotype × marginal annotation and write ``out/results.tsv``,
    ``out/summary.json``, ``out/chunks/{pheno}/{annot}.tsv`` (rows with p below
    `verbose_thresh`) and, unless `plots` is false, the figures ``out/z_heatmap.png`` and
    ``out/z_correlation.png`` (an SVG beside each with `svg`). Each phenotype's sign flips
    use a fresh legacy RNG seeded by `seed`, so its numbers equal a reference run on that
    phenotype alone.

    Each finished panel chromosome's share of the block pass is kept in ``out/.partial/``
    (:mod:`crossreg.stats.sldp.checkpoint`), removed once the outputs are written; `resume`
    continues an interrupted run from its finished chromosomes (refused, naming what
    differs, when its inputs or the options that decide the pass were others), and the
    outputs are the same bytes as an uninterrupted run's. With `resume` and no checkpoint,
    a finished `out` whose summary.json records the same inputs (by content) and options
    is left as it is and returned (other settings are refused naming each; an earlier
    crossreg's outputs are computed again:
    :func:`~crossreg.stats.sldp.outputs.finished_outputs`). Without `resume`, a left-over
    checkpoint is refused; an input error found in the pass or after it (a ValueError)
    removes it, since the corrected rerun cannot resume."""
    check_plot_options(plots, svg)
    if chroms is not None:
        require_name_list(chroms, "chroms", "22")
    if not resume:
        refuse_checkpoint(out)
    check_options(
        sumstats=sumstats,
        eqtl=eqtl,
        eqtl_n=eqtl_n,
        sannot_chr=sannot_chr,
        sad=sad,
        background_sannot_chr=background_sannot_chr,
        flips=flips,
        jk_blocks=jk_blocks,
        weights=weights,
        alpha=alpha,
        background_alpha=background_alpha,
        spectrum_percent=spectrum_percent,
    )
    # the stems are prefixes that a chromosome and a suffix complete: text (a Path is one)
    bfile, ldscores = os.fspath(bfile_chr), os.fspath(ldscores_chr)
    stems = [os.fspath(stem) for stem in sannot_chr]
    background_stems = [os.fspath(stem) for stem in background_sannot_chr]
    chroms = analysed_chroms(chroms, bfile)
    given = {  # the files are listed together: the same ones given to another option differ
        "sumstats": f"{len(sumstats)} file(s)",
        "eqtl": f"{len(eqtl)} file(s)",
        "sad": f"{len(sad)} file(s)",
        "sannot_chr": f"{len(sannot_chr)} stem(s)",
        "background_sannot_chr": f"{len(background_sannot_chr)} stem(s)",
    }
    pass_settings = fingerprint(
        {
            **given,
            "background_maf_bins": background_maf_bins,
            "eqtl_n": eqtl_n,
            "chroms": chroms,
            "weights": weights,
            "alpha": alpha,
            "background_alpha": background_alpha,
            "spectrum_percent": spectrum_percent,
        },
        _input_files(
            bfile, chroms, ldscores, ldscore_chroms(ldscores), [print_snps, ld_blocks],
            [*sumstats, *eqtl], [*stems, *background_stems], sad, background_gtf,
        ),
        sampled=sad,  # read a chromosome's rows at a time, never whole
    )  # fmt: skip
    record = run_record(
        pass_settings,
        seed=seed,
        flips=flips,
        jk_blocks=jk_blocks,
        verbose_thresh=verbose_thresh,
    )
    finished = finished_outputs(Path(out), record, plots=plots, svg=svg) if resume else None
    if finished is not None:
        return finished
    inputs, ld, built = _read_inputs(
        bfile, print_snps, ld_blocks, ldscores, chroms,
        sumstats=sumstats, eqtl=eqtl, eqtl_n=eqtl_n, sannot_chr=stems, sad=sad,
        background_sannot_chr=background_stems, background_maf_bins=background_maf_bins,
        background_gtf=background_gtf, alpha=alpha, background_alpha=background_alpha,
        settings=BlockSettings(weights, spectrum_percent, ld_cache),
    )  # fmt: skip
    phenos, heritability = inputs.phenos, inputs.heritability
    marginal, background = inputs.marginal, inputs.background
    checkpoint = Checkpoint(out, [s.name for s in phenos])
    checkpoint.open(pass_settings, resume=resume)
    with checkpoint.kept(len(chroms)):
        scan = scan_blocks(inputs, chroms, checkpoint)
        _check_scan(inputs, scan, chroms, spectrum_percent)
        names = marginal.names or []
        background_names = background.names or []
        return write_outputs(
            Path(out),
            phenos,
            heritability,
            scan,
            inputs.blocks,
            names,
            background_names=background_names,
            flips=flips,
            seed=seed,
            jk_blocks=jk_blocks,
            verbose_thresh=verbose_thresh,
            plots=plots,
            svg=svg,
            settings={
                "bfile_chr": bfile,
                "print_snps": str(print_snps),
                "ld_blocks": str(ld_blocks),
                "ldscores_chr": ldscores,
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
            record=record,
            checkpoint=checkpoint,
        )


def _read_inputs(
    bfile_chr: str,
    print_snps: str | os.PathLike[str],
    ld_blocks: str | os.PathLike[str],
    ldscores_chr: str,
    chroms: list[str],
    *,
    sumstats: Sequence[str | os.PathLike[str]],
    eqtl: Sequence[str | os.PathLike[str]],
    eqtl_n: float | None,
    sannot_chr: Sequence[str],
    sad: Sequence[str | os.PathLike[str]],
    background_sannot_chr: Sequence[str],
    background_maf_bins: int,
    background_gtf: str | os.PathLike[str] | None,
    alpha: float,
    background_alpha: float,
    settings: BlockSettings,
) -> tuple[PassInputs, LdScores, BuiltBackgrounds | None]:
    """Read and check what the block pass over `chroms` needs, before it starts: the print
    SNPs, the LD blocks (covering `chroms`), the LD scores, the phenotypes and their
    heritability, and the marginal and background annotation sets (the built backgrounds
    among them). Returns the pass's inputs, the LD scores and the built backgrounds."""
    printed = read_print_snps(print_snps)
    blocks = read_ld_blocks(ld_blocks)
    check_blocks_cover(blocks, chroms)
    ld = read_ldscores(ldscores_chr)
    phenos, heritability = read_phenotypes(sumstats, eqtl, eqtl_n, printed, ld)
    marginal = AnnotationSet(sannot_chr, sad, alpha=(alpha, "--alpha"))
    marginal.require_sad_chroms(chroms)
    built = build_backgrounds(bfile_chr, chroms, maf_bins=background_maf_bins, gtf=background_gtf)
    background = AnnotationSet(
        background_sannot_chr, built=built, alpha=(background_alpha, "--background-alpha")
    )
    marginal.require_sannot_files(chroms, "--sannot-chr")
    background.require_sannot_files(chroms, "--background-sannot-chr")
    inputs = PassInputs(
        bfile_chr, printed, blocks, phenos, heritability, marginal, background, settings
    )
    return inputs, ld, built


def _check_scan(
    inputs: PassInputs, scan: BlockScan, chroms: Sequence[str], spectrum_percent: float
) -> None:
    """Stop, after the pass, where it leaves nothing to test: no LD block kept an
    eigenvector, an annotation source matched no panel SNP, a phenotype is typed at no
    print SNP, no marginal annotation has a signed LD profile at a phenotype's SNPs; warn
    where some blocks are so, and where σ²_g < 0 left a phenotype's weights indefinite."""
    require_blocked_print_snps(scan.ranks, inputs.bfile_chr, inputs.printed, inputs.blocks, chroms)
    check_ranks(scan.ranks, spectrum_percent)
    for group in (inputs.marginal, inputs.background):
        group.require_matches(inputs.bfile_chr)
    require_typed(inputs.phenos, scan, chroms)
    check_annotation_signal(inputs.phenos, scan.per_pheno, inputs.marginal)
    for stats in inputs.phenos:
        warn_indefinite(stats, inputs.heritability[stats.name], scan.per_pheno[stats.name])


def _input_files(
    bfile_chr: str,
    chroms: Sequence[str],
    ldscores_chr: str,
    ld_chroms: Sequence[str],
    tables: Sequence[str | os.PathLike[str]],
    phenotypes: Sequence[str | os.PathLike[str]],
    sannot_stems: Sequence[str],
    sad: Sequence[str | os.PathLike[str]],
    gtf: str | os.PathLike[str] | None,
) -> list[Path]:
    """Every file a run reads: the panel's of `chroms`, the LD scores' of `ld_chroms`,
    `tables` (print SNPs, LD blocks), the phenotype files, each sannot stem's file of
    each of `chroms`, the SAD files and the GTF."""
    files = [Path(f"{bfile_chr}{c}.{suffix}") for c in chroms for suffix in PANEL_SUFFIXES]
    files += [Path(f"{ldscores_chr}{c}.l2.{kind}") for c in ld_chroms for kind in LD_FILES]
    files += [Path(p) for p in (*tables, *phenotypes, *sad)]
    files += [sannot_path(stem, c) for stem in sannot_stems for c in chroms]
    return files + ([Path(gtf)] if gtf is not None else [])
