"""The names ``crossreg sad`` accepts for its statistics and indel rules, checked without
torch (the statistics themselves are :mod:`crossreg.variants.sad_stats`, the rules
:mod:`crossreg.variants.realign`)."""

from __future__ import annotations

from collections.abc import Iterable

# basenji_sad.py's --stats, in the order crossreg lists them
STAT_NAMES = (
    "SAD", "logSAD", "sqrtSAD", "SAX", "D1", "logD1", "sqrtD1", "D2", "logD2", "sqrtD2",
    "JS", "logJS", "REF", "ALT",
)  # fmt: skip
INDEL_RULES = ("left", "realign")


def check_stats(names: Iterable[str]) -> tuple[str, ...]:
    """The requested statistics in order, without repeats; an unknown name stops with the
    list of known ones."""
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
