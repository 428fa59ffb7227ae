"""The documentation against the command line: the options it names exist, and it names them all.

The pages embed each command's ``--help`` when they are built (``docs/hooks/cli_help.py``),
but a user reads what an option is for in the pages' own text: every option of every
command is named somewhere in README.md or docs/, every option that a documented
``crossreg COMMAND ...`` line gives is one the command takes, and every default a step's
page quotes for its options is the one its ``--help`` shows.
"""

from __future__ import annotations

import argparse
import re
from pathlib import Path

from crossreg.cli import build_parser
from crossreg.commands.help import DefaultsFormatter

ROOT = Path(__file__).resolve().parents[1]
# an option named in the text: not the start of a longer one (--verbose in --verbose-thresh)
NAMED = r"(?<![\w-]){}(?![\w-])"
# one command up to the next one, a comment or a shell separator
COMMAND = re.compile(r"crossreg(?: -[qv])? ([a-z][\w-]*)(.*?)(?=$|#|;|&&|\|\||crossreg )")
# a default as a page quotes it: a number (1,024; −1; 0.25) or a literal (`SAD`)
VALUE = r"(−?\d+(?:,\d{3})*(?:\.\d+)?|`[^`]+`)"


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


def _quoted_defaults(text: str) -> list[tuple[str, str]]:
    """The (option, default) pairs a page quotes: an option table's `default` column, a
    table row of one option saying ``default N`` (not of another option it names), and
    ``--option is N by default`` or ``--option (default N`` with the option in backticks."""
    found: list[tuple[str, str]] = []
    for table in re.findall(r"((?:^\|.*\|\n)+)", text, flags=re.M):
        rows = [row.strip().strip("|").split("|") for row in table.strip().splitlines()]
        head = [cell.strip().lower() for cell in rows[0]]
        if "default" in head:
            column = head.index("default")
            for row in rows[2:]:
                if re.fullmatch(VALUE, value := row[column].strip()):
                    found += [(option, value) for option in re.findall(r"`(--[\w-]+)", row[0])]
    for option, rest in re.findall(r"^\| `(--[\w-]+)[^|]*\|(.*)$", text, flags=re.M):
        for said in re.finditer(r"default:? " + VALUE, rest):
            named = re.findall(r"`(--[\w-]+)", rest[: said.start()])
            if not named or named[-1] == option:
                found.append((option, said.group(1)))
    found += re.findall(r"`(--[\w-]+)` is " + VALUE + " by default", text)
    found += re.findall(r"`(--[\w-]+)`(?: [a-z]+)? \(default " + VALUE, text)
    return found


def _help_default(parser: argparse.ArgumentParser, option: str) -> str | None:
    """The default the option's ``--help`` line shows, as printed (None: it shows none)."""
    (action,) = [a for a in parser._actions if option in a.option_strings]
    text = DefaultsFormatter(parser.prog)._get_help_string(action) or ""
    text = " ".join((text % {**vars(action), "prog": parser.prog}).split())
    shown = re.search(r"default:? (.+?)(?=[);]|, |$)", text)
    return shown.group(1) if shown else None


def _same_default(quoted: str, shown: str) -> bool:
    """A page's default (`1,024`, `−1`, a literal in backticks) is the help's (1024, -1.0)."""
    quoted, shown = quoted.strip("`").replace(",", "").replace("−", "-"), shown.replace(",", "")
    try:
        return float(quoted) == float(shown)
    except ValueError:
        return quoted == shown


def _wrong_defaults(page: str, text: str, parser: argparse.ArgumentParser) -> list[str]:
    wrong = []
    for option, quoted in _quoted_defaults(text):
        shown = _help_default(parser, option)
        if shown is None or not _same_default(quoted, shown):
            wrong.append(f"{page}: {option} {quoted}, --help: {shown}")
    return wrong


def test_every_default_a_step_page_quotes_is_the_one_help_shows():
    commands = _commands(build_parser())
    wrong, quoted = [], 0
    for path in sorted((ROOT / "docs" / "steps").glob("*.md")):
        text = path.read_text(encoding="utf-8")
        quoted += len(_quoted_defaults(text))
        wrong += _wrong_defaults(path.name, text, commands[path.stem])
    assert quoted >= 30, "the pages' defaults are no longer found"
    assert not wrong, f"defaults the pages quote that --help does not show: {wrong}"


def test_a_quoted_default_that_drifted_is_caught():
    data = _commands(build_parser())["data"]
    text = (
        "| option | default | what |\n|---|---|---|\n| `--stride` | 65,600 | stride |\n"
        "| `--crop` | 64 | crop |\n\n"
        "`--seq-length` is 131,072 by default, `--threads` (default 2).\n"
        "| `--min-n-run` | runs (default 1,000; `--gaps` default 7) |\n"
    )
    assert _wrong_defaults("page", text, data) == [
        "page: --stride 65,600, --help: 65599",
        "page: --min-n-run 1,000, --help: 1024",
        "page: --threads 2, --help: all cores",
    ]
