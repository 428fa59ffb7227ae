"""Warnings of a dataset build about its targets: a ``--memory-gb`` that holds too little,
and tracks that overflowed float16 or are 0 in every bin."""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence

from crossreg.data.budget import GIB, Footprint
from crossreg.errors import first_few
from crossreg.io.targets import TargetsTable

log = logging.getLogger("crossreg")


def warn_budget(footprint: Footprint, memory_gb: float, wanted: int, threads: int) -> None:
    """Warn when ``--memory-gb`` is below what one track on one thread holds (the build
    goes on so, and may exceed it), or keeps fewer than the `wanted` threads busy."""
    windows = sum(footprint.windows_per_chrom)
    smallest = footprint.smallest() / GIB
    if memory_gb < smallest:
        log.warning(
            "--memory-gb %g is below the %.3g GiB a build of %d windows holds at least "
            "(%.2g GiB of them the interpreter, the FASTA and the windows' mask; %.2g GiB "
            "per track computed): it runs one track at a time on one thread and may "
            "exceed it; give --memory-gb %g or more",
            memory_gb,
            smallest,
            windows,
            footprint.base() / GIB,
            footprint.peak(1, 1, 1) / GIB - footprint.base() / GIB,
            _gib_up(footprint.smallest()),
        )
    elif threads < wanted:
        log.warning(
            "--memory-gb %g holds %d track(s) at a time over %d windows: %d of the %d "
            "threads run; give --memory-gb %g to run them all",
            memory_gb,
            threads,
            windows,
            threads,
            wanted,
            _gib_up(footprint.smallest(wanted)),
        )


def _gib_up(size: int) -> float:
    """`size` bytes in GiB to 3 significant digits, rounded up: a ``--memory-gb`` that
    holds them."""
    value = size / GIB
    scale = 10.0 ** (2 - math.floor(math.log10(value)))
    rounded = math.ceil(value * scale) / scale
    return rounded if int(rounded * GIB) >= size else (math.ceil(value * scale) + 1) / scale


def warn_overflow(table: TargetsTable, stats: Sequence[dict]) -> None:
    """Warn about tracks whose scaled values overflowed float16 (stored as 65,504): those
    whose BigWigs hold +inf apart, as lowering the clip or scale leaves +inf as it is."""
    over = [s for s in stats if s["overflow_fraction"] > 0]
    infinite = [s for s in over if s["pooled_max"] == math.inf]
    for tracks, why, fix in (
        (
            [s for s in over if s not in infinite],
            "have bins above the float16 range after clipping and scaling",
            "lower their clip or scale",
        ),
        (
            infinite,
            "have bins of +inf (their BigWigs hold +inf values, which a soft clip and a scale "
            "leave infinite)",
            "check their files",
        ),
    ):
        if not tracks:
            continue
        shown = first_few(
            [f"{s['identifier']} ({100 * s['overflow_fraction']:.3g}%)" for s in tracks]
        )
        log.warning(
            "%s: %d tracks %s, stored as 65,504 (the share of bins in brackets): %s; %s",
            table.path,
            len(tracks),
            why,
            shown,
            fix,
        )


def warn_empty(table: TargetsTable, stats: Sequence[dict]) -> None:
    """Warn about tracks that are 0 in every bin of the windows: their BigWigs hold no
    positive value there (a file written without data, or one of negative values only),
    so their targets carry nothing to learn and their correlations are undefined."""
    empty = [s["identifier"] for s in stats if s["pooled_max"] == 0]
    if not empty:
        return
    shown = first_few(empty)
    log.warning(
        "%s: %d tracks are 0 in every bin of the windows (their BigWigs hold no positive "
        "value there: a file without data, or negative values only): %s; check their files",
        table.path,
        len(empty),
        shown,
    )
