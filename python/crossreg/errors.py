"""Errors every layer may raise."""


class CommandError(Exception):
    """A step failed in a way its message explains (the command line shows no traceback)."""
