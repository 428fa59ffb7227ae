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


RELEASE = """
from crossreg.memory import release_free_memory, tune_malloc
def rss():
    return next(int(l.split()[1]) for l in open("/proc/self/status") if l.startswith("VmRSS"))
tuned = tune_malloc()
buffer = bytearray(200 << 20)  # in the heap once tuned, touched page by page
del buffer
kept = rss()
print(tuned, release_free_memory(), (kept - rss()) >> 10)
"""


def test_released_memory_leaves_the_resident_set() -> None:
    # tuned, glibc keeps a freed 200 MiB buffer resident; a build trims its heap after
    # each native call, so that a freed buffer does not count against --memory-gb
    if not sys.platform.startswith("linux"):
        return
    out = subprocess.run([sys.executable, "-c", RELEASE], capture_output=True, text=True)
    tuned, released, mib = out.stdout.split()
    if tuned == "True":
        assert released == "True" and int(mib) >= 150, out.stdout
