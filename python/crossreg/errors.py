"""Errors every layer may raise."""


class CommandError(Exception):
    """A step failed in a way its message explains (the command line shows no traceback)."""


class Interrupted(KeyboardInterrupt):
    """Ctrl-C during a long step; the message says what was kept and how to continue."""
