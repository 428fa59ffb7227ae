"""What makes a store's bytes, as a resumed build (:mod:`crossreg.data.resume`) compares
them: the settings a build records, and the options that differ between two builds' settings,
named as ``crossreg data`` takes them."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from crossreg.io.changes import Option, change
from crossreg.io.identity import IDENTITY_RULE, identity_difference
from crossreg.io.targets import TargetsTable

#: The settings' keys named as the options that set them (the others follow from these),
#: with the words for an option left unset where they are not "none"
#: (:mod:`crossreg.io.changes`).
OPTIONS = {
    key: Option(flag)
    for key, flag in {
        "genome": "--genome",
        "assembly": "--assembly",
        "seq_length": "--seq-length",
        "pool_width": "--pool-width",
        "crop_bins": "--crop",
        "stride": "--stride",
        "stride_test": "--stride-test",
        "min_n_run": "--min-n-run",
        "max_unmappable": "--max-unmappable",
        "fill_quantile": "--fill-quantile",
        "valid_fraction": "--valid-fraction",
        "test_fraction": "--test-fraction",
        "block_size": "--split-block",
        "seed": "--seed",
        "fasta": "--fasta",
        "regions": "--regions",
        "gaps": "--gaps",
        "blacklist": "--blacklist",
        "unmappable": "--unmappable",
        "track_rows": "--targets",
        "strict": "--strict",
    }.items()
} | {
    "compress_targets": Option("--compress-targets", unset="off (uncompressed)"),
    "shard": Option("--tracks", unset="every track (no shard)"),
}


#: The columns of a track's row in the settings, before its files' identities.
_COLUMNS = ("index", "identifier", "clip", "scale", "sum_stat", "description", "clip_soft")
_EXTRA = len(_COLUMNS)  # where the table's other columns (by name) are; the files follow


def build_settings(
    metadata: Mapping[str, Any], rows: list[list[object]], shard: str | None, strict: bool
) -> dict[str, Any]:
    """What makes a store's bytes, from its description `metadata` (without the inputs'
    paths, the crossreg version and the tracks' statistics): the tracks' `rows`
    (:func:`track_rows`: their columns, then their files'
    :func:`~crossreg.data.bigwig.bigwig_identity`), the shard and ``--strict``."""
    skipped = ("inputs", "crossreg_version", "tracks")
    kept = {key: value for key, value in metadata.items() if key not in skipped}
    return {
        "identity": IDENTITY_RULE,
        **kept,
        "track_rows": rows,
        "shard": shard,
        "strict": strict,
    }


def differences(
    before: Mapping[str, Any], now: Mapping[str, Any], files: Sequence[Sequence[str]] = ()
) -> list[str]:
    """The settings that differ, named as options (:func:`crossreg.io.changes.change`:
    ``--fill-quantile 0.25 then, 0.3 now``; an input by how its content differs, a
    track's file by its path among `files`, each track's files now); those that follow
    from others are not named."""
    found = []
    for key in sorted(before.keys() | now.keys()):
        old, new = before.get(key), now.get(key)
        if old == new:
            continue
        option = OPTIONS.get(key)
        if option is None:
            if isinstance(old, dict) and isinstance(new, dict):
                found += differences(old, new, files)
        elif key == "track_rows":
            found.append(f"--targets: {_track_difference(old, new, files)}")
        elif isinstance(old, list) and isinstance(new, list):  # --blacklist's files
            found.append(f"{option.flag}: {_files_difference(old, new)}")
        else:
            found.append(change(option, old, new))
    return found


def _files_difference(old: list, new: list) -> str:
    """How two lists of files' identities differ."""
    if len(old) != len(new):
        return f"{len(old)} files then, {len(new)} now"
    return "; ".join(
        f"file {k + 1}: {identity_difference(a, b)}"
        for k, (a, b) in enumerate(zip(old, new, strict=True))
        if a != b
    )


def track_rows(
    table: TargetsTable, first: int, stop: int, identities: Mapping[Path, object]
) -> list[list[object]]:
    """The tracks of `table` as a resume must find them again: their columns, and the
    files of those the build computes, ``[first, stop)``, by their `identities`
    (:func:`~crossreg.data.bigwig.bigwig_identity`, taken as the inputs were checked: a
    few blocks of each hashed, not the whole file, as thousands of BigWigs are read whole
    by one build alone; a shard's node may hold only its own)."""
    return [
        [*(getattr(t, column) for column in _COLUMNS), t.extra]
        + ([identities[Path(f)] for f in t.files] if first <= k < stop else [])
        for k, t in enumerate(table)
    ]


def _track_difference(old: object, new: object, files: Sequence[Sequence[str]]) -> str:
    """Where two builds' track rows first differ: their number, a column, the number of a
    track's files or a file's content (the file named by its path in `files`), with how
    many other tracks differ."""
    if not isinstance(old, list) or not isinstance(new, list) or len(old) != len(new):
        count = [len(rows) if isinstance(rows, list) else "?" for rows in (old, new)]
        return f"{count[0]} tracks then, {count[1]} now"
    rows = [k for k, (a, b) in enumerate(zip(old, new, strict=True)) if a != b]
    k = rows[0]
    a, b = old[k], new[k]
    more = f" ({len(rows) - 1} other tracks differ too)" if len(rows) > 1 else ""
    if not isinstance(a, list) or not isinstance(b, list) or min(len(a), len(b)) <= _EXTRA:
        return f"row {k + 1} of the table differs{more}"
    track = f"track {b[1]} (row {k + 1} of the table)"
    for name, then, now in zip(_COLUMNS, a, b, strict=False):
        if then != now:
            return f"{track}: {name} {then} then, {now} now{more}"
    if a[_EXTRA] != b[_EXTRA]:
        return f"{track}: its other columns differ{more}"
    a_files, b_files = a[_EXTRA + 1 :], b[_EXTRA + 1 :]
    if len(a_files) != len(b_files):
        return f"{track}: {len(a_files)} files then, {len(b_files)} now{more}"
    j = next(j for j, (x, y) in enumerate(zip(a_files, b_files, strict=True)) if x != y)
    named = files[k][j] if k < len(files) and j < len(files[k]) else f"file {j + 1}"
    return f"{track}, {named}: {identity_difference(a_files[j], b_files[j])}{more}"


def sized_files(settings: Mapping[str, Any]) -> bool:
    """Whether `settings` record the tracks' files by size alone, as crossreg did before it
    took :func:`~crossreg.data.bigwig.bigwig_identity`."""
    rows = settings.get("track_rows")
    return isinstance(rows, list) and any(
        isinstance(value, int)
        for row in rows
        if isinstance(row, list)
        for value in row[_EXTRA + 1 :]
    )
