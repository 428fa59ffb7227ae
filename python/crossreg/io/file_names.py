"""A name (an experiment, a site's label, a track) turned into a file name's stem that
every file system and shell takes as it is."""

from __future__ import annotations

import re

#: The characters a stem may hold, as a regular expression's character class body.
SAFE_CHARACTERS = "A-Za-z0-9._-"

_UNSAFE = re.compile(f"[^{SAFE_CHARACTERS}]+")


def safe_characters(name: str) -> str:
    """`name` with each run of characters other than ASCII letters, digits and ``._-``
    replaced by one ``_``."""
    return _UNSAFE.sub("_", name)


def safe_stem(name: str, fallback: str) -> str:
    """:func:`safe_characters` of `name`, ``_`` stripped from both ends; `fallback` when
    nothing is left."""
    return safe_characters(name).strip("_") or fallback
