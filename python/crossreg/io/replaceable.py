"""Whether an output folder may be written whole (:func:`check_replaceable`): absent, empty,
or holding only what crossreg wrote there; never the current directory; and how an
output meets an input (:func:`path_relation`)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from crossreg.errors import first_few
from crossreg.io.atomic import check_not_dangling
from crossreg.io.atomic_dir import CONTENTS_FILE, entries, restore_previous
from crossreg.runlog import RUNS_FILE


def check_replaceable(
    out: str | os.PathLike[str],
    overwrite: bool,
    kinds: Mapping[str, str],
    option: str = "--out",
) -> None:
    """`out` may be written whole (:func:`~crossreg.io.atomic_dir.atomic_directory`):
    absent, an empty folder, or a folder holding one of `kinds` (marker file name → what
    it holds, ``"a checkpoint"``) to replace with `overwrite`. Anything else is refused,
    so that no user file is removed: a folder to replace must hold only what crossreg
    wrote there (its :data:`CONTENTS_FILE` and run log). Never the current directory or a
    folder holding it, which the swap would pull from under the process. A symbolic link
    is judged by the folder it points to; one that leads nowhere is refused. Messages name
    the folder as the command's `option` gives it. A previous `out` that a run killed while
    replacing it left as ``.<name>.old`` is put back first
    (:func:`~crossreg.io.atomic_dir.restore_previous`)."""
    out = Path(out)
    check_not_dangling(out)
    restore_previous(out)
    if not out.exists():
        return
    check_not_current(out, option)
    if not out.is_dir():
        raise ValueError(f"{option} {out} exists and is not a directory; choose another {option}")
    held = [what for marker, what in kinds.items() if (out / marker).exists()]
    if held:
        if not overwrite:
            raise ValueError(
                f"{option} {out} already holds {held[0]}; pass --overwrite to replace it or "
                f"choose another {option}"
            )
        check_only_ours(out, held[0], option)
    elif any(out.iterdir()):
        kinds_text = " or ".join(dict.fromkeys(kinds.values()))
        raise ValueError(
            f"{option} {out} exists, is not empty and is not {kinds_text}; choose another "
            f"{option} (it holds {first_few(_top_level(out))})"
        )


def _top_level(folder: Path) -> list[str]:
    """The names of the entries directly in `folder`, sorted."""
    return sorted(entry.name for entry in folder.iterdir())


def path_relation(out: Path, other: Path) -> str | None:
    """How the output `out` meets the input `other` once links are resolved (``"is"``,
    ``"holds"``, ``"lies inside"``), or None when they are apart."""
    where, real = out.resolve(), other.resolve()
    if where == real:
        return "is"
    if where in real.parents:
        return "holds"
    return "lies inside" if real in where.parents else None


def check_not_current(out: Path, option: str) -> None:
    """Refuse an output folder `out` that is or holds the current directory, which writing
    it whole would pull from under the process."""
    cwd = Path.cwd().resolve()
    if out.resolve() == cwd or out.resolve() in cwd.parents:
        raise ValueError(
            f"{option} {out} is or holds the current directory, which writing it whole "
            f"would replace; run from another directory or choose another {option}"
        )


def check_only_ours(
    out: Path,
    what: str,
    option: str,
    *,
    unlisted: set[str] | None = None,
    remover: str = "--overwrite",
) -> None:
    """Refuse to replace `out` (holding `what`) when it holds entries crossreg did not
    write there: those its :data:`CONTENTS_FILE` lists, or where it has none, the
    top-level names `unlisted` (what an earlier crossreg wrote before it kept the list;
    ``None``: such a folder is refused). `remover` names what would remove the others."""
    record = out / CONTENTS_FILE
    if not record.is_file() and unlisted is not None:
        ours = set(unlisted)
    elif not record.is_file():
        raise ValueError(
            f"{option} {out} looks like {what} but has no {CONTENTS_FILE} listing what crossreg "
            "wrote there (not written by crossreg, or by an earlier version of it), "
            "so --overwrite could remove files of yours; remove it yourself or choose "
            f"another {option}"
        )
    else:
        ours = set(record.read_text().splitlines())
    ours |= {CONTENTS_FILE, RUNS_FILE}
    # a record without a nested entry (all an earlier crossreg wrote) lists the top level
    held = entries(out) if any("/" in name for name in ours) else _top_level(out)
    foreign = [name for name in held if name not in ours]
    if foreign:
        shown = first_few(foreign)
        raise ValueError(
            f"{option} {out} holds {what} and also {shown}, which crossreg did not write there "
            f"and {remover} would remove; move them out or choose another {option}"
        )
