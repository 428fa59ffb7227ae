"""crossreg.io.partial: ``OUT.partial`` as a folder, or as a link to a folder on another
disk, whose contents a run clears and deletes but never what lies beyond it."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from crossreg.io import partial
from crossreg.io.partial import check_place, left_over, make_fresh, remove
from crossreg.variants.chunk_store import ChunkStore


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
    (folder / "chunk-000001").symlink_to(kept)  # a link inside: removed, not followed
    make_fresh(link)
    assert link.is_symlink() and list(folder.iterdir()) == []
    assert (kept / "data").read_text() == "mine"
    (folder / "progress.json").write_text("{}")
    remove(link)
    assert link.is_symlink() and list(folder.iterdir()) == []


@pytest.mark.parametrize("store_file", [[], ["settings.json"], ["progress.json"]])
def test_a_link_to_other_files_or_to_a_file_is_refused(tmp_path: Path, store_file: list[str]):
    """With a store's file name among them (a settings.json of the user's, as many a tool
    writes), the folder passed for an earlier run's store: the run emptied it."""
    folder, link = tmp_path / "scratch", tmp_path / "out.partial"
    folder.mkdir()
    for name in ["b.txt", "a.txt", *store_file]:
        (folder / name).write_text("")
    link.symlink_to(folder)
    with pytest.raises(ValueError, match=f"links to {folder}, which holds a.txt: a run clears"):
        make_fresh(link)
    assert sorted(p.name for p in folder.iterdir()) == sorted(["a.txt", "b.txt", *store_file])
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


def _names(folder: Path) -> list[str]:
    return sorted(entry.name for entry in folder.iterdir())


def test_a_link_to_its_own_folder_is_refused(tmp_path: Path):
    """``ln -s . OUT.partial``: the folder holds the link itself and the user's files."""
    (tmp_path / "settings.json").write_text("{}")
    (tmp_path / "notes.txt").write_text("mine")
    link = tmp_path / "out.h5.partial"
    link.symlink_to(".")
    with pytest.raises(ValueError, match=r"which holds notes\.txt"):
        make_fresh(link)
    assert _names(tmp_path) == ["notes.txt", "out.h5.partial", "settings.json"]


@pytest.mark.parametrize("target", ["out", "out/scratch"])
def test_a_link_to_the_output_or_into_it_is_refused(tmp_path: Path, target: str):
    """The output (predict --bigwig's folder, not there yet) replaces the chunks' folder
    when it is written: the BigWigs were then emptied as the store."""
    link = tmp_path / "out.partial"
    link.symlink_to(target)
    with pytest.raises(ValueError, match="the output itself or a folder in it"):
        make_fresh(link)
    assert not (tmp_path / "out").exists()


def test_a_link_loop_is_refused_with_the_fix(tmp_path: Path):
    """Before, a RuntimeError ('Symlink loop') ended the command with a traceback."""
    link = tmp_path / "out.h5.partial"
    link.symlink_to(link.name)
    with pytest.raises(ValueError, match=f"{link} is a symbolic link that leads to no folder"):
        make_fresh(link)
    remove(link)  # nothing to delete, nothing raised
    assert link.is_symlink()


def test_a_relative_link_is_followed_from_its_own_folder(tmp_path: Path, monkeypatch):
    (tmp_path / "runs").mkdir()
    link = tmp_path / "runs" / "out.h5.partial"
    link.symlink_to("../scratch/run1")
    monkeypatch.chdir(tmp_path / "runs")
    make_fresh(Path("out.h5.partial"))
    assert (tmp_path / "scratch" / "run1").is_dir()
    (tmp_path / "scratch" / "run1" / "progress.json").write_text("{}")
    remove(Path("out.h5.partial"))
    assert _names(tmp_path / "scratch" / "run1") == []


def test_a_link_pointed_elsewhere_during_the_run_leaves_that_folder_whole(tmp_path: Path, caplog):
    """The link pointed at the next run's folder (or a user's) before this run ended: its
    end emptied whatever the link then pointed to."""
    scratch, link = tmp_path / "scratch", tmp_path / "out.h5.partial"
    link.symlink_to(scratch)
    make_fresh(link)
    (scratch / "progress.json").write_text("{}")
    home = tmp_path / "home"
    home.mkdir()
    (home / "settings.json").write_text("{}")
    (home / "data.csv").write_text("mine")
    link.unlink()
    link.symlink_to(home)
    with caplog.at_level(logging.WARNING, logger="crossreg"):
        remove(link)
    assert _names(home) == ["data.csv", "settings.json"]
    assert f"links to {home}, which holds data.csv, not written by a run" in caplog.text


def test_a_fresh_store_clears_the_folder_it_checked(tmp_path: Path, monkeypatch):
    """The link pointed elsewhere between the check and the clearing: the folder checked
    is cleared, not the one the link then points to."""
    scratch, link, home = tmp_path / "scratch", tmp_path / "out.h5.partial", tmp_path / "home"
    scratch.mkdir()
    (scratch / "chunk-000000").mkdir()
    home.mkdir()
    (home / "chunk-000000").mkdir()  # a store-like name, so that only the folder tells
    link.symlink_to(scratch)
    checked = partial.check_place

    def retargeted(root: Path, output: Path | None = None) -> Path | None:
        folder = checked(root, output)
        link.unlink()
        link.symlink_to(home)
        return folder

    monkeypatch.setattr(partial, "check_place", retargeted)
    make_fresh(link)
    assert _names(scratch) == [] and _names(home) == ["chunk-000000"]


def test_a_resume_refuses_a_linked_store_holding_other_files(tmp_path: Path):
    """A resume cleared the folders of chunks not counted, which took a user's folder
    put beside the chunks: it is refused as a fresh run refuses it."""
    scratch, out = tmp_path / "scratch", tmp_path / "out.h5"
    (tmp_path / "out.h5.partial").symlink_to(scratch)
    settings = {"identity": "test", "chunk_size": 2}
    ChunkStore(out).open(settings, resume=False, total=4)
    (scratch / "photos").mkdir()
    (scratch / "photos" / "a.jpg").write_text("mine")
    with pytest.raises(ValueError, match="which holds photos: a run clears"):
        ChunkStore(out).open(settings, resume=True, total=4)
    assert (scratch / "photos" / "a.jpg").read_text() == "mine"
