"""The ``.info`` sums of many annotations in bounded passes, with the same bits whatever the
pass size; a block's genotypes read once on a first run (spectra and Rv); progress while a
SAD file's scores are read and the sums are taken."""

from __future__ import annotations

import logging
import tracemalloc
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from polars.testing import assert_frame_equal

from crossreg.stats.sldp import annotations as annotations_module
from crossreg.stats.sldp import block_loop, plink
from crossreg.stats.sldp.annotations import AnnotationTable, ChromAnnotations, column_slices
from crossreg.stats.sldp.inputs import read_print_snps
from crossreg.stats.sldp.panel import ChromPanel, load_chrom_panel, read_ld_blocks
from tests.test_sldp_sad_memory import INPUTS, NAMES, _annotations, _run, _write_sad


def _panel() -> ChromPanel:
    printed = read_print_snps(INPUTS / "print_snps.txt")
    return load_chrom_panel(
        str(INPUTS / "panel."), "1", printed, read_ld_blocks(INPUTS / "blocks.bed")
    )


def _annotated(panel: ChromPanel, widths: tuple[int, ...], seed: int = 0) -> ChromAnnotations:
    """Thin tables of `widths` columns of values spanning 20 orders of magnitude (so that
    the order of a sum shows in its last bits), a third of them 0; the second scaled by α 0."""
    rng = np.random.default_rng(seed)
    tables = []
    for k, width in enumerate(widths):
        values = rng.standard_normal((len(panel.bim), width)) * np.exp(
            rng.uniform(-23, 23, (len(panel.bim), width))
        )
        values[rng.random(values.shape) < 1 / 3] = 0.0
        tables.append(AnnotationTable(f"t{k}", [f"t{k}.{j}" for j in range(width)], values))
    alphas = [(0.0 if k == 1 else -1.0, "--alpha") for k in range(len(widths))]
    return ChromAnnotations(panel, tables, [t.align(panel) for t in tables], alphas)


def _plain_info(annotations: ChromAnnotations, rows_per_pass: int) -> dict[str, np.ndarray]:
    """The sums as taken before passes were bounded: all annotations of a group at once."""
    common = annotations.panel.maf >= 0.05
    sq = sq_common = 0.0
    for start in range(0, len(annotations.panel.bim), rows_per_pass):
        v = annotations.values(start, start + rows_per_pass)
        keep = common[start : start + rows_per_pass]
        sq = sq + (v * v).sum(axis=0)
        sq_common = sq_common + (v[keep] * v[keep]).sum(axis=0)
    return {"sqnorm": np.sqrt(sq) ** 2, "sqnorm_5_50": np.sqrt(sq_common) ** 2}


def test_info_sums_have_the_same_bits_whatever_the_budget(monkeypatch) -> None:
    monkeypatch.setattr(annotations_module, "ROWS_PER_PASS", 1000)
    panel = _panel()
    annotations = _annotated(panel, (4, 5, 2))
    plain = _plain_info(annotations, 1000)
    # the data tell the orders apart: one column alone is summed pairwise, in other bits
    v = annotations.values(0, 1000)
    assert any((v[:, [k]] ** 2).sum(axis=0)[0] != (v**2).sum(axis=0)[k] for k in range(v.shape[1]))
    found = []
    for budget in (1 << 40, 1, 1000 * 8 * 3, 1000 * 8 * 4):
        monkeypatch.setattr(annotations_module, "INFO_BYTES", budget)
        found.append(annotations.info())
    for info in found:
        for name in plain:
            np.testing.assert_array_equal(info[name], plain[name])
        for name in info:
            np.testing.assert_array_equal(info[name], found[0][name])
    assert found[0]["supp"].tolist() == (annotations.values(0, len(panel.bim)) != 0).sum(0).tolist()


def test_info_converts_a_budget_of_annotations_at_a_time(monkeypatch) -> None:
    panel = _panel()  # 4,811 SNPs × 400 annotations: 15 MiB of float64 in one pass
    annotations = _annotated(panel, (400,))
    monkeypatch.setattr(annotations_module, "INFO_BYTES", 1 << 20)
    tracemalloc.start()
    annotations.info()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 5 << 20


@pytest.mark.parametrize(
    ("columns", "rows", "budget"),
    [(1, 10, 1), (5, 10, 1), (5313, 65536, 1 << 28), (7, 1, 24), (3, 4, 1 << 30)],
)
def test_column_slices_cover_every_column_at_least_two_at_a_time(
    columns: int, rows: int, budget: int
) -> None:
    slices = column_slices(columns, rows, budget)
    assert [i for s in slices for i in range(columns)[s]] == list(range(columns))
    assert all(s.stop - s.start >= min(2, columns) for s in slices)
    width = max(2, budget // (rows * 8))
    assert all(s.stop - s.start <= max(width, 3) for s in slices)


def test_values_of_a_column_slice_are_those_columns(monkeypatch) -> None:
    annotations = _annotated(_panel(), (3, 4, 2))
    whole = annotations.values(100, 900)
    for first, last in ((0, 9), (2, 5), (3, 7), (6, 9), (1, 2)):
        np.testing.assert_array_equal(
            annotations.values(100, 900, slice(first, last)), whole[:, first:last]
        )
    annotations.tables[1].values[500, 2] = np.inf
    with pytest.raises(ValueError, match=r"t1: annotation t1\.2 at SNP"):
        annotations.values(0, 1000, slice(4, 6))


def test_a_first_run_reads_each_blocks_genotypes_once(
    tmp_path: Path, monkeypatch, caplog: pytest.LogCaptureFixture
) -> None:
    world = pl.concat([_annotations(1), _annotations(22)]).with_columns(
        pl.col("CHR").cast(pl.String)
    )
    _write_sad(tmp_path / "scores.h5", world, NAMES)
    reads: list[tuple[int, int]] = []
    original = plink.standardized_genotypes

    def counted(bed: Path, n: int, snps: int, start: int, stop: int) -> np.ndarray:
        reads.append((start, stop))
        return original(bed, n, snps, start, stop)

    monkeypatch.setattr(block_loop, "standardized_genotypes", counted)  # the one read site
    monkeypatch.setenv("CROSSREG_PROGRESS", "log")
    monkeypatch.setenv("CROSSREG_PROGRESS_INTERVAL", "0")
    caplog.set_level(logging.INFO, logger="crossreg")
    cold, summary = _run(tmp_path, "cold", sad=[tmp_path / "scores.h5"])
    assert len(reads) == len(set(reads)) == summary["ld_blocks"]["with_print_snps"]
    assert len(list((tmp_path / "cache").glob("*.npz"))) == 2
    lines = [r.getMessage() for r in caplog.records]
    assert any(" SAD scores: " in line and "done in" in line for line in lines)
    assert any(" annotation sums: " in line and "done in" in line for line in lines)
    reads.clear()
    warm, _ = _run(tmp_path, "warm", sad=[tmp_path / "scores.h5"])
    assert len(reads) == summary["ld_blocks"]["with_print_snps"]
    assert_frame_equal(warm, cold)
