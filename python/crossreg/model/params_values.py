"""Checks of the values a Basenji params file gives (:mod:`crossreg.model.params`): keys
required and known, whole and positive numbers, and the weight settings crossreg builds.
Each error names the file and the key."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from crossreg.model.train_section import misspelt


def require_key(section: Mapping[str, Any], key: str, where: str, source: str) -> Any:
    """`section`'s value of `key`, which it must have."""
    if key not in section:
        raise ValueError(f"{source}: {where} lacks the required key '{key}'")
    return section[key]


def check_keys(options: Mapping[str, Any], allowed: frozenset[str], where: str, src: str) -> None:
    """Refuse keys of `options` not in `allowed`, with the near spellings of known ones."""
    unknown = sorted(set(options) - allowed)
    if unknown:
        raise ValueError(
            f"{src}: {where} has unknown key(s) {', '.join(repr(k) for k in unknown)}; "
            f"crossreg supports {', '.join(sorted(allowed))}{misspelt(unknown, sorted(allowed))}"
        )


def is_number(value: Any) -> bool:
    """An int or a finite float, not a bool."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return False
    return math.isfinite(value)


def whole_number(value: Any, what: str, source: str, least: int = 1) -> int:
    """`value` as an int: a whole number (``5`` or ``5.0``), `least` or more."""
    if not is_number(value) or int(value) != value:
        raise ValueError(f"{source}: {what} must be a whole number, got {value!r}")
    if value < least:
        bound = "positive" if least == 1 else f"{least} or more"
        raise ValueError(f"{source}: {what} must be {bound}, got {value!r}")
    return int(value)


def positive_number(value: Any, what: str, source: str) -> float:
    """`value` as a float: a number above 0."""
    if not is_number(value) or value <= 0:
        raise ValueError(f"{source}: {what} must be a positive number, got {value!r}")
    return float(value)


def check_weight_settings(opts: Mapping[str, Any], where: str, src: str) -> None:
    """Refuse initializers other than He normal, and weight penalties."""
    if opts.get("kernel_initializer", "he_normal") != "he_normal":
        raise ValueError(
            f"{src}: {where} kernel_initializer '{opts['kernel_initializer']}' is not "
            "supported; use 'he_normal'"
        )
    for reg in ("l2_scale", "l1_scale"):
        if opts.get(reg, 0):
            raise ValueError(
                f"{src}: {where} {reg}={opts[reg]} is not supported; weight penalties are not "
                "part of Basenji2's cross2020 models (set it to 0 or remove it)"
            )
