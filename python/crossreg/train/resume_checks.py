"""Checks that ``crossreg train --resume`` continues the run that wrote ``last/``.

A resumed run must take the steps one uninterrupted run would: the same params, heads,
tracks, fine-tuning parent and step options (:data:`STEP_OPTIONS`), the same stores
(:func:`store_fingerprint`), and the phase options (:data:`PHASE_OPTIONS`) of every phase
that had finished. Each check raises :class:`ValueError` naming what differs and the fix.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from crossreg.data.store import DataStore
from crossreg.io.changes import Option, change, changes
from crossreg.model.checkpoint import CheckpointConfig
from crossreg.train.early_stopping import EarlyStopping
from crossreg.train.store_identity import fingerprint_differences, store_fingerprint

log = logging.getLogger("crossreg")

#: The options that decide the steps a run takes: a resume must keep them (with their
#: command-line flags and the words for one left unset, for the message that says so:
#: :mod:`crossreg.io.changes`).
STEP_OPTIONS = {
    "batch_size": Option("--batch-size"),
    "clip_norm": Option("--clip-norm"),
    "clip_mode": Option("--clip-mode"),
    "augment_rc": Option("--augment-rc"),
    "augment_shift": Option("--augment-shift"),
    "steps_per_epoch": Option("--steps-per-epoch", unset="every training window once"),
    "gelu_form": Option("--gelu"),
    "seed": Option("--seed"),
    "heads": Option("--head", unset="head_<genome> for each store", each=True),
    "valid_fold": Option("--valid-fold"),
    "test_fold": Option("--test-fold"),
}
#: Options that decide when a phase ends: a resume may change them only for the phase that
#: was running (a finished phase's last weights are not kept).
PHASE_OPTIONS = {
    "max_epochs": "--max-epochs",
    "min_epochs": "--min-epochs",
    "patience": "--patience",
    "finetune_epochs": "--finetune-epochs",
}
#: Entries of a checkpoint's ``extra`` settings that follow from the others.
DERIVED_EXTRA = ("trained", "branch", "parent_heads")
#: The options that set a fine-tuning's ``extra`` settings, for the message that names them
#: (another setting, one that follows from these, is named by its key).
EXTRA_FLAGS = {
    "mode": Option("--mode"),
    "unfreeze_blocks": Option("--unfreeze-blocks"),
    "lora_rank": Option("--lora-rank"),
    "lora_alpha": Option("--lora-alpha"),
    "head": Option("--head-name"),
}
FIX = "resume with the settings the run started with, or train into a new --out"


def check_same_run(
    last: Path,
    saved: CheckpointConfig,
    now: CheckpointConfig,
    options: Mapping[str, Any],
    learning_rate: str = "train.learning_rate",
) -> None:
    """Stop when the run in `last` (its config `saved`) had other params, heads, tracks,
    fine-tuning settings or step options (:data:`STEP_OPTIONS`) than this one (the config
    `now` it would save, its train `options`): resumed, it would not take the steps of one
    uninterrupted run. `learning_rate` is where the run's learning rate is set (a params
    key, or the option that replaces the params', as fine-tuning's ``--learning-rate``),
    for the message that names it."""
    # the parent and a fine-tuning's settings first: the new head's params entry and
    # tracks follow from them (another --head-name is named so, not by its params key)
    _check_parent(last, saved, now)
    _check_extra(last, saved.extra, now.extra)
    _check_params(last, saved, now, learning_rate)
    _check_heads(last, saved, now)
    before = saved.extra.get("train_options", {})
    kept = [key for key in STEP_OPTIONS if key in before]  # an earlier crossreg's lacks some
    then, given = ({key: _as_given(key, o[key]) for key in kept} for o in (before, options))
    changed = changes(then, given, STEP_OPTIONS)
    if changed:
        raise ValueError(
            f"--resume: {last} was trained with other settings ({'; '.join(changed)}); {FIX}"
        )


def _as_given(key: str, value: Any) -> Any:
    """A step option as the command line gives it: the heads (genome → head) as
    ``GENOME=HEAD`` of each ``--head``."""
    if key == "heads" and isinstance(value, Mapping):
        return [f"{genome}={head}" for genome, head in value.items()]
    return value


def _check_params(
    last: Path, saved: CheckpointConfig, now: CheckpointConfig, learning_rate: str
) -> None:
    """The params sections are the same; a learning rate set by an option
    (`learning_rate`, ``--learning-rate``) is named by it."""
    for section in ("model", "train"):
        before, after = saved.params.get(section, {}), now.params.get(section, {})
        changed = sorted(k for k in before.keys() | after.keys() if before.get(k) != after.get(k))
        if section == "train" and changed == ["learning_rate"] and learning_rate.startswith("--"):
            rate = change(Option(learning_rate), before.get(changed[0]), after.get(changed[0]))
            raise ValueError(f"--resume: {last} was trained with other settings ({rate}); {FIX}")
        if changed:
            keys = ", ".join(
                f"{section}.{k}{_values_text(before.get(k), after.get(k))}" for k in changed
            )
            raise ValueError(f"--resume: {last} was trained with other params ({keys}); {FIX}")


def _check_parent(last: Path, saved: CheckpointConfig, now: CheckpointConfig) -> None:
    """A fine-tuning's parent checkpoint holds the same weights."""
    parent_before, parent_now = saved.source.get("parent", {}), now.source.get("parent", {})
    if parent_before.get("sha256") != parent_now.get("sha256"):  # a fine-tuning's parent
        raise ValueError(
            f"--resume: {last} fine-tunes the checkpoint {parent_before.get('path')}, and "
            f"this run's --model {parent_now.get('path')} holds other weights; {FIX}"
        )


def _values_text(before: object, after: object) -> str:
    """`` 0.002 there, 0.1 here`` for a changed params value that is a number, a string
    or absent (``None``); nothing for a block or list, too long to show."""
    if isinstance(before, (dict, list)) or isinstance(after, (dict, list)):
        return ""
    return f" {before} there, {after} here"


def _heads_text(genomes: Mapping[str, str]) -> str:
    return ", ".join(f"{genome} ({key})" for genome, key in genomes.items())


def _check_heads(last: Path, saved: CheckpointConfig, now: CheckpointConfig) -> None:
    """The heads come in the same order (it decides the steps) with the same tracks."""
    if list(saved.genomes.items()) != list(now.genomes.items()):
        raise ValueError(
            f"--resume: {last} has the heads {_heads_text(saved.genomes)} but this run "
            f"trains {_heads_text(now.genomes)} (give the stores in the same --data "
            f"order); {FIX}"
        )
    for head, targets in now.targets.items():
        before = [t.identifier for t in saved.targets.get(head, [])]
        after = [t.identifier for t in targets]
        if before != after:
            raise ValueError(
                f"--resume: the head '{head}' in {last} has other tracks than this run's "
                f"dataset ({_tracks_text(before, after)}); {FIX}"
            )


def _tracks_text(before: Sequence[str], after: Sequence[str]) -> str:
    """How two lists of track identifiers differ: their lengths, or the first track that
    is not the same."""
    if len(before) != len(after):
        return f"{len(before)} tracks there, {len(after)} here"
    index = next(i for i, (a, b) in enumerate(zip(before, after, strict=True)) if a != b)
    return f"track {index} is {before[index]} there, {after[index]} here"


def _check_extra(last: Path, saved: Mapping[str, Any], now: Mapping[str, Any]) -> None:
    """The checkpoints' ``extra`` settings (a fine-tuning's, say) other than the train
    options are the same."""
    for key, value in now.items():
        before = saved.get(key)
        if key == "train_options" or before is None or before == value:
            continue
        if isinstance(before, dict) and isinstance(value, dict):
            names = sorted(k for k in before.keys() | value.keys() if before.get(k) != value.get(k))
            # what follows from the settings (the trained parts, the branch) is not named,
            # nor, where the mode differs, the settings of the modes (absent from the other)
            names = [k for k in names if k not in DERIVED_EXTRA] or names
            names = ["mode"] if "mode" in names else names
            value = "; ".join(
                change(EXTRA_FLAGS.get(k) or Option(k), before.get(k), value.get(k)) for k in names
            )
        raise ValueError(f"--resume: {last} was trained with other {key} settings ({value}); {FIX}")


def check_same_stores(
    last: Path, saved: Sequence[Mapping[str, Any]] | None, stores: Sequence[DataStore]
) -> None:
    """Stop when a ``--data`` store is not the one `last`'s run trained its genome on
    (another stride, split, window count or track statistics: :func:`store_fingerprint`);
    `saved` is None for a ``last/`` written before crossreg recorded its stores."""
    if saved is None:
        log.warning(
            "--resume: %s does not record its run's stores (written by an earlier "
            "crossreg), so it cannot check that --data gives the same ones",
            last,
        )
        return
    before = {entry["genome"]: entry for entry in saved}
    for store in stores:
        then, now = before.get(store.genome, {}), store_fingerprint(store)
        differences = fingerprint_differences(then, now)
        if differences:
            raise ValueError(
                f"--resume: --data {store.path} is not the {store.genome} store that "
                f"{last}'s run trained on ({then.get('path')}): {differences}; resume with "
                "that store, or train into a new --out"
            )


def check_finished_phases(
    last: Path,
    saved: Mapping[str, Any],
    options: Mapping[str, Any],
    finished_phases: Sequence[str],
    main_phase: str,
) -> None:
    """Stop when a changed :data:`PHASE_OPTIONS` option (`saved`: the train options of
    `last`'s run; `options`: this run's) would have changed a phase in `finished_phases`
    (the main phase `main_phase`, or a genome's fine-tuning before the one that ran last):
    resumed, the run would not be one uninterrupted run's."""
    for phase in finished_phases:
        keys = ["min_epochs", "patience"]
        keys.append("max_epochs" if phase == main_phase else "finetune_epochs")
        for key in keys:
            before, now = saved.get(key), options[key]
            if before is not None and before != now:
                flag = PHASE_OPTIONS[key]
                raise ValueError(
                    f"--resume: the {phase} phase of {last}'s run finished with {flag} "
                    f"{before}, and its last weights are not kept, so {flag} {now} cannot "
                    "change it as one uninterrupted run would (only the phase that ran "
                    f"last can be extended); resume with {flag} {before}, or train into "
                    "a new --out"
                )


def check_running_phase(
    last: Path,
    saved: Mapping[str, Any],
    options: Mapping[str, Any],
    run: Mapping[str, Any],
    main_phase: str,
) -> None:
    """Stop when the phase that ran last in `last` (its run state `run`: phase, epoch,
    early-stopping state) has already gone past where this run's options would have ended
    it: more epochs than its ``--max-epochs`` (``--finetune-epochs``), or epochs that a
    smaller ``--patience`` or ``--min-epochs`` would have stopped before, where the
    options it ran with (`saved`) did not. Its weights are then not those of one
    uninterrupted run with `options`, which ``train_options.json`` would claim."""
    phase, epoch = run["phase"], int(run["epoch"])
    if phase in run.get("finished_phases", []):
        return
    key = "max_epochs" if phase == main_phase else "finetune_epochs"
    flag, limit = PHASE_OPTIONS[key], int(options[key] or 0)
    if epoch > limit:
        raise ValueError(
            f"--resume: the {phase} phase of {last}'s run has trained {epoch} epochs, more "
            f"than {flag} {limit}: its weights cannot be those of a {limit}-epoch run; "
            f"resume with {flag} {epoch} or more (more to train on), or train into a new --out"
        )
    state = run.get("stopping") or {}
    then = {k: saved.get(k, options[k]) for k in ("patience", "min_epochs")}
    if not state or not stops_early(state, options) or stops_early(state, then):
        return
    changed = [f"{PHASE_OPTIONS[k]} {options[k]}" for k in then if then[k] != options[k]]
    kept = " and ".join(f"{PHASE_OPTIONS[k]} {v}" for k, v in then.items())
    raise ValueError(
        f"--resume: the {phase} phase of {last}'s run has trained {epoch} epochs without "
        f"stopping early, and {' and '.join(changed)} would have stopped it by then: its "
        f"weights cannot be those of a run with these settings; resume with {kept} (or a "
        "larger --patience), or train into a new --out"
    )


def stops_early(state: Mapping[str, Any], options: Mapping[str, Any]) -> bool:
    """Whether early stopping in the state `state` (:meth:`EarlyStopping.state_dict`)
    ends its phase under `options`' patience and minimum epochs."""
    stopping = EarlyStopping(
        len(state["best"]), int(options["patience"] or 0), int(options["min_epochs"] or 1)
    )
    stopping.load_state_dict(dict(state))
    return stopping.should_stop


def damaged_last(last: Path, err: ValueError) -> ValueError:
    """The error of a ``last/`` that cannot be read (`err` names the file): the run cannot
    go on from it, so the fix is to train it again."""
    return ValueError(
        f"{err}; --resume cannot continue from {last}: train again with --overwrite, which "
        "replaces the run, or into a new --out"
    )
