"""Whether the track files a targets table names exist, and what a table none of whose
files exists most often is (another machine's, or one naming Basenji's HDF5 coverage)."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

#: Names of Basenji's HDF5 per-base coverage (``bam_cov.py``), which crossreg does not read.
HDF5_SUFFIXES = (".h5", ".hdf5", ".w5", ".wdf5")


def missing_track_files(
    path: Path, tracks: Sequence[tuple[int, str, list[Path]]]
) -> tuple[list[tuple[int, str]], str]:
    """The problems of the targets table at `path` whose `tracks` are (line, identifier,
    resolved files): a (line, problem) for each track naming a file that does not exist,
    and, when none of two or more files exists, a last line saying what the table most
    often is (:func:`_none_exist`; "" otherwise)."""
    absent: dict[Path, None] = {}
    every: set[Path] = set()
    found: list[tuple[int, str]] = []
    for line, identifier, files in tracks:
        for file in files:
            every.add(file)
            if file in absent or not file.exists():
                absent[file] = None
                found.append(
                    (
                        line,
                        f"{path}:{line}: track file {file} of '{identifier}' does not exist "
                        "(relative paths are relative to the table's folder)",
                    )
                )
    if len(absent) > 1 and len(absent) == len(every):
        return found, "\n  " + _none_exist(list(absent), path.parent)
    return found, ""


def _none_exist(missing: Sequence[Path], folder: Path) -> str:
    """What a table none of whose track files exists most often is: one written on another
    machine (as the paper's tables, whose files are Basenji's HDF5 coverage), or, when
    they all lie in the table's `folder`, one whose BigWigs are not fetched yet."""
    common = os.path.commonpath([os.path.abspath(f) for f in missing])
    where = f" (all under {common})" if common not in ("", os.sep) else ""
    text = f"none of the table's {len(missing):,} track files exists{where}: "
    if Path(common).is_relative_to(os.path.abspath(folder)):
        text += "fetch the BigWigs to the paths its file column names, or write theirs into it"
    else:
        text += (
            "its file column names the files of another machine; write the paths of your "
            "BigWigs into it"
        )
    if all(f.name.lower().endswith(HDF5_SUFFIXES) for f in missing):
        text += (
            "; the files it names are Basenji's HDF5 coverage (bam_cov.py's .h5/.w5), which "
            "crossreg does not read: give BigWigs of the same experiments"
        )
    return text
