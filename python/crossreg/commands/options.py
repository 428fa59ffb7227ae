"""Options shared by every command that runs a model: one set, one meaning."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from crossreg.model.inference import InferenceOptions


def parse_shifts(text: str) -> list[int]:
    """``"1,0,-1"`` → ``[1, 0, -1]``."""
    try:
        shifts = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"shifts are comma-separated whole numbers like 1,0,-1, got '{text}'"
        ) from None
    if not shifts:
        raise argparse.ArgumentTypeError("give at least one shift (0 for none)")
    return shifts


def add_inference_arguments(parser: argparse.ArgumentParser, *, batch_size: int) -> None:
    """``--rc``, ``--shifts``, ``--batch-size``, ``--device`` and ``--bf16``."""
    group = parser.add_argument_group("inference")
    group.add_argument(
        "--rc", action="store_true", help="average with reverse-complement predictions"
    )
    group.add_argument(
        "--shifts",
        type=parse_shifts,
        default=[0],
        metavar="1,0,-1",
        help="average over these sequence shifts (default 0)",
    )
    group.add_argument(
        "--batch-size",
        type=int,
        default=batch_size,
        help="sequences per batch (default %(default)s)",
    )
    group.add_argument(
        "--device", default="auto", help="torch device: auto (CUDA when available), cpu, cuda:0"
    )
    group.add_argument(
        "--bf16",
        action="store_true",
        help="bfloat16 autocast on the model's device (CUDA, or a CPU with bf16 instructions)",
    )


def inference_options(args: argparse.Namespace) -> InferenceOptions:
    """The :class:`~crossreg.model.inference.InferenceOptions` the arguments ask for."""
    from crossreg.model.inference import InferenceOptions

    return InferenceOptions(
        device=args.device,
        rc=args.rc,
        shifts=tuple(args.shifts),
        bf16=args.bf16,
        batch_size=args.batch_size,
    )


def add_plot_arguments(parser: argparse.ArgumentParser) -> None:
    """``--no-plots`` and ``--svg``: the figures every drawing command writes beside its
    tables (PNG by default)."""
    group = parser.add_argument_group("figures")
    group.add_argument(
        "--no-plots",
        dest="plots",
        action="store_false",
        help="write the tables only, no figures (redraw them later from the tables)",
    )
    group.add_argument("--svg", action="store_true", help="write each figure as SVG too")


def plot_options(args: argparse.Namespace) -> dict[str, bool]:
    """``{"plots": ..., "svg": ...}``, the keyword arguments of a step that draws."""
    return {"plots": args.plots, "svg": args.svg}
