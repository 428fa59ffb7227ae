"""``crossreg`` run in a fresh process that reports its own peak resident memory, for the
memory tests and ``benches/bench_data_memory.py``: a child's ``ru_maxrss`` keeps the peak
of the process it was forked from across exec (a test run's, hundreds of MiB), its
``VmHWM`` only its own."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import IO

#: Runs ``crossreg`` with the arguments after the first, which names the file its own
#: ``VmHWM`` (KiB) is written to at exit.
OWN_PEAK = (
    "import atexit, runpy, sys\n"
    "out = sys.argv.pop(1)\n"
    "def note():\n"
    "    hwm = [l.split()[1] for l in open('/proc/self/status') if l.startswith('VmHWM')]\n"
    "    open(out, 'w').write(hwm[0])\n"
    "atexit.register(note)\n"
    "sys.argv[0] = 'crossreg'\n"
    "runpy.run_module('crossreg', run_name='__main__')\n"
)


def crossreg_peak(args: list[str], cwd: Path, stderr: IO[bytes]) -> tuple[int, int]:
    """Run ``crossreg`` with `args` in `cwd` (this process's ``sys.path`` as its
    ``PYTHONPATH``): its exit code and its peak resident memory in bytes."""
    peak = cwd / ".crossreg-peak"
    child = subprocess.run(
        [sys.executable, "-c", OWN_PEAK, str(peak), *args],
        cwd=cwd,
        stderr=stderr,
        env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
    )
    try:
        return child.returncode, int(peak.read_text()) * 1024
    finally:
        peak.unlink(missing_ok=True)
