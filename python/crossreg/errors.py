"""Errors every layer may raise, the checks of a list of paths or names given as one, and
how a message counts things and names a long list."""

import os
from collections.abc import Sequence


class CommandError(Exception):
    """A step failed in a way its message explains (the command line shows no traceback)."""


class Interrupted(KeyboardInterrupt):
    """Ctrl-C during a long step; the message says what was kept and how to continue."""


def require_path_list(value: object, name: str) -> None:
    """Stop when `value`, a sequence of paths, is one path: a string would be read letter
    by letter (``"data/human"`` as the paths ``d``, ``a``, ...)."""
    if isinstance(value, (str, os.PathLike)):
        path = os.fspath(value)
        raise TypeError(f"{name} takes a list of paths, got the one path {path!r}: pass [{path!r}]")


def require_name_list(value: object, name: str, example: str) -> None:
    """Stop when `value`, a sequence of names (chromosomes, splits), is one string: it
    would be read letter by letter (``"chr1"`` as ``c``, ``h``, ...); `example` is a name
    the message shows in a list."""
    if isinstance(value, str):
        raise TypeError(
            f"{name} must be a list of names, e.g. [{example!r}], got the string {value!r}"
        )


def require_kind(value: object, kind: type, name: str, example: str) -> None:
    """Stop when `value`, the argument `name`, is not a `kind` (an options dataclass given
    as a dict of its fields, or a string, would otherwise fail deep inside the step as an
    AttributeError); `example` shows one made as it should be."""
    if not isinstance(value, kind):
        raise TypeError(
            f"{name} must be of type {kind.__name__}, e.g. {example}, not {type(value).__name__} "
            f"{value!r}"
        )


def plural(n: int, noun: str) -> str:
    """`n` of `noun`, counted: ``1 other file``, ``3 other files``."""
    return f"{n:,} {noun}{'s' * (n != 1)}"


def first_few(items: Sequence[str], shown: int = 5) -> str:
    """The first `shown` of `items`, comma-separated, then `` and N more`` when there are
    more: ``a, b, c, d, e and 2 more``; empty for no items."""
    more = f" and {len(items) - shown} more" if len(items) > shown else ""
    return ", ".join(items[:shown]) + more
