"""Time and peak memory of writing each synthetic-world preset.

Each preset runs in a fresh ``crossreg synth`` process; its peak resident memory is the
``ru_maxrss`` that ``os.wait4`` reports for that process alone. Usage::

    .venv/bin/python benches/bench_synth.py [PRESET ...]   # default: mini small
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def measure(preset: str, seed: int = 0) -> tuple[float, float, float]:
    """Wall seconds, peak RSS (MiB) and bytes written (MiB) of one preset."""
    with tempfile.TemporaryDirectory(prefix=f"synth-{preset}-") as tmp:
        began = time.perf_counter()
        child = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "crossreg",
                "-q",
                "synth",
                "--preset",
                preset,
                "--seed",
                str(seed),
                "--out",
                tmp,
            ]
        )
        _, status, usage = os.wait4(child.pid, 0)
        wall = time.perf_counter() - began
        child.returncode = os.waitstatus_to_exitcode(status)
        if child.returncode != 0:
            raise RuntimeError(f"crossreg synth --preset {preset} failed ({child.returncode})")
        peak = usage.ru_maxrss  # KiB on Linux, of this child alone
        size = sum(p.stat().st_size for p in Path(tmp).rglob("*") if p.is_file())
    return wall, peak / 1024, size / 2**20


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "presets", nargs="*", choices=["tiny", "mini", "small"], default=["mini", "small"]
    )
    presets = parser.parse_args().presets
    print("preset\twall_s\tpeak_rss_mib\toutput_mib")
    for preset in presets:
        wall, peak, size = measure(preset)
        print(f"{preset}\t{wall:.1f}\t{peak:.0f}\t{size:.0f}", flush=True)


if __name__ == "__main__":
    main()
