"""The package's import graph: no cycles, and no module imports from a step above its own.

Every import counts, at module level or inside a function. Layers, lowest first: the
foundations (file formats, DNA, the genome, the native core), the data steps (synth,
split, data), the model, training, the steps that apply a model (predict, evaluate,
variants), statistics on their outputs, the demo that chains them, and the command line.
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "python" / "crossreg"

LAYERS: dict[str, int] = {
    "crossreg": 0,
    "_native": 0,
    "_lazy": 0,
    "errors": 0,
    "interrupts": 0,
    "io": 0,
    "dna": 0,
    "genome": 0,
    "signal": 0,
    "distributed": 0,
    "devices": 0,
    "plots": 0,
    "progress": 0,
    "runlog": 0,
    "logs": 0,
    "memory": 0,
    "shard": 0,
    "step_defaults": 0,
    "synth": 1,
    "split": 1,
    "data": 1,
    "model": 2,
    "train": 3,
    "predict": 4,
    "evaluate": 4,
    "variants": 4,
    "stats": 5,
    "report": 5,
    "report_figures": 5,
    "report_format": 5,
    "report_runs": 5,
    "report_scan": 5,
    "report_sections": 5,
    "report_summary": 5,
    "report_tables": 5,
    "demo": 6,
    "demo_clock": 6,
    "demo_resume": 6,
    "demo_schedules": 6,
    "demo_settings": 6,
    "demo_steps": 6,
    "demo_stores": 6,
    "demo_summary": 6,
    "demo_variants": 6,
    "commands": 7,
    "cli": 7,
    "__main__": 7,
}


def module_name(path: Path) -> str:
    parts = ["crossreg", *path.relative_to(PACKAGE).with_suffix("").parts]
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_of(path: Path, name: str, modules: set[str] | None = None) -> set[str]:
    """Every crossreg module `path` imports: ``from X import Y`` is module X.Y when that is a
    module (of `modules`, when given), else X."""
    is_package = path.name == "__init__.py"
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.startswith("crossreg")}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = name.split(".")[: len(name.split(".")) - node.level + is_package]
                base = ".".join([*anchor, base] if base else anchor)
            if base.startswith("crossreg"):
                for alias in node.names:
                    sub = f"{base}.{alias.name}"
                    found.add(sub if modules is None or sub in modules else base)
    return found


def graph() -> dict[str, set[str]]:
    paths = {module_name(p): p for p in PACKAGE.rglob("*.py")}
    modules = set(paths) | {"crossreg._native"}
    return {
        name: {m for m in imports_of(path, name, modules) if m in modules and m != name}
        for name, path in paths.items()
    }


def layer(module: str) -> int:
    parts = module.split(".")
    return LAYERS[parts[1] if len(parts) > 1 else parts[0]]


def test_every_top_level_module_has_a_layer():
    tops = {p.stem if p.is_file() else p.name for p in PACKAGE.iterdir()}
    tops = {t for t in tops if not t.startswith(("_", ".")) or t in ("__main__",)}
    missing = sorted(t for t in tops if t not in LAYERS and t != "__init__" and t != "py")
    assert not missing, f"give these modules a layer in LAYERS: {missing}"


def test_no_module_imports_from_a_step_above_it():
    upward = [
        f"{name} (layer {layer(name)}) imports {target} (layer {layer(target)})"
        for name, targets in graph().items()
        for target in targets
        if name != "crossreg" and layer(target) > layer(name)
    ]
    assert not upward, "\n".join(sorted(upward))


def test_the_import_graph_has_no_cycle():
    edges = graph()
    state: dict[str, int] = {}
    cycles: list[list[str]] = []

    def visit(node: str, stack: list[str]) -> None:
        state[node] = 1
        for nxt in sorted(edges.get(node, ())):
            if state.get(nxt) == 1:
                cycles.append([*stack[stack.index(nxt) :], nxt])
            elif nxt not in state:
                visit(nxt, [*stack, nxt])
        state[node] = 2

    for node in sorted(edges):
        if node not in state:
            visit(node, [node])
    assert not cycles, "\n".join(" -> ".join(c) for c in cycles)


def test_the_checker_sees_imports_inside_functions(tmp_path):
    source = tmp_path / "x.py"
    source.write_text("def f():\n    from crossreg.train.trainer import train\n")
    modules = {"crossreg.train.trainer"}
    assert imports_of(source, "crossreg.data.x", modules) == {"crossreg.train.trainer"}
