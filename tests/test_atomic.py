"""Atomic writes: the final name appears only complete; a failure leaves nothing behind."""

from __future__ import annotations

import os

import pytest

from crossreg.io.atomic import atomic_directory, atomic_path, atomic_write


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


def test_atomic_directory_keeps_the_old_one_until_the_new_one_is_in_place(tmp_path, monkeypatch):
    out = tmp_path / "store"
    out.mkdir()
    (out / "f").write_text("old")
    real_replace = os.replace

    def failing_second_move(src, dst):
        if str(src).endswith(".partial"):
            raise OSError("disk gone")
        real_replace(src, dst)

    monkeypatch.setattr(os, "replace", failing_second_move)
    with pytest.raises(OSError, match="disk gone"), atomic_directory(out) as work:
        (work / "f").write_text("new")
    assert (out / "f").read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["store"]
