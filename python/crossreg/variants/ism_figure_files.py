"""The file names of an ISM drawing's figures and the manifest that lists them in their
folder (:data:`MANIFEST`): what the next drawing removes, and whether a drawing finished.
Names are ``<index>_<label>_<track>.png``, the index of 4 digits or more (as many as the
file's last index needs), label and track cut with a hash when long (:func:`figure_name`).
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Sequence
from pathlib import Path

from crossreg.io.atomic import atomic_write
from crossreg.io.file_names import SAFE_CHARACTERS, safe_stem
from crossreg.plots import figure_intact

log = logging.getLogger("crossreg")


#: The most characters of a site label and of a track identifier in a figure's name: with
#: the index, the separators, ``.svg`` and a temporary file's extra characters
#: (:func:`crossreg.io.atomic.atomic_path`) a name stays far below the 255 bytes a file
#: system allows.
LABEL_CHARS = 96
TRACK_CHARS = 64

#: The list of the figures a drawing wrote, kept in its folder: what the next one removes.
MANIFEST = ".crossreg-ism-figures"

#: A figure name :func:`figure_name` forms: a site index of 4 or more digits, ``_``, the
#: label's and the track's parts joined by ``_``, ``.png`` or ``.svg``.
FIGURE_NAME = re.compile(rf"[0-9]{{4,}}_[{SAFE_CHARACTERS}]+_[{SAFE_CHARACTERS}]+\.(png|svg)")


def name_part(text: str, limit: int) -> str:
    """The :func:`~crossreg.io.file_names.safe_stem` of `text` (``site`` when it has none),
    cut to `limit` characters when longer: its start, ``-`` and 8 hexadecimal digits of
    the SHA-1 of the full `text` (stable across runs)."""
    safe = safe_stem(text, "site")
    if len(safe) <= limit:
        return safe
    digest = hashlib.sha1(text.encode("utf-8")).hexdigest()[:8]
    return f"{safe[: limit - len(digest) - 1]}-{digest}"


def index_digits(count: int) -> int:
    """Digits of the site index in figure names for `count` sites: 4, more when needed."""
    return max(4, len(str(max(count - 1, 0))))


def figure_name(index: int, digits: int, label: str, track: str) -> str:
    """The PNG name of site `index`'s figure for `track`: ``0007_<label>_<track>.png``,
    the index zero-padded to `digits`, label and track cut by :func:`name_part`."""
    return f"{index:0{digits}d}_{name_part(label, LABEL_CHARS)}_{name_part(track, TRACK_CHARS)}.png"


def drawn_figures(directory: Path, figures: int, *, svg: bool) -> bool:
    """Whether `directory`'s :data:`MANIFEST` lists, present and whole
    (:func:`~crossreg.plots.figure_intact`), exactly the `figures` PNGs
    :func:`~crossreg.variants.ism_figures.plot_ism_file` draws of an ISM ``.h5`` (one per
    site, or per site and track with ``all_tracks``), with an SVG beside each with `svg`; a
    drawing stopped part way lists fewer."""
    names = earlier_figures(directory)
    if not all(figure_intact(directory / name) for name in names):
        return False
    pngs = sum(name.endswith(".png") for name in names)
    return pngs == figures and len(names) - pngs == (figures if svg else 0)


def write_manifest(directory: Path, names: Sequence[str]) -> None:
    """Write :data:`MANIFEST` in `directory`, atomically: a header line, then `names`,
    one a line."""
    with atomic_write(directory / MANIFEST) as handle:
        handle.write("# figures crossreg ism wrote here; its next run removes them\n")
        handle.writelines(f"{name}\n" for name in names)


def remove_earlier_figures(directory: Path) -> None:
    """Remove the ISM figures an earlier drawing listed in `directory`'s :data:`MANIFEST`
    (:func:`earlier_figures`), and the manifest, if `directory` is a folder. Without a
    manifest nothing is removed; figures named as this tool names them are then noted in
    the log."""
    if not directory.is_dir():
        return
    if not (directory / MANIFEST).is_file():
        note_unlisted_figures(directory)
        return
    for name in earlier_figures(directory):
        (directory / name).unlink(missing_ok=True)
    (directory / MANIFEST).unlink()


def earlier_figures(directory: Path) -> list[str]:
    """The names of the figures `directory`'s :data:`MANIFEST` lists that are still there
    as files (or links, which removing them leaves their targets): only names
    :func:`figure_name` forms (with ``.png`` or ``.svg``), so a damaged or edited manifest
    cannot name anything else."""
    try:
        lines = (directory / MANIFEST).read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        return []
    except (OSError, UnicodeDecodeError) as err:
        raise ValueError(
            f"{directory / MANIFEST}: cannot read the list of an earlier crossreg ism's "
            f"figures ({err}); remove it (and that run's figures) and rerun"
        ) from err
    names = {line.strip() for line in lines if FIGURE_NAME.fullmatch(line.strip())}
    return sorted(n for n in names if (directory / n).is_file() or (directory / n).is_symlink())


def note_unlisted_figures(directory: Path) -> None:
    """Log a note when `directory`, which has no :data:`MANIFEST`, holds files named as
    crossreg ism names its figures (an older version's, or a user's): they are kept."""
    found = sorted(p.name for p in directory.iterdir() if FIGURE_NAME.fullmatch(p.name))
    if found:
        log.info(
            "%s has no %s listing an earlier crossreg ism's figures, so none is removed; "
            "%d files are named like them (%s%s): delete them if they are stale",
            directory,
            MANIFEST,
            len(found),
            ", ".join(found[:3]),
            ", ..." if len(found) > 3 else "",
        )
