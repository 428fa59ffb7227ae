"""The sad-merge step: the shards of one ``crossreg sad --shard i/n`` run joined into the
file one process would have written, with that file's figures."""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from pathlib import Path

from crossreg.plots import check_plot_options
from crossreg.variants.sad_figures import draw_figures
from crossreg.variants.sad_join import merge_shards

log = logging.getLogger("crossreg")


def merge_sad(
    out: str | os.PathLike[str],
    shards: Sequence[str | os.PathLike[str]],
    *,
    plots: bool = True,
    svg: bool = False,
) -> tuple[Path, int]:
    """Join `shards` (``.h5`` or ``.tsv``, given in order 0/n … n-1/n) into `out`
    (:func:`crossreg.variants.sad_join.merge_shards`: the bytes one process would have
    written), then draw the figures :func:`crossreg.variants.sad.write_sad` draws beside
    it unless `plots` is off (SVG too with `svg`), titled as the shards record whose
    variants which head scored.
    An `out` that is one of the shards is refused before anything is written; shards
    that hold no allele between them are merged with a warning. Returns the path and the
    number of alleles."""
    check_plot_options(plots, svg)
    path, alleles = merge_shards(out, shards)
    if not alleles:
        log.warning(
            "%s: no variants scored: none of its %d shards holds an allele; the output is "
            "written with 0 alleles",
            path,
            len(shards),
        )
    draw_figures(path, plots=plots, svg=svg)
    return path, alleles
