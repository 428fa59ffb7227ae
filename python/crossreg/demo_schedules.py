"""How long ``crossreg demo`` (:mod:`crossreg.demo`) trains each model: the joint model
its ``--epochs`` and patience, each single-genome model as many steps as the joint trunk
(its epochs scaled by the batches of its store), and the epoch cap of each for a resume."""

from __future__ import annotations

import json
from pathlib import Path

from crossreg.data.store import DataStore
from crossreg.demo_settings import JOINT, WORLD, DemoSettings
from crossreg.demo_stores import store_path
from crossreg.synth.world import MANIFEST


def single_genome_schedules(
    settings: DemoSettings, batches: dict[str, int]
) -> dict[str, tuple[int, int]]:
    """Maximum epochs and patience of each genome's single-genome model (`batches`: each
    genome's training batches per epoch): the joint model's, scaled by how many more steps
    a joint epoch takes (it holds every genome's batches), so that a single-genome model
    may take as many steps as the joint trunk and waits as many for a better validation
    score before it stops. Without the scaling a capped single-genome model trains half
    the joint trunk's steps, and the comparison credits joint training with steps."""

    def per_epoch(n: int) -> int:
        return min(n, settings.steps_per_epoch) if settings.steps_per_epoch else n

    joint = per_epoch(sum(batches.values()))
    return {
        genome: (
            max(1, round(settings.max_epochs * joint / per_epoch(n))),
            max(1, round(settings.patience * joint / per_epoch(n))),
        )
        for genome, n in batches.items()
    }


def epoch_caps(settings: DemoSettings, batches: dict[str, int]) -> dict[str, int]:
    """The most epochs each model of a demo trains under `settings`: the joint model's
    ``--epochs``, a single-genome model's scaled as :func:`single_genome_schedules` scales
    it (only where `batches`, each genome's training batches per epoch, are known)."""
    caps = {JOINT: settings.max_epochs}
    if batches:
        caps.update({g: cap for g, (cap, _) in single_genome_schedules(settings, batches).items()})
    return caps


def train_batches(store: Path, settings: DemoSettings) -> int:
    """Training batches per epoch of `store` (whole batches, as training draws them)."""
    return DataStore(store).window_counts["train"] // settings.batch_size


def store_batches(out: Path, settings: DemoSettings) -> dict[str, int]:
    """Training batches per epoch of each genome's store in the demo in `out`; none until
    the world and every genome's store are there."""
    try:
        genomes = json.loads((out / WORLD / MANIFEST).read_text())["genomes"]
    except (OSError, ValueError, KeyError, TypeError):
        return {}  # no world yet, or a damaged one: the world's own check names it
    stores = {g: store_path(out, g, "targets") for g in genomes}
    if not all((store / "dataset.json").is_file() for store in stores.values()):
        return {}
    return {g: train_batches(store, settings) for g, store in stores.items()}
