"""A cell type held out of joint training, then fine-tuned on the trunk: its test R beside
the tracks trained jointly.

On a synthetic world (``--preset``, default tiny) the human and mouse stores are built
without the tracks of ``--cell`` (default liver: DNase, CTCF, HNF4A, H3K27ac, H3K4me3,
CAGE), and a store of the human ``--cell`` tracks alone (``tests/finetune_world.py``). The
demo's model (``crossreg.demo.demo_params``: 8,192-bp windows) is trained jointly on the
first two (``crossreg train``), then ``crossreg finetune`` adds a head for the held-out
tracks in each ``--modes`` (probe: trunk frozen; unfreeze: last block too; lora: rank-4
adapters at learning rate 0.005, since the params' 0.05 diverges), and ``crossreg
evaluate`` scores each on the test windows. The table gives per assay the mean test
Pearson R of the jointly trained human tracks and of the fine-tuned held-out ones, and the
wall time of each training.

    python benches/bench_finetune.py [--preset tiny] [--cell liver] [--joint-epochs 10]
        [--finetune-epochs 10] [--modes probe unfreeze lora] [--out DIR] [--seed 0]
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
import time
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from crossreg.cli import main as crossreg
from crossreg.data.store import DataStore
from crossreg.demo import demo_params
from crossreg.io.assays import assay_of
from tests.finetune_world import build_held_out_world

MODE_ARGS = {
    "probe": ["--mode", "probe"],
    "unfreeze": ["--mode", "unfreeze", "--unfreeze-blocks", "1"],
    "lora": ["--mode", "lora", "--lora-rank", "4", "--learning-rate", "0.005"],
}


def run(argv: list[str]) -> float:
    """Run a crossreg command quietly; its wall time in seconds."""
    start = time.perf_counter()
    if crossreg(["-q", *argv]) != 0:
        raise SystemExit(f"crossreg {' '.join(argv)} failed")
    return time.perf_counter() - start


def mean_r_by_assay(metrics: Path) -> dict[str, tuple[float, int]]:
    """Mean Pearson R and track count per assay of an ``evaluate`` metrics.tsv."""
    values: dict[str, list[float]] = defaultdict(list)
    with open(metrics) as handle:
        for row in csv.DictReader(handle, delimiter="\t"):
            values[assay_of(row["description"])].append(float(row["pearson_r"]))
    return {a: (sum(v) / len(v), len(v)) for a, v in values.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="tiny")
    parser.add_argument("--cell", default="liver")
    parser.add_argument("--joint-epochs", type=int, default=10)
    parser.add_argument("--finetune-epochs", type=int, default=10)
    parser.add_argument("--modes", nargs="+", choices=list(MODE_ARGS), default=list(MODE_ARGS))
    parser.add_argument("--out", type=Path, default=Path("bench-finetune-out"))
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    out = args.out
    out.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    stores = build_held_out_world(out, cell=args.cell, preset=args.preset, seed=args.seed + 1)
    world_seconds = time.perf_counter() - start
    tracks = {g: DataStore(stores[g]).num_targets for g in ("human", "mouse")}
    params = out / "params.json"
    params.write_text(json.dumps(demo_params(tracks)))
    common = ["--seed", str(args.seed), "--no-plots"]
    joint = out / "joint"
    argv = ["train", "--params", str(params), "--out", str(joint), *common]
    argv += ["--data", str(stores["human"]), "--data", str(stores["mouse"])]
    seconds = {"joint": run([*argv, "--max-epochs", str(args.joint_epochs)])}
    run(["evaluate", "--model", str(joint / "best"), "--data", str(stores["human"]),
         "--out", str(out / "eval_joint"), "--no-plots"])  # fmt: skip
    results = {"joint": mean_r_by_assay(out / "eval_joint" / "metrics.tsv")}
    for mode in args.modes:
        run_dir = out / f"finetune_{mode}"
        argv = ["finetune", "--model", str(joint / "best"), "--data", str(stores["held_out"])]
        argv += ["--head-name", args.cell, "--out", str(run_dir), *MODE_ARGS[mode], *common]
        seconds[mode] = run([*argv, "--max-epochs", str(args.finetune_epochs)])
        run(["evaluate", "--model", str(run_dir / "best"), "--data", str(stores["held_out"]),
             "--genome", args.cell, "--out", str(out / f"eval_{mode}"), "--no-plots"])  # fmt: skip
        results[mode] = mean_r_by_assay(out / f"eval_{mode}" / "metrics.tsv")
    print(f"# {args.preset} world, held out: {args.cell}; world and stores {world_seconds:.0f} s")
    columns = ["assay", "joint: human tracks (n)"] + [f"{m}: {args.cell} (n)" for m in args.modes]
    print("| " + " | ".join(columns) + " |")
    print("|" + "---|" * len(columns))
    for assay in sorted(results["joint"]):
        cells = []
        for key in ["joint", *args.modes]:
            r, n = results[key].get(assay, (float("nan"), 0))
            cells.append(f"{r:.3f} ({n})" if n else "–")
        print(f"| {assay} | " + " | ".join(cells) + " |")
    print("| training wall time | " + " | ".join(f"{seconds[k]:.0f} s" for k in seconds) + " |")


if __name__ == "__main__":
    main()
