"""CPU forward passes of the demo's model with glibc's default allocator and with
``crossreg.memory.tune_malloc`` (what the ``crossreg`` command applies at start).

Each setting runs in a fresh process (mallopt cannot be undone), one torch thread, a batch
of 32 random 8,192-bp windows, 4 timed forwards after one warm-up; prints seconds, minor
page faults and kernel time, and the ratio.

    python benches/bench_malloc.py [--batch 32] [--repeats 3]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys

CHILD = """
import json, resource, sys, time
import torch
from crossreg.memory import tune_malloc
tuned = sys.argv[1] == "tuned" and tune_malloc()
torch.set_num_threads(1)
from crossreg.demo import demo_params
from crossreg.model.params import parse_params
from crossreg.model.seqnn import SeqNN
model = SeqNN(parse_params(demo_params({"human": 24, "mouse": 24})).model).eval()
x = torch.rand(int(sys.argv[2]), 8192, 4)
with torch.inference_mode():
    model(x, "human")
    before, start = resource.getrusage(resource.RUSAGE_SELF), time.perf_counter()
    for _ in range(4):
        model(x, "human")
    seconds, after = time.perf_counter() - start, resource.getrusage(resource.RUSAGE_SELF)
print(json.dumps({"tuned": tuned, "seconds": seconds, "faults": after.ru_minflt - before.ru_minflt,
                  "kernel": after.ru_stime - before.ru_stime}))
"""


def run(mode: str, batch: int) -> dict:
    """One child process's measurement."""
    done = subprocess.run(
        [sys.executable, "-c", CHILD, mode, str(batch)], capture_output=True, text=True, check=True
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    best: dict[str, dict] = {}
    for _ in range(args.repeats):  # interleaved, best of N
        for mode in ("default", "tuned"):
            got = run(mode, args.batch)
            if mode not in best or got["seconds"] < best[mode]["seconds"]:
                best[mode] = got
    for mode, got in best.items():
        print(
            f"{mode:8s} 4 forwards of {args.batch} windows: {got['seconds']:.2f} s, "
            f"{got['faults']:,} minor faults, {got['kernel']:.2f} s in the kernel"
        )
    print(f"default / tuned: {best['default']['seconds'] / best['tuned']['seconds']:.2f}x")


if __name__ == "__main__":
    main()
