"""A ``--resume`` of a run that already finished (a cluster job requeued after it ended):
its outputs answer it when they record the settings the command would run with, so that
nothing is computed again; outputs of other settings are refused naming what differs,
and outputs of an earlier crossreg, which recorded no settings, are computed again."""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Mapping
from typing import Any

log = logging.getLogger("crossreg")

Changes = Callable[[Mapping[str, Any], Mapping[str, Any]], list[str]]


def finished_run(
    out: str | os.PathLike[str],
    recorded: Mapping[str, Any] | None,
    now: Mapping[str, Any],
    changes: Changes,
    missing: list[str] | None = None,
    *,
    again: str = "without --resume",
) -> bool:
    """Whether the complete output `out`, whose run `recorded` its settings (None: an
    earlier crossreg recorded none), is this run's, with settings `now`: True when they
    are the same (logged: nothing to do), False when none were recorded or this run
    writes files it lacks, `missing` (figures of a run without them; logged: computed
    again); other settings, named by `changes` (before, now), are a ValueError, which
    says to rerun `again` to replace it."""
    if recorded is None:
        log.info("%s records no settings (an earlier crossreg wrote it); computing it again", out)
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
    log.info("%s is complete for these settings; nothing to do", out)
    return True
