"""How the command line reads: its help's layout and its answers to a mistyped word.

Standard library only, so that ``crossreg --help`` stays light.
"""

from __future__ import annotations

import argparse
import difflib
import sys
from collections.abc import Iterable, Mapping, Sequence
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


def invalid_choice(value: object, choices: Iterable[object]) -> str:
    """``invalid choice: 'mnii'; did you mean 'mini'? (choose from 'tiny', 'mini', ...)``."""
    choices = list(choices)
    guess = near(str(value), [str(choice) for choice in choices])
    hint = f"; did you mean {guess!r}?" if guess is not None else ""
    listed = ", ".join(repr(choice) for choice in choices)
    return f"invalid choice: {value!r}{hint} (choose from {listed})"


class OneOf(argparse.Action):
    """``action=OneOf, choices=...``: store one of the choices; another value is refused
    with :func:`invalid_choice`, naming the near one. The choices are kept from argparse
    (whose own check would refuse first, without the near one); the help shows them as
    argparse does (``{tiny,mini,small}``) unless a metavar is given. One value per option."""

    def __init__(
        self,
        option_strings: Sequence[str],
        dest: str,
        choices: Iterable[object],
        metavar: str | None = None,
        **kwargs: Any,
    ) -> None:
        if kwargs.get("nargs") is not None:
            raise ValueError(f"{option_strings[0]}: OneOf takes one value (no nargs)")
        self.allowed = tuple(choices)
        shown = "{" + ",".join(str(choice) for choice in self.allowed) + "}"
        super().__init__(option_strings, dest, metavar=metavar or shown, **kwargs)

    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        values: Any,
        option_string: str | None = None,
    ) -> None:
        if values not in self.allowed:
            raise argparse.ArgumentError(self, invalid_choice(values, self.allowed))
        setattr(namespace, self.dest, values)


class StepParser(argparse.ArgumentParser):
    """An argument parser that takes only whole option names (``--thread`` is refused
    naming ``--threads``, so that a script's option never changes meaning when a longer
    one is added), names the near one of a mistyped step, choice (:class:`OneOf`) or
    option, and lets the step that was given answer for options it does not know, with its
    own usage: also when a required option is missing, as it is when its name was
    mistyped (``--modle``)."""

    _given: Sequence[str] = ()
    _steps: argparse.Action | None = None

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **{**kwargs, "allow_abbrev": False})

    def add_subparsers(self, **kwargs: Any) -> Any:
        """As :meth:`argparse.ArgumentParser.add_subparsers`, remembering the steps, for
        :meth:`parse_known_args`."""
        self._steps = super().add_subparsers(**kwargs)
        return self._steps

    def parse_known_args(  # type: ignore[override]
        self, args: Sequence[str] | None = None, namespace: argparse.Namespace | None = None
    ) -> tuple[argparse.Namespace, list[str]]:
        """As :meth:`argparse.ArgumentParser.parse_known_args`, remembering the words
        given, for :meth:`error`; a parser with steps first refuses an unknown step, naming
        the near one. The step is the first word that is not an option: this parser's own
        options take no value."""
        self._given = list(sys.argv[1:] if args is None else args)
        steps = self._steps
        if steps is not None and steps.choices is not None:
            step = next((word for word in self._given if not word.startswith("-")), None)
            if step is not None and step not in steps.choices:
                name = steps.metavar or steps.dest
                self.error(f"argument {name}: {invalid_choice(step, steps.choices)}")
        return super().parse_known_args(args, namespace)

    def error(self, message: str) -> NoReturn:
        """Argparse's usage error; one about missing options also names the options given
        that this parser does not know (``--modle``: did you mean ``--model``?)."""
        if message.startswith("the following arguments are required"):
            options = [s for action in self._actions for s in action.option_strings]
            unknown = [
                word
                for word in self._given
                if word.startswith("--") and word.split("=", 1)[0] not in options
            ]
            if unknown:
                message += "; " + unknown_arguments_message(self, unknown)
        super().error(message)

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
        steps = self._steps
        if steps is None or not isinstance(steps.choices, Mapping):
            return None
        return steps.choices.get(str(getattr(parsed, steps.dest, None)))


def meant_option(name: str, options: Sequence[str]) -> str | None:
    """The option `name` most likely stands for: the one it shortens (``--thread``:
    ``--threads``; ``--cases-vcf or --cases-sad`` where it shortens several), else the
    near one (``--batchsize``: ``--batch-size``), if any."""
    longer = [option for option in options if name.startswith("--") and option.startswith(name)]
    return " or ".join(longer) if longer else near(name, options)


def unknown_arguments_message(parser: argparse.ArgumentParser, extras: Sequence[str]) -> str:
    """``unrecognized arguments: --batchsize 4 (did you mean --batch-size?)``; an
    abbreviation is named with the option it shortens (``--thread``: ``--threads``)."""
    options = [s for action in parser._actions for s in action.option_strings]
    guesses = []
    for word in extras:
        name = word.split("=", 1)[0]
        guess = meant_option(name, options) if name.startswith("-") else None
        if guess is not None:
            guesses.append((guess, name))
    if len(guesses) == 1:
        hint = f" (did you mean {guesses[0][0]}?)"
    else:
        hint = ", ".join(f"{guess} for {name}" for guess, name in guesses)
        hint = f" (did you mean {hint}?)" if hint else ""
    return f"unrecognized arguments: {' '.join(extras)}{hint}"
