"""Progress of long work: a ``tqdm`` bar on a terminal, log lines elsewhere.

Every step that can take more than a few seconds reports through :func:`progress`. Where
it goes depends on where the process runs:

- ``bar``: stderr is a terminal: a ``tqdm`` bar with the count, rate and ETA (and the
  step's own figures, e.g. the loss); log lines and Python warnings written meanwhile go
  above the bar.
- ``log``: stderr is not a terminal (CI, job arrays, files): the same figures as
  ``crossreg`` log lines, at most one every :data:`LOG_INTERVAL` seconds, and one when the
  work ends.
- ``off``: workers of a ``torchrun`` job other than rank 0 report nothing, and nor does a
  process whose ``crossreg`` logger has its level set above INFO (``crossreg -q``), on a
  terminal or not (a library caller who sets no level keeps the bar).

Work a stopped run finished, which a resumed one takes from its files, is counted as
done from the start (`initial`, :meth:`Progress.skip`), not in the rate nor the ETA.

``CROSSREG_PROGRESS=bar|log|off`` overrides the choice on rank 0 (the other ranks stay
off, so that a job's log holds each line once; ``CROSSREG_PROGRESS_INTERVAL`` sets the
seconds between log lines).
"""

from __future__ import annotations

import contextlib
import logging
import math
import os
import shutil
import sys
import time
import warnings
from collections.abc import Callable, Iterable, Iterator, Sized
from types import TracebackType
from typing import TYPE_CHECKING, Protocol, TypeVar

if TYPE_CHECKING:
    import numpy.typing as npt

log = logging.getLogger("crossreg")

MODE_VARIABLE = "CROSSREG_PROGRESS"
INTERVAL_VARIABLE = "CROSSREG_PROGRESS_INTERVAL"
LOG_INTERVAL = 30.0
MODES = ("bar", "log", "off")

T = TypeVar("T")

#: A bar's layout when the total is unknown: tqdm's, with a space after the count.
UNKNOWN_TOTAL_FORMAT = "{desc}: {n_fmt} {unit} [{elapsed}, {rate_fmt}{postfix}]"


def launched_rank() -> int:
    """This process's rank in a ``torchrun`` job (0 without one), from its environment,
    without importing torch."""
    return int(os.environ.get("RANK", "0") or 0)


def progress_mode() -> str:
    """``bar``, ``log`` or ``off`` for this process (see the module's docstring)."""
    chosen = os.environ.get(MODE_VARIABLE, "").strip().lower()
    if chosen and chosen not in MODES:
        raise ValueError(f"{MODE_VARIABLE}={chosen}: choose one of {', '.join(MODES)}")
    if launched_rank() != 0:
        return "off"
    if chosen:
        return chosen
    if logging.getLogger("crossreg").level > logging.INFO:
        return "off"  # -q sets the level; a library caller's unset one keeps the bar
    return "bar" if sys.stderr.isatty() else "log"


def log_interval() -> float:
    """Seconds between two progress log lines."""
    text = os.environ.get(INTERVAL_VARIABLE, "")
    try:
        return float(text) if text else LOG_INTERVAL
    except ValueError:
        raise ValueError(f"{INTERVAL_VARIABLE}={text}: give a number of seconds") from None


def fixed_terminal_size() -> tuple[int, int] | None:
    """None when the terminal on stderr reports its size (a bar follows it as it
    changes); else, as a pseudo-terminal given no size reports 0 columns or rows (on which
    tqdm would draw nothing), a fixed width and height for the bar: ``COLUMNS`` and
    ``LINES``, or 80×24, less one as tqdm takes them (no wrap at the edge)."""
    try:
        size = os.get_terminal_size(sys.stderr.fileno())
    except (AttributeError, ValueError, OSError):  # no file descriptor (a capture)
        size = os.terminal_size((0, 0))
    if size.columns > 0 and size.lines > 0:
        return None
    fallback = shutil.get_terminal_size()
    return fallback.columns - 1, fallback.lines - 1


def format_seconds(seconds: float) -> str:
    """``75`` → ``1:15``, ``3725`` → ``1:02:05``, unknown → ``?``."""
    if not math.isfinite(seconds):
        return "?"
    minutes, secs = divmod(round(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def format_postfix(postfix: dict[str, object]) -> str:
    """``{"loss": 0.5312}`` → ``loss=0.531``."""
    return ", ".join(
        f"{key}={value:.4g}" if isinstance(value, float) else f"{key}={value}"
        for key, value in postfix.items()
    )


@contextlib.contextmanager
def _warnings_above(write: Callable[..., None]) -> Iterator[None]:
    """Python warnings meant for stderr (numpy's, torch's) written with `write` (tqdm's,
    which clears the bar, writes, and draws it again below) while a bar is drawn, not into
    the bar's line."""
    shown = warnings.showwarning

    def above(message, category, filename, lineno, file=None, line=None) -> None:
        if file is not None and file is not sys.stderr:
            shown(message, category, filename, lineno, file, line)
            return
        text = warnings.formatwarning(message, category, filename, lineno, line)
        write(text.rstrip("\n"), file=sys.stderr)

    warnings.showwarning = above
    try:
        yield
    finally:
        warnings.showwarning = shown


class Progress:
    """Counts done of `total` (``None``: unknown) `unit`s of the work `desc`; use it as a
    context manager, call :meth:`update` as work finishes."""

    def __init__(
        self,
        total: int | None,
        desc: str,
        unit: str = "it",
        *,
        initial: int = 0,
        mode: str | None = None,
    ) -> None:
        self.total, self.desc, self.unit = total, desc, unit
        self.done = self.initial = initial
        self.mode = mode or progress_mode()
        self.postfix: dict[str, object] = {}
        self.start = self.last_log = time.monotonic()
        self.interval = log_interval()
        self._bar = None
        self._redirect: contextlib.ExitStack | None = None
        if self.mode == "bar":
            from tqdm import tqdm
            from tqdm.contrib.logging import logging_redirect_tqdm

            fixed = fixed_terminal_size()
            self._bar = tqdm(
                total=total,
                desc=desc,
                unit=unit,
                initial=initial,
                file=sys.stderr,
                smoothing=0.1,
                # without a total, tqdm runs the count into its unit ("60records")
                bar_format=None if total is not None else UNKNOWN_TOTAL_FORMAT,
                dynamic_ncols=fixed is None,
                ncols=fixed[0] if fixed else None,
                nrows=fixed[1] if fixed else None,
            )
            self._redirect = contextlib.ExitStack()
            self._redirect.enter_context(logging_redirect_tqdm(loggers=[log]))
            self._redirect.enter_context(_warnings_above(tqdm.write))

    def __enter__(self) -> Progress:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.close(finished=kind is None)

    def rate(self) -> float:
        """Units per second since this progress began (not counting `initial`)."""
        elapsed = time.monotonic() - self.start
        return (self.done - self.initial) / elapsed if elapsed > 0 else 0.0

    def eta(self, rate: float | None = None) -> float:
        """Seconds left at `rate` (by default the current one; ``inf`` when unknown)."""
        rate = self.rate() if rate is None else rate
        if self.total is None or rate <= 0:
            return math.inf
        return max(self.total - self.done, 0) / rate

    def describe(self) -> str:
        """``desc: done/total unit (pct), rate unit/s[, N kept from the stopped run],
        ETA m:ss[, postfix]``."""
        count = f"{self.done}" if self.total is None else f"{self.done}/{self.total}"
        share = f" ({100.0 * self.done / self.total:.1f}%)" if self.total else ""
        rate = self.rate()  # one reading of the clock for the rate and the time left
        text = f"{self.desc}: {count} {self.unit}{share}, {rate:.3g} {self.unit}/s"
        if self.initial:
            text += f", {self.initial} kept from the stopped run"
        if self.total is not None and self.done < self.total:
            text += f", ETA {format_seconds(self.eta(rate))}"
        if self.postfix:
            text += f", {format_postfix(self.postfix)}"
        return text

    def set_postfix(self, **postfix: object) -> None:
        """Figures shown beside the count (e.g. ``loss=0.53``), kept until replaced."""
        self.postfix.update(postfix)
        if self._bar is not None:
            self._bar.set_postfix_str(format_postfix(self.postfix), refresh=False)

    def update(self, n: int = 1, **postfix: object) -> None:
        """`n` more units done, with optional figures to show."""
        self.done += n
        if postfix:
            self.set_postfix(**postfix)
        if self._bar is not None:
            self._bar.update(n)
        elif self.mode == "log" and (self.total is None or self.done < self.total):
            now = time.monotonic()  # the last unit's line is close's "done in" line
            if now - self.last_log >= self.interval:
                self.last_log = now
                log.info("%s", self.describe())

    def skip(self, n: int) -> None:
        """`n` more units that a stopped run finished (taken from its files): counted as
        done, as `initial` is, but not in the rate nor the time left."""
        self.done += n
        self.initial += n
        if self._bar is not None:
            self._bar.n += n
            self._bar.initial += n
            self._bar.last_print_n += n
            self._bar.refresh()

    def close(self, *, finished: bool = True) -> None:
        """End the bar (or log the final line when `finished`)."""
        if self._bar is not None:
            self._bar.close()
            self._bar = None
            if self._redirect is not None:
                self._redirect.close()
        elif self.mode == "log" and finished and self.done > self.initial:
            elapsed = format_seconds(time.monotonic() - self.start)
            log.info("%s, done in %s", self.describe(), elapsed)
        self.mode = "closed"


def progress(total: int | None, desc: str, unit: str = "it", *, initial: int = 0) -> Progress:
    """A :class:`Progress` for this process (a bar, log lines, or nothing)."""
    return Progress(total, desc, unit, initial=initial)


def track(
    items: Iterable[T], desc: str, unit: str = "it", *, total: int | None = None
) -> Iterator[T]:
    """Yield `items`, reporting one unit per item (`total`: ``len(items)`` when it has one)."""
    if total is None and isinstance(items, Sized):
        total = len(items)
    with progress(total, desc, unit) as meter:
        for item in items:
            yield item
            meter.update()


class RowSlices(Protocol):
    """Rows read by slices along the first axis: an array, a memory map, or what reads
    them on demand (:class:`~crossreg.data.compressed.CompressedRows`)."""

    def __len__(self) -> int: ...

    def __getitem__(self, key: slice, /) -> npt.NDArray: ...


class CountedRows:
    """An array whose slices, as they are read, count their rows on a progress `meter`.

    :func:`crossreg.model.metrics.array_metrics` reads each batch's targets by a slice
    once the batch is predicted: given its targets so wrapped, it reports the windows it
    has scored.
    """

    def __init__(self, array: RowSlices, meter: Progress) -> None:
        self.array, self.meter = array, meter

    def __len__(self) -> int:
        return len(self.array)

    def __getitem__(self, key: slice) -> npt.NDArray:
        rows = self.array[key]
        self.meter.update(len(rows))
        return rows
