"""Every reader of an ``.h5`` file stops on a cut, empty or non-HDF5 file with one error
that names the file, says what is wrong and how to get a good one: never h5py's bare
"Unable to synchronously open file" or a traceback."""

from __future__ import annotations

import logging
import os
import shutil
from collections.abc import Callable
from pathlib import Path

import h5py
import numpy as np
import polars as pl
import pytest

from crossreg.cli import main
from crossreg.demo_summary import ism_summary
from crossreg.io.h5 import DamagedH5Error
from crossreg.variants.ism_figures import plot_ism_file
from crossreg.variants.sad_figures import plot_sad
from crossreg.variants.sad_h5 import SAD_REMEDY, write_h5
from crossreg.variants.sad_read import read_sad
from tests.test_sldp_estimator import CHROM, argv_of, write_world

BASENJI = Path(__file__).parent / "data" / "basenji_fixtures"

DAMAGE: dict[str, Callable[[bytes], bytes]] = {
    "cut_in_half": lambda data: data[: len(data) // 2],
    "empty": lambda data: b"",
    "text": lambda data: b"snp\tchr\tpos\nrs1\tchr1\t100\n",
}


def _damage(path: Path, damage: str) -> Path:
    """`path` rewritten with the `damage` done to its bytes."""
    path.write_bytes(DAMAGE[damage](path.read_bytes()))
    return path


def _check_message(message: str, path: Path, remedy: str) -> None:
    """`message` names `path`, says it is not a complete HDF5 file and ends with `remedy`."""
    assert message.startswith(f"{path}: not a complete HDF5 file"), message
    assert message.endswith(remedy), message


def _check_one_error(logs: pytest.LogCaptureFixture, status: int, path: Path, remedy: str) -> None:
    """The command exited with 1 after one ERROR line naming `path` and the fix."""
    assert status == 1
    errors = [r.getMessage() for r in logs.records if r.levelno >= logging.ERROR]
    assert len(errors) == 1, errors
    _check_message(errors[0], path, remedy)


def _sad_h5(path: Path, n: int = 200) -> Path:
    """A ``crossreg sad`` ``.h5`` of `n` alleles and 3 tracks."""
    rng = np.random.default_rng(0)
    part = {
        "snp": np.array([f"rs{i}" for i in range(n)], dtype="S"),
        "chr": np.array(["chr1"] * n, dtype="S"),
        "pos": np.arange(n, dtype=np.uint32) + 100,
        "ref_allele": np.array(["A"] * n, dtype="S"),
        "alt_allele": np.array(["C"] * n, dtype="S"),
        "SAD": rng.normal(size=(n, 3)).astype(np.float16),
    }
    write_h5(path, [part], ["SAD"], ["t0", "t1", "t2"], ["a", "b", "c"], {"stats": "SAD"})
    return path


def _ism_h5(path: Path, sites: int = 3, width: int = 20) -> Path:
    """A ``crossreg ism`` ``.h5``: `sites` spans of `width` bp, 2 tracks, ``sum`` scores."""
    rng = np.random.default_rng(1)
    with h5py.File(path, "w") as handle:
        handle["label"] = np.array([f"v{i}" for i in range(sites)], dtype="S")
        handle["chr"] = np.array(["chr1"] * sites, dtype="S")
        handle["start"] = np.arange(sites, dtype=np.int64) * 1000
        handle["end"] = handle["start"][:] + width
        handle["pos"] = handle["start"][:] + width // 2  # the VCF's 1-based POS
        handle["ref_allele"] = np.array([b"A"] * sites)
        handle["alt_allele"] = np.array([b"G"] * sites)
        handle["seqs"] = np.eye(4, dtype=bool)[rng.integers(0, 4, (sites, width))]
        handle["target_ids"] = np.array([b"T0", b"T1"])
        handle["sum"] = rng.standard_normal((sites, width, 4, 2)).astype(np.float16)
    return path


@pytest.mark.parametrize("damage", list(DAMAGE))
def test_sad_figures_name_a_damaged_h5(tmp_path: Path, damage: str) -> None:
    path = _damage(_sad_h5(tmp_path / "scores.h5"), damage)
    with pytest.raises(DamagedH5Error) as caught:
        plot_sad(path)
    _check_message(str(caught.value), path, SAD_REMEDY)


@pytest.mark.parametrize("damage", list(DAMAGE))
def test_ism_figures_name_a_damaged_h5(tmp_path: Path, damage: str) -> None:
    path = _damage(_ism_h5(tmp_path / "sites.ism.h5"), damage)
    with pytest.raises(DamagedH5Error) as caught:
        plot_ism_file(path, tmp_path / "figures")
    _check_message(str(caught.value), path, "rerun crossreg ism to write it again")


@pytest.mark.parametrize("damage", list(DAMAGE))
def test_the_demo_names_a_damaged_ism_h5(tmp_path: Path, damage: str) -> None:
    path = _damage(_ism_h5(tmp_path / "planted_breaks.ism.h5"), damage)
    with pytest.raises(DamagedH5Error) as caught:
        ism_summary(path, pl.DataFrame())
    _check_message(str(caught.value), path, "rerun crossreg demo to write it again")


@pytest.mark.parametrize("damage", list(DAMAGE))
def test_sldp_names_a_damaged_sad_h5(
    tmp_path: Path, logs: pytest.LogCaptureFixture, damage: str
) -> None:
    write_world(tmp_path)
    path = _damage(_sad_h5(tmp_path / "scores.h5"), damage)
    status = main(["-q", *argv_of(str(tmp_path), "scores.h5"), "--out", str(tmp_path / "out")])
    _check_one_error(logs, status, path, SAD_REMEDY)


@pytest.mark.parametrize("damage", list(DAMAGE))
def test_import_basenji_names_damaged_weights(
    tmp_path: Path, logs: pytest.LogCaptureFixture, damage: str
) -> None:
    path = tmp_path / "model0_best.h5"
    shutil.copy(BASENJI / "model0_best.h5", path)
    _damage(path, damage)
    status = main(
        [
            "-q", "import-basenji", "--params", str(BASENJI / "params_human.json"),
            "--weights", str(path), "--targets", str(BASENJI / "targets_human_mini.txt"),
            "--genome", "human", "--out", str(tmp_path / "imported"),
        ]
    )  # fmt: skip
    _check_one_error(logs, status, path, "download the Basenji weights file again")


# ---- a flipped bit inside a dataset's chunks ------------------------------------------------


def _flip_in_chunk(path: Path, name: str, chunk: int = 0, at: int = 3) -> None:
    """One bit flipped `at` bytes into chunk `chunk` of dataset `name` of `path`."""
    with h5py.File(path, "r") as handle:
        offset = handle[name].id.get_chunk_info(chunk).byte_offset
    data = bytearray(path.read_bytes())
    data[offset + at] ^= 0x10
    path.write_bytes(bytes(data))


def _check_damaged_data(message: str, path: Path, remedy: str) -> None:
    assert message.startswith(f"{path}: its data do not read back"), message
    assert message.endswith(remedy), message


def test_every_sad_dataset_is_written_with_a_checksum_per_chunk(tmp_path: Path) -> None:
    path = _sad_h5(tmp_path / "sad.h5")
    with h5py.File(path, "r") as handle:
        for name in ("SAD", "snp", "chr", "pos", "ref_allele", "alt_allele"):
            assert handle[name].fletcher32, name


@pytest.mark.parametrize("name", ["SAD", "snp"])
def test_sldp_names_a_sad_file_whose_chunk_fails_its_checksum(
    tmp_path: Path, logs: pytest.LogCaptureFixture, name: str
) -> None:
    # sldp reads the ids of the panel's chromosome and the scores of the SNPs it matches:
    # the world's SNPs, after 1,300 others of the same chromosome, in the SAD's second chunk
    world = write_world(tmp_path)
    fill, snps = 1300, len(world["snp"])
    a1, a2 = (np.array([pair[k] for pair in world["pair"]]) for k in (0, 1))
    part = {
        "snp": np.array([*(f"other{i}" for i in range(fill)), *world["snp"]], dtype="S"),
        "chr": np.array([CHROM] * (fill + snps), dtype="S"),
        "pos": np.arange(fill + snps, dtype=np.uint32) + 100,
        "ref_allele": np.concatenate([np.full(fill, "A"), a2]).astype("S"),
        "alt_allele": np.concatenate([np.full(fill, "C"), a1]).astype("S"),
        "SAD": np.random.default_rng(0).normal(size=(fill + snps, 3)).astype(np.float16),
    }
    sad = tmp_path / "scores.h5"
    write_h5(sad, [part], ["SAD"], ["t0", "t1", "t2"], ["a", "b", "c"], {"stats": "SAD"})
    with h5py.File(sad, "r") as handle:
        chunk = fill // handle["SAD"].chunks[0] if name == "SAD" else 0
    _flip_in_chunk(sad, name, chunk=chunk)
    status = main(["-q", *argv_of(str(tmp_path), "scores.h5"), "--out", str(tmp_path / "out")])
    assert status == 1
    errors = [r.getMessage() for r in logs.records if r.levelno >= logging.ERROR]
    assert len(errors) == 1, errors
    _check_damaged_data(errors[0], sad, SAD_REMEDY)


def test_sad_merge_names_the_shard_whose_chunk_fails_its_checksum(
    tmp_path: Path, logs: pytest.LogCaptureFixture
) -> None:
    shards = []
    for i in range(2):
        path = _sad_h5(tmp_path / f"s{i}.h5", n=1500)
        with h5py.File(path, "r+") as handle:
            attrs = {"shard_index": i, "shard_count": 2, "run_settings": "{}"}
            handle.attrs.update({**attrs, "shard_records": np.array([1500 * i, 1500 * (i + 1)])})
        shards.append(path)
    _flip_in_chunk(shards[1], "SAD", chunk=1)
    out = tmp_path / "merged.h5"
    status = main(["-q", "sad-merge", "--out", str(out), *map(str, shards)])
    assert status == 1
    errors = [r.getMessage() for r in logs.records if r.levelno >= logging.ERROR]
    assert len(errors) == 1, errors
    _check_damaged_data(errors[0], shards[1], SAD_REMEDY)
    assert not out.exists() and sorted(p.name for p in tmp_path.iterdir()) == ["s0.h5", "s1.h5"]


def test_ism_figures_name_a_file_whose_chunk_fails_its_checksum(tmp_path: Path) -> None:
    path = _ism_h5(tmp_path / "ism.h5")
    with h5py.File(path, "r+") as handle:
        scores = handle["sum"][:]
        del handle["sum"]
        handle.create_dataset("sum", data=scores, chunks=(1, *scores.shape[1:]), fletcher32=True)
    _flip_in_chunk(path, "sum", chunk=2)
    with pytest.raises(DamagedH5Error) as caught:
        plot_ism_file(path, tmp_path / "figures")
    _check_damaged_data(str(caught.value), path, "rerun crossreg ism to write it again")


def test_an_unreadable_h5_is_not_called_damaged(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # before: h5py's error for a file without read permission read as a damaged file
    path = _damage(_sad_h5(tmp_path / "scores.h5"), "empty")  # h5py cannot open it either
    readable = os.access
    monkeypatch.setattr(os, "access", lambda p, mode, **kw: Path(p) != path and readable(p, mode))
    with pytest.raises(
        ValueError, match=r"scores\.h5: not readable; check its permissions"
    ) as caught:
        plot_sad(path)
    assert not isinstance(caught.value, DamagedH5Error)


def test_a_missing_h5_is_named_as_open_names_it(tmp_path: Path) -> None:
    # before: h5py's "Unable to synchronously open file (unable to open file: name = ...)"
    missing = tmp_path / "sad.h5"
    with pytest.raises(FileNotFoundError) as caught:
        read_sad(missing)
    assert str(caught.value) == f"[Errno 2] No such file or directory: '{missing}'"
    assert caught.value.filename == str(missing)
