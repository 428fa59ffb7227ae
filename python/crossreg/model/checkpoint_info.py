"""What a checkpoint directory holds, read without torch: its heads and each head's tracks.

Commands check their arguments against it (``--model``, ``--head``,
``--targets``) before the model, and torch with it, loads;
:func:`crossreg.model.checkpoint.load_checkpoint` still checks everything when it does.
"""

from __future__ import annotations

import errno
import hashlib
import json
import math
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from crossreg.io.targets import Target
from crossreg.io.text import read_json
from crossreg.model.tiling import Geometry

CONFIG_NAME = "config.json"
WEIGHTS_NAME = "model.safetensors"
FORMAT = "crossreg-checkpoint"
#: What to do about a checkpoint file that cannot be read.
DAMAGED = "the checkpoint is damaged: use another checkpoint (best/, last/) or save this one again"


def target_from_json(data: Mapping[str, Any]) -> Target:
    """A :class:`~crossreg.io.targets.Target` from its entry in ``config.json`` (a ``clip``
    of null is a track list's "no clip")."""
    clip = math.inf if data.get("clip") is None else data["clip"]
    fields = {**data, "clip": clip, "files": tuple(data["files"])}
    return Target(**{**fields, "extra": dict(data.get("extra", {}))})


def held_out_fold(extra: Mapping[str, Any], head: str) -> str | None:
    """The cross-validation fold (``--test-fold``) held out in training the head `head`,
    from a checkpoint config's ``extra``: its ``held_out_folds`` (fine-tuned checkpoints:
    every head's, the parent's heads carried over), else its ``train_options`` for every
    head of a trained checkpoint, or for the new head alone of a fine-tuned one recorded
    before ``held_out_folds`` was; None when none is recorded."""
    folds = extra.get("held_out_folds")
    if isinstance(folds, dict):
        fold = folds.get(head)
        return fold if isinstance(fold, str) else None
    options = extra.get("train_options")
    fold = options.get("test_fold") if isinstance(options, dict) else None
    finetune = extra.get("finetune")
    tuned = finetune.get("head") if isinstance(finetune, dict) else None
    if not isinstance(fold, str) or (tuned is not None and head != tuned):
        return None
    return fold


@dataclass(frozen=True)
class CheckpointInfo:
    """A checkpoint's `directory`, per head (genome name) its tracks in output order, the
    config's ``extra`` record (how the checkpoint was made), per head its params key
    (``head_human``), the model's window `geometry` (``None`` where the config does
    not give it whole: loading the checkpoint reports that) and its params' ``train``
    section (empty where the config has none)."""

    directory: Path
    targets: dict[str, list[Target]]
    extra: dict[str, Any] = field(default_factory=dict)
    keys: dict[str, str] = field(default_factory=dict)
    geometry: Geometry | None = None
    train: dict[str, Any] = field(default_factory=dict)

    @property
    def heads(self) -> list[str]:
        """The genome names of the heads."""
        return list(self.targets)

    def choose(self, head: str | None, option: str = "--head") -> str:
        """`head`, checked, or the only head when `head` is None."""
        if head is None:
            if len(self.heads) != 1:
                raise ValueError(
                    f"{self.directory} has heads for {', '.join(self.heads)}; choose one "
                    f"with {option}"
                )
            return self.heads[0]
        if head not in self.targets:
            raise ValueError(
                f"{option} {head}: {self.directory} has no head for genome '{head}'; its "
                f"heads are {', '.join(self.heads)}"
            )
        return head


def _checkpoint_hint(directory: Path) -> str:
    """What to give instead of `directory`, which holds no checkpoint: its ``best/`` where
    it holds a training run, a checkpoint where it is a dataset store."""
    from crossreg.data.store import METADATA as DATASET_METADATA  # numpy: only on this error
    from crossreg.io.h5 import is_hdf5

    if directory.is_file():
        if directory.name in (CONFIG_NAME, WEIGHTS_NAME):
            return (
                f"it is a file of a checkpoint: give the folder that holds it, {directory.parent}"
            )
        if is_hdf5(directory):
            return (
                "it is an HDF5 file (Basenji's Keras weights?): convert it with crossreg "
                "import-basenji and give the folder it writes as the model"
            )
        return "it is a file; give the checkpoint folder (e.g. train_out/best)"
    runs = [
        directory / name for name in ("best", "last") if (directory / name / CONFIG_NAME).is_file()
    ]
    if runs:
        return f"it holds a training run: give its checkpoint {runs[0]}"
    if (directory / DATASET_METADATA).is_file():
        return (
            f"it is a dataset store ({DATASET_METADATA}), which goes to --data; give a checkpoint "
            "(a training run's best/) as the model"
        )
    return (
        "give a checkpoint folder that crossreg train, finetune or import-basenji wrote "
        "(e.g. train_out/best)"
    )


def require_checkpoint_folder(directory: Path) -> None:
    """Stop unless `directory` is a folder holding a checkpoint's two files: a missing one
    is a :class:`FileNotFoundError` naming it, any other a ValueError that says what to
    give instead (a training run's ``best/``, the folder of a checkpoint's file)."""
    if not directory.exists():
        raise FileNotFoundError(errno.ENOENT, os.strerror(errno.ENOENT), str(directory))
    if not directory.is_dir() or not (directory / CONFIG_NAME).is_file():
        raise ValueError(
            f"{directory}: not a crossreg checkpoint directory (no {CONFIG_NAME}); "
            + _checkpoint_hint(directory)
        )
    if not (directory / WEIGHTS_NAME).is_file():
        raise ValueError(f"{directory}: {WEIGHTS_NAME} is missing")


def checkpoint_info(directory: str | os.PathLike[str]) -> CheckpointInfo:
    """The heads and tracks of the checkpoint in `directory`, after
    :func:`require_checkpoint_folder`."""
    directory = Path(directory)
    require_checkpoint_folder(directory)
    path = directory / CONFIG_NAME
    data = read_json(path, DAMAGED)
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        found = data.get("format") if isinstance(data, dict) else None
        raise ValueError(f"{path}: not a crossreg checkpoint config (format {found!r})")
    try:
        targets = {
            genome: [target_from_json(t) for t in data["targets"][genome]]
            for genome in data["genomes"]
        }
        keys = {genome: str(key) for genome, key in data["genomes"].items()}
    except (TypeError, KeyError, AttributeError) as err:
        raise ValueError(f"{path}: malformed genomes or targets ({err})") from None
    extra = data.get("extra")
    extra = extra if isinstance(extra, dict) else {}
    params = data.get("params")
    train = params.get("train") if isinstance(params, dict) else None
    train = train if isinstance(train, dict) else {}
    return CheckpointInfo(directory, targets, extra, keys, _geometry(data), train)


def _geometry(data: Mapping[str, Any]) -> Geometry | None:
    """The window geometry a checkpoint config gives (``seq_length``, ``bin_width``,
    ``crop``, ``bins``), or ``None`` where one is missing or not a whole number."""
    crop = data.get("crop")
    values = [data.get(k) for k in ("seq_length", "bin_width", "bins")]
    values.append(crop[0] if isinstance(crop, list) and crop else None)
    whole = [v for v in values if isinstance(v, int) and not isinstance(v, bool)]
    if len(whole) < len(values):
        return None
    seq_length, bin_width, bins, start = whole
    return Geometry(seq_length, bin_width, start, bins)


def saved_checkpoint_id(directory: str | os.PathLike[str]) -> str | None:
    """The ``save_id`` of the checkpoint in `directory`, which every save draws anew, so
    that a caller can tell whether a save replaced it (None: no checkpoint there, or one
    that records none)."""
    try:
        value = json.loads((Path(directory) / CONFIG_NAME).read_text()).get("save_id")
    except (OSError, ValueError, AttributeError):
        return None
    return value if isinstance(value, str) else None


def checkpoint_identity(directory: str | os.PathLike[str]) -> dict[str, object]:
    """What tells a checkpoint apart wherever it lies: its ``save_id`` (drawn anew by every
    save) and the SHA-256 of its ``config.json`` (which records its weights' SHA-256), so
    that a copy at another path is the same checkpoint and an edited config another."""
    config = (Path(directory) / CONFIG_NAME).read_bytes()
    return {
        "save_id": saved_checkpoint_id(directory),
        "config_sha256": hashlib.sha256(config).hexdigest(),
    }
