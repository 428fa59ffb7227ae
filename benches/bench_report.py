"""``crossreg report`` of a run folder of many large figures: the page's size, the time and
peak memory to write it, and the time headless Chromium takes to load it, with the page's
figure byte budget and previews (as it is) and with every figure up to the count cap
embedded whole (as it was). Peak memory is the writing process's ``VmHWM`` (Linux).

Each shape ``FOLDERSxMAPSxROWSxCOLUMNS`` is a folder of FOLDERS transfer folders of MAPS
heat maps of ROWS × COLUMNS tracks (drawn by ``matrix_figure`` from random R, one drawing
per folder copied under MAPS names: the page's work depends on the files' bytes only).

    python benches/bench_report.py [--shapes 4x12x638x357,4x12x160x90,2x3x24x24]
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from crossreg.evaluate.transfer_figures import PlottedMatrix, plot_matrix
from crossreg.runlog import record_run

WRITE = r"""
import re, sys, time
import crossreg.report, crossreg.report_figures
from crossreg.report import write_report
if sys.argv[3] == "embed all":
    crossreg.report.PAGE_FIGURE_BYTES = crossreg.report_figures.PREVIEW_BYTES = 1 << 40
start = time.perf_counter()
write_report(sys.argv[1], sys.argv[2])
seconds = time.perf_counter() - start
with open("/proc/self/status") as status:
    print(seconds, re.search(r"VmHWM:\s+(\d+)", status.read())[1])
"""


def heat_map(rows: int, columns: int, seed: int) -> PlottedMatrix:
    """A transfer matrix of random R, each of 40 cell types matched with itself."""
    rng = np.random.default_rng(seed)
    values = np.tanh(rng.normal(0, 0.5, (rows, columns)) + rng.normal(0, 0.3, (rows, 1)))
    cells = [f"cell{i % 40}" for i in range(max(rows, columns))]
    matched = np.equal.outer(np.array(cells[:rows]), np.array(cells[:columns]))
    return PlottedMatrix(
        "DNASE",
        [f"H{i}" for i in range(rows)],
        [f"M{j}" for j in range(columns)],
        [f"DNASE:{cells[i]} sample {i}" for i in range(rows)],
        [f"DNASE:{cells[j]} sample {j}" for j in range(columns)],
        values,
        matched,
        sites=100_000,
    )


def build(root: Path, folders: int, maps: int, rows: int, columns: int) -> int:
    """The run folder; returns the bytes of its figures."""
    root.mkdir(parents=True)
    (root / "summary.json").write_text("{}")
    record_run(root, ["demo", "--out", str(root)], time.time(), 1.0)
    total = 0
    for f in range(folders):
        folder = root / "transfer" / f"head_{f}"
        folder.mkdir(parents=True)
        drawn = folder / "matrix_0.png"
        plot_matrix(drawn, heat_map(rows, columns, f))
        for m in range(1, maps):
            shutil.copyfile(drawn, folder / f"matrix_{m}.png")
        total += maps * drawn.stat().st_size
    return total


def load_seconds(page: Path) -> float | None:
    """Seconds headless Chromium takes to load `page` and print its DOM (None without it)."""
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        return None
    flags = ["--headless=new", "--no-sandbox", "--disable-gpu", "--dump-dom"]
    start = time.perf_counter()
    subprocess.run(
        [chromium, *flags, page.resolve().as_uri()], capture_output=True, check=True, timeout=600
    )
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shapes", default="4x12x638x357,4x12x160x90,2x3x24x24")
    args = parser.parse_args()
    print(
        "| folders × maps × tracks | figures MiB | page | MiB | write s | peak RSS MiB "
        "| Chromium load s |"
    )
    print("| --- | ---: | --- | ---: | ---: | ---: | ---: |")
    for shape in args.shapes.split(","):
        folders, maps, rows, columns = (int(n) for n in shape.split("x"))
        with tempfile.TemporaryDirectory() as scratch:
            root = Path(scratch) / "run"
            figures = build(root, folders, maps, rows, columns)
            for mode in ("budget", "embed all"):
                page = Path(scratch) / f"{mode.replace(' ', '_')}.html"
                done = subprocess.run(
                    [sys.executable, "-c", WRITE, str(root), str(page), mode],
                    capture_output=True,
                    text=True,
                    check=True,
                )
                seconds, peak_kib = done.stdout.split()
                load = load_seconds(page)
                print(
                    f"| {folders} × {maps} × {rows}×{columns} | {figures / 2**20:.1f} | {mode} "
                    f"| {page.stat().st_size / 2**20:.1f} | {float(seconds):.2f} "
                    f"| {int(peak_kib) / 1024:.0f} | {'–' if load is None else f'{load:.1f}'} |",
                    flush=True,
                )


if __name__ == "__main__":
    main()
