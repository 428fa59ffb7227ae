"""A name (an experiment, a site's label, a track) turned into a file name's stem that
every file system and shell takes as it is."""

from __future__ import annotations

import re

#: A run of the characters a stem may not hold: anything but ASCII letters, digits, ``._-``.
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def file_stem(name: str, fallback: str) -> str:
    """`name` with each run of characters other than ASCII letters, digits and ``._-``
    replaced by one ``_``, ``_`` stripped from both ends; `fallback` when nothing is left."""
    return _UNSAFE.sub("_", name).strip("_") or fallback
