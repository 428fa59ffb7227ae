"""``crossreg report``: one self-contained HTML page that shows an output folder.

The page holds, for any folder crossreg wrote (a demo run, or a user's own train/evaluate/
sad/... folders): the summary (``summary.txt``, and ``summary.json`` folded; a
sub-folder's own, e.g. ``evaluate``'s or ``denovo``'s, at the top of its section; the
page's marked possibly out of date when commands logged under the folder started after it
was written and rewrote a file there; :mod:`crossreg.report_summary`), the command lines
that made the folder with their start, duration and versions (every
``crossreg-runs.jsonl`` under it, :mod:`crossreg.report_runs`), then one section per
sub-folder (:mod:`crossreg.report_sections`) with its figures (PNG and SVG embedded, the
PNG of a figure saved as both; each that fits, in order: at most
:data:`~crossreg.report_sections.FOLDER_FIGURES` a folder,
:data:`~crossreg.report_sections.PAGE_FIGURES` and
:data:`~crossreg.report_figures.PAGE_FIGURE_BYTES` (``--figures-mib``) a page, a large
PNG as a preview, each linked to its file and the rest listed with links, their sizes and
why they were left out, :mod:`crossreg.report_figures`), the first rows of its tables
(``.tsv``/``.csv``, and ``.txt`` files of tab-separated columns; at most
:data:`~crossreg.report_sections.FOLDER_TABLES` a folder, each with how many rows it holds
and the values of the settings written beside it, :mod:`crossreg.report_tables`), a
sub-folder's summary.json's top-level values on one line (which split, head, how many
tracks), and a list of its other files. A folder where a command left the ``.partial`` of
an unfinished run (stopped, or still running) is marked unfinished, in its section and the
header, rather than shown as if it were done (:mod:`crossreg.report_scan` finds the
folders and sorts their files); a demo folder without its summary is said to be a demo not
finished, and the demo's folders it lacks are named
(:data:`~crossreg.report_summary.DEMO_FOLDERS`). Nothing is fetched from the network and
no script library is used; one inline script only counts the figures that loaded
(``data-figures="loaded/total"`` on ``<body>``), for checks.
"""

from __future__ import annotations

import html
import os
import time
from collections.abc import Iterable, Sequence
from pathlib import Path

from crossreg.errors import plural
from crossreg.io.atomic import atomic_write
from crossreg.io.atomic_dir import CONTENTS_FILE
from crossreg.report_figures import PAGE_FIGURE_BYTES, Budget
from crossreg.report_format import TIME_FORMAT
from crossreg.report_runs import RunEntry, run_entries, runs_html
from crossreg.report_scan import SUMMARY_FILES, Folder, run_logs, scan
from crossreg.report_sections import PAGE_FIGURES, folder_html
from crossreg.report_summary import (
    later_runs_html,
    missing_steps_html,
    no_summary_html,
    summary_html,
)
from crossreg.runlog import RUNS_FILE, versions

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
    out = Path(out) if out is not None else root / "report.html"
    _check_request(root, out)
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
    subtitle = _subtitle(folders, PAGE_FIGURES - budget.figures)
    entries, skipped = run_entries(root)
    page = _page(
        title=f"crossreg report: {root.resolve().name}",
        subtitle=subtitle,
        nav=_nav(folders, anchors, root),
        body=[
            _summary_section(root, entries),
            f"<section><h2>Commands</h2>{runs_html(root, entries, skipped)}</section>",
            *sections,
        ],
    )
    with atomic_write(out, "wb") as handle:  # names not UTF-8 (surrogates) as U+FFFD
        handle.write(page.encode("utf-8", errors="replace"))
    _list_as_written(out)
    return out


def _check_request(root: Path, out: Path) -> None:
    """Refuse a `root` that is not a folder crossreg wrote (none, empty, neither a run log
    under it nor a summary in it) and an `out` that is a folder."""
    if not root.is_dir():
        what = "not a folder" if root.exists() else "no such folder"
        raise ValueError(f"{root}: {what}; give a crossreg output folder")
    if out.is_dir():
        raise ValueError(f"--out {out} is a folder; give the HTML file to write (e.g. {out}.html)")
    if not any(root.iterdir()):
        raise ValueError(f"{root}: is empty; give the folder of a crossreg command's --out")
    if not any((root / name).is_file() for name in SUMMARY_FILES) and not _has_run_log(root):
        raise ValueError(
            f"{root}: no crossreg run log ({RUNS_FILE}) under it and no summary in it, so no "
            "crossreg command wrote it; give the folder of a crossreg command's --out"
        )


def _subtitle(folders: Sequence[Folder], embedded: int) -> str:
    """The line under the page's title: how many figures (`embedded` of them shown) from how
    many folders (how many unfinished), when and by which crossreg it was written."""
    figures = sum(len(f.figures) for f in folders)  # one per name: PNG and SVG twins once
    shown = "" if embedded == figures else f" ({embedded:,} shown, the rest linked)"
    stopped = sum(bool(f.unfinished) for f in folders)
    unfinished = f" ({stopped} unfinished)" if stopped else ""
    made = time.strftime(TIME_FORMAT)
    return (
        f"{plural(figures, 'figure')}{shown} from {plural(len(folders), 'folder')}{unfinished}; "
        f"written {made} by crossreg {versions().get('crossreg', '')}"
    )


def _nav(folders: Sequence[Folder], anchors: Sequence[str], root: Path) -> str:
    """A link to each folder's section, the unfinished ones marked."""
    return "".join(
        f"<a href='#{a}'>{html.escape(str(f.path.relative_to(root)))}"
        f"{' (unfinished)' * bool(f.unfinished)}</a>"
        for f, a in zip(folders, anchors, strict=True)
    )


def _summary_section(root: Path, entries: list[RunEntry]) -> str:
    """The Summary section: the folder's own summary (or why it has none), after the note
    on commands run since it was written, and the demo's folders it lacks."""
    summary = summary_html(root)
    return (
        "<section><h2>Summary</h2>"
        + later_runs_html(root, entries)
        + (summary or no_summary_html(root, entries))
        + missing_steps_html(root, entries, bool(summary))
        + "</section>"
    )


def _list_as_written(page: Path) -> None:
    """Add `page` to the :data:`~crossreg.io.atomic_dir.CONTENTS_FILE` of the nearest folder
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
    return {p.resolve() for p in (*summaries, *run_logs(root), *shown)}


def _has_run_log(root: Path) -> bool:
    """Whether a :data:`RUNS_FILE` lies in `root` or a folder the report shows."""
    return next(run_logs(root), None) is not None


def _anchor(index: int, folder: Path, root: Path) -> str:
    """The id of the `index`-th folder's section: unique (``a_b`` and ``a-b`` differ) and
    readable."""
    rel = str(folder.relative_to(root))
    return "top" if rel == "." else f"f{index}-" + "".join(c if c.isalnum() else "-" for c in rel)


def _page(title: str, subtitle: str, nav: str, body: Iterable[str]) -> str:
    return (
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
        f"<title>{html.escape(title)}</title><style>{STYLE}</style></head><body>"
        f"<header><h1>{html.escape(title)}</h1><p>{html.escape(subtitle)}</p></header>"
        f"<nav>{nav}</nav><main>{''.join(body)}</main>"
        f"<script>{COUNT_FIGURES}</script></body></html>"
    )
