"""docs/formats.md's sections and the names they give, for tests that check a writer's
fields against the page."""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path

FORMATS = Path(__file__).resolve().parents[1] / "docs" / "formats.md"


def section(title: str) -> str:
    """The text of the page's ``## title`` section, up to the next ``## ``."""
    text = FORMATS.read_text(encoding="utf-8")
    start = text.index(f"\n## {title}\n")
    end = text.find("\n## ", start + 1)
    return text[start : end if end >= 0 else len(text)]


def unnamed(names: Iterable[str], text: str) -> list[str]:
    """The `names` that `text` gives in no inline code span, whole or as one of its
    words (a table's columns are one span: `` `snp chrom pos` ``)."""
    spans = re.findall(r"`([^`\n]+)`", text)
    named = {*spans, *(word for span in spans for word in span.split())}
    return sorted(set(names) - named)
