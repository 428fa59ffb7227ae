"""Text files, plain or gzip-compressed, opened alike.

Compression is detected by the file's first two bytes, the gzip magic ``1f 8b`` (bgzip
files carry it too), not by its suffix: a gzipped file without ``.gz`` and a plain file
named ``.gz`` both read correctly. The native net reader decides the same way. The bytes
are looked at through the handle that then reads the file, so a file that can be read
only once (a pipe, a shell's ``<(...)``) reads whole.

:func:`numbered_lines` reads a UTF-8 file line by line, drops a leading byte-order mark,
and turns a truncated or corrupt gzip stream into a :class:`ValueError` naming the file
and the last line read, and bytes that are not UTF-8 into one naming their line (or, for
UTF-16 text or a bzip2, xz or zstd file, saying so and how to convert it);
:func:`read_json` reads a JSON file, naming it and the line where a damaged one stops
being JSON or UTF-8 text; :func:`bgzf_end_missing` tells a BGZF (bgzip) file cut short at
a block boundary, which decompresses without error, by its missing end-of-file block;
:func:`unended_last_line` tells a plain file cut short inside a line.
"""

from __future__ import annotations

import codecs
import gzip
import io
import json
import os
import zlib
from collections.abc import Iterator
from typing import Any, TextIO

#: The first two bytes of every gzip (and bgzip) file.
GZIP_MAGIC = b"\x1f\x8b"

#: What reading a gzip stream that ends early or is damaged raises (gzip.BadGzipFile:
#: bytes after a member that are not another gzip member).
GZIP_ERRORS = (EOFError, zlib.error, gzip.BadGzipFile)

#: The byte-order mark some editors put at the start of a UTF-8 file, dropped on reading.
BOM = "\ufeff"

#: The empty block that ends every complete BGZF file (the SAM/BAM specification, 4.1.2).
BGZF_EOF = bytes.fromhex("1f8b08040000000000ff0600424302001b0003000000000000000000")

#: The first bytes of files compressed by a tool other than gzip, which are not read.
OTHER_COMPRESSIONS = {b"BZh": "bzip2", b"\xfd7zXZ\x00": "xz", b"\x28\xb5\x2f\xfd": "zstd"}

#: The byte-order marks that start UTF-16 text (little- and big-endian).
UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")

#: How many of a file's first bytes are looked at to tell its kind.
HEAD_SIZE = 6


class _GzipReader(gzip.GzipFile):
    """The decompressed bytes of a gzip stream read from an open binary handle, which
    closing this closes too."""

    def __init__(self, source: io.BufferedReader) -> None:
        super().__init__(fileobj=source, mode="rb")
        self._source = source

    def close(self) -> None:
        try:
            super().close()
        finally:
            self._source.close()


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
    it was probably cut short (plain gzip files have no such block; they are not BGZF).
    A file that is not a regular file (a pipe) is not looked at: that would consume it."""
    if not os.path.isfile(path) or not is_bgzf(path):
        return False
    with open(path, "rb") as handle:
        handle.seek(0, os.SEEK_END)
        size = handle.tell()
        handle.seek(max(size - len(BGZF_EOF), 0))
        return handle.read() != BGZF_EOF


def unended_last_line(path: str | os.PathLike[str]) -> int | None:
    """The number of the last line of the plain text file `path` when no newline ends it
    (a file cut short inside a line, by an interrupted download or copy), else None.
    Only regular files of text that is neither compressed nor UTF-16 are looked at: a pipe
    would be consumed, a gzip stream cut short stops its reader, and the others (a binary
    file given for a text one, whose first line is not UTF-8) are refused by what reads
    them."""
    if not os.path.isfile(path):
        return None
    with open(path, "rb") as handle:
        head = handle.read(HEAD_SIZE)
        if not head or head.startswith(GZIP_MAGIC) or _other_kind(head):
            return None
        handle.seek(0)
        if not _starts_as_text(handle.readline(1 << 16)):
            return None
        handle.seek(-1, os.SEEK_END)
        if handle.read(1) == b"\n":
            return None
        handle.seek(0)
        return sum(block.count(b"\n") for block in iter(lambda: handle.read(1 << 20), b"")) + 1


def _starts_as_text(first: bytes) -> bool:
    """Whether `first`, a file's first line (or its first bytes when that line is long),
    is UTF-8 text: a character cut at its end is allowed."""
    try:
        codecs.getincrementaldecoder("utf-8")().decode(first, final=False)
    except UnicodeDecodeError:
        return False
    return True


def open_text(path: str | os.PathLike[str]) -> TextIO:
    """Open `path` for reading UTF-8 text, decompressing it when it is gzipped; the file
    is opened once, so a pipe reads whole."""
    return io.TextIOWrapper(_open_bytes(path), encoding="utf-8")


def _open_bytes(path: str | os.PathLike[str]) -> io.BufferedReader | _GzipReader:
    """`path`'s bytes, decompressed when it starts with the gzip magic, told by peeking
    at the handle that then reads it (so a pipe is not consumed by the look)."""
    handle = open(path, "rb")  # noqa: SIM115 (closed with what it returns)
    if _head(handle, len(GZIP_MAGIC)) == GZIP_MAGIC:
        return _GzipReader(handle)
    return handle


def _head(stream: io.BufferedReader | _GzipReader, size: int) -> bytes:
    """The next `size` bytes of `stream` (fewer when it ends first), left unread."""
    return stream.peek(size)[:size]


def numbered_lines(path: str | os.PathLike[str]) -> Iterator[tuple[int, str]]:
    """Yield ``(line number from 1, line)`` of the text file at `path` (plain or gzipped,
    newlines kept, a leading UTF-8 byte-order mark dropped); a gzip stream that ends early
    or does not decompress, and bytes that are not UTF-8, stop with a ValueError naming
    the file and the line."""
    line_no, head = 0, b""
    stream = _open_bytes(path)
    with io.TextIOWrapper(stream, encoding="utf-8") as handle:
        try:
            head = _head(stream, HEAD_SIZE)
            for line_no, line in enumerate(handle, start=1):
                yield line_no, line.removeprefix(BOM) if line_no == 1 else line
        except GZIP_ERRORS as error:
            raise ValueError(
                f"{path}: the gzip stream is truncated or corrupt {_after(line_no)} ({error}); "
                "re-download or re-compress it"
            ) from None
        except UnicodeDecodeError:
            raise ValueError(_not_utf8(path, line_no, head)) from None


def _not_utf8(path: str | os.PathLike[str], line_no: int, head: bytes) -> str:
    """The error for text of `path` that is not UTF-8, found after line `line_no`; `head`
    is the text's first bytes, which tell UTF-16 text and other compressions."""
    kind = _other_kind(head)
    if kind is not None:
        return f"{path}: {kind}"
    bad = _first_line_not_utf8(path)
    if bad is None:
        return f"{path}: the text {_after(line_no)} is not UTF-8; is it the right file?"
    return (
        f"{path}:{bad}: the line is not UTF-8 text; is it the right file? If so, convert it "
        "to UTF-8 (iconv -f latin1 -t utf-8)"
    )


def _other_kind(head: bytes) -> str | None:
    """What a file starting with `head` is, when that explains why it is not UTF-8 text,
    with how to convert it; None otherwise."""
    for magic, tool in OTHER_COMPRESSIONS.items():
        if head.startswith(magic):
            return (
                f"the file is {tool}-compressed, which crossreg does not read; decompress it "
                f"({tool} -d) or recompress it with gzip or bgzip"
            )
    if head.startswith(UTF16_BOMS):
        return "the file is UTF-16 text, not UTF-8; convert it to UTF-8 (iconv -f utf-16 -t utf-8)"
    return None


def _first_line_not_utf8(path: str | os.PathLike[str]) -> int | None:
    """The number of the first line of `path` (decompressed) that is not UTF-8; None when
    none is found (or the gzip stream breaks first, or the file, a pipe, cannot be read
    again). Decoding line by line finds the line the text layer's chunked decoding cannot
    name; a newline byte never occurs inside a UTF-8 character, so the lines split the same
    way (but for a lone carriage return, which text mode also ends a line at)."""
    if not os.path.isfile(path):
        return None
    try:
        with gzip.open(path, "rb") if is_gzipped(path) else open(path, "rb") as handle:
            for line_no, raw in enumerate(handle, start=1):
                try:
                    raw.decode("utf-8")
                except UnicodeDecodeError:
                    return line_no
    except GZIP_ERRORS:
        return None
    return None


def _after(line_no: int) -> str:
    return f"after line {line_no}" if line_no else "before its first line"


def read_json(path: str | os.PathLike[str], remedy: str = "") -> Any:
    """The JSON value in the file `path`; bytes that are not UTF-8 text, or text that is
    not JSON, are a ValueError naming the file and the line where it goes wrong, followed
    by `remedy` when given."""
    advice = f"; {remedy}" if remedy else ""
    with open(path, "rb") as handle:
        raw = handle.read()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as err:
        kind = _other_kind(raw[:HEAD_SIZE])
        line = raw.count(b"\n", 0, err.start) + 1
        what = kind or f"line {line} is not UTF-8 text (a binary file?)"
        raise ValueError(f"{path}: not JSON: {what}{advice}") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as err:
        raise ValueError(
            f"{path}: not valid JSON ({err.msg} at line {err.lineno}){advice}"
        ) from None
