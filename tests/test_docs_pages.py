"""The pages a reader meets first, checked against what they name: every command line of a
shell block parses with the real parser, every link of README.md (which the strict site
build does not read) reaches a file and a heading, every figure shown exists and every
figure of docs/figures is shown, every Markdown table has one column count, Getting
started names the package's dependencies as pyproject.toml lists them, and the pipeline
page's map of the code names every module, and only files that exist."""

from __future__ import annotations

import contextlib
import io
import re
import shlex
from pathlib import Path

from markdown.extensions.toc import slugify  # type: ignore[import-untyped]

from crossreg.cli import build_parser

ROOT = Path(__file__).resolve().parents[1]
# the pages a newcomer reads top down, whose command lines are meant to be copied whole
FIRST_PAGES = ["README.md", "docs/index.md", "docs/pipeline.md", "docs/real-data.md"]
FIRST_PAGES += ["docs/results.md", "docs/figures.md", "benches/README.md"]
SHELL_BLOCK = re.compile(r"```(?:bash|sh)\n(.*?)```", flags=re.DOTALL)
# `crossreg ARGS`, also as `python -m crossreg` or under torchrun, up to a comment or separator
INVOCATION = re.compile(r"(?:^|\s)(?:-m )?crossreg((?:\s+[^#;&|]*)?)")
LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)\)")
FIGURE = re.compile(r"figures/([\w.-]+\.png)")
# the map of the code: a `### ... `folder/`` heading, then one bullet per file of that folder
MAP_FOLDER = re.compile(r"^### .*?`([\w./-]+/)`", flags=re.MULTILINE)
MAP_BULLET = re.compile(r"^- `([^`]+)` — ", flags=re.MULTILINE)


def _pages() -> dict[str, str]:
    paths = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
    return {str(p.relative_to(ROOT)): p.read_text(encoding="utf-8") for p in paths}


def _invocations(text: str) -> list[str]:
    """The `crossreg ...` command lines of a page's shell blocks, continuations joined."""
    found = []
    for block in SHELL_BLOCK.findall(text):
        for line in block.replace("\\\n", " ").splitlines():
            match = INVOCATION.search(line)
            if match and "..." not in line:
                found.append("crossreg" + match.group(1).rstrip())
    return found


def _parse_error(line: str) -> str | None:
    """What the real parser says against a command line, or None when it takes it."""
    err = io.StringIO()
    try:
        with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
            build_parser().parse_args(shlex.split(line)[1:])
    except SystemExit as exc:
        if exc.code:
            return err.getvalue().strip().splitlines()[-1]
    return None


def _anchors(text: str) -> set[str]:
    """The heading ids a page has, as the site's table of contents makes them."""
    ids = set()
    for heading in re.findall(r"^#{1,6} (.+)$", text, flags=re.MULTILINE):
        custom = re.search(r"\{#([\w-]+)\}\s*$", heading)
        ids.add(custom.group(1) if custom else slugify(heading.replace("`", ""), "-"))
    return ids


def _cells(row: str) -> int:
    """The cells of a table row: pipes inside code spans and escaped pipes do not part them."""
    bare = re.sub(r"`[^`]*`", "", row.strip()).replace("\\|", "")
    return bare.strip("|").count("|") + 1


def _tables(text: str) -> list[list[str]]:
    """Each Markdown table of a page (outside fenced blocks) as its rows."""
    tables: list[list[str]] = []
    rows: list[str] = []
    for line in [*re.sub(r"```.*?```", "", text, flags=re.DOTALL).splitlines(), ""]:
        if line.startswith("|"):
            rows.append(line)
        elif rows:
            tables.append(rows)
            rows = []
    return tables


def test_getting_started_names_every_dependency_of_the_package():
    pyproject = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    (block,) = re.findall(r"^dependencies = \[\n(.*?)^\]", pyproject, flags=re.S | re.M)
    names = re.findall(r'^\s*"([\w.-]+)', block, flags=re.M)
    (listed,) = re.findall(r"Python dependencies \(([^)]*)\)", _pages()["docs/index.md"])
    named = re.split(r",\s+", listed)
    assert sorted(n.lower() for n in names) == sorted(n.lower() for n in named), listed


def test_every_command_line_of_the_first_pages_parses():
    failed = []
    for page in FIRST_PAGES:
        for line in _invocations((ROOT / page).read_text(encoding="utf-8")):
            error = _parse_error(line)
            if error:
                failed.append(f"{page}: {line}: {error}")
    assert not failed, "\n".join(failed)


def test_a_command_line_with_a_mistake_is_caught():
    text = "```bash\ncrossreg sad --model m --fasta g.fa --vcf v.vcf --rcc \\\n    --out s.h5\n```"
    (line,) = _invocations(text)
    assert "unrecognized arguments: --rcc" in str(_parse_error(line))
    text = "```bash\ncrossreg sad --model m --fasta g.fa --vcf v.vcf --batch-size four\n```"
    assert "expected a whole number, got 'four'" in str(_parse_error(*_invocations(text)))
    text = "```bash\ncrossreg demo --fast --out demo-fast   # two epochs\n```"
    assert [_parse_error(line) for line in _invocations(text)] == [None]


def test_every_link_of_the_readme_reaches_its_file_and_heading():
    broken = []
    for target in LINK.findall((ROOT / "README.md").read_text(encoding="utf-8")):
        if re.match(r"[a-z]+:", target):
            continue  # a web address
        path, _, anchor = target.partition("#")
        file = ROOT / path if path else ROOT / "README.md"
        if not file.is_file():
            broken.append(f"{target}: no file")
        elif anchor and anchor not in _anchors(file.read_text(encoding="utf-8")):
            broken.append(f"{target}: no heading")
    assert not broken, broken


def test_anchors_are_the_ids_the_site_gives_headings():
    text = "## The paper's proportions: `crossreg demo --preset small`\n### Run {#own-id}\n"
    assert _anchors(text) == {"the-papers-proportions-crossreg-demo-preset-small", "own-id"}


def test_every_figure_shown_exists_and_every_figure_is_shown():
    pages = _pages()
    shown = {name for text in pages.values() for name in FIGURE.findall(text)}
    on_disk = {path.name for path in (ROOT / "docs" / "figures").glob("*.png")}
    assert not shown - on_disk, f"figures named that docs/figures lacks: {shown - on_disk}"
    images = {
        Path(target).name
        for text in pages.values()
        for target in LINK.findall(text)
        if target.endswith(".png")
    }
    assert not on_disk - images, f"figures no page shows: {on_disk - images}"


def test_every_table_has_one_column_count():
    uneven = []
    for page, text in _pages().items():
        for rows in _tables(text):
            counts = [_cells(row) for row in rows]
            if len(set(counts)) > 1:
                uneven.append(f"{page}: {rows[0][:60]}… has rows of {sorted(set(counts))} cells")
    assert not uneven, "\n".join(uneven)


def test_a_table_with_a_missing_column_is_caught():
    text = "| a | b | `x|y` |\n|---|---|\n| 1 | 2 \\| 3 | 4 |\n\n```\n| not | a table\n```\n"
    (rows,) = _tables(text)
    assert [_cells(row) for row in rows] == [3, 2, 3]


def _mapped(section: str) -> tuple[list[str], list[str]]:
    """The files (from the repository root) that the bullets of the code map name, and the
    bullets that stand under no folder heading."""
    named: list[str] = []
    stray: list[str] = []
    for part in re.split(r"^(?=### )", section, flags=re.MULTILINE):
        folder = MAP_FOLDER.match(part)
        for name in MAP_BULLET.findall(part):
            if folder:
                named.append(folder.group(1) + name)
            else:
                stray.append(name)
    return named, stray


def _map_problems(page: str, root: Path) -> list[str]:
    """What the "Layout of the code" section of `page` gets wrong about the files under `root`:
    a module of the package or a Rust file it does not list, a bullet naming no file, a file
    listed twice, a bullet under no folder heading."""
    (section,) = re.findall(r"^## Layout of the code\n(.*?)(?=^## |\Z)", page, flags=re.S | re.M)
    named, stray = _mapped(section)
    modules = [
        p
        for p in (root / "python" / "crossreg").rglob("*.py")
        if p.name not in ("__init__.py", "__main__.py")
    ]
    files = sorted(
        str(p.relative_to(root)) for p in [*modules, *(root / "rust" / "src").rglob("*.rs")]
    )
    problems = [f"not in the map: {f}" for f in files if f not in named]
    problems += [f"in the map but missing: {f}" for f in named if not (root / f).exists()]
    problems += [f"in the map twice: {f}" for f in sorted({f for f in named if named.count(f) > 1})]
    problems += [f"a bullet under no folder heading: {name}" for name in stray]
    return problems


def test_the_code_map_names_every_module_and_only_files_that_exist():
    problems = _map_problems((ROOT / "docs" / "pipeline.md").read_text(encoding="utf-8"), ROOT)
    assert not problems, "\n".join(problems)


def test_a_code_map_gone_stale_is_caught(tmp_path: Path):
    for path in ["python/crossreg/io/bed.py", "python/crossreg/io/vcf.py", "rust/src/dna.rs"]:
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / path).write_text("", encoding="utf-8")
    (tmp_path / "python" / "crossreg" / "io" / "__init__.py").write_text("", encoding="utf-8")
    page = (
        "## Layout of the code\n\n- `dna.py` — stray\n\n"
        "### Files: `python/crossreg/io/`\n\n- `bed.py` — BED\n- `gone.py` — renamed\n"
        "- `bed.py` — again\n\n### `rust/src/`\n\n- `dna.rs` — DNA\n\n"
        "## Next\n\n- `x.py` — not mapped\n"
    )
    assert _map_problems(page, tmp_path) == [
        "not in the map: python/crossreg/io/vcf.py",
        "in the map but missing: python/crossreg/io/gone.py",
        "in the map twice: python/crossreg/io/bed.py",
        "a bullet under no folder heading: dna.py",
    ]
