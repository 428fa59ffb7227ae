"""Cross-species transfer (Figure 3): held-out sites, pairing, normalisation, the matrix,
the variable accessibility sites, the heat maps and the command."""

from __future__ import annotations

import itertools
import json
import math
import shutil
from collections import Counter
from pathlib import Path

import numpy as np
import numpy.typing as npt
import polars as pl
import pytest
import torch

from crossreg.cli import build_parser, main
from crossreg.data.device_batches import codes_to_one_hot
from crossreg.data.store import DataStore
from crossreg.evaluate.transfer_figures import (
    drawn_as,
    matrix_figure,
    plot_matrix,
    plot_matrix_file,
    read_matrix,
    wide,
)
from crossreg.evaluate.transfer_plan import plan_transfer
from crossreg.evaluate.transfer_sites import (
    VARIABLE_SITES,
    Site,
    gene_sites,
    measured_at,
    predict_at,
    variable_sites,
)
from crossreg.evaluate.transfer_stats import (
    assay_summary,
    quantile_normalise,
    summary_line,
    transfer_tables,
)
from crossreg.evaluate.transfer_tracks import (
    cell_type_of,
    experiment_of,
    is_accessibility,
    normalised_r_gap,
)
from crossreg.io.bed import Interval
from crossreg.io.gtf import GtfRecord, gene_tss, read_gtf
from crossreg.io.targets_read import read_targets
from crossreg.model.checkpoint import make_config, save_checkpoint
from crossreg.model.geometry import crop_to_targets
from crossreg.model.inference import InferenceOptions
from crossreg.model.params import parse_params
from crossreg.model.seqnn import SeqNN
from crossreg.runlog import RUNS_FILE
from tests.pipeline import small_params

CELLS = ["liver", "kidney", "blood", "brain"]


def _record(
    feature: str, start: int, end: int, strand: str, gene: str, chrom: str = "chr1"
) -> GtfRecord:
    return GtfRecord(chrom, "t", feature, start, end, ".", strand, ".", {"gene_id": gene})


def test_gene_tss_is_strand_aware():
    records = [
        _record("gene", 100, 500, "+", "A"),
        _record("transcript", 100, 500, "+", "A"),
        _record("transcript", 150, 500, "+", "A"),
        _record("transcript", 1000, 2000, "-", "B"),
        _record("gene", 3000, 4000, "-", "C"),  # no transcript record: the gene's end
    ]
    assert gene_tss(records) == {
        "A": [("chr1", 100), ("chr1", 150)],
        "B": [("chr1", 1999)],
        "C": [("chr1", 3999)],
    }


def test_experiments_group_accessibility_and_split_chip_by_target():
    assert experiment_of("CAGE:liver") == "CAGE"
    assert experiment_of("DNASE:liver") == experiment_of("ATAC:muscle") == "DNASE"
    assert experiment_of("CHIP:H3K27ac:liver") == "CHIP:H3K27ac"
    assert experiment_of("liver") is None


TABLES = Path(__file__).parent / "data" / "basenji_targets"


def test_the_paper_tables_cell_types_keep_their_colons():
    # 251 human CAGE cell types hold a colon; splitting at the last one made ~150 CAGE
    # "experiments" that never paired with the other genome's CAGE tracks
    for name, counts in (("human", {"CAGE": 638, "DNASE": 684}), ("mouse", {"CAGE": 357})):
        table = read_targets(TABLES / f"targets_{name}.txt")
        experiments = Counter(map(experiment_of, table.descriptions))
        for experiment, count in counts.items():
            assert experiments[experiment] == count, (name, experiment)
        assert all(e is not None and not e.startswith("CAGE:") for e in experiments)
    thp1 = "CAGE:acute myeloid leukemia (FAB M5) cell line:THP-1 (fresh)"
    assert cell_type_of(thp1) == "acute myeloid leukemia (FAB M5) cell line:THP-1 (fresh)"
    bmal1 = "CHIP:BMAL1:BMAL1_DMSO_ChIPSeq / U2OS cells stably expressing Bmal1:Luc"
    assert experiment_of(bmal1) == "CHIP:BMAL1"
    assert cell_type_of(bmal1) == "BMAL1_DMSO_ChIPSeq / U2OS cells stably expressing Bmal1:Luc"


def _planted(genes_per_cell: int = 10, seed: int = 0):
    """Each gene expressed in one cell type (balanced): the tissue pattern, on top of a
    gene level the head does not see; the head's tracks in another order."""
    rng = np.random.default_rng(seed)
    k = len(CELLS)
    specific = np.repeat(np.eye(k), genes_per_cell, axis=0) * 3.0  # (genes, cell types)
    level = rng.normal(scale=2.0, size=(specific.shape[0], 1))
    measured = np.expm1(specific + level + 10.0)  # all positive
    order = [2, 0, 3, 1]
    predicted = np.expm1(np.hstack([specific[:, order] + 1.0, rng.normal(size=(len(level), 1))]))
    return measured, predicted, order


def test_planted_tissue_pattern_gives_exact_diagonal_and_off_diagonal():
    measured, predicted, order = _planted()
    head = [f"CAGE:{CELLS[c]}" for c in order] + ["CHIP:CTCF:liver"]
    tables = transfer_tables(
        measured,
        predicted,
        [f"hs_{c}" for c in CELLS],
        [f"CAGE:{c}" for c in CELLS],
        [f"mm_{i}" for i in range(len(head))],
        head,
    )
    pairs, matrix = tables.pairs, tables.matrix
    assert sorted(pairs["cell_type"]) == sorted(CELLS) and set(pairs["experiment"]) == {"CAGE"}
    assert matrix.height == 16 and matrix["matched"].sum() == 4  # CHIP: not measured
    # mean-normalised, each side is the tissue indicator minus 1/4 (times 3): the matched
    # cells correlate perfectly, the unmatched at -1/(k - 1) for k balanced cell types
    np.testing.assert_allclose(pairs["pearson_r_normalised"].to_numpy(), 1.0, atol=1e-12)
    off = matrix.filter(~pl.col("matched"))["pearson_r_normalised"].to_numpy()
    np.testing.assert_allclose(off, -1 / 3, atol=1e-12)
    # raw R: log(1 + x) of the pair across genes, the gene level included
    for row in pairs.iter_rows(named=True):
        c = CELLS.index(row["cell_type"])
        expected = np.corrcoef(np.log1p(measured[:, c]), np.log1p(predicted[:, order.index(c)]))
        assert row["pearson_r"] == pytest.approx(expected[0, 1], abs=1e-12)
        assert row["pearson_r"] < 0.9
    summary = assay_summary(tables)
    assert summary == {
        "CAGE": {
            "pairs": 4,
            "raw_pairs": 4,
            "normalised_pairs": 4,
            "tss": 40,
            "raw_r": round(float(pairs["pearson_r"].mean()), 4),
            "normalised_r_matched": 1.0,
            "normalised_r_unmatched": -0.3333,
        }
    }


def _quantile_reference(x: npt.NDArray) -> npt.NDArray[np.float64]:
    """Quantile normalisation written plainly: the mean of the sorted columns, and for
    each value the mean of it over the sorted positions that hold an equal value."""
    reference = np.sort(x, axis=0).mean(axis=1)
    out = np.empty(x.shape)
    for j in range(x.shape[1]):
        ordered = np.sort(x[:, j])
        for i in range(x.shape[0]):
            out[i, j] = reference[ordered == x[i, j]].mean()
    return out


def _specificity_reference(
    measured: npt.NDArray, predicted: npt.NDArray, quantile: bool
) -> npt.NDArray[np.float64]:
    """R of every predicted column × every measured column after log(1 + x), (quantile
    normalisation,) and each row minus its mean: ``(predicted, measured)``."""
    sides = []
    for values in (predicted, measured):
        logged = np.log1p(np.asarray(values, dtype=np.float64))
        if quantile:
            logged = _quantile_reference(logged)
        sides.append(logged - logged.mean(axis=1, keepdims=True))
    k = predicted.shape[1]
    return np.corrcoef(sides[0].T, sides[1].T)[:k, k:]


def test_quantile_normalise_gives_the_textbook_answer_ties_sharing_their_mean():
    # Wikipedia's example: the second column's two 4s hold ranks 3 and 4, so both get the
    # mean of the reference there, (14/3 + 17/3) / 2
    a = np.array([[5, 4, 3], [2, 1, 4], [3, 4, 6], [4, 2, 8]], dtype=np.float64)
    expected = np.array([[17 / 3, 31 / 6, 2], [2, 2, 3], [3, 31 / 6, 14 / 3], [14 / 3, 3, 17 / 3]])
    reference = _quantile_reference(a)
    np.testing.assert_allclose(reference, expected, atol=1e-12)
    quantile_normalise(a)
    np.testing.assert_allclose(a, expected, atol=1e-12)
    # counts with many zeros, as CAGE at TSSs: ties in every column
    rng = np.random.default_rng(3)
    counts = rng.poisson(0.8, size=(30, 5)).astype(np.float64)
    expected = _quantile_reference(counts)
    quantile_normalise(counts)
    np.testing.assert_allclose(counts, expected, atol=1e-12)


def test_quantile_normalisation_removes_a_difference_of_spread_alone():
    """Two cell types whose log signal differs only in spread (one twice the other):
    mean-normalising reads the spread as specificity (matched R 1, unmatched -1);
    quantile-normalised, the tracks are equal and have no specificity to correlate."""
    x = np.arange(6, dtype=np.float64)[:, None]
    values = np.expm1(np.hstack([x, 2 * x]))
    ids, descriptions = ["a", "b"], ["CAGE:liver", "CAGE:brain"]
    mean = transfer_tables(values, values, ids, descriptions, ids, descriptions)
    np.testing.assert_allclose(mean.pairs["pearson_r_normalised"].to_numpy(), 1.0, atol=1e-12)
    off = mean.matrix.filter(~pl.col("matched"))["pearson_r_normalised"].to_numpy()
    np.testing.assert_allclose(off, -1.0, atol=1e-12)
    quantile = transfer_tables(
        values, values, ids, descriptions, ids, descriptions, normalize="quantile"
    )
    assert quantile.matrix["pearson_r_normalised"].is_nan().all()
    assert quantile.notes["CAGE"].endswith("equal at every site once mean-normalised")
    # the raw R, of log(1 + x) per pair, is the same either way
    assert quantile.pairs["pearson_r"].to_list() == mean.pairs["pearson_r"].to_list()
    with pytest.raises(ValueError, match="normalize 'median': give one of mean, quantile"):
        transfer_tables(values, values, ids, descriptions, ids, descriptions, normalize="median")


def test_quantile_normalised_matrix_equals_a_plain_reference():
    rng = np.random.default_rng(7)
    cells = ["liver", "kidney", "blood", "brain"]
    descriptions = [f"CAGE:{c}" for c in cells] + [f"DNASE:{c}" for c in cells[:3]]
    depth = np.array([1.0, 4.0, 0.5, 2.0, 1.0, 3.0, 1.0])
    measured = rng.poisson(rng.gamma(0.7, 3.0, size=(40, 1)) * depth).astype(np.float64)
    predicted = measured * rng.gamma(4.0, 0.25, size=measured.shape) + rng.gamma(1.0, 0.5)
    head_ids = [f"mm{i}" for i in range(len(cells) + 3)]
    hs_ids = [f"hs{i}" for i in range(len(cells) + 3)]
    tables = {
        how: transfer_tables(
            measured, predicted, hs_ids, descriptions, head_ids, descriptions, normalize=how
        )
        for how in ("mean", "quantile")
    }
    for how, columns in itertools.product(("mean", "quantile"), ([0, 1, 2, 3], [4, 5, 6])):
        expected = _specificity_reference(
            measured[:, columns], predicted[:, columns], how == "quantile"
        )
        for a, b in itertools.product(range(len(columns)), repeat=2):
            cell = tables[how].matrix.filter(
                (pl.col("head_identifier") == head_ids[columns[a]])
                & (pl.col("identifier") == hs_ids[columns[b]])
            )
            assert cell["pearson_r_normalised"][0] == pytest.approx(expected[a, b], abs=1e-12)
    difference = np.abs(
        tables["quantile"].matrix["pearson_r_normalised"].to_numpy()
        - tables["mean"].matrix["pearson_r_normalised"].to_numpy()
    )
    assert difference.max() > 0.01  # the option changes the numbers
    row = assay_summary(tables["quantile"])["CAGE"]
    assert summary_line(row, "quantile").startswith(
        f"R {row['raw_r']:.3f}, quantile- and mean-normalised matched"
    )


def test_the_tables_hold_about_two_copies_of_the_values_not_nine():
    """At the paper's variable DNase bins (some 340,000 sites x 684 tracks, 1.9 GB a
    float64 array), logging, normalising and standardising every track into copies of its
    own took nine times the measured array; one experiment at a time, in place, takes two
    (its logged measured and predicted columns)."""
    import tracemalloc

    rng = np.random.default_rng(0)
    cells = [f"cell{i}" for i in range(60)]
    descriptions = [f"DNASE:{c}" for c in cells]
    measured = rng.gamma(1.0, 5.0, size=(20_000, len(cells)))
    predicted = measured * rng.gamma(2.0, 0.5, size=measured.shape)
    tracemalloc.start()
    try:
        tables = transfer_tables(measured, predicted, cells, descriptions, cells, descriptions)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 2.5 * measured.nbytes
    # and the numbers are a plain reference's
    logged_m, logged_p = np.log1p(measured), np.log1p(predicted)
    norm_m = logged_m - logged_m.mean(axis=1, keepdims=True)
    norm_p = logged_p - logged_p.mean(axis=1, keepdims=True)
    for row in tables.pairs.iter_rows(named=True):
        i = cells.index(row["identifier"])
        raw = np.corrcoef(logged_p[:, i], logged_m[:, i])[0, 1]
        assert row["pearson_r"] == pytest.approx(raw, abs=1e-12)
        normalised = np.corrcoef(norm_p[:, i], norm_m[:, i])[0, 1]
        assert row["pearson_r_normalised"] == pytest.approx(normalised, abs=1e-12)
    cell = tables.matrix.row(1, named=True)  # head cell0 x measured cell1
    expected = np.corrcoef(norm_p[:, 0], norm_m[:, 1])[0, 1]
    assert cell["pearson_r_normalised"] == pytest.approx(expected, abs=1e-12)


def test_an_assays_normalised_mean_counts_only_the_pairs_that_have_one():
    # before: "pairs 10" beside a normalised mean over the 4 pairs that had one, unsaid
    measured, predicted, order = _planted()
    extra = np.arange(measured.shape[0], dtype=np.float64)[:, None]
    tables = transfer_tables(
        np.hstack([measured, extra]),
        np.hstack([predicted[:, :4], extra]),
        [f"m{i}" for i in range(5)],
        [*(f"CHIP:H3K27ac:{c}" for c in CELLS), "CHIP:CTCF:liver"],
        [f"h{i}" for i in range(5)],
        [*(f"CHIP:H3K27ac:{CELLS[c]}" for c in order), "CHIP:CTCF:liver"],
    )
    row = assay_summary(tables)["CHIP"]
    assert (row["pairs"], row["normalised_pairs"], row["normalised_r_matched"]) == (5, 4, 1.0)
    assert "CHIP:CTCF: the head has one track and" in row["normalised_r_note"]
    assert "(5 pairs, 4 with a normalised R, 40 genes at their TSSs)" in summary_line(row)
    one = {**row, "pairs": 1, "raw_pairs": 1, "normalised_pairs": 1}
    assert "(1 pair, 40 genes at their TSSs)" in summary_line(one)
    del one["tss"]
    assert "(1 pair, 1 variable site)" in summary_line({**one, "sites": 1})


def test_a_pair_without_a_raw_r_is_counted_and_named():
    # before: raw_r averaged the other pairs while "pairs" counted them all, unsaid
    measured, predicted, order = _planted()
    measured[:, 1] = 0.0  # a CAGE track of zeros at every TSS
    tables = transfer_tables(
        measured,
        predicted[:, :4],
        [f"m{i}" for i in range(4)],
        [f"CAGE:{c}" for c in CELLS],
        [f"h{i}" for i in range(4)],
        [f"CAGE:{CELLS[c]}" for c in order],
    )
    row = assay_summary(tables)["CAGE"]
    raw = tables.pairs["pearson_r"].to_numpy()
    assert (row["pairs"], row["raw_pairs"]) == (4, 3)
    assert row["raw_r"] == round(float(np.nanmean(raw)), 4)
    assert row["raw_r_note"].endswith(f"same at every site: CAGE:{CELLS[1]}")
    assert "(4 pairs, 3 with a raw R," in summary_line(row)


def test_two_sites_give_no_raw_r_for_that_reason():
    # before: the note said the values were the same at every site, which they are not
    measured = np.array([[1.0, 5.0, 2.0], [4.0, 2.0, 8.0]])
    predicted = np.array([[3.0, 1.0, 2.0], [2.0, 6.0, 1.0]])
    descriptions = ["CAGE:a", "CAGE:b", "CAGE:c"]
    tables = transfer_tables(
        measured, predicted, ["m1", "m2", "m3"], descriptions, ["h1", "h2", "h3"], descriptions
    )
    row = assay_summary(tables)["CAGE"]
    assert (row["pairs"], row["raw_pairs"]) == (3, 0)
    assert row["raw_r_note"] == "no raw R: 2 sites, and R needs 3"


def test_a_matrix_of_numeric_looking_identifiers_reads_them_as_text(tmp_path):
    # before: polars guessed integers from the first rows: '01' and '1' became one column,
    # and a text identifier after 100 numeric ones stopped transfer with a traceback
    measured_ids = ["01", "1", *[str(i) for i in range(2, 120)], "hs_DNASE_liver"]
    rows = [
        {
            "assay": "CAGE",
            "experiment": "CAGE",
            "head_identifier": "h1",
            "head_description": "CAGE:liver",
            "identifier": identifier,
            "description": f"CAGE:cell{i}",
            "matched": i == 0,
            "pearson_r_normalised": 0.5,
            "n": 10,
        }
        for i, identifier in enumerate(measured_ids)
    ]
    path = tmp_path / "matrix.tsv"
    path.write_text(pl.DataFrame(rows).write_csv(separator="\t"))
    back = read_matrix(path)
    assert back["identifier"].to_list() == measured_ids
    plotted = wide(back, "CAGE")
    assert plotted.columns[:2] == ["01", "1"] and plotted.values.shape == (1, len(measured_ids))
    assert plotted.matched.sum() == 1


def test_an_experiment_with_one_track_has_no_normalised_r_and_says_why():
    measured, predicted, _ = _planted()
    tables = transfer_tables(
        measured[:, :2],
        predicted[:, :2],
        ["a", "b"],
        ["CAGE:liver", "CHIP:CTCF:liver"],
        ["c", "d"],
        ["CAGE:liver", "CHIP:CTCF:liver"],
    )
    assert tables.pairs.height == 2
    assert tables.pairs["pearson_r_normalised"].is_nan().all()
    assert tables.pairs["pearson_r"].is_finite().all()
    why = (
        "the head has one track and the genome has one track: "
        "mean-normalising over a side's tracks leaves 0 at every site, so normalised R "
        "needs two or more cell types on each side"
    )
    assert tables.notes == {"CAGE": why, "CHIP:CTCF": why}
    summary = assay_summary(tables)
    assert summary["CAGE"]["normalised_r_matched"] is None
    assert summary["CAGE"]["normalised_r_note"] == f"CAGE: {why}"
    line = summary_line(summary["CAGE"])
    assert "n/a" not in line and line.endswith(f"normalised R not computable: CAGE: {why}")
    assert "R 0." in line or "R -0." in line or "R 1." in line


def test_experiments_of_one_reason_are_named_together(tmp_path, logs):
    """Eight one-track ChIP experiments give one note and one heat-map warning naming the
    first six, not eight sentences: the paper's tracks hold hundreds of ChIP experiments
    measured in one cell type, and each was a warning and a sentence of the printed line."""
    measured, predicted, order = _planted()
    factors = [f"TF{k}" for k in range(8)]
    one = np.expm1(np.random.default_rng(2).normal(size=(measured.shape[0], len(factors))) + 3)
    tables = transfer_tables(
        np.hstack([measured, one]),
        np.hstack([predicted[:, :4], one[:, ::-1]]),
        [f"m{i}" for i in range(12)],
        [*(f"CHIP:H3K27ac:{c}" for c in CELLS), *(f"CHIP:{f}:liver" for f in factors)],
        [f"h{i}" for i in range(12)],
        [*(f"CHIP:H3K27ac:{CELLS[c]}" for c in order), *(f"CHIP:{f}:liver" for f in factors)],
    )
    why = (
        "the head has one track and the genome has one track: mean-normalising over a "
        "side's tracks leaves 0 at every site, so normalised R needs two or more cell types "
        "on each side"
    )
    named = "CHIP:TF0, CHIP:TF1, CHIP:TF2, CHIP:TF3, CHIP:TF4, CHIP:TF5"
    note = f"{named} and 2 more (NaN in matrix.tsv): {why}"
    assert assay_summary(tables)["CHIP"]["normalised_r_note"] == note
    path = tmp_path / "matrix.tsv"
    path.write_text(tables.matrix.write_csv(separator="\t", float_precision=6))
    drawn = plot_matrix_file(path, tmp_path, pairing="cell type")
    assert [p.name for p in drawn] == ["matrix_CHIP_H3K27ac.png"]
    warnings = [r.getMessage() for r in logs.records if "no heat map" in r.getMessage()]
    assert warnings == [f"no heat map of normalised R for {note}"]


def test_normalised_r_gap_names_each_reason(tmp_path, logs):
    values, cells = np.full((2, 2), np.nan), ["liver", "kidney"]
    matched = np.eye(2, dtype=bool)
    assert normalised_r_gap("CAGE", 2, cells, cells, values, matched) == "2 sites, and R needs 3"
    one = normalised_r_gap("CAGE", 10, cells, ["liver"], values[:, :1], matched[:, :1])
    assert one is not None and one.startswith("the genome has one track: ")
    # two tracks of one cell type on each side: no unmatched pair
    same = np.ones((2, 2), dtype=bool)
    r = np.array([[0.5, 0.4], [0.3, 0.2]])
    assert normalised_r_gap("DNASE", 10, ["liver"] * 2, ["liver"] * 2, r, same) == (
        "every head track has the cell type of every measured track: no unmatched pair"
    )
    assert normalised_r_gap("CAGE", 10, cells, cells, r, matched) is None
    assert normalised_r_gap("CAGE", 10, cells, cells, values, matched) == (
        "the tracks of a side are equal at every site once mean-normalised"
    )
    # the heat maps leave such an experiment out and say why
    tables = transfer_tables(
        np.expm1(np.random.default_rng(0).normal(size=(10, 1)) + 5),
        np.expm1(np.random.default_rng(1).normal(size=(10, 1)) + 5),
        ["a"],
        ["CAGE:liver"],
        ["b"],
        ["CAGE:liver"],
    )
    assert set(tables.notes) == {"CAGE"}
    path = tmp_path / "matrix.tsv"
    path.write_text(tables.matrix.write_csv(separator="\t", float_precision=6))
    assert plot_matrix_file(path, tmp_path, pairing="cell type") == []
    assert f"no heat map of normalised R for CAGE: {tables.notes['CAGE']}" in logs.text


def test_heat_map_draws_the_matrix_read_back_from_matrix_tsv(tmp_path):
    measured, predicted, order = _planted(seed=1)
    noisy = predicted * np.exp(np.random.default_rng(2).normal(scale=0.3, size=predicted.shape))
    head = [f"CAGE:{CELLS[c]}" for c in order] + ["CAGE:lung"]
    tables = transfer_tables(
        measured,
        noisy,
        [f"hs_{c}" for c in CELLS],
        [f"CAGE:{c}" for c in CELLS],
        [f"mm_{c}" for c in head],
        head,
    )
    path = tmp_path / "matrix.tsv"
    path.write_text(tables.matrix.write_csv(separator="\t", float_precision=6))
    back = wide(read_matrix(path), "CAGE")
    computed = wide(tables.matrix, "CAGE")
    assert back.rows == computed.rows and back.columns == computed.columns
    np.testing.assert_allclose(back.values, computed.values, atol=1e-6)
    np.testing.assert_array_equal(back.matched, computed.matched)
    assert computed.values.shape == (5, 4) and computed.matched.sum() == 4
    drawn = plot_matrix(tmp_path / "heat.png", back, title="test", svg=True)
    assert [p.name for p in drawn.paths] == ["heat.png", "heat.svg"]
    assert (tmp_path / "heat.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    # what was drawn: the computed matrix, rows and columns in the clustered order
    r = [computed.rows.index(x) for x in drawn.rows]
    c = [computed.columns.index(x) for x in drawn.columns]
    assert sorted(r) == list(range(5)) and sorted(c) == list(range(4))
    np.testing.assert_allclose(drawn.values, computed.values[np.ix_(r, c)], atol=1e-6)
    np.testing.assert_array_equal(drawn.matched, computed.matched[np.ix_(r, c)])
    # the heat map's image holds those values
    fig, again = matrix_figure(back, title="test")
    image = fig.axes[0].get_images()[0].get_array()
    np.testing.assert_allclose(np.ma.filled(image, np.nan), again.values, atol=1e-6)
    assert plot_matrix_file(path, tmp_path / "figures", pairing="cell type") == [
        tmp_path / "figures" / "matrix_CAGE.png"
    ]
    # without the run's summary.json beside it, the rule that matched its cells is asked for
    with pytest.raises(ValueError, match=r"no summary\.json beside it to say how its cells"):
        plot_matrix_file(path, tmp_path / "figures")
    (tmp_path / "summary.json").write_text('{"head": "mouse", "store_genome": "human"}')
    with pytest.raises(ValueError, match=r"summary\.json: not the summary of a transfer run"):
        plot_matrix_file(path, tmp_path / "figures")
    with pytest.raises(ValueError, match="pairing 'cell types': give 'cell type' or"):
        plot_matrix_file(
            path, tmp_path / "figures", title="", pairing="cell types", normalize="mean"
        )
    # given all three, the summary is not read
    assert plot_matrix_file(
        path, tmp_path / "figures", title="", pairing="cell type", normalize="quantile"
    ) == [tmp_path / "figures" / "matrix_CAGE.png"]


@pytest.fixture(scope="module")
def world(tmp_path_factory, stores):
    root = tmp_path_factory.mktemp("transfer")
    tracks = {g: DataStore(p).num_targets for g, p in stores.items()}
    params = small_params(tracks)
    torch.manual_seed(0)
    model = SeqNN(parse_params(params).model)
    targets = {g: list(DataStore(p).table.targets) for g, p in stores.items()}
    save_checkpoint(root / "model", model, make_config(model, params, targets))
    return root, stores, model


def _human_gtf(stores: dict[str, Path]) -> Path:
    """The human genes of the tiny world the stores were built from."""
    return stores["human"].parent / "synth" / "human" / "genes.gtf"


def _predicted_bins(model, store: DataStore, split: str, rows: list[int], head: str):
    """The head's ``(rows, bins, tracks)`` predictions, computed directly."""
    model.eval()
    with torch.inference_mode():
        x = codes_to_one_hot(torch.from_numpy(store.sequences(split)[rows]))
        return crop_to_targets(model(x, head), store.target_length).numpy()


def test_gene_sites_sum_the_distinct_tss_bins_of_one_held_out_window(world):
    _, stores, model = world
    store = DataStore(stores["human"])
    crop, width = store.metadata["crop_bp"], store.pool_width
    masked = np.asarray(store.masked("valid"))
    windows = store.windows("valid")
    row = int(np.flatnonzero(~masked.any(axis=1))[0])
    first = windows[row].start + crop

    def at(r: int, b: int) -> int:
        return windows[r].start + crop + b * width + 7

    chrom = windows[row].chrom
    records = [
        # two transcripts in bin 20, one in bin 26: bins 20 and 26, each once
        _record("transcript", first + 20 * width + 3, first + 9000, "+", "G", chrom),
        _record("transcript", first + 20 * width + 90, first + 9000, "+", "G", chrom),
        _record("transcript", first + 20 * width, first + 26 * width + 1, "-", "G", chrom),
        # one TSS in each of two windows, two in a third (bins no other window holds)
        _record("transcript", at(row, 22), at(row, 22) + 10, "+", "H", chrom),
        _record("transcript", at(row + 2, 18), at(row + 2, 18) + 10, "+", "H", chrom),
        _record("transcript", at(row + 2, 28), at(row + 2, 28) + 10, "+", "H", chrom),
        _record("transcript", at(row + 4, 24), at(row + 4, 24) + 10, "+", "H", chrom),
    ]
    train = store.windows("train")[0]
    train_tss = train.start + crop + 20 * width
    records.append(_record("transcript", train_tss, train_tss + 10, "+", "T", train.chrom))
    if masked.any():
        r, b = (int(v[0]) for v in np.nonzero(masked))
        records.append(_record("transcript", at(r, b), at(r, b) + 10, "+", "M", chrom))
    sites = gene_sites(store, ["valid", "test"], gene_tss(records))
    by_gene = {s.name: s for s in sites}
    assert set(by_gene) == {"G", "H"}  # not the training window's gene, nor the masked TSS
    assert by_gene["G"] == Site("G", "valid", row, (20, 26))
    assert by_gene["H"] == Site("H", "valid", row + 2, (18, 28))
    tracks = [14, 15, 0]
    targets = store.targets("valid")
    expected = targets[row, [20, 26]][:, tracks].astype(np.float64).sum(axis=0)
    got = measured_at(store, sites, tracks)
    np.testing.assert_allclose(got[[s.name for s in sites].index("G")], expected)
    # the predictions, summed over the same bins (reference computed with the model)
    pred = _predicted_bins(model, store, "valid", [row, row + 2], "mouse")
    head_tracks = [1, 2]
    (summed,) = predict_at(
        model, store, "mouse", [(sites, head_tracks)], InferenceOptions(batch_size=1)
    )
    for s in sites:
        ref = pred[0 if s.row == row else 1][list(s.bins)][:, head_tracks].sum(axis=0)
        np.testing.assert_allclose(summed[sites.index(s)], ref, rtol=1e-5, atol=1e-6)


def test_variable_sites_equal_a_numpy_reference(world):
    _, stores, _ = world
    store = DataStore(stores["human"])
    descriptions = store.table.descriptions
    tracks = [i for i, d in enumerate(descriptions) if d.split(":")[0] in ("DNASE", "ATAC")]
    cells = [d.rsplit(":", 1)[-1] for d in (descriptions[i] for i in tracks)]
    assert len(set(cells)) > 1
    sites, variances = variable_sites(store, ["valid", "test"], tracks)
    # reference: every unmasked genomic bin of the held-out windows once, variance across
    # cell types of log(1 + x)
    reference: dict[str, float] = {}
    for split in ("valid", "test"):
        targets, masked = store.targets(split), store.masked(split)
        for r, w in enumerate(store.windows(split)):
            for b in range(store.target_length):
                if masked[r, b]:
                    continue
                logged = np.log1p(np.maximum(targets[r, b, tracks].astype(np.float64), 0))
                per_cell = [np.mean(logged[[c == cell for c in cells]]) for cell in set(cells)]
                name = f"{w.chrom}:{w.start + store.metadata['crop_bp'] + b * store.pool_width}"
                reference[name] = float(np.var(per_cell))
    keep = math.ceil(0.1 * len(reference))
    top = sorted(reference, key=lambda n: -reference[n])[:keep]
    assert len(sites) == keep and {s.name for s in sites} == set(top)
    np.testing.assert_allclose(variances, sorted((reference[n] for n in top), reverse=True))
    assert (np.diff(variances) <= 0).all()
    # each site's measured values are the store's at that bin
    values = measured_at(store, sites[:5], tracks)
    for s, v in zip(sites[:5], values, strict=True):
        np.testing.assert_array_equal(v, store.targets(s.split)[s.row, s.bins[0], tracks])


class _UnalignedStore:
    """Held-out windows of 4 bins of 128 bp at strides that are not a multiple of 128."""

    pool_width, target_length, num_targets = 128, 4, 2

    def __init__(self) -> None:
        self.metadata = {"crop_bp": 10}
        self.starts = {"valid": [0, 450, 2000], "test": [200, 1990]}
        self.table = type("Table", (), {"descriptions": ["DNASE:liver", "DNASE:brain"]})

    def windows(self, split: str) -> list[Interval]:
        return [Interval("chr1", s, s + 532) for s in self.starts[split]]

    def targets(self, split: str) -> npt.NDArray[np.float16]:
        rng = np.random.default_rng(len(split))
        return rng.gamma(1.0, 2.0, (len(self.starts[split]), 4, 2)).astype(np.float16)

    def masked(self, split: str) -> npt.NDArray[np.bool_]:
        return np.zeros((len(self.starts[split]), 4), dtype=bool)


def test_overlapping_windows_at_any_stride_give_each_bin_once():
    # before: bins were the same site only at the same start, so windows 200 bp apart
    # gave most bases twice
    store = _UnalignedStore()
    sites, _ = variable_sites(store, ["valid", "test"], [0, 1], fraction=1.0)
    crop, width = 10, 128
    placed = [(split, row, s + crop) for split in ("valid", "test")
              for row, s in enumerate(store.starts[split])]  # fmt: skip
    expected = set()
    for split, row, start in placed:
        for b in range(4):
            centre = start + b * width + width / 2
            near = min(placed, key=lambda p: (abs(p[2] + 2 * width - centre), p[0] != "valid"))
            if (near[0], near[1]) == (split, row):
                expected.add(f"chr1:{start + b * width}")
    assert {s.name for s in sites} == expected
    assert len(sites) == 12  # of 20 bins in all
    centres = sorted(int(s.name.split(":")[1]) + width // 2 for s in sites)
    # overlapping windows share no bin: kept bins overlap only where two windows meet
    assert sum(b - a < width for a, b in itertools.pairwise(centres)) == 2


def test_transfer_command_writes_the_tables_and_heat_maps(world, capsys):
    root, stores, model = world
    out = root / "mouse_on_human"
    gtf = _human_gtf(stores)
    argv = ["transfer", "--model", str(root / "model"), "--head", "mouse", "--data"]
    argv += [str(stores["human"]), "--gtf", str(gtf), "--out", str(out), "--svg"]
    args = build_parser().parse_args(argv)
    assert args.splits == ["valid", "test"]
    assert args.run(args) == 0
    table = pl.read_csv(out / "transfer.tsv", separator="\t")
    matrix = read_matrix(out / "matrix.tsv")
    summary = json.loads((out / "summary.json").read_text())
    assert summary["head"] == "mouse" and summary["splits"] == ["valid", "test"]
    assert summary["normalize"] == "mean" and args.normalize == "mean"
    assert (summary["pairing"], summary["pairs_file"], summary["pairing_notes"]) == (
        "cell type",
        None,
        {},
    )
    assert set(summary["assays"]) == {"CAGE", "CHIP", "DNASE"}
    keys = {"pairs", "raw_pairs", "normalised_pairs", "raw_r", "normalised_r_matched"}
    keys |= {"normalised_r_unmatched"}
    assert set(summary["assays"]["CAGE"]) == keys | {"tss"}
    assert set(summary["assays"]["DNASE"]) == keys | {"sites"}
    assert "most variable" in summary["sites"]["DNASE"] and "TSS" in summary["sites"]["CAGE"]
    # every pair: a human track and a mouse track of the same description
    human = DataStore(stores["human"]).table.descriptions
    mouse = DataStore(stores["mouse"]).table.descriptions
    assert set(table["description"]) == set(mouse) & set(human)
    assert (table["description"] == table["head_description"]).all()
    assert summary["assays"]["CAGE"]["pairs"] == table.filter(pl.col("assay") == "CAGE").height
    # the matched cells of the matrix are the pairs' normalised R
    diagonal = matrix.filter(pl.col("matched")).sort("identifier", "head_identifier")
    pairs = table.sort("identifier", "head_identifier")
    np.testing.assert_allclose(
        diagonal["pearson_r_normalised"].to_numpy(),
        pairs["pearson_r_normalised"].to_numpy(),
        atol=1e-6,
    )
    cage = matrix.filter(pl.col("experiment") == "CAGE")
    h_cage, m_cage = ({d for d in t if d.startswith("CAGE:")} for t in (mouse, human))
    assert cage.height == len(h_cage) * len(m_cage)
    assert cage["matched"].sum() == len(h_cage & m_cage) > 1
    for name in ("matrix_CAGE.png", "matrix_CAGE.svg", "matrix_DNASE.png"):
        assert (out / name).stat().st_size > 0 and name in summary["figures"]
    printed = capsys.readouterr().out
    assert "mouse head on human CAGE" in printed and "variable sites" in printed
    # the accessibility class holds the ATAC tracks too, and says so
    assert "mouse head on human DNASE/ATAC: " in printed
    # raw R of a CAGE pair, from the gene sites and the model directly
    store = DataStore(stores["human"])
    sites = gene_sites(store, ["valid", "test"], gene_tss(read_gtf(gtf)))
    assert (
        summary["assays"]["CAGE"]["tss"]
        == len(sites)
        == table.filter(pl.col("assay") == "CAGE")["sites"][0]
    )
    i = human.index("CAGE:liver")
    j = mouse.index("CAGE:liver")
    measured = measured_at(store, sites, [i])[:, 0]
    predicted = np.zeros(len(sites))
    for split in ("valid", "test"):
        rows = sorted({s.row for s in sites if s.split == split})
        if rows:
            pred = _predicted_bins(model, store, split, rows, "mouse")
            for k, s in enumerate(sites):
                if s.split == split:
                    predicted[k] = pred[rows.index(s.row)][list(s.bins), j].sum()
    expected = np.corrcoef(np.log1p(measured), np.log1p(predicted))[0, 1]
    got = table.filter(pl.col("description") == "CAGE:liver")["pearson_r"][0]
    assert got == pytest.approx(expected, abs=1e-4)
    with pytest.raises(SystemExit):
        build_parser().parse_args([*argv, "--splits", "train"])


def _predicted_at(model, store: DataStore, sites: list[Site], head: str) -> npt.NDArray:
    """The head's ``(sites, tracks)`` predictions at gene sites (each the sum over its
    bins), computed directly."""
    out = np.zeros((len(sites), model.num_targets(head)))
    for split in ("valid", "test"):
        rows = sorted({s.row for s in sites if s.split == split})
        if rows:
            pred = _predicted_bins(model, store, split, rows, head)
            for k, s in enumerate(sites):
                if s.split == split:
                    out[k] = pred[rows.index(s.row)][list(s.bins)].sum(axis=0)
    return out


def test_transfer_command_quantile_normalises_as_a_plain_reference_does(world, tmp_path, capsys):
    root, stores, model = world
    gtf = _human_gtf(stores)
    argv = ["transfer", "--model", str(root / "model"), "--head", "mouse", "--data"]
    argv += [str(stores["human"]), "--gtf", str(gtf)]
    runs = {}
    for how in ("mean", "quantile"):
        out = tmp_path / how
        assert main([*argv, "--out", str(out), "--normalize", how]) == 0
        runs[how] = (
            json.loads((out / "summary.json").read_text()),
            read_matrix(out / "matrix.tsv"),
            pl.read_csv(out / "transfer.tsv", separator="\t"),
        )
    summary, _, table = runs["quantile"]
    assert summary["normalize"] == "quantile"
    printed = capsys.readouterr().out
    assert "mouse head on human CAGE: R " in printed
    assert ", mean-normalised matched" in printed and "quantile- and mean-normalised" in printed
    assert drawn_as(tmp_path / "quantile" / "matrix.tsv") == (
        "mouse head on human (valid + test windows), quantile-normalised",
        "cell type",
        "quantile",
    )
    # the raw R of each pair does not depend on the normalisation
    assert table["pearson_r"].to_list() == runs["mean"][2]["pearson_r"].to_list()
    # every CAGE cell, from the gene sites, the model and a plain reference
    store = DataStore(stores["human"])
    sites = gene_sites(store, ["valid", "test"], gene_tss(read_gtf(gtf)))
    human, mouse = store.table, DataStore(stores["mouse"]).table
    m_cols = [i for i, d in enumerate(human.descriptions) if d.startswith("CAGE:")]
    h_cols = [j for j, d in enumerate(mouse.descriptions) if d.startswith("CAGE:")]
    measured = measured_at(store, sites, m_cols)
    predicted = _predicted_at(model, store, sites, "mouse")[:, h_cols]
    for how, (_, cells, _) in runs.items():
        expected = _specificity_reference(measured, predicted, how == "quantile")
        got = np.full(expected.shape, np.nan)
        for cell in cells.filter(pl.col("experiment") == "CAGE").iter_rows(named=True):
            a = h_cols.index(mouse.identifiers.index(cell["head_identifier"]))
            b = m_cols.index(human.identifiers.index(cell["identifier"]))
            got[a, b] = cell["pearson_r_normalised"]
        np.testing.assert_allclose(got, expected, atol=1e-4)
    cage = [
        r[1].filter(pl.col("experiment") == "CAGE")["pearson_r_normalised"] for r in runs.values()
    ]
    assert np.abs(cage[0].to_numpy() - cage[1].to_numpy()).max() > 1e-3
    with pytest.raises(SystemExit):
        build_parser().parse_args([*argv, "--out", str(tmp_path), "--normalize", "median"])


def test_transfer_command_takes_the_matched_pairs_from_a_pairs_file(world, tmp_path):
    root, stores, _ = world
    human, mouse = (DataStore(stores[g]).table for g in ("human", "mouse"))
    h_cage = [i for i, d in zip(human.identifiers, human.descriptions, strict=True) if "CAGE" in d]
    m_cage = [i for i, d in zip(mouse.identifiers, mouse.descriptions, strict=True) if "CAGE" in d]
    # a head track in two pairs, neither of one cell type
    pairs = {(m_cage[0], h_cage[1]), (m_cage[0], h_cage[2])}
    lines = "".join(f"{m}\t{h}\n" for m, h in sorted(pairs))
    path = tmp_path / "pairs.tsv"
    path.write_text(f"# curated\nhead_track\tmeasured_track\n{lines}")
    out = tmp_path / "out"
    argv = ["transfer", "--model", str(root / "model"), "--head", "mouse", "--data"]
    argv += [str(stores["human"]), "--gtf", str(_human_gtf(stores))]
    assert main([*argv, "--out", str(out), "--pairs", str(path)]) == 0
    table = pl.read_csv(out / "transfer.tsv", separator="\t")
    matrix = read_matrix(out / "matrix.tsv")
    summary = json.loads((out / "summary.json").read_text())
    assert set(table.select("head_identifier", "identifier").rows()) == pairs
    matched = matrix.filter(pl.col("matched")).select("head_identifier", "identifier")
    assert set(matched.rows()) == pairs
    assert (summary["pairing"], summary["pairs_file"]) == ("pairs file", str(path))
    assert set(summary["assays"]) == {"CAGE"} and summary["assays"]["CAGE"]["pairs"] == 2
    unmatched = matrix.filter((pl.col("experiment") == "CAGE") & ~pl.col("matched"))
    expected = round(float(unmatched["pearson_r_normalised"].mean()), 4)
    assert summary["assays"]["CAGE"]["normalised_r_unmatched"] == pytest.approx(expected, 1e-3)
    assert "matrix_CAGE.png" in summary["figures"]
    # redrawn from the path alone, the heat map is the run's: matched by the pairs file,
    # titled with the head and genome (before: "matched by cell type", untitled)
    redrawn = plot_matrix_file(out / "matrix.tsv", tmp_path / "redrawn")
    assert [p.name for p in redrawn] == summary["figures"]
    for name in summary["figures"]:
        assert (tmp_path / "redrawn" / name).read_bytes() == (out / name).read_bytes()


def test_transfer_refuses_a_bad_pairs_file_before_the_model_loads(world, tmp_path, logs):
    root, stores, _ = world
    path = tmp_path / "pairs.tsv"
    path.write_text("head_track\tmeasured_track\nmm_CAGE_livr\ths_CAGE_erythroid\n")
    out = tmp_path / "out"
    argv = ["transfer", "--model", str(root / "model"), "--head", "mouse", "--data"]
    argv += [str(stores["human"]), "--gtf", str(_human_gtf(stores))]
    assert main([*argv, "--out", str(out), "--pairs", str(path)]) == 1
    assert f"{path}:2: head track 'mm_CAGE_livr' is not a track identifier of the 'mouse'" in (
        logs.text
    )
    assert "nearest: 'mm_CAGE_" in logs.text and not out.exists()
    assert main([*argv, "--out", str(out), "--pairs", str(tmp_path / "none.tsv")]) == 1
    assert "none.tsv" in logs.text and not out.exists()


def test_transfer_command_without_plots_writes_the_tables_only(world):
    root, stores, _ = world
    out = root / "no_plots"
    argv = ["transfer", "--model", str(root / "model"), "--head", "mouse", "--data"]
    argv += [str(stores["human"]), "--gtf", str(_human_gtf(stores))]
    assert main([*argv, "--out", str(out), "--svg"]) == 0
    assert list(out.glob("matrix_*.svg")) and list(out.glob("matrix_*.png"))
    # a rerun without figures leaves none of the earlier ones beside its tables
    args = build_parser().parse_args([*argv, "--out", str(out), "--no-plots"])
    assert args.plots is False and args.svg is False
    assert args.run(args) == 0
    (out / RUNS_FILE).unlink()
    assert {p.name for p in out.iterdir()} == {"transfer.tsv", "matrix.tsv", "summary.json"}
    assert json.loads((out / "summary.json").read_text())["figures"] == []


def test_exon_only_gtf_gives_the_sites_of_its_transcripts(world):
    _, stores, _ = world
    store = DataStore(stores["human"])
    records = read_gtf(_human_gtf(stores))
    exons = [r for r in records if r.feature == "exon"]
    # reference: a transcript line spanning each transcript's exons
    spans: dict[str, GtfRecord] = {}
    for r in exons:
        old = spans.get(r.transcript_id, r)
        start, end = min(old.start, r.start), max(old.end, r.end)
        spans[r.transcript_id] = _record("transcript", start, end, r.strand, r.gene_id, r.chrom)
    expected = gene_sites(store, ["valid", "test"], gene_tss(spans.values()))
    assert len(expected) >= 3
    assert gene_sites(store, ["valid", "test"], gene_tss(exons)) == expected


def test_transfer_gives_the_prefix_hint_for_a_gtf_named_1_not_chr1(world, tmp_path, logs):
    root, stores, _ = world
    gtf = _human_gtf(stores)
    lines = gtf.read_text().splitlines(keepends=True)
    assert lines[0].startswith("chr")
    renamed = tmp_path / "ensembl.gtf"
    renamed.write_text("".join(line.removeprefix("chr") for line in lines))
    name = lines[0].split("\t")[0]
    argv = ["transfer", "--model", str(root / "model"), "--head", "mouse", "--data"]
    argv += [str(stores["human"]), "--gtf", str(renamed), "--out", str(tmp_path / "out")]
    assert main(argv) == 1
    # the error names the first record on that chromosome, its file and line
    assert f"{renamed}:1: chromosome '{name[3:]}' is not in {stores['human']}" in logs.text
    assert f"did you mean '{name}'?" in logs.text and "'chr' prefix" in logs.text
    assert not (tmp_path / "out").exists()


def test_transfer_refuses_a_gtf_on_none_of_the_stores_chromosomes_naming_both(
    world, tmp_path, logs
):
    """A GTF whose chromosomes are named otherwise than with the chr prefix (RefSeq-like
    'NC_chr1'): an error naming the GTF, chromosomes of both sides and the fix, with
    nothing written; a GTF with one chromosome so named warns, counting the genes left
    out, and the run goes on with the others."""
    root, stores, _ = world
    lines = _human_gtf(stores).read_text().splitlines(keepends=True)
    genes = Counter(sites[0][0] for sites in gene_tss(read_gtf(_human_gtf(stores))).values())
    assert sorted(genes) == ["chr1", "chr2"]
    renamed = tmp_path / "refseq.gtf"
    renamed.write_text("".join(f"NC_{line}" for line in lines))
    out = tmp_path / "out"
    assert main(_transfer_argv(root, stores, renamed, out)) == 1
    total = sum(genes.values())
    assert (
        f"{renamed}: none of its {total} genes lies on one of the 2 chromosomes of the genome "
        f"of {stores['human']} (human, assembly genome): its genes lie on NC_chr2 "
        f"({genes['chr2']}), NC_chr1 ({genes['chr1']}); the genome's are chr1, chr2; e.g. "
        f"gene 'G00001' ({renamed}:1): the GTF names its chromosomes otherwise or is of "
        "another genome; rename the GTF's chromosomes (its first column) to the genome's, or "
        "give the GTF of the store's genome (human, assembly genome)"
    ) in logs.text
    assert not out.exists()
    logs.clear()
    some = tmp_path / "some.gtf"
    some.write_text("".join(f"NC_{x}" if x.startswith("chr1\t") else x for x in lines))
    assert main(_transfer_argv(root, stores, some, out)) == 0
    assert (
        f"{genes['chr1']} of the {total} genes of {some} lie on chromosomes absent from the 2 "
        f"chromosomes of the genome of {stores['human']} (human, assembly genome): NC_chr1 "
        f"({genes['chr1']}); they are left out (the genome's are chr1, chr2)"
    ) in logs.text
    assert (out / "transfer.tsv").exists()


def _transfer_argv(root: Path, stores: dict[str, Path], gtf: Path, out: Path) -> list[str]:
    argv = ["transfer", "--model", str(root / "model"), "--head", "mouse", "--data"]
    return [*argv, str(stores["human"]), "--gtf", str(gtf), "--out", str(out), "--no-plots"]


def test_transfer_refuses_a_gtf_without_gene_records_saying_so(world, tmp_path, logs):
    """A GTF of CDS lines alone gives no gene a TSS: not a GTF of another genome."""
    root, stores, _ = world
    lines = _human_gtf(stores).read_text().splitlines(keepends=True)
    cds = tmp_path / "cds.gtf"
    cds.write_text(
        "".join(line.replace("\texon\t", "\tCDS\t") for line in lines if "\texon\t" in line)
    )
    assert main(_transfer_argv(root, stores, cds, tmp_path / "out")) == 1
    assert f"{cds}: no transcript, exon or gene record on a strand ('+' or '-'), so no" in logs.text
    assert "store's genome" not in logs.text
    assert not (tmp_path / "out").exists()


def test_too_few_held_out_tss_are_counted_against_the_gtfs_genes_and_windows(world, tmp_path, logs):
    """Two of the GTF's genes in the held-out windows and one in training alone: the error
    counts the GTF's genes and the held-out windows, so that a small held-out split is
    told from a GTF of another genome."""
    root, stores, _ = world
    store = DataStore(stores["human"])
    records = read_gtf(_human_gtf(stores))
    held = {s.name for s in gene_sites(store, ["valid", "test"], gene_tss(records))}
    kept = sorted(held)[:2] + sorted(set(gene_tss(records)) - held)[:1]
    assert len(kept) == 3
    lines = _human_gtf(stores).read_text().splitlines(keepends=True)
    few = tmp_path / "few.gtf"
    few.write_text("".join(line for line in lines if any(f'"{g}"' in line for g in kept)))
    assert main(_transfer_argv(root, stores, few, tmp_path / "out")) == 1
    windows = len(store.windows("valid")) + len(store.windows("test"))
    assert (
        f"{few}: only 2 of its 3 genes have a TSS in the unmasked target bins of the "
        f"{windows} valid, test windows of {stores['human']}, and R needs 3 sites"
    ) in logs.text
    assert "or hold out more windows (--splits" in logs.text
    assert not (tmp_path / "out").exists()


def test_a_gtf_left_unread_where_only_accessibility_is_compared_is_said_to_be(
    world, tmp_path, logs
):
    """A head whose only experiment the store also measures is DNase compares at variable
    bins alone: the GTF given (here a GFF3 file, which would be refused) is not read, and
    the log says so rather than passing over it."""
    root, stores, _ = world
    model = tmp_path / "model"
    shutil.copytree(root / "model", model)
    config = json.loads((model / "config.json").read_text())
    for target in config["targets"]["mouse"]:
        if not is_accessibility(target["description"]):
            target["description"] = f"OTHER_{target['identifier']}"  # no experiment
    (model / "config.json").write_text(json.dumps(config))
    gff3 = tmp_path / "genes.gff3"
    gff3.write_text("chr1\tx\tgene\t1\t10\t.\t+\t.\tID=g1\n")
    plan = plan_transfer(model, stores["human"], gff3, head="mouse")
    assert [kind for kind, *_ in plan.groups] == [VARIABLE_SITES]
    assert f"{gff3} is not read: the only experiment of both the 'mouse' head and" in logs.text
    # with a CAGE experiment on both sides the same file is read, and refused
    with pytest.raises(ValueError, match="GFF3's key=value pairs"):
        plan_transfer(root / "model", stores["human"], gff3, head="mouse")


def test_transfer_refuses_a_model_whose_bins_are_not_the_stores(world, tmp_path, logs):
    """A 64-bp model cropped to the store's 48 bins: as many bins, half as wide."""
    _, stores, _ = world
    params = small_params({g: DataStore(p).num_targets for g, p in stores.items()})
    params["model"]["trunk"][0]["pool_size"] = 1
    params["model"]["trunk"][3]["cropping"] = 40
    narrow = SeqNN(parse_params(params).model)
    assert (narrow.stride, narrow.output_length()) == (64, DataStore(stores["human"]).target_length)
    targets = {g: list(DataStore(p).table.targets) for g, p in stores.items()}
    save_checkpoint(tmp_path / "model", narrow, make_config(narrow, params, targets))
    out = tmp_path / "out"
    argv = ["transfer", "--model", str(tmp_path / "model"), "--head", "mouse", "--data"]
    argv += [str(stores["human"]), "--gtf", str(_human_gtf(stores))]
    assert main([*argv, "--out", str(out)]) == 1
    assert "the model predicts 64-bp bins but dataset" in logs.text
    assert "has 128-bp target bins" in logs.text
    assert not out.exists()


def _store_copy(source: Path, out: Path) -> Path:
    """A store of `source`'s files (linked), with a copy of ``targets.npy`` to damage."""
    out.mkdir()
    for path in source.iterdir():
        if path.name == "targets.npy":
            (out / path.name).write_bytes(path.read_bytes())
        else:
            (out / path.name).symlink_to(path)
    return out


def test_a_head_predicting_nan_stops_transfer_naming_the_head_and_its_tracks(world, tmp_path, logs):
    # before: exit 0, every CAGE cell of the matrix NaN (one NaN track spoils the experiment's
    # mean-normalisation) and notes blaming sites equal at every site
    _, stores, model = world
    params = small_params({g: DataStore(p).num_targets for g, p in stores.items()})
    broken = SeqNN(parse_params(params).model)
    broken.load_state_dict(model.state_dict())
    mouse = DataStore(stores["mouse"]).table
    k = mouse.descriptions.index("CAGE:liver")
    with torch.no_grad():
        broken.head("mouse").dense.bias[k] = float("nan")
    targets = {g: list(DataStore(p).table.targets) for g, p in stores.items()}
    save_checkpoint(tmp_path / "nan", broken, make_config(broken, params, targets))
    out = tmp_path / "out"
    argv = ["transfer", "--model", str(tmp_path / "nan"), "--head", "mouse", "--data"]
    argv += [str(stores["human"]), "--gtf", str(_human_gtf(stores))]
    assert main([*argv, "--out", str(out), "--no-plots"]) == 1
    said = f"head 'mouse' predicts NaN or infinite values for 1 track(s) ({mouse.identifiers[k]})"
    assert said in logs.text and "the weights have diverged or are damaged" in logs.text
    assert not out.exists()


def test_a_nan_target_at_a_site_stops_transfer_naming_the_store(world, tmp_path, logs):
    # before: exit 0, the NaN blamed on tracks "equal at every site once mean-normalised"
    root, stores, _ = world
    store = _store_copy(stores["human"], tmp_path / "store")
    gtf = _human_gtf(stores)
    data = DataStore(store)
    site = gene_sites(data, ["valid", "test"], gene_tss(read_gtf(gtf)))[0]
    column = data.table.descriptions.index("CAGE:liver")
    targets = np.load(store / "targets.npy", mmap_mode="r+")
    targets[data.splits[site.split]["offset"] + site.row, site.bins[0], column] = np.nan
    targets.flush()
    del targets
    out = tmp_path / "out"
    argv = ["transfer", "--model", str(root / "model"), "--head", "mouse", "--data"]
    argv += [str(store), "--gtf", str(gtf), "--out", str(out), "--no-plots"]
    assert main(argv) == 1
    said = f"dataset {store} holds NaN or infinite targets at the sites compared for 1 track(s) "
    assert f"{said}({data.table.identifiers[column]})" in logs.text
    assert "rebuild it with crossreg data" in logs.text and "predicts" not in logs.text
    assert not out.exists()


def test_a_nan_accessibility_target_stops_transfer_at_any_variable_fraction(world, tmp_path, logs):
    # before: its bin's variance was NaN, sorted last and left out: exit 0 with DNase numbers
    root, stores, _ = world
    store = _store_copy(stores["human"], tmp_path / "store")
    data = DataStore(store)
    column = next(i for i, d in enumerate(data.table.descriptions) if is_accessibility(d))
    split = "test" if data.windows("test") else "valid"
    targets = np.load(store / "targets.npy", mmap_mode="r+")
    targets[data.splits[split]["offset"], 0, column] = np.nan
    targets.flush()
    del targets
    out = tmp_path / "out"
    argv = ["transfer", "--model", str(root / "model"), "--head", "mouse", "--data", str(store)]
    argv += ["--gtf", str(_human_gtf(stores)), "--out", str(out)]
    assert main([*argv, "--no-plots"]) == 1
    said = f"dataset {store} holds NaN or infinite targets in its '{split}' windows for 1 track(s) "
    assert f"{said}({data.table.identifiers[column]})" in logs.text
    assert not out.exists()


def _one_accessibility_cell_type(source: Path, out: Path) -> Path:
    """A store of `source`'s tracks whose accessibility tracks all name one cell type."""
    store = _store_copy(source, out)
    (store / "targets.txt").unlink()
    table = DataStore(source).table
    text = (source / "targets.txt").read_text()
    for d in {d for d in table.descriptions if is_accessibility(d)}:
        text = text.replace(f"\t{d}", f"\t{d.split(':')[0]}:liver")
    (store / "targets.txt").write_text(text)
    return store


def test_a_variable_fraction_with_one_accessibility_cell_type_is_refused(world, tmp_path, logs):
    # before: DNase fell back to TSSs and --variable-fraction 0.3 went unused, exit 0
    root, stores, _ = world
    store = _one_accessibility_cell_type(stores["human"], tmp_path / "store")
    out = tmp_path / "out"
    argv = ["transfer", "--model", str(root / "model"), "--head", "mouse", "--data", str(store)]
    argv += ["--gtf", str(_human_gtf(stores)), "--out", str(out), "--no-plots"]
    assert main([*argv, "--variable-fraction", "0.3"]) == 1
    assert "--variable-fraction 0.3: no variable bins are taken, as" in logs.text
    assert "fewer than 2 cell types, so DNase is compared at gene TSSs" in logs.text
    assert not out.exists()
    # without the option the fallback runs, with its warning
    assert main(argv) == 0
    assert "DNase at TSSs instead" in logs.text


class _Windows:
    """A stand-in for a store's windows: 100-bp targets in 10 bins of 10 bp (no crop),
    none masked, `windows` the ``(chrom, start)`` of each split's rows."""

    pool_width, target_length = 10, 10

    def __init__(self, windows: dict[str, list[tuple[str, int]]]) -> None:
        self.metadata = {"crop_bp": 0}
        self._windows = windows

    def windows(self, split: str) -> list[Interval]:
        return [Interval(chrom, start, start + 100) for chrom, start in self._windows[split]]

    def masked(self, split: str) -> np.ndarray:
        return np.zeros((len(self._windows[split]), 10), dtype=bool)


def test_a_gene_takes_its_most_central_window_then_the_first_split_edges_included():
    store = _Windows({"valid": [("c", 0), ("c", 50), ("c", 300), ("e", 0)], "test": [("c", 340)]})
    tss = {
        # at 60: 10 bp from the centre of the window at 0, 40 bp from that of the one at 50
        "central": [("c", 60)],
        # at 370: 20 bp from the centres of valid's window at 300 and test's at 340
        "tied": [("c", 370)],
        # the first and last bases of a window are in it
        "edges": [("e", 0), ("e", 99)],
    }
    sites = gene_sites(store, ["valid", "test"], tss)
    assert sites == [
        Site("central", "valid", 0, (6,)),
        Site("tied", "valid", 2, (7,)),
        Site("edges", "valid", 3, (0, 9)),
    ]
    # the first split named wins the tie
    sites = gene_sites(store, ["test", "valid"], tss)
    assert Site("tied", "test", 0, (3,)) in sites


def test_a_gtf_tss_lands_in_the_bin_of_its_first_base_on_either_strand(tmp_path):
    """GTF numbers are 1-based: a transcript starting at 10 (+) or ending at 10 (-) has its
    first base at 0-based 9, the last base of bin 0 (bins of 10 bp from the window's 0);
    at 11, bin 1. (Basenji's gff.py takes the 1-based number as the 0-based position, one
    base to the right: bin 1 for both.)"""
    rows = [
        ("P10", 10, 30, "+"),
        ("P11", 11, 30, "+"),
        ("M10", 1, 10, "-"),
        ("M11", 1, 11, "-"),
        ("P91", 91, 95, "+"),  # the first base of bin 9: 0-based 90
        ("M100", 95, 100, "-"),  # the window's last base, 0-based 99
    ]
    text = "".join(
        f'c\ts\ttranscript\t{start}\t{end}\t.\t{strand}\t.\tgene_id "{gene}";\n'
        for gene, start, end, strand in rows
    )
    gtf = tmp_path / "edges.gtf"
    gtf.write_text(text)
    store = _Windows({"valid": [("c", 0)], "test": []})
    sites = {s.name: s.bins for s in gene_sites(store, ["valid"], gene_tss(read_gtf(gtf)))}
    assert sites == {"P10": (0,), "P11": (1,), "M10": (0,), "M11": (1,), "P91": (9,), "M100": (9,)}


def test_a_first_run_stopped_while_drawing_is_rerun_into_its_folder(
    world, tmp_path, monkeypatch, capsys
):
    """A first transfer into a new folder stopped after its first heat map leaves its
    tables and that figure, and no run log; its rerun was refused until they were removed.
    A folder holding only transfer's own files (its heat maps named after their assays) is
    taken for its stopped run and written anew; one holding anyone else's file is not."""
    import crossreg.evaluate.transfer_figures as figures

    root, stores, _ = world
    out = tmp_path / "transfer"
    argv = ["-q", "transfer", "--model", str(root / "model"), "--head", "mouse", "--data"]
    argv += [str(stores["human"]), "--gtf", str(_human_gtf(stores)), "--out", str(out)]
    plot_matrix, drawn = figures.plot_matrix, []

    def stop_at_the_second(*args, **kwargs):
        if drawn:
            raise KeyboardInterrupt
        drawn.append(plot_matrix(*args, **kwargs))
        return drawn[-1]

    monkeypatch.setattr(figures, "plot_matrix", stop_at_the_second)
    assert main(argv) == 130
    stopped = f"{out} may hold some of this run's files; rerun the same command to write them"
    assert stopped in capsys.readouterr().err
    left = sorted(p.name for p in out.iterdir())
    assert left[:2] == ["matrix.tsv", "matrix_CAGE.png"] and left[2:] == ["transfer.tsv"]
    monkeypatch.setattr(figures, "plot_matrix", plot_matrix)
    (out / "notes.txt").write_text("mine\n")
    assert main(argv) == 1
    (out / "notes.txt").unlink()
    # a user's figure named like a heat map, but of no experiment this run compares: not
    # transfer's (before: any matrix_*.png was, and the rerun removed it)
    (out / "matrix_foo.png").write_bytes(b"mine")
    assert main(argv) == 1
    assert "already holds files no finished crossreg transfer wrote" in capsys.readouterr().err
    assert (out / "matrix_foo.png").read_bytes() == b"mine"
    (out / "matrix_foo.png").unlink()
    assert main(argv) == 0
    assert (out / "summary.json").is_file() and (out / RUNS_FILE).is_file()


def test_a_rerun_takes_only_the_heat_maps_it_draws_or_an_earlier_run_listed(world, tmp_path):
    """The heat maps of a transfer folder are those of the experiments the run compares
    and those its earlier summary.json lists (a run of other experiments): a log-less
    folder holding only those is the stopped run's, and a rerun removes those it does not
    draw; a user's file named like a heat map is neither taken nor removed."""
    root, stores, _ = world
    out = tmp_path / "transfer"
    argv = ["-q", "transfer", "--model", str(root / "model"), "--head", "mouse", "--data"]
    argv += [str(stores["human"]), "--gtf", str(_human_gtf(stores)), "--out", str(out)]
    assert main(argv) == 0
    drawn = json.loads((out / "summary.json").read_text())["figures"]
    assert set(drawn) == {"matrix_CAGE.png", "matrix_CHIP_H3K27ac.png", "matrix_DNASE.png"}
    # an earlier run (of another experiment, OLD) that stopped before it logged itself
    summary = json.loads((out / "summary.json").read_text())
    summary["figures"] += ["matrix_OLD.png", "../notes.png"]  # the latter: not a heat map's
    (tmp_path / "notes.png").write_bytes(b"mine")
    (out / "summary.json").write_text(json.dumps(summary))
    (out / RUNS_FILE).unlink()
    (out / "matrix_OLD.png").write_bytes(b"old")
    (out / "matrix_CAGE.svg").write_bytes(b"old")  # of an experiment it compares
    assert main(argv) == 0
    assert sorted(p.name for p in out.glob("matrix_*")) == sorted(drawn)
    assert (tmp_path / "notes.png").read_bytes() == b"mine"
    # a user's figure in a logged transfer folder is kept by a rerun
    (out / "matrix_foo.png").write_bytes(b"mine")
    assert main(argv) == 0
    assert (out / "matrix_foo.png").read_bytes() == b"mine"
    assert json.loads((out / "summary.json").read_text())["figures"] == drawn
