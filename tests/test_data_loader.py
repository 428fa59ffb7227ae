"""PyTorch datasets over a store: batches, seeded rc/shift augmentation, worker processes."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from crossreg.data import (
    BuildOptions,
    DataStore,
    Layout,
    SplitDataset,
    augmentation_draws,
    build_dataset,
    codes_to_one_hot,
    make_loader,
)
from crossreg.data.device_batches import to_device
from crossreg.dna import one_hot, reverse_complement, shift_sequence
from tests.data_inputs import small_inputs, write_bigwig, write_fasta, write_table


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> DataStore:
    inputs = small_inputs(tmp_path_factory.mktemp("inputs"))
    return build_dataset(
        tmp_path_factory.mktemp("stores") / "s",
        fasta=inputs["fasta"],
        targets=inputs["targets"],
        options=BuildOptions(genome="t", layout=Layout(4096, 128, 4, 700), threads=1),
        regions=inputs["regions"],
    )


def test_a_batch_has_the_documented_keys_shapes_and_dtypes(store):
    ds = SplitDataset(store, "train")
    batch = ds[np.array([0, 3, 1])]
    assert batch["sequence"].shape == (3, 4096, 4) and batch["sequence"].dtype == torch.float32
    assert batch["targets"].shape == (3, 24, 4) and batch["targets"].dtype == torch.float16
    assert batch["index"].tolist() == [0, 3, 1]
    assert not batch["rc"].any() and not batch["shift"].any()
    seqs = store.sequences("train")
    np.testing.assert_array_equal(batch["sequence"].numpy(), one_hot(seqs[[0, 3, 1]]))
    np.testing.assert_array_equal(batch["targets"].numpy(), store.targets("train")[[0, 3, 1]])
    single = ds[2]
    assert single["sequence"].shape == (4096, 4) and single["targets"].shape == (24, 4)
    small = SplitDataset(store, "train", one_hot_dtype=np.uint8)[np.array([0, 3, 1])]
    assert small["sequence"].dtype == torch.uint8
    np.testing.assert_array_equal(small["sequence"].numpy(), batch["sequence"].numpy())
    # as a user writes it: the batch goes into a model as it comes
    conv = torch.nn.Conv1d(4, 2, 5)
    assert conv(batch["sequence"].mT).shape == (3, 2, 4092)


def test_each_augmented_example_is_a_transform_of_the_stored_one(store):
    ds = SplitDataset(store, "train", augment_rc=True, augment_shift=3, seed=5, sequence="codes")
    n = len(ds)
    seen = set()
    for epoch in range(4):
        batch = ds[(epoch, np.arange(n))]
        for i in range(n):
            rc, shift = bool(batch["rc"][i]), int(batch["shift"][i])
            seen.add((rc, shift))
            seq = shift_sequence(store.sequences("train")[i].tobytes(), shift)
            target = store.targets("train")[i]
            if rc:
                seq, target = reverse_complement(seq), target[::-1]
            assert batch["sequence"][i].numpy().tobytes() == seq
            np.testing.assert_array_equal(batch["targets"][i].numpy(), target)
    assert {rc for rc, _ in seen} == {True, False}
    assert {s for _, s in seen} == set(range(-3, 4))


def test_augmentation_draws_depend_only_on_seed_epoch_and_index():
    a = augmentation_draws(1, 2, [5, 6, 7], rc=True, max_shift=3)
    b = augmentation_draws(1, 2, [7, 5], rc=True, max_shift=3)
    assert a[0][[2, 0]].tolist() == b[0].tolist() and a[1][[2, 0]].tolist() == b[1].tolist()
    flips, shifts = augmentation_draws(1, 2, np.arange(20_000), rc=True, max_shift=3)
    assert abs(flips.mean() - 0.5) < 0.02
    assert np.bincount(shifts + 3).min() > 20_000 / 7 * 0.9
    other = augmentation_draws(1, 3, np.arange(20_000), rc=True, max_shift=3)
    assert (other[0] != flips).any()


def _splitmix64(x: int) -> int:
    """SplitMix64's finaliser on a Python integer, wrapped to 64 bits."""
    x = (x + 0x9E3779B97F4A7C15) % 2**64
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) % 2**64
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) % 2**64
    return x ^ (x >> 31)


def test_augmentation_draws_follow_a_plain_hash_with_every_pair_equally_likely():
    """The draws are a fixed function of (seed, epoch, index), so a resumed run or
    another number of workers draws the same: SplitMix64 chained over the seed, the epoch
    and the index, spelt out on Python integers, gives each example's flip (the low bit)
    and shift (the rest, modulo the 2S + 1 shifts). The 14 (flip, shift) pairs of S = 3
    come equally often (70,000 draws: a chi-square of 13 degrees of freedom under 35)."""
    rows = [0, 1, 2, 5, 1000, 2**40]
    for seed, epoch in ((0, 0), (7, 3), (2**64 - 1, 12), (-1, 12)):
        flips, shifts = augmentation_draws(seed, epoch, rows, rc=True, max_shift=3)
        _, unflipped = augmentation_draws(seed, epoch, rows, rc=False, max_shift=3)
        key = _splitmix64(_splitmix64(seed % 2**64) ^ epoch)
        for row, flip, shift, alone in zip(rows, flips, shifts, unflipped, strict=True):
            h = _splitmix64(key ^ row)
            assert (bool(flip), int(shift)) == (bool(h & 1), (h >> 1) % 7 - 3), (seed, row)
            assert alone == shift  # turning flips off leaves the shifts as they were
        assert not augmentation_draws(seed, epoch, rows, rc=False, max_shift=3)[0].any()
        assert not augmentation_draws(seed, epoch, rows, rc=True, max_shift=0)[1].any()
    flips, shifts = augmentation_draws(4, 1, np.arange(70_000), rc=True, max_shift=3)
    counts = np.bincount(flips * 7 + shifts + 3, minlength=14)
    assert len(counts) == 14
    assert ((counts - 5000) ** 2 / 5000).sum() < 35


def test_batches_are_identical_with_and_without_worker_processes(store):
    ds = SplitDataset(store, "test", augment_rc=True, augment_shift=2, seed=3)

    def two_epochs(workers: int, read_ahead: int = 2) -> list[torch.Tensor]:
        loader = make_loader(ds, 4, seed=9, num_workers=workers, read_ahead=read_ahead)
        torch.manual_seed(5)
        expected = torch.rand(3)
        torch.manual_seed(5)
        batches = iter(loader)  # a first pass leaves torch's own random numbers (dropout) be
        assert torch.equal(torch.rand(3), expected)
        first = [b[key] for b in batches for key in ("sequence", "targets")]
        return first + [b[key] for b in loader for key in ("sequence", "targets")]

    serial = two_epochs(0, read_ahead=0)
    for other in (two_epochs(0, read_ahead=3), two_epochs(2)):
        assert len(serial) == len(other) > 0
        for x, y in zip(serial, other, strict=True):
            assert torch.equal(x, y)
    # and as read back from the store by hand
    loader = make_loader(ds, 4, seed=9, read_ahead=0)
    for batch in loader:
        rows = batch["index"].numpy()
        plain = SplitDataset(store, "test")[rows]
        unaugmented = ~batch["rc"] & (batch["shift"] == 0)
        assert torch.equal(batch["targets"][unaugmented], plain["targets"][unaugmented])


def test_read_ahead_loader_follows_the_sampler_and_stops_cleanly(store):
    ds = SplitDataset(store, "train", sequence="codes")
    loader = make_loader(ds, 3, seed=2, read_ahead=4)
    assert len(loader) == -(-len(ds) // 3)
    loader.sampler.epoch = 5  # as the trainer sets it
    first = [b["index"] for b in loader]
    expected = np.random.default_rng([2, 5]).permutation(len(ds))
    assert torch.cat(first).tolist() == expected.tolist()
    # a pass abandoned after one batch leaves no reader behind and the next pass goes on
    it = iter(loader)
    next(it)
    it.close()
    assert not [t for t in threading.enumerate() if t.name.startswith("crossreg-read")]
    assert torch.cat([b["index"] for b in loader]).tolist() == (
        np.random.default_rng([2, 7]).permutation(len(ds)).tolist()
    )


def test_sampler_covers_every_example_once_per_epoch(store):
    ds = SplitDataset(store, "test")
    loader = make_loader(ds, 4, seed=1)
    first = torch.cat([b["index"] for b in loader])
    second = torch.cat([b["index"] for b in loader])
    assert sorted(first.tolist()) == list(range(len(ds))) == sorted(second.tolist())
    assert first.tolist() != second.tolist()


def test_a_share_of_each_batch_is_that_part_of_the_whole_batch_read_alone(store):
    """Under torchrun each process's loader reads only its part of every global batch
    (``share=(rank, processes)``): the same rows, augmentation, sequences and targets as
    that part of the whole batch; a last partial batch is split as evenly as it goes."""
    ds = SplitDataset(store, "train", augment_rc=True, augment_shift=3, seed=4)
    whole = list(make_loader(ds, 4, seed=6, read_ahead=0))
    assert len(whole[-1]["index"]) == len(ds) % 4 == 3  # a partial batch to split
    for part, rows in ((0, [slice(0, 2), slice(0, 2)]), (1, [slice(2, 4), slice(2, 3)])):
        shared = list(make_loader(ds, 4, seed=6, read_ahead=0, share=(part, 2)))
        assert len(shared) == len(whole)
        for i, (mine, full) in enumerate(zip(shared, whole, strict=True)):
            cut = rows[0] if i < len(whole) - 1 else rows[1]
            assert mine.keys() == full.keys()
            for key in full:
                assert torch.equal(mine[key], full[key][cut]), (part, i, key)
    with pytest.raises(ValueError, match="a batch of 4 cannot be split evenly over 3 processes"):
        make_loader(ds, 4, share=(0, 3))
    with pytest.raises(ValueError, match=r"share must be \(i, k\) with 0 <= i < k"):
        make_loader(ds, 4, share=(2, 2))


def test_codes_expand_to_one_hot_like_the_native_encoder():
    codes = np.frombuffer(b"ACGTNacgtRx", dtype=np.uint8)
    expanded = codes_to_one_hot(torch.from_numpy(codes.copy()), dtype=torch.float16)
    assert expanded.dtype == torch.float16
    np.testing.assert_array_equal(expanded.numpy(), one_hot(codes).astype(np.float16))


@pytest.mark.parametrize("compress_targets", [None, 1])
def test_an_empty_index_gives_an_empty_batch_of_the_documented_shapes(
    tmp_path: Path, compress_targets: int | None
) -> None:
    inputs = small_inputs(tmp_path / "inputs")
    store = build_dataset(
        tmp_path / "s",
        fasta=inputs["fasta"],
        targets=inputs["targets"],
        options=BuildOptions(
            genome="t",
            layout=Layout(4096, 128, 4, 700),
            threads=1,
            compress_targets=compress_targets,
        ),
        regions=inputs["regions"],
    )
    expected = {
        "sequence": ((0, 4096, 4), torch.float32),
        "targets": ((0, 24, 4), torch.float16),
        "index": ((0,), torch.int64),
        "rc": ((0,), torch.bool),
        "shift": ((0,), torch.int64),
    }
    ds = SplitDataset(store, "train", augment_rc=True, augment_shift=3)
    for batch in (ds.batch([]), ds[np.array([], dtype=np.int64)]):
        assert {k: (tuple(v.shape), v.dtype) for k, v in batch.items()} == expected
    codes = SplitDataset(store, "train", sequence="codes").batch([])["sequence"]
    assert codes.shape == (0, 4096) and codes.dtype == torch.uint8


def test_bad_keys_and_options_are_refused(store: DataStore) -> None:
    with pytest.raises(ValueError, match="no split 'nope'"):
        SplitDataset(store, "nope")
    with pytest.raises(ValueError, match="sequence must be"):
        # a value outside the Literal on purpose: the runtime check is under test
        SplitDataset(store, "train", sequence="bits")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="one_hot_dtype must be float32 or uint8"):
        SplitDataset(store, "train", one_hot_dtype=np.float16)
    # before: a float was truncated (1.5 bp shifted by at most 1) and a string failed on "<"
    for shift in (1.5, "3", True):
        with pytest.raises(TypeError, match="augment_shift must be a whole number of bp"):
            SplitDataset(store, "train", augment_shift=shift)  # type: ignore[arg-type]
    assert SplitDataset(store, "train", augment_shift=np.int64(2)).augment_shift == 2
    with pytest.raises(ValueError, match="start_method must be"):
        # a value outside the Literal on purpose: the runtime check is under test
        make_loader(SplitDataset(store, "train"), 2, num_workers=1, start_method="fork")  # type: ignore[arg-type]
    ds = SplitDataset(store, "train")
    with pytest.raises(IndexError, match="within"):
        ds[np.array([len(ds)])]


def test_a_boolean_mask_picks_its_examples_as_numpy_does(store: DataStore) -> None:
    ds = SplitDataset(store, "train", sequence="codes")
    rows = np.arange(len(ds))
    mask = np.zeros(len(ds), dtype=bool)
    mask[[1, 4, 5]] = True
    targets = store.targets("train")
    for batch in (ds[mask], ds.batch(mask), ds[(2, mask)]):
        assert batch["index"].tolist() == rows[mask].tolist()
        np.testing.assert_array_equal(batch["targets"].numpy(), targets[mask])
    assert len(ds[np.zeros(len(ds), dtype=bool)]["index"]) == 0
    for wrong_shape in (mask[:-1], [True, False, True], np.ones((len(ds), 1), dtype=bool)):
        with pytest.raises(IndexError, match=r"does not match the \d+ examples of split train"):
            ds[wrong_shape]
    fractions: list[Any] = [np.array([1.7, 2.2]), 1.5]
    for fraction in fractions:
        with pytest.raises(IndexError, match="indexed by integers or booleans, not float64"):
            ds[fraction]


def test_a_slice_picks_its_examples_as_numpy_does(store: DataStore) -> None:
    # before: a slice was refused as "indexed by integers or booleans, not object"
    ds = SplitDataset(store, "train", sequence="codes")
    rows = np.arange(len(ds))
    targets = store.targets("train")
    for key in (slice(0, 3), slice(None), slice(-2, None), slice(None, None, -2), slice(9, 9)):
        batch = ds[key]
        assert batch["index"].tolist() == rows[key].tolist()
        np.testing.assert_array_equal(batch["targets"].numpy(), targets[rows[key]])


def loader_snippet(path: Path) -> str:
    """The Python block of `path` that builds a loader."""
    blocks = re.findall(r"```python\n(.*?)```", path.read_text(), flags=re.DOTALL)
    (snippet,) = [b for b in blocks if "make_loader(" in b]
    return snippet


@pytest.mark.parametrize("start_method", ["forkserver", "spawn"])
def test_the_documented_loader_snippet_runs_as_a_script(store, tmp_path, start_method):
    root = Path(__file__).resolve().parents[1]
    snippet = loader_snippet(root / "docs" / "steps" / "data.md")
    if start_method == "spawn":
        snippet = snippet.replace("num_workers=2,", "num_workers=2, start_method='spawn',")
    # no `if __name__ == "__main__":` guard, as pasted; plus one line to see it ran
    script = snippet + "print('batches', len(loader), tuple(x.shape), tuple(y.shape))\n"
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "human").symlink_to(store.path)
    (tmp_path / "snippet.py").write_text(script)
    env = {**os.environ, "CUDA_VISIBLE_DEVICES": ""}
    run = subprocess.run(
        [sys.executable, "snippet.py"], cwd=tmp_path, env=env, capture_output=True, text=True,
        timeout=300,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    n = len(SplitDataset(store, "train"))
    last = n % 4 or 4
    assert run.stdout == f"batches {-(-n // 4)} ({last}, 4096, 4) ({last}, 24, 4)\n"


@pytest.mark.parametrize(
    "device",
    [
        "cpu",
        pytest.param(
            "cuda",
            marks=pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU"),
        ),
    ],
)
def test_to_device_hands_over_every_batch_intact(store, device):
    ds = SplitDataset(store, "train", augment_rc=True, augment_shift=2, seed=4, sequence="codes")
    expected = list(make_loader(ds, 3, seed=1, read_ahead=0))
    loader = make_loader(ds, 3, seed=1, pin_memory=True)
    loader.sampler.epoch = 0
    got = list(to_device(loader, device))
    assert len(got) == len(expected) > 1
    for moved, plain in zip(got, expected, strict=True):
        assert moved.keys() == plain.keys()
        for key, value in moved.items():
            assert value.device.type == device
            assert torch.equal(value.cpu(), plain[key])


@pytest.mark.parametrize(
    ("name", "damage", "message"),
    [
        # one bin more bases per window than dataset.json says
        ("sequences", lambda a: np.concatenate([a, a[:, :128]], axis=1), r"rows of shape"),
        # each window's bins and tracks swapped: as many values, another shape
        ("targets", lambda a: a.reshape(len(a), a.shape[2], a.shape[1]), r"rows of shape"),
        # the first windows only: a batch of them read, the later ones missing
        ("targets", lambda a: a[:5], r"5 rows, fewer than the store's \d+ windows"),
    ],
)
def test_a_store_array_unlike_its_description_is_refused_by_the_loader(
    store: DataStore, tmp_path: Path, name: str, damage: Any, message: str
) -> None:
    """The loader reads the store's arrays itself: an array whose rows are not those
    ``dataset.json`` describes is refused as the store refuses it, naming the file and the
    fix. Before: the batch came back in the file's shape (sequences a bin longer, targets
    transposed, a file cut short read while a batch's rows lay within it)."""
    copy = tmp_path / "copy"
    shutil.copytree(store.path, copy)
    np.save(copy / f"{name}.npy", damage(np.load(copy / f"{name}.npy")))
    pattern = rf"{name}\.npy: {message}.*rebuild the store"
    with pytest.raises(ValueError, match=pattern):
        getattr(DataStore(copy), name)("train")  # the store's own refusal
    for ds in (SplitDataset(DataStore(copy), "train"), SplitDataset(copy, "train")):
        with pytest.raises(ValueError, match=pattern):
            ds[np.arange(3)]


def test_each_target_bin_counts_the_bases_its_augmented_sequence_holds_there(
    tmp_path: Path,
) -> None:
    """Planted truth through the build and the loader: two tracks whose BigWigs are 1 at
    each G and at each A of the genome. Target bin j of every augmented example then
    counts the Gs and As of the sequence it comes with at bin j (the window's bases
    ``crop + j·pool`` on, moved by the shift), or with a reverse complement, the Cs and Ts
    there (moved the other way): a target a bin or a base off its sequence, targets not
    reversed with it or reversed without it, or a shift of the wrong sign shows."""
    size, layout = 30_000, Layout(2048, 64, 2, 500)
    genome = np.frombuffer(b"ACGT", np.uint8)[np.random.default_rng(3).integers(0, 4, size)]
    fasta = write_fasta(tmp_path / "g.fa", {"chr1": genome.tobytes().decode()})
    for base in "GA":
        entries = [("chr1", p, p + 1, 1.0) for p in np.flatnonzero(genome == ord(base))]
        write_bigwig(tmp_path / f"{base}.bw", {"chr1": size}, entries)
    rows = [
        {"identifier": base, "file": f"{base}.bw", "clip": 1000, "scale": 1, "sum_stat": "sum"}
        for base in "GA"
    ]
    (tmp_path / "regions.bed").write_text(f"chr1\t0\t{size}\ttrain\n")
    store = build_dataset(
        tmp_path / "s",
        fasta=fasta,
        targets=write_table(tmp_path / "targets.txt", rows),
        options=BuildOptions(genome="t", layout=layout, threads=1),
        regions=tmp_path / "regions.bed",
    )
    ds = SplitDataset(store, "train", augment_rc=True, augment_shift=3, seed=2, sequence="codes")
    crop, pool, bins = layout.crop_bp, layout.pool_width, layout.target_bins
    seen, examples = set(), 0
    loader = make_loader(ds, 5, seed=8, read_ahead=2)
    for _ in range(3):  # three epochs, each drawn afresh
        for batch in loader:
            for seq, target, rc, shift in zip(
                batch["sequence"].numpy(), batch["targets"].numpy(),
                batch["rc"].tolist(), batch["shift"].tolist(), strict=True,
            ):  # fmt: skip
                seen.add((rc, shift))
                moved = -shift if rc else shift
                for track, base in enumerate("CT" if rc else "GA"):
                    counts = [
                        np.count_nonzero(seq[lo : lo + pool] == ord(base))
                        for lo in crop + moved + pool * np.arange(bins)
                    ]
                    assert target[:, track].tolist() == counts, (rc, shift, track)
                examples += 1
    assert examples == 3 * len(ds) > 100
    assert seen == {(rc, s) for rc in (False, True) for s in range(-3, 4)}
