"""How the command line reads: its help's layout and its answers to a mistyped word
(the parser that gives them is :class:`crossreg.commands.words.StepParser`).

Standard library only, so that ``crossreg --help`` stays light.
"""

from __future__ import annotations

import argparse
import difflib
from collections.abc import Iterable, Sequence
from typing import Any


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


def invalid_choice(value: object, choices: Iterable[object], meant: str | None = None) -> str:
    """``invalid choice: 'mnii'; did you mean 'mini'? (choose from 'tiny', 'mini', ...)``:
    the near one of `choices`, unless `meant` says what was meant instead."""
    choices = list(choices)
    guess = meant or near(str(value), [str(choice) for choice in choices])
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


# dashes that text copied from a typeset page may put where '-' was: hyphen, non-breaking
# hyphen, figure dash, en dash, em dash, horizontal bar, minus sign, small and full-width
# hyphen-minus
DASHES = "\u2010\u2011\u2012\u2013\u2014\u2015\u2212\ufe63\uff0d"


def typed_dash(word: str) -> str | None:
    """The option `word` was typed for when it starts with a dash that is not ``-``
    (``–out``, an en dash typeset from ``--out``: ``--out``; ``−v``: ``-v``), else None."""
    if not word or word[0] not in DASHES:
        return None
    name = word.lstrip("-" + DASHES)
    return ("--" if len(name) > 1 else "-") + name


def meant_option(name: str, options: Sequence[str]) -> str | None:
    """The option `name` most likely stands for: the one it shortens (``--thread``:
    ``--threads``; ``--cases-vcf or --cases-sad`` where it shortens several), else the
    near one (``--batchsize``: ``--batch-size``), if any."""
    abridged = name.startswith("--") and name != "--"
    longer = [option for option in options if abridged and option.startswith(name)]
    return " or ".join(longer) if longer else near(name, options)


def unknown_arguments_message(parser: argparse.ArgumentParser, extras: Sequence[str]) -> str:
    """``unrecognized arguments: --batchsize 4 (did you mean --batch-size?)``; an
    abbreviation is named with the option it shortens (``--thread``: ``--threads``), and
    one typed with another dash (:func:`typed_dash`) as it is with ``-``."""
    options = [s for action in parser._actions for s in action.option_strings]
    guesses = []
    for word in extras:
        name = word.split("=", 1)[0]
        typed = typed_dash(name) or name
        guess = typed if typed in options else meant_option(typed, options)
        if typed.startswith("-") and guess is not None:
            guesses.append((guess, name))
    if len(guesses) == 1:
        hint = f" (did you mean {guesses[0][0]}?)"
    else:
        hint = ", ".join(f"{guess} for {name}" for guess, name in guesses)
        hint = f" (did you mean {hint}?)" if hint else ""
    return f"unrecognized arguments: {' '.join(extras)}{hint}"
