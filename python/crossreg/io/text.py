"""Text files, plain or gzip-compressed, opened alike.

Compression is detected by the file's first two bytes, the gzip magic ``1f 8b`` (bgzip
files carry it too), not by its suffix: a gzipped file without ``.gz`` and a plain file
named ``.gz`` both read correctly. The native net reader decides the same way.

:func:`numbered_lines` reads a file line by line and turns a truncated or corrupt gzip
stream into a :class:`ValueError` naming the file and the last line read;
:func:`bgzf_end_missing` tells a BGZF (bgzip) file cut short at a block boundary, which
decompresses without error, by its missing end-of-file block.
"""

from __future__ import annotations

import gzip
import os
import zlib
from collections.abc import Iterator
from typing import TextIO

#: The first two bytes of every gzip (and bgzip) file.
GZIP_MAGIC = b"\x1f\x8b"

#: What reading a gzip stream that ends early or is damaged raises (gzip.BadGzipFile:
#: bytes after a member that are not another gzip member).
GZIP_ERRORS = (EOFError, zlib.error, gzip.BadGzipFile)

#: The empty block that ends every complete BGZF file (the SAM/BAM specification, 4.1.2).
BGZF_EOF = bytes.fromhex("1f8b08040000000000ff0600424302001b0003000000000000000000")


def is_gzipped(path: str | os.PathLike[str]) -> bool:
    """True when the file at `path` starts with the gzip magic bytes."""
    with open(path, "rb") as handle:
        return handle.read(2) == GZIP_MAGIC


def is_bgzf(path: str | os.PathLike[str]) -> bool:
    """True when the file at `path` starts with a BGZF block: a gzip header with an extra
    field whose first subfield is ``BC`` (what ``bgzip`` writes)."""
    with open(path, "rb") as handle:
        head = handle.read(14)
    return len(head) == 14 and head[:4] == b"\x1f\x8b\x08\x04" and head[12:14] == b"BC"


def bgzf_end_missing(path: str | os.PathLike[str]) -> bool:
    """True when `path` is a BGZF file that does not end with BGZF's end-of-file block:
    it was probably cut short (plain gzip files have no such block; they are not BGZF)."""
    if not is_bgzf(path):
        return False
    with open(path, "rb") as handle:
        handle.seek(0, os.SEEK_END)
        size = handle.tell()
        handle.seek(max(size - len(BGZF_EOF), 0))
        return handle.read() != BGZF_EOF


def open_text(path: str | os.PathLike[str]) -> TextIO:
    """Open `path` for reading text, decompressing it when it is gzipped."""
    if is_gzipped(path):
        return gzip.open(path, "rt")
    return open(path)


def numbered_lines(path: str | os.PathLike[str]) -> Iterator[tuple[int, str]]:
    """Yield ``(line number from 1, line)`` of the text file at `path` (plain or gzipped,
    newlines kept); a gzip stream that ends early or does not decompress, and bytes that
    are not UTF-8, stop with a ValueError naming the file and the last line read."""
    gzipped = is_gzipped(path)
    line_no = 0
    with open_text(path) as handle:
        try:
            for line_no, line in enumerate(handle, start=1):
                yield line_no, line
        except GZIP_ERRORS as error:
            raise ValueError(
                f"{path}: the gzip stream is truncated or corrupt {_after(line_no)} ({error}); "
                "re-download or re-compress it"
            ) from None
        except UnicodeDecodeError:
            if gzipped:
                raise ValueError(
                    f"{path}: the gzip stream is corrupt {_after(line_no)} (it decompresses to "
                    "bytes that are not text); re-download or re-compress it"
                ) from None
            raise ValueError(
                f"{path}: the text {_after(line_no)} is not UTF-8; is it the right file?"
            ) from None


def _after(line_no: int) -> str:
    return f"after line {line_no}" if line_no else "before its first line"
