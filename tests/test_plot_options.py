"""Every public step function that draws refuses ``plots=False, svg=True`` before any
work, as the command line refuses ``--no-plots --svg``: found by scanning the package, so
that a new one cannot be missed."""

from __future__ import annotations

import ast
import importlib
import inspect
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from crossreg.cli import build_parser
from crossreg.plots import check_plot_options

PACKAGE = Path(__file__).resolve().parents[1] / "python" / "crossreg"


def _drawing_functions() -> list[str]:
    """``module:function`` of each public module-level function of the package with both
    a ``plots`` and an ``svg`` parameter."""
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE).with_suffix("").parts
        if any(p.startswith("_") and p != "__init__" for p in parts):
            continue
        module = ".".join(["crossreg", *(p for p in parts if p != "__init__")])
        for node in ast.parse(path.read_text()).body:
            if isinstance(node, ast.FunctionDef) and not node.name.startswith("_"):
                a = node.args
                names = {x.arg for x in [*a.posonlyargs, *a.args, *a.kwonlyargs]}
                if {"plots", "svg"} <= names:
                    found.append(f"{module}:{node.name}")
    return found


DRAWING = _drawing_functions()


class Untouchable:
    """An argument that fails the test wherever a function uses it."""

    def __getattr__(self, name: str) -> Any:
        raise AssertionError(f"an argument was used ({name}) before plots and svg were checked")

    def __fspath__(self) -> str:
        raise AssertionError("a path argument was used before plots and svg were checked")

    def __iter__(self) -> Any:
        raise AssertionError("an argument was iterated before plots and svg were checked")

    def __bool__(self) -> bool:
        raise AssertionError("an argument was tested before plots and svg were checked")


def test_the_scan_finds_the_steps_that_draw():
    names = {d.split(":")[1] for d in DRAWING}
    assert {
        "evaluate_model",
        "write_comparison",
        "write_transfer",
        "write_denovo",
        "write_sldp",
        "write_sad",
        "write_ism",
        "train",
        "finetune",
    } <= names


@pytest.mark.parametrize("where", DRAWING)
def test_svg_without_plots_is_refused_before_any_work(where: str, tmp_path, monkeypatch):
    module, name = where.split(":")
    function: Callable[..., Any] = getattr(importlib.import_module(module), name)
    arguments: dict[str, Any] = {}
    positional: list[Any] = []
    for p in inspect.signature(function).parameters.values():
        if p.name in ("plots", "svg") or p.default is not inspect.Parameter.empty:
            continue
        if p.kind is p.POSITIONAL_ONLY:
            positional.append(Untouchable())
        else:
            arguments[p.name] = Untouchable()
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ValueError, match=r"svg=True .* but plots=False draws none"):
        function(*positional, **arguments, plots=False, svg=True)
    assert not list(tmp_path.iterdir())


def test_the_check_passes_every_other_combination():
    for plots, svg in ((True, True), (True, False), (False, False)):
        check_plot_options(plots, svg)


def test_the_command_line_refuses_the_pair_as_well(capsys):
    with pytest.raises(SystemExit):
        build_parser().parse_args(["compare", "--no-plots", "--svg"])
    assert "not allowed with argument" in capsys.readouterr().err
