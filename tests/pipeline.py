"""A small end-to-end dataset for training tests: synth tiny → split → one store per genome."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np

from crossreg.cli import main

SEQ_LENGTH = 8192
CROP_BINS = 8


def small_params(tracks: dict[str, int], *, dropout: float = 0.1) -> dict:
    """A Basenji2-shaped params dict scaled down to 8,192 bp and a few thousand weights."""
    model = {
        "seq_length": SEQ_LENGTH,
        "activation": "gelu",
        "norm_type": "batch",
        "bn_momentum": 0.9,
        "trunk": [
            {"name": "conv_block", "filters": 16, "kernel_size": 15, "pool_size": 2},
            {
                "name": "conv_tower",
                "filters_init": 16,
                "filters_mult": 1.1,
                "kernel_size": 5,
                "pool_size": 2,
                "repeat": 6,
            },
            {
                "name": "dilated_residual",
                "filters": 12,
                "rate_mult": 1.5,
                "repeat": 2,
                "dropout": dropout,
                "round": True,
            },
            {"name": "Cropping1D", "cropping": CROP_BINS},
            {"name": "conv_block", "filters": 32, "dropout": dropout / 2},
        ],
    }
    for genome, units in tracks.items():
        model[f"head_{genome}"] = {"name": "final", "units": units, "activation": "softplus"}
    train = {"batch_size": 4, "optimizer": "adam", "learning_rate": 0.002, "patience": 3}
    return {"train": train, "model": model}


def split_world(synth: Path, manifest: dict, out: Path) -> None:
    """``crossreg split`` of a synthetic world (every genome, every pairwise net) into
    `out`, with the tiny worlds' 50-kbp regions joined above 10 kbp."""
    args = ["-q", "split", "--out", str(out), "--region-size", "50000", "--min-aligned", "10000"]
    for name, files in manifest["genomes"].items():
        args += ["--sizes", f"{name}={synth / files['sizes']}"]
    for net in manifest["nets"]:
        args += ["--net", f"{','.join(net['genomes'])}={synth / net['file']}"]
    assert main(args) == 0


def build_tiny_stores(root: Path, seed: int = 1) -> dict[str, Path]:
    """Synthesise the tiny world under `root` and build a dataset store per genome."""
    synth = root / "synth"
    assert main(["-q", "synth", "--preset", "tiny", "--seed", str(seed), "--out", str(synth)]) == 0
    manifest = json.loads((synth / "manifest.json").read_text())
    genomes = manifest["genomes"]
    split_world(synth, manifest, root / "split")
    stores = {}
    for name, files in genomes.items():
        out = root / f"data_{name}"
        args = ["-q", "data", "--genome", name, "--out", str(out)]
        args += ["--fasta", str(synth / files["fasta"]), "--targets", str(synth / files["targets"])]
        args += ["--regions", str(root / "split" / f"{name}.regions.bed")]
        args += ["--blacklist", str(synth / files["blacklist"])]
        args += [
            "--unmappable",
            str(synth / files["unmappable"]),
            "--gaps",
            str(synth / files["gaps"]),
        ]
        args += ["--seq-length", str(SEQ_LENGTH), "--stride", "4096", "--crop", str(CROP_BINS)]
        assert main(args) == 0
        stores[name] = out
    return stores


def rebuilt_store(store: Path, out: Path, *options: str) -> Path:
    """The store `store` built again into `out` from its inputs with other ``crossreg
    data`` `options` (``--stride 8192``, ``--pool-width 32``)."""
    meta = json.loads((store / "dataset.json").read_text())
    inputs = meta["inputs"]
    args = ["-q", "data", "--genome", meta["genome"], "--out", str(out)]
    args += ["--fasta", inputs["fasta"], "--targets", inputs["targets"]]
    args += ["--regions", inputs["regions"], "--gaps", inputs["gaps"]]
    args += ["--unmappable", inputs["unmappable"], "--blacklist", *inputs["blacklist"]]
    args += ["--seq-length", str(meta["seq_length"]), "--crop", str(meta["crop_bins"])]
    assert main([*args, *options]) == 0
    return out


def run_in_one_and_two_processes(args: list[str], root: Path) -> tuple[Path, Path]:
    """``crossreg ARGS --out ROOT/one`` in one process, then ``--out ROOT/two`` under
    torchrun with two gloo processes (one thread each); returns the two output folders."""
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1"}
    one = [sys.executable, "-m", "crossreg", "-q", *args, "--out", str(root / "one")]
    subprocess.run(one, check=True, env=env, capture_output=True)
    two = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", "2"]
    two += ["-m", "crossreg", "-q", *args, "--out", str(root / "two")]
    result = subprocess.run(two, env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-3000:]
    return root / "one", root / "two"


def untrained_checkpoint(folder: Path, store: Path) -> tuple[Any, dict, list]:
    """A checkpoint at `folder` of one untrained human head (torch seed 0) for the tracks
    of the human dataset `store`: the model, its params and the store's targets."""
    import torch

    from crossreg.data.store import DataStore
    from crossreg.model.checkpoint import make_config, save_checkpoint
    from crossreg.model.params import parse_params
    from crossreg.model.seqnn import SeqNN

    targets = list(DataStore(store).table.targets)
    params = small_params({"human": len(targets)})
    torch.manual_seed(0)
    model = SeqNN(parse_params(params).model)
    save_checkpoint(folder, model, make_config(model, params, {"human": targets}))
    return model, params, targets


def small_ism_world(root: Path, seed: int) -> Path:
    """`root` with ``genome.fa``, a random chr1 of three model windows (numpy seed `seed`),
    and ``model/``, an untrained one-head (human) model of tracks T0-T2 (torch seed 5),
    as ``crossreg ism`` reads them."""
    import numpy as np
    import torch

    from crossreg.io.targets import Target
    from crossreg.model.checkpoint import make_config, save_checkpoint
    from crossreg.model.params import parse_params
    from crossreg.model.seqnn import SeqNN

    rng = np.random.default_rng(seed)
    seq = "".join("ACGT"[i] for i in rng.integers(0, 4, 3 * SEQ_LENGTH))
    (root / "genome.fa").write_text(f">chr1\n{seq}\n")
    params = small_params({"human": 3}, dropout=0.0)
    model = SeqNN(parse_params(params).model, generator=torch.Generator().manual_seed(5)).eval()
    targets = [Target(i, f"T{i}", (f"t{i}.bw",), 32.0, 1.0, "sum", f"t:{i}") for i in range(3)]
    save_checkpoint(root / "model", model, make_config(model, params, {"human": targets}))
    return root


def within_float16_rounding(mine: np.ndarray, theirs: np.ndarray) -> bool:
    """Scores that differ from `theirs` by at most 2 float16 steps at their largest (NaN
    where they are NaN): a score is a difference of predictions, whose float32 rounding,
    which batching changes, is that of the predictions, not of the (smaller) score."""
    step = float(np.spacing(np.float16(np.nanmax(np.abs(theirs)))))
    diff = np.abs(mine.astype(np.float32) - theirs.astype(np.float32))
    return bool(np.all((diff <= 2 * step) | np.isnan(diff)))
