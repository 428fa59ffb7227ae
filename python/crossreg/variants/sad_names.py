"""The names ``crossreg sad`` accepts for its statistics and indel rules, checked without
torch (the statistics themselves are :mod:`crossreg.variants.sad_stats`, the rules
:mod:`crossreg.variants.realign`)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path

# basenji_sad.py's --stats, in the order crossreg lists them
STAT_NAMES = (
    "SAD", "logSAD", "sqrtSAD", "SAX", "D1", "logD1", "sqrtD1", "D2", "logD2", "sqrtD2",
    "JS", "logJS", "REF", "ALT",
)  # fmt: skip
INDEL_RULES = ("basenji", "left", "realign")
# what each (alleles, tracks) statistic is, for figure labels; log is log2(p + 1)
STAT_MEANINGS = {
    "SAD": "alt − ref, summed over bins",
    "logSAD": "log alt − log ref, summed over bins",
    "sqrtSAD": "√alt − √ref, summed over bins",
    "SAX": "alt − ref at the bin of largest |alt − ref|",
    "D1": "Σ |alt − ref| over bins",
    "logD1": "Σ |log alt − log ref| over bins",
    "sqrtD1": "Σ |√alt − √ref| over bins",
    "D2": "√Σ (alt − ref)² over bins",
    "logD2": "√Σ (log alt − log ref)² over bins",
    "sqrtD2": "√Σ (√alt − √ref)² over bins",
    "JS": "symmetrised KL of the bin profiles",
    "logJS": "symmetrised KL of the log bin profiles",
}
PROFILE_STATS = ("REF", "ALT")  # (alleles, bins, tracks), no percentiles (as Basenji)
OUTPUT_SUFFIXES = (".h5", ".tsv")


def check_stats(names: Iterable[str]) -> tuple[str, ...]:
    """The requested statistics in order, without repeats; an unknown name stops with the
    list of known ones, a single string (not a list of names) with a TypeError."""
    if isinstance(names, str):
        raise TypeError(
            f"stats must be a list of names, e.g. ['SAD'], got the string {names!r} "
            "(parse_stats reads a comma-separated list)"
        )
    chosen = tuple(dict.fromkeys(names))
    unknown = [name for name in chosen if name not in STAT_NAMES]
    if unknown or not chosen:
        what = f"unknown SAD statistic {', '.join(unknown)}" if unknown else "no SAD statistic"
        raise ValueError(f"{what}; choose among {','.join(STAT_NAMES)}")
    return chosen


def parse_stats(text: str) -> tuple[str, ...]:
    """``"SAD,logD2"`` → ``("SAD", "logD2")``, checked."""
    return check_stats(name.strip() for name in text.split(",") if name.strip())


def check_indel_rule(rule: str) -> str:
    """`rule` when it is one of :data:`INDEL_RULES`; otherwise a ValueError naming them."""
    if rule not in INDEL_RULES:
        raise ValueError(f"unknown indel rule {rule!r}; choose among {', '.join(INDEL_RULES)}")
    return rule


def check_output(out: Path, stats: Sequence[str]) -> tuple[str, ...]:
    """The checked `stats` for the output `out`; stops before any work on an unknown
    statistic, a suffix other than ``.h5``/``.tsv``, or REF/ALT (3-D) asked of a ``.tsv``."""
    if out.suffix not in OUTPUT_SUFFIXES:
        raise ValueError(f"{out}: the output must end in {' or '.join(OUTPUT_SUFFIXES)}")
    stats = check_stats(stats)
    profiles = [name for name in stats if name in PROFILE_STATS]
    if profiles and out.suffix == ".tsv":
        raise ValueError(
            f"{out}: {','.join(profiles)} are (alleles, bins, tracks) profiles; "
            "write them to an .h5"
        )
    return stats
