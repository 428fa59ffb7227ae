"""crossreg checkpoint directories: ``model.safetensors`` + ``config.json``.

The config makes a checkpoint self-describing: the Basenji params, which head serves which
genome, a copy of each genome's targets table, the GELU form, input length, bin width and
crop, the heads' branches (a fine-tuned head's own path through the trunk's tail,
:mod:`crossreg.model.branches`), the crossreg version, and room for training state
(epoch, metrics, anything else).
Both files are written under temporary names and renamed; a random ``save_id`` stored in
both lets loading detect a pair from two different saves, and the SHA-256 of the weights
file, stored in the config, a weights file changed since (safetensors has no check of its
own: a flipped bit would load as another weight). Nothing is pickled.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import os
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import save

from crossreg import __version__
from crossreg.devices import check_device, device_name
from crossreg.distributed import resolve_device
from crossreg.io.atomic import atomic_write
from crossreg.io.targets import Target
from crossreg.io.text import read_json
from crossreg.model.activations import GELU_FORMS
from crossreg.model.branches import BranchSpec
from crossreg.model.checkpoint_info import (
    CONFIG_NAME,
    DAMAGED,
    FORMAT,
    WEIGHTS_NAME,
    require_checkpoint_folder,
    target_from_json,
)
from crossreg.model.params import parse_params
from crossreg.model.seqnn import SeqNN

FORMAT_VERSION = 1
# a checkpoint with branches (a fine-tuned head's own trunk tail or adapters) is version 2,
# so that a crossreg that cannot rebuild branches refuses it by its version
BRANCHED_FORMAT_VERSION = 2
READABLE_VERSIONS = (FORMAT_VERSION, BRANCHED_FORMAT_VERSION)


@dataclass
class CheckpointConfig:
    """Everything in ``config.json``. `genomes` maps genome name -> params head key;
    `targets` holds each genome's tracks in output order; `branches` maps a genome whose
    head has a branch to its :class:`~crossreg.model.branches.BranchSpec` as JSON."""

    params: dict[str, Any]
    genomes: dict[str, str]
    targets: dict[str, list[Target]]
    gelu_form: str
    seq_length: int
    bin_width: int
    crop: tuple[int, int]
    bins: int
    crossreg_version: str = __version__
    epoch: int | None = None
    metrics: dict[str, Any] = field(default_factory=dict)
    source: dict[str, Any] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)
    save_id: str | None = None
    branches: dict[str, dict[str, Any]] = field(default_factory=dict)
    #: SHA-256 of ``model.safetensors`` as saved (hex); None in checkpoints saved before
    #: crossreg stored it, whose weights load unchecked
    weights_sha256: str | None = None

    def build_model(self, source: str = CONFIG_NAME) -> SeqNN:
        """A freshly initialised SeqNN of this configuration (weights not loaded); errors
        name `source`, the config's path."""
        params = parse_params(self.params, source)
        branches = {
            genome: BranchSpec.from_json(spec, f"{source}: branches.{genome}")
            for genome, spec in self.branches.items()
        }
        unknown = sorted(set(branches) - set(self.genomes))
        if unknown:
            raise ValueError(
                f"{source}: branches for {', '.join(unknown)}, which have no head; heads are "
                f"{', '.join(self.genomes)}"
            )
        heads = params.model.select_heads(self.genomes)
        try:
            return SeqNN(heads, gelu_form=self.gelu_form, branches=branches)
        except ValueError as err:
            raise ValueError(f"{source}: {err}") from None

    def to_json(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        data["targets"] = {g: [_target_to_json(t) for t in ts] for g, ts in self.targets.items()}
        version = BRANCHED_FORMAT_VERSION if self.branches else FORMAT_VERSION
        return {"format": FORMAT, "format_version": version, **data}


def _target_to_json(target: Target) -> dict[str, Any]:
    data = dataclasses.asdict(target)
    data["files"] = list(target.files)
    if math.isinf(target.clip):  # a track list's "no clip": strict JSON has no Infinity
        data["clip"] = None
    return data


def make_config(
    model: SeqNN,
    params: Mapping[str, Any],
    targets: Mapping[str, Iterable[Target]],
    *,
    genomes: Mapping[str, str] | None = None,
    epoch: int | None = None,
    metrics: Mapping[str, Any] | None = None,
    source: Mapping[str, Any] | None = None,
    extra: Mapping[str, Any] | None = None,
) -> CheckpointConfig:
    """The config of `model`: `params` is the params JSON it was built from, `genomes`
    maps its genome names to head keys (default: the model's own heads)."""
    heads = genomes or {h.genome: h.key for h in model.params.heads}
    return CheckpointConfig(
        params=json.loads(json.dumps(params)),
        genomes=dict(heads),
        targets={g: list(targets[g]) for g in model.genomes},
        gelu_form=model.gelu_form,
        seq_length=model.seq_length,
        bin_width=model.stride,
        crop=model.crop,
        bins=model.output_length(),
        epoch=epoch,
        metrics=dict(metrics or {}),
        source=dict(source or {}),
        extra=dict(extra or {}),
        branches={genome: spec.to_json() for genome, spec in model.branch_specs.items()},
    )


def save_checkpoint(
    directory: str | os.PathLike[str], model: SeqNN, config: CheckpointConfig
) -> Path:
    """Write `model`'s weights and `config` into `directory` (created if needed)."""
    directory = Path(directory)
    for genome in model.genomes:
        if genome not in config.targets:
            raise ValueError(f"no targets table for genome '{genome}' in the checkpoint config")
        if len(config.targets[genome]) != model.num_targets(genome):
            raise ValueError(
                f"genome '{genome}': {len(config.targets[genome])} targets for a head of "
                f"{model.num_targets(genome)} outputs"
            )
    save_id = uuid.uuid4().hex
    tensors = {k: v.detach().to("cpu").contiguous() for k, v in model.state_dict().items()}
    weights = save(tensors, metadata={"format": FORMAT, "save_id": save_id})
    with atomic_write(directory / WEIGHTS_NAME, "wb") as handle:
        handle.write(weights)
    saved = dataclasses.replace(
        config, save_id=save_id, weights_sha256=hashlib.sha256(weights).hexdigest()
    )
    with atomic_write(directory / CONFIG_NAME) as handle:
        json.dump(saved.to_json(), handle, indent=1)
        handle.write("\n")
    return directory


def read_config(directory: str | os.PathLike[str]) -> CheckpointConfig:
    """Read and check ``config.json`` of a checkpoint directory."""
    path = Path(directory) / CONFIG_NAME
    if not path.exists():
        raise ValueError(f"{directory}: not a crossreg checkpoint (no {CONFIG_NAME})")
    data = read_json(path, DAMAGED)
    if not isinstance(data, dict):
        raise ValueError(
            f"{path}: holds a JSON {type(data).__name__}, not the object of a crossreg "
            f"checkpoint config; {DAMAGED}"
        )
    if data.get("format") != FORMAT:
        raise ValueError(
            f"{path}: not a crossreg checkpoint config (format {data.get('format')!r})"
        )
    if data.get("format_version") not in READABLE_VERSIONS:
        raise ValueError(
            f"{path}: checkpoint format version {data.get('format_version')}; this crossreg "
            f"reads versions {', '.join(map(str, READABLE_VERSIONS))}"
        )
    if data.get("gelu_form") not in GELU_FORMS:
        raise ValueError(f"{path}: gelu_form {data.get('gelu_form')!r} is not one of {GELU_FORMS}")
    fields = {f.name for f in dataclasses.fields(CheckpointConfig)}
    optional = {
        "crossreg_version", "epoch", "metrics", "source", "extra", "save_id", "branches",
        "weights_sha256",
    }  # fmt: skip
    missing = sorted(fields - set(data) - optional)
    if missing:
        raise ValueError(f"{path}: missing key(s) {', '.join(missing)}")
    kwargs = {k: v for k, v in data.items() if k in fields}
    _check_config_types(path, kwargs)
    if not isinstance(kwargs.get("branches", {}), dict):
        raise ValueError(f"{path}: 'branches' must be an object (head name -> branch)")
    try:
        kwargs["targets"] = {
            g: [target_from_json(t) for t in ts] for g, ts in data["targets"].items()
        }
        kwargs["crop"] = tuple(data["crop"])
    except (TypeError, KeyError, AttributeError) as err:
        raise ValueError(f"{path}: malformed targets or crop ({err})") from None
    return CheckpointConfig(**kwargs)


def _check_config_types(path: Path, data: Mapping[str, Any]) -> None:
    """Stop, naming `path` and the key, unless the config's keys have their JSON types."""
    objects = ("params", "genomes", "targets", "metrics", "source", "extra", "branches")
    for key in objects:
        if key in data and not isinstance(data[key], dict):
            raise ValueError(
                f"{path}: '{key}' must be an object, not JSON {type(data[key]).__name__} "
                f"{data[key]!r:.60}; fix or regenerate {CONFIG_NAME}"
            )
    for genome, head in data["genomes"].items():
        if not isinstance(head, str):
            raise ValueError(
                f"{path}: 'genomes.{genome}' must be a head key (a string), not "
                f"{type(head).__name__} {head!r:.60}; fix or regenerate {CONFIG_NAME}"
            )
    for genome, targets in data["targets"].items():
        if not isinstance(targets, list):
            raise ValueError(
                f"{path}: 'targets.{genome}' must be a list of tracks, not "
                f"{type(targets).__name__}; fix or regenerate {CONFIG_NAME}"
            )
    for key in ("seq_length", "bin_width", "bins"):
        value = data[key]
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValueError(
                f"{path}: '{key}' must be an integer, not {type(value).__name__} "
                f"{value!r:.60}; fix or regenerate {CONFIG_NAME}"
            )
    crop = data["crop"]
    if not (
        isinstance(crop, list)
        and len(crop) == 2
        and all(isinstance(c, int) and not isinstance(c, bool) for c in crop)
    ):
        raise ValueError(
            f"{path}: 'crop' must be a list of two integers, not {crop!r:.60}; fix or "
            f"regenerate {CONFIG_NAME}"
        )
    epoch = data.get("epoch")
    if epoch is not None and (isinstance(epoch, bool) or not isinstance(epoch, int)):
        raise ValueError(f"{path}: 'epoch' must be an integer or null, not {epoch!r:.60}")
    for key in ("crossreg_version", "save_id", "weights_sha256"):
        value = data.get(key)
        if value is not None and not isinstance(value, str):
            raise ValueError(f"{path}: '{key}' must be a string, not {value!r:.60}")


def load_checkpoint(
    directory: str | os.PathLike[str], *, device: str | torch.device = "cpu"
) -> tuple[SeqNN, CheckpointConfig]:
    """Rebuild the model of a checkpoint directory and load its weights (eval mode) on
    `device` (``auto``: this process's GPU when there is one, else the CPU). A folder that
    holds no checkpoint is refused as ``--model`` refuses it
    (:func:`~crossreg.model.checkpoint_info.require_checkpoint_folder`): a training run's
    folder names its ``best/``."""
    if isinstance(device, str):
        check_device(device_name(device), "device")
    device = resolve_device(device)
    directory = Path(directory)
    require_checkpoint_folder(directory)
    config = read_config(directory)
    with torch.device("meta"):  # every tensor comes from the file: allocate nothing twice
        model = config.build_model(str(directory / CONFIG_NAME))
    for genome in model.genomes:
        if genome not in config.targets or len(config.targets[genome]) != model.num_targets(genome):
            have = len(config.targets.get(genome, []))
            raise ValueError(
                f"{directory / CONFIG_NAME}: genome '{genome}' lists {have} targets but its head "
                f"has {model.num_targets(genome)} outputs"
            )
    weights = directory / WEIGHTS_NAME
    if not os.access(weights, os.R_OK):  # safetensors would call it missing
        raise ValueError(f"{weights}: not readable; check its permissions")
    expected = model.state_dict()
    try:
        state = _read_weights(directory, config, expected)
    except SafetensorError as err:
        raise ValueError(
            f"{weights}: not a readable safetensors file ({err}); it is truncated or damaged: "
            "use another checkpoint (best/, last/) or save this one again"
        ) from None
    model.load_state_dict(state, assign=True)
    model.to(device)
    model.eval()
    return model, config


def file_sha256(path: str | os.PathLike[str]) -> str:
    """The SHA-256 of the file at `path` (hex), read in 4 MiB blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(1 << 22):
            digest.update(block)
    return digest.hexdigest()


def _check_digest(weights: Path, expected: str) -> None:
    """`weights` has the SHA-256 `expected` (the config's record of the save)."""
    found = file_sha256(weights)
    if found != expected:
        raise ValueError(
            f"{weights}: its SHA-256 is {found[:16]}..., not the "
            f"{expected[:16]}... {CONFIG_NAME} recorded when it was saved: the file is "
            "damaged; use another checkpoint (best/, last/) or save this one again"
        )


def _read_weights(
    directory: Path, config: CheckpointConfig, expected: Mapping[str, torch.Tensor]
) -> dict[str, torch.Tensor]:
    """The tensors of `directory`'s weights file, checked against `config`'s save id and
    the names and shapes of `expected`."""
    weights = directory / WEIGHTS_NAME
    with safe_open(str(weights), framework="pt") as handle:
        meta = handle.metadata() or {}
        if config.save_id is not None and meta.get("save_id") != config.save_id:
            raise ValueError(
                f"{directory}: {WEIGHTS_NAME} and {CONFIG_NAME} come from different saves "
                "(a save was interrupted); use another checkpoint"
            )
        if config.weights_sha256 is not None:
            _check_digest(weights, config.weights_sha256)
        keys = set(handle.keys())
        missing, unexpected = sorted(set(expected) - keys), sorted(keys - set(expected))
        if missing or unexpected:
            raise ValueError(
                f"{weights}: tensors do not match the configured model; missing "
                f"{missing[:5] or 'none'}, unexpected {unexpected[:5] or 'none'}"
            )
        state = {}
        for key in expected:
            tensor = handle.get_tensor(key)
            if tuple(tensor.shape) != tuple(expected[key].shape):
                raise ValueError(
                    f"{weights}: tensor '{key}' has shape {list(tensor.shape)} but the "
                    f"configured model needs {list(expected[key].shape)}"
                )
            state[key] = tensor
    return state
