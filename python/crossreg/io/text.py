"""Text files, plain or gzip-compressed, opened alike.

Compression is detected by the file's first two bytes, the gzip magic ``1f 8b`` (bgzip
files carry it too), not by its suffix: a gzipped file without ``.gz`` and a plain file
named ``.gz`` both read correctly. The native net reader decides the same way.
"""

from __future__ import annotations

import gzip
import os
from typing import TextIO

#: The first two bytes of every gzip (and bgzip) file.
GZIP_MAGIC = b"\x1f\x8b"


def is_gzipped(path: str | os.PathLike[str]) -> bool:
    """True when the file at `path` starts with the gzip magic bytes."""
    with open(path, "rb") as handle:
        return handle.read(2) == GZIP_MAGIC


def open_text(path: str | os.PathLike[str]) -> TextIO:
    """Open `path` for reading text, decompressing it when it is gzipped."""
    if is_gzipped(path):
        return gzip.open(path, "rt")
    return open(path)
