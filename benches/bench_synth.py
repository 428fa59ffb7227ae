"""Time and peak memory of writing each synthetic-world preset.

Each preset runs in a fresh ``crossreg synth`` process, whose own peak resident memory
(``VmHWM``, :mod:`tests.own_peak`) is reported. Usage::

    .venv/bin/python benches/bench_synth.py [PRESET ...]   # default: mini small
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # as a script, benches/ is first

from tests.own_peak import crossreg_peak


def measure(preset: str, seed: int = 0) -> tuple[float, float, float]:
    """Wall seconds, peak RSS (MiB) and bytes written (MiB) of one preset."""
    with tempfile.TemporaryDirectory(prefix=f"synth-{preset}-") as tmp:
        world = Path(tmp) / "world"
        began = time.perf_counter()
        code, peak = crossreg_peak(
            ["-q", "synth", "--preset", preset, "--seed", str(seed), "--out", str(world)],
            Path(tmp),
            sys.stderr.buffer,
        )
        wall = time.perf_counter() - began
        if code != 0:
            raise RuntimeError(f"crossreg synth --preset {preset} failed ({code})")
        size = sum(p.stat().st_size for p in world.rglob("*") if p.is_file())
    return wall, peak / 2**20, size / 2**20


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
