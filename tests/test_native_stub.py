"""The type stub python/crossreg/_native.pyi agrees with the built extension
(tests/check_native_stub.py, which ``make lint`` runs too), and the checker finds drift."""

from __future__ import annotations

import types

from tests.check_native_stub import find_discrepancies


def test_stub_matches_the_built_extension():
    assert find_discrepancies() == []


class _NoSignature:
    """A callable whose signature cannot be read, as a native function without one."""

    __signature__ = "none"

    def __call__(self) -> None: ...


def _module() -> types.ModuleType:
    module = types.ModuleType("fake_native")
    module.__dict__.update(
        f=lambda a, b=1: None,
        g=lambda a: None,
        only_runtime=lambda: None,
        opaque=_NoSignature(),
        K=type("K", (), {"m": lambda self, x: None, "p": property(lambda self: 1)}),
    )
    return module


def test_checker_reports_each_discrepancy():
    stub = """
__version__: str
def f(a, b): ...
def g(a, *, c=None): ...
def opaque(): ...
def only_stub(x): ...
class K:
    def m(self, y): ...
    def p(self): ...
    def q(self): ...
"""
    problems = find_discrepancies(stub, _module())
    assert "__version__: in the stub but not in the extension" in problems
    assert "only_stub: in the stub but not in the extension" in problems
    assert "only_runtime: in the extension but not in the stub" in problems
    assert "f(): the stub says (a, b), the extension (a, b=...)" in problems
    assert "g(): the stub says (a, *, c=...), the extension (a)" in problems
    assert any(p.startswith("opaque(): the extension gives no text signature") for p in problems)
    assert "K.m(): the stub says (y), the extension (x)" in problems
    assert "K.p: a method in the stub but a property in the extension" in problems
    assert "K.q: in the stub but not in the extension" in problems
    assert len(problems) == 9, problems


def test_checker_accepts_a_matching_stub():
    stub = """
def f(a, b=0): ...
def g(a): ...
def only_runtime(): ...
def opaque(): ...
class K:
    def m(self, x): ...
    @property
    def p(self) -> int: ...
"""
    problems = find_discrepancies(stub, _module())
    assert problems == [
        "opaque(): the extension gives no text signature; add #[pyo3(signature = (...))] to "
        "its Rust definition"
    ]
