"""plots.save_figure: users' names and descriptions are drawn literally."""

from __future__ import annotations

import matplotlib as mpl
from matplotlib.text import Text

from crossreg.plots import new_figure, save_figure

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
