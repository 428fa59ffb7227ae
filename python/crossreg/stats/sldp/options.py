"""Checks of ``write_sldp``'s options, before any file is read."""

from __future__ import annotations

import math
import os
from collections.abc import Sequence

from crossreg.errors import require_path_list
from crossreg.stats.sldp.weights import WEIGHTS


def check_options(
    *,
    sumstats: Sequence[str | os.PathLike[str]],
    eqtl: Sequence[str | os.PathLike[str]],
    eqtl_n: float | None,
    sannot_chr: Sequence[str | os.PathLike[str]],
    sad: Sequence[str | os.PathLike[str]],
    background_sannot_chr: Sequence[str | os.PathLike[str]],
    flips: int,
    jk_blocks: int,
    weights: str,
    alpha: float,
    background_alpha: float,
    spectrum_percent: float,
) -> None:
    """Stop, naming the option, on a path list given as one string, unknown `weights`,
    too few flips or jackknife blocks, a spectrum percentage outside (0, 100), an α that
    is not finite, both or neither kind of marginal annotation, or an option that scales
    or sizes files not given (`background_alpha`, `eqtl_n`)."""
    for name, value in {
        "sumstats": sumstats,
        "eqtl": eqtl,
        "sad": sad,
        "sannot_chr": sannot_chr,
        "background_sannot_chr": background_sannot_chr,
    }.items():
        require_path_list(value, name)
    if weights not in WEIGHTS:
        raise ValueError(f"weights must be one of {', '.join(WEIGHTS)}, not {weights}")
    if flips < 1 or jk_blocks < 2:
        raise ValueError("flips must be ≥ 1 and jk-blocks ≥ 2")
    if not 0 < spectrum_percent < 100:
        raise ValueError(
            f"--spectrum-percent must lie strictly between 0 and 100, got {spectrum_percent}"
        )
    for option, scale in (("--alpha", alpha), ("--background-alpha", background_alpha)):
        if not math.isfinite(scale):
            raise ValueError(f"{option} must be a finite number (-1 or 0, as sldp), got {scale}")
    if bool(sannot_chr) == bool(sad):
        raise ValueError("give annotations as --sannot-chr stems or --sad files (one kind)")
    if background_alpha != -1.0 and not background_sannot_chr:
        raise ValueError(
            f"--background-alpha {background_alpha:g} scales --background-sannot-chr files, and "
            "none is given (the built MAF-bin and GTF backgrounds are per normalised genotype "
            "whatever it says); leave it out"
        )
    if eqtl_n is not None and not eqtl:
        raise ValueError(
            f"--eqtl-n {eqtl_n:g} is the sample size of --eqtl tables, and none is given "
            "(--sumstats files hold their own N); leave it out"
        )
