"""``crossreg sad``: variant effect scores (alt − ref summed over the window) per track."""

from __future__ import annotations

import argparse
from pathlib import Path

from crossreg.commands.inputs import (
    check_tracks,
    check_vcf_on_fasta,
    model_head,
    require_output,
    require_paths,
    require_rereadable,
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
from crossreg.commands.values import COUNT, MAX_BP, whole
from crossreg.runlog import output_folder
from crossreg.step_defaults import DEFAULT_CHUNK_ALLELES, SAD_BATCH_SIZE
from crossreg.variants.sad_names import (
    OUTPUT_SUFFIXES,
    check_indel_rule,
    check_output,
    parse_stats,
)

HELP = "score every VCF variant on every track of a model head: SAD = sum over bins of alt - ref"
DESCRIPTION = (
    "Reads a checkpoint, a FASTA and a VCF of variants on it; writes the scores to "
    "--out, an .h5 as basenji_sad.py lays it out or a .tsv, with figures beside it."
)
EXAMPLES = (
    "crossreg sad --model joint/best --head human --fasta hg38.fa --vcf gwas.vcf.gz --out sad.h5",
    "crossreg sad --model joint/best --head mouse --fasta hg38.fa --vcf gwas.vcf.gz \\",
    "    --out shard0.h5 --shard 0/4   # then crossreg sad-merge --out sad.h5 shard*.h5",
)


def _stats_arg(text: str) -> tuple[str, ...]:
    """``--stats``: the statistics named, known and without repeats."""
    try:
        return parse_stats(text)
    except ValueError as err:
        raise argparse.ArgumentTypeError(str(err)) from None


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``crossreg sad``."""
    scored = parser.add_argument_group("what is scored")
    chunks = parser.add_argument_group("chunks, resume and shards")
    parser.add_argument(
        "--model", metavar="DIR", type=Path, required=True, help="checkpoint directory"
    )
    add_head_argument(
        parser,
        "which head scores (required when the model has several; --genome is the same "
        "option); any head can score any FASTA, e.g. the mouse head on human variants",
    )
    parser.add_argument(
        "--fasta",
        metavar="FASTA",
        type=Path,
        required=True,
        help="the variants' genome (FASTA: plain, gzip or bgzip)",
    )
    add_variants_genome_argument(parser, "VCF")
    parser.add_argument(
        "--vcf", metavar="VCF", type=Path, required=True, help="variants (VCF, .gz allowed)"
    )
    parser.add_argument(
        "--out",
        metavar="FILE",
        type=Path,
        required=True,
        help="output .h5 (basenji_sad.py layout) or .tsv",
    )
    parser.add_argument(
        "--strict",
        action="store_true",
        help="stop at the first record on a chromosome the FASTA lacks (default: skip such "
        "records, count them in the log and the output's metadata)",
    )
    scored.add_argument(
        "--stats",
        metavar="STAT,STAT",
        type=_stats_arg,
        default="SAD",
        help="comma-separated statistics, as basenji_sad.py --stats (default: SAD): SAD, "
        "logSAD, sqrtSAD, SAX, D1, logD1, sqrtD1, D2, logD2, sqrtD2, JS, logJS, REF, ALT "
        "(REF/ALT: the bin profiles, .h5 only); each goes to its own dataset with "
        "{stat}_pct, or to .tsv columns (one per track, named by its id for SAD alone, "
        "else STAT:id)",
    )
    chunks.add_argument(
        "--chunk-size",
        metavar="ALLELES",
        type=COUNT,
        default=DEFAULT_CHUNK_ALLELES,
        help="alleles scored and written per chunk (default: %(default)s); memory stays bounded by "
        "it whatever the VCF's size, but for a few bytes per record (and per allele that "
        "cannot be scored) counted before scoring",
    )
    add_resume_argument(chunks, finished=True)
    add_shard_argument(
        chunks,
        "score",
        "the VCF's records on the FASTA",
        "join the shards with crossreg sad-merge. Under torchrun each process takes its "
        "rank's share by itself and the last to finish merges them into --out",
    )
    parser.add_argument(
        "--gtf",
        metavar="GTF",
        type=Path,
        default=None,
        help="gene annotations (GTF, .gz allowed): also write FILE.genes.tsv beside the output "
        "(resumed, sharded and merged with it), "
        "one row per variant x gene with a TSS in the window's output bins: the sum of "
        "alt - ref over the gene's TSS bins, per track (read the CAGE tracks' columns)",
    )
    add_targets_argument(scored, "score")
    scored.add_argument(
        "--cluster-bp",
        type=whole(0, MAX_BP),
        default=0,
        metavar="D",
        help="let the SNPs of each D-bp tile of a chromosome, [kD, (k+1)D), share one "
        "reference window centred on the tile's middle (0-based kD + D/2), whatever SNPs "
        "the tile holds (a SNP alone in its tile too): each SNP sits up to D/2 bp off its "
        "window's centre, so fewer sequences go through the model and a SNP's score can "
        "differ slightly from its unclustered SAD; indels keep their own windows. Default "
        "0: only identical reference windows are shared (multi-allelic and duplicated "
        "records), which is exact",
    )
    scored.add_argument(
        "--indel",
        default="basenji",
        metavar="RULE",
        help="how an indel's windows are framed and its predictions compared: basenji "
        "(Basenji's windows: each sequence cut to the window from its middle, so the two "
        "are offset by half the length difference; bin by bin), left (the bases before "
        "the variant in place in both; bin by bin, the bases after it shift), or realign "
        "(left-anchored, the alternative prediction mapped back into reference "
        "coordinates: deleted bins masked, inserted bins folded)",
    )
    add_inference_arguments(parser, batch_size=SAD_BATCH_SIZE)
    add_plot_arguments(parser)


def run(args: argparse.Namespace) -> int:
    """Score the variants and write the output file."""
    require_paths(args, "fasta", "vcf", "gtf", folders=("model",))
    require_rereadable(args, "vcf")
    require_output(args, folder=False)
    info, head = model_head(args)
    check_tracks(info, head, args.targets, head_option(args))
    check_indel_rule(args.indel)
    shard = args.shard
    require_suffix(args, "out", OUTPUT_SUFFIXES)
    stats = check_output(args.out, args.stats)
    check_vcf_on_fasta(args)
    from crossreg.variants.sad import write_sad

    result = write_sad(
        args.model,
        args.fasta,
        args.vcf,
        args.out,
        head=args.head,
        options=inference_options(args),
        strict=args.strict,
        stats=stats,
        chunk_size=args.chunk_size,
        resume=args.resume,
        head_option=head_option(args),
        shard=shard,
        gtf=args.gtf,
        tracks=args.targets,
        cluster_bp=args.cluster_bp,
        indel=args.indel,
        variants_genome=args.variants_genome,
        **plot_options(args),
    )
    # the run log: under torchrun, the rank that merged writes it, once the job's file is
    args.written_folder = output_folder(args.out) if result.wrote_output else None
    skipped = sum(result.skipped.values())
    notes = [f"{skipped} records off the FASTA's chromosomes skipped"] if skipped else []
    if result.skipped_alleles:
        reasons = "; ".join(f"{why}: {n}" for why, n in result.skipped_alleles.items())
        share = "" if result.wrote_output and shard is None else " of this shard"
        notes.append(f"{sum(result.skipped_alleles.values())} alleles{share} skipped ({reasons})")
    note = f" ({', '.join(notes)})" if notes else ""
    what = ",".join(result.stats)
    print(f"{what} of {result.alleles} alleles × {result.tracks} tracks in {result.path}{note}")
    return 0
