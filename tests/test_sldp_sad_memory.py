"""``crossreg sldp --sad`` reads a SAD file one chromosome at a time, keeping only the
rows the panel uses: the same results as the annotations given whole as ``.sannot.gz``
files, whether or not the file is sorted by chromosome, and memory held of about one
chromosome's used rows, not the whole file's variants × tracks."""

from __future__ import annotations

import gzip
import json
import tracemalloc
from pathlib import Path

import h5py
import numpy as np
import polars as pl
import pytest
from polars.testing import assert_frame_equal

from crossreg.stats.sldp import sad_annotations
from crossreg.stats.sldp.annotation_set import AnnotationSet
from crossreg.stats.sldp.annotations import ChromAnnotations
from crossreg.stats.sldp.inputs import read_print_snps
from crossreg.stats.sldp.panel import load_chrom_panel, read_ld_blocks
from crossreg.stats.sldp.run import write_sldp
from crossreg.stats.sldp.sad_annotations import chrom_index
from crossreg.variants import sad_blocks
from crossreg.variants.sad_read import read_sorted_rows

INPUTS = Path(__file__).parent / "data" / "sldp" / "inputs"
NAMES = ["pred1", "pred2", "sparse"]


def _annotations(chrom: int) -> pl.DataFrame:
    """The test world's ``annot.{chrom}.sannot.gz`` (messy rows included), values rounded
    to multiples of 1/64 so that float16 holds them exactly."""
    table = pl.read_csv(
        INPUTS / f"annot.{chrom}.sannot.gz", separator="\t", schema_overrides={"SNP": pl.String}
    )
    return table.with_columns((pl.col(NAMES) * 64).round() / 64)


def _write_sad(path: Path, rows: pl.DataFrame, names: list[str]) -> None:
    """A SAD ``.h5`` of `rows` (CHR BP SNP A1 A2 + `names`): alt = A1, ref = A2, float16."""
    with h5py.File(path, "w") as handle:
        handle["snp"] = rows["SNP"].to_numpy().astype("S")
        handle["chr"] = rows["CHR"].cast(pl.String).to_numpy().astype("S")
        handle["pos"] = rows["BP"].to_numpy().astype(np.uint32)
        handle["ref_allele"] = rows["A2"].to_numpy().astype("S")
        handle["alt_allele"] = rows["A1"].to_numpy().astype("S")
        handle["target_ids"] = np.array(names, dtype="S")
        handle.create_dataset(
            "SAD", data=rows.select(names).to_numpy().astype(np.float16), chunks=(64, len(names))
        )


def _filler(rng: np.random.Generator, chroms: list[str], per_chrom: int, names: list[str]):
    """Rows on `chroms` whose ids are in no panel."""
    n = len(chroms) * per_chrom
    return pl.DataFrame(
        {
            "CHR": np.repeat(chroms, per_chrom),
            "BP": np.tile(np.arange(per_chrom) + 1, len(chroms)),
            "SNP": [f"filler{i}" for i in range(n)],
            "A1": "A",
            "A2": "C",
            **{name: rng.integers(-64, 64, n) / 64 for name in names},
        }
    )


def _run(root: Path, out: str, **annotations) -> tuple[pl.DataFrame, dict]:
    write_sldp(
        str(INPUTS / "panel."), INPUTS / "print_snps.txt", INPUTS / "blocks.bed",
        str(INPUTS / "ld."), root / out, sumstats=[INPUTS / f"{p}.sumstats.gz" for p in
        ("pheno_a", "pheno_b")], background_sannot_chr=[str(INPUTS / "bg.")], seed=0,
        flips=20_000, jk_blocks=25, verbose_thresh=1.0, plots=False, ld_cache=root / "cache",
        **annotations,
    )  # fmt: skip
    summary = json.loads((root / out / "summary.json").read_text())
    return pl.read_csv(root / out / "results.tsv", separator="\t"), summary


def test_sad_results_equal_the_same_annotations_given_whole(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    world = {c: _annotations(c) for c in (1, 22)}
    for c, table in world.items():  # the plain way: each chromosome's table whole
        text = table.write_csv(separator="\t").encode()
        (tmp_path / f"q.{c}.sannot.gz").write_bytes(gzip.compress(text))
    others = [str(c) for c in range(2, 22)]
    ordered = pl.concat(
        [world[1], _filler(rng, ["1", *others], 50, NAMES), world[22]], how="diagonal_relaxed"
    ).with_columns(pl.col("CHR").cast(pl.String))
    _write_sad(tmp_path / "sorted.h5", ordered, NAMES)
    # not sorted by chromosome: the chromosomes interleaved at random, each one's rows in
    # their order (of rows with one id, the first that matches is used); chr22 for 22
    chrom = ordered["CHR"].to_numpy()
    mixed = rng.permutation(chrom)
    order = np.zeros(len(chrom), dtype=np.int64)
    for c in np.unique(chrom):
        order[mixed == c] = np.flatnonzero(chrom == c)
    unsorted = ordered[order].with_columns(pl.col("CHR").replace("22", "chr22"))
    assert (unsorted["CHR"].to_numpy()[1:] != unsorted["CHR"].to_numpy()[:-1]).sum() > 100
    _write_sad(tmp_path / "unsorted.h5", unsorted, NAMES)

    whole, whole_summary = _run(tmp_path, "sannot", sannot_chr=[str(tmp_path / "q.")])
    counts = [whole_summary["reconciliation"][str(tmp_path / f"q.{c}.sannot.gz")] for c in world]
    for name in ("sorted", "unsorted"):
        ours, summary = _run(tmp_path, name, sad=[tmp_path / f"{name}.h5"])
        assert_frame_equal(ours, whole)
        found = summary["reconciliation"][str(tmp_path / f"{name}.h5")]
        assert found == {key: sum(c[key] for c in counts) for key in counts[0]}


def test_a_sad_file_is_held_one_chromosome_of_used_rows_at_a_time(tmp_path: Path) -> None:
    # before, the whole file was read as float32 when --sad was opened: here 22 × 3,000
    # variants × 64 tracks, 16.9 MB, against about 0.2 MB of chromosome 1's used rows
    rng = np.random.default_rng(1)
    names = [f"t{k}" for k in range(64)]
    world = {c: _annotations(c) for c in (1, 22)}
    rows = []
    for c in range(1, 23):
        filler = _filler(rng, [str(c)], 3000 - (len(world[c]) if c in world else 0), names)
        if c in world:
            extra = rng.integers(-64, 64, (len(world[c]), len(names) - len(NAMES))) / 64
            filler = pl.concat(
                [
                    world[c]
                    .with_columns(
                        pl.col("CHR").cast(pl.String),
                        **{n: pl.Series(extra[:, k]) for k, n in enumerate(names[len(NAMES) :])},
                    )
                    .rename(dict(zip(NAMES, names[: len(NAMES)], strict=True))),
                    filler,
                ],
                how="diagonal_relaxed",
            )
        rows.append(filler)
    table = pl.concat(rows, how="diagonal_relaxed")
    _write_sad(tmp_path / "scores.h5", table, names)
    whole = len(table) * len(names) * 4
    printed = read_print_snps(INPUTS / "print_snps.txt")
    blocks = read_ld_blocks(INPUTS / "blocks.bed")
    panels = {c: load_chrom_panel(str(INPUTS / "panel."), str(c), printed, blocks) for c in (1, 22)}

    tracemalloc.start()
    try:
        annotations = AnnotationSet([], sad=[tmp_path / "scores.h5"])
        opened = tracemalloc.get_traced_memory()[0]
        for c, panel in panels.items():
            tracemalloc.reset_peak()
            before = tracemalloc.get_traced_memory()[0]
            ((sad, alignment),) = annotations.aligned(panel)
            held, peak = (m - before for m in tracemalloc.get_traced_memory())
            used = int((alignment.row >= 0).sum())
            assert len(sad.values) == used < len(panel.bim)  # the used rows only, float16
            assert sad.values.dtype == np.float16
            chrom_rows = 3000 * len(names) * 2
            assert held < 2 * sad.values.nbytes + (1 << 18), (c, held)
            assert peak < 4 * chrom_rows, (c, peak, whole)
            del sad, alignment
    finally:
        tracemalloc.stop()
    assert opened < whole / 20, (opened, whole)


def test_an_unsorted_sad_file_reads_only_the_score_chunks_that_hold_used_rows(
    tmp_path: Path, monkeypatch
) -> None:
    # chromosomes 1 and 22 among 200,000 rows of 20 others, interleaved at random, scores
    # in chunks of 64 rows; before, each chromosome read every score row from its first
    # used row to its last (the whole file, once per chromosome)
    rng = np.random.default_rng(3)
    world = {c: _annotations(c) for c in (1, 22)}
    others = _filler(rng, [str(c) for c in range(2, 22)], 10_000, NAMES)
    rows = pl.concat([world[1], others, world[22]], how="diagonal_relaxed")
    rows = rows.with_columns(pl.col("CHR").cast(pl.String))[rng.permutation(len(rows))]
    _write_sad(tmp_path / "scores.h5", rows, NAMES)
    printed = read_print_snps(INPUTS / "print_snps.txt")
    blocks = read_ld_blocks(INPUTS / "blocks.bed")
    panels = {c: load_chrom_panel(str(INPUTS / "panel."), str(c), printed, blocks) for c in world}
    chunks = 0  # score chunks that hold a row of a panel SNP id on its own chromosome
    for c, panel in panels.items():
        mine = (rows["CHR"] == str(c)) & rows["SNP"].is_in(panel.bim.snp.tolist())
        chunks += len(np.unique(np.flatnonzero(mine.to_numpy()) // 64))
    read = _count_reads(monkeypatch)
    annotations = AnnotationSet([], sad=[tmp_path / "scores.h5"])
    used = sum(len(annotations.aligned(panel)[0][0].values) for panel in panels.values())
    got = sum(read["/SAD"])
    assert 0 < used <= got <= chunks * 64 < len(rows), (used, got, chunks, len(rows))
    # the ids are read once, whole, not every chunk of them once per chromosome
    assert read["/snp"] == [len(rows)]
    # ids over IDS_BYTES are not held: each chromosome reads its own, to the same tables
    with h5py.File(tmp_path / "scores.h5") as handle:
        held_bytes = handle["snp"].dtype.itemsize * len(rows)
    monkeypatch.setattr(sad_annotations, "IDS_BYTES", held_bytes - 1)
    read.clear()
    small = AnnotationSet([], sad=[tmp_path / "scores.h5"])
    for panel in panels.values():
        ((held, _),) = annotations.aligned(panel)
        ((own, _),) = small.aligned(panel)
        np.testing.assert_array_equal(own.values, held.values)
        assert own.snp is not None and held.snp is not None
        assert own.snp.tolist() == held.snp.tolist()
    assert sum(read["/snp"]) > len(rows)


def _count_reads(monkeypatch) -> dict[str, list[int]]:
    """The rows of each HDF5 dataset (by name) read from now on, a count per read, by
    slicing or ``read_direct``."""
    read: dict[str, list[int]] = {}
    getitem, direct = h5py.Dataset.__getitem__, h5py.Dataset.read_direct

    def sliced(self, key):
        got = getitem(self, key)
        read.setdefault(self.name, []).append(len(got) if got.ndim else 1)
        return got

    def read_direct(self, dest, source_sel=None, dest_sel=None):
        rows = source_sel[0] if isinstance(source_sel, tuple) else source_sel
        n = len(range(*rows.indices(len(self)))) if rows is not None else len(self)
        read.setdefault(self.name, []).append(n)
        return direct(self, dest, source_sel, dest_sel)

    monkeypatch.setattr(h5py.Dataset, "__getitem__", sliced)
    monkeypatch.setattr(h5py.Dataset, "read_direct", read_direct)
    return read


def test_sorted_rows_are_read_block_by_block(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(sad_blocks, "BLOCK_BYTES", 160)  # 10 rows of 8 float16 per block
    values = np.arange(1000 * 8, dtype=np.float16).reshape(1000, 8)
    rows = np.sort(np.random.default_rng(2).choice(1000, 97, replace=False))
    with h5py.File(tmp_path / "x.h5", "w") as handle:
        handle["x"] = values
        got = read_sorted_rows(handle["x"], rows, np.float32)
        assert got.dtype == np.float32
        np.testing.assert_array_equal(got, values[rows])
        assert read_sorted_rows(handle["x"], np.zeros(0, dtype=np.int64)).shape == (0, 8)
    np.testing.assert_array_equal(read_sorted_rows(values[:, 0], rows[::-1][::-1]), values[rows, 0])
    with pytest.raises(ValueError, match="ascending order, each once"):
        read_sorted_rows(values, np.array([3, 3]))


@pytest.mark.parametrize("kind", [np.float16, np.float32])
def test_sorted_rows_read_from_hdf5_match_and_hold_at_most_one_block(
    tmp_path: Path, monkeypatch, kind
) -> None:
    # 64-row chunks, blocks of 128 rows: rows in runs, alone, and whole blocks, into an
    # out of the file's dtype (read straight into it where the rows are consecutive) and
    # of float32 from float16 (converted from one reused buffer)
    monkeypatch.setattr(sad_blocks, "BLOCK_BYTES", 128 * 2048 * 2)
    values = np.random.default_rng(4).standard_normal((5000, 2048)).astype(np.float16)
    runs = [np.arange(0, 1024), [1500, 1501, 1900, 2000, 2010, 2020], np.arange(3000, 3333)]
    rows = np.unique(np.concatenate([*runs, [4999]]))
    with h5py.File(tmp_path / "x.h5", "w") as handle:
        handle.create_dataset("x", data=values, chunks=(64, 2048))
        handle.create_dataset("ids", data=np.arange(5000).astype("S6"), chunks=(100,))
        out = np.empty((len(rows), 2048), dtype=kind)
        read = _count_reads(monkeypatch)
        tracemalloc.start()
        try:
            read_sorted_rows(handle["x"], rows, out=out)
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
        np.testing.assert_array_equal(out, values[rows].astype(kind))
        assert read["/x"] == [128] * 8 + [2, 1, 21, 72, 128, 128, 5, 1], read["/x"]
        ids = read_sorted_rows(handle["ids"], rows)
        assert ids.tolist() == np.arange(5000).astype("S6")[rows].tolist()
    # before, each piece was a new array: a block's 512 KiB at least, 8 times over
    block = 128 * 2048 * 2
    assert peak < (block // 2 if kind == np.float16 else 2 * block), peak


def test_the_chromosome_index_spans_blocks_and_spellings(monkeypatch) -> None:
    monkeypatch.setattr(sad_blocks, "BLOCK_BYTES", 2)  # 2 one-byte rows per block... of S4
    field = np.array([b"1", b"1", b"1", b"chr2", b"2", b"1", b"X", b"X", b"X"])
    index = chrom_index(field)
    assert index.names == ["1", "2", "X"]
    assert index.codes.tolist() == [0, 0, 0, 1, 1, 0, 2, 2, 2]
    assert index.codes.dtype == np.uint8  # one byte a row
    assert index.rows("chr1").tolist() == [0, 1, 2, 5]
    assert index.rows("2").tolist() == [3, 4]
    assert index.rows("Y").tolist() == []
    assert chrom_index(np.array([], dtype="S1")).rows("1").tolist() == []


def test_a_chromosome_the_sad_file_lacks_has_no_annotation(tmp_path: Path) -> None:
    # the chromosome's table has no rows: every SNP is missing, its values 0
    _write_sad(tmp_path / "scores.h5", _annotations(22).with_columns(CHR=pl.lit("22")), NAMES)
    printed = read_print_snps(INPUTS / "print_snps.txt")
    panel = load_chrom_panel(
        str(INPUTS / "panel."), "1", printed, read_ld_blocks(INPUTS / "blocks.bed")
    )
    ((table, alignment),) = AnnotationSet([], sad=[tmp_path / "scores.h5"]).aligned(panel)
    assert table.values.shape == (0, 3)
    assert alignment.counts["missing"] == len(panel.bim)
    v = ChromAnnotations(panel, [table], [alignment]).values(0, len(panel.bim))
    assert v.shape == (len(panel.bim), 3) and not v.any()


def test_a_sad_file_without_a_chr_field_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "scores.h5"
    _write_sad(path, _annotations(1).with_columns(pl.col("CHR").cast(pl.String)), NAMES)
    with h5py.File(path, "a") as handle:
        del handle["chr"]
    with pytest.raises(ValueError, match=rf"^{path}: no chr dataset; SLDP reads a SAD file's "):
        AnnotationSet([], sad=[path])
