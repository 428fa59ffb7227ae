"""``crossreg predict``: tracks for FASTA records, BED regions or whole chromosomes."""

from __future__ import annotations

import argparse
from pathlib import Path

from crossreg.commands.help import OneOf
from crossreg.commands.inputs import (
    check_bed_on_fasta,
    check_tracks,
    model_head,
    require_output,
    require_paths,
    require_suffix,
)
from crossreg.commands.options import (
    add_head_argument,
    add_inference_arguments,
    add_resume_argument,
    add_shard_argument,
    add_targets_argument,
    head_option,
    inference_options,
)
from crossreg.commands.values import COUNT, chrom_list
from crossreg.model.checkpoint_info import CheckpointInfo
from crossreg.model.tiling import check_whole_records, chromosome_intervals
from crossreg.step_defaults import CHUNK_DTYPES, DEFAULT_BATCH_SIZE, DEFAULT_CHUNK_WINDOWS

HELP = (
    "predict tracks for each FASTA record or BED region with a checkpoint (an array), or "
    "along whole chromosomes or BED regions as one BigWig per track (--bigwig)"
)
DESCRIPTION = (
    "Reads a checkpoint and a FASTA (with --bed, regions of it); writes one array of "
    "(bins, tracks) per record or region to --out (.npy, or .h5 with labels), or one "
    "BigWig per track into the folder --bigwig."
)
EXAMPLES = (
    "crossreg predict --model joint/best --head human --fasta windows.fa --out preds.h5",
    "crossreg predict --model joint/best --head mouse --fasta hg38.fa --bigwig mouse_on_hg38/ \\",
    "    --chroms chr1,chr2",
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``crossreg predict``."""
    parser.add_argument(
        "--model", metavar="DIR", type=Path, required=True, help="checkpoint directory"
    )
    add_head_argument(
        parser,
        "which head predicts (required when the model has several; --genome is the same "
        "option); any head on any FASTA, e.g. --head mouse on human DNA",
    )
    parser.add_argument(
        "--fasta",
        metavar="FASTA",
        type=Path,
        required=True,
        help="sequences (FASTA: plain, gzip or bgzip)",
    )
    parser.add_argument(
        "--bed",
        metavar="BED",
        type=Path,
        default=None,
        help="regions of the FASTA to predict: with --out each is centred in a window of the "
        "model's length (its bins cover the window's central bins x bin width bp), and one "
        "longer than that window is tiled into "
        "windows NAME:1..NAME:k, as --bigwig tiles (the .h5's first_bin and bin_count say "
        "which bins of each tile it; a .npy, without coordinates, is refused for them); "
        "with --bigwig, the regions to tile",
    )
    outputs = parser.add_mutually_exclusive_group(required=True)
    outputs.add_argument(
        "--out", metavar="FILE", type=Path, help="output .npy (N, bins, tracks) or .h5 with labels"
    )
    outputs.add_argument(
        "--bigwig",
        type=Path,
        metavar="OUTDIR",
        help="tile whole chromosomes (--chroms) or the --bed regions with windows whose "
        "central bins abut and write one BigWig per track into OUTDIR at the model's bin "
        "width (bins within the crop of a chromosome's ends, where no window fits, get no "
        "value); with tracks.tsv and summary.json. OUTDIR must be absent or empty, or hold "
        "the BigWigs of an earlier run to replace whole with --overwrite",
    )
    add_targets_argument(parser, "predict")
    group = parser.add_argument_group("--bigwig")
    group.add_argument(
        "--chroms",
        type=chrom_list,
        default=None,
        metavar="CHR,CHR",
        help="chromosomes to tile, comma-separated (default: every FASTA record)",
    )
    group.add_argument(
        "--chunk-size",
        type=COUNT,
        default=None,
        metavar="WINDOWS",
        help="windows predicted and kept on disk per chunk; memory holds one chunk "
        f"(WINDOWS x bins x tracks float32) (default: {DEFAULT_CHUNK_WINDOWS})",
    )
    group.add_argument(
        "--chunk-dtype",
        action=OneOf,
        choices=CHUNK_DTYPES,
        default=None,
        help="how the chunks keep the predictions on disk until the BigWigs are written: "
        "float16 (as Basenji stores predictions) takes half the space, its values rounded "
        "to 11 significant bits and clipped to +-65,504 (default: float32, the BigWigs "
        "hold the values predicted)",
    )
    add_resume_argument(group, "OUTDIR", finished=True)
    add_shard_argument(
        group,
        "predict",
        "the windows, in whole chunks (the BigWigs are then one run's bytes)",
        "the shard that finishes last writes the BigWigs from every shard's chunks (under "
        "torchrun each rank takes its share by itself)",
    )
    group.add_argument(
        "--overwrite",
        action="store_true",
        help="replace the BigWigs of an earlier run in OUTDIR (the folder is replaced whole)",
    )
    group.add_argument(
        "--skip-space-check",
        action="store_true",
        help="start even when the free space is less than the chunks and an upper bound "
        "of the BigWigs need (they take less), with a warning; a disk that fills still "
        "stops the run, the predictions kept for --resume",
    )
    add_inference_arguments(parser, batch_size=DEFAULT_BATCH_SIZE)


def run(args: argparse.Namespace) -> int:
    """Predict and write the output file (or the BigWigs); arguments and inputs are
    checked before the model loads. With --bigwig, ``args.written_folder`` tells the run
    log which process wrote OUTDIR: OUTDIR in the one that wrote the BigWigs, ``None`` in
    a shard that left them to another."""
    if args.bigwig is None:
        bigwig_only = [
            f"--{n.replace('_', '-')}"
            for n in (
                "chroms",
                "chunk_size",
                "chunk_dtype",
                "shard",
                "resume",
                "overwrite",
                "skip_space_check",
            )
            if getattr(args, n)
        ]
        if bigwig_only:
            raise ValueError(f"{', '.join(bigwig_only)}: only with --bigwig OUTDIR")
    elif args.chroms and args.bed:
        raise ValueError(
            "--chroms and --bed: give one of them (the chromosomes or regions to tile)"
        )
    require_paths(args, "fasta", "bed", folders=("model",))
    if args.bigwig is None:
        require_output(args, folder=False)
        # crossreg.predict.OUTPUT_SUFFIXES, checked before importing it (and torch)
        require_suffix(args, "out", (".npy", ".h5"))
    else:
        require_output(args, "bigwig", folder=True)
        from crossreg.io.bigwig_write import BIGWIG_FOLDER
        from crossreg.io.replaceable import check_replaceable

        # with --resume, a finished OUTDIR may be this run's: write_bigwigs decides
        replaceable = args.overwrite or args.resume
        check_replaceable(args.bigwig, replaceable, BIGWIG_FOLDER, "--bigwig")
    info, head = model_head(args)
    check_tracks(info, head, args.targets, head_option(args))
    check_windows(args, info)
    shard = args.shard
    if args.bigwig is None:
        from crossreg.predict import write_predictions

        write_predictions(
            args.model,
            args.fasta,
            args.out,
            head=args.head,
            bed=args.bed,
            tracks=args.targets,
            options=inference_options(args),
        )
        return 0
    from crossreg.predict.bigwig import write_bigwigs

    result = write_bigwigs(
        args.model,
        args.fasta,
        args.bigwig,
        head=args.head,
        chroms=args.chroms,
        bed=args.bed,
        tracks=args.targets,
        options=inference_options(args),
        chunk_windows=args.chunk_size or DEFAULT_CHUNK_WINDOWS,
        chunk_dtype=args.chunk_dtype or CHUNK_DTYPES[0],
        resume=args.resume,
        head_option=head_option(args),
        shard=shard,
        overwrite=args.overwrite,
        space_check=not args.skip_space_check,
    )
    args.written_folder = result.outdir if result.written else None
    if result.written:
        print(f"{result.tracks} BigWigs in {result.outdir} (tracks.tsv lists them)")
    else:
        print(f"shard done ({result.windows} windows); the last shard to finish writes the BigWigs")
    return 0


def check_windows(args: argparse.Namespace, info: CheckpointInfo) -> None:
    """The ``--bed`` regions, ``--chroms`` or whole records to predict lie on the FASTA
    and fit the model, checked against the FASTA's index and the checkpoint's config
    before torch and the model load (each by the check the prediction makes)."""
    sizes = check_bed_on_fasta(args)
    if sizes is None or info.geometry is None or args.bed is not None:
        return
    if args.bigwig is not None:
        chromosome_intervals(sizes, args.chroms, info.geometry, source=str(args.fasta))
    else:
        check_whole_records(sizes, info.geometry.seq_length, source=str(args.fasta))
