"""Join the shard directories of ``crossreg data --tracks i/n`` into one dataset store.

Each shard holds every window of its contiguous share of the tracks, so each track's
genome-wide statistics (its 25th percentile fill value, means, clipped share) are computed
whole inside its shard and carried in the shard's ``shard.json``. The merge interleaves
the shards' targets track-wise and writes the store one build would have written, byte
for byte: the same ``targets.npy``, the same ``dataset.json``, and the window files of
shard 0 (the other shards' must be identical). Shards of a build with compressed
targets hold them plain; the merge compresses them as the one build does.
"""

from __future__ import annotations

import filecmp
import json
import logging
import os
import shutil
from collections.abc import Sequence
from pathlib import Path

from crossreg.data.build import REPLACEABLE
from crossreg.data.compressed import compress_targets
from crossreg.data.description import write_json
from crossreg.data.interleave import MERGE_BLOCK_BYTES, merge_track_chunks
from crossreg.data.npy import NpyRows
from crossreg.data.resume import MARK, work_folder
from crossreg.data.store import (
    METADATA,
    SHARD_FORMAT,
    SHARD_METADATA,
    SHARD_VERSION,
    DataStore,
    store_version,
)
from crossreg.errors import first_few, require_path_list
from crossreg.io.atomic_dir import atomic_directory
from crossreg.io.identity import identity_difference
from crossreg.io.replaceable import check_replaceable, path_relation

log = logging.getLogger("crossreg")

#: Files every shard writes for the whole store, identical in all shards.
WINDOW_FILES = ("targets.txt", "sequences.bed", "regions.bed", "masked.npy")


def read_shard(path: Path) -> dict:
    """The ``shard.json`` of a shard directory, checked."""
    meta = path / SHARD_METADATA
    if not path.is_dir():
        partial = path.parent / f".{path.name}.partial"
        why = (
            f"its build is under way, or was killed ({partial} is left)"
            if partial.exists()
            else "its `crossreg data --tracks i/n` has not run, or did not finish"
        )
        raise ValueError(f"shard {path} does not exist: {why}; build it, then merge")
    if not meta.exists():
        hint = " (it is a finished dataset)" if (path / METADATA).exists() else ""
        raise ValueError(
            f"{path} is not a finished shard of `crossreg data --tracks i/n` (no "
            f"{SHARD_METADATA}){hint}; pass the shard directories"
        )
    try:
        with open(meta, encoding="utf-8") as handle:
            content = json.load(handle)
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise ValueError(
            f"{meta}: not a crossreg dataset shard description ({err}); rebuild the shard "
            "with `crossreg data --tracks i/n`"
        ) from err
    if not isinstance(content, dict) or content.get("format") != SHARD_FORMAT:
        raise ValueError(f"{meta}: not a crossreg dataset shard description")
    if content.get("format_version", 0) > SHARD_VERSION:
        raise ValueError(f"{meta}: written by a newer crossreg; upgrade crossreg to merge it")
    _check_files(path, content["shard"]["index"], content["shard"]["count"])
    return content


def _check_files(path: Path, index: int, count: int) -> None:
    """The shard `index` of `count` at `path` holds every file its build wrote."""
    names = (*WINDOW_FILES, "targets.npy", *(("sequences.npy",) if index == 0 else ()))
    missing = [name for name in names if not (path / name).is_file()]
    if missing:
        raise ValueError(
            f"shard {path} lacks {', '.join(missing)}, which its build wrote (the folder was "
            f"changed since); {_rebuild(index, count)}"
        )


def _rebuild(index: int, count: int) -> str:
    """What to do about a damaged shard `index` of `count`."""
    return (
        f"rebuild it with `crossreg data --tracks {index}/{count}` and the same inputs and options"
    )


def _check_together(shards: Sequence[Path], metas: Sequence[dict]) -> None:
    """The shards are all `n` shards of one build, each once, in order."""
    _check_indices(shards, [(m["shard"]["index"], m["shard"]["count"]) for m in metas])
    first = _decisive(metas[0]["dataset"])
    for path, meta in zip(shards[1:], metas[1:], strict=True):
        other = _decisive(meta["dataset"])
        if ("input_content" in first) != ("input_content" in other):
            old = shards[0] if "input_content" not in first else path
            raise ValueError(
                f"{old} was built by an earlier crossreg, which matched the shards' inputs by "
                "path; rebuild it with this version, as the other shards were"
            )
        differs = sorted(k for k in first.keys() | other.keys() if first.get(k) != other.get(k))
        if differs:
            named = [_named(k, first.get(k), other.get(k)) for k in differs]
            raise ValueError(
                f"{path} is a shard of another build than {shards[0]} (they differ in "
                f"{'; '.join(named)}); rebuild the shards with the same inputs and options"
            )
        for name in WINDOW_FILES:
            same = (
                _track_rows(shards[0] / name) == _track_rows(path / name)
                if name == "targets.txt"
                else filecmp.cmp(shards[0] / name, path / name, shallow=False)
            )
            if not same:
                raise ValueError(
                    f"{path / name} differs from {shards[0] / name}: the shards are of "
                    "different builds; rebuild them with the same inputs and options"
                )
    stops = [m["shard"]["first_track"] for m in metas[1:]]
    if [m["shard"]["stop_track"] for m in metas[:-1]] != stops:
        raise ValueError("the shards' track ranges do not follow each other")


def _check_indices(shards: Sequence[Path], given: Sequence[tuple[int, int]]) -> None:
    """`given` (each shard's ``(index, count)``) are all `count` shards, each once, in
    order: a refusal names the shard of another count, those missing or given twice, or
    the first out of place (of 50 shards, listing all of them hid the one missing)."""
    count = given[0][1]
    for path, (index, other) in zip(shards, given, strict=True):
        if other != count:
            raise ValueError(
                f"{path} is shard {index}/{other}, not of the {count}-shard build of "
                f"{shards[0]}; pass the {count} shards of one build"
            )
    indices = [index for index, _ in given]
    seen: dict[int, list[str]] = {}
    for path, index in zip(shards, indices, strict=True):
        seen.setdefault(index, []).append(str(path))
    missing = [f"{i}/{count}" for i in range(count) if i not in seen]
    again = [f"{i}/{count} ({' and '.join(paths)})" for i, paths in seen.items() if len(paths) > 1]
    if missing or again:
        found = [f"missing: {first_few(missing)}"] if missing else []
        found += [f"given more than once: {first_few(again)}"] if again else []
        which = missing[0] if len(missing) == 1 else f"i/{count}"
        them = "it" if len(missing) == 1 else "each"
        fix = f"; build {them} with `crossreg data --tracks {which}`" if missing else ""
        raise ValueError(
            f"the build has {count} shards, {len(shards)} were given; {'; '.join(found)}{fix}"
        )
    for place, (path, index) in enumerate(zip(shards, indices, strict=True)):
        if index != place:
            # a glob orders shards 0 to 9 right: only of more than 10 can it be the cause
            glob = (
                " (a shell glob puts shard 10 before shard 2: name them with a brace "
                f"expansion, e.g. shards/human.{{0..{count - 1}}})"
                if count > 10
                else ""
            )
            raise ValueError(
                f"{path} is shard {index}/{count}, given in place {place}; pass the shards in "
                f"order 0/{count} to {count - 1}/{count}{glob}"
            )


def _decisive(dataset: dict) -> dict:
    """What a shard's store description must share with the other shards': all but its
    tracks' statistics, and but the inputs' paths where their content was recorded
    (``input_content``; shards built before it are matched by path)."""
    skipped = ("tracks", "inputs") if "input_content" in dataset else ("tracks",)
    return {k: v for k, v in dataset.items() if k not in skipped}


def _named(key: str, first: object, other: object) -> str:
    """The entry `key` of two shards' descriptions, with how each input's content differs
    (``input_content (fasta: the same size, other content …)``)."""
    if key != "input_content" or not isinstance(first, dict) or not isinstance(other, dict):
        return key
    found = []
    for name in sorted(first.keys() | other.keys()):
        a, b = first.get(name), other.get(name)
        if a == b:
            continue
        if isinstance(a, dict) and isinstance(b, dict):
            found.append(f"{name}: {identity_difference(a, b)}")
        else:
            found.append(f"{name}: given to one, not the other" if None in (a, b) else name)
    return f"input_content ({', '.join(found)})"


def _track_rows(table: Path) -> list[list[str]]:
    """A shard's ``targets.txt`` without its file column: the tracks every shard must list
    alike, wherever each read its BigWigs."""
    rows = [line.split("\t") for line in table.read_text().splitlines()]
    column = rows[0].index("file") if rows and "file" in rows[0] else None
    return [row[:column] + row[column + 1 :] if column is not None else row for row in rows]


def _link_or_copy(source: Path, destination: Path) -> None:
    """Hard-link `source` at `destination` (the shards are read-only inputs), else copy."""
    try:
        os.link(source, destination)
    except OSError:
        shutil.copyfile(source, destination)


def _check_apart(out: Path, shards: Sequence[Path]) -> None:
    """Refuse an `out` that is, holds or lies inside one of the `shards`: writing it (with
    ``--overwrite``) would replace an input, and the merge could not be rerun."""
    for shard in shards:
        relation = path_relation(out, shard)
        if relation is not None:
            raise ValueError(
                f"--out {out} {relation} the shard {shard} given to merge; choose an --out "
                "apart from the shard directories, so that the inputs stay as they are"
            )


def _check_no_kept_build(out: Path, overwrite: bool) -> None:
    """Refuse to merge into `out` over the finished work an interrupted ``crossreg data``
    build of it kept (which the merge would delete) unless `overwrite` says to."""
    work = work_folder(out)
    if (work / MARK).is_file() and not overwrite:
        raise ValueError(
            f"{out}: an interrupted crossreg data build of it kept its finished work in "
            f"{work}, which the merge would delete; continue that build with crossreg data "
            "--resume, or pass --overwrite to merge the shards in its place"
        )


def merge_shards(
    out: str | os.PathLike[str],
    shards: Sequence[str | os.PathLike[str]],
    *,
    overwrite: bool = False,
) -> DataStore:
    """Join the shard directories of one ``crossreg data --tracks i/n`` build, given in
    order 0/n .. (n-1)/n, into the dataset store at `out` (opened and returned); a store
    already at `out` is refused unless `overwrite` lets this one replace it, as
    ``crossreg data-merge --overwrite`` does."""
    require_path_list(shards, "shards")
    paths = [Path(s) for s in shards]
    if not paths:
        raise ValueError("no shard directories given")
    out = Path(out)
    _check_apart(out, paths)
    metas = [read_shard(p) for p in paths]
    _check_together(paths, metas)
    _check_no_kept_build(out, overwrite)
    check_replaceable(out, overwrite, REPLACEABLE)
    dataset = metas[0]["dataset"]
    n, bins, n_tracks = dataset["num_windows"], dataset["target_length"], dataset["num_targets"]
    if metas[-1]["shard"]["stop_track"] != n_tracks or metas[0]["shard"]["first_track"] != 0:
        raise ValueError("the shards' tracks do not cover the targets table")
    with atomic_directory(out) as work:
        for name in (*WINDOW_FILES, "sequences.npy"):
            _link_or_copy(paths[0] / name, work / name)
        parts = [p / "targets.npy" for p in paths]
        for path, meta in zip(parts, metas, strict=True):
            shard = meta["shard"]
            tracks = shard["stop_track"] - shard["first_track"]
            try:
                with NpyRows(path) as part:
                    shape = part.shape
            except ValueError as err:  # load_npy's: cut, empty or not a .npy array
                raise ValueError(
                    f"{path} is cut, empty or not a .npy array ({err.__cause__}); "
                    f"{_rebuild(shard['index'], shard['count'])}"
                ) from err
            if shape != (n, bins, tracks):
                raise ValueError(
                    f"{path} has shape {shape}, not {(n, bins, tracks)}; "
                    f"{_rebuild(shard['index'], shard['count'])}"
                )
        merge_track_chunks(work / "targets.npy", parts, n, bins, n_tracks, MERGE_BLOCK_BYTES)
        if dataset["options"].get("compress_targets") is not None:
            compress_targets(work, dataset["options"]["compress_targets"])
        tracks = [t for m in metas for t in m["dataset"]["tracks"]]
        version = store_version(dataset["options"].get("compress_targets"))
        write_json(work / METADATA, {**dataset, "format_version": version, "tracks": tracks})
    log.info("merged %d shards into %s", len(paths), out)
    return DataStore(out)
