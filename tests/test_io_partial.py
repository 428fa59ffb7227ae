"""crossreg.io.partial: ``OUT.partial`` as a folder, or as a link to a folder on another
disk, whose contents a run clears and deletes but never what lies beyond it."""

from __future__ import annotations

from pathlib import Path

import pytest

from crossreg.io.partial import check_place, left_over, make_fresh, remove


def test_a_link_is_left_over_only_while_its_folder_holds_a_store(tmp_path: Path):
    folder, link = tmp_path / "scratch", tmp_path / "out.partial"
    assert not left_over(link)
    link.symlink_to(folder)
    assert not left_over(link)  # to a folder not made yet
    folder.mkdir()
    assert not left_over(link)  # to an empty folder: a place made for the chunks
    (folder / "progress.json").write_text("{}")
    assert left_over(link)
    link.unlink()
    link.mkdir()
    assert left_over(link)  # a folder always is


def test_a_fresh_store_behind_a_link_keeps_the_link_and_clears_only_the_folder(tmp_path: Path):
    folder, link = tmp_path / "scratch" / "run1", tmp_path / "out.partial"
    link.symlink_to(folder)
    make_fresh(link)
    assert link.is_symlink() and folder.is_dir()
    kept = tmp_path / "kept"
    kept.mkdir()
    (kept / "data").write_text("mine")
    (folder / "settings.json").write_text("{}")  # an earlier run's store
    (folder / "chunk-000000").mkdir()
    (folder / "elsewhere").symlink_to(kept)  # a link inside: removed, not followed
    make_fresh(link)
    assert link.is_symlink() and list(folder.iterdir()) == []
    assert (kept / "data").read_text() == "mine"
    (folder / "progress.json").write_text("{}")
    remove(link)
    assert link.is_symlink() and list(folder.iterdir()) == []


def test_a_link_to_other_files_or_to_a_file_is_refused(tmp_path: Path):
    folder, link = tmp_path / "scratch", tmp_path / "out.partial"
    folder.mkdir()
    (folder / "b.txt").write_text("")
    (folder / "a.txt").write_text("")
    link.symlink_to(folder)
    with pytest.raises(ValueError, match=f"links to {folder}, which holds a.txt: a run clears"):
        make_fresh(link)
    assert sorted(p.name for p in folder.iterdir()) == ["a.txt", "b.txt"]
    link.unlink()
    link.symlink_to(folder / "a.txt")
    with pytest.raises(ValueError, match="which is not a folder"):
        check_place(link)


def test_a_folder_is_made_anew_and_removed_whole(tmp_path: Path):
    root = tmp_path / "out.partial"
    root.mkdir()
    (root / "chunk-000000").mkdir()
    make_fresh(root)
    assert root.is_dir() and list(root.iterdir()) == []
    check_place(root)  # a folder is never refused
    remove(root)
    assert not root.exists()
