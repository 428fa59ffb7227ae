"""``crossreg denovo``: do cases' de novo variants change predicted regulation differently?"""

from __future__ import annotations

import argparse
from pathlib import Path

from crossreg.commands.inputs import require_output, require_own_folder, require_paths
from crossreg.commands.options import add_plot_arguments, plot_options
from crossreg.commands.values import COUNT, MAX_COUNT, SEED, whole
from crossreg.stats.denovo_files import output_names

HELP = "case/control tests of de novo variants' SAD: per track, per principal component, per person"
DESCRIPTION = (
    "Reads the cases' and the controls' de novo variants (VCF, each naming its carrier)"
    " and their crossreg sad scores; writes into --out tracks.tsv, components.tsv, "
    "component_scores.tsv, individuals.tsv, summary.json and figures."
)
EXAMPLES = (
    "crossreg denovo --cases-vcf cases.vcf --cases-sad cases.sad.h5 \\",
    "    --controls-vcf controls.vcf --controls-sad controls.sad.h5 --out denovo/",
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``crossreg denovo``."""
    parser.add_argument(
        "--cases-vcf", metavar="VCF", type=Path, required=True, help="cases' de novo variants"
    )
    parser.add_argument(
        "--controls-vcf", metavar="VCF", type=Path, required=True, help="controls' de novo variants"
    )
    parser.add_argument(
        "--cases-sad",
        metavar="FILE",
        type=Path,
        required=True,
        help="crossreg sad output (.h5/.tsv) of cases",
    )
    parser.add_argument(
        "--controls-sad",
        metavar="FILE",
        type=Path,
        required=True,
        help="crossreg sad output of controls",
    )
    parser.add_argument("--out", metavar="DIR", type=Path, required=True, help="output directory")
    parser.add_argument(
        "--sample-field",
        metavar="KEY",
        default="SAMPLE",
        help="INFO key naming the individual who carries each variant (default: SAMPLE)",
    )
    parser.add_argument(
        "--components", metavar="N", type=COUNT, default=10, help="principal components tested"
    )
    parser.add_argument(
        "--folds",
        metavar="N",
        type=whole(2, MAX_COUNT),
        default=5,
        help="cross-validation folds of people",
    )
    parser.add_argument(
        "--seed", metavar="N", type=SEED, default=0, help="seed of the fold assignment"
    )
    add_plot_arguments(parser)


def run(args: argparse.Namespace) -> int:
    """Run the three tests and write their tables and ``summary.json``."""
    require_paths(args, "cases_vcf", "controls_vcf", "cases_sad", "controls_sad")
    require_output(args, folder=True)
    require_own_folder(args, own_files=output_names())
    from crossreg.variants.sad_read import check_sad_file  # numpy: not for the parser

    check_sad_file(args.cases_sad, "--cases-sad")
    check_sad_file(args.controls_sad, "--controls-sad")
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
