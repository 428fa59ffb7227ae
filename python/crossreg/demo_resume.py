"""Whether ``crossreg demo --resume`` (:mod:`crossreg.demo`) may continue the run in its
folder: refused on a world made with other settings or on models trained past the epochs
the settings allow; and whether the run there finished with these settings."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

from crossreg.demo_schedules import epoch_caps, store_batches
from crossreg.demo_settings import MODELS, DemoSettings, model_dir
from crossreg.errors import CommandError
from crossreg.io.changes import changes
from crossreg.synth.world import MANIFEST
from crossreg.train.state import JSON_FILE


def _check_world(synth: Path, manifest: dict, settings: DemoSettings) -> None:
    """Refuse to resume on a world (`synth`, its `manifest`) made with another preset, seed
    or number of genomes, naming each as its option (:mod:`crossreg.io.changes`)."""
    made = {
        "preset": manifest.get("preset"),
        "seed": manifest.get("seed"),
        "genomes": len(manifest.get("genomes", ())),
    }
    wanted = {"preset": settings.preset, "seed": settings.seed, "genomes": settings.genomes}
    changed = changes(made, wanted, {})
    if changed:
        raise CommandError(
            f"--resume: {synth} holds a world made with other settings ({'; '.join(changed)}):"
            " resume with the settings of the stopped run, or give another --out"
        )


def _check_trained_epochs(out: Path, settings: DemoSettings) -> None:
    """Refuse to resume a demo whose models (``out/models/<run>/last``) have trained more
    epochs than `settings` allow them (:func:`epoch_caps`): they would be kept as they are
    while the summary records the smaller number (the trainings' own resume refuses it
    too, after the earlier steps)."""
    batches = store_batches(out, settings)
    caps = epoch_caps(settings, batches)
    for last in sorted((out / MODELS).glob(f"*/last/{JSON_FILE}")):
        try:
            epoch = int(json.loads(last.read_text())["extra"]["run"]["epoch"])
        except (OSError, ValueError, KeyError, TypeError):
            continue  # damaged: the training's resume names what is wrong with it
        run = last.parent.parent
        cap = caps.get(run.name)
        if cap is not None and epoch > cap:
            needed = next(
                n
                for n in range(settings.max_epochs + 1, epoch + 1)
                if epoch_caps(replace(settings, max_epochs=n), batches).get(run.name, 0) >= epoch
            )
            raise CommandError(
                f"--resume: the model {run} has trained {epoch} epochs, more than the "
                f"{cap} that --epochs {settings.max_epochs} allows it: resume with --epochs "
                f"{needed} or more, or give another --out"
            )


def check_resumable(out: Path, synth: Path, settings: DemoSettings) -> None:
    """Refuse, before anything in `out` is removed or written, to resume on models that
    trained more epochs or a world (`synth`) made with other settings."""
    _check_trained_epochs(out, settings)
    if (synth / MANIFEST).exists():
        _check_world(synth, json.loads((synth / MANIFEST).read_text()), settings)


def finished_with(out: Path, settings: DemoSettings) -> bool:
    """Whether the demo in `out` finished with `settings`: its ``summary.json``, written
    last, records them (a stopped run, or one stopped after a finished one with other
    settings, such as more --epochs, records other settings or none)."""
    try:
        recorded = json.loads((out / "summary.json").read_text())
    except (OSError, ValueError):
        return False
    now = json.loads(json.dumps(settings.__dict__))
    if not isinstance(recorded, dict) or recorded.get("settings") != now:
        return False
    return _models_trained_to_caps(out, settings)


def _models_trained_to_caps(out: Path, settings: DemoSettings) -> bool:
    """Whether each model in `out` was trained with the epoch cap `settings` give it
    (:func:`epoch_caps`; its ``train_options.json``): not a single-genome model a version
    of the demo trained to the joint model's cap, which a resume trains on."""
    for run, cap in epoch_caps(settings, store_batches(out, settings)).items():
        recorded = model_dir(out, run) / "train_options.json"
        try:
            trained = json.loads(recorded.read_text()) if recorded.exists() else {}
        except (OSError, ValueError):
            return False
        if not isinstance(trained, dict) or trained.get("max_epochs", cap) != cap:
            return False
    return True
