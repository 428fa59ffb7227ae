"""glibc's allocator tuned for CPU inference: applied on glibc, skipped when asked."""

from __future__ import annotations

import subprocess
import sys

CHILD = "from crossreg.memory import tune_malloc; print(tune_malloc())"


def test_tune_malloc_takes_on_glibc_and_can_be_turned_off() -> None:
    env = {"PATH": "/usr/bin:/bin"}
    tuned = subprocess.run([sys.executable, "-c", CHILD], capture_output=True, text=True, env=env)
    libc = subprocess.run(["ldd", "--version"], capture_output=True, text=True)
    on_glibc = "GLIBC" in (libc.stdout + libc.stderr).upper()
    assert tuned.stdout.strip() == str(on_glibc)
    off = subprocess.run(
        [sys.executable, "-c", CHILD],
        capture_output=True,
        text=True,
        env={**env, "CROSSREG_MALLOC": "default"},
    )
    assert off.stdout.strip() == "False"
