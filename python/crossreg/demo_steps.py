"""How ``crossreg demo`` (:mod:`crossreg.demo`) runs each step: numbered and logged as the
``crossreg`` command line that does it alone, recorded in its output folder's run log, and,
on a resumed demo, kept or continued where the stopped run left it."""

from __future__ import annotations

import logging
import shlex
import shutil
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import torch

from crossreg.devices import usable_cores
from crossreg.evaluate.accuracy import evaluate_model
from crossreg.evaluate.checkpoint import checkpoint_dir as evaluation_checkpoint
from crossreg.io.partial import left_over
from crossreg.io.partial import remove as remove_partial
from crossreg.model.inference import InferenceOptions
from crossreg.runlog import output_folder, record_run
from crossreg.stats.sldp.checkpoint import checkpoint_dir
from crossreg.stats.sldp.run import write_sldp
from crossreg.train.side_by_side import TrainRun, train_side_by_side
from crossreg.train.trainer import train
from crossreg.variants.chunk_store import partial_dir
from crossreg.variants.ism import write_ism
from crossreg.variants.sad import write_sad

log = logging.getLogger("crossreg")


@dataclass
class StepCounter:
    """Which step of how many the demo is on, the demo's folder, whether the demo
    resumed there had finished (rather than stopped), and what to call after each step."""

    total: int
    folder: Path
    finished: bool = False
    after_step: Callable[[], None] | None = None
    done: int = 0


_counter: StepCounter | None = None


@contextmanager
def counting(
    total: int,
    folder: Path,
    *,
    finished: bool = False,
    after_step: Callable[[], None] | None = None,
) -> Iterator[None]:
    """Number the steps run inside (``[k/total]``) and record the run log of a step
    without ``--out`` in `folder`, the demo's; `finished`: the demo resumed in `folder`
    had finished with these settings; `after_step` is called once each step is recorded
    (the demo saves its time, :mod:`crossreg.demo_clock`)."""
    global _counter
    _counter = StepCounter(total, folder, finished, after_step)
    try:
        yield
    finally:
        _counter = None


def run_step(argv: list[str], step: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """Log which step of the demo this is (``[k/N] command name``) and `argv` as the
    ``crossreg`` command line that does this step alone, then run `step` with the same
    settings (its own progress follows) and record the command and its time in its output
    folder's run log (:mod:`crossreg.runlog`)."""
    announce(argv)
    started, clock = time.time(), time.perf_counter()
    result = step(*args, **kwargs)
    record(argv, started, time.perf_counter() - clock)
    return result


def announce(argv: list[str]) -> None:
    """Log ``[k/N] command name`` and the command line of the step `argv`."""
    if _counter is not None:
        _counter.done += 1
        name = argv[0]
        if "--out" in argv:
            folder = Path(argv[argv.index("--out") + 1]).name
            name += f" {folder}" if folder != argv[0] else ""
        log.info("[%d/%d] %s", _counter.done, _counter.total, name)
    log.info("$ crossreg %s", shlex.join(argv))


def record(argv: list[str], started: float, seconds: float) -> None:
    """Record the step `argv` and its time in the run log of the step's output folder, as
    the command alone would (the demo folder's for a step without ``--out``)."""
    if _counter is not None:
        folder = _counter.folder
        if "--out" in argv:
            folder = output_folder(argv[argv.index("--out") + 1])
        record_run(folder, argv, started, seconds)
        if _counter.after_step is not None:
            _counter.after_step()


def keep(argv: list[str], output: Path) -> None:
    """Count the step `argv` as done: a resumed run keeps its `output` from before (from
    the stopped run, or, where the demo had finished, as the steps' own ``--resume`` of a
    finished output says: nothing to do)."""
    announce(argv)
    if _counter is not None and _counter.finished:
        log.info("%s is complete for these settings; nothing to do", output)
    else:
        log.info("kept from the stopped run: %s", output)


def written_after(output: Path, model: Path) -> bool:
    """Whether `output` was last written after every file of the checkpoint `model`."""
    newest = max(p.stat().st_mtime_ns for p in model.iterdir() if p.is_file())
    return output.stat().st_mtime_ns >= newest


def continued(argv: list[str], partial: Path, model: Path, resume: bool) -> tuple[list[str], bool]:
    """`argv` with ``--resume``, and True, when `resume` and the checkpoint folder `partial`
    was written after the model's last save; otherwise `partial`, if any, is removed (the
    step starts afresh) and `argv` is returned as it was, with False."""
    if left_over(partial) and not (resume and written_after(partial, model)):
        log.info("%s is not continued: scoring again", partial)
        remove_partial(partial)
    if not left_over(partial):
        return argv, False
    return [*argv, "--resume"], True


def evaluate_step(
    argv: list[str], model: Path, store: Path, folder: Path, genome: str, resume: bool
) -> Any:
    """``crossreg evaluate`` of `model` on `store` into `folder`; with `resume`, a run
    stopped midway continues from its checkpoint, unless the model was saved again since;
    a stopped run that is not resumed (or predates the model) is scored afresh, as a
    finished one always is. Returns the per-track table."""
    argv, interrupted = continued(argv, evaluation_checkpoint(folder), model, resume)
    return run_step(argv, evaluate_model, model, store, folder, head=genome, resume=interrupted)


def sad_step(
    argv: list[str],
    model: Path,
    fasta: Path,
    vcf: Path,
    table: Path,
    head: str,
    variants_genome: str,
    options: InferenceOptions,
    resume: bool,
) -> None:
    """``crossreg sad`` of `vcf` (of the genome `variants_genome`) with `head` into `table`;
    with `resume`, a finished table is kept and an interrupted one continues from its last
    finished chunk, unless the model was saved again since (a resumed training that ran
    more epochs): then it is scored afresh."""
    partial = partial_dir(table)
    if resume and left_over(partial) and not written_after(partial, model):
        log.info("%s predates the model's last save: scoring again", partial)
        remove_partial(partial)
    if resume and table.exists():
        if written_after(table, model):
            keep(argv, table)
            return
        log.info("%s predates the model's last save: scoring again", table)
        table.unlink()
    interrupted = resume and left_over(partial)
    if interrupted:
        argv = [*argv, "--resume"]
    run_step(
        argv,
        write_sad,
        model,
        fasta,
        vcf,
        table,
        head=head,
        variants_genome=variants_genome,
        options=options,
        resume=interrupted,
    )


def ism_step(
    argv: list[str], model: Path, table: Path, resume: bool, *args: Any, **kwargs: Any
) -> None:
    """``crossreg ism`` into `table` (:func:`write_ism` of `model`, `args` and `kwargs`);
    with `resume`, a run stopped in its sites continues from its finished chunks, unless
    the model was saved again since; a stopped run that is not resumed (or predates the
    model) is scored afresh, as a finished table always is (the step takes seconds)."""
    argv, interrupted = continued(argv, partial_dir(table), model, resume)
    run_step(argv, write_ism, model, *args, resume=interrupted, **kwargs)


def sldp_step(
    argv: list[str], out: Path, tables: Sequence[Path], resume: bool, *args: Any, **kwargs: Any
) -> None:
    """``crossreg sldp`` into `out` (:func:`write_sldp` of `args` and `kwargs`); with
    `resume`, a run stopped in its block pass continues from its finished chromosomes,
    unless one of the SAD `tables` it reads was written since (scored again by the resumed
    demo): then the pass starts afresh."""
    checkpoint = checkpoint_dir(out)
    if resume and checkpoint.exists():
        made = checkpoint.stat().st_mtime_ns
        if any(table.stat().st_mtime_ns > made for table in tables):
            log.info("%s predates the SAD tables it read: computing again", checkpoint)
            shutil.rmtree(checkpoint)
    interrupted = resume and checkpoint.exists()
    if interrupted:
        argv = [*argv, "--resume"]
    run_step(argv, write_sldp, *args, out, resume=interrupted, **kwargs)


def train_models(jobs: dict[str, tuple[list[str], TrainRun]], resume: bool) -> None:
    """Train the joint and single-genome models (`jobs`: run name -> command line and run,
    the joint run first). On a GPU, one after another. On a CPU of two or more cores, all
    at once, each in its own process with an equal share of the cores (at least one
    thread: three single-threaded runs share two cores), which is faster than one after
    another with every core, and than two processes that leave a core idle once the joint
    model is done (the single-genome models train as many steps as it does). With
    `resume`, each run that finished an epoch before continues from it (``--resume``); a
    run that replaces an earlier one logs its command line with ``--overwrite``, which it
    takes alone too."""
    jobs = {
        name: ([*argv, "--resume"], replace(run, resume=True, overwrite=False))
        if resume and (run.out / "last").is_dir()
        else ([*argv, "--overwrite"] if run.overwrite else argv, run)
        for name, (argv, run) in jobs.items()
    }
    cores = usable_cores()
    if torch.cuda.is_available() or cores < 2 or len(jobs) < 2:
        for argv, run in jobs.values():
            run_step(
                argv,
                train,
                run.params,
                list(run.data),
                run.out,
                run.options,
                resume=run.resume,
                overwrite=run.overwrite,
            )
        return
    for argv, _ in jobs.values():
        announce(argv)
    runs = [run for _, run in jobs.values()]
    times = train_side_by_side([[run] for run in runs], threads=max(1, cores // len(runs)))
    for (argv, _), timing in zip(jobs.values(), [t for group in times for t in group], strict=True):
        record(argv, timing.started, timing.seconds)
