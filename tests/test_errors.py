"""How a message names a long list (crossreg.errors.first_few)."""

from __future__ import annotations

from crossreg.errors import first_few


def test_a_short_list_is_named_whole() -> None:
    assert first_few([]) == ""
    assert first_few(["a"]) == "a"
    assert first_few(["a", "b", "c", "d", "e"]) == "a, b, c, d, e"


def test_a_long_list_names_the_first_then_counts_the_rest() -> None:
    names = [f"t{i}" for i in range(8)]
    assert first_few(names) == "t0, t1, t2, t3, t4 and 3 more"
    assert first_few(names, 2) == "t0, t1 and 6 more"
    assert first_few(names, 8) == ", ".join(names)
