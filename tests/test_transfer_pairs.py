"""Cross-species transfer with a pairs file (``crossreg transfer --pairs``): the matched
head track × measured track cells named by track identifiers instead of equal cell
types, the checks of the file, and what equal cell types find on the paper's tables."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from crossreg.evaluate import transfer_figures
from crossreg.evaluate.transfer_figures import matrix_figure, wide
from crossreg.evaluate.transfer_stats import assay_summary, transfer_tables
from crossreg.evaluate.transfer_tracks import (
    EQUAL_CELL_TYPES,
    MATRIX_SCHEMA,
    Pairing,
    cell_type_of,
    cell_type_pairing_notes,
    experiment_of,
    read_pairs,
)
from crossreg.io.targets_read import read_targets

TABLES = Path(__file__).parent / "data" / "basenji_targets"

# a head (mouse) and a genome (human) that name the same tissues differently
HEAD = {
    "mm_liver": "CAGE:liver, adult pregnant day01",
    "mm_kidney": "CAGE:kidney, adult",
    "mm_brain": "CAGE:brain, adult",
    "mm_dnase": "DNASE:liver",
}
MEASURED = {
    "hs_liver": "CAGE:liver, adult, pool1",
    "hs_kidney": "CAGE:kidney, adult, pool1",
    "hs_brain": "CAGE:brain, adult",
    "hs_dnase": "DNASE:liver",
}


def _pairs_file(tmp_path: Path, *lines: str) -> Path:
    path = tmp_path / "pairs.tsv"
    path.write_text("".join(f"{line}\n" for line in lines))
    return path


def _read(path: Path) -> frozenset[tuple[str, str]]:
    return read_pairs(path, HEAD, MEASURED, head_source="the head", measured_source="data/hs")


def _values(seed: int) -> tuple[np.ndarray, np.ndarray]:
    """``(sites, tracks)`` counts of the measured and the head tracks (CAGE only)."""
    rng = np.random.default_rng(seed)
    return np.expm1(rng.normal(3.0, 1.0, size=(12, 3))), np.expm1(rng.normal(3.0, 1.0, (12, 3)))


def _tables(pairing: Pairing):
    measured, predicted = _values(0)
    cage = slice(0, 3)
    return transfer_tables(
        measured,
        predicted,
        list(MEASURED)[cage],
        list(MEASURED.values())[cage],
        list(HEAD)[cage],
        list(HEAD.values())[cage],
        pairing=pairing,
    )


def test_a_pairs_file_sets_the_matched_cells_exactly(tmp_path):
    path = _pairs_file(
        tmp_path,
        "# liver and kidney, curated by hand; mm_liver also against the human kidney",
        "head_track\tmeasured_track",
        "",
        "mm_liver\ths_liver",
        "mm_kidney\ths_kidney",
        "mm_liver\ths_kidney",
        "mm_liver\ths_liver",
    )
    pairs = _read(path)
    assert pairs == {
        ("mm_liver", "hs_liver"),
        ("mm_kidney", "hs_kidney"),
        ("mm_liver", "hs_kidney"),
    }
    by_cell_type = _tables(EQUAL_CELL_TYPES)
    by_file = _tables(Pairing(pairs, str(path)))
    # equal cell types match brain only; the file matches its three pairs and not brain
    assert set(by_cell_type.pairs.select("head_identifier", "identifier").rows()) == {
        ("mm_brain", "hs_brain")
    }
    matched = by_file.matrix.filter(pl.col("matched")).select("head_identifier", "identifier")
    assert set(matched.rows()) == pairs and by_file.matrix.height == 9
    assert set(by_file.pairs.select("head_identifier", "identifier").rows()) == pairs
    # R: a plain numpy computation of the same numbers
    measured, predicted = _values(0)
    m_log, h_log = np.log1p(measured), np.log1p(predicted)
    m_norm = m_log - m_log.mean(axis=1, keepdims=True)
    h_norm = h_log - h_log.mean(axis=1, keepdims=True)
    m_at, h_at = {k: i for i, k in enumerate(MEASURED)}, {k: j for j, k in enumerate(HEAD)}
    for row in by_file.matrix.iter_rows(named=True):
        j, i = h_at[row["head_identifier"]], m_at[row["identifier"]]
        expected = np.corrcoef(h_norm[:, j], m_norm[:, i])[0, 1]
        assert row["pearson_r_normalised"] == pytest.approx(expected, abs=1e-12)
    for row in by_file.pairs.iter_rows(named=True):
        j, i = h_at[row["head_identifier"]], m_at[row["identifier"]]
        assert row["pearson_r"] == pytest.approx(np.corrcoef(h_log[:, j], m_log[:, i])[0, 1])
        assert row["cell_type"] == cell_type_of(MEASURED[row["identifier"]])
    summary = assay_summary(by_file)["CAGE"]
    unmatched = by_file.matrix.filter(~pl.col("matched"))["pearson_r_normalised"].to_numpy()
    assert summary["pairs"] == 3
    assert summary["normalised_r_unmatched"] == round(float(unmatched.mean()), 4)
    assert by_file.notes == {}


def test_the_normalised_r_gap_names_the_pairs_file(tmp_path):
    # only the DNASE pair is named: no CAGE cell is matched
    pairs = _read(_pairs_file(tmp_path, "head_track\tmeasured_track", "mm_dnase\ths_dnase"))
    tables = _tables(Pairing(pairs, "pairs.tsv"))
    assert tables.pairs.height == 0
    assert tables.notes == {"CAGE": "the pairs file names no CAGE pair: no matched pair"}
    assert _tables(EQUAL_CELL_TYPES).notes == {}
    # the heat map's panel says which rule matched its cells
    matrix = wide(_tables(EQUAL_CELL_TYPES).matrix, "CAGE")
    for rule in ("cell type", "pairs file"):
        figure, _ = matrix_figure(matrix, pairing=rule)
        assert figure.axes[1].get_title().endswith(f"(matched by {rule})")


@pytest.mark.parametrize(
    ("lines", "message"),
    [
        (["head\tmeasured", "mm_liver\ths_liver"], ":1: the header must be 'head_track<TAB>"),
        (["head_track\tmeasured_track"], ": no pairs; give the header"),
        (
            ["head_track\tmeasured_track", "mm_liver hs_liver"],
            ":2: a pair is two tab-separated track identifiers (head, measured); found 1",
        ),
        (
            ["head_track\tmeasured_track", "mm_liver\ths_liver\textra"],
            ":2: a pair is two tab-separated track identifiers (head, measured); found 3",
        ),
        (
            ["# a comment", "head_track\tmeasured_track", "mm_livr\ths_liver"],
            ":3: head track 'mm_livr' is not a track identifier of the head; nearest: 'mm_liver'",
        ),
        (
            ["head_track\tmeasured_track", "mm_liver\tENCFF000XYZ"],
            ":2: measured track 'ENCFF000XYZ' is not a track identifier of data/hs; its "
            "identifiers are in the store's targets.txt",
        ),
        (
            ["head_track\tmeasured_track", "hs_liver\tmm_liver"],
            ":2: head track 'hs_liver' is not a track identifier of the head; it is one of the "
            "other side's: the head's track comes first",
        ),
        (
            ["head_track\tmeasured_track", "CAGE:liver, adult pregnant day01\ths_liver"],
            ":2: head track 'CAGE:liver, adult pregnant day01' is not a track identifier of "
            "the head; it is the description of 'mm_liver': give that",
        ),
        (
            ["head_track\tmeasured_track", "mm_liver\ths_liver", "mm_dnase\ths_liver"],
            ":3: head track 'mm_dnase' (DNASE:liver) and measured track 'hs_liver' "
            "(CAGE:liver, adult, pool1) are of different assays (DNASE, CAGE); a pair must "
            "be of one assay",
        ),
    ],
)
def test_a_bad_pairs_file_is_refused_naming_the_file_and_line(tmp_path, lines, message):
    path = _pairs_file(tmp_path, *lines)
    with pytest.raises(ValueError) as error:
        _read(path)
    assert str(error.value).startswith(str(path)) and message in str(error.value)


def _paper_tables():
    mouse = read_targets(TABLES / "targets_mouse.txt", tracks_only=True)
    human = read_targets(TABLES / "targets_human.txt", tracks_only=True)
    return mouse, human


def _matched_by_experiment(pairing: Pairing, head, measured) -> Counter:
    """Matched cells per experiment of every head track × measured track."""
    counts: Counter = Counter()
    for experiment in {experiment_of(d) for d in head.descriptions} - {None}:
        ids, cells = [], []
        for table in (head, measured):
            at = [k for k, d in enumerate(table.descriptions) if experiment_of(d) == experiment]
            ids.append([table.identifiers[k] for k in at])
            cells.append([cell_type_of(table.descriptions[k]) for k in at])
        counts[experiment] = int(pairing.matched(ids[0], cells[0], ids[1], cells[1]).sum())
    return +counts


def test_on_the_paper_tables_equal_cell_types_find_four_cage_pairs_and_a_file_more(tmp_path):
    mouse, human = _paper_tables()
    # the paper matched tissues by hand: equal cell types pair 4 CAGE tracks, no DNase
    assert _matched_by_experiment(EQUAL_CELL_TYPES, mouse, human) == {"CAGE": 4}
    notes = cell_type_pairing_notes(mouse.descriptions, human.descriptions)
    assert notes["CAGE"] == (
        "CAGE: equal cell types pair only 4 of the head's 357 tracks with 4 of the genome's "
        "638; where the genomes name matched tissues differently, give the pairs with "
        "--pairs FILE"
    )
    assert notes["DNASE"].startswith(
        "DNASE: equal cell types pair none of the head's 228 tracks with the genome's 684;"
    )
    # human liver CAGE against a mouse liver CAGE track, and fetal liver DNase, by hand
    head_tracks = dict(zip(mouse.identifiers, mouse.descriptions, strict=True))
    measured_tracks = dict(zip(human.identifiers, human.descriptions, strict=True))
    chosen = {
        "CNhs10466": "CAGE:liver, adult pregnant day01",
        "CNhs10624": "CAGE:liver, adult, pool1",
        "ENCFF395XSI": "DNASE:C57BL/6 liver male embryo (14.5 days)",
        "ENCFF068ZBX": "DNASE:liver embryo (59 days) and embryo (80 days)",
    }
    assert chosen == {i: {**head_tracks, **measured_tracks}[i] for i in chosen}
    path = _pairs_file(
        tmp_path,
        "head_track\tmeasured_track",
        "# mouse\thuman",
        "CNhs10466\tCNhs10624",
        "ENCFF395XSI\tENCFF068ZBX",
    )
    pairs = read_pairs(path, head_tracks, measured_tracks)
    assert pairs == {("CNhs10466", "CNhs10624"), ("ENCFF395XSI", "ENCFF068ZBX")}
    file_pairing = Pairing(pairs, str(path))
    assert _matched_by_experiment(file_pairing, mouse, human) == {"CAGE": 1, "DNASE": 1}


def test_a_heat_map_names_its_windows_and_its_count_of_sites(tmp_path):
    """A heat map redrawn from a transfer run's matrix.tsv is titled with the held-out
    windows its sites lie in (from the run's summary.json) and how many sites its R are
    computed over; before, "mouse head on human: CAGE" said neither, so an R from 9 sites
    looked like one from thousands."""
    import json

    from crossreg.evaluate.transfer_figures import plot_matrix_file

    cells = [
        ("CAGE", "CAGE", f"m{i}", f"CAGE:{a}", f"h{j}", f"CAGE:{b}", a == b, 0.1 * (i - j), 9)
        for i, a in enumerate(["liver", "kidney", "brain"])
        for j, b in enumerate(["liver", "kidney", "brain"])
    ]
    # the accessibility class, DNase and ATAC tracks together
    cells += [
        ("DNASE", "DNASE", f"m{i}", a, f"h{j}", b, i == j, 0.1 * (i - j), 40)
        for i, a in enumerate(["DNASE:liver", "ATAC:kidney"])
        for j, b in enumerate(["DNASE:liver", "ATAC:kidney"])
    ]
    names = list(MATRIX_SCHEMA)
    frame = pl.DataFrame(cells, schema=MATRIX_SCHEMA, orient="row").select(names)
    frame.write_csv(tmp_path / "matrix.tsv", separator="\t")
    summary = {"head": "mouse", "store_genome": "human", "pairing": "cell type"}
    (tmp_path / "summary.json").write_text(json.dumps({**summary, "splits": ["valid", "test"]}))
    titles: list[str] = []
    draw = transfer_figures.matrix_figure

    def recording(matrix, **kwargs):
        fig, drawn = draw(matrix, **kwargs)
        titles.append(fig.axes[0].get_title())
        return fig, drawn

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(transfer_figures, "matrix_figure", recording)
        plot_matrix_file(tmp_path / "matrix.tsv", tmp_path)
    assert sorted(titles) == [
        "mouse head on human (valid + test windows): CAGE, 9 sites",
        "mouse head on human (valid + test windows): DNASE/ATAC, 40 sites",
    ]


@pytest.mark.parametrize(
    ("recorded", "label"),
    [
        ({"normalize": "quantile"}, "R of log(1 + x), quantile- and mean-normalised"),
        ({"normalize": "mean"}, "R of log(1 + x), mean-normalised"),
        ({}, "R of log(1 + x), mean-normalised"),  # a run from before --normalize
    ],
)
def test_the_colour_bar_says_how_the_r_was_normalised(tmp_path, recorded, label):
    """Before: 'R, mean-normalised' whatever --normalize was, under a title that said
    quantile-normalised."""
    import json

    from crossreg.evaluate.transfer_figures import plot_matrix_file

    cells = [
        ("CAGE", "CAGE", f"m{i}", f"CAGE:{a}", f"h{j}", f"CAGE:{b}", a == b, 0.1 * (i - j), 9)
        for i, a in enumerate(["liver", "kidney", "brain"])
        for j, b in enumerate(["liver", "kidney", "brain"])
    ]
    frame = pl.DataFrame(cells, schema=MATRIX_SCHEMA, orient="row").select(list(MATRIX_SCHEMA))
    frame.write_csv(tmp_path / "matrix.tsv", separator="\t")
    summary = {"head": "mouse", "store_genome": "human", "pairing": "cell type", **recorded}
    (tmp_path / "summary.json").write_text(json.dumps(summary))
    labels: list[str] = []
    draw = transfer_figures.matrix_figure

    def recording(matrix, **kwargs):
        fig, drawn = draw(matrix, **kwargs)
        labels.append(fig.axes[-1].get_ylabel())  # the colour bar's axes come last
        return fig, drawn

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(transfer_figures, "matrix_figure", recording)
        plot_matrix_file(tmp_path / "matrix.tsv", tmp_path)
        plot_matrix_file(tmp_path / "matrix.tsv", tmp_path, title="", pairing="cell type")
    assert labels == [label, label]
    summary["normalize"] = "median"
    (tmp_path / "summary.json").write_text(json.dumps(summary))
    with pytest.raises(ValueError, match="its normalize is not one of mean, quantile"):
        plot_matrix_file(tmp_path / "matrix.tsv", tmp_path)


def test_a_pair_matches_its_head_track_with_its_measured_track_only():
    # the head and the store often share identifiers (a head trained on the same
    # targets): the pair (A, B) is head A with measured B, not head B with measured A
    pairing = Pairing(frozenset({("A", "B")}), "pairs.tsv")
    cells = ["liver", "heart", "brain"]
    got = pairing.matched(["A", "B", "C"], cells, ["A", "B", "C"], cells)
    want = np.zeros((3, 3), dtype=bool)
    want[0, 1] = True
    np.testing.assert_array_equal(got, want)
