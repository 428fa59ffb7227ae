"""The demo's time over its sittings, kept in :data:`CLOCK_FILE` in its output folder.

A demo stopped part way (Ctrl-C, SIGTERM, a step that failed) and continued with
``--resume`` has cost every sitting's time. Each sitting records its own time in this file
as it goes: when it starts, after each step, and when it ends, finished, failed or
interrupted (written atomically, so a kill never leaves it half-written). A sitting killed
outright (SIGKILL, a machine that went away) could not record its end: it counts until its
last finished step. A new run (without ``--resume``) starts the file afresh, so an earlier
run in the same folder is not counted; a resume of a run that had finished adds no sitting
(it has nothing left to do, so the run's cost stays as it was).
"""

from __future__ import annotations

import json
import logging
import math
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from crossreg.io.atomic import atomic_write
from crossreg.runlog import STARTED_FORMAT

log = logging.getLogger("crossreg")

CLOCK_FILE = "demo-time.json"


class DemoClock:
    """This sitting's time, added to the earlier `sittings` (records ``{"started",
    "seconds", "ended"}``) and saved in `path` after each step; with `counting` off (a
    resume of a finished run) nothing is added or saved."""

    def __init__(self, path: Path, sittings: list[dict[str, Any]], *, counting: bool) -> None:
        self.path = path
        self.sittings = sittings
        self.counting = counting
        self.clock = time.perf_counter()
        if counting:
            started = time.strftime(STARTED_FORMAT, time.localtime())
            self.sittings.append({"started": started, "seconds": 0.0, "ended": False})
            self.save()

    def save(self, *, ended: bool = False) -> None:
        """Record this sitting's time so far (and, with `ended`, that it ended)."""
        if not self.counting:
            return
        this = self.sittings[-1]
        if this["ended"]:
            return  # closed: the summary gives its time
        this["seconds"] = round(time.perf_counter() - self.clock, 3)
        this["ended"] = ended
        with atomic_write(self.path) as handle:
            json.dump({"sittings": self.sittings}, handle, indent=1)

    def close(self) -> dict[str, float | int]:
        """End this sitting; the summary's ``seconds`` (the run's, over its sittings),
        ``sittings`` and ``sitting_seconds`` (the last sitting's)."""
        self.save(ended=True)
        seconds = [float(sitting["seconds"]) for sitting in self.sittings]
        return {
            "seconds": round(sum(seconds), 1),
            "sittings": len(seconds),
            "sitting_seconds": round(seconds[-1], 1),
        }


def earlier_sittings(out: Path) -> list[dict[str, Any]]:
    """The sittings the demo in `out` recorded in its :data:`CLOCK_FILE`; none (logged)
    when it has none or a damaged one, and a warning for one killed outright."""
    path = out / CLOCK_FILE
    try:
        sittings = json.loads(path.read_text())["sittings"]
        if not isinstance(sittings, list) or not all(map(_is_sitting, sittings)):
            raise ValueError("a sitting without its seconds")
    except FileNotFoundError:
        log.info("%s: no record of the earlier sittings' time; the run's counts from now", path)
        return []
    except (OSError, ValueError, KeyError, TypeError) as err:
        log.warning(
            "%s: not a record of the demo's sittings (%s); the run's time counts from now",
            path,
            err,
        )
        return []
    for sitting in sittings:
        if not sitting.get("ended"):
            log.warning(
                "the demo's sitting started %s was killed outright: its time counts to its "
                "last finished step (%.1f s)",
                sitting.get("started", "at an unknown time"),
                sitting["seconds"],
            )
            sitting["ended"] = True
    return sittings


def _is_sitting(entry: object) -> bool:
    """Whether `entry` is a sitting's record: a mapping with its seconds, a finite number
    >= 0."""
    if not isinstance(entry, dict):
        return False
    seconds = entry.get("seconds")
    if isinstance(seconds, bool) or not isinstance(seconds, int | float):
        return False
    return math.isfinite(seconds) and seconds >= 0


@contextmanager
def sitting_clock(out: Path, *, resume: bool, finished: bool) -> Iterator[DemoClock]:
    """Time this sitting of the demo in `out` (:class:`DemoClock`), beside the earlier
    ones with `resume`; a resume of a run that `finished`, whose sittings are on record,
    adds none. However the sitting ends, its time is saved; where a sitting that failed or
    was stopped cannot save it (a full disk), that is logged, and its own error raised."""
    earlier = earlier_sittings(out) if resume else []
    clock = DemoClock(out / CLOCK_FILE, earlier, counting=not (finished and earlier))
    try:
        yield clock
    except BaseException:
        try:
            clock.save(ended=True)
        except OSError as err:
            log.warning("%s: this sitting's time could not be saved (%s)", clock.path, err)
        raise
    clock.save(ended=True)
