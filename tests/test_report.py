"""``crossreg report``: one self-contained page with the folder's figures, tables and runs."""

from __future__ import annotations

import base64
import json
import re
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

from crossreg.cli import main
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
    return root


def test_report_embeds_figures_tables_and_commands(tmp_path: Path, capsys) -> None:
    root = _folder(tmp_path / "run")
    assert main(["report", str(root)]) == 0
    page = root / "report.html"
    assert str(page) in capsys.readouterr().out
    text = page.read_text()
    png = re.search(r'src="data:image/png;base64,([^"]+)"', text)
    assert png and base64.b64decode(png[1]) == (root / "evaluate" / "curve.png").read_bytes()
    assert "data:image/svg+xml;base64," in text
    assert "joint R 0.61" in text and "summary.json" in text
    assert "crossreg train --out models/joint" in text and "12.5" in text
    assert "first 12 rows" in text and "<td>T11</td>" in text and "<td>T12</td>" not in text
    assert "scores.h5 (2.0 KiB)" in text
    assert "http://" not in text and "https://" not in text  # nothing from the network


def test_report_of_a_missing_folder_is_refused(tmp_path: Path) -> None:
    assert main(["report", str(tmp_path / "nowhere")]) == 1
    assert not (tmp_path / "nowhere").exists()


@needs_chromium
def test_report_opens_in_a_browser(tmp_path: Path) -> None:
    root = _folder(tmp_path / "run")
    assert main(["report", str(root), "--out", str(tmp_path / "page.html")]) == 0
    assert figures_loaded(tmp_path / "page.html") == (2, 2)
    shot = screenshot(tmp_path / "page.html", tmp_path / "page.png")
    assert shot[:4] == b"\x89PNG" and len(shot) > 10_000
