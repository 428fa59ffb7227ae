"""Python run in a fresh process that reports its own peak resident memory, for the
memory tests and benches: a child's ``ru_maxrss`` keeps the peak of the process it was
forked from across exec (a test run's, hundreds of MiB), its ``VmHWM`` only its own."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import IO

#: Runs the code given as its second argument with the arguments after it, after the
#: first, which names the file its own ``VmHWM`` (KiB) is written to at exit.
OWN_PEAK = (
    "import atexit, sys\n"
    "out = sys.argv.pop(1)\n"
    "code = sys.argv.pop(1)\n"
    "def note():\n"
    "    hwm = [l.split()[1] for l in open('/proc/self/status') if l.startswith('VmHWM')]\n"
    "    open(out, 'w').write(hwm[0])\n"
    "atexit.register(note)\n"
    "exec(compile(code, '<measured>', 'exec'), {'__name__': '__measured__'})\n"
)

#: The code that runs ``crossreg`` with ``sys.argv[1:]``.
CROSSREG = (
    "import runpy, sys\n"
    "sys.argv[0] = 'crossreg'\n"
    "runpy.run_module('crossreg', run_name='__main__')\n"
)


def python_peak(
    code: str,
    args: list[str],
    cwd: Path,
    stderr: IO[bytes] | None = None,
    preexec_fn: Callable[[], None] | None = None,
) -> tuple[int, int]:
    """Run Python `code` with `args` as ``sys.argv[1:]`` in `cwd` (this process's
    ``sys.path`` as its ``PYTHONPATH``): its exit code and its peak resident memory in
    bytes."""
    peak = cwd / f".peak-{os.getpid()}"
    child = subprocess.run(
        [sys.executable, "-c", OWN_PEAK, str(peak), code, *args],
        cwd=cwd,
        stdout=subprocess.DEVNULL,
        stderr=stderr,
        preexec_fn=preexec_fn,
        env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
    )
    try:
        return child.returncode, int(peak.read_text()) * 1024
    finally:
        peak.unlink(missing_ok=True)


def crossreg_peak(args: list[str], cwd: Path, stderr: IO[bytes]) -> tuple[int, int]:
    """Run ``crossreg`` with `args` in `cwd`: its exit code and peak memory in bytes."""
    return python_peak(CROSSREG, args, cwd, stderr)
