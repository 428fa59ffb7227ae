"""Atomic writes: the final name appears only complete; a failure leaves nothing behind."""

from __future__ import annotations

import contextlib
import errno
import fcntl
import logging
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from crossreg.io import atomic_dir, disk_sync, rename_exchange
from crossreg.io.atomic import atomic_path, atomic_write
from crossreg.io.atomic_dir import atomic_directory
from crossreg.io.replaceable import check_replaceable


def test_atomic_path_renames_on_success_and_cleans_up_on_failure(tmp_path):
    target = tmp_path / "sub" / "out.bin"
    with atomic_path(target) as tmp:
        assert tmp.parent == target.parent and tmp.name.startswith(".out.bin.")
        tmp.write_bytes(b"done")
        assert not target.exists()
    assert target.read_bytes() == b"done"
    with pytest.raises(RuntimeError, match=r"^crash$"), atomic_path(target) as tmp:
        tmp.write_bytes(b"half")
        raise RuntimeError("crash")
    assert target.read_bytes() == b"done"
    assert sorted(p.name for p in target.parent.iterdir()) == ["out.bin"]


def test_atomic_write_follows_the_umask(tmp_path):
    mask = os.umask(0o022)
    try:
        with atomic_write(tmp_path / "a.txt") as handle:
            handle.write("x")
    finally:
        os.umask(mask)
    assert (tmp_path / "a.txt").stat().st_mode & 0o777 == 0o644


def _fill(folder, text: str) -> None:
    (folder / "sub").mkdir()
    (folder / "sub" / "f").write_text(text)


def test_atomic_directory_replaces_whole_or_not_at_all(tmp_path):
    out = tmp_path / "store"
    with atomic_directory(out) as work:
        assert work == tmp_path / ".store.partial" and not out.exists()
        _fill(work, "first")
    assert (out / "sub" / "f").read_text() == "first"
    with pytest.raises(RuntimeError, match=r"^crash$"), atomic_directory(out) as work:
        _fill(work, "half")
        raise RuntimeError("crash")
    assert (out / "sub" / "f").read_text() == "first"
    (tmp_path / ".store.partial").mkdir()  # left by a killed writer
    with atomic_directory(out) as work:
        assert not list(work.iterdir())
        _fill(work, "second")
    assert (out / "sub" / "f").read_text() == "second"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["store"]


@pytest.mark.parametrize("swap", ["exchange", "renames"])
def test_atomic_directory_keeps_the_old_one_until_the_new_one_is_in_place(
    tmp_path, monkeypatch, swap
):
    out = tmp_path / "store"
    out.mkdir()
    (out / "f").write_text("old")
    real_replace = os.replace

    def failing_second_move(src, dst):
        if str(src).endswith(".partial"):
            raise OSError("disk gone")
        real_replace(src, dst)

    def failing_exchange(first, second):
        raise OSError("disk gone")

    if swap == "exchange":
        monkeypatch.setattr(atomic_dir, "exchange", failing_exchange)
    else:  # a file system that cannot exchange two names
        monkeypatch.setattr(atomic_dir, "exchange", lambda first, second: False)
    monkeypatch.setattr(os, "replace", failing_second_move)
    with pytest.raises(OSError, match="disk gone"), atomic_directory(out) as work:
        (work / "f").write_text("new")
    assert (out / "f").read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["store"]


def _entries(folder) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


@pytest.mark.parametrize("first", ["empty", "old store"])
def test_atomic_directory_writes_through_a_symbolic_link(tmp_path, first):
    scratch, out = tmp_path / "scratch", tmp_path / "out"
    (scratch / "store").mkdir(parents=True)
    if first == "old store":
        _fill(scratch / "store", "old")
    out.mkdir()
    (out / "store").symlink_to(scratch / "store")
    for text in ("first", "second"):
        with atomic_directory(out / "store") as work:
            assert work == scratch / ".store.partial"
            _fill(work, text)
        assert (out / "store").is_symlink()
        assert (out / "store").resolve() == scratch / "store"
        assert (scratch / "store" / "sub" / "f").read_text() == text
        assert _entries(out) == ["store"]
        assert _entries(scratch) == ["store"]


def test_atomic_directory_refuses_a_symbolic_link_leading_nowhere(tmp_path):
    (tmp_path / "store").symlink_to(tmp_path / "gone")
    with pytest.raises(ValueError, match=r"store is a symbolic link to .*gone, which does not"):
        check_replaceable(tmp_path / "store", True, {"dataset.json": "a dataset"})
    with (
        pytest.raises(ValueError, match=r"store is a symbolic link to .*gone, which does not"),
        atomic_directory(tmp_path / "store"),
    ):
        pass
    assert _entries(tmp_path) == ["store"]


@pytest.mark.parametrize("stale", ["link", "file", "folder"])
def test_atomic_directory_removes_any_stale_old_entry(tmp_path, stale):
    keep = tmp_path / "keep"
    keep.mkdir()
    (keep / "f").write_text("mine")
    old = tmp_path / ".store.old"  # left by a writer killed between the two renames
    if stale == "link":
        old.symlink_to(keep)
    elif stale == "file":
        old.write_text("x")
    else:
        old.mkdir()
        _fill(old, "x")
    (tmp_path / "store").mkdir()
    with atomic_directory(tmp_path / "store") as work:
        _fill(work, "new")
    assert (tmp_path / "store" / "sub" / "f").read_text() == "new"
    assert _entries(tmp_path) == ["keep", "store"]
    assert (keep / "f").read_text() == "mine"


def test_atomic_write_writes_through_a_symbolic_link(tmp_path):
    (tmp_path / "scratch").mkdir()
    real, link = tmp_path / "scratch" / "a.txt", tmp_path / "a.txt"
    real.write_text("old")
    link.symlink_to(real)
    with atomic_write(link) as handle:
        handle.write("new")
    assert link.is_symlink() and link.resolve() == real
    assert real.read_text() == "new"
    assert _entries(tmp_path / "scratch") == ["a.txt"]
    (tmp_path / "b.txt").symlink_to(tmp_path / "gone.txt")
    with (
        pytest.raises(ValueError, match=r"b\.txt is a symbolic link to .*gone\.txt"),
        atomic_write(tmp_path / "b.txt") as handle,
    ):
        handle.write("lost")
    assert not (tmp_path / "gone.txt").exists()


def test_a_file_added_at_any_depth_keeps_a_folder_from_being_replaced(tmp_path):
    out = tmp_path / "world"
    with atomic_directory(out) as work:
        (work / "human").mkdir()
        (work / "human" / "genome.fa").write_text(">c\nA\n")
        (work / "manifest.json").write_text("{}")
    kinds = {"manifest.json": "a synthetic world"}
    check_replaceable(out, True, kinds)  # only what crossreg wrote: replaceable
    (out / "human" / "notes.txt").write_text("mine\n")
    with pytest.raises(ValueError, match=r"also human/notes\.txt, which crossreg did not write"):
        check_replaceable(out, True, kinds, "--world")
    with pytest.raises(ValueError, match=r"^--world .* choose another --world$"):
        check_replaceable(out, True, kinds, "--world")


def test_a_record_of_top_level_names_still_covers_its_folders(tmp_path):
    # what an earlier crossreg wrote: the top-level names only
    out = tmp_path / "world"
    (out / "human").mkdir(parents=True)
    (out / "human" / "genome.fa").write_text(">c\nA\n")
    (out / "manifest.json").write_text("{}")
    (out / ".crossreg-contents").write_text("human\nmanifest.json\n")
    kinds = {"manifest.json": "a synthetic world"}
    check_replaceable(out, True, kinds)
    (out / "notes.txt").write_text("mine\n")
    with pytest.raises(ValueError, match=r"also notes\.txt, which crossreg did not write"):
        check_replaceable(out, True, kinds)
    (out / "notes.txt").unlink()
    (out / ".crossreg-contents").unlink()
    with pytest.raises(ValueError, match=r"^--world .* choose another --world$"):
        check_replaceable(out, True, kinds, "--world")


def test_the_current_directory_is_never_replaced(tmp_path, monkeypatch):
    # even empty: the swap would move the process's directory away (`--out .`)
    monkeypatch.chdir(tmp_path)
    for out in (".", str(tmp_path.parent)):
        with pytest.raises(ValueError, match=r"^--out .* is or holds the current directory"):
            check_replaceable(out, True, {"dataset.json": "a dataset"})


def test_a_second_writer_of_the_same_folder_stops_and_leaves_the_first_alone(tmp_path):
    out = tmp_path / "store"
    with atomic_directory(out) as work:
        _fill(work, "first")
        with (
            pytest.raises(ValueError, match=r"store: another crossreg process is writing it now"),
            atomic_directory(out),
        ):
            pass
        assert (work / "sub" / "f").read_text() == "first"
    assert (out / "sub" / "f").read_text() == "first"
    assert _entries(tmp_path) == ["store"]


_HOLD_LOCK = """
import fcntl, os, sys
fd = os.open(sys.argv[1], os.O_RDONLY)
fcntl.flock(fd, fcntl.LOCK_EX)
print("locked", flush=True)
sys.stdin.read()
"""


@contextlib.contextmanager
def _locked_by_another_process(folder: Path) -> Iterator[None]:
    """Within the block, a child process holds the lock on `folder`."""
    with subprocess.Popen(
        [sys.executable, "-c", _HOLD_LOCK, str(folder)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    ) as holder:
        assert holder.stdout is not None and holder.stdout.readline() == "locked\n"
        try:
            yield
        finally:
            holder.communicate("")


def test_a_partial_folder_locked_by_another_process_is_not_removed(tmp_path):
    work = tmp_path / ".store.partial"
    work.mkdir()
    (work / "f").write_text("in progress")
    with (
        _locked_by_another_process(work),
        pytest.raises(ValueError, match=r"\(its \.store\.partial is locked\); wait for it"),
        atomic_directory(tmp_path / "store"),
    ):
        pass
    assert (work / "f").read_text() == "in progress"
    assert _entries(tmp_path) == [".store.partial"]


def _no_locks(fd, operation):
    raise OSError(errno.ENOLCK, "No locks available")


@pytest.mark.parametrize("locks", ["flock", "none on this file system"])
def test_an_unlocked_partial_folder_is_removed_first(tmp_path, monkeypatch, caplog, locks):
    if locks != "flock":
        monkeypatch.setattr(fcntl, "flock", _no_locks)
    work = tmp_path / ".store.partial"  # left by a killed writer
    work.mkdir()
    _fill(work, "stale")
    with (
        caplog.at_level(logging.INFO, logger="crossreg"),
        atomic_directory(tmp_path / "store") as new,
    ):
        assert new == work and not list(new.iterdir())
        _fill(new, "new")
    assert f"removing {work} left by an interrupted write" in caplog.text
    assert (tmp_path / "store" / "sub" / "f").read_text() == "new"
    assert _entries(tmp_path) == ["store"]


def test_a_leftover_that_cannot_be_removed_releases_its_lock(tmp_path, monkeypatch):
    # before: the lock taken on the leftover stayed held, so the next write in the same
    # process was told another process was writing
    out = tmp_path / "store"
    leftover = tmp_path / ".store.partial"
    leftover.mkdir()
    (leftover / "half.npy").write_text("x")

    def refuse(path, *args, **kwargs):
        raise PermissionError(errno.EACCES, "Permission denied", str(path))

    with monkeypatch.context() as patched:
        patched.setattr("crossreg.io.atomic_dir.shutil.rmtree", refuse)
        with pytest.raises(PermissionError), atomic_directory(out):
            pass
    with atomic_directory(out) as work:
        (work / "done").write_text("ok")
    assert (out / "done").read_text() == "ok"


def _no_space(*args, **kwargs):
    raise OSError(errno.ENOSPC, "No space left on device")  # as write() and fsync() do


def _full_disk_message(path) -> str:
    return (
        f"{path}: No space left on device while writing it; free space there or choose "
        "another output path"
    )


def test_a_full_disk_is_an_error_naming_the_output(tmp_path, monkeypatch):
    # before: "[Errno 28] No space left on device", naming no file
    target = tmp_path / "out.tsv"
    with pytest.raises(OSError) as caught, atomic_write(target) as handle:
        handle.write("row\n")
        _no_space()
    assert (caught.value.errno, caught.value.filename) == (errno.ENOSPC, str(target))
    assert str(caught.value) == _full_disk_message(target)
    store = tmp_path / "store"
    with (
        pytest.raises(OSError) as caught,
        atomic_directory(store) as work,
        atomic_write(work / "sub.json") as handle,  # named in the hidden folder
    ):
        handle.write("{}")
        _no_space()
    assert str(caught.value) == _full_disk_message(store)
    with monkeypatch.context() as patched:  # at the finish: fsync
        patched.setattr(os, "fsync", _no_space)
        with pytest.raises(OSError) as caught, atomic_directory(store) as work:
            (work / "f").write_text("x")
    assert str(caught.value) == _full_disk_message(store)
    assert _entries(tmp_path) == []
    # an input's error stays as it was
    gone = FileNotFoundError(errno.ENOENT, "No such file or directory", "in.txt")
    for error in (gone, OSError(errno.EIO, "Input/output error")):
        with pytest.raises(OSError) as caught, atomic_write(target):
            raise error
        assert caught.value is error


_KILL_IN_SWAP = """
import os, signal, sys
from pathlib import Path
from crossreg.io import atomic_dir
swap, out = sys.argv[1], Path(sys.argv[2])
real_replace, real_exchange = os.replace, atomic_dir.exchange

def replace(src, dst):  # killed once the previous folder is renamed .store.old
    real_replace(src, dst)
    if str(dst).endswith(".old"):
        os.kill(os.getpid(), signal.SIGKILL)

def exchange(first, second):  # killed once the two are exchanged
    if swap == "renames":  # a file system that cannot exchange two names
        return False
    real_exchange(first, second)
    os.kill(os.getpid(), signal.SIGKILL)

os.replace = replace
atomic_dir.exchange = exchange
with atomic_dir.atomic_directory(out) as work:
    (work / "f").write_text("new")
"""


def _kill_while_replacing(out, swap: str) -> None:
    with atomic_directory(out) as work:
        (work / "f").write_text("old")
    killed = subprocess.run(
        [sys.executable, "-c", _KILL_IN_SWAP, swap, str(out)], capture_output=True, timeout=60
    )
    assert killed.returncode == -9, killed.stderr


def test_a_kill_while_replacing_a_folder_never_leaves_it_missing(tmp_path):
    # before: a kill between the two renames left .store.old and no store, so that
    # `train --resume` found no last/
    probe = [tmp_path / "a", tmp_path / "b"]
    for path in probe:
        path.write_text(path.name)
    if not rename_exchange.exchange(*probe):
        pytest.skip("this file system cannot exchange two names")
    for path in probe:
        path.unlink()
    out = tmp_path / "store"
    _kill_while_replacing(out, "exchange")
    assert (out / "f").read_text() == "new"  # complete, as a reader finds it at once
    with atomic_directory(out) as work:  # the previous one, left at .store.partial: removed
        assert not list(work.iterdir())
        (work / "f").write_text("next")
    assert _entries(tmp_path) == ["store"]


@pytest.mark.parametrize("then", ["restore_previous", "check_replaceable", "atomic_directory"])
def test_a_previous_folder_left_as_old_by_a_kill_is_put_back(tmp_path, caplog, then):
    out = tmp_path / "store"
    _kill_while_replacing(out, "renames")
    assert not out.exists() and (tmp_path / ".store.old" / "f").read_text() == "old"
    with caplog.at_level(logging.WARNING, logger="crossreg"):
        if then == "restore_previous":  # what `train --resume` may call before reading
            atomic_dir.restore_previous(out)
        elif then == "check_replaceable":
            check_replaceable(out, True, {"f": "a store"})
        else:
            with (
                pytest.raises(RuntimeError, match=r"^crash$"),
                atomic_directory(out) as work,
            ):
                assert not list(work.iterdir())  # the killed run's: removed
                raise RuntimeError("crash")
    assert (out / "f").read_text() == "old"
    assert f"restored {out} from .store.old" in caplog.text
    assert _entries(tmp_path) == (
        ["store"] if then == "atomic_directory" else [".store.partial", "store"]
    )


def test_a_previous_folder_is_not_put_back_under_a_writer_swapping_it(tmp_path):
    out, old, work = tmp_path / "store", tmp_path / ".store.old", tmp_path / ".store.partial"
    old.mkdir()
    work.mkdir()  # a writer between its two renames: its folder locked, the old one aside
    with _locked_by_another_process(work):
        atomic_dir.restore_previous(out)
        assert _entries(tmp_path) == [".store.old", ".store.partial"]
    atomic_dir.restore_previous(out)
    assert _entries(tmp_path) == [".store.partial", "store"]


def test_a_finished_folders_files_are_flushed_concurrently(tmp_path, monkeypatch):
    # one BigWig per track: 5,313 flushes one after another wait for the disk 5,313 times
    import threading

    real = disk_sync.fsync
    flushed: list[Path] = []
    meet = threading.Barrier(2, timeout=10)  # broken unless two flushes overlap

    def fsync(path):
        path = Path(path)
        if path.is_file() and path.name in ("0", "1"):
            meet.wait()
        flushed.append(path)
        real(path)

    monkeypatch.setattr(disk_sync, "fsync", fsync)
    out = tmp_path / "tracks"
    with atomic_directory(out) as work:
        for i in range(40):
            (work / str(i)).write_text(str(i))
        (work / "sub").mkdir()
        (work / "sub" / "deep").write_text("x")
    files = sorted(p.name for p in flushed if p.parent.name in (".tracks.partial", "sub"))
    assert files == sorted([*map(str, range(40)), "deep", atomic_dir.CONTENTS_FILE])
    assert (out / "39").read_text() == "39"


@pytest.mark.parametrize("linked", [False, True])
def test_a_removed_directory_is_not_put_back_and_its_link_still_leads_somewhere(tmp_path, linked):
    """remove_directory takes a stale ``.<name>.old`` with the folder (restore_previous
    would put that back in its place), and a folder reached by a symbolic link is emptied
    in place, so that the next atomic_directory can write through the link."""
    real = tmp_path / ("scratch" if linked else "last")
    with atomic_dir.atomic_directory(real) as work:
        (work / "a").write_text("first")
    (tmp_path / f".{real.name}.old").mkdir()  # a stale previous one beside it
    out = tmp_path / "last"
    if linked:
        out.symlink_to(real)
    atomic_dir.remove_directory(out)
    atomic_dir.restore_previous(out)
    assert (list(out.iterdir()) == []) if linked else not os.path.lexists(out)
    assert sorted(p.name for p in tmp_path.iterdir()) == (["last", "scratch"] if linked else [])
    with atomic_dir.atomic_directory(out) as work:
        (work / "a").write_text("second")
    assert (out / "a").read_text() == "second"
