"""argparse types that bound an option's value: an impossible number (0 windows, a NaN
fraction, a seed no generator takes, a count that would never finish) is a usage error
naming the option before any work starts, with the range it must lie in."""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable

from crossreg.io.chrom_sizes import MAX_LENGTH
from crossreg.shard import Shard

#: The largest length in bp an option takes (a region, a block, a distance): the longest
#: chromosome crossreg reads.
MAX_BP = MAX_LENGTH

#: The longest model input in bp, 2**24 (16.8 Mbp): far above any model's (Basenji2
#: 131,072; Borzoi 524,288), far below what a batch of windows can hold in memory.
MAX_SEQ_LENGTH = 2**24

#: Seeds are what every generator crossreg seeds takes (numpy's legacy ``RandomState``
#: stops at 2**32 - 1), so that one seed means the same in every command.
MAX_SEED = 2**32 - 1

#: The largest count an option takes (epochs, steps, batches, chunks): 2**31 - 1, what
#: every array index and file attribute holds.
MAX_COUNT = 2**31 - 1

#: The most worker threads or processes: a bound that holds on any machine (a job script
#: that passes on one machine passes on another; more than its CPUs only shares them).
MAX_WORKERS = 1024

#: The most batches a loader reads ahead: each holds a batch in memory (1.2 GB at batch 128
#: of the paper's 5,313 tracks).
MAX_READ_AHEAD = 64


def whole(low: int, high: int) -> Callable[[str], int]:
    """An argparse type: a whole number from `low` to `high`."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a whole number, got '{text}'") from None
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(
                f"must be a whole number from {low:,} to {high:,}, got {text}"
            )
        return value

    return parse


def chrom_list(text: str) -> list[str]:
    """An argparse type: comma-separated chromosome names (spaces around them dropped);
    an empty name (``7,``, ``7,,8``) is refused rather than looked for."""
    names = [name.strip() for name in text.split(",")]
    if not all(names):
        raise argparse.ArgumentTypeError(
            f"'{text}' has an empty chromosome name (a comma too many?); list them as 7,8 "
            "or chr7,chr8"
        )
    return names


def number(
    low: float, high: float, *, above: bool = False, below: bool = False
) -> Callable[[str], float]:
    """An argparse type: a finite number from `low` to `high` (strictly `above` `low`,
    strictly `below` `high`; an infinite bound is never reached)."""
    left, right = "(" if above else "[", ")" if below or math.isinf(high) else "]"
    interval = f"{left}{low:g}, {high:g}{right}"

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a number, got '{text}'") from None
        too_low = value <= low if above else value < low
        too_high = value >= high if below else value > high
        if not math.isfinite(value) or too_low or too_high:
            raise argparse.ArgumentTypeError(f"must be a finite number in {interval}, got {text}")
        return value

    return parse


#: ``--seed``: a seed every generator takes.
SEED = whole(0, MAX_SEED)

#: A count of at least one (epochs, steps, examples).
COUNT = whole(1, MAX_COUNT)

#: A count of worker threads or processes, at least one.
WORKERS = whole(1, MAX_WORKERS)

#: A fraction of a genome held out (validation or test): from 0, below 1.
FRACTION = number(0.0, 1.0, below=True)

#: A positive size in GB, bytes or a rate: finite and above 0.
POSITIVE = number(0.0, math.inf, above=True)


def shard_of(option: str) -> Callable[[str], Shard]:
    """An argparse type: ``i/n`` as a :class:`~crossreg.shard.Shard`, `option` named in
    its error (a usage error, before any input is read)."""

    def parse(text: str) -> Shard:
        try:
            return Shard.parse(text, option)
        except ValueError as err:
            raise argparse.ArgumentTypeError(str(err)) from None

    return parse


def check_held_out(valid: tuple[str, float], test: tuple[str, float]) -> None:
    """Two held-out fractions, each an (option, value), leave some of the genome to train."""
    (valid_option, valid_value), (test_option, test_value) = valid, test
    if valid_value + test_value >= 1:
        raise ValueError(
            f"{valid_option} {valid_value:g} + {test_option} {test_value:g} leave nothing to "
            "train on; keep their sum below 1"
        )
