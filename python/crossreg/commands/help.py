"""How the command line reads: its help's layout and its answers to a mistyped word.

Standard library only, so that ``crossreg --help`` stays light.
"""

from __future__ import annotations

import argparse
import difflib
import sys
from collections.abc import Iterable, Sequence
from typing import Any, NoReturn


def near(word: str, known: Iterable[str]) -> str | None:
    """The one of `known` that `word` most likely mistypes (``trian``: ``train``), if any."""
    found = difflib.get_close_matches(word, list(known), n=1, cutoff=0.6)
    return found[0] if found else None


class DefaultsFormatter(argparse.HelpFormatter):
    """Help that marks required options and shows each option's default, unless its text
    already says it or there is none to show: no default (``None``, ``False``, an empty
    string or list), or a flag (``--svg``, ``--no-plots``), whose default is that it is not
    given. A paragraph of the description or epilog whose lines are indented (examples) is
    kept as written; the others are wrapped to the terminal."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        text = action.help or ""
        default = action.default
        shown = default is not None and default is not False and default != argparse.SUPPRESS
        shown = shown and default != "" and not isinstance(default, list)
        shown = shown and bool(action.option_strings) and action.nargs != 0
        if shown and "default" not in text.lower():
            text += " (default: %(default)s)"
        if action.required and action.option_strings:
            text += " (required)"
        return text

    def _fill_text(self, text: str, width: int, indent: str) -> str:
        paragraphs = []
        for paragraph in text.split("\n\n"):
            if paragraph.startswith("  "):
                paragraphs.append("\n".join(indent + line for line in paragraph.splitlines()))
            else:
                paragraphs.append(super()._fill_text(paragraph, width, indent))
        return "\n\n".join(paragraphs)


def note_exclusive_options(parser: argparse.ArgumentParser) -> None:
    """Say in the help of each option of a mutually exclusive group which options it
    excludes (``not with --svg``), or, in a required group, which it stands for (``or
    --bigwig: one is required``)."""
    for group in parser._mutually_exclusive_groups:
        for action in group._group_actions:
            others = [a.option_strings[-1] for a in group._group_actions if a is not action]
            names = " or ".join(others)
            note = f"or {names}: one is required" if group.required else f"not with {names}"
            action.help = f"{action.help}; {note}" if action.help else note


class StepParser(argparse.ArgumentParser):
    """An argument parser that names the near one of a mistyped choice (a step's name,
    ``--preset``'s) or option, and lets the step that was given answer for options it does
    not know, with its own usage: also when a required option is missing, as it is when
    its name was mistyped (``--modle``)."""

    _given: Sequence[str] = ()

    def parse_known_args(  # type: ignore[override]
        self, args: Sequence[str] | None = None, namespace: argparse.Namespace | None = None
    ) -> tuple[argparse.Namespace, list[str]]:
        """As :meth:`argparse.ArgumentParser.parse_known_args`, remembering the words
        given, for :meth:`error`."""
        self._given = list(sys.argv[1:] if args is None else args)
        return super().parse_known_args(args, namespace)

    def error(self, message: str) -> NoReturn:
        """Argparse's usage error; one about missing options also names the options given
        that this parser does not know (``--modle``: did you mean ``--model``?)."""
        if message.startswith("the following arguments are required"):
            options = [s for action in self._actions for s in action.option_strings]
            unknown = [
                word
                for word in self._given
                if word.startswith("--")
                and not any(s.startswith(word.split("=", 1)[0]) for s in options)
            ]
            if unknown:
                message += "; " + unknown_arguments_message(self, unknown)
        super().error(message)

    def _check_value(self, action: argparse.Action, value: Any) -> None:
        choices = action.choices
        if choices is None or value in choices:
            return
        names = [str(choice) for choice in choices]
        guess = near(str(value), names)
        hint = f"; did you mean {guess!r}?" if guess is not None else ""
        listed = ", ".join(repr(name) for name in names)
        raise argparse.ArgumentError(
            action, f"invalid choice: {value!r}{hint} (choose from {listed})"
        )

    def parse_args(  # type: ignore[override]
        self, args: Sequence[str] | None = None, namespace: argparse.Namespace | None = None
    ) -> argparse.Namespace:
        """As :meth:`argparse.ArgumentParser.parse_args`; an unknown option is refused by
        the step's parser, naming the option it most likely mistypes."""
        parsed, extras = self.parse_known_args(args, namespace)
        if extras:
            parser = self._step_parser(parsed) or self
            parser.error(unknown_arguments_message(parser, extras))
        return parsed

    def _step_parser(self, parsed: argparse.Namespace) -> argparse.ArgumentParser | None:
        """The parser of the step `parsed` holds, if this parser has steps."""
        for action in self._actions:
            if isinstance(action, argparse._SubParsersAction):
                return action.choices.get(str(getattr(parsed, action.dest, None)))
        return None


def unknown_arguments_message(parser: argparse.ArgumentParser, extras: Sequence[str]) -> str:
    """``unrecognized arguments: --batchsize 4 (did you mean --batch-size?)``."""
    options = [s for action in parser._actions for s in action.option_strings]
    guesses = []
    for word in extras:
        name = word.split("=", 1)[0]
        guess = near(name, options) if name.startswith("-") else None
        if guess is not None:
            guesses.append((guess, name))
    if len(guesses) == 1:
        hint = f" (did you mean {guesses[0][0]}?)"
    else:
        hint = ", ".join(f"{guess} for {name}" for guess, name in guesses)
        hint = f" (did you mean {hint}?)" if hint else ""
    return f"unrecognized arguments: {' '.join(extras)}{hint}"
