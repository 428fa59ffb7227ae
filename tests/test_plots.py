"""plots.save_figure: users' names and descriptions are drawn literally; figure_intact: a
figure cut short is told from a whole one."""

from __future__ import annotations

import matplotlib as mpl
import pytest
from matplotlib.text import Text

from crossreg.plots import figure_intact, new_figure, save_figure

UNBALANCED = "DNASE:liver $a_{$"
FORMULA = "CAGE:$x^2$ cells"


def test_dollar_signs_in_labels_neither_fail_nor_become_formulas(tmp_path):
    fig = new_figure()
    ax = fig.subplots()
    ax.plot([0, 1, 2], [1, 2, 3], label=UNBALANCED)
    ax.set_ylabel(UNBALANCED)
    ax.set_title(FORMULA)
    ax.set_xticks([0, 1, 2], [UNBALANCED, FORMULA, "plain"])  # tick labels are made at draw
    ax.legend()
    written = save_figure(fig, tmp_path / "f.png", svg=True)
    assert [p.name for p in written] == ["f.png", "f.svg"]
    assert all(p.stat().st_size > 0 for p in written)
    texts = [t for t in fig.findobj(Text) if t.get_text()]
    assert {UNBALANCED, FORMULA} <= {t.get_text() for t in texts}
    assert not any(t.get_parse_math() for t in texts)
    assert mpl.rcParams["text.parse_math"]  # the user's setting is left as it was


@pytest.mark.parametrize("kind", ["png", "svg"])
def test_a_figure_cut_short_or_emptied_is_not_intact(tmp_path, kind):
    fig = new_figure()
    fig.subplots().plot([0, 1, 2], [1, 0, 2])
    path = save_figure(fig, tmp_path / "f.png", svg=True)[["png", "svg"].index(kind)]
    whole = path.read_bytes()
    assert figure_intact(path)
    cuts = {
        "emptied": b"",
        "its last byte cut": whole.rstrip()[:-1],
        "half": whole[: len(whole) // 2],
    }
    for why, cut in cuts.items():
        path.write_bytes(cut)
        assert not figure_intact(path), why
    path.write_bytes(whole + b"\n")  # a trailing newline: an SVG stays whole, a PNG does not
    assert figure_intact(path) == (kind == "svg")
    path.unlink()
    assert not figure_intact(path)
    path.mkdir()
    assert not figure_intact(path)


def test_a_file_not_a_figure_is_intact_when_it_is_a_file(tmp_path):
    table = tmp_path / "top_variants.tsv"
    assert not figure_intact(table)
    table.write_text("")
    assert figure_intact(table)
