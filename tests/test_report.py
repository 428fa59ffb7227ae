"""``crossreg report``: one self-contained page with the folder's figures, tables and runs."""

from __future__ import annotations

import base64
import json
import os
import re
import time
from collections.abc import Iterator
from pathlib import Path

import matplotlib
import pytest

matplotlib.use("Agg")
import matplotlib.pyplot as plt

from crossreg import report_runs, report_tables
from crossreg.cli import main
from crossreg.io.atomic_dir import CONTENTS_FILE
from crossreg.io.replaceable import check_replaceable
from crossreg.report import write_report
from crossreg.report_runs import run_entries, runs_html, wall_seconds
from crossreg.report_sections import FOLDER_FIGURES, FOLDER_TABLES, LISTED, PAGE_FIGURES
from crossreg.report_summary import DEMO_FOLDERS, summary_html
from crossreg.report_tables import table_cell
from crossreg.runlog import record_run
from tests.browser import figures_loaded, needs_chromium, screenshot


def _folder(root: Path) -> Path:
    """A folder as crossreg leaves one: a summary, a run log, figures, tables, other files."""
    (root / "evaluate").mkdir(parents=True)
    (root / "summary.txt").write_text("joint R 0.61\n")
    (root / "summary.json").write_text(json.dumps({"genomes": {"human": {"CAGE": 0.5}}}))
    record_run(root, ["train", "--out", "models/joint"], 1_700_000_000.0, 12.5)
    fig, ax = plt.subplots()
    ax.plot([0, 1, 2], [0, 1, 4])
    fig.savefig(root / "evaluate" / "curve.png")
    fig.savefig(root / "evaluate" / "curve.svg")
    plt.close(fig)
    rows = ["track\tpearson_r"] + [f"T{i}\t0.{i}" for i in range(30)]
    (root / "evaluate" / "metrics.tsv").write_text("\n".join(rows) + "\n")
    (root / "evaluate" / "scores.h5").write_bytes(b"\x89HDF" + bytes(2000))
    (root / "data").mkdir()
    targets = ["index\tidentifier\tdescription", "0\tENCFF1\tDNASE:liver", "1\tENCFF2\tCAGE:liver"]
    (root / "data" / "targets.txt").write_text("\n".join(targets) + "\n")
    (root / "data" / "notes.txt").write_text("trained twice\n\tthe second\tfrom a checkpoint\n")
    return root


def test_report_embeds_figures_tables_and_commands(tmp_path: Path, capsys) -> None:
    root = _folder(tmp_path / "run")
    assert main(["report", str(root)]) == 0
    page = root / "report.html"
    assert str(page) in capsys.readouterr().out
    text = page.read_text()
    png = re.search(r'src="data:image/png;base64,([^"]+)"', text)
    assert png and base64.b64decode(png[1]) == (root / "evaluate" / "curve.png").read_bytes()
    assert "data:image/svg+xml;base64," not in text  # curve.svg is curve.png's twin
    assert "<li>curve.svg (" in text and "<p>1 figure from 2 folders;" in text
    assert text.count("joint R 0.61") == 1 and text.count("summary.json") == 1  # Summary only
    assert "crossreg train --out models/joint" in text and "12.5" in text
    assert "first 12 of 30 rows" in text and ">T11</td>" in text and ">T12</td>" not in text
    assert "<td class='command'><code>crossreg train" in text  # left-aligned, wrapping
    assert "scores.h5 (2.0 KiB)" in text
    # a tab-separated .txt (a targets file) is a table; other text stays text
    assert (
        "<h3><a href=\"data/targets.txt\">data/targets.txt</a></h3><p class='note'>2 rows" in text
    )
    assert "<td class='text'>DNASE:liver</td>" in text
    assert '<h3><a href="data/notes.txt">data/notes.txt</a></h3><pre>trained twice' in text
    assert "http://" not in text and "https://" not in text  # nothing from the network


def test_odd_names_and_long_fields_are_shown_and_the_report_not_logged(tmp_path: Path) -> None:
    # before: a file name that is not UTF-8 and a cell over csv's 128 KiB limit failed the
    # whole page, and the report logged its own run beside the page
    root = _folder(tmp_path / "run")
    latin = root / os.fsdecode(b"caf\xe9.tsv")
    latin.write_text("a\tb\n1\t2\n")
    (root / "wide.tsv").write_text("a\tb\n" + "x" * 200_000 + "\t1\n")
    (root / "long.txt").write_text("y" * 5_000_000)
    page = tmp_path / "page.html"
    assert main(["report", str(root), "--out", str(page)]) == 0
    text = page.read_text(encoding="utf-8")
    assert "caf?.tsv" in text and "wide.tsv</a></h3><p class='note'>not shown: field" in text
    assert '<a href="run/caf%E9.tsv">' in text  # linked by its bytes
    assert ">long.txt</a></h3><pre>" + "y" * 100 in text
    assert not (tmp_path / "crossreg-runs.jsonl").exists()


def test_table_cells_round_fractions_and_keep_integers_and_text() -> None:
    assert table_cell("0.7913776644527482") == "<td title='0.7913776644527482'>0.7914</td>"
    assert table_cell("1.1920928955078125e-7") == (
        "<td title='1.1920928955078125e-7'>1.192e-07</td>"
    )
    assert table_cell("-2.5") == "<td title='-2.5'>-2.5</td>"
    assert table_cell("24") == "<td>24</td>" and table_cell("007") == "<td>007</td>"
    assert table_cell("nan") == "<td>nan</td>" and table_cell("inf") == "<td>inf</td>"
    assert table_cell("hs_CAGE<liver>") == "<td class='text'>hs_CAGE&lt;liver&gt;</td>"
    assert table_cell("") == "<td class='text'></td>"
    # before: float() read an ID like 1_27221 (Python's digit grouping) as 1.272e+05
    for text in ("1_27221", "22_16050075", "1.5_0", "\u0661\u0662\u0663"):
        assert table_cell(text) == f"<td class='text'>{text}</td>"


def test_folders_reached_through_links_are_shown_once(tmp_path: Path) -> None:
    # before: a linked run folder was left out without a word (and a root of links only
    # was refused as not written by crossreg)
    runs = _folder(tmp_path / "runs")
    root = tmp_path / "page"
    root.mkdir()
    (root / "linked").symlink_to(runs, target_is_directory=True)
    (runs / "evaluate" / "loop").symlink_to(runs, target_is_directory=True)  # a cycle
    assert main(["report", str(root), "--out", str(tmp_path / "page.html")]) == 0
    page = (tmp_path / "page.html").read_text()
    assert "linked/evaluate/</h2>" in page and "crossreg train" in page
    assert page.count(">linked/evaluate/metrics.tsv</a></h3>") == 1
    assert "loop/evaluate" not in page


def test_a_long_run_log_lists_its_first_and_last_commands(tmp_path: Path) -> None:
    for shard in range(1, 251):
        record_run(tmp_path, ["sad", "--shard", f"{shard}/250"], 1_700_000_000.0 + shard, 2.0)
    text = runs_html(tmp_path, *run_entries(tmp_path))
    shown = re.findall(r"--shard (\d+)/250", text)
    assert shown == [str(i) for i in [*range(1, 51), *range(201, 251)]]
    assert "… 150 more …" in text and "250 commands over 251 s" in text


def test_commands_are_listed_in_the_order_they_started_across_time_zones(tmp_path) -> None:
    runs = [
        {"command": "crossreg earlier", "started": "2026-01-01T11:30:00+0100", "seconds": 1},
        {"command": "crossreg later", "started": "2026-01-01T10:45:00+0000", "seconds": 1},
    ]  # 10:30 and 10:45 UTC: as text the later one sorts first
    (tmp_path / "crossreg-runs.jsonl").write_text("".join(json.dumps(r) + "\n" for r in runs))
    text = runs_html(tmp_path, *run_entries(tmp_path))
    assert text.index("crossreg earlier") < text.index("crossreg later")


def test_commands_inside_or_beside_others_count_once() -> None:
    demo = ("2026-01-01T10:00:00+0000", 100.0)
    steps = [("2026-01-01T10:00:10+0000", 30.0), ("2026-01-01T10:00:20+0000", 30.0)]
    assert wall_seconds([demo, *steps]) == 100.0  # the steps run inside the demo
    assert wall_seconds(steps) == 40.0  # beside each other: 10:00:10 to 10:00:50
    later = ("2026-01-01T12:00:00+0200", 5.0)  # 10:00:00 UTC, another zone
    assert wall_seconds([later, ("2026-01-01T10:00:10+0000", 1.0)]) == 6.0
    assert wall_seconds([("yesterday", 7.0), *steps]) == 47.0  # unreadable: its own seconds
    assert wall_seconds([]) == 0.0


def test_report_of_a_missing_folder_is_refused(tmp_path: Path, logs) -> None:
    assert main(["report", str(tmp_path / "nowhere")]) == 1
    assert not (tmp_path / "nowhere").exists()
    assert f"{tmp_path}/nowhere: no such folder; give a crossreg output folder" in logs.text
    (tmp_path / "file").write_text("")
    assert main(["report", str(tmp_path / "file")]) == 1
    assert f"{tmp_path}/file: not a folder; give a crossreg output folder" in logs.text


@needs_chromium
def test_report_opens_in_a_browser(tmp_path: Path) -> None:
    root = _folder(tmp_path / "run")
    assert main(["report", str(root), "--out", str(tmp_path / "page.html")]) == 0
    assert figures_loaded(tmp_path / "page.html") == (1, 1)
    shot = screenshot(tmp_path / "page.html", tmp_path / "page.png")
    assert shot[:4] == b"\x89PNG" and len(shot) > 10_000


def test_report_of_an_empty_or_foreign_folder_is_refused(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    foreign = tmp_path / "photos"
    (foreign / "2024").mkdir(parents=True)
    (foreign / "2024" / "notes.txt").write_text("a\tb\n")
    # before, an empty folder was said to be one no crossreg command wrote
    assert main(["report", str(empty)]) == 1
    assert f"{empty}: is empty; give the folder of a crossreg command's --out" in caplog.text
    assert main(["report", str(foreign)]) == 1
    assert f"{foreign}: no crossreg run log (crossreg-runs.jsonl)" in caplog.text
    assert not (empty / "report.html").exists() and not (foreign / "report.html").exists()
    # a run log in a sub-folder, or a summary at the top, is enough
    record_run(foreign / "2024", ["sad", "--out", "x"], 1_700_000_000.0, 1.0)
    assert main(["report", str(foreign)]) == 0
    (empty / "summary.txt").write_text("R 0.5\n")
    assert main(["report", str(empty)]) == 0


def test_report_to_a_folder_is_refused(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    root = _folder(tmp_path / "run")
    (tmp_path / "pages").mkdir()
    assert main(["report", str(root), "--out", str(tmp_path / "pages")]) == 1
    assert f"--out {tmp_path / 'pages'}: is a folder, where crossreg writes a file" in caplog.text
    assert sorted(p.name for p in tmp_path.iterdir()) == ["pages", "run"]


def test_report_over_a_file_it_shows_is_refused(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # before: --out run/evaluate/metrics.tsv replaced the table with the page, exit 0
    root = _folder(tmp_path / "run")
    kept = {p: p.read_bytes() for p in root.rglob("*") if p.is_file()}
    table = root / "evaluate" / "metrics.tsv"
    for out in (table, root / "evaluate" / "scores.h5"):
        assert main(["report", str(root), "--out", str(out)]) == 1
        assert f"--out {out}: the output must end in .html or .htm" in caplog.text
    (root / "evaluate" / "page.html").symlink_to(table)  # written through, onto the table
    assert main(["report", str(root), "--out", str(root / "evaluate" / "page.html")]) == 1
    assert f"page.html: is a file the report reads ({table.resolve()})" in caplog.text
    assert {p: p.read_bytes() for p in kept} == kept


def test_report_to_an_unwritable_folder_is_refused_at_once(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    root = _folder(tmp_path / "run")
    out = root / "summary.txt" / "page.html"  # under a file: no folder can be made there
    assert main(["report", str(root), "--out", str(out)]) == 1
    assert f"--out {out}: cannot be written" in caplog.text


def test_commands_of_unfinished_and_hidden_folders_are_left_out(tmp_path: Path) -> None:
    # the rest of the report skips them; the command table counted them
    record_run(tmp_path, ["evaluate", "--out", "e"], 1_700_000_000.0, 3.0)
    store = tmp_path / "variants" / "sites.ism.h5.partial"  # a chunk store, as ism's
    record_run(store, ["ism"], 1_700_000_100.0, 900.0)
    (store / "settings.json").write_text("{}")
    record_run(tmp_path / ".hidden", ["sad"], 1_700_000_200.0, 40.0)
    text = runs_html(tmp_path, *run_entries(tmp_path))
    assert "1 command over 3 s" in text
    assert "crossreg ism" not in text and "crossreg sad" not in text


def test_a_summary_json_that_does_not_parse_is_shown_as_it_is(tmp_path: Path) -> None:
    # before: the whole report stopped with a JSON error naming no file
    (tmp_path / "summary.json").write_text('{"genomes": {"human" 0.5}}')
    text = summary_html(tmp_path)
    assert "not valid JSON: Expecting &#x27;:&#x27; delimiter" in text
    assert "&quot;human&quot; 0.5" in text


def test_folders_named_alike_get_their_own_sections(tmp_path: Path) -> None:
    (tmp_path / "summary.json").write_text("{}")
    for name in ("a_b", "a-b"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "t.tsv").write_text(f"x\ty\n{name}\t2\n")
    assert main(["report", str(tmp_path)]) == 0
    page = (tmp_path / "report.html").read_text()
    ids = re.findall(r"<section id='([^']+)'", page)
    assert len(ids) == len(set(ids)) == 2
    for name in ("a_b", "a-b"):
        (link,) = re.findall(rf"<a href='#([^']+)'>{name}</a>", page)
        section = page.split(f"<section id='{link}'>")[1].split("</section>")[0]
        assert f"{name}/</h2>" in section and f"<td class='text'>{name}</td>" in section


def test_broken_links_and_unreadable_files_are_listed_not_opened(tmp_path: Path) -> None:
    (tmp_path / "summary.json").write_text("{}")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "gone.png").symlink_to(tmp_path / "missing.png")
    (tmp_path / "sub" / "t.tsv").write_text("x\ty\n1\t2\n")
    assert main(["report", str(tmp_path)]) == 0
    page = (tmp_path / "report.html").read_text()
    assert "<li>gone.png (broken link)</li>" in page
    assert "<td>1</td>" in page


def _embedded(page: str) -> list[str]:
    """The captions of the figures a page embeds, in order."""
    return re.findall(r'<img class="figure" alt="([^"]+)" src="data:', page)


def test_a_figure_saved_as_png_and_svg_is_shown_once(tmp_path: Path) -> None:
    # before: --svg put each plot on the page twice and counted it twice
    (tmp_path / "summary.json").write_text("{}")
    (tmp_path / "sad").mkdir()
    for name in ("top.png", "top.svg", "alone.svg"):
        (tmp_path / "sad" / name).write_bytes(b"\x89PNG" if name.endswith("png") else b"<svg/>")
    assert main(["report", str(tmp_path)]) == 0
    page = (tmp_path / "report.html").read_text()
    assert _embedded(page) == ["sad/alone.svg", "sad/top.png"]
    assert "<p>2 figures from 1 folder;" in page
    assert "<summary>1 other file</summary><ul><li>top.svg (6 B)</li></ul>" in page


def test_figures_embedded_are_capped_per_folder_and_page(tmp_path: Path) -> None:
    # before: every figure was embedded, e.g. one per site and track of an ISM run
    (tmp_path / "summary.json").write_text("{}")
    folders = {"a": FOLDER_FIGURES + 3, "b": 1}
    folders |= {f"c{i:02d}": FOLDER_FIGURES for i in range(PAGE_FIGURES // FOLDER_FIGURES + 1)}
    for folder, count in folders.items():
        (tmp_path / folder).mkdir()
        for i in range(count):
            (tmp_path / folder / f"{i:03d}.png").write_bytes(b"\x89PNG")
    total = sum(folders.values())
    assert main(["report", str(tmp_path)]) == 0
    page = (tmp_path / "report.html").read_text()
    shown = _embedded(page)
    assert len(shown) == PAGE_FIGURES
    assert shown[: FOLDER_FIGURES + 1] == [f"a/{i:03d}.png" for i in range(FOLDER_FIGURES)] + [
        "b/000.png"
    ]
    per_folder = {name: sum(s.startswith(f"{name}/") for s in shown) for name in folders}
    assert max(per_folder.values()) == FOLDER_FIGURES
    assert (
        f"<p>{total} figures ({PAGE_FIGURES} shown, the rest linked) from {len(folders)} folders;"
        in page
    )
    assert "<summary>3 more figures in a/ (not embedded" in page
    left_out = f"{FOLDER_FIGURES + 2:03d}.png"
    assert f'<li><a href="a/{left_out}">{left_out}</a> (4 B)</li>' in page
    assert f"(not embedded, each linked to its file: 3 past the {FOLDER_FIGURES} figures a" in page
    last = list(folders)[-1]
    assert per_folder[last] == 0
    assert f"<summary>{FOLDER_FIGURES} more figures in {last}/" in page


def test_a_sub_folders_summary_heads_its_section(tmp_path: Path) -> None:
    # before, evaluate/summary.json was only a name among the "other files"
    root = _folder(tmp_path / "run")
    (root / "evaluate" / "summary.json").write_text(json.dumps({"mean_r": {"CAGE": 0.734}}))
    (root / "denovo").mkdir()
    (root / "denovo" / "summary.json").write_text(json.dumps({"risk_auc": 0.74}))
    text = Path(write_report(root)).read_text()
    start = text.index("<h2>evaluate/</h2>")
    evaluate = text[start : text.index("</section>", start)]
    assert evaluate.index("&quot;CAGE&quot;: 0.734") < evaluate.index("evaluate/curve.png")
    assert "<li>summary.json" not in text
    denovo = text[text.index("<h2>denovo/</h2>") :]  # a folder holding only its summary
    assert "&quot;risk_auc&quot;: 0.74" in denovo[: denovo.index("</section>")]
    assert text.count("joint R 0.61") == 1  # the root's summary stays in Summary alone


@pytest.mark.parametrize("nested", [True, False])
def test_a_page_below_a_folder_written_whole_is_replaced_with_it(tmp_path, nested):
    # before: only a page directly in the folder was listed in its contents, so the
    # folder's --overwrite refused sub/deeper/page.html as a file of the user's
    out = tmp_path / "run"
    (out / "tables").mkdir(parents=True)
    (out / "summary.json").write_text("{}")
    (out / "tables" / "a.tsv").write_text("x\n")
    listed = ["summary.json", "tables", *(["tables/a.tsv"] if nested else [])]
    (out / CONTENTS_FILE).write_text("".join(f"{name}\n" for name in listed))
    kinds = {"summary.json": "a run"}
    write_report(out, out / "sub" / "deeper" / "page.html")
    check_replaceable(out, True, kinds)  # the page goes with the folder
    expected = ["sub", "sub/deeper", "sub/deeper/page.html"] if nested else ["sub"]
    assert (out / CONTENTS_FILE).read_text().splitlines() == sorted([*listed, *expected])
    if nested:  # a file of the user's beside the page is still refused
        (out / "sub" / "mine.txt").write_text("mine")
        with pytest.raises(ValueError, match=r"sub/mine\.txt, which crossreg did not write"):
            check_replaceable(out, True, kinds)


def test_a_folder_an_unfinished_run_left_is_marked_so(tmp_path: Path) -> None:
    """A step stopped part way (its ``OUT/.partial``, ``OUT.partial`` or ``.NAME.partial``
    left) is marked unfinished; before, its section looked finished, and a folder holding
    only the checkpoint had none at all."""
    root = _folder(tmp_path / "run")
    (root / "evaluate" / ".partial").mkdir()  # evaluate stopped after its metrics.tsv
    (root / "sldp" / ".partial").mkdir(parents=True)  # stopped before any output
    (root / "variants").mkdir()
    (root / "variants" / "cases.sad.h5.partial").mkdir()  # sad: OUT.partial beside OUT
    (root / "variants" / "cases.sad.h5.partial" / "settings.json").write_text("{}")
    (root / "data" / ".human.partial").mkdir()  # a folder written whole, being replaced
    text = write_report(root).read_text()
    notes = re.findall(r"<h2>([^<]*)</h2><p class='unfinished'>Unfinished: ([^ ]+) is left", text)
    assert notes == [
        ("data/", ".human.partial"),
        ("evaluate/", ".partial"),
        ("sldp/", ".partial"),
        ("variants/", "cases.sad.h5.partial"),
    ]
    assert "from 4 folders (4 unfinished);" in text
    assert ">evaluate (unfinished)</a>" in text and ">models (unfinished)" not in text


def test_a_users_own_partial_file_or_folder_is_not_marked_unfinished(tmp_path: Path) -> None:
    """Only what crossreg leaves is an unfinished run: a hidden ``.partial``/``.NAME.partial``
    folder, or a chunk store ``OUT.partial`` (its settings.json). Before, any entry named
    ``*.partial`` marked its folder unfinished ("Unfinished: draft.partial is left by a
    command that was stopped"), and a user's file of that name vanished from the page."""
    root = _folder(tmp_path / "run")
    (root / "data" / "draft.partial").write_text("the user's notes\n")
    (root / "evaluate" / "results.partial").mkdir()  # a user's folder, no chunk store
    (root / "evaluate" / "results.partial" / "a.txt").write_text("mine\n")
    (root / "variants").mkdir()
    store = root / "variants" / "cases.sad.h5.partial"  # sad, stopped: a chunk store
    store.mkdir()
    (store / "settings.json").write_text("{}")
    text = write_report(root).read_text()
    assert re.findall(r"Unfinished: ([^ ]+) is left", text) == ["cases.sad.h5.partial"]
    assert "from 4 folders (1 unfinished);" in text
    assert ">data (unfinished)" not in text and ">evaluate (unfinished)" not in text
    assert "draft.partial" in text  # listed among the folder's files
    # and the user's folder is shown as any other (it was left out of the page)
    assert "<h2>evaluate/results.partial/</h2>" in text and "mine" in text


def test_a_later_command_that_rewrote_nothing_leaves_the_summary_up_to_date(
    tmp_path: Path,
) -> None:
    """A finished step run again with --resume rewrites none of its outputs (evaluate keeps
    its summary.json and metrics): the page called its own summary, or the demo's, possibly
    out of date all the same ("1 command ran after this summary was written, in
    evaluate")."""
    root = _folder(tmp_path / "run")
    made = 1_700_000_100.0
    for path in [root / "summary.txt", root / "summary.json", *(root / "evaluate").iterdir()]:
        os.utime(path, (made - 50, made - 50) if path.parent != root else (made, made))
    record_run(root / "evaluate", ["evaluate", "--resume"], made + 600, 1.0)  # kept it all
    assert "class='stale'" not in write_report(root).read_text()
    os.utime(root / "evaluate" / "metrics.tsv", (made + 601, made + 601))  # this one rewrote
    record_run(root / "evaluate", ["evaluate"], made + 600, 9.0)
    assert "Possibly out of date: 2 commands ran" in write_report(root).read_text()


def test_a_summary_older_than_a_logged_command_is_marked_possibly_out_of_date(
    tmp_path: Path,
) -> None:
    """A step run again after the folder's summary was written (compare after a new
    evaluate) is named above the summary, whose numbers may be its earlier output's;
    before, the page showed the summary as the run's without a word."""
    root = _folder(tmp_path / "run")  # its one command started before the summary
    for name in ("summary.txt", "summary.json"):
        os.utime(root / name, (1_700_000_100.0, 1_700_000_100.0))
    assert "class='stale'" not in write_report(root).read_text()
    record_run(root / "compare" / "human", ["compare"], 1_700_000_500.0, 2.0)
    (root / "compare" / "human" / "pairs.tsv").write_text("track\tr_joint\n")  # written now
    record_run(root / "evaluate", ["evaluate"], 1_700_000_400.0, 9.0)
    text = write_report(root).read_text()
    (note,) = re.findall(r"<p class='stale'>([^<]*)</p>", text)
    assert note.startswith("Possibly out of date: 2 commands ran after this summary was written")
    assert "in compare/human, evaluate (see Commands)" in note


def test_every_run_log_is_read_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # before: the page read every run log twice, for its Summary's note and its Commands
    root = tmp_path
    (root / "summary.json").write_text("{}")
    record_run(root, ["transfer", "--out", "."], 1_700_000_000.0, 1.0)
    (root / "evaluate").mkdir()
    record_run(root / "evaluate", ["evaluate", "--out", "."], 1_700_000_100.0, 1.0)
    read: list[Path] = []
    real = report_runs.read_runs

    def counted(path: Path) -> list[dict[str, object]]:
        read.append(path)
        return real(path)

    monkeypatch.setattr(report_runs, "read_runs", counted)
    write_report(root)
    assert sorted(read) == sorted(
        [root / "crossreg-runs.jsonl", root / "evaluate" / "crossreg-runs.jsonl"]
    )
    assert "2 commands over" in (root / "report.html").read_text()


@pytest.fixture
def zone(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """This process's local time three hours ahead of UTC (as on another machine)."""
    monkeypatch.setenv("TZ", "XYZ-3")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


def test_the_page_s_times_carry_their_offset_from_utc(tmp_path: Path, zone: None) -> None:
    # before: "written 2023-11-14 22:16", a time in the zone of the machine that wrote the
    # page, read on another as its own; the commands' times carry their offsets
    root = _folder(tmp_path / "run")
    for name in ("summary.txt", "summary.json"):
        os.utime(root / name, (1_700_000_100.0, 1_700_000_100.0))
    record_run(root / "evaluate", ["evaluate"], 1_700_000_400.0, 9.0)
    text = write_report(root).read_text()
    assert re.search(r"written \d{4}-\d\d-\d\d \d\d:\d\d \+0300 by crossreg", text)
    assert "ran after this summary was written (2023-11-15 01:15 +0300)" in text


def test_a_folder_of_thousands_of_other_files_lists_the_first(tmp_path: Path) -> None:
    # before: every file was listed, each after a stat (a predict --bigwig folder of
    # 7,000 BigWigs)
    (tmp_path / "summary.json").write_text("{}")
    (tmp_path / "bigwig").mkdir()
    for i in range(LISTED + 5):
        (tmp_path / "bigwig" / f"t{i:04d}.bw").write_bytes(b"")
    page = write_report(tmp_path).read_text()
    assert f"<summary>{LISTED + 5} other files</summary>" in page
    assert f"<li>t{LISTED - 1:04d}.bw (0 B)</li><li>… 5 more</li></ul>" in page
    assert f"t{LISTED:04d}.bw" not in page


def test_a_summary_that_is_not_a_readable_file_is_left_out(tmp_path: Path) -> None:
    # before: a folder named summary.txt (or a summary.json without read permission) beside
    # a run log stopped the report with a traceback
    record_run(tmp_path, ["evaluate", "--out", "."], 1_700_000_000.0, 1.0)
    (tmp_path / "summary.txt").mkdir()
    (tmp_path / "evaluate").mkdir()
    (tmp_path / "evaluate" / "summary.json").write_text("{}")
    (tmp_path / "evaluate" / "summary.txt").mkdir()
    page = write_report(tmp_path).read_text()
    assert "<h2>Summary</h2><p class='note'>No summary.txt or summary.json in this folder." in page
    assert "<details><summary>summary.json</summary>" in page


def _section(page: str, name: str) -> str:
    """The section of the folder `name` (``evaluate/``) of a page."""
    start = page.index(f"<h2>{name}</h2>")
    return page[start : page.index("</section>", start)]


def test_a_tables_rows_are_counted(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # before: "first 12 rows" of a metrics.tsv, not how many tracks it holds
    record_run(tmp_path, ["evaluate", "--out", "."], 1_700_000_000.0, 1.0)
    rows = ["identifier\tpearson_r"] + [f"T{i}\t0.{i}" for i in range(30)]
    (tmp_path / "metrics.tsv").write_text("\n".join(rows) + "\n")
    (tmp_path / "cut.tsv").write_text("\n".join(rows))  # no newline after the last row
    (tmp_path / "one.tsv").write_text("identifier\tpearson_r\nT0\t0.5\n")
    page = write_report(tmp_path).read_text()
    assert "metrics.tsv</a></h3><p class='note'>first 12 of 30 rows;" in page
    assert "cut.tsv</a></h3><p class='note'>first 12 of 30 rows;" in page
    assert "one.tsv</a></h3><p class='note'>1 row;" in page
    # a table past the head the page reads is counted in full; one too large, not at all
    monkeypatch.setattr(report_tables, "TABLE_READ_BYTES", 160)
    page = write_report(tmp_path).read_text()
    assert "metrics.tsv</a></h3><p class='note'>first 12 of 30 rows;" in page
    assert "cut.tsv</a></h3><p class='note'>first 12 of 30 rows;" in page
    monkeypatch.setattr(report_tables, "COUNT_BYTES", 64)
    page = write_report(tmp_path).read_text()
    assert "metrics.tsv</a></h3><p class='note'>first 12 rows;" in page


def test_a_sub_folders_summary_states_what_its_tables_are_of(tmp_path: Path) -> None:
    # before: which split, head and how many tracks an evaluate folder's metrics.tsv is
    # of was only in its summary.json, folded
    root = _folder(tmp_path / "run")
    summary = {
        "split": "test",
        "head": "human",
        "splits": ["valid", "test"],
        "tracks": 24,
        "mean_pearson_r": 0.7844622114925595,
        "rc": False,
        "store": {"genome": "human", "windows": {"test": 121}},
        "annotations": [f"t{i}" for i in range(9)],
        "pairs_file": None,
        "settings": "x" * 201,
    }
    (root / "evaluate" / "summary.json").write_text(json.dumps(summary))
    section = _section(Path(write_report(root)).read_text(), "evaluate/")
    facts = re.search(r"<p class='facts'>(.*?)</p>", section)
    assert facts and section.index("<p class='facts'>") < section.index("<details>")
    words = re.sub(r"<[^>]+>", "", facts[1])
    assert words == (
        "split test · head human · splits valid, test · tracks 24 · mean_pearson_r 0.7845"
        " · rc false"
    )
    page = Path(write_report(root)).read_text()
    assert "<p class='facts'>" not in page[: page.index("<h2>Commands</h2>")]  # summary.txt


def test_a_tables_settings_beside_it_say_what_scored_it(tmp_path: Path) -> None:
    # before: a sad table did not say which head, model and ensemble scored it
    record_run(tmp_path, ["sad", "--out", "sad.tsv"], 1_700_000_000.0, 1.0)
    (tmp_path / "sad.tsv").write_text("snp\thT0\nrs1\t0.5\n")
    side = {"genome": "mouse", "rc": True, "shifts": [1, 0, -1], "target_labels": ["a"] * 24}
    (tmp_path / "sad.tsv.json").write_text(json.dumps(side))
    (tmp_path / "other.tsv").write_text("snp\tT0\nrs1\t0.5\n")
    (tmp_path / "other.tsv.json").write_text("[1, 2]")  # not an object: nothing to state
    page = write_report(tmp_path).read_text()
    found = re.search(r"sad.tsv</a></h3><p class='facts'>(.*?)</p><p class='note'>1 row;", page)
    assert found and re.sub(r"<[^>]+>", "", found[1]) == "genome mouse · rc true · shifts 1, 0, -1"
    assert "other.tsv</a></h3><p class='note'>1 row;" in page


def test_tables_past_a_folders_count_are_linked(tmp_path: Path) -> None:
    # before: an sldp run's 30 chunk tables were each shown, 12 rows apiece
    record_run(tmp_path, ["sldp", "--out", "."], 1_700_000_000.0, 1.0)
    (tmp_path / "chunks").mkdir()
    for i in range(FOLDER_TABLES + 3):
        (tmp_path / "chunks" / f"c{i:02d}.tsv").write_text("q\tr\n1\t2\n")
    section = _section(write_report(tmp_path).read_text(), "chunks/")
    assert section.count("<table>") == FOLDER_TABLES
    assert f"<summary>3 more tables in chunks/ (not shown past the {FOLDER_TABLES}" in section
    last = f"c{FOLDER_TABLES + 2:02d}.tsv"
    assert f'<li><a href="chunks/{last}">{last}</a> (8 B)</li>' in section


def _demo_steps(root: Path, folders: tuple[str, ...]) -> None:
    """A demo folder holding the outputs of its first steps, `folders`."""
    for name in folders:
        argv = [name if name != "models" else "train", "--out", str(root / name)]
        record_run(root / name, argv, 1_700_000_000.0, 1.0)


def test_an_unfinished_demo_says_so_and_names_the_steps_it_lacks(tmp_path: Path) -> None:
    # before: the Summary said "none", and a step not run yet had no word at all
    root = tmp_path / "demo"
    _demo_steps(root, ("synth", "split", "data"))
    page = write_report(root).read_text()
    summary = page[page.index("<h2>Summary</h2>") : page.index("<h2>Commands</h2>")]
    assert "No summary: the crossreg demo that wrote this folder has not finished" in summary
    missing = re.findall(r"<li>(\w+)/ \(([^)]*)\): not written yet, so it has no section", summary)
    assert [name for name, _ in missing] == list(DEMO_FOLDERS)[3:]
    assert ("transfer", "cross-species transfer") in missing
    # finished, then a step's folder removed: named as removed
    (root / "summary.txt").write_text("joint R 0.61\n")
    _demo_steps(root, tuple(name for name in DEMO_FOLDERS if name != "transfer"))
    page = write_report(root).read_text()
    assert "No summary" not in page
    assert (
        "<li>transfer/ (cross-species transfer): removed since the demo wrote its summary" in page
    )
    assert page.count("<li>transfer/") == 1 and "<li>ism/" not in page


def test_a_folder_of_other_commands_is_not_taken_for_a_demo(tmp_path: Path) -> None:
    record_run(tmp_path / "split", ["split", "--out", "split"], 1_700_000_000.0, 1.0)
    record_run(tmp_path / "other", ["synth", "--out", "other"], 1_700_000_000.0, 1.0)
    page = write_report(tmp_path).read_text()
    assert "No summary.txt or summary.json in this folder." in page
    assert "Steps of the demo" not in page and "crossreg demo" not in page


def test_a_demo_run_with_a_global_option_is_taken_for_a_demo(tmp_path: Path) -> None:
    # before: only a log line starting "crossreg demo " counted, not "crossreg -q demo ..."
    root = tmp_path / "demo"
    record_run(root, ["-q", "demo", "--out", str(root)], 1_700_000_000.0, 1.0)
    page = write_report(root).read_text()
    assert "No summary: the crossreg demo that wrote this folder has not finished" in page
