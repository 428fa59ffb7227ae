"""Basenji's targets table written atomically, as
:func:`crossreg.io.targets_read.read_targets` reads it."""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence

from crossreg.io.atomic import atomic_write
from crossreg.io.targets import Target


def _format_number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(value)


def write_targets(
    path: str | os.PathLike[str],
    targets: Iterable[Target],
    *,
    extra_columns: Sequence[str] = (),
) -> None:
    """Write a targets table atomically (its ``clip_soft`` column empty where not given)."""
    targets = list(targets)
    columns = ["index", *extra_columns, "identifier", "file", "clip", "clip_soft", "scale"]
    columns += ["sum_stat", "description"]
    with atomic_write(path) as handle:
        handle.write("\t".join(columns) + "\n")
        for t in targets:
            values = {
                "index": str(t.index),
                "identifier": t.identifier,
                "file": ",".join(t.files),
                "clip": _format_number(t.clip),
                "clip_soft": "" if t.clip_soft is None else _format_number(t.clip_soft),
                "scale": _format_number(t.scale),
                "sum_stat": t.sum_stat,
                "description": t.description,
                **t.extra,
            }
            handle.write("\t".join(values.get(c, "") for c in columns) + "\n")
