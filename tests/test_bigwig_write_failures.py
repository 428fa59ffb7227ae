"""BigWigs on a full disk: libBigWig ignores write errors and then corrupts the heap, so
crossreg checks the free space before libBigWig can run out of it and stops with one
line naming the file, leaving nothing half-written. A full disk is simulated without
root: ``os.statvfs`` reports a small disk, and in a child process RLIMIT_FSIZE makes a
write past it fail as a full disk would."""

from __future__ import annotations

import errno
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pyBigWig
import pytest

from crossreg.cli import main

BLOCK = 4096


def small_disk(capacity: int, folder: Path):
    """An ``os.statvfs`` for a disk of `capacity` bytes holding only what is under
    `folder`."""

    def statvfs(_path: str | os.PathLike[str]) -> SimpleNamespace:
        used = sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())
        return SimpleNamespace(f_bavail=max(capacity - used, 0) // BLOCK, f_frsize=BLOCK)

    return statvfs


CHILD = textwrap.dedent(
    """
    import os, resource, signal, sys
    from pathlib import Path
    from types import SimpleNamespace
    import numpy as np
    from crossreg.synth.bigwig import write_bigwig

    limit, folder = int(sys.argv[1]), Path(sys.argv[2])

    def statvfs(_path):
        used = sum(p.stat().st_size for p in folder.iterdir() if p.is_file())
        return SimpleNamespace(f_bavail=max(limit - used, 0) // 4096, f_frsize=4096)

    os.statvfs = statvfs
    # a write past `limit` bytes fails (EFBIG) as on a full disk
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
    rng = np.random.default_rng(0)
    sizes = {"chr1": 300_000, "chr2": 200_000, "chr3": 100_000}
    signal_ = {c: rng.random(n).astype(np.float32) for c, n in sizes.items()}
    signal_["chr3"] = np.repeat(rng.random(1_000).astype(np.float32), 100)  # runs
    try:
        write_bigwig(folder / "x.bw", sizes, signal_)
    except OSError as err:
        print(f"{type(err).__name__} errno={err.errno}: {err}", file=sys.stderr)
        sys.exit(3)
    """
)


def write_in_child(limit: int, folder: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", CHILD, str(limit), str(folder)],
        capture_output=True,
        text=True,
        timeout=60,  # a corrupted heap may also hang
    )


@pytest.mark.parametrize("limit", [100_000, 1_500_000])
def test_a_bigwig_on_a_full_disk_is_a_clean_error_and_no_file(tmp_path, limit):
    # before the guard, libBigWig aborted the process here ("malloc(): invalid size",
    # rc -6), or hung, and left its truncated temporary
    run = write_in_child(limit, tmp_path)
    assert run.returncode == 3, run.stderr[-2000:]
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1, run.stderr  # no libBigWig line: it never failed a write
    assert f"errno={errno.ENOSPC}: {tmp_path / 'x.bw'}: not enough free space" in lines[0]
    assert "choose another --out" in lines[0]
    assert not list(tmp_path.iterdir())
    # with room for it the same BigWig is written whole
    run = write_in_child(8_000_000, tmp_path)
    assert run.returncode == 0, run.stderr[-2000:]
    bw = pyBigWig.open(str(tmp_path / "x.bw"))
    assert bw.chroms() == {"chr1": 300_000, "chr2": 200_000, "chr3": 100_000}
    runs = np.array(bw.values("chr3", 0, 200))
    assert (runs[:100] == runs[0]).all() and (runs[100:] == runs[100]).all()
    assert not np.isnan(bw.values("chr1", 0, 300_000)).any()
    bw.close()


def test_synth_on_a_full_disk_names_the_file_and_the_option(tmp_path, monkeypatch, capsys):
    out = tmp_path / "w"
    monkeypatch.setattr(os, "statvfs", small_disk(2 * 1024 * 1024, tmp_path))
    assert main(["synth", "--out", str(out)]) == 1
    errors = [line for line in capsys.readouterr().err.splitlines() if "ERROR" in line]
    assert len(errors) == 1, errors
    message = errors[0].split("ERROR ", 1)[1]
    assert message.startswith(str(out / "human")) and ".bw: not enough free space" in message
    assert ".partial" not in message and message.endswith("or choose another --out")
    assert not list(tmp_path.iterdir())  # neither the world nor its hidden partial folder


def written_size_and_bound(path: Path, sizes: dict[str, int], calls: list) -> tuple[int, float]:
    from crossreg.io.bigwig_write import BigWigFile, SpaceGuard

    bw = BigWigFile(path, sizes, SpaceGuard(path.parent))
    for kind, *args in calls:
        if kind == "runs":
            bw.add_runs(*args)
        else:
            bw.add_steps(*args)
    bound = bw.bound
    bw.close()
    return path.stat().st_size, bound


def _cases() -> dict[str, tuple[dict[str, int], list]]:
    rng = np.random.default_rng(1)
    n = 400_000
    starts = np.sort(rng.choice(n, 20_000, replace=False)).astype(np.int64)
    ends = np.minimum(np.append(starts[1:], n), starts + rng.integers(1, 50, starts.size))
    gappy = ("runs", "chr1", starts, ends, rng.random(starts.size).astype(np.float32))
    abutting = np.arange(0, n + 1, 3, dtype=np.int64)
    return {
        "gappy runs": ({"chr1": n}, [gappy]),
        "1-bp runs": (
            {"chr1": n},
            [("runs", "chr1", abutting[:-1], abutting[:-1] + 1, rng.random(abutting.size - 1))],
        ),
        "fixed step, random": (
            {"a": 250_000, "b": 90_000},
            [
                ("steps", "a", 0, rng.random(250_000), 1, 1),
                ("steps", "b", 10, rng.random(80_000), 1, 1),
            ],
        ),
        "tiles of bins": (
            {"chr1": 2_000_000},
            [("steps", "chr1", 8192 + 896 * 128 * i, rng.random(896), 128, 128) for i in range(16)],
        ),
        "sparse step": ({"chr1": 1_000_000}, [("steps", "chr1", 0, rng.random(9_000), 5, 100)]),
        "one value": ({"chr1": 10}, [("steps", "chr1", 3, np.array([1.5]), 1, 1)]),
        "no data, many long names": (
            {f"scaffold_{i:06d}_of_a_draft": 1_000 for i in range(3000)},
            [],
        ),
    }


@pytest.mark.parametrize("case", list(_cases()))
def test_the_bound_covers_what_libbigwig_writes(tmp_path, case):
    sizes, calls = _cases()[case]
    size, bound = written_size_and_bound(tmp_path / "x.bw", sizes, calls)
    assert size <= bound
    assert bound < 6 * size + 40_000  # and is not so loose it refuses disks with room


def test_free_space_is_asked_again_only_when_spent(tmp_path, monkeypatch):
    asked = []
    real = os.statvfs

    def counting(path):
        asked.append(path)
        return real(path)

    monkeypatch.setattr(os, "statvfs", counting)
    rng = np.random.default_rng(2)
    calls = [("steps", "chr1", 896 * 128 * i, rng.random(896), 128, 128) for i in range(300)]
    written_size_and_bound(tmp_path / "x.bw", {"chr1": 300 * 896 * 128}, calls)
    assert 1 <= len(asked) <= 3  # when opened and when closed, not once per entry
