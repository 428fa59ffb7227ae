"""``crossreg data`` with many track files, as at the paper's 6,956 tracks: the targets
are interleaved within a cluster's open-file limit (``ulimit -n``), a shard reads and
checks only its own tracks' files, and every unusable track file is named in one error."""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from crossreg.data import BuildOptions, Layout, build_dataset
from crossreg.data import chunked_targets as chunked_module
from crossreg.data.bigwig import compute_targets
from crossreg.data.budget import GIB, Footprint
from crossreg.data.build import build_shard
from crossreg.data.shards import _check_indices, merge_shards
from crossreg.shard import Shard
from tests.data_inputs import SMALL_SIZES, small_inputs, write_bigwig, write_table

LAYOUT = Layout(seq_length=4096, pool_width=128, crop_bins=4, stride=1500)

#: Open files a child process may have: fewer than the files it must interleave.
LIMIT = 64

CHILD = textwrap.dedent(
    """
    import logging, resource, sys
    logging.basicConfig(level=logging.INFO)
    from pathlib import Path
    limit, job, folder = int(sys.argv[1]), sys.argv[2], Path(sys.argv[3])
    resource.setrlimit(resource.RLIMIT_NOFILE, (limit, limit))  # soft and hard: ulimit -n
    if job == "build":
        from crossreg.data import BuildOptions, Layout, build_dataset
        layout = Layout(seq_length=4096, pool_width=128, crop_bins=4, stride=1500)
        # a tiny memory budget: one track per chunk file, as 5,313 tracks on many cores
        options = BuildOptions(genome="test", layout=layout, threads=1, memory_gb=1e-9)
        build_dataset(folder / "store", fasta=folder / "genome.fa",
                      targets=folder / "many.txt", regions=folder / "regions.bed",
                      options=options)
    else:
        import numpy as np
        from crossreg.data.interleave import merge_track_chunks
        parts = sorted(folder.glob("part*.npy"))
        widths = [np.load(p, mmap_mode="r").shape[2] for p in parts]
        merge_track_chunks(folder / "kept.npy", parts, 9, 5, sum(widths), 5 * 2 * 40)
        merge_track_chunks(folder / "gone.npy", parts, 9, 5, sum(widths), 10**6,
                           temporary=True)
    """
)


def in_child(job: str, folder: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", CHILD, str(LIMIT), job, str(folder)],
        capture_output=True,
        text=True,
        timeout=300,
    )


def many_tracks(root: Path, n: int) -> dict[str, Path]:
    """`small_inputs` with a table of `n` tracks, each naming its own BigWig path (a hard
    link of one of three files) with its own clip, scale and pooling, some with a
    replicate."""
    paths = small_inputs(root)
    (root / "tracks").mkdir()
    rows = []
    for i in range(n):
        names = [f"tracks/t{i}.bw"] + ([f"tracks/t{i}b.bw"] if i % 7 == 0 else [])
        for k, name in enumerate(names):
            os.link(root / f"r{(i + k) % 3}.bw", root / name)
        row = {"identifier": f"ENCFF{i:06d}", "file": ",".join(names), "clip": 8 + i % 29}
        rows.append(row | {"scale": 1 + i % 5 / 4, "sum_stat": ("mean", "sum", "max")[i % 3]})
    paths["many"] = write_table(root / "many.txt", rows)
    return paths


def test_a_build_of_more_track_chunks_than_files_it_may_open(tmp_path):
    # 200 chunk files under `ulimit -n 64`: all were opened together once every track was
    # computed, and the build died there ("targets.part00050.npy: cut or not a .npy array
    # ([Errno 24] Too many open files)"), its work lost
    paths = many_tracks(tmp_path, 200)
    whole = build_dataset(
        tmp_path / "whole",
        fasta=paths["fasta"],
        targets=paths["many"],
        regions=paths["regions"],
        options=BuildOptions(genome="test", layout=LAYOUT, threads=1),
    )
    run = in_child("build", tmp_path)
    assert run.returncode == 0, run.stderr[-3000:]
    assert "interleaving them in" in run.stderr
    assert "merging track chunks, group 1 of " in run.stderr  # each group's progress apart
    store = tmp_path / "store"
    for name in ("targets.npy", "dataset.json"):
        assert (store / name).read_bytes() == (whole.path / name).read_bytes(), name
    assert sorted(p.name for p in store.iterdir() if p.suffix == ".npy") == [
        "masked.npy",
        "sequences.npy",
        "targets.npy",
    ]
    targets = np.load(store / "targets.npy")
    assert len({targets[..., t].tobytes() for t in range(200)}) > 100  # the tracks differ


def test_interleaving_more_files_than_may_be_open_keeps_or_deletes_them(tmp_path):
    # as data-merge of 150 shards under `ulimit -n 64` (the shards are kept)
    rng = np.random.default_rng(3)
    parts = [rng.random((9, 5, 1 + i % 3)).astype(np.float16) for i in range(150)]
    for i, part in enumerate(parts):
        np.save(tmp_path / f"part{i:03d}.npy", part)
    run = in_child("merge", tmp_path)
    assert run.returncode == 0, run.stderr[-3000:]
    expected = np.concatenate(parts, axis=2)
    np.testing.assert_array_equal(np.load(tmp_path / "kept.npy"), expected)
    np.testing.assert_array_equal(np.load(tmp_path / "gone.npy"), expected)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["gone.npy", "kept.npy"]


def test_the_raised_open_file_limit_is_set_back_after_interleaving(tmp_path):
    # the soft limit was raised to the hard one for good: a pipeline calling crossreg, and
    # the programs it starts, were left with a limit of the hard one's size (a program
    # waiting with select() fails on a descriptor numbered 1,024 or more)
    rng = np.random.default_rng(4)
    for i in range(100):
        np.save(tmp_path / f"part{i:03d}.npy", rng.random((4, 3, 1)).astype(np.float16))
    script = textwrap.dedent(
        """
        import logging, resource, sys
        from pathlib import Path
        from crossreg.data.interleave import merge_track_chunks
        logging.basicConfig(level=logging.INFO)
        folder = Path(sys.argv[1])
        resource.setrlimit(resource.RLIMIT_NOFILE, (64, 512))  # ulimit -Sn 64, -Hn 512
        parts = sorted(folder.glob("part*.npy"))
        merge_track_chunks(folder / "all.npy", parts, 4, 3, len(parts), 10**6)
        print(resource.getrlimit(resource.RLIMIT_NOFILE))
        """
    )
    run = subprocess.run(
        [sys.executable, "-c", script, str(tmp_path)], capture_output=True, text=True, timeout=300
    )
    assert run.returncode == 0, run.stderr[-3000:]
    assert "groups first" not in run.stderr  # 100 files opened at once: the limit was raised
    assert run.stdout.split() == ["(64,", "512)"]
    parts = [np.load(tmp_path / f"part{i:03d}.npy") for i in range(100)]
    np.testing.assert_array_equal(np.load(tmp_path / "all.npy"), np.concatenate(parts, axis=2))


def test_a_shard_reads_only_its_own_tracks_files(tmp_path):
    # a node staging only its shard's BigWigs: the shard refused every other shard's
    # file as missing ("track file .../r1.bw of 'cage' does not exist")
    inputs = small_inputs(tmp_path / "inputs")
    options = BuildOptions(genome="test", layout=LAYOUT, threads=1)
    kw = {"fasta": inputs["fasta"], "regions": inputs["regions"], "options": options}
    whole = build_dataset(tmp_path / "whole", targets=inputs["targets"], **kw)
    node = tmp_path / "node"
    node.mkdir()
    for name in ("targets.txt", "r0.bw", "r2.bw"):  # shard 1/2: chip (r2) and atac (r0)
        shutil.copy(inputs["targets"].parent / name, node / name)
    shards = [
        build_shard(tmp_path / "s0", Shard(0, 2), targets=inputs["targets"], **kw),
        build_shard(tmp_path / "s1", Shard(1, 2), targets=node / "targets.txt", **kw),
    ]
    merged = merge_shards(tmp_path / "merged", shards)
    for name in ("targets.npy", "dataset.json", "targets.txt"):
        assert (merged.path / name).read_bytes() == (whole.path / name).read_bytes(), name
    # its own files are still checked
    (node / "r2.bw").write_bytes((node / "r2.bw").read_bytes()[:300])
    with pytest.raises(ValueError, match=r"r2\.bw: corrupt BigWig: .*track 'chip'"):
        build_shard(tmp_path / "s1b", Shard(1, 2), targets=node / "targets.txt", **kw)


def _replace(path: Path, sizes: dict[str, int]) -> None:
    """A BigWig of other chromosomes at `path`, a hard link: unlinked, not written through."""
    path.unlink()
    write_bigwig(path, sizes, [(next(iter(sizes)), 0, 100, 1.0)])


def test_every_unusable_track_file_is_named_in_one_error(tmp_path):
    # each bad file stopped the build alone: among thousands, one rerun per bad file
    paths = many_tracks(tmp_path, 60)
    tracks = tmp_path / "tracks"
    cut = (tracks / "t5.bw").read_bytes()[:2000]
    for i in (5, 20, 21):
        (tracks / f"t{i}.bw").unlink()
        (tracks / f"t{i}.bw").write_bytes(cut)
    _replace(tracks / "t40.bw", {"1": SMALL_SIZES["chr1"], "2": SMALL_SIZES["chr2"]})
    _replace(tracks / "t50.bw", {"chr1": 40_001, "chr2": SMALL_SIZES["chr2"]})
    options = BuildOptions(genome="test", layout=LAYOUT, threads=1)
    kw = {"fasta": paths["fasta"], "targets": paths["many"], "options": options}
    with pytest.raises(ValueError) as caught:
        build_dataset(tmp_path / "out", **kw)
    lines = str(caught.value).splitlines()
    assert lines[0] == f"{paths['many']}: 5 track files cannot be used:"
    assert len(lines) == 6
    for line, i in zip(lines[1:], (5, 20, 21, 40, 50), strict=True):
        assert line.startswith(f"  {tracks / f't{i}.bw'}") and f"line {i + 2}" in line
    assert "it was cut short" in lines[1] and "chromosome '1' is not in" in lines[4]
    assert "is 40,001 bp but 40,000 bp" in lines[5]
    assert not (tmp_path / "out").exists()
    for i in range(30):  # more than are listed
        (tracks / f"t{i}.bw").unlink()
        (tracks / f"t{i}.bw").write_bytes(cut)
    with pytest.raises(ValueError, match=r"32 track files cannot be used:(\n  .*){25}\n  "
                       r"\.\.\. and 7 more$"):  # fmt: skip
        build_dataset(tmp_path / "out", **kw)


def test_a_missing_repeated_or_misplaced_shard_of_many_is_named(tmp_path):
    # the refusal listed every shard given ("the shards given are 0/12, 1/12, ..., 11/12;
    # pass all n shards"): among 50 the one missing had to be found by eye, and a shell
    # glob's order (10 before 2) was refused without saying so
    paths = many_tracks(tmp_path, 12)
    options = BuildOptions(genome="test", layout=LAYOUT, threads=1)
    kw = {"fasta": paths["fasta"], "targets": paths["many"], "options": options}
    shards = [build_shard(tmp_path / f"s{i}", Shard(i, 12), **kw) for i in range(12)]
    out = tmp_path / "merged"
    with pytest.raises(
        ValueError,
        match=r"^the build has 12 shards, 11 were given; missing: 7/12; build it with "
        r"`crossreg data --tracks 7/12`$",
    ):
        merge_shards(out, shards[:7] + shards[8:])
    with pytest.raises(
        ValueError, match=r"13 were given; given more than once: 3/12 \(\S*s3 and \S*s3\)$"
    ):
        merge_shards(out, [*shards[:4], *shards[3:]])
    globbed = sorted(shards, key=lambda p: p.name)  # s0, s1, s10, s11, s2, ...
    with pytest.raises(ValueError, match=r"s10 is shard 10/12, given in place 2; .*\{0\.\.11\}"):
        merge_shards(out, globbed)
    assert not out.exists()
    assert merge_shards(out, shards).num_targets == 12


def test_a_misplaced_shard_of_ten_or_fewer_is_not_blamed_on_a_shell_glob():
    # a glob orders shards 0 to 9 right, so the refusal's "a shell glob puts shard 10
    # before shard 2" sent the user after a cause that was not there; and a shard given
    # three times was "given twice"
    three = [Path("shards/human.1"), Path("shards/human.0"), Path("shards/human.2")]
    with pytest.raises(ValueError, match=r"given in place 0; .* 0/3 to 2/3$"):
        _check_indices(three, [(1, 3), (0, 3), (2, 3)])
    thrice = [Path("shards/human.0")] * 3
    with pytest.raises(ValueError, match=r"given more than once: 0/3 \(shards/human.0 and "):
        _check_indices(thrice, [(0, 3)] * 3)


def test_the_memory_budget_keeps_a_track_per_thread_in_each_call(tmp_path, monkeypatch, logs):
    # a budget short of 4 threads' tracks made chunks of one track, and a native call
    # computes one chunk at most: 4 threads ran one track at a time (the paper's 38,000
    # windows on 32 threads with the default 8 GiB: 5,313 chunks of one track)
    paths = many_tracks(tmp_path, 9)
    kw = {"fasta": paths["fasta"], "targets": paths["many"], "regions": paths["regions"]}
    whole = build_dataset(
        tmp_path / "whole", options=BuildOptions(genome="test", layout=LAYOUT, threads=4), **kw
    )
    chroms = [line.split("\t")[0] for line in (whole.path / "sequences.bed").open()]
    genome_bases = sum(whole.chrom_sizes.values())
    footprint = Footprint.of(chroms, whole.target_length, genome_bases)
    memory_gb = (footprint.smallest(2) + 1) / GIB  # 2 threads' worth
    calls = []

    def counting(table, targets, *args, **kwargs):
        calls.append((len(targets), kwargs["threads"]))
        return compute_targets(table, targets, *args, **kwargs)

    monkeypatch.setattr(chunked_module, "compute_targets", counting)
    options = BuildOptions(genome="test", layout=LAYOUT, threads=4, memory_gb=memory_gb)
    with logs.at_level(logging.WARNING, logger="crossreg"):
        built = build_dataset(tmp_path / "tight", options=options, **kw)
    assert calls and all(threads == 2 for _, threads in calls)
    assert [count for count, _ in calls[:-1]] == [2] * (len(calls) - 1)  # one per thread
    assert "2 of the 4 threads run; give --memory-gb" in logs.text
    assert (built.path / "targets.npy").read_bytes() == (whole.path / "targets.npy").read_bytes()


def test_a_file_damaged_inside_its_data_is_named_with_its_track_and_row(tmp_path):
    # the checks read each file's index, not its blocks: a garbled block stops the build
    # when its track is computed, and the error named the file alone, leaving the row of
    # the table (among thousands) to be looked for
    paths = many_tracks(tmp_path, 30)
    damaged = tmp_path / "tracks" / "t17.bw"
    data = bytearray(damaged.read_bytes())
    damaged.unlink()  # a hard link: the others keep their bytes
    for i in range(len(data) // 4, len(data) // 4 + 64):
        data[i] ^= 0x5A
    damaged.write_bytes(bytes(data))
    options = BuildOptions(genome="test", layout=LAYOUT, threads=1)
    with pytest.raises(ValueError) as caught:
        build_dataset(
            tmp_path / "out", fasta=paths["fasta"], targets=paths["many"], options=options
        )
    assert str(caught.value).startswith(f"{damaged}: corrupt BigWig")
    assert f"(track 'ENCFF000017', {paths['many']} line 19); copy the file again" in str(
        caught.value
    )
    assert not (tmp_path / "out").exists()
