"""``crossreg data --resume``: an interrupted build keeps its finished sequences and chunks
of tracks, and a resume writes the bytes an unbroken build writes."""

from __future__ import annotations

import json
import os
import shutil
import signal
import struct
import subprocess
import sys
import time
from pathlib import Path

import pytest

import crossreg.data.build as build_module
import crossreg.data.chunked_targets as chunked_module
import crossreg.io.atomic as atomic_module
import crossreg.io.disk_sync as disk_sync
from crossreg.cli import main
from crossreg.io.folder_lock import lock_folder
from tests.data_inputs import small_inputs

TRACKS = 4  # of small_inputs' table; a tiny --memory-gb makes a chunk of each


def _argv(inputs: dict[str, Path], out: Path, *extra: str) -> list[str]:
    return [
        "-q", "data", "--genome", "test", "--fasta", str(inputs["fasta"]),
        "--targets", str(inputs["targets"]), "--out", str(out),
        "--regions", str(inputs["regions"]), "--gaps", str(inputs["gaps"]),
        "--blacklist", str(inputs["blacklist"]), "--unmappable", str(inputs["unmappable"]),
        "--seq-length", "4096", "--stride", "1500", "--crop", "4", "--threads", "1",
        "--memory-gb", "1e-9", *extra,
    ]  # fmt: skip


def _files(directory: Path) -> dict[str, bytes]:
    """Every file of a store by name, but the log of the commands run (by nature not the
    same)."""
    return {
        p.name: p.read_bytes()
        for p in sorted(directory.iterdir())
        if p.name != "crossreg-runs.jsonl"
    }


@pytest.fixture(scope="module")
def inputs(tmp_path_factory) -> dict[str, Path]:
    return small_inputs(tmp_path_factory.mktemp("inputs"))


@pytest.fixture(scope="module")
def unbroken(inputs, tmp_path_factory) -> dict[str, bytes]:
    out = tmp_path_factory.mktemp("unbroken") / "store"
    assert main(_argv(inputs, out)) == 0
    return _files(out)


def _computing(monkeypatch, stop_after: int | None = None) -> list[str]:
    """Count the tracks computed (their identifiers, in order); with `stop_after`, Ctrl-C
    lands as the chunk after that many is computed."""
    real = chunked_module.compute_targets
    computed: list[str] = []

    def compute(table, some, *args, **kwargs):
        if stop_after is not None and len(computed) == stop_after:
            raise KeyboardInterrupt
        computed.extend(t.identifier for t in some)
        return real(table, some, *args, **kwargs)

    monkeypatch.setattr(chunked_module, "compute_targets", compute)
    return computed


def _interrupted(inputs, out: Path, monkeypatch, logs, stop_after: int, *extra: str) -> None:
    with monkeypatch.context() as patch:
        _computing(patch, stop_after)
        assert main(_argv(inputs, out, *extra)) == 130
    work = out.parent / f".{out.name}.partial"
    assert (
        f"the finished work (sequences.npy, {stop_after} of {TRACKS} chunk(s) of tracks) is "
        f"kept in {work}: rerun with --resume to continue the build"
    ) in logs.text
    assert work.is_dir()


def test_a_resumed_build_is_the_unbroken_build_s_bytes(
    inputs, unbroken, tmp_path, monkeypatch, logs
):
    out = tmp_path / "store"
    _interrupted(inputs, out, monkeypatch, logs, 2)
    assert f"interrupted; {out} was not made; the finished work" in logs.text
    assert not out.exists()
    # a later version's memory estimate makes other chunks: the recorded ones are kept
    monkeypatch.setattr(chunked_module, "tracks_per_chunk", lambda *args: 3)
    computed = _computing(monkeypatch)
    assert main(_argv(inputs, out, "--resume")[1:]) == 0  # not -q: the log says what is kept
    assert len(computed) == TRACKS - 2  # the two kept chunks were not computed again
    assert "sequences kept, 2 chunk(s) of tracks kept" in logs.text
    assert _files(out) == unbroken
    assert not (tmp_path / ".store.partial").exists()


def test_a_stop_before_any_work_finished_keeps_nothing(inputs, tmp_path, monkeypatch, logs):
    def stopped(*args, **kwargs):
        raise KeyboardInterrupt

    out = tmp_path / "store"
    monkeypatch.setattr(build_module, "_write_sequences", stopped)
    assert main(_argv(inputs, out)) == 130
    assert f"nothing was written: {out} was not made; no work had finished, so rerun" in logs.text
    assert list(tmp_path.iterdir()) == []


def test_a_damaged_chunk_is_computed_again(inputs, unbroken, tmp_path, monkeypatch, logs):
    out = tmp_path / "store"
    _interrupted(inputs, out, monkeypatch, logs, 3)
    work = tmp_path / ".store.partial"
    chunk = work / "targets.part00001.npy"
    chunk.write_bytes(chunk.read_bytes()[:-10])  # cut short
    (work / ".targets.part00003.npy.x1y2.tmp").write_bytes(b"half")  # a write killed
    computed = _computing(monkeypatch)
    assert main(_argv(inputs, out, "--resume")) == 0
    assert "targets.part00001.npy is damaged" in logs.text
    assert len(computed) == 2  # the damaged chunk and the one never finished
    assert _files(out) == unbroken


def test_a_rerun_over_kept_work_is_refused_naming_resume_and_overwrite(
    inputs, unbroken, tmp_path, monkeypatch, logs
):
    out = tmp_path / "store"
    assert main(_argv(inputs, out, "--resume")) == 1
    assert f"--resume: there is no interrupted build of {out} to continue" in logs.text
    _interrupted(inputs, out, monkeypatch, logs, 1)
    logs.clear()
    assert main(_argv(inputs, out)) == 1
    assert (
        f"{out}: an interrupted build kept its finished work in {tmp_path / '.store.partial'}; "
        "rerun with --resume to continue it (the same inputs and options), or with "
        "--overwrite to start over"
    ) in logs.text
    assert main(_argv(inputs, out, "--resume", "--overwrite")) == 1
    assert "--resume and --overwrite exclude each other" in logs.text
    held = lock_folder(tmp_path / ".store.partial")  # another process building it
    assert held is not None
    try:
        assert main(_argv(inputs, out, "--resume")) == 1
    finally:
        os.close(held)
    assert f"{out}: another crossreg process is building it now" in logs.text
    # other inputs or options are named, and the work stays
    changed = tmp_path / "blacklist.bed"
    changed.write_text(inputs["blacklist"].read_text() + "chr2\t100\t200\n")
    argv = _argv(inputs, out, "--resume", "--fill-quantile", "0.3")
    argv[argv.index(str(inputs["blacklist"]))] = str(changed)
    assert main(argv) == 1
    refused = logs.records[-1].getMessage()
    assert "kept by a build with other settings (" in refused
    assert "--fill-quantile 0.25 then, 0.3 now" in refused
    assert "--blacklist: file 1: " in refused
    assert (tmp_path / ".store.partial" / "progress.json").is_file()
    # --overwrite starts over
    computed = _computing(monkeypatch)
    assert main(_argv(inputs, out, "--overwrite")) == 0
    assert len(computed) == TRACKS and _files(out) == unbroken


def _replace_by_same_size(bigwig: Path) -> None:
    """Write over `bigwig` a BigWig of the same size with other data: its summary of every
    value (count, min, max, sum, sum of squares) gets another sum, as a file written from
    other data has."""
    data = bytearray(bigwig.read_bytes())
    (summary,) = struct.unpack_from("<Q", data, 44)  # the header's totalSummaryOffset
    (total,) = struct.unpack_from("<d", data, summary + 24)
    struct.pack_into("<d", data, summary + 24, total + 1.0)
    bigwig.write_bytes(bytes(data))


def test_a_bigwig_replaced_by_one_of_the_same_size_is_named_and_a_copy_resumes(
    inputs, unbroken, tmp_path, monkeypatch, logs
):
    # before: the BigWigs were matched by size alone, and the replaced file's track was
    # computed from it beside chunks computed from the file it replaced
    staged = Path(shutil.copytree(inputs["fasta"].parent, tmp_path / "staged"))
    moved = {name: staged / path.name for name, path in inputs.items()}
    out = tmp_path / "store"
    _interrupted(moved, out, monkeypatch, logs, 2)
    replaced = staged / "r1.bw"  # the second track's first replicate
    size = replaced.stat().st_size
    _replace_by_same_size(replaced)
    assert replaced.stat().st_size == size
    assert main(_argv(moved, out, "--resume")) == 1
    refused = logs.records[-1].getMessage()
    assert (
        f"kept by a build with other settings (--targets: track cage (row 2 of the table), "
        f"{replaced}: the same size, other content (SHA-256 of sampled blocks "
    ) in refused
    assert (tmp_path / ".store.partial" / "progress.json").is_file()
    # the inputs copied elsewhere (other paths, other modification times) are the same
    copied = Path(
        shutil.copytree(inputs["fasta"].parent, tmp_path / "copied", copy_function=shutil.copy)
    )
    computed = _computing(monkeypatch)
    assert main(_argv({n: copied / p.name for n, p in inputs.items()}, out, "--resume")) == 0
    assert len(computed) == TRACKS - 2
    resumed, paths = _files(out), (str(inputs["fasta"].parent).encode(), str(copied).encode())
    for name in ("targets.txt", "dataset.json"):  # they name the files: now the copies
        assert resumed.pop(name) == unbroken[name].replace(*paths)
    assert resumed == {
        n: v for n, v in unbroken.items() if n not in ("targets.txt", "dataset.json")
    }


def test_a_build_kept_when_bigwigs_were_matched_by_size_is_refused_with_what_to_do(
    inputs, unbroken, tmp_path, monkeypatch, logs
):
    out = tmp_path / "store"
    _interrupted(inputs, out, monkeypatch, logs, 2)
    settings_file = tmp_path / ".store.partial" / "settings.json"
    settings = json.loads(settings_file.read_text())
    for row in settings["track_rows"]:  # as an earlier crossreg recorded them: sizes
        row[8:] = [identity["size"] for identity in row[8:]]
    settings_file.write_text(json.dumps(settings))
    assert main(_argv(inputs, out, "--resume")) == 1
    assert (
        f"{tmp_path / '.store.partial'}: kept by an earlier crossreg, which matched the "
        "tracks' BigWigs by their size alone, so the tracks it finished cannot be checked "
        "against the files' content; pass --overwrite to start the build over"
    ) in logs.text
    assert main(_argv(inputs, out, "--overwrite")) == 0
    assert _files(out) == unbroken


def test_a_changed_column_of_the_targets_table_is_named(inputs, tmp_path, monkeypatch, logs):
    out = tmp_path / "store"
    _interrupted(inputs, out, monkeypatch, logs, 1)
    table = tmp_path / "targets.txt"
    lines = inputs["targets"].read_text().splitlines(keepends=True)
    lines[3] = lines[3].replace("\t16\t", "\t20\t")  # chip's clip
    table.write_text("".join(lines))
    for bigwig in inputs["fasta"].parent.glob("r*.bw"):
        shutil.copy(bigwig, tmp_path / bigwig.name)
    assert main(_argv({**inputs, "targets": table}, out, "--resume")) == 1
    assert "(--targets: track chip (row 3 of the table): clip 16.0 then, 20.0 now)" in logs.text


def test_an_interrupted_overwrite_resumes_over_the_old_store(
    inputs, unbroken, tmp_path, monkeypatch, logs
):
    out = tmp_path / "store"
    assert main(_argv(inputs, out, "--fill-quantile", "0.3")) == 0
    _interrupted(inputs, out, monkeypatch, logs, 2, "--overwrite")
    assert f"interrupted; {out} is as it was; the finished work" in logs.text
    assert json.loads((out / "dataset.json").read_text())["options"]["fill_quantile"] == 0.3
    assert main(_argv(inputs, out, "--resume")) == 0
    assert _files(out) == unbroken


def test_a_shard_resumes_alike(inputs, tmp_path, monkeypatch, logs):
    whole = tmp_path / "whole"
    assert main(_argv(inputs, whole, "--tracks", "1/2")) == 0
    out = tmp_path / "shard"
    with monkeypatch.context() as patch:
        _computing(patch, 1)
        assert main(_argv(inputs, out, "--tracks", "1/2")) == 130
    assert "(1 of 2 chunk(s) of tracks) is kept" in logs.text  # shard 1 has no sequences
    computed = _computing(monkeypatch)
    assert main(_argv(inputs, out, "--tracks", "1/2", "--resume")) == 0
    assert len(computed) == 1 and _files(out) == _files(whole)


def test_a_merge_over_kept_work_needs_overwrite(inputs, unbroken, tmp_path, monkeypatch, logs):
    shards = [tmp_path / f"s{i}" for i in range(2)]
    for i, shard in enumerate(shards):
        assert main(_argv(inputs, shard, "--tracks", f"{i}/2")) == 0
    out = tmp_path / "store"
    _interrupted(inputs, out, monkeypatch, logs, 1)
    merge = ["-q", "data-merge", "--out", str(out), *map(str, shards)]
    assert main(merge) == 1
    assert f"{out}: an interrupted crossreg data build of it kept its finished work" in logs.text
    assert (tmp_path / ".store.partial" / "progress.json").is_file()
    assert main([*merge, "--overwrite"]) == 0
    assert _files(out) == unbroken and not (tmp_path / ".store.partial").exists()


def test_an_error_keeps_the_finished_chunks(inputs, unbroken, tmp_path, monkeypatch, logs):
    real = chunked_module.compute_targets

    def damaged(table, some, *args, **kwargs):
        if some[0].identifier == "chip":
            raise ValueError("a.bw: damaged block")
        return real(table, some, *args, **kwargs)

    out = tmp_path / "store"
    with monkeypatch.context() as patch:
        patch.setattr(chunked_module, "compute_targets", damaged)
        assert main(_argv(inputs, out)) == 1
    assert "a.bw: damaged block" in logs.text
    assert "2 chunk(s) of tracks are kept" in logs.text
    assert main(_argv(inputs, out, "--resume")) == 0
    assert _files(out) == unbroken


def test_a_stop_while_compressing_keeps_the_interleaved_targets(
    inputs, tmp_path, monkeypatch, logs
):
    whole = tmp_path / "whole"
    assert main(_argv(inputs, whole, "--compress-targets", "1")) == 0
    out = tmp_path / "store"

    def stopped(*args, **kwargs):
        raise KeyboardInterrupt

    with monkeypatch.context() as patch:
        patch.setattr(build_module, "compress_targets", stopped)
        assert main(_argv(inputs, out, "--compress-targets", "1")) == 130
    assert "the finished work (sequences.npy, the interleaved targets) is kept" in logs.text
    computed = _computing(monkeypatch)
    assert main(_argv(inputs, out, "--compress-targets", "1", "--resume")) == 0
    assert computed == [] and _files(out) == _files(whole)


def test_a_stop_while_the_finished_store_is_flushed_keeps_its_work(
    inputs, unbroken, tmp_path, monkeypatch, logs
):
    # the store's files are flushed to the disk before it takes its name (minutes for a
    # large one): a Ctrl-C then keeps the finished work, as at any step before
    def stopped(*args, **kwargs):
        raise KeyboardInterrupt

    out = tmp_path / "store"
    with monkeypatch.context() as patch:
        patch.setattr(disk_sync, "_fsync_files", stopped)
        assert main(_argv(inputs, out)) == 130
    assert "the finished work (sequences.npy, the interleaved targets) is kept" in logs.text
    computed = _computing(monkeypatch)
    assert main(_argv(inputs, out, "--resume")) == 0
    assert computed == [] and _files(out) == unbroken


def test_a_stop_while_the_compressed_store_is_flushed_costs_only_the_compression(
    inputs, tmp_path, monkeypatch, logs
):
    # before: targets.npy was deleted once compressed, and a stop while the store was
    # flushed to the disk left a record counting it: every chunk was computed again
    whole = tmp_path / "whole"
    assert main(_argv(inputs, whole, "--compress-targets", "1")) == 0

    def stopped(*args, **kwargs):
        raise KeyboardInterrupt

    out = tmp_path / "store"
    with monkeypatch.context() as patch:
        patch.setattr(disk_sync, "_fsync_files", stopped)
        assert main(_argv(inputs, out, "--compress-targets", "1")) == 130
    computed = _computing(monkeypatch)
    assert main(_argv(inputs, out, "--compress-targets", "1", "--resume")) == 0
    assert computed == [] and _files(out) == _files(whole)
    assert "targets.npy" not in _files(out) and "targets.rows" in _files(out)


def test_a_stop_while_the_interleaved_targets_are_flushed_keeps_the_chunks(
    inputs, unbroken, tmp_path, monkeypatch, logs
):
    # before: the chunk files were deleted as soon as they were read, and the interleaved
    # file, flushed to the disk before it took its name (minutes for thousands of tracks),
    # deleted by the stop: every chunk was computed again
    real = atomic_module.fsync

    def fsync(path):
        name = Path(path).name
        if name.startswith(".targets.npy.") and name.endswith(".tmp"):
            raise KeyboardInterrupt
        real(path)

    out = tmp_path / "store"
    with monkeypatch.context() as patch:
        patch.setattr(atomic_module, "fsync", fsync)
        assert main(_argv(inputs, out)) == 130
    assert f"(sequences.npy, {TRACKS} of {TRACKS} chunk(s) of tracks) is kept" in logs.text
    computed = _computing(monkeypatch)
    assert main(_argv(inputs, out, "--resume")) == 0
    assert computed == [] and _files(out) == unbroken


# crossreg's command line, each chunk of tracks held back a moment so that a signal lands
# while the build computes them
SLOW = """
import sys, time
import crossreg.data.chunked_targets as chunked
real = chunked.compute_targets
def slow(*args, **kwargs):
    time.sleep(0.5)
    return real(*args, **kwargs)
chunked.compute_targets = slow
from crossreg.cli import main
from crossreg.io.folder_lock import lock_folder
sys.exit(main(sys.argv[1:]))
"""


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_a_signal_keeps_the_chunks_of_a_build_and_resume_finishes_it(
    inputs, unbroken, tmp_path, signum
):
    out = tmp_path / "store"
    progress = tmp_path / ".store.partial" / "progress.json"
    process = subprocess.Popen(
        [sys.executable, "-c", SLOW, *_argv(inputs, out)[1:]],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 120
    while process.poll() is None and time.monotonic() < deadline:
        if progress.is_file() and json.loads(progress.read_text())["chunks"]:
            break
        time.sleep(0.02)
    process.send_signal(signum)
    _, stderr = process.communicate(timeout=120)
    assert process.returncode == (130 if signum == signal.SIGINT else 143), stderr
    assert "rerun with --resume to continue the build" in stderr and "Traceback" not in stderr
    assert main(_argv(inputs, out, "--resume")) == 0
    assert _files(out) == unbroken
