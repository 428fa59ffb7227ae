"""The dataset store: contents against the FASTA and a numpy reference, crash safety and
the message of every bad input."""

from __future__ import annotations

import itertools
import json
import logging
import os
import re
import shutil
import zlib
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch

from crossreg.cli import main
from crossreg.data import BuildOptions, DataStore, Layout, SplitDataset, build_dataset
from crossreg.data.assembly import assembly_from_fasta_name
from crossreg.data.build import build_shard
from crossreg.data.shards import merge_shards
from crossreg.genome import Genome
from crossreg.io.atomic_dir import CONTENTS_FILE
from crossreg.io.bed import read_bed
from crossreg.io.identity import content_identity
from crossreg.shard import Shard
from tests.data_inputs import (
    SMALL_SIZES,
    random_genome,
    small_inputs,
    write_bigwig,
    write_fasta,
    write_table,
)
from tests.data_reference import reference_targets

LAYOUT = Layout(seq_length=4096, pool_width=128, crop_bins=4, stride=1500)


def cli_args(inputs: dict[str, Path], out: Path, *extra: str) -> list[str]:
    return [
        "-q", "data", "--genome", "test", "--fasta", str(inputs["fasta"]),
        "--targets", str(inputs["targets"]), "--out", str(out),
        "--regions", str(inputs["regions"]), "--gaps", str(inputs["gaps"]),
        "--blacklist", str(inputs["blacklist"]), "--unmappable", str(inputs["unmappable"]),
        "--seq-length", "4096", "--stride", "1500", "--crop", "4", "--threads", "2", *extra,
    ]  # fmt: skip


@pytest.fixture(scope="module")
def inputs(tmp_path_factory) -> dict[str, Path]:
    return small_inputs(tmp_path_factory.mktemp("inputs"))


@pytest.fixture(scope="module")
def store(inputs, tmp_path_factory) -> DataStore:
    out = tmp_path_factory.mktemp("stores") / "test"
    assert main(cli_args(inputs, out)) == 0
    return DataStore(out)


def all_windows(store: DataStore):
    return read_bed(store.path / "sequences.bed")


def test_metadata_describes_the_store(store, inputs):
    meta = json.loads((store.path / "dataset.json").read_text())
    assert meta["genome"] == "test" and meta["assembly"] == "genome"
    assert (meta["seq_length"], meta["pool_width"], meta["crop_bins"]) == (4096, 128, 4)
    assert meta["target_length"] == 24 and meta["num_targets"] == 4
    assert list(meta["splits"]) == ["train", "valid", "test"]
    assert sum(s["count"] for s in meta["splits"].values()) == len(all_windows(store))
    assert [t["identifier"] for t in meta["tracks"]] == ["dnase", "cage", "chip", "atac"]
    assert meta["crossreg_version"] and meta["dropped_unmappable"] > 0
    assert meta["format_version"] == 1  # plain: what older crossreg reads too
    assert store.table.identifiers == ["dnase", "cage", "chip", "atac"]
    assert all(Path(f).is_absolute() for t in store.table for f in t.files)
    assert [t.clip for t in store.table] == [32, 384, 16, 64]


def test_window_counts_and_splits_say_what_each_split_holds(store):
    # before: only splits, whose values are row offsets and counts, a user reading
    # store.splits["test"] for the split's windows got {"offset": ..., "count": ...}
    bed = all_windows(store)
    counts = store.window_counts
    assert list(counts) == list(store.splits) == ["train", "valid", "test"]
    assert counts == {split: len(store.windows(split)) for split in counts}
    assert sum(counts.values()) == len(bed) and min(counts.values()) > 0
    offsets = [store.splits[split]["offset"] for split in counts]
    assert offsets == [0, counts["train"], counts["train"] + counts["valid"]]
    assert repr(store).endswith(
        f"train {counts['train']}, valid {counts['valid']}, test {counts['test']})"
    )


def test_windows_respect_splits_contigs_and_unmappable_filter(store):
    # each split's region cut at the N run (chr1:20,000-22,000) and the gap (chr2:10,000-
    # 10,500), tiled from each piece's start every 1,500 bp; a window is dropped when at
    # least half of its 24 target bins overlap the unmappable chr1:30,000-34,000, and a
    # bin is masked when it overlaps that or the blacklist chr1:5,000-5,300
    pieces = {
        "train": [("chr1", 0, 20_000)],
        "valid": [("chr1", 22_000, 40_000)],
        "test": [("chr2", 0, 10_000), ("chr2", 10_500, 26_000)],
    }

    def overlaps(chrom: str, start: int, lo: int, hi: int) -> bool:
        return chrom == "chr1" and start < hi and start + 128 > lo

    dropped = 0
    for split, parts in pieces.items():
        windows, mask = [], []
        for chrom, lo, hi in parts:
            for start in range(lo, hi - 4096 + 1, 1500):
                bins = [start + 512 + 128 * b for b in range(24)]
                if sum(overlaps(chrom, b, 30_000, 34_000) for b in bins) >= 12:
                    dropped += 1
                    continue
                windows.append((chrom, start, start + 4096))
                mask.append(
                    [
                        overlaps(chrom, b, 30_000, 34_000) or overlaps(chrom, b, 5000, 5300)
                        for b in bins
                    ]
                )
        assert [(w.chrom, w.start, w.end) for w in store.windows(split)] == windows, split
        np.testing.assert_array_equal(store.masked(split), mask, err_msg=split)
    assert dropped > 0
    assert json.loads((store.path / "dataset.json").read_text())["dropped_unmappable"] == dropped


def test_a_window_with_exactly_the_limit_of_unmappable_bins_is_dropped(inputs, tmp_path):
    # window chr1:0-4,096 (bins from 512) has 11 of its 24 bins unmappable and stays;
    # window chr1:22,000-26,096 (bins from 22,512) has 12, half, and goes
    unmappable = tmp_path / "unmappable.bed"
    unmappable.write_text("chr1\t512\t1920\nchr1\t22512\t24048\n")
    out = tmp_path / "store"
    args = cli_args({**inputs, "unmappable": unmappable}, out, "--max-unmappable", "0.5")
    assert main(args) == 0
    store = DataStore(out)
    assert json.loads((out / "dataset.json").read_text())["dropped_unmappable"] == 1
    assert [w.start for w in store.windows("valid")][:1] == [23_500]
    train = store.windows("train")
    assert (train[0].chrom, train[0].start) == ("chr1", 0)
    assert store.masked("train")[0].sum() == 11


def test_sequences_equal_the_fasta(store, inputs):
    genome = Genome(inputs["fasta"])
    for split in store.splits:
        seqs = store.sequences(split)
        for row, w in enumerate(store.windows(split)):
            assert seqs[row].tobytes() == genome.fetch(w.chrom, w.start, w.end).upper()


def targets_and_reference(store: DataStore, fill_quantile: float = 0.25):
    """The store's targets of every split, its masked bins and the numpy reference's targets."""
    windows = all_windows(store)
    masked = np.concatenate([store.masked(s) for s in store.splits])
    ref = reference_targets(
        store.table,
        [w.chrom for w in windows],
        [w.start + 512 for w in windows],
        bins=24,
        mask=masked,
        fill_quantile=fill_quantile,
    )
    return np.concatenate([store.targets(s) for s in store.splits]), masked, ref


def test_targets_equal_the_numpy_pybigwig_reference(store):
    windows = all_windows(store)
    ours, masked, ref = targets_and_reference(store)
    assert ours.dtype == np.float16 and ours.shape == ref.shape
    np.testing.assert_allclose(
        ours.astype(np.float32), ref.astype(np.float32), rtol=2e-3, atol=1e-3
    )
    # the blacklist bins are masked and hold the fill value
    stats = store.track_stats()
    rows = [i for i, w in enumerate(windows) if w.chrom == "chr1" and w.start < 5300 < w.end]
    assert rows and masked[rows].any()
    fill = stats[0]["fill_value"]
    assert ours[rows][masked[rows]][:, 0].astype(float) == pytest.approx(
        min(fill, 32) * 2, rel=2e-3
    )


def test_the_fill_quantile_given_reaches_the_masked_bins(inputs, tmp_path):
    # the track's largest unmasked bin, not the 25th percentile, fills its masked bins
    assert main(cli_args(inputs, tmp_path / "q1", "--fill-quantile", "1")) == 0
    ours, masked, ref = targets_and_reference(DataStore(tmp_path / "q1"), fill_quantile=1.0)
    assert masked.any()
    np.testing.assert_allclose(
        ours[masked].astype(np.float32), ref[masked].astype(np.float32), rtol=2e-3, atol=1e-3
    )


def test_track_chunks_give_the_same_store(store, inputs, tmp_path):
    # a tiny memory budget processes one track at a time and merges the chunk files
    options = BuildOptions(genome="test", layout=LAYOUT, threads=1, memory_gb=1e-9)
    chunked = build_dataset(
        tmp_path / "chunked",
        fasta=inputs["fasta"],
        targets=inputs["targets"],
        options=options,
        regions=inputs["regions"],
        gaps=inputs["gaps"],
        blacklist=[inputs["blacklist"]],
        unmappable=inputs["unmappable"],
    )
    for split in store.splits:
        np.testing.assert_array_equal(chunked.targets(split), store.targets(split))
    assert not list(chunked.path.glob("*.part*"))


def test_fraction_split_is_deterministic(inputs, tmp_path):
    options = BuildOptions(genome="test", layout=LAYOUT, threads=1)
    options = BuildOptions(
        genome="test",
        layout=LAYOUT,
        threads=1,
        split=type(options.split)(valid_fraction=0.2, test_fraction=0.2, block_size=8192, seed=1),
    )
    beds = []
    for name in ("a", "b"):
        built = build_dataset(
            tmp_path / name, fasta=inputs["fasta"], targets=inputs["targets"], options=options
        )
        beds.append((built.path / "sequences.bed").read_text())
        assert set(built.splits) == {"train", "valid", "test"}
    assert beds[0] == beds[1]


def test_a_small_genome_without_regions_gets_every_split_and_a_warning(tmp_path, logs):
    # one 1-Mb chromosome and six 5-kb ones at Basenji's window: every window went to valid
    sizes = {"chr1": 1_000_000, **{f"chrUn{i}": 5_000 for i in range(6)}}
    fasta = write_fasta(tmp_path / "small.fa", random_genome(sizes, seed=2))
    track = write_bigwig(tmp_path / "t.bw", sizes, [("chr1", 1000, 9000, 2.0)])
    row = {"identifier": "t", "file": str(track), "clip": 32, "scale": 1, "sum_stat": "sum"}
    table = write_table(tmp_path / "targets.txt", [row])
    args = ["data", "--genome", "g", "--fasta", str(fasta), "--targets", str(table)]
    with logs.at_level(logging.WARNING, logger="crossreg"):
        assert main([*args, "--out", str(tmp_path / "store"), "--threads", "1"]) == 0
    counts = DataStore(tmp_path / "store").window_counts
    assert counts["valid"] == counts["test"] == 1 and counts["train"] >= 8
    assert "blocks of 1 window(s) are used" in logs.text
    assert "the requested split fractions cannot be met: train" in logs.text


def files_of(directory: Path) -> dict[str, bytes]:
    return {
        p.name: p.read_bytes()
        for p in sorted(directory.iterdir())
        if p.name != "crossreg-runs.jsonl"  # the commands run, by nature not the same
    }


def test_track_shards_from_staged_copies_merge_to_one_builds_bytes(inputs, tmp_path):
    # a job array staging the inputs on each node's disk: other paths and modification
    # times; the merge compared the inputs' paths ("they differ in inputs") and targets.txt
    # (the BigWigs' resolved paths) byte for byte, and refused these shards
    options = BuildOptions(genome="test", layout=LAYOUT, threads=2)
    names = ("fasta", "targets", "regions", "gaps", "unmappable")
    kw = {name: inputs[name] for name in names} | {"blacklist": [inputs["blacklist"]]}
    whole = build_dataset(tmp_path / "whole", options=options, **kw)
    # the FASTA hashed as it is loaded: what a separate read of it gave (earlier shards')
    recorded = json.loads((whole.path / "dataset.json").read_text())["input_content"]
    assert recorded["fasta"] == content_identity(inputs["fasta"])
    node = Path(shutil.copytree(inputs["fasta"].parent, tmp_path / "node" / "staged"))
    later = inputs["fasta"].stat().st_mtime_ns + 10**9
    for path in node.iterdir():
        os.utime(path, ns=(later, later))
    staged = {name: node / inputs[name].name for name in names}
    staged_kw = staged | {"blacklist": [node / inputs["blacklist"].name]}
    shards = [build_shard(tmp_path / "shard0", Shard(0, 3), options=options, **kw)]
    shards += [
        build_shard(tmp_path / f"shard{i}", Shard(i, 3), options=options, **staged_kw)
        for i in (1, 2)
    ]
    merged = merge_shards(tmp_path / "merged", shards)
    assert files_of(merged.path) == files_of(whole.path)
    gaps = staged["gaps"]  # edited in place: the same size, other content
    gaps.write_text(gaps.read_text().replace("10500", "10600"))
    edited = build_shard(
        tmp_path / "edited", Shard(2, 3), options=options, **{**staged_kw, "gaps": gaps}
    )
    with pytest.raises(
        ValueError,
        match=r"edited is a shard of another build than .*shard0 \(they differ in "
        r"input_content \(gaps: the same size, other content \(SHA-256 ",
    ):
        merge_shards(tmp_path / "bad", [*shards[:2], edited], overwrite=False)
    meta = json.loads((shards[1] / "shard.json").read_text())
    del meta["dataset"]["input_content"]  # as an earlier crossreg wrote it
    (shards[1] / "shard.json").write_text(json.dumps(meta))
    with pytest.raises(ValueError, match=r"shard1 was built by an earlier crossreg, which "
                       r"matched the shards' inputs by path; rebuild it"):  # fmt: skip
        merge_shards(tmp_path / "bad", shards, overwrite=False)
    assert not (tmp_path / "bad").exists()


def test_track_shards_merged_equal_one_build_byte_for_byte(inputs, tmp_path):
    # a small memory budget makes the one build and the shards assemble track chunks
    options = BuildOptions(genome="test", layout=LAYOUT, threads=2, memory_gb=1e-5)
    kw = {
        "fasta": inputs["fasta"], "targets": inputs["targets"], "options": options,
        "regions": inputs["regions"], "gaps": inputs["gaps"], "blacklist": [inputs["blacklist"]],
        "unmappable": inputs["unmappable"],
    }  # fmt: skip
    whole = build_dataset(tmp_path / "whole", **kw)
    shards = [build_shard(tmp_path / f"shard{i}", Shard(i, 3), **kw) for i in range(3)]
    assert [np.load(s / "targets.npy").shape[2] for s in shards] == [1, 1, 2]
    assert not (shards[1] / "sequences.npy").exists()
    with pytest.raises(ValueError, match="one shard of a `crossreg data --tracks i/n` build"):
        DataStore(shards[0])
    merged = merge_shards(tmp_path / "merged", shards)  # as data-merge: no --overwrite
    expected = files_of(whole.path)
    assert set(expected) == {
        CONTENTS_FILE, "dataset.json", "masked.npy", "regions.bed", "sequences.bed",
        "sequences.npy", "targets.npy", "targets.txt",
    }  # fmt: skip
    assert files_of(merged.path) == expected
    # the merge refuses shards out of order, missing, or of another build
    with pytest.raises(ValueError, match=r"shard1 is shard 1/3, given in place 0; pass the"):
        merge_shards(tmp_path / "bad", [shards[1], shards[0], shards[2]], overwrite=False)
    with pytest.raises(ValueError, match=r"has 3 shards, 2 were given; missing: 2/3; build it"):
        merge_shards(tmp_path / "bad", shards[:2], overwrite=False)
    other = build_shard(
        tmp_path / "other",
        Shard(1, 3),
        **{**kw, "options": replace(options, fill_quantile=0.5)},
    )
    with pytest.raises(ValueError, match=r"other is a shard of another build .*differ in options"):
        merge_shards(tmp_path / "bad", [shards[0], other, shards[2]], overwrite=False)
    with pytest.raises(ValueError, match=r"whole is not a finished shard .*it is a finished"):
        merge_shards(tmp_path / "bad", [whole.path], overwrite=False)
    with pytest.raises(ValueError, match=r"shard .*shard3 does not exist: its `crossreg data"):
        merge_shards(tmp_path / "bad", [*shards, tmp_path / "shard3"], overwrite=False)
    (tmp_path / ".shard3.partial").mkdir()  # a build under way, or killed
    with pytest.raises(ValueError, match=r"shard3 does not exist: its build is under way, or"):
        merge_shards(tmp_path / "bad", [*shards, tmp_path / "shard3"], overwrite=False)
    part = shards[1] / "targets.npy"
    part.write_bytes(part.read_bytes()[:200])
    with pytest.raises(ValueError, match=r"shard1/targets\.npy is cut, .*--tracks 1/3` and the"):
        merge_shards(tmp_path / "bad", shards, overwrite=False)
    meta = shards[2] / "shard.json"
    meta.write_text(meta.read_text()[:100])
    with pytest.raises(ValueError, match=r"shard2/shard\.json: not a crossreg dataset shard"):
        merge_shards(tmp_path / "bad", shards, overwrite=False)
    assert not (tmp_path / "bad").exists()


def test_a_shard_lacking_a_file_is_named_with_the_build_to_rerun(inputs, tmp_path):
    """A shard folder that lost a file since its build (a cleanup, a partial copy between
    machines) is named with the file and the shard's command; it stopped with a bare
    'No such file or directory'."""
    kw = {"fasta": inputs["fasta"], "targets": inputs["targets"], "regions": inputs["regions"]}
    options = BuildOptions(genome="test", layout=LAYOUT, threads=1)
    shards = [
        build_shard(tmp_path / f"shard{i}", Shard(i, 2), options=options, **kw) for i in (0, 1)
    ]
    (shards[1] / "masked.npy").unlink()
    (shards[1] / "targets.npy").unlink()
    with pytest.raises(ValueError, match=r"shard1 lacks masked\.npy, targets\.npy, .*--tracks 1/2"):
        merge_shards(tmp_path / "merged", shards)
    (shards[0] / "sequences.npy").unlink()
    with pytest.raises(ValueError, match=r"shard0 lacks sequences\.npy, .*--tracks 0/2"):
        merge_shards(tmp_path / "merged", shards)
    assert not (tmp_path / "merged").exists()


def test_track_shards_on_the_command_line(inputs, store, tmp_path, logs):
    shards = [tmp_path / f"s{i}" for i in range(2)]
    for i, shard in enumerate(shards):
        assert main(cli_args(inputs, shard, "--tracks", f"{i}/2")) == 0
    assert main(["-q", "data-merge", "--out", str(tmp_path / "merged"), *map(str, shards)]) == 0
    assert files_of(tmp_path / "merged") == files_of(store.path)
    with pytest.raises(ValueError, match="--tracks 0/5: the targets table has only 4 tracks"):
        build_shard(
            tmp_path / "many", Shard(0, 5), fasta=inputs["fasta"],
            targets=inputs["targets"], options=BuildOptions(genome="x", layout=LAYOUT),
        )  # fmt: skip
    assert not (tmp_path / "bad").exists()


def test_the_merge_keeps_its_shards_and_writes_through_a_linked_out(inputs, store, tmp_path, logs):
    shards = [tmp_path / "s" / f"sh{i}" for i in range(2)]
    for i, shard in enumerate(shards):
        assert main(cli_args(inputs, shard, "--tracks", f"{i}/2")) == 0
    before = [files_of(shard) for shard in shards]
    merge = ["-q", "data-merge", "--overwrite", *map(str, shards), "--out"]
    assert main([*merge, str(shards[0])]) == 1
    assert f"--out {shards[0]} is the shard {shards[0]} given to merge" in logs.text
    (tmp_path / "link").symlink_to(shards[1])
    for out, relation, shard in [
        (tmp_path / "link", "is", shards[1]),
        (tmp_path / "s", "holds", shards[0]),
        (shards[1] / "m", "lies inside", shards[1]),
    ]:
        with pytest.raises(
            ValueError, match=re.escape(f"--out {out} {relation} the shard {shard}")
        ):
            merge_shards(out, shards, overwrite=True)
    assert [files_of(shard) for shard in shards] == before
    # an --out linked to a folder elsewhere is written there, and stays linked
    (tmp_path / "scratch" / "merged").mkdir(parents=True)
    (tmp_path / "merged").symlink_to(tmp_path / "scratch" / "merged")
    for _ in range(2):
        assert main([*merge, str(tmp_path / "merged")]) == 0
    assert (tmp_path / "merged").is_symlink()
    assert files_of(tmp_path / "scratch" / "merged") == files_of(store.path)
    assert sorted(p.name for p in (tmp_path / "scratch").iterdir()) == ["merged"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["link", "merged", "s", "scratch"]


def test_compressed_targets_read_back_as_the_plain_store_s(inputs, store, tmp_path):
    out = tmp_path / "packed"
    assert main(cli_args(inputs, out, "--compress-targets", "1")) == 0
    packed = DataStore(out)
    assert packed.compressed and not store.compressed
    assert not (out / "targets.npy").exists() and (out / "targets.rows").exists()
    assert (out / "targets.rows").stat().st_size < (store.path / "targets.npy").stat().st_size
    for name in ("sequences.npy", "masked.npy", "sequences.bed", "regions.bed", "targets.txt"):
        assert (out / name).read_bytes() == (store.path / name).read_bytes()
    rng = np.random.default_rng(0)
    for split in store.splits:
        plain, rows = store.targets(split), packed.targets(split)
        assert rows.shape == plain.shape and len(rows) == len(plain)
        np.testing.assert_array_equal(np.asarray(rows), plain)
        np.testing.assert_array_equal(rows[1:4], plain[1:4])
        np.testing.assert_array_equal(rows[-1], plain[-1])
        pick = rng.integers(0, len(plain), 7)
        np.testing.assert_array_equal(rows[pick], plain[pick])
        bins = rng.integers(0, plain.shape[1], 7)
        np.testing.assert_array_equal(rows[pick, bins], plain[pick, bins])
        np.testing.assert_array_equal(rows[2:5, 3, 1:3], plain[2:5, 3, 1:3])
        with pytest.raises(IndexError, match="within"):
            rows[[len(plain)]]
        chosen = np.zeros(len(plain), dtype=bool)
        chosen[pick] = True
        np.testing.assert_array_equal(rows[chosen], plain[chosen])
        np.testing.assert_array_equal(rows[chosen, 2], plain[chosen, 2])
        with pytest.raises(IndexError, match="does not match"):
            rows[chosen[:-1]]
        with pytest.raises(IndexError, match="integers or booleans"):
            rows[np.array([0.0, 1.0])]
        kw = {"augment_rc": True, "augment_shift": 3, "seed": 2, "sequence": "codes"}
        a, b = SplitDataset(store, split, **kw), SplitDataset(packed, split, **kw)
        keys = np.arange(len(a))[::-1]
        for key in ("sequence", "targets", "rc", "shift"):
            assert torch.equal(a[keys][key], b[keys][key])
    # shards of a compressed build merge into the same bytes as the one build
    shards = [tmp_path / f"s{i}" for i in range(2)]
    for i, shard in enumerate(shards):
        assert main(cli_args(inputs, shard, "--compress-targets", "1", "--tracks", f"{i}/2")) == 0
    assert (shards[0] / "targets.npy").exists()  # shards hold plain targets
    for shard in shards:  # as an older crossreg wrote them: the merge writes this version
        meta = json.loads((shard / "shard.json").read_text())
        assert meta["format_version"] == 1  # shards hold plain targets
        meta["dataset"]["format_version"] = 1
        (shard / "shard.json").write_text(json.dumps(meta))
    assert json.loads((out / "dataset.json").read_text())["format_version"] == 2
    assert main(["-q", "data-merge", "--out", str(tmp_path / "merged"), *map(str, shards)]) == 0
    assert files_of(tmp_path / "merged") == files_of(out)
    with pytest.raises(ValueError, match="--compress-targets 13: the deflate level is 0 to 12"):
        build_dataset(
            tmp_path / "bad", fasta=inputs["fasta"], targets=inputs["targets"],
            options=BuildOptions(genome="x", layout=LAYOUT, compress_targets=13),
        )  # fmt: skip


def _write_version_1_rows(directory: Path, targets: np.ndarray) -> None:
    """`targets` in the compressed form of store format version 1, written without
    crossreg's codec: each window's float16 values byte-shuffled (the low bytes, then the
    high bytes) and raw-deflated, with no checksum."""
    offsets = [0]
    with open(directory / "targets.rows", "wb") as out:
        for window in targets:
            values = window.view(np.uint16).reshape(-1)
            shuffled = np.concatenate([values & 0xFF, values >> 8]).astype(np.uint8)
            packer = zlib.compressobj(1, zlib.DEFLATED, -15)
            row = packer.compress(shuffled.tobytes()) + packer.flush()
            out.write(row)
            offsets.append(offsets[-1] + len(row))
    np.save(directory / "targets.offsets.npy", np.array(offsets, np.uint64))


def test_stores_of_format_version_1_still_read(store, tmp_path):
    plain = Path(shutil.copytree(store.path, tmp_path / "plain"))
    meta = json.loads((plain / "dataset.json").read_text())
    assert meta["format_version"] == 1 == DataStore(plain).format_version
    packed = Path(shutil.copytree(plain, tmp_path / "packed"))
    _write_version_1_rows(packed, np.load(packed / "targets.npy"))
    (packed / "targets.npy").unlink()
    meta["options"]["compress_targets"] = 1
    (packed / "dataset.json").write_text(json.dumps(meta))
    old = DataStore(packed)
    assert old.compressed
    for split in store.splits:  # decoded without a checksum
        np.testing.assert_array_equal(np.asarray(old.targets(split)), store.targets(split))
    # the version decides: rows without a checksum are not those of version 2
    meta["format_version"] = 2
    (packed / "dataset.json").write_text(json.dumps(meta))
    with pytest.raises(ValueError, match=r"targets\.rows: window 0 "):
        np.asarray(DataStore(packed).targets("train"))


def test_an_interrupted_build_leaves_no_finished_looking_store(inputs, tmp_path, monkeypatch):
    import crossreg.data.build as build_module

    def fail(*args, **kwargs):
        raise RuntimeError("disk died")

    out = tmp_path / "crashed"
    monkeypatch.setattr(build_module, "write_chunked_targets", fail)
    with pytest.raises(RuntimeError, match="disk died"):
        main(cli_args(inputs, out))
    assert not out.exists()
    assert not (tmp_path / ".crashed.partial").exists()
    monkeypatch.undo()
    # a hard kill leaves the partial directory: it is not a store, and the rerun cleans it
    partial = tmp_path / ".crashed.partial"
    partial.mkdir()
    (partial / "sequences.npy").write_bytes(b"junk")
    with pytest.raises(ValueError, match="not a finished crossreg dataset"):
        DataStore(partial)
    assert main(cli_args(inputs, out)) == 0
    assert not partial.exists() and DataStore(out).num_targets == 4


def test_an_interrupt_says_the_output_is_as_it_was(inputs, store, tmp_path, monkeypatch, logs):
    import crossreg.data.build as build_module
    import crossreg.data.shards as shards_module

    out = tmp_path / "kept"
    shutil.copytree(store.path, out)
    before = files_of(out)

    def interrupt(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(build_module, "write_chunked_targets", interrupt)
    assert main(cli_args(inputs, out, "--overwrite")) == 130
    assert f"interrupted; {out} is as it was; the finished work (sequences.npy) is kept in" in (
        logs.text
    )
    assert files_of(out) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == [".kept.partial", "kept"]
    monkeypatch.undo()
    assert main(cli_args(inputs, out, "--resume")) == 0  # an --overwrite build resumed
    assert files_of(out) == before and sorted(p.name for p in tmp_path.iterdir()) == ["kept"]
    shards = [tmp_path / f"s{i}" for i in range(2)]
    for i, shard in enumerate(shards):
        assert main(cli_args(inputs, shard, "--tracks", f"{i}/2")) == 0
    monkeypatch.setattr(shards_module, "merge_track_chunks", interrupt)
    assert main(["data-merge", "--overwrite", "--out", str(out), *map(str, shards)]) == 130
    assert f"nothing was written: {out} is as it was and the shards are kept; rerun" in logs.text
    assert files_of(out) == before
    fresh = tmp_path / "fresh"  # an --out that did not exist is not called as it was
    assert main(["data-merge", "--out", str(fresh), *map(str, shards)]) == 130
    assert f"nothing was written: {fresh} was not made and the shards are kept" in logs.text
    assert not fresh.exists()


def test_existing_store_needs_overwrite(store, inputs):
    with pytest.raises(ValueError, match="already holds a dataset; pass --overwrite"):
        build_dataset(
            store.path,
            fasta=inputs["fasta"],
            targets=inputs["targets"],
            options=BuildOptions(genome="x", layout=LAYOUT),
        )


def _bad(inputs: dict[str, Path], tmp: Path, case: str) -> dict:
    """Keyword arguments of build_dataset with one thing wrong."""
    kw: dict = {"fasta": inputs["fasta"], "targets": inputs["targets"]}
    row = {"identifier": "t", "file": str(inputs["targets"].parent / "r0.bw"), "clip": 32,
           "scale": 2, "sum_stat": "mean"}  # fmt: skip
    rows = [row]
    if case == "missing fasta":
        kw["fasta"] = tmp / "none.fa"
    elif case == "missing bigwig":
        rows = [{**row, "file": "absent.bw"}]
    elif case == "chr prefix":
        sizes = {c.removeprefix("chr"): n for c, n in SMALL_SIZES.items()}
        rows = [{**row, "file": str(write_bigwig(tmp / "nochr.bw", sizes, [("1", 0, 10, 1.0)]))}]
    elif case == "build mismatch":
        sizes = {"chr1": 41_000, "chr2": 26_000}
        rows = [{**row, "file": str(write_bigwig(tmp / "hg19.bw", sizes, [("chr1", 0, 9, 1.0)]))}]
    elif case == "not a bigwig":
        (tmp / "fake.bw").write_text("track type=bedGraph\n" * 10)
        rows = [{**row, "file": "fake.bw"}]
    elif case == "Basenji HDF5 coverage":
        (tmp / "cov.w5").write_bytes(b"\x89HDF\r\n\x1a\n" + bytes(100))
        rows = [{**row, "file": "cov.w5"}]
    elif case == "peak BED":
        (tmp / "peaks.narrowPeak").write_text("chr1\t10\t20\tp\n")
        rows = [{**row, "file": "peaks.narrowPeak"}]
    elif case == "unknown sum_stat":
        rows = [{**row, "sum_stat": "median"}]
    elif case == "duplicate identifier":
        rows = [row, row]
    elif case == "bad number":
        rows = [{**row, "clip": "lots"}]
    elif case == "blacklist names":
        (tmp / "bl.bed").write_text("1\t0\t10\n")
        kw["blacklist"] = [tmp / "bl.bed"]
    elif case == "regions past end":
        (tmp / "reg.bed").write_text("chr1\t0\t50000\ttrain\nchrUn_x\t0\t9\ttest\n")
        kw["regions"] = tmp / "reg.bed"
    kw["targets"] = write_table(tmp / "bad_targets.txt", rows)
    return kw


@pytest.mark.parametrize(
    ("case", "message"),
    [
        ("missing fasta", r"none.fa: FASTA not found"),
        ("missing bigwig", r"bad_targets.txt:2: track file .*absent.bw of 't' does not exist"),
        ("chr prefix", r"nochr.bw .*chromosome '1' is not in .*'chr1'.*'chr' prefix"),
        ("build mismatch", r"hg19.bw .*'chr1' is 41,000 bp but 40,000 bp .*genome builds"),
        ("not a BigWig", r"fake.bw.*not a BigWig.*is it a BigWig file\?"),
        (
            "Basenji HDF5 coverage",
            r"cov.w5.*HDF5 file, as Basenji's per-base coverage.*BigWig only",
        ),
        ("peak BED", r"peaks.narrowPeak.*peak BED.*bedGraphToBigWig"),
        ("unknown sum_stat", r"bad_targets.txt:2: sum_stat 'median' is unknown"),
        ("duplicate identifier", r"bad_targets.txt:3: identifier 't' already used on line 2"),
        ("bad number", r"bad_targets.txt:2: column 'clip' is 'lots', not a number"),
        ("blacklist names", r"bl.bed \(blacklist BED\): chromosome '1' .*'chr' prefix"),
        ("regions past end", r"reg.bed:1 \(regions BED\): interval chr1:0-50000 runs past"),
    ],
)
def test_bad_inputs_are_refused_with_one_clear_message(inputs, tmp_path, case, message):
    kw = _bad(inputs, tmp_path, case.replace("BigWig", "bigwig"))
    with pytest.raises(ValueError, match=message):
        build_dataset(tmp_path / "out", options=BuildOptions(genome="x", layout=LAYOUT), **kw)
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(
    ("layout", "message"),
    [
        (Layout(seq_length=4000), r"--seq-length 4000 must be a positive multiple of the pool"),
        (Layout(seq_length=4096, crop_bins=16), r"--crop 16 bins per side leaves no target bins"),
        (Layout(seq_length=4096, stride=0), r"--stride must be positive"),
    ],
)
def test_bad_numbers_are_refused(inputs, tmp_path, layout, message):
    with pytest.raises(ValueError, match=message):
        build_dataset(
            tmp_path / "out",
            fasta=inputs["fasta"],
            targets=inputs["targets"],
            options=BuildOptions(genome="x", layout=layout),
        )


def test_cli_reports_bad_input_and_fails(inputs, tmp_path, logs):
    args = cli_args(inputs, tmp_path / "out")
    args[args.index("--fasta") + 1] = str(tmp_path / "missing.fa")
    assert main(args) == 1
    assert not (tmp_path / "out").exists()


def test_npy_rows_write_and_read_blocks_of_rows(tmp_path):
    from crossreg.data.npy import NpyRows

    data = np.arange(5 * 3 * 2, dtype=np.float16).reshape(5, 3, 2)
    with NpyRows(tmp_path / "x.npy", "w", dtype=np.float16, shape=data.shape) as out:
        out.write(3, data[3:])
        out.write(0, data[:3])
        with pytest.raises(ValueError, match="do not fit"):
            out.write(4, data[:2])
    np.testing.assert_array_equal(np.load(tmp_path / "x.npy"), data)
    with NpyRows(tmp_path / "x.npy") as back:
        np.testing.assert_array_equal(back.read(1, 4), data[1:4])


def _damaged_copy(store: DataStore, tmp_path: Path, edit) -> Path:
    import shutil

    copy = Path(shutil.copytree(store.path, tmp_path / "copy"))
    meta = json.loads((copy / "dataset.json").read_text())
    edit(meta)
    (copy / "dataset.json").write_text(json.dumps(meta))
    return copy


@pytest.mark.parametrize(
    ("edit", "key"),
    [
        (lambda m: m.update(num_targets=True), "num_targets"),
        (lambda m: m["splits"]["train"].update(count=-1), "train"),
        (lambda m: m.update(tracks={}), "tracks"),
    ],
)
def test_a_mistyped_dataset_json_is_refused_at_open(store, tmp_path, edit, key) -> None:
    copy = _damaged_copy(store, tmp_path, edit)
    with pytest.raises(ValueError, match=rf"dataset\.json: .*{key}.*rebuild the store"):
        DataStore(copy)


def test_a_store_array_of_the_wrong_width_is_named(store, tmp_path) -> None:
    copy = _damaged_copy(store, tmp_path, lambda m: None)
    masked = np.load(copy / "masked.npy")
    np.save(copy / "masked.npy", masked[:, :-1])
    with pytest.raises(ValueError, match=r"masked\.npy: rows of shape"):
        DataStore(copy).masked("train")


def test_a_cut_targets_file_is_named_when_training_reads_it(store, tmp_path) -> None:
    copy = _damaged_copy(store, tmp_path, lambda m: None)
    data = (copy / "targets.npy").read_bytes()
    (copy / "targets.npy").write_bytes(data[: len(data) // 2])
    with pytest.raises(ValueError, match=r"targets\.npy: cut or not a \.npy array .*rebuild"):
        SplitDataset(DataStore(copy), "train")[0]


def test_stride_test_spaces_the_held_out_windows_alone(inputs, store, tmp_path):
    out = tmp_path / "apart"
    assert main(cli_args(inputs, out, "--stride-test", "4096")) == 0
    apart = DataStore(out)
    assert (apart.metadata["stride"], apart.metadata["stride_test"]) == (1500, 4096)
    assert store.metadata["stride_test"] == 1500
    assert [(w.chrom, w.start) for w in apart.windows("train")] == [
        (w.chrom, w.start) for w in store.windows("train")
    ]
    for split in ("valid", "test"):
        windows = apart.windows(split)
        assert windows and len(windows) < len(store.windows(split))
        for a, b in itertools.pairwise(windows):
            assert a.chrom != b.chrom or b.start - a.start >= 4096  # no two overlap


def test_the_track_files_check_reports_progress(inputs, tmp_path, monkeypatch, logs):
    # thousands of BigWigs on a network file system take minutes to open: it shows
    monkeypatch.setenv("CROSSREG_PROGRESS", "log")
    monkeypatch.setenv("CROSSREG_PROGRESS_INTERVAL", "0")
    with logs.at_level(logging.INFO, logger="crossreg"):
        assert main(cli_args(inputs, tmp_path / "store")[1:]) == 0
    lines = [r.getMessage() for r in logs.records if r.getMessage().startswith("track files")]
    assert [line.split(" files (")[0] for line in lines] == [
        f"track files checked: {k}/3" for k in (1, 2, 3)
    ]


def test_compressing_the_targets_reports_progress(inputs, tmp_path, monkeypatch, logs):
    # the paper's 362 GB of targets take a quarter hour to compress: it shows
    monkeypatch.setenv("CROSSREG_PROGRESS", "log")
    monkeypatch.setenv("CROSSREG_PROGRESS_INTERVAL", "0")
    with logs.at_level(logging.INFO, logger="crossreg"):
        assert main(cli_args(inputs, tmp_path / "store", "--compress-targets", "1")[1:]) == 0
    windows = DataStore(tmp_path / "store").num_windows
    lines = [r.getMessage() for r in logs.records if r.getMessage().startswith("compressing")]
    assert lines and lines[-1].startswith(
        f"compressing targets (level 1): {windows}/{windows} windows (100.0%)"
    )


@pytest.mark.parametrize(
    ("name", "assembly"),
    [
        ("hg38.fa", "hg38"),
        ("hg38.fa.gz", "hg38"),
        ("mm10.fasta", "mm10"),
        ("danRer11.fna.gz", "danRer11"),
        ("hg38.analysisSet.fa", "hg38"),
        ("GRCh38.primary_assembly.genome.fa", "GRCh38"),
        ("Homo_sapiens.GRCh38.dna.primary_assembly.fa.gz", "GRCh38"),
        ("Mus_musculus.GRCm39.dna_sm.toplevel.fa", "GRCm39"),
        ("Drosophila_melanogaster.BDGP6.46.dna.toplevel.fa", "BDGP6.46"),
        ("GCF_000001405.40_GRCh38.p14_genomic.fna", "GCF_000001405.40"),
        ("GCA_000001635.9_GRCm39_genomic.fna.gz", "GCA_000001635.9"),
        ("genome.fa", "genome"),
    ],
)
def test_the_default_assembly_is_read_from_common_fasta_names(name, assembly):
    """Ensembl's ``Homo_sapiens.GRCh38.dna...`` recorded the assembly ``Homo_sapiens`` and
    NCBI's ``GCF_000001405.40_...`` lost the accession's version; UCSC and GENCODE names
    keep the name up to its first dot they always had."""
    assert assembly_from_fasta_name(f"staged/{name}") == assembly


def test_a_store_from_an_ensembl_fasta_records_its_assembly(inputs, tmp_path):
    ensembl = inputs.copy()
    ensembl["fasta"] = tmp_path / "Homo_sapiens.GRCh38.dna.primary_assembly.fa"
    shutil.copyfile(inputs["fasta"], ensembl["fasta"])
    assert main(cli_args(ensembl, tmp_path / "store")) == 0
    assert json.loads((tmp_path / "store" / "dataset.json").read_text())["assembly"] == "GRCh38"


def test_the_fractions_warning_counts_the_held_out_windows_the_store_holds(tmp_path, logs):
    # --stride-test thins the held-out windows: the warning names what the store holds
    sizes = {"chr1": 200_000}
    fasta = write_fasta(tmp_path / "small.fa", random_genome(sizes, seed=2))
    track = write_bigwig(tmp_path / "t.bw", sizes, [("chr1", 1000, 9000, 2.0)])
    row = {"identifier": "t", "file": str(track), "clip": 32, "scale": 1, "sum_stat": "sum"}
    table = write_table(tmp_path / "targets.txt", [row])
    args = ["data", "--genome", "g", "--fasta", str(fasta), "--targets", str(table)]
    args += ["--seq-length", "4096", "--stride", "1024", "--stride-test", "4096", "--crop", "4"]
    args += ["--split-block", "16384", "--valid-fraction", "0.3", "--test-fraction", "0.3"]
    with logs.at_level(logging.WARNING, logger="crossreg"):
        assert main([*args, "--out", str(tmp_path / "store"), "--threads", "1"]) == 0
    counts = {k: v["count"] for k, v in DataStore(tmp_path / "store").splits.items()}
    (warning,) = [r.message for r in logs.records if "cannot be met" in r.message]
    named = dict(re.findall(r"(train|valid|test) (\d+) \(", warning))
    assert {k: int(v) for k, v in named.items()} == {k: counts[k] for k in named}
    assert f"of {sum(counts.values())} windows" in warning
