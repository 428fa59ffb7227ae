"""Disk space taken before a file is written: a memory-mapped ``.npy`` (SIGBUS on a full
disk) and an HDF5 file (HDF5 raises from inside a write and can crash the process at exit)
get their space first, so a full disk is one line naming the output. A real full disk is
a 1 MiB tmpfs mounted in a user namespace (``unshare``), where the system allows it."""

from __future__ import annotations

import ctypes
import errno
import os
import re
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path
from types import SimpleNamespace

import h5py
import numpy as np
import pytest

from crossreg.data.npy import NpyRows
from crossreg.io import h5 as h5_io
from crossreg.io import space
from crossreg.io.atomic import atomic_path
from crossreg.io.space import SpaceError, allocated_memmap, release_beyond_end, reserve
from crossreg.io.targets import Target
from crossreg.io.write_errors import OutputError
from crossreg.predict import Window, save_predictions
from crossreg.variants.chunk_store import ChunkStore
from crossreg.variants.ism_h5 import site_fields, write_ism_h5
from crossreg.variants.ism_sites import Site
from crossreg.variants.sad_h5 import write_h5

MiB = 1024 * 1024


def allocated(path: Path) -> int:
    """Bytes of the disk that the file `path` holds."""
    return os.stat(path).st_blocks * 512


@pytest.fixture
def can_allocate(tmp_path: Path) -> None:
    """Skip where the file system under the tests cannot allocate ahead."""
    probe = tmp_path / "probe"
    probe.touch()
    fd = os.open(probe, os.O_RDWR)
    try:
        function = space._fallocate()
        if function is None or function(fd, space.FALLOC_FL_KEEP_SIZE, 0, 4096) != 0:
            pytest.skip("the file system cannot allocate ahead")
    finally:
        os.close(fd)
        probe.unlink()


def test_a_memmap_has_its_blocks_before_it_is_written(tmp_path: Path, can_allocate) -> None:
    array = allocated_memmap(tmp_path / "x.npy", np.float32, (64, 32_768))
    assert allocated(tmp_path / "x.npy") >= 8 * MiB  # np's open_memmap alone: sparse, 4 KiB
    array[:] = 1
    array.flush()
    del array
    assert (np.load(tmp_path / "x.npy") == 1).all()


def test_space_reserved_past_the_end_is_given_back(tmp_path: Path, can_allocate) -> None:
    path = tmp_path / "x.bin"
    path.write_bytes(b"x" * 1000)
    reserve(path, 16 * MiB, beyond_end=True)
    assert path.stat().st_size == 1000 and allocated(path) >= 16 * MiB
    release_beyond_end(path)
    assert path.read_bytes() == b"x" * 1000 and allocated(path) < 64 * 1024


def _fallocate_failing(code: int):
    def fallocate(fd: int, mode: int, offset: int, size: int) -> int:
        ctypes.set_errno(code)
        return -1

    return lambda: fallocate


def _disk_with_free(free: int):
    return lambda _path: SimpleNamespace(f_bavail=free // 4096, f_frsize=4096)


def test_a_full_disk_stops_before_the_file_is_written(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(space, "_fallocate", _fallocate_failing(errno.ENOSPC))
    monkeypatch.setattr(os, "statvfs", _disk_with_free(3 * MiB))
    out = tmp_path / "preds.npy"
    with pytest.raises(OutputError) as caught, atomic_path(out) as tmp:
        allocated_memmap(tmp, np.float32, (64, 32_768))
    assert str(caught.value) == (
        f"{out}: No space left on device while writing it (it needs 8.0 MiB, 3.0 MiB free); "
        "free space there or choose another output path"
    )
    assert caught.value.errno == errno.ENOSPC
    assert not list(tmp_path.iterdir())


@pytest.mark.parametrize("answer", [None, errno.EOPNOTSUPP])
def test_without_fallocate_the_free_space_is_checked(tmp_path: Path, monkeypatch, answer) -> None:
    unsupported = (lambda: None) if answer is None else _fallocate_failing(answer)
    monkeypatch.setattr(space, "_fallocate", unsupported)
    monkeypatch.setattr(os, "statvfs", _disk_with_free(3 * MiB))
    with pytest.raises(SpaceError) as caught:
        allocated_memmap(tmp_path / "x.npy", np.float32, (64, 32_768))
    assert (caught.value.errno, caught.value.free) == (errno.ENOSPC, 3 * MiB)
    assert caught.value.needed > 8 * MiB - 8192  # less what the header's block holds
    monkeypatch.setattr(os, "statvfs", _disk_with_free(20 * MiB))
    allocated_memmap(tmp_path / "y.npy", np.float32, (64, 32_768))


def test_other_fallocate_errors_are_raised(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(space, "_fallocate", _fallocate_failing(errno.EIO))
    with pytest.raises(OSError) as caught:
        allocated_memmap(tmp_path / "x.npy", np.float32, (4, 4))
    assert caught.value.errno == errno.EIO and not isinstance(caught.value, SpaceError)


def _target(index: int, description: str) -> Target:
    return Target(index, f"t{index}", (f"t{index}.bw",), 32.0, 1.0, "sum", description)


@pytest.fixture
def bounds(monkeypatch) -> list[int]:
    """The bounds each HDF5 writer reserves, in order."""
    seen: list[int] = []

    def recording(path, size, *, beyond_end=False):
        seen.append(size)
        reserve(path, size, beyond_end=beyond_end)

    monkeypatch.setattr(h5_io, "reserve", recording)
    return seen


def _check_bound(path: Path, bounds: list[int]) -> None:
    """The writer reserved one bound (before and after HDF5 empties the file) at least the
    file's size, and not much more than it."""
    assert len(bounds) == 2 and bounds[0] == bounds[1]
    size = path.stat().st_size
    assert size <= bounds[0] <= 1.1 * size + 2 * MiB, (size, bounds[0])


@pytest.mark.parametrize(
    ("windows", "bins", "tracks", "name"),
    [(1, 16, 3, "w"), (40, 896, 256, "w"), (300, 8, 2, "a-long-name" * 30)],
)
def test_the_predictions_bound_covers_the_file(tmp_path, bounds, windows, bins, tracks, name):
    rng = np.random.default_rng(0)
    rows = [Window(f"{name}{i}", "chr1", i * 100, i * 100 + 8192) for i in range(windows)]
    batches = [rng.random((1, bins, tracks), dtype=np.float32) for _ in range(windows)]
    targets = [_target(i, f"track {i} " * 20) for i in range(tracks)]
    out = save_predictions(
        tmp_path / "p.h5", batches, rows, (bins, tracks), targets=targets, attrs={"m": "x" * 999}
    )
    _check_bound(out, bounds)


@pytest.mark.parametrize(("alleles", "tracks", "allele"), [(0, 3, 1), (1, 3, 1), (1500, 600, 40)])
def test_the_sad_bound_covers_the_file(tmp_path, bounds, alleles, tracks, allele):
    rng = np.random.default_rng(0)
    part = {
        "snp": np.array([f"rs{i}" for i in range(alleles)], dtype="S"),
        "chr": np.array(["chr1"] * alleles, dtype="S"),
        "pos": np.arange(alleles, dtype=np.uint32),
        "ref_allele": np.array(["A"] * alleles, dtype="S"),
        "alt_allele": np.array(["C" * allele] * alleles, dtype="S"),
        "SAD": rng.normal(size=(alleles, tracks)).astype(np.float16),
        "REF": rng.normal(size=(alleles, 8, tracks)).astype(np.float16),  # a profile
    }
    ids = [f"t{i}" for i in range(tracks)]
    write_h5(tmp_path / "s.h5", [part], ["SAD", "REF"], ids, ids, {"stats": "SAD,REF"})
    _check_bound(tmp_path / "s.h5", bounds)


@pytest.mark.parametrize(("sites", "width", "tracks"), [(1, 20, 2), (3, 60, 24), (5, 200, 300)])
def test_the_ism_bound_covers_the_file(tmp_path, bounds, sites, width, tracks):
    rng = np.random.default_rng(0)
    kept = [_target(i, f"track {i}") for i in range(tracks)]
    rows = [Site(f"v{i}", "chr1", 1000 * i) for i in range(sites)]
    chunks = [{"sum": rng.normal(size=(1, width, 4, tracks)).astype(np.float16)}] * sites
    starts = np.arange(sites, dtype=np.int64) * 1000
    spans = rng.integers(0, 2, size=(sites, width, 4)).astype(np.uint8)
    fields = site_fields(rows, starts, spans, kept)
    write_ism_h5(tmp_path / "i.h5", fields, chunks, ["sum"], {"model": "m"})
    _check_bound(tmp_path / "i.h5", bounds)


CHILD = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    import numpy as np
    from crossreg.predict import Window, save_predictions

    out = Path(sys.argv[1])
    windows = [Window(f"w{i}", "chr1", 0, 8192) for i in range(64)]
    batches = [np.ones((1, 896, 64), np.float32) for _ in windows]  # 14 MiB in all
    try:
        save_predictions(out, batches, windows, (896, 64))
    except OSError as err:
        print(f"{type(err).__name__}: {err}", file=sys.stderr)
        print(sorted(p.name for p in out.parent.iterdir()))
        sys.exit(3)
    """
)


def _full_disk_run(folder: Path, out: str) -> subprocess.CompletedProcess:
    """The child above writing `out` on a 1 MiB tmpfs mounted at `folder`."""
    script = f'mount -t tmpfs -o size=1m tmpfs {folder} && exec {sys.executable} -c "$0" "$1"'
    return subprocess.run(
        ["unshare", "-rm", "sh", "-c", script, CHILD, str(folder / out)],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "PYTHONFAULTHANDLER": ""},
    )


def _unshare_mounts() -> bool:
    if shutil.which("unshare") is None:
        return False
    probe = subprocess.run(["unshare", "-rm", "true"], capture_output=True)
    return probe.returncode == 0


@pytest.mark.skipif(not _unshare_mounts(), reason="no user namespaces to mount a small disk")
@pytest.mark.parametrize("out", ["preds.h5", "preds.npy"])
def test_predictions_on_a_real_full_disk_are_a_clean_error(tmp_path: Path, out: str) -> None:
    # before: the .h5 ended in a traceback from inside HDF5 and a segmentation fault at
    # exit (rc 139); the .npy memory map in SIGBUS (rc 135), with no message
    run = _full_disk_run(tmp_path, out)
    assert run.returncode == 3, (run.returncode, run.stderr[-3000:])
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1, run.stderr
    assert re.fullmatch(
        f"OutputError: {re.escape(str(tmp_path / out))}: No space left on device while "
        r"writing it \(it needs 14\.\d MiB, \d+\.\d [KM]iB free\); free space there or "
        "choose another output path",
        lines[0],
    ), lines[0]
    assert run.stdout == "[]\n"  # nothing left on the small disk


def test_an_h5_writer_gives_back_its_reservation_on_an_error(tmp_path: Path) -> None:
    with pytest.raises(RuntimeError), h5_io.written_h5(tmp_path / "x.h5", 32 * MiB) as handle:
        handle["a"] = np.arange(10)
        raise RuntimeError("a scorer failed")
    assert allocated(tmp_path / "x.h5") < MiB
    with h5py.File(tmp_path / "x.h5") as handle:  # what was written is a whole file
        assert list(handle["a"][:]) == list(range(10))


def test_a_sad_chunk_on_a_full_disk_names_the_store_and_keeps_finished_chunks(
    tmp_path: Path, monkeypatch
) -> None:
    store = ChunkStore(tmp_path / "scores.h5")
    state = store.open({"stats": ["SAD"]}, resume=False, total=20)
    batch = {"SAD": np.ones((10, 4), np.float32)}
    with store.chunk(state, 10, "f2") as writer:
        writer.add(batch, ["SAD"])
    state = store.commit(state, 10, 10, 0)
    monkeypatch.setattr(space, "_fallocate", _fallocate_failing(errno.ENOSPC))
    monkeypatch.setattr(os, "statvfs", _disk_with_free(0))
    with pytest.raises(OutputError) as caught, store.chunk(state, 10, "f2") as writer:
        writer.add(batch, ["SAD"])
    assert str(caught.value).startswith(
        f"{store.root}: No space left on device while writing it (it needs "
    )
    assert sorted(p.name for p in store.root.iterdir()) == [
        "chunk-000000",
        "progress.json",
        "settings.json",
    ]


def test_a_store_file_has_its_blocks_before_a_build_writes_it(tmp_path, can_allocate) -> None:
    # a disk too small for the targets stops `crossreg data` at the start, not hours on
    with NpyRows(tmp_path / "targets.npy", "w", dtype=np.float16, shape=(8, 896, 1024)) as rows:
        assert rows.shape == (8, 896, 1024)
    assert allocated(tmp_path / "targets.npy") >= 8 * 896 * 1024 * 2


def test_an_interrupted_fallocate_is_asked_again(tmp_path: Path, monkeypatch) -> None:
    calls: list[int] = []

    def interrupted_once(fd: int, mode: int, offset: int, size: int) -> int:
        calls.append(size)
        if len(calls) == 1:
            ctypes.set_errno(errno.EINTR)
            return -1
        return 0

    monkeypatch.setattr(space, "_fallocate", lambda: interrupted_once)
    (tmp_path / "x").touch()
    reserve(tmp_path / "x", 4096)
    assert calls == [4096, 4096]
