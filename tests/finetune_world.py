"""A held-out cell type on the tiny synthetic world: stores without its tracks (for joint
training) and a store of its tracks alone (for a fine-tuned head), as the finetune test
and benchmark use them."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

from crossreg.cli import main
from crossreg.io.targets_read import read_targets
from crossreg.io.targets_write import write_targets
from tests.pipeline import CROP_BINS, SEQ_LENGTH, split_world


def held_out_tables(genome_dir: Path, targets: Path, cell: str) -> tuple[Path, Path]:
    """`targets` split into the tracks of every cell type but `cell` and those of `cell`
    (a description ending in ``:<cell>``), written beside it (``targets_without_<cell>.txt``
    and ``targets_<cell>.txt``)."""
    table = read_targets(targets)
    held = [t for t in table if t.description.split(":")[-1] == cell]
    rest = [t for t in table if t not in held]
    if not held:
        raise ValueError(f"{targets}: no track of cell type '{cell}'")
    paths = genome_dir / f"targets_without_{cell}.txt", genome_dir / f"targets_{cell}.txt"
    for path, chosen in zip(paths, (rest, held), strict=True):
        write_targets(path, [dataclasses.replace(t, index=i) for i, t in enumerate(chosen)])
    return paths


def build_held_out_world(
    root: Path, *, cell: str = "liver", preset: str = "tiny", seed: int = 1
) -> dict[str, Path]:
    """Synthesise a world under `root`, split it, and build dataset stores of 8,192-bp
    windows: ``human`` and ``mouse`` without `cell`'s tracks, and ``held_out``, the human
    tracks of `cell` (a store of genome ``human``)."""
    synth = root / "synth"
    args = ["-q", "synth", "--preset", preset, "--seed", str(seed), "--out", str(synth)]
    assert main(args) == 0
    manifest = json.loads((synth / "manifest.json").read_text())
    genomes = manifest["genomes"]
    split_world(synth, manifest, root / "split")
    stores: dict[str, Path] = {}
    for name, files in genomes.items():
        targets = synth / files["targets"]
        rest, held = held_out_tables(targets.parent, targets, cell)
        tables = {name: rest, "held_out": held} if name == "human" else {name: rest}
        for store, table in tables.items():
            out = root / f"data_{store}"
            args = ["-q", "data", "--genome", name, "--out", str(out), "--targets", str(table)]
            args += ["--fasta", str(synth / files["fasta"])]
            args += ["--regions", str(root / "split" / f"{name}.regions.bed")]
            for kind in ("blacklist", "unmappable", "gaps"):
                args += [f"--{kind}", str(synth / files[kind])]
            args += ["--seq-length", str(SEQ_LENGTH), "--stride", "4096", "--crop", str(CROP_BINS)]
            assert main(args) == 0
            stores[store] = out
    return stores
