"""``crossreg ism``'s figures give positions as a genome browser does: 1-based, inclusive."""

from __future__ import annotations

import h5py
import numpy as np

from crossreg.variants import ism_figures
from crossreg.variants.ism_figures import browser_span, plot_ism_file, site_figure


def test_titles_and_axes_are_one_based(tmp_path, monkeypatch):
    start, width = 11_561_679, 3  # 0-based start of the span around VCF POS 11,561,680
    path = tmp_path / "ism.h5"
    rng = np.random.default_rng(3)
    with h5py.File(path, "w") as h5:
        h5["label"] = np.array([b"v0"])
        h5["chr"] = np.array([b"chr8"])
        h5["start"] = np.array([start])
        h5["end"] = np.array([start + width])
        h5["seqs"] = np.eye(4, dtype=bool)[[2, 0, 3]][None]
        h5["sum"] = rng.standard_normal((1, width, 4, 2)).astype(np.float16)
        h5["target_ids"] = np.array([b"T0", b"T1"])
    drawn: list[dict] = []

    def record(out, scores, seq, **kwargs):
        drawn.append(kwargs)
        return []

    monkeypatch.setattr(ism_figures, "plot_site", record)
    plot_ism_file(path, tmp_path / "figures")
    (shown,) = drawn
    assert "chr8:11,561,680-11,561,682" in shown["title"]
    assert browser_span("chr8", start, width) == "chr8:11,561,680-11,561,682"
    scores = rng.standard_normal((width, 4)).astype(np.float32)
    figure = site_figure(scores, np.eye(4)[[2, 0, 3]], title=shown["title"], start=start)
    assert figure.axes[1].get_xlabel() == "position (from 11,561,680)"
