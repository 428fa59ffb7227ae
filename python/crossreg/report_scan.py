"""The folders a ``crossreg report`` page shows, each with its files sorted by kind (figures,
tables, texts, others), the ``.partial`` entries of unfinished runs, and the run logs."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from crossreg.io.partial import STORE_MARKS, left_over
from crossreg.io.partial import SUFFIX as PARTIAL_SUFFIX
from crossreg.runlog import RUNS_FILE

FIGURES = (".png", ".svg")
TABLES = (".tsv", ".csv")
TEXTS = (".txt", ".md")
SUMMARY_FILES = ("summary.txt", "summary.json")  # the root's: shown in the Summary section
SKIPPED = ("tensorboard",)  # folders whose files are only listed by count


@dataclass
class Folder:
    """The files of one folder of the report, by kind."""

    path: Path
    figures: list[Path] = field(default_factory=list)
    tables: list[Path] = field(default_factory=list)
    texts: list[Path] = field(default_factory=list)
    others: list[Path] = field(default_factory=list)
    summary: bool = False  # a summary.txt or summary.json of its own, shown first
    unfinished: list[str] = field(default_factory=list)  # the .partial entries left in it

    def empty(self) -> bool:
        """No file worth a section (an unfinished run's ``.partial`` is worth one)."""
        files = self.figures or self.tables or self.texts or self.others
        return not (self.summary or files or self.unfinished)


def scan(root: Path) -> list[Folder]:
    """Every folder under `root` (itself first, then depth-first by name) with its files."""
    folders = []
    for current, files, unfinished in _walk(root):
        folder = Folder(current, unfinished=unfinished)
        for name in sorted(files):
            path = folder.path / name
            if name.startswith(".") or name == RUNS_FILE or path.name == "report.html":
                continue
            if name in SUMMARY_FILES and readable_file(path):
                folder.summary = folder.path != root  # the root's is the page's Summary
                continue
            suffix = path.suffix.lower()
            skipped = any(part in SKIPPED for part in path.relative_to(root).parts)
            if skipped or not readable_file(path):
                folder.others.append(path)
            elif suffix in FIGURES:
                folder.figures.append(path)
            elif suffix in TABLES or (suffix == ".txt" and _tab_separated(path)):
                folder.tables.append(path)
            elif suffix in TEXTS:
                folder.texts.append(path)
            else:
                folder.others.append(path)
        _list_svg_twins(folder)
        folders.append(folder)
    return folders


def _list_svg_twins(folder: Folder) -> None:
    """Keep one figure per name: of a figure saved as both PNG and SVG (``--svg``) the PNG
    is shown and the SVG listed among the other files."""
    pngs = {p.with_suffix("") for p in folder.figures if p.suffix.lower() == ".png"}
    twins = [p for p in folder.figures if p.suffix.lower() == ".svg" and p.with_suffix("") in pngs]
    if twins:
        folder.figures = [p for p in folder.figures if p not in twins]
        folder.others = sorted(folder.others + twins, key=lambda p: p.name)


def readable_file(path: Path) -> bool:
    """A regular file (a link followed) that can be read: not a broken link, a pipe or a
    file without read permission, which the report lists without opening."""
    return path.is_file() and os.access(path, os.R_OK)


def _tab_separated(path: Path) -> bool:
    """Whether a text file is a table (e.g. a targets file): its first lines all hold the
    same number (two or more) of tab-separated fields."""
    with open(path, errors="replace") as handle:
        lines = handle.read(8192).splitlines()[:20]
    widths = {line.count("\t") for line in lines[:-1] or lines}
    return bool(lines) and len(widths) == 1 and widths.pop() > 0


def run_logs(root: Path) -> Iterator[Path]:
    """Every :data:`RUNS_FILE` in `root` and the folders the report shows (not hidden ones,
    nor the ``.partial`` folders of unfinished runs), in sorted order."""
    for current, files, _ in _walk(root):
        if RUNS_FILE in files:
            yield current / RUNS_FILE


def _walk(root: Path) -> Iterator[tuple[Path, list[str], list[str]]]:
    """Each folder the report shows under `root` (itself first, then depth-first by name)
    with its file names and the ``.partial`` entries (``OUT/.partial``, ``OUT.partial``,
    ``.NAME.partial``) that unfinished runs left in it: folders reached through symbolic
    links too (each real folder once, so a link cycle ends), not hidden ones nor the
    ``.partial`` folders themselves."""
    seen: set[tuple[int, int]] = set()
    for current, dirs, files in os.walk(root, followlinks=True):
        info = os.stat(current)
        if (info.st_dev, info.st_ino) in seen:
            dirs[:] = []
            continue
        seen.add((info.st_dev, info.st_ino))
        here = Path(current)
        unfinished = sorted(d for d in dirs if _unfinished_run(here / d))
        dirs[:] = sorted(d for d in dirs if not d.startswith(".") and d not in unfinished)
        # a link OUT.partial to a scratch folder not made yet: a place for a run's chunks
        files = [f for f in files if not (f.endswith(PARTIAL_SUFFIX) and (here / f).is_symlink())]
        yield here, files, unfinished


def _unfinished_run(path: Path) -> bool:
    """Whether the folder `path` is the ``.partial`` an unfinished run left: a hidden one
    (``OUT/.partial``, ``.NAME.partial``), or a chunk store ``OUT.partial`` (a folder, or a
    link to one, holding its settings or progress); not a user's own ``NAME.partial``."""
    if not path.name.endswith(PARTIAL_SUFFIX):
        return False
    if path.name.startswith("."):
        return left_over(path)
    return any((path / mark).exists() for mark in STORE_MARKS)
