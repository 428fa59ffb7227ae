"""How a ``crossreg report`` page writes numbers: file sizes, digits, times."""

from __future__ import annotations

SIGNIFICANT_DIGITS = 4  # fractional numbers in tables are shown to this many (in full on hover)
#: How the page writes a time: with its offset from UTC, for a page read in another zone.
TIME_FORMAT = "%Y-%m-%d %H:%M %z"


def byte_size(n: int) -> str:
    """``512 B``, ``2.0 KiB``, ... up to GiB."""
    value, units = float(n), ["B", "KiB", "MiB", "GiB"]
    while value >= 1024 and len(units) > 1:
        value, units = value / 1024, units[1:]
    return f"{n} B" if units[0] == "B" else f"{value:.1f} {units[0]}"
