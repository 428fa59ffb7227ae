"""Errors every layer may raise, and the check of a list of paths given as one path."""

import os


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
