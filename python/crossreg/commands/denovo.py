"""``crossreg denovo``: do cases' de novo variants change predicted regulation differently?"""

from __future__ import annotations

import argparse
from pathlib import Path

from crossreg.commands.inputs import require_output, require_own_folder, require_paths
from crossreg.commands.options import add_plot_arguments, plot_options
from crossreg.commands.values import COUNT, MAX_COUNT, SEED, whole

HELP = "case/control tests of de novo variants' SAD: per track, per principal component, per person"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``crossreg denovo``."""
    parser.add_argument("--cases-vcf", type=Path, required=True, help="cases' de novo variants")
    parser.add_argument(
        "--controls-vcf", type=Path, required=True, help="controls' de novo variants"
    )
    parser.add_argument(
        "--cases-sad", type=Path, required=True, help="crossreg sad output (.h5/.tsv) of cases"
    )
    parser.add_argument(
        "--controls-sad", type=Path, required=True, help="crossreg sad output of controls"
    )
    parser.add_argument("--out", type=Path, required=True, help="output directory")
    parser.add_argument(
        "--sample-field",
        default="SAMPLE",
        help="INFO key naming the individual who carries each variant (default SAMPLE)",
    )
    parser.add_argument("--components", type=COUNT, default=10, help="principal components tested")
    parser.add_argument(
        "--folds", type=whole(2, MAX_COUNT), default=5, help="cross-validation folds of people"
    )
    parser.add_argument("--seed", type=SEED, default=0, help="seed of the fold assignment")
    add_plot_arguments(parser)


def run(args: argparse.Namespace) -> int:
    """Run the three tests and write their tables and ``summary.json``."""
    require_paths(args, "cases_vcf", "controls_vcf", "cases_sad", "controls_sad")
    require_output(args, folder=True)
    require_own_folder(args)
    from crossreg.variants.sad_read import check_sad_file  # numpy: not for the parser

    check_sad_file(args.cases_sad)
    check_sad_file(args.controls_sad)
    from crossreg.stats.denovo_report import write_denovo

    best = write_denovo(
        {
            "case": (args.cases_vcf, args.cases_sad),
            "control": (args.controls_vcf, args.controls_sad),
        },
        args.out,
        sample_field=args.sample_field,
        components=args.components,
        folds=args.folds,
        seed=args.seed,
        **plot_options(args),
    )
    print(
        f"{best['tracks_q_below_0.05']} of {best['tracks']} tracks differ (BH q < 0.05); "
        f"risk score AUC {best['risk_auc']:.3f} (p {best['risk_p']:.3g}); tables in {args.out}"
    )
    return 0
