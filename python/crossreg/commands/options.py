"""Options shared by every command that runs a model: one set, one meaning."""

from __future__ import annotations

import argparse
import re
from typing import TYPE_CHECKING, TypedDict

from crossreg.commands.help import OneOf
from crossreg.commands.values import COUNT, shard_of
from crossreg.devices import check_device, device_name
from crossreg.step_defaults import HEAD_ALIAS, HEAD_OPTION

if TYPE_CHECKING:
    from crossreg.model.inference import InferenceOptions


def parse_shifts(text: str) -> list[int]:
    """``"1,0,-1"`` → ``[1, 0, -1]``; a shift given twice is an error (it would count
    twice in the average), and so is an empty one between two (``1,,-1``: a shift left
    out, which would change the ensemble silently)."""
    if any(not part.strip() for part in text.split(",")[:-1]):
        raise argparse.ArgumentTypeError(
            f"'{text}' has an empty shift between two commas or before the first; give "
            "comma-separated whole numbers like 1,0,-1"
        )
    try:
        shifts = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"shifts are comma-separated whole numbers like 1,0,-1, got '{text}'"
        ) from None
    if not shifts:
        raise argparse.ArgumentTypeError("give at least one shift (0 for none)")
    twice = sorted({shift for shift in shifts if shifts.count(shift) > 1})
    if twice:
        raise argparse.ArgumentTypeError(
            f"shift {', '.join(map(str, twice))} is given more than once in '{text}'; give "
            "each shift once"
        )
    return shifts


# what argparse takes for a value, not an option, when it starts with '-': a negative
# number, a list of numbers whose first is negative (``--shifts -1,0,1``), or a shard
# ``i/n`` whose i is negative (``--tracks -1/3``, refused by the option's own message)
NEGATIVE_VALUES = re.compile(r"^-\d+(,\s*-?\d+)*,?$|^-\d*\.\d+$|^-\d+/\d+$")


def accept_negative_values(parser: argparse.ArgumentParser) -> None:
    """Let `parser` take the :data:`NEGATIVE_VALUES` as values, so that their options'
    own types judge them (argparse's own pattern takes ``-1,0,1`` for an option)."""
    parser._negative_number_matcher = NEGATIVE_VALUES


# --trunk-layout's choices and the InferenceOptions.channels_last each one means
TRUNK_LAYOUTS: dict[str, bool | None] = {"auto": None, "plain": False, "channels-last": True}


# a device typo is a usage error before torch is imported
def parse_device(text: str) -> str:
    """``--device``: ``auto`` or a torch device (:func:`crossreg.devices.device_name`)."""
    try:
        return device_name(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def add_device_argument(parser: argparse._ActionsContainer) -> None:
    """``--device``: where the model runs, the same for every command that runs one."""
    parser.add_argument(
        "--device",
        metavar="DEVICE",
        type=parse_device,
        default="auto",
        help="torch device: auto (CUDA when available, else the CPU), cpu, cuda or cuda:N",
    )


def add_targets_argument(parser: argparse._ActionsContainer, verb: str, then: str = "") -> None:
    """``--targets SPEC``: the tracks of the head a command keeps, in the order named;
    `verb` says what it does with them (``score``), `then` what else follows."""
    parser.add_argument(
        "--targets",
        default=None,
        metavar="SPEC",
        help=f"{verb} only these tracks of the head, in the order named: comma-separated "
        "indices (5), ranges (0-9), identifiers, words found in the descriptions (CAGE) or "
        "glob patterns ('CAGE:*liver*'); the head is cut to them, so fewer tracks cost less"
        f"{then} (default: every track)",
    )


def add_shard_argument(
    parser: argparse._ActionsContainer, verb: str, shares: str, then: str
) -> None:
    """``--shard I/N``: one of N runs that share a command's work; `verb` what it does
    (``score``), `shares` what is shared (``the sites``), `then` how the shards join."""
    parser.add_argument(
        "--shard",
        type=shard_of("--shard"),
        default=None,
        metavar="I/N",
        help=f"{verb} only the I-th (from 0) of N contiguous shares of {shares}; {then}",
    )


def add_resume_argument(
    parser: argparse._ActionsContainer, output: str = "FILE", *, finished: bool = False
) -> None:
    """``--resume`` of a command that keeps its finished chunks in ``OUTPUT.partial/``;
    `finished`: its output records its settings, so that one of a finished run is left
    as it is (:func:`crossreg.io.finished.finished_run`)."""
    told = (
        f"; a finished {output} of the same settings is left as it is (nothing to do), "
        "one of other settings is refused naming them"
    )
    parser.add_argument(
        "--resume",
        action="store_true",
        help=f"continue an interrupted run from {output}.partial/ after its last finished "
        "chunk; the output is the same bytes as an uninterrupted run's (without --resume, "
        f"a left-over {output}.partial/ is refused){told if finished else ''}",
    )


class _HeadAction(argparse.Action):
    """Store the head and the spelling the user gave it (``head_option``), so that
    messages about it name the option as it was typed."""

    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        values: object,
        option_string: str | None = None,
    ) -> None:
        setattr(namespace, self.dest, values)
        namespace.head_option = option_string or HEAD_OPTION


def add_head_argument(parser: argparse.ArgumentParser, help: str, *, alias: bool = True) -> None:
    """``--head NAME``: which head of ``--model`` runs (``args.head``), with ``--genome`` as
    its other spelling where `alias`; ``args.head_option`` is the spelling given
    (``--head`` when none was), for messages (:func:`head_option`)."""
    names = [HEAD_OPTION, HEAD_ALIAS] if alias else [HEAD_OPTION]
    parser.add_argument(
        *names,
        dest="head",
        action=_HeadAction,
        default=None,
        metavar="NAME",
        help=help,
    )
    parser.set_defaults(head_option=HEAD_OPTION)


def head_option(args: argparse.Namespace) -> str:
    """The spelling of the head's option the user gave (``--head`` when none was)."""
    return str(getattr(args, "head_option", HEAD_OPTION))


def add_variants_genome_argument(parser: argparse.ArgumentParser, sites: str) -> None:
    """``--variants-genome NAME``: the genome the `sites` file and the FASTA are of, which
    the output records and its figures' titles name (``human variants, mouse head``)."""
    parser.add_argument(
        "--variants-genome",
        default=None,
        metavar="NAME",
        help=f"the name of the genome the {sites} and FASTA are of (human), recorded in the "
        "output and named in its figures' titles: 'human variants, mouse head' (default: the "
        "figures name the FASTA's file)",
    )


def add_inference_arguments(parser: argparse.ArgumentParser, *, batch_size: int) -> None:
    """``--rc``, ``--shifts``, ``--batch-size``, ``--device`` and ``--bf16``."""
    accept_negative_values(parser)
    group = parser.add_argument_group("inference")
    group.add_argument(
        "--rc", action="store_true", help="average with reverse-complement predictions"
    )
    group.add_argument(
        "--shifts",
        type=parse_shifts,
        default=[0],
        metavar="1,0,-1",
        help="average over these sequence shifts (default: 0)",
    )
    group.add_argument(
        "--batch-size",
        metavar="N",
        type=COUNT,
        default=batch_size,
        help="sequences per batch",
    )
    add_device_argument(group)
    group.add_argument(
        "--bf16",
        action="store_true",
        help="bfloat16 autocast on the model's device (CUDA, or a CPU with bf16 instructions)",
    )
    group.add_argument(
        "--trunk-layout",
        action=OneOf,
        choices=sorted(TRUNK_LAYOUTS),
        default="auto",
        help="the trunk's memory layout: auto (channels-last on CPUs, where it is faster; "
        "plain on GPUs), plain or channels-last; predictions agree to float32 rounding",
    )
    group.add_argument(
        "--compile",
        action="store_true",
        help="torch.compile the model: each new batch shape compiles first (the first 15-35 s on "
        "a CPU, which needs a C++ compiler for it), so it pays on runs of minutes or more "
        "(1.0-2x the eager speed on a CPU; see benches/README.md)",
    )


def inference_options(args: argparse.Namespace) -> InferenceOptions:
    """The :class:`~crossreg.model.inference.InferenceOptions` the arguments ask for; a
    device this machine lacks is an error naming ``--device``."""
    from crossreg.model.inference import InferenceOptions

    check_device(args.device)
    return InferenceOptions(
        device=args.device,
        rc=args.rc,
        shifts=tuple(args.shifts),
        bf16=args.bf16,
        batch_size=args.batch_size,
        channels_last=TRUNK_LAYOUTS[args.trunk_layout],
        compile=args.compile,
    )


def add_plot_arguments(
    parser: argparse.ArgumentParser,
    redraw: str = "redraw them later from the tables",
    outputs: str = "the tables",
) -> None:
    """``--no-plots`` and ``--svg``: the figures every drawing command writes beside its
    `outputs` (PNG by default); `redraw` says how they can be drawn later. The two exclude
    each other (SVGs of figures not drawn would be nothing)."""
    group = parser.add_argument_group("figures").add_mutually_exclusive_group()
    group.add_argument(
        "--no-plots",
        dest="plots",
        action="store_false",
        help=f"write {outputs} only, no figures ({redraw})",
    )
    group.add_argument("--svg", action="store_true", help="write each figure as SVG too")


class PlotOptions(TypedDict):
    """The keyword arguments of a step that draws, as ``--no-plots`` and ``--svg`` set them."""

    plots: bool
    svg: bool


def plot_options(args: argparse.Namespace) -> PlotOptions:
    """``{"plots": ..., "svg": ...}``, the keyword arguments of a step that draws."""
    return {"plots": args.plots, "svg": args.svg}


def add_genomes_argument(parser: argparse.ArgumentParser, what: str) -> None:
    """``--genomes N``: how many species a synthetic world holds (2-4); `what` says what
    the command does with them."""
    from crossreg.synth.species import CATALOGUE, DEFAULT_GENOMES, MAX_GENOMES, MIN_GENOMES

    names = ", ".join(s.name for s in CATALOGUE)
    parser.add_argument(
        "--genomes",
        type=int,
        action=OneOf,
        choices=range(MIN_GENOMES, MAX_GENOMES + 1),
        default=DEFAULT_GENOMES,
        metavar="N",
        help=f"species from one ancestor ({MIN_GENOMES}-{MAX_GENOMES}: {names}, in this "
        f"order): {what} (default: {DEFAULT_GENOMES})",
    )
