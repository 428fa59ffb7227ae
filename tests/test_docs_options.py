"""The documentation against the command line: the options it names exist, and it names them all.

The pages embed each command's ``--help`` when they are built (``docs/hooks/cli_help.py``),
but a user reads what an option is for in the pages' own text: every option of every
command is named somewhere in README.md or docs/, and every option that a documented
``crossreg COMMAND ...`` line gives is one the command takes.
"""

from __future__ import annotations

import argparse
import re
from pathlib import Path

from crossreg.cli import build_parser

ROOT = Path(__file__).resolve().parents[1]
# an option named in the text: not the start of a longer one (--verbose in --verbose-thresh)
NAMED = r"(?<![\w-]){}(?![\w-])"
# one command up to the next one, a comment or a shell separator
COMMAND = re.compile(r"crossreg(?: -[qv])? ([a-z][\w-]*)(.*?)(?=$|#|;|&&|\|\||crossreg )")


def _pages() -> dict[str, str]:
    paths = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
    return {str(path.relative_to(ROOT)): path.read_text(encoding="utf-8") for path in paths}


def _commands(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    (subparsers,) = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    return dict(subparsers.choices)


def _option_names(parser: argparse.ArgumentParser) -> list[list[str]]:
    """Each option's strings, help left out."""
    return [
        list(action.option_strings)
        for action in parser._actions
        if action.option_strings and not isinstance(action, argparse._HelpAction)
    ]


def _command_lines(text: str) -> list[str]:
    """The `crossreg ...` lines of a page: shell blocks (continuations joined) and inline code."""
    lines: list[str] = []
    for block in re.findall(r"```(?:bash|sh)\n(.*?)```", text, flags=re.DOTALL):
        lines += block.replace("\\\n", " ").splitlines()
    lines += [" ".join(code.split()) for code in re.findall(r"`(crossreg [^`]*)`", text)]
    return lines


def test_every_option_of_every_command_is_named_in_the_docs():
    parser = build_parser()
    text = "\n".join(_pages().values())
    missing = []
    for command, sub in [("", parser), *_commands(parser).items()]:
        for strings in _option_names(sub):
            long = [s for s in strings if s.startswith("--")] or strings
            if not any(re.search(NAMED.format(re.escape(s)), text) for s in long):
                missing.append(f"crossreg {command} {long[0]}".replace("  ", " "))
    assert not missing, f"options no page names: {missing}"


def test_every_option_a_documented_command_line_gives_exists():
    parser = build_parser()
    commands = _commands(parser)
    top = {"-h", "--help"} | {s for strings in _option_names(parser) for s in strings}
    unknown = []
    for page, text in _pages().items():
        for line in _command_lines(text):
            for match in COMMAND.finditer(line):
                command, rest = match.groups()
                if command not in commands:
                    continue  # prose such as "crossreg versions"
                known = top | {s for strings in _option_names(commands[command]) for s in strings}
                for option in re.findall(r"(?<![\w-])(--?[a-zA-Z][\w-]*)", rest):
                    if option not in known:
                        unknown.append(f"{page}: crossreg {command} {option}")
    assert not unknown, f"documented options the commands lack: {unknown}"
