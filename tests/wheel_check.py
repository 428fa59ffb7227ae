"""Check a built wheel as a user gets it: the files it carries, then the package installed
from it, used from a folder outside the repository.

Run it with the Python of an environment the wheel was installed into, from a folder
outside the repository (``make wheel-check`` does): ``python tests/wheel_check.py WHEEL``.
The wheel must carry the package's data (the JASPAR matrices ``crossreg synth`` reads and
their licence and citation), ``py.typed``, the extension's stub and the licence, and no
file outside the package (tests, caches). The installed package must be the one
imported, and the first steps of the pipeline (synth, split, data, report) must run
with it, in seconds. It lists each problem and exits 1, or prints one line and exits 0.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

#: Files the package reads or a user's tools need, which a wheel must carry.
REQUIRED = (
    "crossreg/py.typed",
    "crossreg/_native.pyi",
    "crossreg/synth/data/jaspar2024_selected.jaspar",
    "crossreg/synth/data/README.md",
)


def wheel_problems(names: list[str]) -> list[str]:
    """What is wrong with a wheel whose members are `names`: a required file or the
    licence missing, not one native extension, or a member outside the package and its
    ``.dist-info`` (tests, docs) or a compiled cache."""
    problems = [f"lacks {name}" for name in REQUIRED if name not in names]
    if not any(n.endswith(".dist-info/licenses/LICENSE") for n in names):
        problems.append("lacks its LICENSE (.dist-info/licenses/LICENSE)")
    native = [n for n in names if n.startswith("crossreg/_native.") and n.endswith((".so", ".pyd"))]
    if len(native) != 1:
        problems.append(f"carries {len(native)} native extensions, not one: {native}")
    stray = [
        n
        for n in names
        if not (n.startswith("crossreg/") or n.split("/")[0].endswith(".dist-info"))
        or "__pycache__/" in n
        or n.endswith(".pyc")
    ]
    if stray:
        problems.append(f"carries files outside the package: {', '.join(stray[:5])}")
    return problems


def _run(crossreg: Path, cwd: Path, *args: str) -> str | None:
    """Run ``crossreg -q ARGS`` in `cwd`; its failure as a problem, else None."""
    done = subprocess.run(
        [str(crossreg), "-q", *args], cwd=cwd, capture_output=True, text=True, check=False
    )
    if done.returncode == 0:
        return None
    return f"crossreg {args[0]} failed ({done.returncode}): {done.stderr.strip()[-2000:]}"


def use_problems(work: Path) -> list[str]:
    """Run the pipeline's first steps with the installed package in `work`, an empty folder
    outside the repository; what went wrong."""
    import crossreg

    where = Path(crossreg.__file__).resolve()
    if not where.is_relative_to(Path(sys.prefix).resolve()):
        return [f"crossreg was imported from {where}, not from this environment ({sys.prefix})"]
    command = Path(sys.executable).parent / "crossreg"
    synth = ["synth", "--preset", "tiny", "--seed", "0", "--no-cohorts", "--out", "synth"]
    if problem := _run(command, work, *synth):
        return [problem]
    manifest = json.loads((work / "synth" / "manifest.json").read_text())
    human, mouse = (manifest["genomes"][name] for name in ("human", "mouse"))
    net = Path("synth") / manifest["nets"][0]["file"]
    steps = [
        ["split", "--out", "split", "--region-size", "50000", "--min-aligned", "10000",
         "--sizes", f"human=synth/{human['sizes']}", "--sizes", f"mouse=synth/{mouse['sizes']}",
         "--net", f"human,mouse={net}"],
        ["data", "--genome", "human", "--fasta", f"synth/{human['fasta']}",
         "--targets", f"synth/{human['targets']}", "--regions", "split/human.regions.bed",
         "--seq-length", "8192", "--stride", "4096", "--crop", "8", "--out", "data"],
        ["report", "data", "--out", "report.html"],
    ]  # fmt: skip
    for step in steps:
        if problem := _run(command, work, *step):
            return [problem]
    if not (work / "data" / "dataset.json").is_file() or not (work / "report.html").is_file():
        return ["data or report wrote no dataset.json or report.html"]
    return []


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: python tests/wheel_check.py WHEEL", file=sys.stderr)
        return 2
    wheel = Path(argv[0])
    with zipfile.ZipFile(wheel) as archive:
        problems = [f"{wheel.name} {p}" for p in wheel_problems(archive.namelist())]
    if not problems:
        with tempfile.TemporaryDirectory(prefix="crossreg-wheel-") as work:
            problems = use_problems(Path(work))
    for problem in problems:
        print(problem, file=sys.stderr)
    if problems:
        return 1
    size = wheel.stat().st_size / 1e6
    print(f"wheel ok: {wheel.name} ({size:.2f} MB), synth, split, data and report ran from it")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
