"""``crossreg report``: one self-contained HTML page that shows an output folder.

The page holds, for any folder crossreg wrote (a demo run, or a user's own train/evaluate/
sad/... folders): the summary (``summary.txt``, and ``summary.json`` folded; a
sub-folder's own, e.g. ``evaluate``'s or ``denovo``'s, at the top of its section; the
page's marked possibly out of date when commands logged under the folder started after it
was written and rewrote a file there), the command
lines that made the folder with their start, duration and versions (every
``crossreg-runs.jsonl`` under it, :mod:`crossreg.runlog`), then one section per sub-folder
with its figures (PNG and SVG embedded, the PNG of a figure saved as both; each that fits,
in order: at most :data:`FOLDER_FIGURES` a folder, :data:`PAGE_FIGURES` and
:data:`~crossreg.report_figures.PAGE_FIGURE_BYTES` (``--figures-mib``) a page, a large
PNG as a preview, each linked to its file and the rest listed with links, their sizes and
why they were left out, :mod:`crossreg.report_figures`),
the first rows of its tables (``.tsv``/``.csv``, and ``.txt`` files of tab-separated
columns; at most :data:`FOLDER_TABLES` a folder, each with how many rows it holds and the
values of the settings written beside it), a sub-folder's summary.json's top-level values
on one line (which split, head, how many tracks), and a list of its other files. A folder
where a command left the ``.partial`` of an unfinished run (stopped, or still running) is
marked unfinished, in its section and the header, rather than shown as if it were done;
a demo folder without its summary is said to be a demo not finished, and the demo's
folders it lacks are named (:data:`DEMO_FOLDERS`). Nothing is
fetched from the network and no script library is used; one inline script only counts the
figures that loaded (``data-figures="loaded/total"`` on ``<body>``), for checks.
"""

from __future__ import annotations

import csv
import html
import json
import math
import os
import re
import time
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from crossreg.io.atomic import CONTENTS_FILE, atomic_write
from crossreg.io.partial import STORE_MARKS, left_over
from crossreg.io.partial import SUFFIX as PARTIAL_SUFFIX
from crossreg.report_figures import (
    PAGE_FIGURE_BYTES,
    Budget,
    Left,
    figure_html,
    link,
    linked_html,
)
from crossreg.runlog import (
    RUNS_FILE,
    logged_command,
    read_runs,
    run_seconds,
    start_time,
    versions,
)

FIGURES = (".png", ".svg")
TABLES = (".tsv", ".csv")
TEXTS = (".txt", ".md")
TABLE_ROWS = 12  # rows shown per table
TABLE_COLUMNS = 14  # columns shown per table
RUN_ROWS = 100  # commands listed at most (the first and last half of them)
TABLE_READ_BYTES = 1 << 20  # a table's head is read from its first MiB
COUNT_BYTES = 256 << 20  # the rows of a larger table are not counted
TEXT_BYTES = 20_000  # longer texts are cut
SIGNIFICANT_DIGITS = 4  # fractional numbers in tables are shown to this many (in full on hover)
SUMMARY_FILES = ("summary.txt", "summary.json")  # the root's: shown in the Summary section
SKIPPED = ("tensorboard",)  # folders whose files are only listed by count
FOLDER_TABLES = 8  # tables shown per folder (an SLDP run writes one per annotation)
FOLDER_FIGURES = 24  # figures embedded per folder (an ISM writes one per site and track)
PAGE_FIGURES = 120  # figures embedded per page, so that its size stays bounded
LISTED = 200  # names listed at most of a folder's figures left out, and of its other files
FACT_ITEMS = 8  # a list in a summary.json is shown among its facts when this short
FACT_CHARS = 200  # and a text (a longer one, such as settings as JSON text, is not)
#: The folders ``crossreg demo`` writes, in the order of its steps, with what they hold:
#: a demo folder without one is told so (the demo writes its summary.txt last).
DEMO_FOLDERS = {
    "synth": "the generated genomes, tracks and truth",
    "split": "the synteny split",
    "data": "the training stores",
    "models": "the joint and single-genome models",
    "evaluate": "test accuracy per track",
    "compare": "joint vs single-genome models",
    "transfer": "cross-species transfer",
    "variants": "SAD of the planted variants",
    "denovo": "de novo case/control tests",
    "sldp": "SLDP of the GWAS-like panel",
    "ism": "saturation mutagenesis",
}
#: How the page writes a time: with its offset from UTC, for a page read in another zone.
TIME_FORMAT = "%Y-%m-%d %H:%M %z"
#: A table cell shown as a number: a plain decimal literal, or nan/inf (not ``1_27221``,
#: which Python's ``float`` reads as 127221).
NUMBER = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?|[+-]?(nan|inf|infinity)", re.I | re.A)

STYLE = """
body{font-family:system-ui,-apple-system,Segoe UI,Helvetica,Arial,sans-serif;margin:0;
color:#1d2430;background:#f7f8fa}
header{background:#1d3557;color:#fff;padding:18px 32px}
header h1{margin:0;font-size:22px} header p{margin:4px 0 0;opacity:.85;font-size:13px}
nav{padding:12px 32px;background:#fff;border-bottom:1px solid #dde1e6;font-size:13px}
nav a{margin-right:14px;color:#1d3557;text-decoration:none;display:inline-block}
main{padding:8px 32px 40px;max-width:1400px}
section{background:#fff;border:1px solid #dde1e6;border-radius:6px;margin:18px 0;
padding:12px 20px}
h2{font-size:17px;margin:6px 0 10px;color:#1d3557} h3{font-size:14px;margin:14px 0 6px}
pre{background:#f0f2f5;padding:10px;overflow:auto;font-size:12px;max-height:480px}
table{border-collapse:collapse;font-size:12px;margin:4px 0 10px}
td,th{border:1px solid #dde1e6;padding:3px 7px;text-align:right;white-space:nowrap}
th{background:#eef1f5}
td:first-child,th:first-child,td.text,th.command,td.command{text-align:left}
td.command{white-space:normal;overflow-wrap:anywhere;min-width:40em}
.figures{display:flex;flex-wrap:wrap;gap:14px}
figure{margin:0;max-width:620px} figure img{max-width:100%;border:1px solid #eee}
figcaption{font-size:12px;color:#556;margin-top:3px} .note{font-size:12px;color:#667}
.facts{font-size:13px} .facts .key{color:#667}
.unfinished,.stale{font-size:13px;background:#fff4e5;border-left:4px solid #e67e22;padding:6px 10px}
details{margin:6px 0} summary{cursor:pointer;font-size:13px}
"""

COUNT_FIGURES = """
window.addEventListener("load", function () {
  var images = document.querySelectorAll("img.figure");
  var loaded = 0;
  images.forEach(function (img) { if (img.complete && img.naturalWidth > 0) loaded++; });
  document.body.dataset.figures = loaded + "/" + images.length;
});
"""


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
            if name in SUMMARY_FILES and _readable_file(path):
                folder.summary = folder.path != root  # the root's is the page's Summary
                continue
            suffix = path.suffix.lower()
            skipped = any(part in SKIPPED for part in path.relative_to(root).parts)
            if skipped or not _readable_file(path):
                folder.others.append(path)
            elif suffix in FIGURES:
                folder.figures.append(path)
            elif suffix in TABLES or (suffix == ".txt" and tab_separated(path)):
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


def _readable_file(path: Path) -> bool:
    """A regular file (a link followed) that can be read: not a broken link, a pipe or a
    file without read permission, which the report lists without opening."""
    return path.is_file() and os.access(path, os.R_OK)


def _listed(path: Path) -> str:
    """A file of the "other files" list: its name and size, or why it has none."""
    try:
        size = _size(path.stat().st_size)
    except OSError:
        size = "broken link"
    return f"<li>{html.escape(path.name)} ({size})</li>"


def tab_separated(path: Path) -> bool:
    """Whether a text file is a table (e.g. a targets file): its first lines all hold the
    same number (two or more) of tab-separated fields."""
    with open(path, errors="replace") as handle:
        lines = handle.read(8192).splitlines()[:20]
    widths = {line.count("\t") for line in lines[:-1] or lines}
    return bool(lines) and len(widths) == 1 and widths.pop() > 0


def file_heading(path: Path, root: Path, page: Path) -> str:
    """The heading of a table or text the page shows: its name, linked to its file (by
    its path relative to the HTML file `page`), which holds what the page leaves out."""
    name = html.escape(str(path.relative_to(root)))
    return f'<h3><a href="{html.escape(link(path, page))}">{name}</a></h3>'


def table_html(path: Path, root: Path, page: Path) -> str:
    """The first rows and columns of a table, with its size, headed by its linked name."""
    with open(path, errors="replace") as handle:
        head = handle.read(TABLE_READ_BYTES)
    lines = head.splitlines()
    if len(head) == TABLE_READ_BYTES and lines:
        lines = lines[:-1]  # the last line may be cut
    delimiter = "," if path.suffix.lower() == ".csv" else "\t"
    heading = file_heading(path, root, page)
    try:
        rows = list(csv.reader(lines[: TABLE_ROWS + 1], delimiter=delimiter))
    except csv.Error as error:  # a field longer than csv's limit (128 KiB)
        return f"{heading}<p class='note'>not shown: {html.escape(str(error))}</p>"
    if not rows:
        note = "empty" if not path.stat().st_size else "its first line is too long to show"
        return f"{heading}<p class='note'>{note}</p>"
    columns = len(rows[0])
    shown = [row[:TABLE_COLUMNS] for row in rows]
    cells = "".join(f"<th>{html.escape(c)}</th>" for c in shown[0])
    body = "".join("<tr>" + "".join(map(table_cell, row)) + "</tr>" for row in shown[1:])
    more = _rows_shown(len(shown) - 1, len(lines) > len(shown), path, lines, head)
    wide = f", first {TABLE_COLUMNS} of {columns} columns" if columns > TABLE_COLUMNS else ""
    size = _size(path.stat().st_size)
    return (
        f"{heading}{_sidecar_html(path)}<p class='note'>{more}{wide}; {size}</p>"
        f"<table><tr>{cells}</tr>{body}</table>"
    )


def _sidecar_html(path: Path) -> str:
    """The facts (:func:`facts_html`) of the settings a command wrote beside the table
    `path` as ``NAME.json`` (``sad``'s ``OUT.tsv.json``: the head, model and ensemble
    that scored it); empty without one of at most :data:`TABLE_READ_BYTES`."""
    side = path.with_name(path.name + ".json")
    if not _readable_file(side) or side.stat().st_size > TABLE_READ_BYTES:
        return ""
    try:
        loaded = json.loads(side.read_text(errors="replace"))
    except json.JSONDecodeError:
        return ""
    return facts_html(loaded) if isinstance(loaded, dict) else ""


def _rows_shown(shown: int, cut: bool, path: Path, lines: list[str], head: str) -> str:
    """How many rows of the table at `path` the page shows, of how many (its lines but
    the header; `lines` of its `head`, read whole when shorter than
    :data:`TABLE_READ_BYTES`); the rows of a table over :data:`COUNT_BYTES` are not
    counted."""
    if not cut:
        return f"{shown} rows" if shown != 1 else "1 row"
    total = len(lines) if len(head) < TABLE_READ_BYTES else _line_count(path)
    return f"first {shown} rows" if total is None else f"first {shown} of {total - 1:,} rows"


def _line_count(path: Path) -> int | None:
    """The lines of a file of :data:`COUNT_BYTES` at most (a last one without its
    newline counted too); None for a larger file."""
    if path.stat().st_size > COUNT_BYTES:
        return None
    count, last = 0, b"\n"
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            count, last = count + block.count(b"\n"), block[-1:]
    return count + (last != b"\n")


def table_cell(value: str) -> str:
    """One table cell: a fractional number to :data:`SIGNIFICANT_DIGITS` (its full text on
    hover), an integer as it is, both right-aligned; any other text left-aligned."""
    if not NUMBER.fullmatch(value.strip()):
        return f"<td class='text'>{html.escape(value)}</td>"
    number = float(value)
    if value.strip().lstrip("+-").isdigit() or not math.isfinite(number):
        return f"<td>{html.escape(value)}</td>"
    return f"<td title='{html.escape(value)}'>{number:.{SIGNIFICANT_DIGITS}g}</td>"


def text_html(path: Path, root: Path, page: Path) -> str:
    """A text file, cut after :data:`TEXT_BYTES`, headed by its linked name."""
    with open(path, errors="replace") as handle:
        text = handle.read(TEXT_BYTES + 1)
    cut = "\n…" if len(text) > TEXT_BYTES else ""
    return f"{file_heading(path, root, page)}<pre>{html.escape(text[:TEXT_BYTES])}{cut}</pre>"


RunEntry = tuple[str, Path, dict[str, object]]  # a record's started, its folder, itself


def run_entries(root: Path) -> tuple[list[RunEntry], str]:
    """Every command logged in the folder, oldest first, and the notes on the run logs
    that could not be read."""
    entries: list[RunEntry] = []
    unread: list[str] = []
    for path in _run_logs(root):
        try:
            runs = read_runs(path)
        except OSError as error:  # a broken link, a file without read permission
            unread.append(_unread_run_log(path, root, error))
            continue
        entries.extend((str(run.get("started", "")), path.parent, run) for run in runs)
    entries.sort(key=lambda entry: (start_time(entry[0]) or 0.0, entry[0]))
    return entries, "".join(unread)


def runs_html(root: Path, entries: list[RunEntry], skipped: str) -> str:
    """The commands that wrote into the folder, `entries` of :func:`run_entries` (with
    its notes on the run logs `skipped`), oldest first (the first and last
    :data:`RUN_ROWS` / 2 of more)."""
    if not entries:
        return f"<p class='note'>No run log ({RUNS_FILE}) in this folder.</p>{skipped}"
    half = RUN_ROWS // 2
    if len(entries) > RUN_ROWS:  # e.g. a job array's shards: the first and the last
        more = len(entries) - 2 * half
        left_out = f"<tr><td colspan='4' class='text'>… {more:,} more …</td></tr>"
        rows = _run_rows(entries[:half], root) + left_out + _run_rows(entries[-half:], root)
    else:
        rows = _run_rows(entries, root)
    wall = wall_seconds((started, run_seconds(run)) for started, _, run in entries)
    used = entries[-1][2].get("versions", {})
    return (
        f"<p class='note'>{_count(len(entries), 'command')} over "
        f"{wall:.0f} s (commands run inside "
        "or beside others counted once); versions of the "
        f"last: {html.escape(_versions_text(used))}</p>"
        "<table><tr><th>started</th><th>seconds</th><th>folder</th>"
        "<th class='command'>command</th></tr>"
        f"{rows}</table>{skipped}"
    )


def later_runs_html(root: Path, entries: list[RunEntry]) -> str:
    """The note on the folder's summary when commands logged under the folder started
    after it was written (a step run again, with other settings or inputs) and rewrote a
    file in their folder: its numbers may be those of their earlier outputs. Empty
    without such commands."""
    written = [path.stat().st_mtime for path in (root / n for n in SUMMARY_FILES) if path.is_file()]
    if not written:
        return ""
    since = min(written)
    started_later = [entry for entry in entries if (start_time(entry[0]) or 0.0) > since]
    rewrote = {folder for folder in {e[1] for e in started_later} if _written_after(folder, since)}
    later = [entry for entry in started_later if entry[1] in rewrote]
    if not later:
        return ""
    folders = sorted({str(folder.relative_to(root)) for _, folder, _ in later})
    named = ", ".join(html.escape(name) for name in folders[:5])
    named += f" and {len(folders) - 5} more folders" if len(folders) > 5 else ""
    made = time.strftime(TIME_FORMAT, time.localtime(since))
    plural = "s" * (len(later) != 1)
    return (
        f"<p class='stale'>Possibly out of date: {len(later)} command{plural} ran after this "
        f"summary was written ({made}), in {named} (see Commands), so its numbers may be "
        "those of their earlier outputs; run the command that wrote it again to bring it "
        "up to date.</p>"
    )


def _written_after(folder: Path, since: float) -> bool:
    """Whether a file in `folder`, at any depth, was modified after `since` (epoch
    seconds), but for run logs and report pages: a finished step run again with --resume
    rewrites none of its outputs."""
    for current, _, files in os.walk(folder):
        for name in files:
            if name in (RUNS_FILE, "report.html"):
                continue
            try:
                if os.lstat(os.path.join(current, name)).st_mtime > since:
                    return True
            except OSError:  # removed meanwhile
                continue
    return False


def _unread_run_log(path: Path, root: Path, error: OSError) -> str:
    """The note on a run log that could not be read, whose commands are not listed."""
    reason = error.strerror or str(error)
    if path.is_symlink() and not path.exists():
        reason = "a broken link"
    name = html.escape(str(path.relative_to(root)))
    return (
        f"<p class='note'>{name} not read ({html.escape(reason)}); its commands are not listed.</p>"
    )


def _run_rows(entries: list[tuple[str, Path, dict[str, object]]], root: Path) -> str:
    return "".join(
        f"<tr><td>{html.escape(started)}</td><td>{run_seconds(run):.1f}</td>"
        f"<td>{html.escape(str(folder.relative_to(root)) or '.')}</td>"
        f"<td class='command'><code>{html.escape(str(run.get('command', '')))}</code></td></tr>"
        for started, folder, run in entries
    )


def wall_seconds(runs: Iterable[tuple[str, float]]) -> float:
    """Seconds covered by runs given as (``started`` text of a run log, duration): a run
    inside another (the demo's steps) or beside it (parallel trainings) counts once; a run
    whose start cannot be read counts its own seconds."""
    spans, loose = [], 0.0
    for started, seconds in runs:
        begin = start_time(started)
        if begin is None:
            loose += seconds
        else:
            spans.append((begin, begin + seconds))
    covered, reach = 0.0, float("-inf")
    for begin, end in sorted(spans):
        covered += max(0.0, end - max(begin, reach))
        reach = max(reach, end)
    return covered + loose


def _versions_text(found: object) -> str:
    if not isinstance(found, dict):
        return ""
    return ", ".join(f"{key} {value}" for key, value in found.items())


def _count(n: int, noun: str) -> str:
    """``1 other file``, ``3 other files``."""
    return f"{n:,} {noun}{'s' * (n != 1)}"


def _size(n: int) -> str:
    """``512 B``, ``2.0 KiB``, ... up to GiB."""
    value, units = float(n), ["B", "KiB", "MiB", "GiB"]
    while value >= 1024 and len(units) > 1:
        value, units = value / 1024, units[1:]
    return f"{n} B" if units[0] == "B" else f"{value:.1f} {units[0]}"


def _anchor(index: int, folder: Path, root: Path) -> str:
    """The id of the `index`-th folder's section: unique (``a_b`` and ``a-b`` differ) and
    readable."""
    rel = str(folder.relative_to(root))
    return "top" if rel == "." else f"f{index}-" + "".join(c if c.isalnum() else "-" for c in rel)


def folder_html(folder: Folder, root: Path, anchor: str, page: Path, budget: Budget) -> str:
    """One folder's section, with the id `anchor`: its figures, in order, embedded while
    they fit the page's `budget` and the folder's :data:`FOLDER_FIGURES`; the rest are
    listed with why, linked to their files (by their paths relative to the HTML file
    `page`)."""
    rel = str(folder.path.relative_to(root))
    parts = [f"<section id='{anchor}'><h2>{html.escape(rel)}/</h2>"]
    if folder.unfinished:
        parts.append(unfinished_html(folder.unfinished))
    if folder.summary:
        parts.append(summary_html(folder.path))
    shown: list[str] = []
    linked: list[tuple[Path, Left]] = []
    for path in folder.figures:
        if len(shown) == FOLDER_FIGURES:
            found: str | Left = Left.FOLDER_COUNT
        else:
            found = figure_html(path, root, page, budget)
        if isinstance(found, Left):
            linked.append((path, found))
        else:
            shown.append(found)
    if shown:
        parts.append(f"<div class='figures'>{''.join(shown)}</div>")
    if linked:
        parts.append(_left_out_figures_html(linked, rel, page, budget))
    parts += [text_html(p, root, page) for p in folder.texts]
    parts += [table_html(p, root, page) for p in folder.tables[:FOLDER_TABLES]]
    if len(folder.tables) > FOLDER_TABLES:
        parts.append(_left_out_tables_html(folder.tables[FOLDER_TABLES:], rel, page))
    if folder.others:
        items = "".join(_listed(p) for p in folder.others[:LISTED]) + _more_items(
            len(folder.others)
        )
        parts.append(
            f"<details><summary>{_count(len(folder.others), 'other file')}</summary>"
            f"<ul>{items}</ul></details>"
        )
    parts.append("</section>")
    return "".join(parts)


def _left_out_tables_html(tables: list[Path], rel: str, page: Path) -> str:
    """The tables of a folder past its :data:`FOLDER_TABLES` shown (an SLDP run's
    chunks, one per annotation): counted, and named (the first :data:`LISTED`) with
    their sizes, each linked to its file."""
    names = "".join(linked_html(p, page, _file_size(p)) for p in tables[:LISTED])
    return (
        f"<details><summary>{_count(len(tables), 'more table')} in {html.escape(rel)}/ (not "
        f"shown past the {FOLDER_TABLES} a folder shows, each linked to its file)</summary>"
        f"<ul>{names}{_more_items(len(tables))}</ul></details>"
    )


def unfinished_html(names: list[str]) -> str:
    """The note on a folder that holds the ``.partial`` of an unfinished run."""
    listed = ", ".join(html.escape(name) for name in names)
    return (
        f"<p class='unfinished'>Unfinished: {listed} is left by a command that was stopped "
        "or is still running, so what this folder shows may be incomplete, or an earlier "
        "run's; run the command again (with --resume where it has one) to finish it.</p>"
    )


def _left_out_figures_html(
    figures: list[tuple[Path, Left]], rel: str, page: Path, budget: Budget
) -> str:
    """The count of a folder's figures not embedded, by why, and their names with their
    sizes, linked to them."""
    names = "".join(linked_html(p, page, _file_size(p)) for p, _ in figures[:LISTED])
    names += _more_items(len(figures))
    counts = {why: sum(left is why for _, left in figures) for why in Left}
    why = "; ".join(f"{n:,} {_left_out_why(left, budget)}" for left, n in counts.items() if n)
    return (
        f"<details><summary>{len(figures):,} more figures in {html.escape(rel)}/ (not "
        f"embedded, each linked to its file: {html.escape(why)})</summary><ul>{names}</ul>"
        "</details>"
    )


def _left_out_why(left: Left, budget: Budget) -> str:
    """Why figures were left out, with the limit, and the option that raises it where one
    does."""
    return {
        Left.BYTES: f"past the {_size(budget.limit)} of figures the page embeds (more fit "
        "with crossreg report --figures-mib)",
        Left.FOLDER_COUNT: f"past the {FOLDER_FIGURES} figures a folder embeds",
        Left.PAGE_COUNT: f"past the {PAGE_FIGURES} figures the page embeds",
        Left.LARGE_SVG: "SVG too large to embed",
        Left.UNDECODED: "PNG too large to embed whole that does not decode for a preview",
    }[left]


def _more_items(count: int) -> str:
    """The last item of a list of `count` files of which the first :data:`LISTED` are
    named: how many more there are (none when all are named)."""
    return f"<li>… {count - LISTED:,} more</li>" if count > LISTED else ""


def _file_size(path: Path) -> str:
    """A file's size, or why it has none (removed since the folder was scanned)."""
    try:
        return _size(path.stat().st_size)
    except OSError:
        return "removed"


def summary_html(root: Path) -> str:
    """A folder's own summary: summary.txt, and summary.json folded (the page's Summary
    for the report's folder, the top of its section for a sub-folder's)."""
    parts = []
    text = root / "summary.txt"
    if _readable_file(text):
        parts.append(f"<pre>{html.escape(text.read_text(errors='replace'))}</pre>")
    data = root / "summary.json"
    if _readable_file(data):
        raw = data.read_text(errors="replace")
        try:
            loaded = json.loads(raw)
            pretty = json.dumps(loaded, indent=1)
        except json.JSONDecodeError as error:  # shown as it is, with what is wrong
            loaded, pretty = None, f"(not valid JSON: {error})\n{raw}"
        if not parts and isinstance(loaded, dict):  # no summary.txt: its plain values lead
            parts.append(facts_html(loaded))
        parts.append(
            f"<details><summary>summary.json</summary><pre>{html.escape(pretty)}</pre></details>"
        )
    return "".join(parts)


def facts_html(data: Mapping[str, object]) -> str:
    """The top-level numbers, texts, flags and short lists of them of a summary.json, in
    its order, on one line (which split, head and model, how many tracks, the means), so
    that its section says what its tables are of without the JSON unfolded; nested
    objects stay in the folded JSON. Empty when there are none."""
    facts = [
        f"<span class='key'>{html.escape(key)}</span> {html.escape(shown)}"
        for key, value in data.items()
        if (shown := _fact(value)) is not None
    ]
    return f"<p class='facts'>{' · '.join(facts)}</p>" if facts else ""


def _fact(value: object) -> str | None:
    """A summary.json value as its facts show it: a fraction to
    :data:`SIGNIFICANT_DIGITS`, a flag as JSON writes it, a text of at most
    :data:`FACT_CHARS`, a list of at most :data:`FACT_ITEMS` such values joined; None for
    what is left in the JSON alone (nested objects, longer lists and texts, null, empty
    text)."""
    if isinstance(value, bool):
        return json.dumps(value)
    if isinstance(value, float):
        return f"{value:.{SIGNIFICANT_DIGITS}g}"
    if isinstance(value, int) or (isinstance(value, str) and 0 < len(value) <= FACT_CHARS):
        return str(value)
    if isinstance(value, list) and 0 < len(value) <= FACT_ITEMS:
        items = [_fact(item) for item in value]
        return None if None in items else ", ".join(str(item) for item in items)
    return None


def no_summary_html(root: Path, entries: list[RunEntry]) -> str:
    """The Summary section of a folder without summary.txt or summary.json: of a demo
    folder, that the demo has not finished (it writes them last)."""
    if not demo_folder(root, entries):
        return "<p class='note'>No summary.txt or summary.json in this folder.</p>"
    return (
        "<p class='unfinished'>No summary: the crossreg demo that wrote this folder has not "
        "finished (it was stopped, or is still running; it writes summary.txt last), so the "
        "sections below hold only the steps it finished. Continue it with crossreg demo "
        "--resume and the options it was started with.</p>"
    )


def missing_steps_html(root: Path, entries: list[RunEntry], summary: bool) -> str:
    """Of a demo folder, the demo's folders (:data:`DEMO_FOLDERS`) it lacks, one line
    each: not written yet, or, beside a `summary`, removed since. Empty for another
    folder, or a demo folder that has them all."""
    missing = [name for name in DEMO_FOLDERS if not (root / name).is_dir()]
    if not missing or not demo_folder(root, entries):
        return ""
    why = "removed since the demo wrote its summary" if summary else "not written yet"
    items = "".join(
        f"<li>{html.escape(name)}/ ({DEMO_FOLDERS[name]}): {why}, so it has no section</li>"
        for name in missing
    )
    heading = "<p class='note'>Steps of the demo without their folder:</p>"
    return f"{heading}<ul class='note'>{items}</ul>"


def demo_folder(root: Path, entries: list[RunEntry]) -> bool:
    """Whether `root` is a ``crossreg demo`` folder, by its run logs' `entries`: its own
    records the demo (logged once the demo finishes), or its synth/ the demo's first
    step."""
    world = root / next(iter(DEMO_FOLDERS))
    for _, folder, run in entries:
        command = logged_command(str(run.get("command", "")))
        if (folder, command) in ((root, "demo"), (world, "synth")):
            return True
    return False


def write_report(
    directory: str | os.PathLike[str],
    out: str | os.PathLike[str] | None = None,
    *,
    figure_bytes: int | None = None,
) -> Path:
    """Write the report of `directory` to `out` (default ``DIRECTORY/report.html``),
    embedding at most `figure_bytes` of figures (as base64; default
    :data:`~crossreg.report_figures.PAGE_FIGURE_BYTES`, 12 MiB).

    A folder with neither a run log (``crossreg-runs.jsonl``) under it nor a summary
    (``summary.txt``/``summary.json``) in it is not one crossreg wrote, and is refused. A
    page written into a folder crossreg wrote whole is listed among its files, for the
    command's ``--overwrite`` to replace with the folder.
    """
    root = Path(directory)
    if not root.is_dir():
        what = "not a folder" if root.exists() else "no such folder"
        raise ValueError(f"{root}: {what}; give a crossreg output folder")
    out = Path(out) if out is not None else root / "report.html"
    if out.is_dir():
        raise ValueError(f"--out {out} is a folder; give the HTML file to write (e.g. {out}.html)")
    if not any(root.iterdir()):
        raise ValueError(f"{root}: is empty; give the folder of a crossreg command's --out")
    if not any((root / name).is_file() for name in SUMMARY_FILES) and not _has_run_log(root):
        raise ValueError(
            f"{root}: no crossreg run log ({RUNS_FILE}) under it and no summary in it, so no "
            "crossreg command wrote it; give the folder of a crossreg command's --out"
        )
    folders = [f for f in scan(root) if not f.empty()]
    if out.resolve() in _read_files(root, folders):
        raise ValueError(
            f"--out {out}: is a file the report reads ({out.resolve()}); write the page to "
            f"another file (e.g. {root / 'report.html'})"
        )
    anchors = [_anchor(i, f.path, root) for i, f in enumerate(folders)]
    budget = Budget(PAGE_FIGURE_BYTES if figure_bytes is None else figure_bytes, PAGE_FIGURES)
    sections = [
        folder_html(folder, root, anchor, out, budget)
        for folder, anchor in zip(folders, anchors, strict=True)
    ]
    embedded = PAGE_FIGURES - budget.figures
    nav = "".join(
        f"<a href='#{a}'>{html.escape(str(f.path.relative_to(root)))}"
        f"{' (unfinished)' * bool(f.unfinished)}</a>"
        for f, a in zip(folders, anchors, strict=True)
    )
    figures = sum(len(f.figures) for f in folders)  # one per name: PNG and SVG twins once
    shown = "" if embedded == figures else f" ({embedded:,} shown, the rest linked)"
    stopped = sum(bool(f.unfinished) for f in folders)
    unfinished = f" ({stopped} unfinished)" if stopped else ""
    made = time.strftime(TIME_FORMAT)
    entries, skipped = run_entries(root)
    summary = summary_html(root)
    page = _page(
        title=f"crossreg report: {root.resolve().name}",
        subtitle=f"{_count(figures, 'figure')}{shown} from "
        f"{_count(len(folders), 'folder')}{unfinished}; written {made} by "
        f"crossreg {versions().get('crossreg', '')}",
        nav=nav,
        body=[
            "<section><h2>Summary</h2>"
            + later_runs_html(root, entries)
            + (summary or no_summary_html(root, entries))
            + missing_steps_html(root, entries, bool(summary)),
            "</section><section><h2>Commands</h2>"
            + runs_html(root, entries, skipped)
            + "</section>",
            *sections,
        ],
    )
    with atomic_write(out, "wb") as handle:  # names not UTF-8 (surrogates) as U+FFFD
        handle.write(page.encode("utf-8", errors="replace"))
    _list_as_written(out)
    return out


def _list_as_written(page: Path) -> None:
    """Add `page` to the :data:`~crossreg.io.atomic.CONTENTS_FILE` of the nearest folder
    above it that crossreg wrote whole (``predict --bigwig``, ``synth``, ...), with the
    folders between them: the command's ``--overwrite`` then replaces the page with the
    folder, where it would refuse it as a file of the user's. A list of top-level names
    alone (an earlier crossreg's) gets the page's top-level name."""
    page = page.absolute()
    folder = next((f for f in page.parents if (f / CONTENTS_FILE).is_file()), None)
    if folder is None:
        return
    record = folder / CONTENTS_FILE
    names = record.read_text().splitlines()
    parts = page.relative_to(folder).parts
    nested = any("/" in name for name in names)
    added = ["/".join(parts[: k + 1]) for k in range(len(parts))] if nested else [parts[0]]
    if set(added) - set(names):
        with atomic_write(record) as handle:
            handle.write("".join(f"{name}\n" for name in sorted({*names, *added})))


def _read_files(root: Path, folders: Iterable[Folder]) -> set[Path]:
    """The files the report of `root` reads (links resolved): its summaries, run logs, and
    the figures, tables and texts it shows of `folders`."""
    shown = [p for f in folders for p in (*f.figures, *f.tables, *f.texts)]
    summaries = [root / name for name in SUMMARY_FILES]
    return {p.resolve() for p in (*summaries, *_run_logs(root), *shown)}


def _run_logs(root: Path) -> Iterator[Path]:
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


def _has_run_log(root: Path) -> bool:
    """Whether a :data:`RUNS_FILE` lies in `root` or a folder the report shows."""
    return next(_run_logs(root), None) is not None


def _page(title: str, subtitle: str, nav: str, body: Iterable[str]) -> str:
    return (
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
        f"<title>{html.escape(title)}</title><style>{STYLE}</style></head><body>"
        f"<header><h1>{html.escape(title)}</h1><p>{html.escape(subtitle)}</p></header>"
        f"<nav>{nav}</nav><main>{''.join(body)}</main>"
        f"<script>{COUNT_FIGURES}</script></body></html>"
    )
