"""The tracks a ``--targets`` spec names: indices, ranges, identifiers, words and glob patterns."""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Iterable, Sequence

from crossreg.io.targets import Target


def select_targets(targets: Sequence[Target], spec: str | Sequence[str] | None) -> list[int]:
    """The indices of the tracks `spec` names, in the order named (each once); all tracks
    when `spec` is ``None``. `spec` is comma-separated items (or a list of them), each an
    index (``5``), a range of indices (``0-9``, both ends included), an identifier, a
    glob pattern over identifiers and descriptions (``CAGE:*liver*``), or a word found in
    a description (``CAGE``, ``liver``); patterns and words ignore case. A whole
    description holding commas (``CAGE:liver, adult, pool1``, as hundreds of the paper's
    tracks have) is one item, not three words. An item that selects nothing is an error
    naming it; an item that is not a string (an int index: write ``"5"``) a TypeError."""
    if spec is None:
        return list(range(len(targets)))
    pieces = [spec] if isinstance(spec, str) or not isinstance(spec, Iterable) else list(spec)
    for piece in pieces:
        if not isinstance(piece, str):
            raise TypeError(
                f"tracks are named by strings such as '5', '0-9', an identifier or 'CAGE', "
                f"not {type(piece).__name__} {piece!r}"
            )
    identifiers = {t.identifier: i for i, t in enumerate(targets)}
    whole = {t.description.strip().lower() for t in targets if "," in t.description}
    whole |= {t.identifier.lower() for t in targets if "," in t.identifier}
    longest = 1 + max((name.count(",") for name in whole), default=0)
    chosen: dict[int, None] = {}
    for item in (i for piece in pieces for i in _items(piece, whole, longest)):
        found = _select_item(targets, identifiers, item)
        if not found:
            raise ValueError(
                f"--targets '{item}' selects no track: give indices 0-{len(targets) - 1}, "
                "identifiers, or a word or glob pattern found in the descriptions"
            )
        chosen |= dict.fromkeys(found)
    if not chosen:
        raise ValueError(f"--targets '{spec}' selects no track")
    return list(chosen)


def _items(spec: str, whole: set[str], longest: int) -> list[str]:
    """`spec` cut at its commas, except where a run of comma-joined pieces is one of the
    `whole` names holding commas (lower case; at most `longest` pieces): that run stays
    one item, the longest first."""
    pieces = spec.split(",")
    items, i = [], 0
    while i < len(pieces):
        end = next(
            (
                j
                for j in range(min(len(pieces), i + longest), i + 1, -1)
                if ",".join(pieces[i:j]).strip().lower() in whole
            ),
            i + 1,
        )
        items.append(",".join(pieces[i:end]).strip())
        i = end
    return [item for item in items if item]


def _select_item(targets: Sequence[Target], identifiers: dict[str, int], item: str) -> list[int]:
    if item in identifiers:
        return [identifiers[item]]
    bounds = re.fullmatch(r"(\d+)(?:-(\d+))?", item)
    if bounds:
        lo, hi = int(bounds[1]), int(bounds[2] or bounds[1])
        if hi < lo or hi >= len(targets):
            raise ValueError(f"--targets '{item}': the head's tracks are 0-{len(targets) - 1}")
        return list(range(lo, hi + 1))
    wanted = item.lower()
    if any(c in item for c in "*?["):
        return [
            i
            for i, t in enumerate(targets)
            if fnmatch.fnmatchcase(t.identifier.lower(), wanted)
            or fnmatch.fnmatchcase(t.description.lower(), wanted)
        ]
    if "," in item:  # a whole description holding commas (:func:`_items`)
        exact = [i for i, t in enumerate(targets) if t.description.strip().lower() == wanted]
        if exact:
            return exact
    return [i for i, t in enumerate(targets) if wanted in t.description.lower()]
