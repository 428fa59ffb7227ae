"""The ``.info`` sums of many annotations, taken by the native core from each stored table
(float16, float32 or float64) with the bits of numpy's sums of v; a block's genotypes read
once on a first run (spectra and Rv); progress while a SAD file's scores are read and the
sums are taken."""

from __future__ import annotations

import logging
import tracemalloc
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from polars.testing import assert_frame_equal

from crossreg import _native
from crossreg.stats.sldp import annotations as annotations_module
from crossreg.stats.sldp import block_loop, plink
from crossreg.stats.sldp.annotations import AnnotationTable, ChromAnnotations
from crossreg.stats.sldp.inputs import read_print_snps
from crossreg.stats.sldp.panel import ChromPanel, load_chrom_panel, read_ld_blocks
from crossreg.stats.sldp.reconcile import Alignment
from tests.test_sldp_sad_memory import INPUTS, NAMES, _annotations, _run, _write_sad


def _panel() -> ChromPanel:
    printed = read_print_snps(INPUTS / "print_snps.txt")
    return load_chrom_panel(
        str(INPUTS / "panel."), "1", printed, read_ld_blocks(INPUTS / "blocks.bed")
    )


def _annotated(
    panel: ChromPanel,
    widths: tuple[int, ...],
    dtype: type[np.floating] = np.float64,
    alphas: tuple[float, ...] | None = None,
    seed: int = 0,
) -> ChromAnnotations:
    """Tables of `widths` columns stored as `dtype`, of values spanning many orders of
    magnitude (so that the order of a sum shows in its last bits), a third of them 0, each
    with more rows than the panel in another order: a tenth of the panel's SNPs without a
    row, a third swapped; scaled by `alphas` (default: α 0 for the second table, −1 for
    the others)."""
    rng = np.random.default_rng(seed)
    snps, tables, alignments = len(panel.bim), [], []
    spread = 23 if dtype is not np.float16 else 7  # float16 holds 2⁻²⁴–65504
    for k, width in enumerate(widths):
        values = rng.standard_normal((snps + 50, width)) * np.exp(
            rng.uniform(-spread, spread, (snps + 50, width))
        )
        values[rng.random(values.shape) < 1 / 3] = 0.0
        row = rng.permutation(snps + 50)[:snps]
        row[rng.random(snps) < 0.1] = -1
        sign = np.where(rng.random(snps) < 1 / 3, -1.0, 1.0)
        tables.append(
            AnnotationTable(f"t{k}", [f"t{k}.{j}" for j in range(width)], values.astype(dtype))
        )
        alignments.append(Alignment(row, sign, {}))
    if alphas is None:
        alphas = tuple(0.0 if k == 1 else -1.0 for k in range(len(widths)))
    return ChromAnnotations(panel, tables, alignments, [(a, "--alpha") for a in alphas])


def _plain_info(annotations: ChromAnnotations, rows_per_pass: int) -> dict[str, np.ndarray]:
    """The sums as numpy takes them: each group's v in float64, all annotations at once."""
    common = annotations.panel.maf >= 0.05
    sq = sq_common = 0.0
    supp = supp_common = 0
    for start in range(0, len(annotations.panel.bim), rows_per_pass):
        v = annotations.values(start, start + rows_per_pass)
        keep = common[start : start + rows_per_pass]
        sq = sq + (v * v).sum(axis=0)
        supp = supp + (v != 0).sum(axis=0)
        sq_common = sq_common + (v[keep] * v[keep]).sum(axis=0)
        supp_common = supp_common + (v[keep] != 0).sum(axis=0)
    return {
        "sqnorm": np.sqrt(sq) ** 2,
        "sqnorm_5_50": np.sqrt(sq_common) ** 2,
        "supp": np.asarray(supp, dtype=np.float64),
        "supp_5_50": np.asarray(supp_common, dtype=np.float64),
    }


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
@pytest.mark.parametrize("widths", [(4, 5, 2), (3, 1), (1,)])
def test_info_sums_have_numpys_bits(monkeypatch, dtype, widths) -> None:
    monkeypatch.setattr(annotations_module, "ROWS_PER_PASS", 1000)  # groups of 1,000 and 536 SNPs
    panel = _panel()
    assert 0 < (panel.maf < 0.05).sum() < len(panel.maf)
    annotations = _annotated(panel, widths, dtype)
    assert any((a.row < 0).any() and (a.sign < 0).any() for a in annotations.alignments)
    # the data tell the orders apart: a column alone is summed pairwise, in other bits
    v = annotations.values(0, 1000)
    one = [(v[:, [k]] ** 2).sum(axis=0)[0] for k in range(v.shape[1])]
    if v.shape[1] > 1:
        assert any(a != b for a, b in zip(one, (v**2).sum(axis=0), strict=True))
    else:
        assert one[0] != np.add.accumulate(v[:, 0] ** 2)[-1]
    info = annotations.info()
    for name, plain in _plain_info(annotations, 1000).items():
        np.testing.assert_array_equal(info[name], plain, err_msg=name, strict=True)
    common = panel.maf >= 0.05
    assert info["M"].tolist() == [float(len(panel.bim))] * sum(widths)
    assert info["M_5_50"].tolist() == [float(common.sum())] * sum(widths)


@pytest.mark.parametrize("alpha", [-1.0, 0.0, -1.5])
def test_info_sums_have_numpys_bits_at_any_alpha(monkeypatch, alpha: float) -> None:
    monkeypatch.setattr(annotations_module, "ROWS_PER_PASS", 2000)
    annotations = _annotated(_panel(), (3, 2), np.float16, alphas=(alpha, alpha))
    info = annotations.info()
    for name, plain in _plain_info(annotations, 2000).items():
        np.testing.assert_array_equal(info[name], plain, err_msg=name, strict=True)


@pytest.mark.parametrize("snps", [*range(300), 1000, 4096, 8193, 65536])
def test_a_lone_column_is_summed_in_numpys_pairwise_order(snps: int) -> None:
    rng = np.random.default_rng(snps)
    values = rng.standard_normal((snps, 1)) * np.exp(rng.uniform(-23, 23, (snps, 1)))
    keep = rng.random(snps) < 0.7
    rows, factors = np.arange(snps), np.ones(snps)
    sq, sq_keep, supp, supp_keep = _native.sldp_info_sums(values, rows, factors, keep, True)
    assert sq[0] == (values * values).sum(axis=0)[0]
    assert sq_keep[0] == (values[keep] * values[keep]).sum(axis=0)[0]
    assert (supp[0], supp_keep[0]) == (snps, keep.sum())


def test_info_holds_no_float64_copy_of_the_annotations() -> None:
    panel = _panel()  # 1,536 SNPs × 400 annotations: 4.7 MiB of float64 at once
    annotations = _annotated(panel, (400,), np.float16)
    tracemalloc.start()
    annotations.info()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 1 << 20


def test_a_value_that_is_not_finite_stops_the_sums_naming_it(monkeypatch) -> None:
    monkeypatch.setattr(annotations_module, "ROWS_PER_PASS", 500)
    monkeypatch.setattr(annotations_module, "CHECK_BYTES", 8 * 9 * 100)  # 100 rows a check
    annotations = _annotated(_panel(), (3, 4, 2))
    snp = 1250  # in the third group's third check
    annotations.tables[1].values[annotations.alignments[1].row[snp], 2] = np.inf
    assert annotations.alignments[1].row[snp] >= 0
    name = annotations.panel.bim.snp[snp]
    with pytest.raises(ValueError, match=rf"t1: annotation t1\.2 at SNP {name} of .* is -?inf "):
        annotations.info()
    with pytest.raises(ValueError, match=rf"t1: annotation t1\.2 at SNP {name} "):
        annotations.values(1000, 1500)


def test_a_square_that_overflows_is_summed_as_numpy_sums_it() -> None:
    # v = 1e200 is finite, its square inf: the sum is inf, with no error, as numpy's
    annotations = _annotated(_panel(), (2, 2), alphas=(-1.0, -1.0))
    annotations.tables[0].values[annotations.alignments[0].row[0], 1] = 1e200
    info = annotations.info()
    assert info["sqnorm"][1] == np.inf and np.isfinite(np.delete(info["sqnorm"], 1)).all()
    with np.errstate(over="ignore"):
        plains = _plain_info(annotations, 1 << 16)
    for name, plain in plains.items():
        np.testing.assert_array_equal(info[name], plain, err_msg=name, strict=True)


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
    assert any(" SAD scores of scores.h5: " in line and "done in" in line for line in lines)
    assert any(" annotation sums: " in line and "done in" in line for line in lines)
    reads.clear()
    warm, _ = _run(tmp_path, "warm", sad=[tmp_path / "scores.h5"])
    assert len(reads) == summary["ld_blocks"]["with_print_snps"]
    assert_frame_equal(warm, cold)
