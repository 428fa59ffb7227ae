"""``crossreg ism``: in silico saturation mutagenesis around variants or regions."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from crossreg.commands.inputs import (
    check_bed_on_fasta,
    check_tracks,
    check_vcf_on_fasta,
    model_head,
    require_output,
    require_paths,
    require_suffix,
)
from crossreg.commands.options import (
    add_head_argument,
    add_inference_arguments,
    add_plot_arguments,
    add_resume_argument,
    add_shard_argument,
    add_targets_argument,
    add_variants_genome_argument,
    head_option,
    inference_options,
    plot_options,
)
from crossreg.commands.values import COUNT, MAX_SEQ_LENGTH, whole
from crossreg.step_defaults import DEFAULT_CHUNK_SITES, ISM_BATCH_SIZE, ISM_WIDTH
from crossreg.variants.ism_span import mutated_span

if TYPE_CHECKING:
    from crossreg.synth.motifs import Motif

HELP = (
    "saturation mutagenesis: every base of a central window around each VCF variant or BED "
    "region mutated to the 3 others, scored per track (Basenji's scores.h5)"
)
DESCRIPTION = (
    "Reads a checkpoint, a FASTA and the sites (--vcf or --bed); writes the scores to "
    "the .h5 --out and one figure per site beside it."
)
EXAMPLES = (
    "crossreg ism --model joint/best --head human --fasta hg38.fa --vcf hits.vcf --out ism.h5",
    "crossreg ism --model joint/best --head mouse --fasta hg38.fa --bed enhancers.bed \\",
    "    --out ism_bed.h5 --width 100 --targets CAGE --stats sum",
)


def parse_stats(text: str) -> list[str]:
    """``"sum,center"`` → ``["sum", "center"]``; a statistic given twice is an error (the
    output holds one dataset per statistic)."""
    stats = [part.strip() for part in text.split(",") if part.strip()]
    bad = [s for s in stats if s not in ("sum", "center")]
    if bad or not stats:
        raise argparse.ArgumentTypeError(f"statistics are sum and center, got '{text}'")
    twice = sorted({s for s in stats if stats.count(s) > 1})
    if twice:
        raise argparse.ArgumentTypeError(
            f"statistic {', '.join(twice)} is given more than once in '{text}'; give each "
            "statistic once"
        )
    return stats


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``crossreg ism``."""
    scored = parser.add_argument_group("what is scored")
    chunks = parser.add_argument_group("chunks, resume and shards")
    parser.add_argument(
        "--model", metavar="DIR", type=Path, required=True, help="checkpoint directory"
    )
    add_head_argument(
        parser,
        "which head scores (required when the model has several; --genome is the same "
        "option); any head can score any FASTA, e.g. the mouse head on human sites",
    )
    parser.add_argument(
        "--fasta",
        metavar="FASTA",
        type=Path,
        required=True,
        help="the sites' genome (FASTA: plain, gzip or bgzip)",
    )
    sites = parser.add_mutually_exclusive_group(required=True)
    sites.add_argument(
        "--vcf",
        metavar="VCF",
        type=Path,
        help="variants: one site per record, the window SAD builds for its REF (the ALT is "
        "not applied; Basenji also scores each ALT's sequence). N is encoded as 0, as "
        "Basenji's ISM does, where SAD uses 0.25: a mutation's effect equals the SNP's SAD "
        "only when the window holds no N",
    )
    sites.add_argument(
        "--bed",
        metavar="BED",
        type=Path,
        help="regions: a window centred on each region, reverse-complemented where the strand "
        "(column 6) is '-', as basenji_sat_bed.py does",
    )
    add_variants_genome_argument(parser, "VCF or BED")
    parser.add_argument(
        "--strict",
        action="store_true",
        help="with --vcf: stop at the first record on a chromosome the FASTA lacks (default: "
        "skip such records, count them in the log and the output's metadata)",
    )
    parser.add_argument(
        "--out",
        metavar="FILE",
        type=Path,
        required=True,
        help="output .h5 (basenji_sat_vcf.py's scores.h5)",
    )
    scored.add_argument(
        "--width",
        metavar="BP",
        type=whole(1, MAX_SEQ_LENGTH),
        default=ISM_WIDTH,
        help="central bases to mutate, at most the model's input",
    )
    add_targets_argument(scored, "score", "; figures are drawn for each of them")
    scored.add_argument(
        "--stats",
        type=parse_stats,
        default=["sum", "center"],
        metavar="sum,center",
        help="statistics, comma-separated: sum (over bins), center (the 2 central bins) "
        "(default: both)",
    )
    parser.add_argument(
        "--figures",
        type=Path,
        default=None,
        metavar="DIR",
        help="where to draw one PNG per site (logo + mutation heat map) for the track with "
        "the largest |score| (or each --targets track); default: beside --out, named after "
        "it (ism.h5: ism.figures/); with --shard none are drawn (give it to ism-merge)",
    )
    chunks.add_argument(
        "--chunk-size",
        type=COUNT,
        default=DEFAULT_CHUNK_SITES,
        metavar="SITES",
        help="sites scored and kept in FILE.partial/ at a time (default: %(default)s): an "
        "interrupted run keeps its finished chunks, and loses at most one chunk's work",
    )
    add_resume_argument(chunks, finished=True)
    add_shard_argument(
        chunks,
        "score",
        "the sites, whole chunks of --chunk-size sites each (a shard past the last chunk "
        "has none), into --out, a shard file",
        "it draws no figures: join the shards with crossreg ism-merge, which writes the "
        "bytes one run writes and draws them. Every shard needs the same inputs and options "
        "(--chunk-size too)",
    )
    add_motifs_argument(parser)
    add_inference_arguments(parser, batch_size=ISM_BATCH_SIZE)
    add_plot_arguments(
        parser,
        redraw="the same command with --resume, without --no-plots, draws them from the .h5, "
        "scoring nothing",
        outputs="the .h5",
    )


def add_motifs_argument(parser: argparse.ArgumentParser) -> None:
    """``--motifs FILE``: JASPAR matrices whose matches the figures mark."""
    parser.add_argument(
        "--motifs",
        type=Path,
        default=None,
        metavar="FILE",
        help="JASPAR matrices (a '>ID NAME' line, then rows 'A [ counts ]' to 'T [ ... ]'): "
        "each figure marks the (up to 3) matches of relative score 0.8 or more, either "
        "strand, whose bases carry the most importance, by name and strand",
    )


def read_motif_option(args: argparse.Namespace) -> list[Motif]:
    """The matrices of ``--motifs`` (none without it), read before any work; ``--motifs``
    with ``--no-plots`` (no figure to mark) is refused."""
    if args.motifs is None:
        return []
    if not args.plots:
        raise ValueError(
            "--motifs marks matches on the figures, but --no-plots draws none: drop one of them"
        )
    from crossreg.variants.ism_motifs import read_motifs

    return read_motifs(args.motifs)


def run(args: argparse.Namespace) -> int:
    """Mutate, score and write the output file (and figures)."""
    require_paths(args, "fasta", "vcf", "bed", "motifs", folders=("model",))
    require_suffix(args, "out", [".h5"])
    require_output(args, folder=False)
    info, head = model_head(args)
    check_tracks(info, head, args.targets, head_option(args))
    check_bed_on_fasta(args)
    check_vcf_on_fasta(args)
    motifs = read_motif_option(args)
    if info.geometry is not None:
        mutated_span(info.geometry.seq_length, args.width)
    from crossreg.variants.ism import write_ism
    from crossreg.variants.ism_draw import figures_folder

    if args.shard is None:  # a shard draws none (write_ism refuses --figures with it)
        args.figures = args.figures or figures_folder(args.out)
        if args.plots:
            require_output(args, "figures", folder=True)

    result = write_ism(
        args.model,
        args.fasta,
        args.out,
        vcf=args.vcf,
        bed=args.bed,
        head=args.head,
        width=args.width,
        tracks=args.targets,
        stats=args.stats,
        options=inference_options(args),
        figures=args.figures,
        strict=args.strict,
        chunk_size=args.chunk_size,
        resume=args.resume,
        head_option=head_option(args),
        shard=args.shard,
        motifs=motifs,
        variants_genome=args.variants_genome,
        **plot_options(args),
    )
    note = ""
    if args.shard is not None:
        note = f"; shard {args.shard}: join the shards with crossreg ism-merge"
    elif args.plots:
        note = f"; {sum(p.suffix == '.png' for p in result.figures)} figures in {args.figures}"
    skipped = sum(result.skipped.values())
    if skipped:
        note += f" ({skipped} records off the FASTA's chromosomes skipped)"
    print(
        f"ISM of {result.sites} sites × {result.width} bp × {result.tracks} tracks in "
        f"{result.path}{note}"
    )
    return 0
