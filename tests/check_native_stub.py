"""Check python/crossreg/_native.pyi against the built extension, so the stub cannot drift.

Every public function and class of ``crossreg._native`` must be in the stub and every one in
the stub must exist; a function's (or method's) parameters, in order, with their kind
(positional-only, keyword-only, ...) and whether they have a default, must match the
runtime signature, which PyO3 provides as ``__text_signature__``; a class's constructor,
methods and properties must match likewise. Run it as ``python tests/check_native_stub.py``
(``make lint`` does): it lists each discrepancy and exits 1, or prints one line and exits 0.
"""

from __future__ import annotations

import ast
import importlib
import inspect
import sys
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

STUB = Path(__file__).resolve().parents[1] / "python" / "crossreg" / "_native.pyi"

#: A parameter as compared: name, kind, has a default.
Param = tuple[str, str, bool]

_KINDS = {
    inspect.Parameter.POSITIONAL_ONLY: "positional-only",
    inspect.Parameter.POSITIONAL_OR_KEYWORD: "positional or keyword",
    inspect.Parameter.VAR_POSITIONAL: "*args",
    inspect.Parameter.KEYWORD_ONLY: "keyword-only",
    inspect.Parameter.VAR_KEYWORD: "**kwargs",
}


def _stub_params(func: ast.FunctionDef) -> list[Param]:
    """The parameters a stub function declares."""
    args = func.args
    positional = [*args.posonlyargs, *args.args]
    first_default = len(positional) - len(args.defaults)
    params: list[Param] = []
    for i, arg in enumerate(positional):
        kind = "positional-only" if i < len(args.posonlyargs) else "positional or keyword"
        params.append((arg.arg, kind, i >= first_default))
    if args.vararg is not None:
        params.append((args.vararg.arg, "*args", False))
    for arg, default in zip(args.kwonlyargs, args.kw_defaults, strict=True):
        params.append((arg.arg, "keyword-only", default is not None))
    if args.kwarg is not None:
        params.append((args.kwarg.arg, "**kwargs", False))
    return params


def _runtime_params(
    obj: Callable[..., object], what: str, problems: list[str]
) -> list[Param] | None:
    """The parameters of a native callable, from its text signature; None (and a problem
    reported) when it has none."""
    try:
        signature = inspect.signature(obj)
    except (ValueError, TypeError):
        problems.append(
            f"{what}: the extension gives no text signature; add #[pyo3(signature = (...))] "
            "to its Rust definition"
        )
        return None
    return [
        (p.name, _KINDS[p.kind], p.default is not inspect.Parameter.empty)
        for p in signature.parameters.values()
    ]


def _show(params: list[Param]) -> str:
    parts = []
    for name, kind, default in params:
        text = {"*args": f"*{name}", "**kwargs": f"**{name}"}.get(kind, name)
        if kind == "keyword-only":
            text = f"*, {text}"
        elif kind == "positional-only":
            text = f"{text}, /"
        parts.append(text + ("=..." if default else ""))
    return "(" + ", ".join(parts) + ")"


def _compare(what: str, stub: list[Param], runtime: list[Param] | None, problems: list[str]):
    if runtime is not None and stub != runtime:
        problems.append(f"{what}: the stub says {_show(stub)}, the extension {_show(runtime)}")


def _is_property(func: ast.FunctionDef) -> bool:
    return any(isinstance(d, ast.Name) and d.id == "property" for d in func.decorator_list)


def _public(name: str) -> bool:
    return not name.startswith("_")


def _check_class(name: str, node: ast.ClassDef, cls: type, problems: list[str]) -> None:
    methods = {n.name: n for n in node.body if isinstance(n, ast.FunctionDef)}
    init = methods.pop("__init__", None)
    if init is not None:
        runtime = _runtime_params(cls, f"{name}()", problems)
        _compare(f"{name}()", _stub_params(init)[1:], runtime, problems)
    elif getattr(cls, "__text_signature__", None) not in (None, "()"):
        problems.append(f"{name}: the extension's constructor takes arguments, the stub has none")
    stub_members = {m: f for m, f in methods.items() if _public(m)}
    runtime_members = {m: v for m, v in vars(cls).items() if _public(m)}
    for member in sorted(stub_members.keys() - runtime_members.keys()):
        problems.append(f"{name}.{member}: in the stub but not in the extension")
    for member in sorted(runtime_members.keys() - stub_members.keys()):
        problems.append(f"{name}.{member}: in the extension but not in the stub")
    for member in sorted(stub_members.keys() & runtime_members.keys()):
        func, value = stub_members[member], runtime_members[member]
        what = f"{name}.{member}"
        is_property = inspect.isgetsetdescriptor(value) or isinstance(value, property)
        if _is_property(func) != is_property:
            stub_kind = "a property" if _is_property(func) else "a method"
            runtime_kind = "a property" if is_property else "a method"
            problems.append(f"{what}: {stub_kind} in the stub but {runtime_kind} in the extension")
        elif not is_property:
            runtime = _runtime_params(value, f"{what}()", problems)
            _compare(f"{what}()", _stub_params(func)[1:], runtime and runtime[1:], problems)


def find_discrepancies(
    stub_source: str | None = None, module: ModuleType | None = None
) -> list[str]:
    """Every difference between the stub (its text; the package's ``_native.pyi`` by
    default) and the extension module (``crossreg._native`` by default), one line each."""
    if stub_source is None:
        stub_source = STUB.read_text()
    if module is None:
        module = importlib.import_module("crossreg._native")
    tree = ast.parse(stub_source)
    problems: list[str] = []
    stub: dict[str, ast.FunctionDef | ast.ClassDef | ast.AnnAssign] = {}
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            stub[node.name] = node
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            stub[node.target.id] = node
    public = {n for n in dir(module) if _public(n)}
    for name in sorted(n for n in stub if not hasattr(module, n)):
        problems.append(f"{name}: in the stub but not in the extension")
    for name in sorted(public - stub.keys()):
        problems.append(f"{name}: in the extension but not in the stub")
    for name in sorted(n for n in stub if hasattr(module, n)):
        node, obj = stub[name], getattr(module, name)
        if isinstance(node, ast.ClassDef):
            if not isinstance(obj, type):
                problems.append(f"{name}: a class in the stub but not in the extension")
                continue
            _check_class(name, node, obj, problems)
        elif isinstance(node, ast.FunctionDef):
            if isinstance(obj, type) or not callable(obj):
                problems.append(f"{name}: a function in the stub but not in the extension")
                continue
            runtime_params = _runtime_params(obj, f"{name}()", problems)
            _compare(f"{name}()", _stub_params(node), runtime_params, problems)
        elif callable(obj):
            problems.append(f"{name}: a variable in the stub but callable in the extension")
    return problems


def main() -> int:
    problems = find_discrepancies()
    if problems:
        print(f"{STUB}: the stub disagrees with the built crossreg._native:", file=sys.stderr)
        for problem in problems:
            print(f"  {problem}", file=sys.stderr)
        print("Fix the stub (or the Rust signature), then rebuild (make dev).", file=sys.stderr)
        return 1
    print(f"{STUB.name} matches crossreg._native")
    return 0


if __name__ == "__main__":
    sys.exit(main())
