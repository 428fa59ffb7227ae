"""A ``--resume`` of a run that already finished (a cluster job requeued after it ended):
its outputs answer it when they record the settings the command would run with, so that
nothing is computed again; outputs of other settings are refused naming what differs,
and outputs of an earlier crossreg, which recorded no settings, or whose record cannot be
read, are computed again."""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

log = logging.getLogger("crossreg")

Changes = Callable[[Mapping[str, Any], Mapping[str, Any]], list[str]]


@dataclass(frozen=True)
class Unreadable:
    """A record of a finished run's settings that cannot be read: the file and why."""

    path: Path
    reason: str


Recorded = Mapping[str, Any] | Unreadable | None


def recorded_settings(path: Path, key: str = "settings") -> Recorded:
    """The settings a finished run's JSON file `path` (its ``summary.json``) records under
    `key`: None when it records none (an earlier crossreg wrote it), :class:`Unreadable`
    when the file cannot be read, is not JSON (cut short) or not a JSON object."""
    try:
        summary = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        return Unreadable(path, str(err))
    if not isinstance(summary, dict):
        return Unreadable(path, f"a JSON {type(summary).__name__}, not an object")
    return settings_object(path, summary.get(key), key)


def settings_object(path: Path, recorded: object, key: str = "settings") -> Recorded:
    """`recorded`, what `path` holds under `key`, as a record of a finished run's settings:
    None (none recorded), the JSON object, or :class:`Unreadable` when it is another value."""
    if recorded is not None and not isinstance(recorded, dict):
        return Unreadable(path, f"its {key!r} is not a JSON object")
    return recorded


def finished_run(
    out: str | os.PathLike[str],
    recorded: Recorded,
    now: Mapping[str, Any],
    changes: Changes,
    missing: list[str] | None = None,
    *,
    again: str = "without --resume",
    redrawn: Sequence[str] = (),
) -> bool:
    """Whether the complete output `out`, whose run `recorded` its settings (None: an
    earlier crossreg recorded none; :class:`Unreadable`: the record cannot be read), is
    this run's, with settings `now`: True when they are the same (logged: nothing to do;
    or, when it lacks the figures `redrawn`, that the caller draws them from its outputs),
    False when none were recorded or can be read, or this run writes files it lacks,
    `missing` (figures of a run without them; logged: computed again, saying why); other
    settings, named by `changes` (before, now), are a ValueError, which says to rerun
    `again` to replace it."""
    if recorded is None:
        log.info("%s records no settings (an earlier crossreg wrote it); computing it again", out)
        return False
    if isinstance(recorded, Unreadable):
        log.info(
            "%s: its record of the settings, %s, cannot be read (%s); computing it again",
            out,
            recorded.path,
            recorded.reason,
        )
        return False
    changed = changes(recorded, now)
    if changed:
        raise ValueError(
            f"--resume: {out} is complete from a run with other settings "
            f"({'; '.join(changed)}); rerun with the options and inputs it was made with, "
            f"or {again} to compute it again with these"
        )
    if missing:
        log.info("%s lacks %s, which this run writes; computing it again", out, ", ".join(missing))
        return False
    if redrawn:
        log.info(
            "%s is complete for these settings but lacks %s; drawing them from its outputs",
            out,
            ", ".join(redrawn),
        )
        return True
    log.info("%s is complete for these settings; nothing to do", out)
    return True
