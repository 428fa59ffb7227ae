"""MkDocs hook: put each command's ``--help`` text into the page that documents it.

A line ``<!-- crossreg-help: STEP -->`` in a page becomes a code block with the help of
``crossreg STEP`` (``<!-- crossreg-help: -->`` for ``crossreg --help``), rendered from
:func:`crossreg.cli.build_parser` at build time, so the pages always show the options of
the code they are built from. The package must be importable with its native extension
(``make dev``).
"""

from __future__ import annotations

import os
import re

MARKER = re.compile(r"^<!-- crossreg-help:\s*([\w-]*)\s*-->$", re.MULTILINE)
WIDTH = "90"

_helps: dict[str, str] | None = None


def _render() -> dict[str, str]:
    os.environ["COLUMNS"] = WIDTH  # argparse wraps to the terminal's width
    try:
        from crossreg.cli import build_parser
    except ImportError as error:  # pragma: no cover - a message for whoever builds the docs
        raise SystemExit(
            f"docs: cannot import crossreg ({error}); build the package first (make dev)"
        ) from error
    parser = build_parser()
    helps = {"": parser.format_help()}
    for action in parser._subparsers._group_actions:  # the subcommands' parsers
        for name, sub in action.choices.items():
            helps[name] = sub.format_help()
    return helps


def on_page_markdown(markdown: str, page, config, files) -> str:
    global _helps
    if not MARKER.search(markdown):
        return markdown
    if _helps is None:
        _helps = _render()

    def block(match: re.Match[str]) -> str:
        step = match.group(1)
        if step not in _helps:
            raise SystemExit(f"{page.file.src_path}: crossreg has no command {step!r}")
        return "```text\n" + _helps[step].rstrip() + "\n```"

    return MARKER.sub(block, markdown)
