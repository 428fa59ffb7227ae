"""``crossreg transfer``: a head's predictions on a genome's held-out windows against its
measured tracks (gene TSSs; the most variable bins for accessibility)."""

from __future__ import annotations

import argparse
from pathlib import Path

from crossreg.commands.help import OneOf
from crossreg.commands.inputs import (
    model_head,
    open_store,
    require_output,
    require_own_folder,
    require_paths,
    rerun_when_stopped,
)
from crossreg.commands.options import (
    add_head_argument,
    add_inference_arguments,
    add_plot_arguments,
    inference_options,
    plot_options,
)
from crossreg.commands.values import number
from crossreg.evaluate.defaults import NORMALIZATIONS, VARIABLE_FRACTION
from crossreg.evaluate.files import recorded_heat_maps, transfer_names
from crossreg.step_defaults import TRANSFER_BATCH_SIZE

HELP = (
    "compare a head's predictions (e.g. mouse) with a genome's measured tracks at held-out "
    "gene TSSs (DNase: most variable bins): per matched pair and as a track × track matrix"
)
DESCRIPTION = (
    "Reads a checkpoint, a dataset store of the other genome and that genome's genes "
    "(GTF); writes into --out transfer.tsv (one R per matched pair of tracks), "
    "matrix.tsv (every pair), summary.json and heat maps."
)
EXAMPLES = (
    "crossreg transfer --model joint/best --head mouse --data data/human --gtf human.gtf \\",
    "    --out transfer/",
)


def _splits(text: str) -> list[str]:
    names = [s.strip() for s in text.split(",") if s.strip()]
    if not names:
        raise argparse.ArgumentTypeError("name at least one split")
    if "train" in names:
        raise argparse.ArgumentTypeError("held-out splits only (not train)")
    return names


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``crossreg transfer``."""
    parser.add_argument(
        "--model", metavar="DIR", type=Path, required=True, help="checkpoint directory"
    )
    add_head_argument(
        parser,
        "the head that predicts, e.g. mouse on a human store (required when the model has several)",
        alias=False,
    )
    parser.add_argument(
        "--data",
        metavar="DIR",
        type=Path,
        required=True,
        help="dataset store with the measured tracks",
    )
    parser.add_argument(
        "--gtf", metavar="GTF", type=Path, required=True, help="genes of the store's genome"
    )
    parser.add_argument(
        "--splits",
        type=_splits,
        default=["valid", "test"],
        metavar="valid,test",
        help="held-out splits whose windows give the sites (default: valid,test)",
    )
    parser.add_argument("--split", dest="splits", type=_splits, help=argparse.SUPPRESS)
    parser.add_argument(
        "--variable-fraction",
        metavar="FRACTION",
        type=number(0.0, 1.0, above=True),
        help="accessibility (DNASE, ATAC) is compared at this fraction of the held-out bins "
        f"most variable across the genome's cell types (default {VARIABLE_FRACTION}); "
        "refused where there are none (fewer than 2 accessibility cell types)",
    )
    parser.add_argument(
        "--pairs",
        type=Path,
        metavar="FILE",
        help="matched pairs of tracks instead of equal cell types: a TSV with the header "
        "head_track<TAB>measured_track and one pair of track identifiers (the head's, the "
        "store's) a line",
    )
    parser.add_argument(
        "--normalize",
        action=OneOf,
        choices=NORMALIZATIONS,
        default=NORMALIZATIONS[0],
        help="how each side's log(1 + x) is normalised across its tracks of an experiment "
        "before the track x track R: mean (each site minus its mean over the tracks) or "
        "quantile (the tracks quantile-normalised first, as Basenji's specificity tests "
        "do)",
    )
    parser.add_argument("--out", metavar="DIR", type=Path, required=True, help="output directory")
    add_inference_arguments(parser, batch_size=TRANSFER_BATCH_SIZE)
    add_plot_arguments(parser)


def run(args: argparse.Namespace) -> int:
    """Predict at the sites, compare tracks and write the tables and heat maps."""
    require_paths(args, "gtf", "pairs", folders=("model", "data"))
    require_output(args, folder=True)
    info, head = model_head(args)
    store = open_store(args.data, args.splits, option="--splits")
    from crossreg.evaluate.transfer import run_transfer
    from crossreg.evaluate.transfer_plan import plan_transfer
    from crossreg.evaluate.transfer_stats import summary_line
    from crossreg.evaluate.transfer_tracks import experiment_label, shared_experiments

    # the files this run writes, and the heat maps an earlier run's summary lists: no other
    # file in --out is taken for transfer's
    head_tracks = [t.description for t in info.targets[head]]
    experiments = shared_experiments(store.table.descriptions, head_tracks)
    require_own_folder(
        args, own_files=[*transfer_names(experiments), *recorded_heat_maps(args.out)]
    )

    plan = plan_transfer(
        args.model,
        args.data,
        args.gtf,
        head=args.head,
        splits=args.splits,
        fraction=args.variable_fraction,
        pairs=args.pairs,
        normalize=args.normalize,
    )
    with rerun_when_stopped(args):
        result = run_transfer(plan, args.out, options=inference_options(args), **plot_options(args))
    for assay, row in result.assays.items():
        line = summary_line(row, plan.normalize)
        print(f"{result.head} head on {result.genome} {experiment_label(assay)}: {line}")
    return 0
