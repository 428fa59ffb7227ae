"""``crossreg ism``'s figures give positions as a genome browser does (1-based, inclusive;
a minus-strand site from its last position), and a drawing replaces an earlier one's."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import h5py
import numpy as np
import pytest

from crossreg.variants import ism_figure_files, ism_figures, ism_site_figure, ism_stored_sites
from crossreg.variants.ism_figures import browser_span, plot_ism_file
from crossreg.variants.ism_site_figure import (
    VariantMark,
    importance,
    mutation_matrix,
    position_label,
    site_figure,
)


def write_ism(
    path: Path, labels: list[str], strands: list[str] | None = None, track: str = "T0"
) -> None:
    """A small ISM ``.h5`` of 3-bp sites on chr8 with one track `track` (no ``strand``
    dataset when not given)."""
    n, rng = len(labels), np.random.default_rng(5)
    with h5py.File(path, "w") as h5:
        h5["label"] = np.array(labels, dtype="S")
        h5["chr"] = np.array([b"chr8"] * n)
        h5["start"] = np.full(n, 100)
        h5["end"] = np.full(n, 103)
        if strands is not None:
            h5["strand"] = np.array(strands, dtype="S")
        h5["seqs"] = np.repeat(np.eye(4, dtype=bool)[[2, 0, 3]][None], n, axis=0)
        h5["sum"] = rng.standard_normal((n, 3, 4, 1)).astype(np.float16)
        h5["target_ids"] = np.array([track], dtype="S")


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


def test_position_ticks_are_whole_offsets_at_their_bases_centres():
    # column k spans [k, k + 1]: a tick names one base, never 2.5 or the boundary of two
    width, rng = 20, np.random.default_rng(4)
    seq = np.eye(4)[rng.integers(0, 4, width)]
    scores = rng.standard_normal((width, 4)).astype(np.float32)
    heat = site_figure(scores, seq, title="t", start=32_973).axes[1]
    ticks = heat.get_xticks()
    labels = [label.get_text() for label in heat.get_xticklabels()]
    assert len(ticks) >= 3 and np.all(ticks - 0.5 == np.round(ticks - 0.5))
    assert labels == [str(int(t - 0.5)) for t in ticks]
    assert ticks.min() >= 0 and ticks.max() < width
    assert heat.get_xlabel() == "position (from 32,974)"


def test_a_minus_strand_site_is_labelled_from_its_last_position(tmp_path, monkeypatch):
    write_ism(tmp_path / "ism.h5", ["fwd", "rev"], ["+", "-"])
    drawn: list[dict] = []

    def record(out, scores, seq, **kwargs):
        drawn.append(kwargs)
        return []

    monkeypatch.setattr(ism_figures, "plot_site", record)
    plot_ism_file(tmp_path / "ism.h5", tmp_path / "figures")
    assert [d["strand"] for d in drawn] == ["+", "-"]
    assert "minus strand" in drawn[1]["title"] and "minus" not in drawn[0]["title"]
    assert position_label(100, 3, "-") == "position (from 103, minus strand)"
    assert position_label(100, 3, "+") == "position (from 101)"
    assert position_label(None, 3, "-") == "position"


def test_a_drawing_replaces_the_figures_of_an_earlier_one(tmp_path):
    folder = tmp_path / "figures"
    write_ism(tmp_path / "two.h5", ["a", "b"])
    first = plot_ism_file(tmp_path / "two.h5", folder, svg=True)
    assert len(first) == 4
    (folder / "notes.png").write_bytes(b"not ours")
    (folder / "0007_kept").mkdir()
    write_ism(tmp_path / "one.h5", ["c"])
    second = plot_ism_file(tmp_path / "one.h5", folder)
    assert sorted(p.name for p in folder.iterdir()) == [
        ism_figure_files.MANIFEST,
        "0000_c_T0.png",
        "0007_kept",
        "notes.png",
    ]
    assert second == [folder / "0000_c_T0.png"]
    assert (folder / ism_figure_files.MANIFEST).read_text().splitlines()[1:] == ["0000_c_T0.png"]


def test_a_span_off_the_chromosome_is_drawn_over_its_positions_on_it(tmp_path, monkeypatch):
    """A span running off chr8's start (start -3, its 3 positions off the chromosome NaN)
    or end (its last 4 positions NaN, forward strand) is drawn without those positions:
    never a coordinate below 1 or past the chromosome."""
    width, rng = 8, np.random.default_rng(9)
    sites = [("start", -3, "+", slice(0, 3)), ("minus", -3, "-", slice(5, 8))]
    sites += [("end", 1_000 - 4, "+", slice(4, 8))]
    scores = rng.standard_normal((len(sites), width, 4, 1)).astype(np.float16)
    seqs = np.repeat(np.eye(4, dtype=bool)[rng.integers(0, 4, width)][None], len(sites), axis=0)
    for i, (_, _, _, off) in enumerate(sites):
        scores[i, off], seqs[i, off] = np.nan, False
    with h5py.File(tmp_path / "ism.h5", "w") as h5:
        h5["label"] = np.array([s[0] for s in sites], dtype="S")
        h5["chr"] = np.array([b"chr8"] * len(sites))
        h5["start"] = np.array([s[1] for s in sites])
        h5["end"] = h5["start"][:] + width
        h5["strand"] = np.array([s[2] for s in sites], dtype="S")
        h5["seqs"], h5["sum"], h5["target_ids"] = seqs, scores, np.array([b"T0"])
    drawn: list[tuple] = []

    def record(out, scores, seq, **kwargs):
        drawn.append((scores, seq, kwargs))
        return []

    monkeypatch.setattr(ism_figures, "plot_site", record)
    plot_ism_file(tmp_path / "ism.h5", tmp_path / "figures")
    spans = [kwargs["title"].split()[1] for _, _, kwargs in drawn]
    assert spans == ["chr8:1-5", "chr8:1-5", "chr8:997-1,000"]
    labels = [
        site_figure(scores, seq, title="", start=kwargs["start"], strand=kwargs["strand"])
        .axes[1]
        .get_xlabel()
        for scores, seq, kwargs in drawn
    ]
    assert labels == [
        "position (from 1)",
        "position (from 5, minus strand)",
        "position (from 997)",
    ]
    kept = [slice(3, 8), slice(0, 5), slice(0, 4)]
    for i, ((shown, seq, _), rows) in enumerate(zip(drawn, kept, strict=True)):
        np.testing.assert_array_equal(shown, scores[i, rows, :, 0].astype(np.float32))
        np.testing.assert_array_equal(seq, seqs[i, rows])


def _variant_artists(figure) -> list:
    """The artists of each axes of `figure` that mark the variant (id ``variant``)."""
    return [[a for a in ax.get_children() if a.get_gid() == "variant"] for ax in figure.axes]


def test_a_vcf_site_marks_its_records_columns_and_names_its_alleles(tmp_path):
    """A SNP at VCF POS 102 in the span chr8:101-103 (start 100) is column 1, marked by a
    band behind the logo over [1, 2), named G>A under it, and outlined in the heat map;
    a file without ``pos`` (a BED's, or one written before it was stored) still draws,
    unmarked."""
    path = tmp_path / "vcf.h5"
    write_ism(path, ["rs1"], ["+"])
    with h5py.File(path, "a") as h5:
        h5["pos"] = np.array([102])
        h5["ref_allele"], h5["alt_allele"] = np.array([b"A"]), np.array([b"G"])
    drawn = plot_ism_file(path, tmp_path / "marked", svg=True)
    svg = next(p for p in drawn if p.suffix == ".svg").read_text()
    assert 'id="variant' in svg and "<!-- A&gt;G -->" in svg
    scores = np.random.default_rng(1).standard_normal((3, 4)).astype(np.float32)
    mark = VariantMark(1, 2, "A>G")
    logo, heat, _ = _variant_artists(
        site_figure(scores, np.eye(4)[[2, 0, 3]], title="", variant=mark)
    )
    band, text = logo
    assert text.get_text() == "A>G"
    (outline,) = heat
    assert (band.get_x(), band.get_width()) == (outline.get_x(), outline.get_width()) == (1, 1)
    with h5py.File(path, "a") as h5:
        for name in ("pos", "ref_allele", "alt_allele"):
            del h5[name]
    drawn = plot_ism_file(path, tmp_path / "earlier", svg=True)
    assert len(drawn) == 2 and 'id="variant' not in drawn[1].read_text()


def test_a_mark_keeps_its_base_on_a_span_cut_at_the_chromosome_start():
    """A SNP at POS 2 in a span starting 3 bases off chr8 (column 4 of 8): the figure,
    drawn from the chromosome's first base, marks column 1; a breakend at POS 0 (the base
    off the chromosome, column 2) is marked nowhere."""
    width, rng = 8, np.random.default_rng(2)
    scores = rng.standard_normal((width, 4, 1)).astype(np.float32)
    seq = np.eye(4, dtype=np.float32)[rng.integers(0, 4, width)]
    scores[:3], seq[:3] = np.nan, 0
    site = ism_stored_sites.StoredSite(0, "rs2", "chr8", -3, "+", ["T0"], "sum", scores, seq)
    for pos, drawn in [(2, [(1, 1)]), (0, [])]:
        mark = ism_stored_sites.variant_marks(
            {
                "pos": np.array([pos]),
                "ref_allele": np.array([b"C"]),
                "alt_allele": np.array([b"T"]),
            },
            np.array([-3]),
        )[0]
        cut = ism_stored_sites.on_chromosome(dataclasses.replace(site, variant=mark))
        assert cut.start == 0 and len(cut.seq) == 5
        logo, heat, _ = _variant_artists(
            site_figure(cut.scores[..., 0], cut.seq, title="", variant=cut.variant)
        )
        assert [(a.get_x(), a.get_width()) for a in heat] == drawn
        assert [a.get_text() for a in logo if hasattr(a, "get_text")] == ["C>T"] * len(drawn)


def _drawn_titles(monkeypatch) -> list[str]:
    """The logo titles of the figures drawn, read from their matplotlib text objects (the
    figures are not saved)."""
    titles: list[str] = []

    def keep(fig, out, svg=False):
        titles.append(fig.axes[0].title.get_text())
        return []

    monkeypatch.setattr(ism_site_figure, "save_figure", keep)
    return titles


@pytest.mark.parametrize(
    ("recorded", "first_line"),
    [
        ({"genome": "mouse", "variants_genome": "human", "sites_from": "vcf"},
         "human variants, mouse head"),
        ({"genome": "mouse", "variants_genome": "human", "sites_from": "bed"},
         "human regions, mouse head"),
        ({"genome": "mouse", "sites_from": "vcf"}, "variants on hg38.fa, mouse head"),
        ({"genome": "human", "sites_from": "bed"}, "regions on hg38.fa, human head"),
    ],
)  # fmt: skip
def test_titles_say_whose_sites_which_head_scored(tmp_path, monkeypatch, recorded, first_line):
    # before: the title named the site, its span and track only, not the head or genome
    path = tmp_path / "ism.h5"
    write_ism(path, ["v0"])
    with h5py.File(path, "a") as h5:
        h5.attrs.update({"fasta": "/data/hg38.fa", **recorded})
    titles = _drawn_titles(monkeypatch)
    plot_ism_file(path, tmp_path / "figures")
    assert titles == [f"{first_line}\nv0  chr8:101-103  track T0"]


def test_a_file_that_records_neither_head_nor_fasta_draws_the_site_alone(tmp_path, monkeypatch):
    path = tmp_path / "ism.h5"
    write_ism(path, ["v0"])  # as Basenji's scores.h5, or a crossreg's before the titles
    titles = _drawn_titles(monkeypatch)
    assert len(plot_ism_file(path, tmp_path / "figures")) == 0  # nothing saved: kept above
    assert titles == ["v0  chr8:101-103  track T0"]


def test_mutation_matrix_and_importance_exact_on_a_tiny_span():
    # mean-removed scores at A, G and N: each mutant minus the reference base's score,
    # NaN (drawn blank) at the reference base, N shown as scored; importance is minus
    # the 3 mutations' mean effect, 0 at N
    seq = np.array([[1, 0, 0, 0], [0, 0, 1, 0], [0, 0, 0, 0]], dtype=np.uint8)
    scores = np.array(
        [[-3.0, 1.0, 1.0, 1.0], [0.5, 0.5, -1.5, 0.5], [0.25, -0.125, 0.0, -0.125]],
        dtype=np.float16,
    )
    want = [
        [np.nan, 2.0, 0.25],
        [4.0, 2.0, -0.125],
        [4.0, np.nan, 0.0],
        [4.0, 2.0, -0.125],
    ]
    np.testing.assert_array_equal(mutation_matrix(scores, seq), np.array(want, np.float32))
    np.testing.assert_allclose(importance(scores, seq), [-4.0, -2.0, 0.0], rtol=1e-6)
