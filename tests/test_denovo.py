"""De novo case/control tests: exact answers, references, planted enrichment recovered."""

from __future__ import annotations

import json
import logging
import math
import warnings

import h5py
import numpy as np
import polars as pl
import pytest
from scipy import stats

from crossreg.cli import build_parser
from crossreg.io.vcf import Variant, write_vcf
from crossreg.stats.denovo import (
    benjamini_hochberg,
    mann_whitney,
    principal_components,
    risk_scores,
    standardise,
)
from crossreg.stats.denovo_inputs import DenovoData, load_groups
from crossreg.stats.denovo_tables import run_tests


def _bh_reference(p: list[float]) -> list[float]:
    """q_i = min over j with p_j >= p_i of p_j * n / rank_j, capped at 1."""
    n = len(p)
    ranks = {i: r + 1 for r, i in enumerate(sorted(range(n), key=lambda i: p[i]))}
    return [min(1.0, min(p[j] * n / ranks[j] for j in range(n) if p[j] >= p[i])) for i in range(n)]


def test_benjamini_hochberg_known_answer_and_reference():
    q = benjamini_hochberg([0.01, 0.04, 0.03, 0.2])
    np.testing.assert_allclose(q, [0.04, 0.04 * 4 / 3, 0.04 * 4 / 3, 0.2])
    p = np.random.default_rng(0).uniform(size=50) ** 3
    np.testing.assert_allclose(benjamini_hochberg(p), _bh_reference(list(p)))
    with_nan = benjamini_hochberg([0.01, np.nan, 0.02])
    assert np.isnan(with_nan[1]) and with_nan[0] == pytest.approx(0.02)
    tied = np.array([0.01, 0.04, 0.03, 0.2, 0.03, 1.0, 0.5, 0.001])
    for values in (p, tied):
        want = stats.false_discovery_control(values, method="bh")
        np.testing.assert_allclose(benjamini_hochberg(values), want, rtol=1e-14)


def test_benjamini_hochberg_with_ties_nans_and_a_cap_equals_the_plain_loop():
    # the step-up loop over the sorted finite p, from the largest down: q of rank i is the
    # least p·m/j over ranks j ≥ i, capped at 1 (which the largest p, its own q, already
    # is); NaN stays NaN and is not among the m
    p = [0.02, np.nan, 0.02, 0.9, 0.001, np.nan, 0.02, 0.95, 0.04, 0.9]
    finite = [i for i, v in enumerate(p) if not math.isnan(v)]
    m = len(finite)
    want = [math.nan] * len(p)
    running = math.inf
    for rank, i in reversed(list(enumerate(sorted(finite, key=lambda i: p[i]), start=1))):
        running = min(running, p[i] * m / rank, 1.0)
        want[i] = running
    got = benjamini_hochberg(p)
    np.testing.assert_allclose(got, want, rtol=1e-15)
    assert got[0] == got[2] == got[6] == pytest.approx(0.02 * 8 / 4)  # tied p, tied q
    assert got[7] == 0.95 and got[3] == got[9] == 0.95  # 0.9·8/7 > 0.95·8/8: stepped down
    order = np.argsort(np.array(p)[finite])
    assert (np.diff(got[finite][order]) >= 0).all()  # q rises with p
    assert benjamini_hochberg([0.6, 0.7]).tolist() == [0.7, 0.7]  # 1.2, stepped down
    assert np.isnan(benjamini_hochberg([np.nan, np.nan])).all()


def _mann_whitney_reference(case: list[float], control: list[float]) -> tuple[float, float]:
    """AUC as the share of (case, control) pairs with the case higher (ties count 1/2), and
    the two-sided p of the normal approximation to U (midranks, tie-corrected variance,
    continuity correction 1/2)."""
    n1, n2 = len(case), len(control)
    auc = sum((a > b) + 0.5 * (a == b) for a in case for b in control) / (n1 * n2)
    pooled = [*case, *control]
    n = n1 + n2

    def midrank(v: float) -> float:
        return sum(x < v for x in pooled) + (sum(x == v for x in pooled) + 1) / 2

    u = sum(midrank(a) for a in case) - n1 * (n1 + 1) / 2
    ties = sum(t**3 - t for t in (pooled.count(v) for v in set(pooled)))
    sigma = math.sqrt(n1 * n2 / 12 * ((n + 1) - ties / (n * (n - 1))))
    z = (abs(u - n1 * n2 / 2) - 0.5) / sigma
    return auc, min(1.0, math.erfc(z / math.sqrt(2)))


def test_mann_whitney_auc_and_p():
    perfect = mann_whitney([3.0, 4.0, 5.0], [1.0, 2.0])
    assert perfect.auc == 1.0 and perfect.median_case == 4.0 and perfect.n_control == 2
    # the normal approximation even where an exact test applies (it would give 2/10):
    # U = 6, mean 3, variance 6/12 * 6 = 3
    assert perfect.p == pytest.approx(math.erfc(2.5 / math.sqrt(3) / math.sqrt(2)), rel=1e-12)
    # by hand: pairs (1,2) (1,3) (2,3) (2,3) lose, (2,2) (2,2) tie: AUC 1/6; midranks
    # 1, 3, 3 | 3, 5 give U = 1, var = 6/12 * (6 - 24/20) = 2.4, z = 1.5 / sqrt(2.4)
    tied = mann_whitney([1.0, 2.0, 2.0], [2.0, 3.0])
    assert tied.auc == pytest.approx(1 / 6)
    assert tied.p == pytest.approx(math.erfc(1.5 / math.sqrt(2.4) / math.sqrt(2)), rel=1e-12)
    assert (tied.n_case, tied.median_case, tied.median_control) == (3, 2.0, 2.5)
    rng = np.random.default_rng(1)
    a, b = rng.normal(0.5, 1, 40), rng.normal(0, 1, 30).round(1)
    a[:10] = b[:10]  # ties across the groups
    got = mann_whitney(a, b)
    auc, p = _mann_whitney_reference(a.tolist(), b.tolist())
    assert got.auc == pytest.approx(auc, rel=1e-12) and got.p == pytest.approx(p, rel=1e-9)
    assert mann_whitney(b, a).auc == pytest.approx(1 - auc, rel=1e-12)
    with pytest.raises(ValueError, match="both groups"):
        mann_whitney([], [1.0])


def test_principal_components_match_the_covariance_eigenvectors():
    rng = np.random.default_rng(2)
    z = rng.normal(size=(200, 6)) @ rng.normal(size=(6, 6))
    pcs = principal_components(z, 3)
    centred = z - z.mean(axis=0)
    values, vectors = np.linalg.eigh(np.cov(centred.T))
    np.testing.assert_allclose(pcs.explained, values[::-1][:3] / values.sum(), rtol=1e-10)
    for k in range(3):
        assert abs(pcs.loadings[:, k] @ vectors[:, -1 - k]) == pytest.approx(1.0)
    np.testing.assert_allclose(pcs.scores, centred @ pcs.loadings)
    assert (pcs.loadings[np.abs(pcs.loadings).argmax(axis=0), range(3)] > 0).all()


@pytest.mark.parametrize("shape", [(300, 40), (25, 60)])
@pytest.mark.parametrize("offset", [0.0, 1000.0])
def test_principal_components_equal_the_svds_without_one(shape, offset, monkeypatch):
    # from the smaller side's Gram matrix, centred a block of rows at a time: an SVD of
    # 255,000 de novo variants × 5,313 tracks would take hours and copies of the matrix
    from crossreg.stats import denovo

    monkeypatch.setattr(denovo, "BLOCK_ROWS", 64)
    rng = np.random.default_rng(7)
    z = rng.normal(size=(shape[0], 8)) @ rng.normal(size=(8, shape[1]))
    z += 0.1 * rng.normal(size=shape) + offset
    centred = z - z.mean(axis=0)
    _, s, vt = np.linalg.svd(centred, full_matrices=False)
    want = vt[:5].T * np.sign(vt[:5].T[np.abs(vt[:5].T).argmax(axis=0), range(5)])

    def no_svd(*args, **kwargs):
        raise AssertionError("the whole matrix was decomposed")

    monkeypatch.setattr(np.linalg, "svd", no_svd)
    pcs = principal_components(z, 5)
    np.testing.assert_allclose(pcs.loadings, want, atol=1e-8)
    np.testing.assert_allclose(pcs.explained, s[:5] ** 2 / (s**2).sum(), rtol=1e-10)
    np.testing.assert_allclose(pcs.scores, centred @ want, atol=1e-7)


def test_components_stop_at_the_rank_of_the_scores():
    # 6 variants centred span 5 dimensions: a 6th component would be rounding noise
    z = np.random.default_rng(4).normal(size=(6, 10))
    pcs = principal_components(z, 10)
    assert pcs.scores.shape == (6, 5) and pcs.loadings.shape == (10, 5)
    assert principal_components(z + 1000.0, 10).scores.shape == (6, 5)  # far from 0
    tall = np.repeat(z, 5, axis=0) + 1000.0  # 30 variants of 6 distinct rows: rank 5
    assert principal_components(tall, 10).scores.shape == (30, 5)
    assert pcs.explained.sum() == pytest.approx(1.0)
    assert principal_components(np.ones((5, 3)), 2).scores.shape == (5, 0)


def _planted(n_people: int = 40, per_person: int = 6, shift: float = 1.0, seed: int = 3):
    """SAD of cases' and controls' variants; one case variant per person shifted on track 0."""
    rng = np.random.default_rng(seed)
    rows, people, is_case = [], [], []
    for group in ("case", "control"):
        for k in range(n_people):
            values = rng.normal(size=(per_person, 4))
            if group == "case":
                values[0, 0] -= 3 * shift
            rows.append(values)
            people += [f"{group}{k:03d}"] * per_person
            is_case += [group == "case"] * per_person
    return np.concatenate(rows), people, np.array(is_case)


def _standardised_reference(sad: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """The whole table in float64, centred and scaled by the reference rows' mean and
    population sd (a constant track scaled by 1)."""
    ref = sad[reference].astype(np.float64)
    sd = ref.std(axis=0)
    return (sad.astype(np.float64) - ref.mean(axis=0)) / np.where(sd > 0, sd, 1.0)


def _risk_reference(sad, owner, is_case, fold_of) -> np.ndarray:
    """Per person, the sum over their variants of z · w out of fold: z standardised by the
    other folds' controls, w the unit case − control mean difference of the other folds."""
    scores = np.zeros(fold_of.size)
    for fold in np.unique(fold_of):
        train = fold_of[owner] != fold
        z = _standardised_reference(sad, train & ~is_case)
        w = z[train & is_case].mean(axis=0) - z[train & ~is_case].mean(axis=0)
        for i, score in zip(owner[~train], z[~train] @ (w / np.linalg.norm(w)), strict=True):
            scores[i] += score
    return scores


def test_standardise_matches_the_whole_table_standardised(monkeypatch):
    from crossreg.stats import denovo

    monkeypatch.setattr(denovo, "BLOCK_ROWS", 7)  # several blocks, the last one short
    rng = np.random.default_rng(5)
    sad = (rng.normal(size=(60, 5)) * [1, 0.01, 100, 1, 1] + 50).astype(np.float32)
    sad[:, 3] = 2.5  # constant: centred, scaled by 1
    reference = rng.random(60) < 0.4
    z = standardise(sad, reference)
    want = _standardised_reference(sad, reference)
    np.testing.assert_allclose(np.concatenate([b for _, b in z.blocks()]), want, rtol=1e-12)
    assert (z.scale[3], z.mean[3]) == (1.0, 2.5)
    mask = rng.random(60) < 0.5
    got = z.means(mask, ~mask)
    np.testing.assert_allclose(got[0], want[mask].mean(axis=0), rtol=1e-10, atol=1e-13)
    np.testing.assert_allclose(got[1], want[~mask].mean(axis=0), rtol=1e-10, atol=1e-13)
    w = rng.normal(size=(5, 2))
    np.testing.assert_allclose(z.project(w), want @ w, rtol=1e-10, atol=1e-12)
    with pytest.raises(ValueError, match="reference row"):
        standardise(sad, np.zeros(60, dtype=bool))


def test_risk_scores_are_out_of_fold_and_find_planted_cases(monkeypatch):
    from crossreg.stats import denovo

    monkeypatch.setattr(denovo, "BLOCK_ROWS", 50)  # 480 variants in blocks
    sad, people, is_case = _planted()
    risk = risk_scores(sad, people, is_case, folds=4, seed=0)
    # each fold's scores from the standardisation and direction of the other folds only
    owner = np.array([risk.individuals.index(p) for p in people])
    want = _risk_reference(sad, owner, is_case, risk.folds)
    np.testing.assert_allclose(risk.scores, want, rtol=1e-9, atol=1e-12)
    found = mann_whitney(risk.scores[risk.is_case], risk.scores[~risk.is_case])
    assert found.auc > 0.65 and found.p < 0.01
    # folds are balanced within each group
    assert np.bincount(risk.folds[risk.is_case]).tolist() == [10, 10, 10, 10]
    with pytest.raises(ValueError, match="both case and control"):
        risk_scores(sad, ["x"] * len(people), is_case)


def test_risk_scores_report_progress(monkeypatch, caplog):
    # minutes at the paper's 255,000 variants
    from crossreg.stats import denovo

    monkeypatch.setenv("CROSSREG_PROGRESS", "log")
    monkeypatch.setattr(denovo, "BLOCK_ROWS", 50)
    sad, people, is_case = _planted()
    with caplog.at_level(logging.INFO, logger="crossreg"):
        risk_scores(sad, people, is_case, folds=4, seed=0)
    lines = [r.getMessage() for r in caplog.records]
    assert any(line.startswith("risk scores: 30/30 row blocks") for line in lines)  # 3 passes


class _CountedReads:
    """A score table whose row slices count the rows read from it."""

    def __init__(self, table: np.ndarray) -> None:
        self.table, self.rows = table, 0

    @property
    def shape(self) -> tuple[int, ...]:
        return self.table.shape

    def __len__(self) -> int:
        return len(self.table)

    def __getitem__(self, key: slice) -> np.ndarray:
        rows = self.table[key]
        self.rows += len(rows)
        return rows


@pytest.mark.parametrize("folds", [2, 5])
def test_risk_scores_read_the_table_three_times_for_all_folds(folds, monkeypatch):
    # before: four passes for each fold (the controls' means, their squares, the groups'
    # means, the projection), 20 at the default 5 folds: 2-3 minutes of a 5-minute run at
    # 129,228 variants x 5,313 tracks; now three for all folds, the same scores
    from crossreg.stats import denovo

    monkeypatch.setattr(denovo, "BLOCK_ROWS", 50)
    sad, people, is_case = _planted()
    sad[:, 1] = sad[:, 1] * 0.01 + 1000.0  # a far offset against a small sd
    sad[:, 3] = 2.5  # constant: scaled by 1
    sad = sad.astype(np.float32)
    table = _CountedReads(sad)
    risk = risk_scores(table, people, is_case, folds=folds, seed=1)
    assert table.rows == 3 * len(sad)
    owner = np.array([risk.individuals.index(p) for p in people])
    want = _risk_reference(sad, owner, is_case, risk.folds)
    np.testing.assert_allclose(risk.scores, want, rtol=1e-12, atol=1e-12 * np.abs(want).max())


def test_the_components_report_progress_over_every_pass(monkeypatch, caplog):
    # at 129,000 variants × 5,313 tracks the two passes standardising the scores (half a
    # minute) and, after "principal components: 64/64 row blocks ... done", the Gram
    # matrix's eigenvectors and the projection on them (over a minute) showed nothing;
    # now each pass over the table has its meter and a line names the eigendecomposition
    from crossreg.stats import denovo

    monkeypatch.setenv("CROSSREG_PROGRESS", "log")
    monkeypatch.setenv("CROSSREG_PROGRESS_INTERVAL", "0")  # a line for every block
    monkeypatch.setattr(denovo, "BLOCK_ROWS", 50)  # 480 variants: 10 blocks a pass
    sad, _, is_case = _planted()
    with caplog.at_level(logging.INFO, logger="crossreg"):
        run_tests(_denovo_data(sad, is_case, per_person=6), components=3, folds=4)
    lines = [r.getMessage() for r in caplog.records]
    assert any(line.startswith("standardising the scores: 20/20 row blocks") for line in lines)
    eigen = lines.index("principal components: the top 3 eigenvectors of the 4 × 4 Gram matrix")
    assert lines[eigen - 1].startswith("principal components: 10/10 row blocks")
    assert lines[eigen + 1].startswith("projecting on the principal components: 1/10 row blocks")
    assert any(
        line.startswith("projecting on the principal components: 10/10 row blocks")
        for line in lines
    )


def test_the_mean_row_before_the_gram_matrix_reports_progress(monkeypatch, caplog):
    # before: nothing showed between "standardising the scores ... done" and the Gram
    # matrix's first line while the mean row was summed (10 s at 129,228 variants)
    from crossreg.stats import denovo

    monkeypatch.setenv("CROSSREG_PROGRESS", "log")
    monkeypatch.setenv("CROSSREG_PROGRESS_INTERVAL", "0")
    monkeypatch.setattr(denovo, "BLOCK_ROWS", 50)  # 480 variants: 10 blocks a pass
    sad, _, is_case = _planted()
    with caplog.at_level(logging.INFO, logger="crossreg"):
        denovo.standardised_components(sad, ~is_case, 3)
    lines = [r.getMessage() for r in caplog.records]
    centring = [i for i, line in enumerate(lines) if line.startswith("centring the scores: ")]
    assert [lines[i].split(" (")[0] for i in centring] == [
        f"centring the scores: {k}/10 row blocks" for k in range(1, 11)
    ]
    assert lines[centring[0] - 1].startswith("standardising the scores: 20/20 row blocks")
    assert lines[centring[-1] + 1].startswith("principal components: 1/10 row blocks")


@pytest.mark.parametrize(
    ("plots", "svg", "counts"),
    [(False, False, [1, 2, 3, 4, 5]), (True, True, [1, 2, 3, 4, 5, 7, 9, 11])],
)
def test_writing_the_tables_and_figures_reports_progress(
    plots, svg, counts, tmp_path, monkeypatch, caplog
):
    # before: nothing showed while the tables were written and the figures drawn (24 s at
    # 129,228 variants); now each file written counts: 4 tables, summary.json, then each
    # figure's PNG and SVG
    from crossreg.stats.denovo_report import write_denovo

    monkeypatch.setenv("CROSSREG_PROGRESS", "log")
    monkeypatch.setenv("CROSSREG_PROGRESS_INTERVAL", "0")
    sad, people, is_case = _planted(n_people=6)
    inputs = _write_inputs(tmp_path, sad, people, is_case)
    groups = {"case": inputs["cases"], "control": inputs["controls"]}
    with caplog.at_level(logging.INFO, logger="crossreg"):
        write_denovo(groups, tmp_path / "r", folds=2, components=2, plots=plots, svg=svg)
    desc = "writing the tables and figures" if plots else "writing the tables"
    lines = [r.getMessage().split(" (")[0] for r in caplog.records]
    files = counts[-1]
    assert [line for line in lines if line.startswith(desc)] == [
        f"{desc}: {k}/{files} files" for k in counts
    ]
    assert len(list((tmp_path / "r").iterdir())) == files


def _denovo_data(sad: np.ndarray, is_case: np.ndarray, per_person: int) -> DenovoData:
    """`sad` as de novo variants on chr1, `per_person` consecutive ones to a person."""
    n, t = sad.shape
    return DenovoData(
        individuals=[
            f"{'case' if c else 'control'}{i // per_person}" for i, c in enumerate(is_case)
        ],
        is_case=is_case,
        labels=[f"dn{i}" for i in range(n)],
        sites=[("chr1", str(i + 1), "A", "C") for i in range(n)],
        identifiers=[f"t{k}" for k in range(t)],
        descriptions=[f"d{k}" for k in range(t)],
        values=sad,
    )


def test_the_statistics_hold_no_copy_of_the_table(monkeypatch):
    # before: a float64 standardised copy for the components and another per risk fold
    # (16 GB beside the 5.4 GB float32 table at 255,000 variants × 5,313 tracks); now
    # blocks of rows and of tracks, whatever the table's size
    import tracemalloc

    from crossreg.stats import denovo

    monkeypatch.setattr(denovo, "BLOCK_ROWS", 256)
    monkeypatch.setattr(denovo, "TRACK_BLOCK", 8)
    rng = np.random.default_rng(3)
    sad = rng.normal(size=(4000, 400)).astype(np.float32)
    data = _denovo_data(sad, np.arange(4000) < 2000, per_person=20)
    tracemalloc.start()
    try:
        run_tests(data, components=5, folds=3)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < sad.nbytes  # 8.8 times it before


def _write_h5_inputs(tmp_path, sad: np.ndarray, is_case: np.ndarray) -> dict:
    """Each group's VCF (one person per 10 variants) and SAD .h5 (float16, with sites)."""
    paths = {}
    for group, mask in (("case", is_case), ("control", ~is_case)):
        rows = np.flatnonzero(mask)
        variants = [
            Variant("chr1", int(i), "A", ("C",), id=f"dn{i}", info={"SAMPLE": f"p{i // 10}"})
            for i in rows
        ]
        vcf, h5 = tmp_path / f"{group}.vcf", tmp_path / f"{group}.h5"
        write_vcf(vcf, variants, contigs={"chr1": len(sad) + 1})
        with h5py.File(h5, "w") as handle:
            handle["snp"] = np.array([v.id for v in variants], dtype="S")
            handle["chr"] = np.array([b"chr1"] * rows.size)
            handle["pos"] = rows + 1
            handle["ref_allele"] = np.array([b"A"] * rows.size)
            handle["alt_allele"] = np.array([b"C"] * rows.size)
            handle["target_ids"] = np.array([f"t{k}" for k in range(sad.shape[1])], dtype="S")
            handle["SAD"] = sad[rows].astype(np.float16)
        paths[group] = (vcf, h5)
    return paths


def test_reading_the_groups_holds_one_joined_table(tmp_path, monkeypatch):
    # before: each group's table was read whole, then both joined into a third, 1.5
    # tables of resident memory (2 allocated); now both files' rows and tracks are read
    # first and each group's kept rows of scores go straight into the joined table, a
    # block at a time
    import tracemalloc

    from crossreg.variants import sad_blocks

    monkeypatch.setattr(sad_blocks, "BLOCK_BYTES", 1 << 20)  # 32 MB table: blocks of 1 MiB
    sad = np.random.default_rng(4).normal(size=(1000, 8000)).astype(np.float32)
    paths = _write_h5_inputs(tmp_path, sad, np.arange(1000) < 500)
    tracemalloc.start()
    try:
        data = load_groups(paths)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    np.testing.assert_array_equal(data.values, sad.astype(np.float16).astype(np.float32))
    assert peak < 1.25 * sad.nbytes  # the joined table, a block and the rows' labels


def test_reading_the_scores_reports_progress_and_keeps_the_chosen_rows(
    tmp_path, monkeypatch, caplog
):
    # minutes at the paper's scale with nothing shown before; a person's allele listed
    # twice leaves a gap in the rows read (read in blocks of 96 rows here)
    from crossreg.variants import sad_blocks

    monkeypatch.setenv("CROSSREG_PROGRESS", "log")
    monkeypatch.setattr(sad_blocks, "BLOCK_BYTES", 96 * 2 * 40)
    sad = np.random.default_rng(5).normal(size=(400, 40)).astype(np.float32)
    is_case = np.arange(400) < 250
    paths = _write_h5_inputs(tmp_path, sad, is_case)
    vcf = paths["case"][0]
    lines = vcf.read_text().splitlines(keepends=True)
    body = [i for i, line in enumerate(lines) if not line.startswith("#")]
    lines[body[101]] = lines[body[100]]  # dn101 becomes p10's dn100 listed again
    vcf.write_text("".join(lines))
    with h5py.File(paths["case"][1], "r+") as handle:
        handle["snp"][101] = b"dn100"
        handle["pos"][101] = 101
    with caplog.at_level(logging.INFO, logger="crossreg"):
        data = load_groups(paths)
    messages = [r.getMessage() for r in caplog.records]
    assert any(m.startswith("reading scores of case.h5: 249/249 rows") for m in messages)
    assert any(m.startswith("reading scores of control.h5: 150/150 rows") for m in messages)
    kept = np.delete(np.arange(400), 101)
    np.testing.assert_array_equal(data.values, sad[kept].astype(np.float16).astype(np.float32))
    assert data.labels == [f"dn{i}" for i in kept]


def test_a_non_finite_score_read_from_an_h5_is_named_by_its_file_row(tmp_path, monkeypatch):
    # the check runs on the rows read, block by block: the row named is the file's
    from crossreg.variants import sad_blocks

    monkeypatch.setattr(sad_blocks, "BLOCK_BYTES", 96 * 2 * 40)
    sad = np.random.default_rng(6).normal(size=(300, 40)).astype(np.float32)
    sad[[3, 250], [7, 2]] = np.inf  # row 3 is a repeat, left out; row 250 a control's
    paths = _write_h5_inputs(tmp_path, sad, np.arange(300) < 200)
    vcf = paths["case"][0]
    lines = vcf.read_text().splitlines(keepends=True)
    body = [i for i, line in enumerate(lines) if not line.startswith("#")]
    lines[body[3]] = lines[body[2]]
    vcf.write_text("".join(lines))
    with h5py.File(paths["case"][1], "r+") as handle:
        handle["snp"][3] = b"dn2"
        handle["pos"][3] = 3
    with pytest.raises(
        ValueError,
        match=r"control\.h5: allele dn250 \(row 51\) has no finite score \(inf\) for track "
        r"t2, and 0 more scores are not finite; the tests need every score",
    ):
        load_groups(paths)


def test_every_table_matches_plain_references(monkeypatch):
    # each statistic of run_tests against the plain one of the whole float64 table, on
    # float16-rounded scores (ties within and across the groups) in blocks of 16 rows
    from crossreg.stats import denovo

    monkeypatch.setattr(denovo, "BLOCK_ROWS", 16)
    monkeypatch.setattr(denovo, "TRACK_BLOCK", 5)
    rng = np.random.default_rng(11)
    n, t = 150, 12
    sad = (rng.normal(size=(n, t)) * 0.05).astype(np.float16).astype(np.float32)
    sad[:60, 2] += 0.05  # the cases' first 60 variants shifted on one track
    sad[:, 7] = 0.0  # a constant track
    is_case = np.arange(n) < 75
    data = _denovo_data(sad, is_case, per_person=3)
    people = data.individuals
    report = run_tests(data, components=4, folds=3, seed=2)

    def reference(x: np.ndarray) -> tuple[float, float]:
        a, b = x[is_case].astype(np.float64), x[~is_case].astype(np.float64)
        u, p = stats.mannwhitneyu(
            a, b, use_continuity=True, alternative="two-sided", method="asymptotic"
        )
        return u / (a.size * b.size), p

    tracks = report["tracks"].sort(pl.col("identifier").str.slice(1).cast(int))
    auc, p = np.array([reference(sad[:, k]) for k in range(t)]).T
    np.testing.assert_array_equal(tracks["auc"], auc)
    np.testing.assert_array_equal(tracks["p"], p)
    np.testing.assert_allclose(tracks["q"], stats.false_discovery_control(p), rtol=1e-14)
    np.testing.assert_array_equal(tracks["median_case"], np.median(sad[is_case], axis=0))
    assert tracks["p"][7] == 1.0 and tracks["p"].arg_min() == 2  # constant; planted
    # components: the SVD of the table standardised by the controls, then centred
    z = _standardised_reference(sad, ~is_case)
    centred = z - z.mean(axis=0)
    _, s, vt = np.linalg.svd(centred, full_matrices=False)
    loadings = vt[:4].T * np.sign(vt[:4].T[np.abs(vt[:4].T).argmax(axis=0), range(4)])
    scores = centred @ loadings
    comps = report["components"]
    np.testing.assert_allclose(comps["explained"], s[:4] ** 2 / (s**2).sum(), rtol=1e-10)
    pc_tests = np.array([reference(scores[:, k]) for k in range(4)]).T
    np.testing.assert_allclose(comps["auc"], pc_tests[0], rtol=1e-12)
    np.testing.assert_allclose(comps["p"], pc_tests[1], rtol=1e-9)
    np.testing.assert_allclose(comps["q"], stats.false_discovery_control(pc_tests[1]), rtol=1e-9)
    shown = report["component_scores"]
    np.testing.assert_allclose(shown.select("PC1", "PC2", "PC3"), scores[:, :3], atol=1e-9)
    # risk scores: out of fold, the plain way
    people_table = report["individuals"].sort("individual")
    names = people_table["individual"].to_list()
    owner = np.array([names.index(person) for person in people])
    want = _risk_reference(sad, owner, is_case, people_table["fold"].to_numpy())
    np.testing.assert_allclose(people_table["risk_score"], want, rtol=1e-9, atol=1e-12)
    risk_case = people_table.filter(pl.col("group") == "case")["risk_score"].to_numpy()
    risk_control = people_table.filter(pl.col("group") == "control")["risk_score"].to_numpy()
    auc, p = stats.mannwhitneyu(risk_case, risk_control, method="asymptotic")
    summary = report["summary"]
    assert summary["risk_auc"] == auc / (risk_case.size * risk_control.size)
    assert summary["risk_p"] == p and summary["cases"] == summary["controls"] == 25


def _write_inputs(tmp_path, sad, people, is_case):
    """VCFs with INFO SAMPLE and matching crossreg-sad TSVs for each group."""
    paths = {}
    for group, mask in (("cases", is_case), ("controls", ~is_case)):
        rows = np.flatnonzero(mask)
        variants = [
            Variant("chr1", 100 + int(i), "A", ("C",), id=f"dn{i}", info={"SAMPLE": people[i]})
            for i in rows
        ]
        vcf = tmp_path / f"{group}.vcf"
        write_vcf(vcf, variants, contigs={"chr1": 10_000})
        table = pl.DataFrame(
            {
                "snp": [v.id for v in variants],
                "chrom": "chr1",
                "pos": [v.pos + 1 for v in variants],
                "ref": "A",
                "alt": "C",
                **{f"t{k}_{'liver' if k == 0 else 'other'}": sad[rows, k] for k in range(4)},
            }
        )
        table.write_csv(tmp_path / f"{group}.tsv", separator="\t")
        paths[group] = (vcf, tmp_path / f"{group}.tsv")
    return paths


def _run(argv: list[str]) -> int:
    args = build_parser().parse_args(argv)
    return args.run(args)


def test_denovo_command_recovers_the_planted_track(tmp_path):
    sad, people, is_case = _planted(shift=1.5)
    paths = _write_inputs(tmp_path, sad, people, is_case)
    argv = ["denovo", "--out", str(tmp_path / "report"), "--components", "3", "--folds", "4"]
    for group, (vcf, table) in paths.items():
        argv += [f"--{group}-vcf", str(vcf), f"--{group}-sad", str(table)]
    assert _run(argv) == 0
    tracks = pl.read_csv(tmp_path / "report" / "tracks.tsv", separator="\t")
    assert tracks["identifier"][0] == "t0_liver" and tracks["q"][0] < 0.05
    assert tracks["auc"][0] < 0.5  # case variants score lower there
    assert (tracks["q"][1:] > 0.05).all()
    people_table = pl.read_csv(tmp_path / "report" / "individuals.tsv", separator="\t")
    assert people_table.height == 80 and set(people_table["variants"]) == {6}
    summary = json.loads((tmp_path / "report" / "summary.json").read_text())
    assert summary["tracks_q_below_0.05"] == 1 and summary["risk_auc"] > 0.8
    assert summary["cases"] == summary["controls"] == 40
    # the table keeps six significant figures of q, however small (not six decimals)
    assert tracks["q"][0] == pytest.approx(summary["top_track"]["q"], rel=1e-5)
    # every track's AUC, p and q as a plain Mann-Whitney and Benjamini-Hochberg give them
    plain = [
        _mann_whitney_reference(sad[is_case, k].tolist(), sad[~is_case, k].tolist())
        for k in range(4)
    ]
    by_id = {row["identifier"]: row for row in tracks.iter_rows(named=True)}
    q = _bh_reference([p for _, p in plain])
    for k, name in enumerate(["t0_liver", "t1_other", "t2_other", "t3_other"]):
        assert by_id[name]["auc"] == pytest.approx(plain[k][0], rel=1e-5)
        assert by_id[name]["p"] == pytest.approx(plain[k][1], rel=1e-5)
        assert by_id[name]["q"] == pytest.approx(q[k], rel=1e-5)
    assert tracks["p"].to_list() == sorted(tracks["p"])
    # components of SAD standardised by the controls' mean and sd: the covariance spectrum
    components = pl.read_csv(tmp_path / "report" / "components.tsv", separator="\t")
    z = (sad - sad[~is_case].mean(axis=0)) / sad[~is_case].std(axis=0)
    spectrum = np.linalg.eigvalsh(np.cov(z.T))[::-1]
    assert components["component"].to_list() == ["PC1", "PC2", "PC3"]
    np.testing.assert_allclose(components["explained"], spectrum[:3] / spectrum.sum(), rtol=1e-5)


def test_denovo_inputs_are_checked(tmp_path):
    sad, people, is_case = _planted(n_people=6)
    paths = _write_inputs(tmp_path, sad, people, is_case)
    base = ["denovo", "--out", str(tmp_path / "r")]
    swapped = [*base, "--cases-vcf", str(paths["cases"][0]), "--cases-sad"]
    swapped += [str(paths["controls"][1]), "--controls-vcf", str(paths["controls"][0])]
    swapped += ["--controls-sad", str(paths["controls"][1])]
    with pytest.raises(ValueError, match="does not hold the alleles of"):
        _run(swapped)
    ok = [*base, "--cases-vcf", str(paths["cases"][0]), "--cases-sad", str(paths["cases"][1])]
    ok += ["--controls-vcf", str(paths["controls"][0]), "--controls-sad"]
    with pytest.raises(ValueError, match="no INFO WHO=NAME"):
        _run([*ok, str(paths["controls"][1]), "--sample-field", "WHO"])
    # the controls scored on other tracks (another --targets): both files, counts, the fix
    fewer = tmp_path / "fewer.tsv"
    pl.read_csv(paths["controls"][1], separator="\t").drop("t0_liver").write_csv(
        fewer, separator="\t"
    )
    expected = (
        f"{fewer} holds 3 tracks and the cases' {paths['cases'][1]} 4, not the same "
        r"\(track 0 is t1_other there and t0_liver in the cases'\); score both groups alike: "
        "crossreg sad with the same --model, --head and --targets"
    )
    with pytest.raises(ValueError, match=expected):
        _run([*ok, str(fewer)])
    assert not (tmp_path / "r").exists()


def test_component_scores_name_each_variant(tmp_path):
    # before: only individual, group and PC columns, so a row could not be tied to a variant
    sad, people, is_case = _planted(n_people=6)
    paths = _write_inputs(tmp_path, sad, people, is_case)
    argv = ["denovo", "--out", str(tmp_path / "r"), "--folds", "2", "--no-plots"]
    for group, (vcf, table) in paths.items():
        argv += [f"--{group}-vcf", str(vcf), f"--{group}-sad", str(table)]
    assert _run(argv) == 0
    scores = pl.read_csv(tmp_path / "r" / "component_scores.tsv", separator="\t")
    assert scores.columns[:7] == ["individual", "group", "variant", "chrom", "pos", "ref", "alt"]
    order = [*np.flatnonzero(is_case), *np.flatnonzero(~is_case)]  # cases' VCF, then controls'
    assert scores["variant"].to_list() == [f"dn{i}" for i in order]
    assert scores["individual"].to_list() == [people[i] for i in order]
    assert scores["pos"].to_list() == [101 + int(i) for i in order]
    assert set(scores["chrom"]) == {"chr1"} and set(scores["ref"]) == {"A"}
    assert set(scores["alt"]) == {"C"}
    values = sad[order].astype(np.float32)
    pcs = principal_components(_standardised_reference(values, ~is_case[order]), 3)
    np.testing.assert_allclose(scores["PC1"], pcs.scores[:, 0], rtol=1e-4, atol=1e-6)


def test_cases_carrying_higher_scoring_variants_point_every_view_to_the_cases():
    # planted truth the other way from _planted: every case variant scores 2 sd higher on
    # track t1 alone; its AUC, the component it loads on and the risk score all put the
    # cases above the controls, the AUC being the share of (case, control) pairs won
    rng = np.random.default_rng(21)
    n, per = 240, 4
    sad = rng.normal(size=(n, 5)).astype(np.float32)
    is_case = np.arange(n) < n // 2
    sad[is_case, 1] += 2.0
    report = run_tests(_denovo_data(sad, is_case, per_person=per), components=3, folds=3)
    top = report["tracks"].row(0, named=True)
    assert top["identifier"] == "t1" and top["q"] < 1e-20
    assert top["median_case"] > top["median_control"] + 1.5
    won = (sad[is_case, 1][:, None] > sad[~is_case, 1][None, :]).mean()
    assert top["auc"] == pytest.approx(won, rel=1e-12) and top["auc"] > 0.9
    assert (report["tracks"]["auc"][1:] - 0.5).abs().max() < 0.1  # the other tracks: chance
    # PC1 is t1's (its largest loading, signed positive), so the cases score higher on it
    pc1 = report["components"].row(0, named=True)
    assert pc1["top_tracks"].split(",")[0] == "t1" and pc1["auc"] > 0.9
    # each person's risk score: cases highest, nearly perfectly apart
    summary = report["summary"]
    assert summary["risk_auc"] > 0.95 and summary["risk_p"] < 1e-10
    people = report["individuals"]
    assert people["group"][: n // per // 4].to_list() == ["case"] * (n // per // 4)
    assert set(people["variants"]) == {per}


def test_constant_tracks_and_groups_too_small_for_the_folds_are_handled_as_documented():
    rng = np.random.default_rng(8)
    sad = rng.normal(size=(40, 5)).astype(np.float32)
    sad[:, 2] = 0.25  # the same for every variant
    is_case = np.arange(40) < 20
    data = _denovo_data(sad, is_case, per_person=4)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no division by a zero spread on the way
        report = run_tests(data, components=5, folds=2)
    constant = report["tracks"].filter(pl.col("identifier") == "t2").row(0, named=True)
    assert (constant["auc"], constant["p"], constant["q"]) == (0.5, 1.0, 1.0)
    assert report["components"].height == 4  # 4 tracks vary: rank 4, not 5 components
    assert "t2" not in report["components"]["top_tracks"][0].split(",")
    # every score equal: no component, every person's risk score 0 and its test p 1
    flat = run_tests(_denovo_data(np.zeros_like(sad), is_case, per_person=4), folds=2)
    assert flat["components"].height == 0 and flat["summary"]["risk_p"] == 1.0
    assert (flat["individuals"]["risk_score"] == 0).all()
    # one case person: no fold count helps (each score is learned from other cases)
    alone = _denovo_data(sad, is_case, per_person=4)
    alone = DenovoData(
        ["case0" if c else name for c, name in zip(is_case, alone.individuals, strict=True)],
        *(getattr(alone, f) for f in ("is_case", "labels", "sites", "identifiers")),
        alone.descriptions,
        alone.values,
    )
    with pytest.raises(
        ValueError,
        match=r"2-fold risk scores need at least 2 cases and 2 controls; there are 1 cases "
        r"and 5 controls \(each group needs at least 2 people, .*add people to the smaller "
        r"group\)",
    ):
        run_tests(alone, folds=2)
    with pytest.raises(ValueError, match=r"there are 5 cases and 5 controls \(lower --folds to 5"):
        run_tests(data, folds=6)


@pytest.mark.parametrize("seed", [0, 11])
def test_folds_of_people_are_drawn_by_the_seed_within_cases_then_controls(seed):
    # people sorted by name; the cases' order shuffled by default_rng(seed), then the
    # controls' by the same generator, each dealt to folds 0, 1, 2, 0, ... in that order
    sad, people, is_case = _planted(n_people=7, per_person=2)
    risk = risk_scores(sad, people, is_case, folds=3, seed=seed)
    assert risk.individuals == sorted(set(people))
    rng = np.random.default_rng(seed)
    want = np.empty(14, dtype=np.int64)
    for members in (np.flatnonzero(risk.is_case), np.flatnonzero(~risk.is_case)):
        want[rng.permutation(members)] = np.arange(7) % 3
    assert risk.folds.tolist() == want.tolist()
    # the draw is the seed's: another seed deals other folds
    other = risk_scores(sad, people, is_case, folds=3, seed=seed + 1)
    assert other.folds.tolist() != risk.folds.tolist()
