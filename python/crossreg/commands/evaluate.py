"""``crossreg evaluate``: per-track test accuracy of a checkpoint on a dataset store."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path
from typing import TYPE_CHECKING

from crossreg.commands.inputs import (
    check_splits,
    require_output,
    require_own_folder,
    require_paths,
    rerun_when_stopped,
)
from crossreg.commands.options import (
    add_head_argument,
    add_inference_arguments,
    add_plot_arguments,
    head_option,
    inference_options,
    plot_options,
)
from crossreg.commands.values import MAX_COUNT, whole
from crossreg.evaluate.defaults import MIN_CLASS, default_split
from crossreg.evaluate.files import evaluate_names
from crossreg.model.checkpoint_info import CheckpointInfo, checkpoint_info
from crossreg.step_defaults import DEFAULT_BATCH_SIZE

if TYPE_CHECKING:
    from crossreg.data.store import DataStore

log = logging.getLogger("crossreg")

HELP = "per-track Pearson R and R² of a checkpoint on one split of a dataset store"
DESCRIPTION = (
    "Reads a checkpoint and a dataset store; writes into --out metrics.tsv (one row per"
    " track), summary.json and figures of the tracks."
)
EXAMPLES = (
    "crossreg evaluate --model joint/best --data data/human --split test --out eval/human",
    "crossreg evaluate --model joint/best --head mouse --data data/mouse --out eval/mouse --rc",
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``crossreg evaluate``."""
    parser.add_argument(
        "--model", metavar="DIR", type=Path, required=True, help="checkpoint directory"
    )
    parser.add_argument("--data", metavar="DIR", type=Path, required=True, help="dataset store")
    parser.add_argument(
        "--split",
        metavar="SPLIT",
        help="split to score (default: the fold held out in training the head scored, "
        "train or finetune --test-fold, where the store has it; else test)",
    )
    parser.add_argument("--out", metavar="DIR", type=Path, required=True, help="output directory")
    add_head_argument(
        parser,
        "the head that scores (default: the head a fine-tuning added for the dataset's "
        "tracks, else the dataset's genome's; --genome is the same option)",
    )
    parser.add_argument(
        "--resume",
        action="store_true",
        help="continue an interrupted run from DIR/.partial/, where the model pass is kept "
        "every minute (the metrics' sums of the windows scored) and each finished part of "
        "the column statistics, with the predictions and targets written so far: the "
        "outputs are the same bytes as an uninterrupted run's (refused, naming what "
        "differs, when the model, store, split, head, inference options or column "
        "statistics are not the ones it began with; without --resume, a left-over "
        "DIR/.partial/ is refused); a run that had finished with the same settings is left "
        "as it is (nothing to do), one of other settings is refused naming them",
    )
    add_column_arguments(parser)
    add_inference_arguments(parser, batch_size=DEFAULT_BATCH_SIZE)
    add_plot_arguments(
        parser, redraw="r_by_assay.png can be redrawn from metrics.tsv; tracks.png needs the model"
    )


def add_column_arguments(parser: argparse.ArgumentParser) -> None:
    """``--specificity``, ``--min-class``, ``--rank`` and ``--peaks``: Basenji's statistics
    beyond Pearson R, added as columns of metrics.tsv."""
    group = parser.add_argument_group(
        "beyond Pearson R (whole columns: predictions and targets are kept on disk in --out, "
        "or --scratch, while computed, 6 bytes per bin and track)"
    )
    group.add_argument(
        "--specificity",
        action="store_true",
        help="specificity_r: per class of tracks (assay; ChIP by mark or factor), Pearson R "
        "of quantile-normalised, row-mean-centred predictions and targets "
        "(basenji_test_specificity.py)",
    )
    group.add_argument(
        "--min-class",
        metavar="N",
        type=whole(2, MAX_COUNT),
        help=f"classes with fewer tracks have no specificity_r (NaN; default {MIN_CLASS}, "
        "Basenji's paper-era script; its later default is 100)",
    )
    group.add_argument(
        "--rank", action="store_true", help="spearman_r: Spearman R over all bins of the split"
    )
    group.add_argument(
        "--peaks",
        action="store_true",
        help="peaks, auroc, auprc: Poisson-vs-mean peak call on every 8th bin (Benjamini-"
        "Hochberg q < 0.01) and AUROC/AUPRC of the predictions against it",
    )
    group.add_argument(
        "--scratch",
        type=Path,
        metavar="DIR",
        help="keep the predictions and targets of --specificity/--rank/--peaks in a folder "
        "of their own in DIR, an existing folder (a scratch disk with room), instead of in "
        "--out; removed at the end",
    )


def finetuned_head(info: CheckpointInfo, store: DataStore) -> str | None:
    """The head that a fine-tuning added to the checkpoint for `store`'s tracks: the one
    its ``extra.finetune`` records for a store of `store`'s genome, when that head's tracks
    are the store's; None otherwise."""
    recorded = info.extra.get("finetune")
    if not isinstance(recorded, dict) or recorded.get("dataset_genome") != store.genome:
        return None
    head = recorded.get("head")
    if head not in info.targets:
        return None
    descriptions = [t.description for t in info.targets[head]]
    return head if descriptions == [t.description for t in store.table.targets] else None


def default_head(info: CheckpointInfo, store: DataStore) -> str:
    """The head to score `store` with when no --head is given: a fine-tuned head of its
    tracks (:func:`finetuned_head`), else the head of its genome."""
    head = finetuned_head(info, store)
    if head is not None:
        log.info(
            "no --head: scoring the head '%s', fine-tuned on the tracks of %s "
            "(--head picks another head)",
            head,
            store.path,
        )
        return head
    if store.genome not in info.heads:
        raise ValueError(
            f"{info.directory} has no head for the dataset's genome '{store.genome}' (its "
            f"heads: {', '.join(info.heads)}); name the head to score with --head"
        )
    return store.genome


def run(args: argparse.Namespace) -> int:
    """Write ``metrics.tsv`` (one row per track; with --specificity, --rank, --peaks their
    columns) and ``summary.json`` (means per assay), and the figures ``tracks.png`` (with
    ``tracks.npz``) and ``r_by_assay.png``."""
    if args.min_class is not None and not args.specificity:
        raise ValueError(f"--min-class {args.min_class} applies to --specificity only; add it")
    if args.scratch is not None and not (args.specificity or args.rank or args.peaks):
        raise ValueError(
            f"--scratch {args.scratch} holds the columns of --specificity, --rank or --peaks "
            "only; add one of them or leave it out"
        )
    require_paths(args, folders=("model", "data", "scratch"))
    require_output(args, folder=True)
    if args.scratch is not None:
        require_output(args, "scratch", folder=True)
    from crossreg.evaluate.checkpoint import CHECKPOINT, refuse_checkpoint

    require_own_folder(args, CHECKPOINT, own_files=evaluate_names())
    refuse_checkpoint(args.out, resume=args.resume)
    from crossreg.data.store import DataStore

    store = DataStore(args.data)
    info = checkpoint_info(args.model)
    if args.split is not None:  # checked before the head, as the option given
        check_splits(store, [args.split], option="--split", each=False)
    head = (
        default_head(info, store)
        if args.head is None
        else info.choose(args.head, head_option(args))
    )
    split = args.split
    if split is None:  # the default split is the head's (a fine-tuned one's may differ)
        split = default_split(info, store, head)
        check_splits(store, [split], option="--split", each=False)
    from crossreg.evaluate.accuracy import evaluate_model
    from crossreg.evaluate.spill import ColumnOptions
    from crossreg.evaluate.table import assay_summary

    with rerun_when_stopped(args):
        table = evaluate_model(
            args.model,
            args.data,
            args.out,
            split=split,
            head=head,
            options=inference_options(args),
            columns=ColumnOptions(
                args.specificity, args.rank, args.peaks, args.min_class or MIN_CLASS
            ),
            scratch=args.scratch,
            resume=args.resume,
            head_option=head_option(args),
            **plot_options(args),
        )
    print(assay_summary(table))
    return 0
