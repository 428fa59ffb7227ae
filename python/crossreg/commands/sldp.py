"""``crossreg sldp``: signed LD profile regression of annotations on summary statistics."""

from __future__ import annotations

import argparse
import math
from pathlib import Path

from crossreg.commands.help import OneOf
from crossreg.commands.inputs import (
    require_output,
    require_own_folder,
    require_paths,
    rerun_when_stopped,
)
from crossreg.commands.options import add_plot_arguments, plot_options
from crossreg.commands.values import MAX_COUNT, POSITIVE, SEED, chrom_list, number, whole

#: The most background MAF bins: each needs panel SNPs of its own, and a panel's MAF
#: quantiles do not go finer than this.
MAX_MAF_BINS = 1000

#: The most sign flips: far more than any p-value needs (the reference's default is 10**6).
MAX_FLIPS = 10**10

HELP = "SLDP: test signed variant annotations (e.g. SAD) against GWAS or eQTL summary statistics"
DESCRIPTION = (
    "Reads a reference panel (PLINK files), its LD blocks and LD scores, the signed "
    "annotations (crossreg sad output or .sannot.gz files) and the summary statistics "
    "(--sumstats or --eqtl); writes into --out results.tsv (z and p per phenotype and "
    "annotation), summary.json and figures."
)
EXAMPLES = (
    "crossreg sldp --bfile-chr 1000G.EUR. --print-snps hm3.snps --ld-blocks ld_blocks.bed \\",
    "    --ldscores-chr ldscores/LDscore. --sad sad.h5 --sumstats liver.sumstats.gz --out sldp/",
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``crossreg sldp`` (named as the reference package's)."""
    _add_panel_arguments(parser.add_argument_group("reference panel"))
    _add_annotation_arguments(parser.add_argument_group("annotations"))
    _add_phenotype_arguments(parser.add_argument_group("phenotypes"))
    _add_regression_arguments(parser.add_argument_group("the regression"))
    parser.add_argument("--out", metavar="DIR", type=Path, required=True, help="output directory")
    parser.add_argument(
        "--resume",
        action="store_true",
        help="continue an interrupted run from DIR/.partial/, where each finished "
        "chromosome's share of the LD block pass is kept: only the others are computed, and "
        "the outputs are the same bytes as an uninterrupted run's (refused, naming what "
        "differs, when the inputs or the options that decide the pass are not the ones it "
        "started with; without --resume, a left-over DIR/.partial/ is refused); a finished DIR "
        "whose summary.json records the same inputs and options is left as it is (nothing to "
        "do), one of other settings refused naming each",
    )
    add_plot_arguments(parser)


def _add_panel_arguments(parser: argparse._ActionsContainer) -> None:
    """The reference panel, regression SNPs, LD blocks and LD scores."""
    parser.add_argument(
        "--bfile-chr",
        metavar="PREFIX",
        required=True,
        help="panel prefix: PREFIX{chrom}.bed/.bim/.fam/.frq",
    )
    parser.add_argument(
        "--print-snps",
        metavar="FILE",
        type=Path,
        required=True,
        help="regression SNP ids, one per line (the first field), no header",
    )
    parser.add_argument(
        "--ld-blocks",
        metavar="FILE",
        type=Path,
        required=True,
        help="LD blocks: chrN start end, no header; a block holds the SNPs with start <= BP < "
        "end; chr6 blocks overlapping the MHC (25,684,587-35,455,756) are left out",
    )
    parser.add_argument(
        "--ldscores-chr",
        metavar="PREFIX",
        required=True,
        help="prefix of PREFIX{chrom}.l2.ldscore.gz and .l2.M_5_50 (every chromosome found)",
    )


def _add_annotation_arguments(parser: argparse._ActionsContainer) -> None:
    """The annotations tested (``--sannot-chr`` or ``--sad``) and the backgrounds."""
    annotations = parser.add_mutually_exclusive_group(required=True)
    annotations.add_argument(
        "--sannot-chr",
        metavar="PREFIX",
        nargs="+",
        action="extend",
        default=[],
        help="annotation prefixes: PREFIX{chrom}.sannot.gz",
    )
    annotations.add_argument(
        "--sad",
        metavar="FILE",
        type=Path,
        nargs="+",
        action="extend",
        default=[],
        help="crossreg sad .h5/.tsv files: one annotation per track, from their SAD "
        "statistic (a file of other --stats only is refused); an .h5 is read one "
        "chromosome at a time",
    )
    parser.add_argument(
        "--background-sannot-chr",
        metavar="PREFIX",
        nargs="+",
        action="extend",
        default=[],
        help="background annotation prefixes: PREFIX{chrom}.sannot.gz, conditioned on in "
        "the joint regression (no results rows of their own)",
    )
    parser.add_argument(
        "--background-maf-bins",
        type=whole(0, MAX_MAF_BINS),
        default=0,
        metavar="K",
        help="add K background MAF bins (maf_bin1..K; edges: MAF quantiles of the panel's "
        "MAF >= 0.05 SNPs, from its .frq), each SNP signed +1/-1 by whether bim A1 is its "
        "minor allele",
    )
    parser.add_argument(
        "--background-gtf",
        type=Path,
        default=None,
        metavar="GTF",
        help="add coding, utr, intron backgrounds and their .extend.500 versions from this "
        "GTF (CDS/start_codon/stop_codon, UTR features, transcript minus exons), signed by "
        "minor allele",
    )


def _add_phenotype_arguments(parser: argparse._ActionsContainer) -> None:
    """The summary statistics: GWAS (``--sumstats``) and eQTL tables."""
    parser.add_argument(
        "--sumstats",
        metavar="FILE",
        type=Path,
        nargs="+",
        action="extend",
        default=[],
        help="ldsc munged SNP A1 A2 Z N files (Z for allele A1)",
    )
    parser.add_argument(
        "--eqtl",
        metavar="FILE",
        type=Path,
        nargs="+",
        action="extend",
        default=[],
        help="GTEx-style per-gene eQTL tables (SNP|rsid|variant_id, gene_id, ref/alt or "
        "chr_pos_ref_alt ids, z or slope+slope_se, N), combined per SNP",
    )
    parser.add_argument(
        "--eqtl-n",
        metavar="N",
        type=POSITIVE,
        default=None,
        help="sample size of every --eqtl table, in place of their N column (for tables "
        "without one; refused without --eqtl)",
    )


def _add_regression_arguments(parser: argparse._ActionsContainer) -> None:
    """The chromosomes, sign flips, jackknife, weights, scaling and outputs' detail."""
    parser.add_argument(
        "--chroms",
        metavar="CHR,CHR",
        type=chrom_list,
        default=None,
        help="comma-separated chromosomes, with or without chr (default: every one with "
        "panel files)",
    )
    parser.add_argument("--seed", metavar="N", type=SEED, default=0, help="sign-flip RNG seed")
    parser.add_argument(
        "--flips",
        metavar="N",
        type=whole(1, MAX_FLIPS),
        default=1_000_000,
        help="most sign flips (T), drawn 100,000 at a time until p >= 0.01, so p >= 1/T",
    )
    parser.add_argument(
        "--jk-blocks",
        metavar="N",
        type=whole(2, MAX_COUNT),
        default=300,
        help="about this many chunks of consecutive LD blocks, of about equal typed SNP counts "
        "for the sign flips and the jackknife; at least 2",
    )
    parser.add_argument(
        "--weights",
        default="Winv_ahat_h",
        action=OneOf,
        choices=["Winv_ahat_h", "Winv_ahat_I"],
        help="regression weights, as sldp --weights: Winv_ahat_h weights by W^-1 with "
        "W = R/N + sigma2g R^2 (R: LD, sigma2g: per-SNP heritability), Winv_ahat_I does not "
        "weight (W = I)",
    )
    parser.add_argument(
        "--alpha",
        metavar="ALPHA",
        type=number(-math.inf, math.inf),
        default=-1.0,
        help=(
            "-1: annotation is per normalised genotype; 0: per allele; any α scales by "
            "(2p(1-p))^((α+1)/2), 0 at a SNP of MAF 0 or NA (the --sannot-chr and --sad "
            "annotations; --background-alpha the backgrounds')"
        ),
    )
    parser.add_argument(
        "--background-alpha",
        metavar="ALPHA",
        type=number(-math.inf, math.inf),
        default=-1.0,
        help="--alpha of the --background-sannot-chr files (sldp preprocesses each file with "
        "its own; the built MAF-bin and GTF backgrounds are per normalised genotype, so "
        "another value is refused without --background-sannot-chr)",
    )
    parser.add_argument(
        "--spectrum-percent",
        metavar="PERCENT",
        type=number(0.0, 100.0, above=True, below=True),
        default=95.0,
        help="per LD block, keep the leading eigenvectors before the one at which their "
        "cumulative share of the variance reaches this percent (so a little less is kept, "
        "as sldp does; strictly between 0 and 100)",
    )
    parser.add_argument(
        "--ld-cache",
        metavar="DIR",
        type=Path,
        default=None,
        help="keep each LD block's spectra here for later runs of the same panel "
        "(default: none, computed by every run)",
    )
    parser.add_argument(
        "--verbose-thresh",
        metavar="P",
        type=number(0.0, 1.0),
        default=0.05,
        help="write chunk tables below this p",
    )


def run(args: argparse.Namespace) -> int:
    """Run SLDP and write the results directory."""
    require_paths(args, "print_snps", "ld_blocks", "sad", "sumstats", "eqtl", "background_gtf")
    require_output(args, folder=True)
    from crossreg.stats.sldp.checkpoint import CHECKPOINT
    from crossreg.stats.sldp.outputs import output_names
    from crossreg.stats.sldp.run import write_sldp

    require_own_folder(args, unfinished=CHECKPOINT, own_files=output_names())
    from crossreg.variants.sad_read import check_sad_file

    for path in args.sad:
        check_sad_file(path, "--sad")

    with rerun_when_stopped(args):
        result = write_sldp(
            args.bfile_chr,
            args.print_snps,
            args.ld_blocks,
            args.ldscores_chr,
            args.out,
            sumstats=args.sumstats,
            eqtl=args.eqtl,
            eqtl_n=args.eqtl_n,
            sannot_chr=args.sannot_chr,
            sad=args.sad,
            background_sannot_chr=args.background_sannot_chr,
            background_maf_bins=args.background_maf_bins,
            background_gtf=args.background_gtf,
            chroms=args.chroms,
            seed=args.seed,
            flips=args.flips,
            jk_blocks=args.jk_blocks,
            weights=args.weights,
            alpha=args.alpha,
            background_alpha=args.background_alpha,
            spectrum_percent=args.spectrum_percent,
            ld_cache=args.ld_cache,
            verbose_thresh=args.verbose_thresh,
            resume=args.resume,
            **plot_options(args),
        )
    print(
        f"SLDP of {result.phenotypes} phenotype(s) × {result.annotations} annotation(s) "
        f"in {result.results}"
    )
    return 0
