"""One folder's section of a ``crossreg report`` page: its summary, figures (embedded while
they fit, the rest linked with why), texts, tables and a list of its other files."""

from __future__ import annotations

import html
from pathlib import Path

from crossreg.errors import plural
from crossreg.report_figures import Budget, Left, figure_html, linked_html
from crossreg.report_format import byte_size
from crossreg.report_scan import Folder
from crossreg.report_summary import summary_html
from crossreg.report_tables import table_html, text_html

FOLDER_TABLES = 8  # tables shown per folder (an SLDP run writes one per annotation)
FOLDER_FIGURES = 24  # figures embedded per folder (an ISM writes one per site and track)
PAGE_FIGURES = 120  # figures embedded per page, so that its size stays bounded
LISTED = 200  # names listed at most of a folder's figures left out, and of its other files


def folder_html(folder: Folder, root: Path, anchor: str, page: Path, budget: Budget) -> str:
    """One folder's section, with the id `anchor`: its figures, in order, embedded while
    they fit the page's `budget` and the folder's :data:`FOLDER_FIGURES`; the rest are
    listed with why, linked to their files (by their paths relative to the HTML file
    `page`)."""
    rel = str(folder.path.relative_to(root))
    parts = [f"<section id='{anchor}'><h2>{html.escape(rel)}/</h2>"]
    if folder.unfinished:
        parts.append(_unfinished_html(folder.unfinished))
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
            f"<details><summary>{plural(len(folder.others), 'other file')}</summary>"
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
        f"<details><summary>{plural(len(tables), 'more table')} in {html.escape(rel)}/ (not "
        f"shown past the {FOLDER_TABLES} a folder shows, each linked to its file)</summary>"
        f"<ul>{names}{_more_items(len(tables))}</ul></details>"
    )


def _unfinished_html(names: list[str]) -> str:
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
        Left.BYTES: f"past the {byte_size(budget.limit)} of figures the page embeds (more fit "
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
        return byte_size(path.stat().st_size)
    except OSError:
        return "removed"


def _listed(path: Path) -> str:
    """A file of the "other files" list: its name and size, or why it has none."""
    try:
        size = byte_size(path.stat().st_size)
    except OSError:
        size = "broken link"
    return f"<li>{html.escape(path.name)} ({size})</li>"
