"""Several trainings at once on the CPU: one process per group of runs, the cores shared.

Small convolutions scale poorly across threads: on two cores, two trainings of one thread
each finish sooner than the same trainings one after another with two threads. Each group
runs in its own spawned process, its runs one after another; progress there is written
as log lines (two bars cannot share a terminal line), each led by the name of the run's
output folder, so that two processes' "joint epoch 1" lines can be told apart.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import signal
import time
from collections.abc import Sequence
from concurrent.futures import Future, ProcessPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path

from crossreg.interrupts import sigterm_as_interrupt
from crossreg.logs import setup_logging
from crossreg.progress import MODE_VARIABLE
from crossreg.train.options import TrainOptions
from crossreg.train.trainer import train

#: Seconds the workers have to end their runs themselves after this process was
#: interrupted, before they are sent SIGTERM.
INTERRUPT_GRACE_SECONDS = 2.0


@dataclass(frozen=True)
class TrainRun:
    """One ``crossreg train``: params file, dataset stores, output folder and options."""

    params: Path
    data: tuple[Path, ...]
    out: Path
    options: TrainOptions = field(default_factory=TrainOptions)
    resume: bool = False  # continue from out/last (``--resume``)
    overwrite: bool = False  # replace an earlier run in out (see crossreg.train.trainer.train)


@dataclass(frozen=True)
class RunTime:
    """When a run started (epoch seconds) and how long it took."""

    started: float
    seconds: float


def train_side_by_side(groups: Sequence[Sequence[TrainRun]], threads: int) -> list[list[RunTime]]:
    """Train every group in its own process of `threads` torch threads, the runs of a
    group one after another; returns each run's timing, in the order given. A failed run
    raises its error here once every group has stopped."""
    context = multiprocessing.get_context("spawn")
    level = logging.getLogger("crossreg").getEffectiveLevel()
    with ProcessPoolExecutor(len(groups), mp_context=context) as pool:
        futures = [pool.submit(_train_group, list(group), threads, level) for group in groups]
        try:
            return [future.result() for future in futures]
        except KeyboardInterrupt:
            _interrupt_workers(futures)
            raise


def _interrupt_workers(futures: Sequence[Future], grace: float = INTERRUPT_GRACE_SECONDS) -> None:
    """After this process was interrupted, stop the trainings as Ctrl-C stops them: a
    terminal's Ctrl-C reached the workers too and ends their runs within `grace`
    seconds; where it did not (a SIGTERM to this process alone: ``kill``, a scheduler),
    the workers get SIGTERM, which they take as Ctrl-C (their finished epochs kept)."""
    _, running = wait(futures, timeout=grace)
    if running:
        for worker in multiprocessing.active_children():
            os.kill(worker.pid, signal.SIGTERM)  # type: ignore[arg-type]


class _RunName(logging.Filter):
    """Puts the name of the run being trained before each message of the ``crossreg``
    logger."""

    def __init__(self) -> None:
        super().__init__()
        self.run = ""

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg, record.args = f"{self.run}: {record.getMessage()}", ()
        return True


def _train_group(runs: list[TrainRun], threads: int, level: int) -> list[RunTime]:
    """In a worker process: set the threads and logging, then train each run in turn
    (SIGTERM stops it as Ctrl-C does)."""
    import torch

    torch.set_num_threads(threads)
    if os.environ.get(MODE_VARIABLE, "").strip().lower() != "off":
        os.environ[MODE_VARIABLE] = "log"
    setup_logging(verbose=level <= logging.DEBUG, quiet=level >= logging.WARNING)
    name = _RunName()
    logging.getLogger("crossreg").addFilter(name)
    times = []
    with sigterm_as_interrupt():
        for run in runs:
            name.run = run.out.name
            started, clock = time.time(), time.perf_counter()
            train(
                run.params,
                run.data,
                run.out,
                run.options,
                resume=run.resume,
                overwrite=run.overwrite,
            )
            times.append(RunTime(started, time.perf_counter() - clock))
    return times
