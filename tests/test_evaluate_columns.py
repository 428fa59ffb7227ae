"""Basenji's statistics beyond Pearson R (evaluate --specificity, --rank, --peaks): each
against a plain reference written here, exact answers on tiny arrays, and one run of the
command on the session's test store."""

from __future__ import annotations

import json
import logging
import math
from pathlib import Path

import numpy as np
import polars as pl
import pytest
import torch
from scipy.stats import pearsonr, spearmanr

from crossreg.cli import main
from crossreg.data.store import DataStore
from crossreg.dna import one_hot
from crossreg.evaluate import spill as spill_module
from crossreg.evaluate.columns import (
    auprc,
    auroc,
    benjamini_hochberg,
    poisson_peaks,
    sorted_column,
    spearman,
    tie_mean,
)
from crossreg.evaluate.figures import r_by_assay_figure
from crossreg.evaluate.spill import (
    ColumnOptions,
    ColumnSpill,
    column_metrics,
    group_size,
    specificity_class,
)
from crossreg.evaluate.table import read_metrics
from crossreg.model.geometry import crop_to_targets
from crossreg.model.inference import InferenceOptions, predict_batch
from tests.pipeline import untrained_checkpoint

# --- plain references -------------------------------------------------------------------


def reference_quantile_normalise(block: np.ndarray) -> np.ndarray:
    """Columns of `block` (positions, tracks) quantile-normalised: each value becomes the
    mean over columns of the sorted columns at its rank; tied values share the mean of
    their ranks' values."""
    means = np.sort(block, axis=0).mean(axis=1)
    out = np.empty(block.shape)
    for t in range(block.shape[1]):
        column = block[:, t]
        for i, value in enumerate(column):
            below = int((column < value).sum())
            tied = int((column == value).sum())
            out[i, t] = means[below : below + tied].mean()
    return out


def reference_specificity(pred: np.ndarray, target: np.ndarray) -> list[float]:
    """Basenji's basenji_test_specificity.py on one class, (positions, tracks)."""
    p = reference_quantile_normalise(pred)
    y = reference_quantile_normalise(target)
    p = p - p.mean(axis=1, keepdims=True)
    y = y - y.mean(axis=1, keepdims=True)
    return [float(np.corrcoef(p[:, t], y[:, t])[0, 1]) for t in range(p.shape[1])]


def reference_bh(p: list[float]) -> list[float]:
    """Benjamini-Hochberg by the textbook loop: from the largest p down, q_(i) =
    min(q_(i+1), p_(i)·m/i)."""
    m = len(p)
    order = sorted(range(m), key=lambda k: p[k])
    q = [0.0] * m
    running = 1.0
    for rank in range(m, 0, -1):
        k = order[rank - 1]
        running = min(running, p[k] * m / rank)
        q[k] = running
    return q


def reference_auroc(labels: np.ndarray, scores: np.ndarray) -> float:
    """Mann-Whitney: the share of (peak, non-peak) pairs the peak scores above, ties 1/2."""
    pos, neg = scores[labels], scores[~labels]
    wins = sum(float(a > b) + 0.5 * float(a == b) for a in pos for b in neg)
    return wins / (len(pos) * len(neg))


def reference_auprc(labels: np.ndarray, scores: np.ndarray) -> float:
    """sklearn's average precision: over thresholds at each distinct score, highest first,
    Σ (recall step) × precision."""
    total, previous = 0.0, 0.0
    for threshold in sorted(set(scores.tolist()), reverse=True):
        called = scores >= threshold
        recall = (called & labels).sum() / labels.sum()
        total += (recall - previous) * (called & labels).sum() / called.sum()
        previous = recall
    return total


def reference_peaks(y: np.ndarray) -> np.ndarray:
    """Poisson P(X ≥ round(y)) under the mean, by the series, then BH q < 0.01."""
    mu = float(y.mean())
    p = [
        1.0 - sum(math.exp(-mu) * mu**j / math.factorial(j) for j in range(int(np.round(v))))
        for v in y
    ]
    return np.array(reference_bh(p)) < 0.01


# --- exact answers and parity on tiny arrays --------------------------------------------


def test_quantile_normalisation_of_the_textbook_example():
    # the common worked example (ties share the mean of their ranks' values)
    block = np.array([[5, 4, 3], [2, 1, 4], [3, 4, 6], [4, 2, 8]], dtype=np.float64)
    reference = np.sort(block, axis=0).mean(axis=1)
    got = np.stack([tie_mean(block[:, t], reference) for t in range(3)], axis=1)
    expected = np.array([[17 / 3, 31 / 6, 2], [2, 2, 3], [3, 31 / 6, 14 / 3], [14 / 3, 3, 17 / 3]])
    np.testing.assert_allclose(got, expected, rtol=1e-12)
    np.testing.assert_allclose(got, reference_quantile_normalise(block), rtol=1e-12)


def test_float16_columns_rank_and_sort_without_numpys_float16_sorts(monkeypatch):
    # the store's targets are float16, which numpy sorts several times slower than
    # other types; ranks, ties and normalised values keep their bits without its sorts
    rng = np.random.default_rng(3)
    target = rng.gamma(0.5, 2.0, 5000).astype(np.float16)
    target[rng.random(5000) < 0.6] = 0  # many ties
    target[:300] *= -1  # negative values (and -0.0 beside 0.0) keep their order too
    ranks = np.arange(1, target.size + 1, dtype=np.float64)
    wide = target.astype(np.float32)
    expected = (tie_mean(wide, ranks), sorted_column(wide))
    sorted_dtypes = []
    for name in ("argsort", "sort"):
        plain = getattr(np, name)

        def spy(values, *args, _plain=plain, **kwargs):
            sorted_dtypes.append(np.asarray(values).dtype)
            return _plain(values, *args, **kwargs)

        monkeypatch.setattr(np, name, spy)
    got = (tie_mean(target, ranks), sorted_column(target))
    assert sorted_dtypes and np.dtype(np.float16) not in sorted_dtypes
    for one, other in zip(got, expected, strict=True):
        np.testing.assert_array_equal(one, other)


def test_float16_nan_of_either_sign_ranks_last_as_numpy_sorts_it():
    # NaN's sign bit set (as -nan from a subtraction) must not rank it below every value
    target = np.array([1.0, np.nan, 2.0, 0.5, np.nan], dtype=np.float16)
    target[1] = -target[1]
    assert np.signbit(target[1])
    ranks = np.arange(1, target.size + 1, dtype=np.float64)
    np.testing.assert_array_equal(
        tie_mean(target, ranks), tie_mean(target.astype(np.float32), ranks)
    )
    np.testing.assert_array_equal(tie_mean(target, ranks), [2, 4, 3, 1, 5])


def test_spearman_exact_and_equal_to_scipy_with_ties():
    # 1 - 6 Σd² / (n(n² - 1)) = 1 - 6·2/60
    assert spearman([1, 2, 3, 4], [1, 3, 2, 4]) == pytest.approx(0.8, abs=1e-12)
    rng = np.random.default_rng(0)
    for _ in range(5):
        a = np.round(rng.gamma(0.5, size=300), 1).astype(np.float32)  # many ties, zeros
        b = np.round(a + rng.gamma(0.5, size=300), 1).astype(np.float16)
        assert spearman(a, b) == pytest.approx(spearmanr(a, b)[0], abs=1e-12)


def test_benjamini_hochberg_exact_and_equal_to_the_textbook_loop():
    # sorted 0.005 0.01 0.03 0.04 → ·m/rank 0.02 0.02 0.04 0.04
    np.testing.assert_allclose(
        benjamini_hochberg([0.01, 0.04, 0.03, 0.005]), [0.02, 0.04, 0.04, 0.02], rtol=1e-12
    )
    # step-up: the smallest, 0.02·3/1 = 0.06, is lowered to the next one's 0.021·3/2
    np.testing.assert_allclose(
        benjamini_hochberg([0.02, 0.5, 0.021]), [0.0315, 0.5, 0.0315], rtol=1e-12
    )
    p = np.random.default_rng(1).uniform(size=200) ** 3
    np.testing.assert_allclose(benjamini_hochberg(p), reference_bh(p.tolist()), rtol=1e-12)


def test_poisson_peaks_equal_the_series_and_bh():
    y = np.array([0, 0, 1, 0, 2, 0, 0, 12, 1, 0, 0, 9, 0, 0, 3, 0], dtype=np.float16)
    np.testing.assert_array_equal(poisson_peaks(y), reference_peaks(y.astype(np.float64)))
    assert poisson_peaks(y).tolist() == [i in (7, 11) for i in range(16)]
    rng = np.random.default_rng(2)
    y = np.round(rng.gamma(0.3, 4.0, size=400), 2)
    np.testing.assert_array_equal(poisson_peaks(y), reference_peaks(y))


def test_auroc_and_auprc_exact_and_equal_to_references():
    labels = np.array([True, False, True, False])
    scores = np.array([0.9, 0.8, 0.4, 0.3])
    assert auroc(labels, scores) == pytest.approx(0.75)  # 3 of 4 pairs
    assert auprc(labels, scores) == pytest.approx(0.5 * 1 + 0.5 * 2 / 3)
    tied = np.array([0.5, 0.5, 0.2])
    assert auroc(np.array([True, False, True]), tied) == pytest.approx(0.25)
    assert auprc(np.array([True, False, True]), tied) == pytest.approx(0.25 + 1 / 3)
    # no peak: Basenji's 0.5 and 0
    assert (auroc(np.zeros(3, bool), tied), auprc(np.zeros(3, bool), tied)) == (0.5, 0.0)
    rng = np.random.default_rng(3)
    for _ in range(5):
        truth = rng.uniform(size=120) < 0.2
        score = np.round(rng.normal(size=120) + truth, 1)
        assert auroc(truth, score) == pytest.approx(reference_auroc(truth, score), abs=1e-12)
        assert auprc(truth, score) == pytest.approx(reference_auprc(truth, score), abs=1e-12)


def test_specificity_classes_split_chip_by_mark():
    assert specificity_class("CHIP:H3K27ac:liver") == "CHIP:H3K27ac"
    assert specificity_class("CAGE:acute myeloid leukemia:THP-1") == "CAGE"
    assert specificity_class("DNASE:lung") == "DNASE"
    # as Basenji: a mark with no cell type after it is still split off, and descriptions
    # without ':' share one class (Basenji's '*') rather than each being a class of one
    assert specificity_class("CHIP:CTCF") == "CHIP:CTCF"
    assert specificity_class("liver") == specificity_class("heart") == "OTHER"
    assert specificity_class("CHIP") == "OTHER"


# --- Basenji's basenji_test_specificity.py, transcribed -------------------------------


def basenji_class(description: str) -> str:
    """Basenji's class of a description: '*' without ':', CHIP and its mark, else the
    first field."""
    if ":" not in description:
        return "*"
    fields = description.split(":")
    return "/".join(fields[:2]) if fields[0] == "CHIP" else fields[0]


def basenji_quantile_normalize(block: np.ndarray) -> np.ndarray:
    """The qnorm package's quantile_normalize (axis 1) that Basenji's script calls: each
    column's argsort; the target is the mean of the sorted columns; walking each sorted
    column, a block of equal values gets the mean of the target over the block. (Basenji
    runs it in float32; here float64, to compare to the last bits.)"""
    order = np.argsort(block, axis=0)
    ordered = np.take_along_axis(block, order, axis=0)
    target = ordered.mean(axis=1)
    out = np.empty(block.shape)
    rows = block.shape[0]
    for col in range(block.shape[1]):
        i = 0
        while i < rows:
            n = 0
            value = 0.0
            while i + n < rows and ordered[i, col] == ordered[i + n, col]:
                value += target[i + n]
                n += 1
            out[order[i : i + n, col], col] = value / n
            i += n
    return out


def basenji_specificity(
    pred: np.ndarray, target: np.ndarray, descriptions: list[str], class_min: int
) -> np.ndarray:
    """basenji_test_specificity.py's loop over classes on (positions, tracks) arrays: NaN
    for a class under `class_min`, else quantile-normalise predictions and targets,
    subtract each row's mean over the class, scipy's Pearson R per track."""
    classes = np.array([basenji_class(d) for d in descriptions])
    out = np.zeros(len(descriptions))
    for name in sorted(set(classes)):
        mask = classes == name
        if mask.sum() < class_min:
            out[mask] = np.nan
            continue
        p = basenji_quantile_normalize(pred[:, mask])
        y = basenji_quantile_normalize(target[:, mask])
        p -= p.mean(axis=-1, keepdims=True)
        y -= y.mean(axis=-1, keepdims=True)
        out[mask] = [pearsonr(p[:, t], y[:, t])[0] for t in range(int(mask.sum()))]
    return out


BASENJI_DESCRIPTIONS = [
    "DNASE:a",
    "CHIP:H3K4me3:a",
    "liver",  # no ':': with "heart", Basenji's class '*'
    "CHIP:CTCF",  # with "CHIP:CTCF:b", Basenji's class CHIP/CTCF
    "CAGE:a",  # a class of one
    "DNASE:b",
    "heart",
    "CHIP:CTCF:b",
    "CHIP:H3K4me3:b",
    "DNASE:c",
    "CHIP:ZNF1:a",  # a class of one
    "CHIP:H3K4me3:c",
]


@pytest.mark.parametrize("class_min", [2, 3])
def test_specificity_equals_basenjis_script_transcribed(tmp_path, monkeypatch, class_min):
    # small integer-valued columns: many ties in targets and predictions alike
    rng = np.random.default_rng(11)
    shape = (4, 24, len(BASENJI_DESCRIPTIONS))
    target = np.round(rng.gamma(0.4, 3.0, size=shape)).astype(np.float16)
    pred = np.round(target * 0.5 + rng.gamma(1.0, 1.0, size=shape), 0).astype(np.float32)
    monkeypatch.setattr(spill_module, "GROUP_BYTES", 1)  # a track a read: the streaming path
    spill = spilled(tmp_path, pred, target, batch=3)
    options = ColumnOptions(specificity=True, min_class=class_min)
    got = column_metrics(spill, BASENJI_DESCRIPTIONS, options)["specificity_r"]
    spill.close()
    flat = (a.reshape(-1, shape[-1]).astype(np.float64) for a in (pred, target))
    expected = basenji_specificity(*flat, BASENJI_DESCRIPTIONS, class_min)
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-12)
    assert np.isnan(expected[[4, 10]]).all()  # the classes of one
    assert np.isfinite(expected[[2, 6]]).all() == (class_min == 2)  # '*', of two
    assert np.isfinite(expected).sum() == (10 if class_min == 2 else 6)


def basenji_ben_hoch(p: np.ndarray) -> list[float]:
    """basenji_test.py's ben_hoch: sorted by (p, index), q = p·m // rank (a floor
    division, no step-up minimum), back in the order of `p`."""
    m = len(p)
    ranked = sorted((float(p[k]), k) for k in range(m))
    q = sorted((k, value * m // (i + 1)) for i, (value, k) in enumerate(ranked))
    return [value for _, value in q]


def test_basenjis_ben_hoch_calls_every_p_below_its_rank_over_m():
    # what the docs say of Basenji's peak call: its "q < 0.01" is p < rank/m, a
    # Benjamini-Hochberg at level 1, which calls every peak crossreg's 0.01 calls and more
    from scipy.stats import poisson

    y = np.round(np.random.default_rng(2).gamma(0.3, 4.0, size=400), 2)
    p = 1 - poisson.cdf(np.round(y) - 1, mu=y.mean())
    m = p.size
    rank = np.empty(m)
    rank[np.lexsort((np.arange(m), p))] = np.arange(1, m + 1)
    basenji = np.array(basenji_ben_hoch(p)) < 0.01
    np.testing.assert_array_equal(basenji, p * m < rank)
    ours = poisson_peaks(y)
    assert (ours <= basenji).all() and 0 < ours.sum() < basenji.sum()


# --- the spilled columns, in one group or many -----------------------------------------

DESCRIPTIONS = [
    "DNASE:a",
    "CHIP:H3K27ac:a",
    "DNASE:b",
    "CHIP:CTCF:a",
    "CHIP:H3K27ac:b",
    "DNASE:c",
]


def planted(windows: int = 5, bins: int = 16) -> tuple[np.ndarray, np.ndarray]:
    """Predictions (float32) and targets (float16) ``(windows, bins, tracks)`` with ties."""
    rng = np.random.default_rng(4)
    target = np.round(rng.gamma(0.4, 3.0, size=(windows, bins, len(DESCRIPTIONS))))
    pred = np.round(target * 0.5 + rng.gamma(1.0, 1.0, size=target.shape), 1)
    return pred.astype(np.float32), target.astype(np.float16)


def spilled(tmp_path: Path, pred: np.ndarray, target: np.ndarray, batch: int) -> ColumnSpill:
    spill = ColumnSpill(tmp_path, pred.shape[0], pred.shape[1], pred.shape[2], target.dtype)
    for start in range(0, pred.shape[0], batch):
        rows = list(range(start, min(start + batch, pred.shape[0])))
        spill.add(rows, torch.from_numpy(pred[rows]), target[rows])
    return spill


def test_column_metrics_have_the_same_bits_on_any_thread_count_or_group_size(tmp_path, monkeypatch):
    pred, target = planted()
    options = ColumnOptions(True, True, True)
    runs = []
    for budget, workers in ((spill_module.GROUP_BYTES, 1), (spill_module.GROUP_BYTES, 3), (1, 4)):
        monkeypatch.setattr(spill_module, "GROUP_BYTES", budget)
        (tmp_path / f"{budget}-{workers}").mkdir()
        spill = spilled(tmp_path / f"{budget}-{workers}", pred, target, batch=2)
        runs.append(column_metrics(spill, DESCRIPTIONS, options, workers=workers))
        spill.close()
    for other in runs[1:]:
        assert other.keys() == runs[0].keys()
        for name, values in runs[0].items():
            np.testing.assert_array_equal(other[name], values, err_msg=name)


@pytest.mark.parametrize("one_track_groups", [False, True])
def test_column_metrics_equal_the_references(tmp_path, monkeypatch, one_track_groups):
    pred, target = planted()
    if one_track_groups:  # the streaming path: every read holds one track
        monkeypatch.setattr(spill_module, "GROUP_BYTES", 1)
    spill = spilled(tmp_path, pred, target, batch=2)
    size = group_size(spill.positions)
    assert size == 1 if one_track_groups else size >= len(DESCRIPTIONS)
    got = column_metrics(spill, DESCRIPTIONS, ColumnOptions(True, True, True))
    spill.close()
    p = pred.reshape(-1, len(DESCRIPTIONS)).astype(np.float64)
    y = target.reshape(-1, len(DESCRIPTIONS)).astype(np.float64)
    expected = np.full(len(DESCRIPTIONS), np.nan)
    for members in ([0, 2, 5], [1, 4]):  # CHIP:CTCF has one track: NaN
        expected[members] = reference_specificity(p[:, members], y[:, members])
    np.testing.assert_allclose(got["specificity_r"], expected, rtol=1e-9, atol=1e-12)
    for t in range(len(DESCRIPTIONS)):
        assert got["spearman_r"][t] == pytest.approx(spearmanr(p[:, t], y[:, t])[0], abs=1e-12)
        every8_p, every8_y = pred[:, ::8, t].ravel(), target[:, ::8, t].ravel()
        peaks = reference_peaks(every8_y.astype(np.float64))
        assert got["peaks"][t] == peaks.sum()
        if peaks.any():
            assert got["auroc"][t] == pytest.approx(reference_auroc(peaks, every8_p), abs=1e-12)
            assert got["auprc"][t] == pytest.approx(reference_auprc(peaks, every8_p), abs=1e-12)
        else:
            assert (got["auroc"][t], got["auprc"][t]) == (0.5, 0.0)
    assert got["peaks"].sum() > 0


def test_column_metrics_report_progress_per_track(tmp_path, monkeypatch, caplog):
    """Hours at 5,313 tracks: each statistic logs how many tracks are done, and ends at all
    of them (specificity reads each track of a kept class three times; CTCF's one is out)."""
    monkeypatch.setenv("CROSSREG_PROGRESS", "log")
    monkeypatch.setattr(spill_module, "GROUP_BYTES", 1)  # one track a read
    pred, target = planted()
    spill = spilled(tmp_path, pred, target, batch=2)
    with caplog.at_level(logging.INFO, logger="crossreg"):
        column_metrics(spill, DESCRIPTIONS, ColumnOptions(True, True, True))
    spill.close()
    lines = [r.getMessage() for r in caplog.records]
    kept = 3 * (len(DESCRIPTIONS) - 1)
    done = f"specificity (3 reads of each track): {kept}/{kept} tracks"
    assert any(line.startswith(done) for line in lines)
    tracks = len(DESCRIPTIONS)
    assert any(line.startswith(f"rank and peaks: {tracks}/{tracks} tracks") for line in lines)


def test_min_class_leaves_smaller_classes_out(tmp_path):
    pred, target = planted()
    spill = spilled(tmp_path, pred, target, batch=5)
    got = column_metrics(spill, DESCRIPTIONS, ColumnOptions(specificity=True, min_class=3))
    spill.close()
    assert set(got) == {"specificity_r"}
    assert np.isfinite(got["specificity_r"][[0, 2, 5]]).all()
    assert np.isnan(got["specificity_r"][[1, 3, 4]]).all()
    with pytest.raises(ValueError, match="min_class 1: a class needs at least 2 tracks"):
        ColumnOptions(specificity=True, min_class=1)


def test_classes_left_out_are_logged_in_one_line(tmp_path, caplog):
    """The paper's human table has 483 single-factor ChIP classes: one line names how many
    were left out and the first few, not a line each."""
    factors = [f"CHIP:ZNF{i}:a" for i in range(40)]
    descriptions = ["DNASE:a", "DNASE:b", *factors]
    rng = np.random.default_rng(1)
    target = rng.gamma(0.5, 2.0, size=(3, 8, len(descriptions)))
    pred = target + rng.gamma(1.0, 1.0, size=target.shape)
    spill = spilled(tmp_path, pred.astype(np.float32), target.astype(np.float16), batch=3)
    with caplog.at_level(logging.INFO, logger="crossreg"):
        got = column_metrics(spill, descriptions, ColumnOptions(specificity=True))
    spill.close()
    assert np.isfinite(got["specificity_r"][:2]).all()
    assert np.isnan(got["specificity_r"][2:]).all()
    lines = [r.getMessage() for r in caplog.records if "left out" in r.getMessage()]
    first = ", ".join(f"CHIP:ZNF{i} (1)" for i in sorted(range(40), key=str)[:5])
    assert lines == [
        f"specificity: 40 class(es) of fewer than 2 tracks left out (NaN, 40 track(s)): "
        f"{first} and 35 more (summary.json's specificity_by_class lists every class)"
    ]


def test_a_spill_larger_than_the_free_disk_is_refused_before_writing(tmp_path, monkeypatch):
    class Usage:
        free = 5_000_000

    monkeypatch.setattr(spill_module.shutil, "disk_usage", lambda path: Usage())
    said = (
        f"{tmp_path}: keeping the predictions and targets of 100 tracks × 10,000 bins for "
        "--specificity/--rank/--peaks needs 6 MB on disk, but 5 MB are free"
    )
    with pytest.raises(ValueError, match=r"leave those options out$") as caught:
        ColumnSpill(tmp_path, 10, 1000, 100, np.float16)  # 6 MB
    assert said in str(caught.value)
    assert not list(tmp_path.iterdir())
    ColumnSpill(tmp_path, 10, 1000, 80, np.float16).close()  # 4.8 MB fits


def resident_kb(path: Path) -> int:
    """The kB of the file `path` that this process's memory maps hold resident."""
    total, inside = 0, False
    for line in Path("/proc/self/smaps").read_text().splitlines():
        fields = line.split()
        if "-" in fields[0] and len(fields) >= 5:  # a mapping's header line
            inside = fields[-1] == str(path)
        elif inside and fields[0] == "Rss:":
            total += int(fields[1])
    return total


@pytest.mark.skipif(not Path("/proc/self/smaps").exists(), reason="reads /proc/self/smaps")
def test_a_spill_keeps_its_pages_resident_only_up_to_the_release_size(tmp_path, monkeypatch):
    # the spill of a human test split is 55 GB: the maps' pages, written and read, must
    # not all stay in the process's resident memory
    monkeypatch.setattr(spill_module, "RELEASE_BYTES", 512 << 10)
    monkeypatch.setattr(spill_module, "GROUP_BYTES", 64 * 4 * 32768)  # groups of 4 tracks
    windows, bins, tracks = 128, 256, 16  # 2 MB of predictions, 1 MB of targets
    rng = np.random.default_rng(0)
    pred = rng.random((windows, bins, tracks), dtype=np.float32)
    target = rng.random((windows, bins, tracks)).astype(np.float16)
    spill = ColumnSpill(tmp_path, windows, bins, tracks, np.float16)
    files = tmp_path / "pred.npy", tmp_path / "target.npy"
    most = 0
    for start in range(0, windows, 4):
        rows = list(range(start, start + 4))
        spill.add(rows, torch.from_numpy(pred[rows]), target[rows])
        most = max(most, sum(resident_kb(f) for f in files))
    read = []
    for group in spill.groups(range(tracks)):
        read.append(group)
        most = max(most, sum(resident_kb(f) for f in files))
    # the release size and what one batch or group touches (384 kB), of a 3 MB spill
    assert most <= 512 + 384
    spill.close()
    # nothing written was lost: the groups read back hold the columns, track-major
    np.testing.assert_array_equal(np.concatenate([g[1] for g in read]), pred.reshape(-1, tracks).T)
    np.testing.assert_array_equal(
        np.concatenate([g[2] for g in read]), target.reshape(-1, tracks).T
    )


# --- end to end on the session's store -------------------------------------------------


@pytest.fixture(scope="module")
def world(tmp_path_factory, stores):
    """A tiny human store and a checkpoint of one untrained human head."""
    root = tmp_path_factory.mktemp("evaluate_columns")
    store = stores["human"]
    model, _, _ = untrained_checkpoint(root / "model", store)
    return root, store, model


def test_min_class_without_specificity_is_refused(world, tmp_path, capsys):
    root, store, _ = world
    argv = ["evaluate", "--model", str(root / "model"), "--data", str(store)]
    assert main([*argv, "--out", str(tmp_path / "out"), "--rank", "--min-class", "5"]) == 1
    assert "--min-class 5 applies to --specificity only; add it" in capsys.readouterr().err
    # the default's own value, given, is no less a value for --specificity alone
    assert main([*argv, "--out", str(tmp_path / "out"), "--rank", "--min-class", "2"]) == 1
    assert "--min-class 2 applies to --specificity only; add it" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_evaluate_specificity_rank_peaks_end_to_end(world, tmp_path):
    root, store, model = world
    out = tmp_path / "eval"
    argv = ["evaluate", "--model", str(root / "model"), "--data", str(store), "--out", str(out)]
    assert main([*argv, "--specificity", "--rank", "--peaks", "--no-plots"]) == 0
    table = read_metrics(out / "metrics.tsv")
    assert table.columns == [
        "identifier",
        "description",
        "pearson_r",
        "r2",
        "specificity_r",
        "spearman_r",
        "peaks",
        "auroc",
        "auprc",
    ]
    assert not [p.name for p in out.iterdir() if p.name.startswith(".columns-")]
    # the same predictions, made here window by window, give the same statistics
    data = DataStore(store)
    targets = np.asarray(data.targets("test"), dtype=np.float32)
    with torch.inference_mode():
        pred = predict_batch(
            model.eval(), one_hot(np.asarray(data.sequences("test"))), "human", InferenceOptions()
        )
        pred = crop_to_targets(pred, targets.shape[1]).float().numpy()
    p = pred.reshape(-1, targets.shape[-1])
    y = targets.reshape(-1, targets.shape[-1])
    for t in range(y.shape[1]):
        assert table["spearman_r"][t] == pytest.approx(spearmanr(p[:, t], y[:, t])[0], abs=1e-4)
        peaks = reference_peaks(targets[:, ::8, t].ravel().astype(np.float64))
        assert table["peaks"][t] == peaks.sum()
    descriptions = table["description"].to_list()
    classes = {specificity_class(d) for d in descriptions}
    for name in classes:
        members = [i for i, d in enumerate(descriptions) if specificity_class(d) == name]
        got = table["specificity_r"].to_numpy()[members]
        if len(members) < 2:
            assert np.isnan(got).all()
        else:
            expected = reference_specificity(p[:, members], y[:, members])
            np.testing.assert_allclose(got, expected, atol=1e-4)
    summary = json.loads((out / "summary.json").read_text())
    assert summary["min_class"] == 2
    assert summary["mean_spearman_r"] == pytest.approx(float(table["spearman_r"].mean()))
    assert {"specificity_r", "spearman_r", "auroc", "auprc"} <= set(summary["by_assay"][0])
    assert sum(c["tracks"] for c in summary["specificity_by_class"]) == table.height
    # compare reads a table with the extra columns beside a plain one
    plain = tmp_path / "plain"
    assert main([*argv[:-1], str(plain), "--no-plots"]) == 0
    # a killed run's columns are removed by the next run into its folder
    (plain / ".columns-killed").mkdir()
    (plain / ".columns-killed" / "pred.npy").write_bytes(b"0" * 100)
    assert main([*argv[:-1], str(plain), "--no-plots"]) == 0
    assert not (plain / ".columns-killed").exists()
    assert pl.read_csv(plain / "metrics.tsv", separator="\t").columns == [
        "identifier",
        "description",
        "pearson_r",
        "r2",
    ]
    assert "mean_spearman_r" not in json.loads((plain / "summary.json").read_text())
    np.testing.assert_allclose(read_metrics(plain)["pearson_r"], table["pearson_r"])
    # r_by_assay.png shows the specificity R of each class's tracks beside the assay's R
    figure = r_by_assay_figure(table)
    assays = len({d.split(":")[0] for d in descriptions})
    drawn = [c.get_offsets()[:, 1] for c in figure.axes[0].collections[-assays:]]
    drawn = np.concatenate(drawn)
    spec = table["specificity_r"].to_numpy()
    np.testing.assert_allclose(np.sort(drawn), np.sort(spec[np.isfinite(spec)]))
    assert figure.axes[0].get_legend_handles_labels()[1] == ["specificity R"]
    compared = ["compare", "--joint", str(out), "--single", str(plain), "--no-plots"]
    assert main([*compared, "--out", str(tmp_path / "compare")]) == 0
