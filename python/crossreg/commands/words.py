"""How the words given to ``crossreg`` are read: :class:`StepParser`, the parser of crossreg
and of each step, and the checks of a path word (:func:`path_problem`).

Standard library only, so that ``crossreg --help`` stays light.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, NoReturn

from crossreg.commands.help import invalid_choice, near, typed_dash, unknown_arguments_message

# the metavars of the options that take a path as text (the others take a Path)
PATH_METAVARS = frozenset({"BED", "DIR", "FASTA", "FILE", "PREFIX"})


def names_path(action: argparse.Action) -> bool:
    """Whether `action` takes a path: a :class:`~pathlib.Path`, or text whose metavar is
    one of :data:`PATH_METAVARS`."""
    return action.type is Path or (action.type is None and action.metavar in PATH_METAVARS)


def path_problem(text: str) -> str | None:
    """What is wrong with `text` as a path given on the command line, if anything: ``-``,
    which crossreg never takes for the standard input or output; an empty word (an unset
    shell variable), which would name the current directory; a leading ``~``, which the
    shell leaves as it is after ``=`` (``--out=~/x``, ``NAME=~/x``) or in quotes, and
    would name a folder ``~``."""
    if text == "-":
        return (
            "'-' is not the standard input or output here: crossreg reads and writes named "
            "files and folders; give a path (./- for a file named -)"
        )
    if not text:
        return "the path is empty (a shell variable that is not set?); give a path"
    if text.startswith("~"):
        home = f" ($HOME{text[1:]})" if text == "~" or text.startswith("~/") else ""
        return (
            f"'{text}' starts with '~', which the shell does not expand after '=' or in "
            f"quotes: give the whole path{home}, or ./{text} for a folder named "
            f"'{text.split('/', 1)[0]}'"
        )
    return None


def _option_like(word: str) -> bool:
    """Whether `word` was typed as an option: it starts with ``-`` or another dash."""
    return word.startswith("-") or typed_dash(word) is not None


class StepParser(argparse.ArgumentParser):
    """An argument parser that takes only whole option names (``--thread`` is refused
    naming ``--threads``, so that a script's option never changes meaning when a longer
    one is added), notes an option given twice, names the near one of a mistyped step,
    choice (:class:`OneOf`) or option, and lets the step that was given answer for options
    it does not know, with its own usage: also when a required option is missing, as it
    is when its name was mistyped (``--modle``)."""

    _given: Sequence[str] = ()
    _steps: argparse.Action | None = None

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **{**kwargs, "allow_abbrev": False})
        self._repeats: list[str] = []

    def add_subparsers(self, **kwargs: Any) -> Any:
        """As :meth:`argparse.ArgumentParser.add_subparsers`, remembering the steps, for
        :meth:`parse_known_args`."""
        self._steps = super().add_subparsers(**kwargs)
        return self._steps

    def parse_known_args(  # type: ignore[override]
        self, args: Sequence[str] | None = None, namespace: argparse.Namespace | None = None
    ) -> tuple[argparse.Namespace, list[str]]:
        """As :meth:`argparse.ArgumentParser.parse_known_args`, remembering the words
        given, for :meth:`error`, and noting options given twice (:meth:`_note_repeats`).
        In a parser with steps, an option of its own that it does not know and an unknown
        step are refused before argparse reads the words (:meth:`_check_steps`); a path
        that :func:`path_problem` finds wrong is refused as it is read (:meth:`_get_value`)."""
        self._given = words = list(sys.argv[1:] if args is None else args)
        self._repeats = []
        if self._steps is None:
            self._note_repeats(words)
        else:
            words = self._check_steps(words)
        return super().parse_known_args(words, namespace)

    def _check_steps(self, words: list[str]) -> list[str]:
        """The words of a parser with steps, checked before argparse reads them: this
        parser's own options come before the step (the first word that is not an option:
        they take no value) and each is known (``--verb``: did you mean ``--verbose``?);
        the step is known (``trian``: did you mean ``train``?; ``help train``: did you
        mean ``crossreg train --help``?, :meth:`_option_meant`). ``-h STEP`` is ``STEP
        -h``, and ``-- STEP`` is ``STEP`` (argparse would take ``--`` for the step)."""
        index = next((i for i, w in enumerate(words) if w == "-" or not _option_like(w)), None)
        before = words if index is None else words[:index]
        unknown = [word for word in before if word != "--" and not self._own_option(word)]
        if unknown:
            self._refuse_step_options_before(unknown, words)
            self.error(unknown_arguments_message(self, unknown))
        self._note_repeats(before)
        steps = self._steps
        if index is None or steps is None or not isinstance(steps.choices, Mapping):
            return words
        step, after = words[index], words[index + 1 :]
        if step not in steps.choices:
            meant = self._option_meant(step, after, steps.choices)
            argument = steps.metavar or steps.dest
            self.error(f"argument {argument}: {invalid_choice(step, steps.choices, meant)}")
        self._refuse_own_after(steps.choices[step], step, after)
        helps = [word for word in before if word in ("-h", "--help")][:1]
        kept = [word for word in before if word not in ("-h", "--help", "--")]
        return [*kept, step, *helps, *after]

    def _option_meant(
        self, word: str, after: Sequence[str], steps: Mapping[str, object]
    ) -> str | None:
        """What `word`, given for the step, means when it names an option of this parser:
        ``help WORD`` is ``crossreg STEP --help`` for the step WORD is or most likely
        mistypes, else ``crossreg --help``; ``version`` is ``crossreg --version``, and
        ``quiet train ...`` is ``crossreg --quiet train ...``."""
        if f"--{word}" not in self._option_string_actions:
            return None
        if word != "help":
            return f"{self.prog} --{word}{f' {after[0]} ...' if after else ''}"
        wanted = next((item for item in after if not item.startswith("-")), "")
        step = wanted if wanted in steps else near(wanted, steps)
        return f"{self.prog} {step} --help" if step else f"{self.prog} --help"

    def _own_option(self, word: str) -> bool:
        """Whether `word` is an option of this parser: ``--quiet``, ``--quiet=x`` (whose
        value argparse refuses) or short ones joined (``-vq``)."""
        options = self._option_string_actions
        joined = word.startswith("-") and not word.startswith("--") and len(word) > 1
        return word.split("=", 1)[0] in options or (
            joined and all(f"-{letter}" in options for letter in word[1:])
        )

    def _refuse_step_options_before(self, unknown: Sequence[str], words: Sequence[str]) -> None:
        """Refuse an option of the step given before it (``crossreg --out w synth``),
        saying where it goes; the step is the first word that names one."""
        steps = self._steps.choices if self._steps is not None else None
        if not isinstance(steps, Mapping):
            return
        step = next((word for word in words if word in steps), None)
        if step is None:
            return
        theirs = steps[step]._option_string_actions
        for word in unknown:
            name = word.split("=", 1)[0]
            if name in theirs:
                self.error(
                    f"unrecognized arguments: {word} (an option of {step}: give it after the "
                    f"step, {self.prog} {step} {name} ...)"
                )

    def _refuse_own_after(
        self, step_parser: argparse.ArgumentParser, step: str, after: Sequence[str]
    ) -> None:
        """Refuse, with the step's usage, an option of this parser given after the step
        (``crossreg train -q``), which the step does not take, saying where it goes."""
        own = set(self._option_string_actions) - set(step_parser._option_string_actions)
        for word in after:
            if word == "--":
                return
            name = word.split("=", 1)[0]
            if name in own:
                step_parser.error(
                    f"unrecognized arguments: {word} (an option of {self.prog} itself: give "
                    f"it before the step, {self.prog} {name} {step} ...)"
                )

    def _note_repeats(self, words: Sequence[str]) -> None:
        """Note each option given more than once (``--out a ... --out b``), whose last value
        argparse takes: a wrapper may override an option so, but a mistake would pass
        unseen (:meth:`repeated_options`). One that gathers its values (``--data a --data
        b``) is not noted."""
        first: dict[argparse.Action, str] = {}
        for index, word in enumerate(words):
            if word == "--":
                return
            action = self._option_string_actions.get(word.split("=", 1)[0])
            if action is None or isinstance(action, argparse._AppendAction):
                continue
            valued = "=" not in word and action.nargs != 0 and index + 1 < len(words)
            given = f"{word} {words[index + 1]}" if valued else word
            if action in first:
                self._repeats.append(
                    f"{'/'.join(action.option_strings)} is given more than once "
                    f"({first[action]}, then {given}); the last one counts"
                )
            first[action] = given

    def repeated_options(self, parsed: argparse.Namespace) -> list[str]:
        """What the last parse noted of options given more than once, this parser's and
        then those of the step `parsed` holds, for the command to warn of."""
        step = self._step_parser(parsed)
        return [*self._repeats, *(step._repeats if isinstance(step, StepParser) else [])]

    def _get_value(self, action: argparse.Action, arg_string: str) -> Any:
        """As argparse's, refusing first a path (:func:`names_path`) that
        :func:`path_problem` finds wrong."""
        problem = path_problem(arg_string) if names_path(action) else None
        if problem is not None:
            raise argparse.ArgumentError(action, problem)
        return super()._get_value(action, arg_string)

    def error(self, message: str) -> NoReturn:
        """Argparse's usage error; one about missing options also names the options given
        that this parser does not know (``--modle``: did you mean ``--model``?), and one
        about a missing value followed by a word that starts with ``-`` but is no option
        (``--out -x``) says how to give it (``--out=-x``)."""
        if message.startswith("the following arguments are required"):
            options = [s for action in self._actions for s in action.option_strings]
            unknown = [
                word
                for word in self._given
                if (word.startswith("--") or typed_dash(word))
                and word.split("=", 1)[0] not in options
            ]
            if unknown:
                message += "; " + unknown_arguments_message(self, unknown)
        missing = re.match(r"argument (\S+): expected (?:at least )?one argument$", message)
        names = missing.group(1).split("/") if missing else []
        for option, value in zip(self._given, self._given[1:], strict=False):
            taken = value.split("=", 1)[0] in self._option_string_actions
            if option in names and value.startswith("-") and not taken:
                message += f" (a value that starts with '-' is given as {option}={value})"
                break
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
