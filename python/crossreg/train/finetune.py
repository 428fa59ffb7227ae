"""Fine-tuning: a new head for a new targets table on a trained model's trunk.

From any crossreg checkpoint (a joint model, or imported Basenji2 weights) a head is added
for one dataset store's tracks (new tracks of a known genome, or a new genome) and trained
by :class:`crossreg.train.trainer.Trainer` (same schedule, early stopping, resume,
``torchrun`` and bf16) with one of three modes:

``probe``
    the trunk frozen: only the new head trains (a linear probe of the trunk's features).
``unfreeze``
    the trunk's last `unfreeze_blocks` blocks train with the head (a block is one entry of
    the trunk that holds weights: a conv block, a tower's conv block, a residual block).
``lora``
    low-rank adapters on every trunk convolution train with the head; the base weights
    stay frozen (:mod:`crossreg.model.adapters`). Adapters are merged into the weights when
    a checkpoint is saved, so a LoRA checkpoint is a plain one that every command loads;
    ``last/`` keeps them unmerged too (``adapters.safetensors``) for ``--resume``.

Frozen parts run as at inference (batch norm with its moving statistics, no dropout) and
end bitwise as they were. In ``probe`` mode the checkpoint keeps the parent's heads, whose
predictions are unchanged; ``unfreeze`` and ``lora`` change the trunk, so their checkpoints
hold the new head only (the parent's heads were trained on the parent's trunk: use the
parent for them). Each checkpoint's ``config.json`` records the parent (path, SHA-256 of its
weights, save id) under ``source.parent`` and the mode, the trained parts and the new
head's name and tracks under ``extra.finetune``.
"""

from __future__ import annotations

import copy
import hashlib
import logging
import os
from collections.abc import Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file, save
from torch import nn

from crossreg import distributed
from crossreg.data.store import DataStore
from crossreg.io.atomic import atomic_write
from crossreg.model.adapters import adapted_convs, adapter_state, add_adapters, freeze
from crossreg.model.blocks import init_weights
from crossreg.model.checkpoint import (
    CONFIG_NAME,
    WEIGHTS_NAME,
    CheckpointConfig,
    load_checkpoint,
    make_config,
    read_config,
)
from crossreg.model.params import parse_params
from crossreg.model.seqnn import SeqNN, TrackHead
from crossreg.train.trainer import ModelSetup, Trainer, TrainOptions, run_trainer

log = logging.getLogger("crossreg")

MODES = ("probe", "unfreeze", "lora")
ADAPTERS_FILE = "adapters.safetensors"


@dataclass(frozen=True)
class FineTuneSpec:
    """How to fine-tune: the `mode` (``probe``, ``unfreeze``, ``lora``), the new head's
    name (default: the dataset's genome), the trunk blocks to unfreeze (``unfreeze``), the
    adapters' rank and alpha (``lora``; alpha defaults to the rank, a scale of 1)."""

    mode: str = "probe"
    head: str | None = None
    unfreeze_blocks: int = 1
    lora_rank: int = 8
    lora_alpha: float | None = None

    def check(self) -> None:
        """Stop on an unknown mode or a count below 1."""
        if self.mode not in MODES:
            raise ValueError(f"fine-tuning mode '{self.mode}' is unknown; use {', '.join(MODES)}")
        if self.mode == "unfreeze" and self.unfreeze_blocks < 1:
            raise ValueError(f"--unfreeze-blocks must be at least 1, got {self.unfreeze_blocks}")
        if self.mode == "lora" and self.lora_rank < 1:
            raise ValueError(f"--lora-rank must be at least 1, got {self.lora_rank}")

    def describe(self) -> dict[str, Any]:
        """The settings that matter for the mode, for the checkpoint."""
        if self.mode == "unfreeze":
            return {"mode": self.mode, "unfreeze_blocks": self.unfreeze_blocks}
        if self.mode == "lora":
            alpha = self.lora_alpha if self.lora_alpha is not None else float(self.lora_rank)
            return {"mode": self.mode, "lora_rank": self.lora_rank, "lora_alpha": alpha}
        return {"mode": self.mode}


def trunk_blocks(model: SeqNN) -> list[tuple[str, nn.Module]]:
    """The trunk's blocks that hold weights (``trunk.<i>``), input to output."""
    return [
        (f"trunk.{name}", module)
        for name, module in model.trunk.named_children()
        if any(True for _ in module.parameters())
    ]


def weights_digest(directory: str | os.PathLike[str], save_id: str | None) -> dict[str, Any]:
    """Where a checkpoint is and what it holds: its resolved path, the SHA-256 of its
    weights file and its save id."""
    directory = Path(directory)
    digest = hashlib.sha256()
    with open(directory / WEIGHTS_NAME, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 22), b""):
            digest.update(block)
    return {"path": str(directory.resolve()), "sha256": digest.hexdigest(), "save_id": save_id}


def trained_parts(model: nn.Module) -> list[str]:
    """The modules whose parameters train, named down to a trunk block or a head
    (``trunk.21``, ``heads.liver``; adapters as ``trunk.3 adapters``)."""
    parts: dict[str, None] = {}
    for name, parameter in model.named_parameters():
        if parameter.requires_grad:
            top = ".".join(name.split(".")[:2])
            parts[f"{top} adapters" if ".parametrizations." in name else top] = None
    return list(parts)


class FineTune(ModelSetup):
    """The trainer's model for fine-tuning: the checkpoint in `parent` with a new head
    `name` of `units` softplus outputs (params key `key`), frozen as `spec` says."""

    phase = "finetune"

    def __init__(
        self, parent: Path, config: CheckpointConfig, spec: FineTuneSpec, name: str, key: str
    ) -> None:
        self.parent, self.parent_config, self.spec = parent, config, spec
        self.name, self.key = name, key
        self.digest = weights_digest(parent, config.save_id)
        self.trained: list[str] = []

    def build(self, trainer: Trainer) -> SeqNN:
        model, _ = load_checkpoint(self.parent)
        head = next(h for h in trainer.params.model.heads if h.key == self.key)
        head = replace(head, genome=self.name)
        model.params = replace(model.params, heads=(*model.params.heads, head))
        generator = torch.Generator().manual_seed(trainer.options.seed)
        model.heads[self.name] = TrackHead(model.channels, head.units, head.activation)
        init_weights(model.heads[self.name], generator)
        for genome in model.genomes[:-1]:
            freeze(model.heads[genome])
        if self.spec.mode == "unfreeze":
            blocks = trunk_blocks(model)
            if self.spec.unfreeze_blocks > len(blocks):
                raise ValueError(
                    f"--unfreeze-blocks {self.spec.unfreeze_blocks}: the trunk of {self.parent} "
                    f"has {len(blocks)} blocks with weights"
                )
            for _, block in blocks[: len(blocks) - self.spec.unfreeze_blocks]:
                freeze(block)
        else:
            freeze(model.trunk)
        if self.spec.mode == "lora":
            described = self.spec.describe()
            add_adapters(
                model.trunk, described["lora_rank"], described["lora_alpha"], generator=generator
            )
        model.train()
        self.trained = trained_parts(model)
        log.info(
            "fine-tuning (%s) a new head '%s' of %d tracks on %s; training %s",
            self.spec.mode,
            self.name,
            head.units,
            self.parent,
            ", ".join(self.trained),
        )
        return model

    def head_of(self, genome: str) -> str:
        return self.name

    def trainable(self, model: SeqNN) -> list[nn.Parameter]:
        return [p for p in model.parameters() if p.requires_grad]

    def checkpoint(
        self, trainer: Trainer, genomes: Sequence[str], metrics: dict
    ) -> tuple[SeqNN, CheckpointConfig]:
        parent = self.parent_config
        keep_parent_heads = self.spec.mode == "probe"
        heads = {**(parent.genomes if keep_parent_heads else {}), self.name: self.key}
        targets = {**(parent.targets if keep_parent_heads else {})}
        targets[self.name] = list(trainer.genomes[0].store.table.targets)
        with torch.device("meta"):
            saved = SeqNN(
                trainer.params.model.select_heads(heads), gelu_form=trainer.model.gelu_form
            )
        saved.load_state_dict(merged_state(trainer.model, keep=set(heads)), assign=True)
        config = make_config(
            saved,
            trainer.params.raw,
            targets,
            genomes=heads,
            epoch=trainer.state.epoch,
            metrics=metrics,
            source={"parent": self.digest, "phase": trainer.state.phase},
            extra={
                "finetune": {
                    **self.spec.describe(),
                    "head": self.name,
                    "dataset_genome": trainer.genomes[0].name,
                    "trained": self.trained,
                    "parent_heads": list(parent.genomes) if keep_parent_heads else [],
                    "adapters": "merged into the weights" if self.spec.mode == "lora" else None,
                },
                "train_options": asdict(trainer.options),
            },
        )
        return saved, config

    def save_state(self, folder: Path, model: SeqNN) -> None:
        if self.spec.mode == "lora":
            tensors = {k: v.detach().cpu().contiguous() for k, v in adapter_state(model).items()}
            with atomic_write(folder / ADAPTERS_FILE, "wb") as handle:
                handle.write(save(tensors))

    def restore(self, folder: Path, model: SeqNN) -> None:
        saved, _ = load_checkpoint(folder)
        adapted = {f"{name}.weight" for name, _ in adapted_convs(model)}
        state = model.state_dict()
        for key, tensor in saved.state_dict().items():
            if key in state and key not in adapted:
                state[key] = tensor
        if self.spec.mode == "lora":
            state.update(load_file(str(folder / ADAPTERS_FILE)))
        model.load_state_dict(state)


def merged_state(model: SeqNN, keep: set[str]) -> dict[str, torch.Tensor]:
    """`model`'s state dict on the CPU with its adapters merged into the weights (the
    names of a model without adapters) and only the heads in `keep`."""
    adapted = dict(adapted_convs(model))
    state: dict[str, torch.Tensor] = {}
    for key, tensor in model.state_dict().items():
        if ".parametrizations." in key:
            continue
        if key.startswith("heads.") and key.split(".")[1] not in keep:
            continue
        state[key] = tensor.detach().cpu()
    with torch.no_grad():
        for name, conv in adapted.items():
            state[f"{name}.weight"] = conv.weight.detach().float().cpu().clone()
    return state


def new_head_params(
    config: CheckpointConfig, name: str, units: int, source: str
) -> tuple[dict[str, Any], str]:
    """The parent's params with a softplus head ``head_<name>`` of `units` outputs added
    (and the head's key); stops when the parent already has a head of that name."""
    key = f"head_{name}"
    if name in config.genomes or key in config.params["model"]:
        raise ValueError(
            f"{source} already has a head '{name}'; name the new head with --head-name"
        )
    raw = copy.deepcopy(config.params)
    raw["model"][key] = {"name": "final", "units": units, "activation": "softplus"}
    return raw, key


def finetune(
    model_dir: str | os.PathLike[str],
    data_dir: str | os.PathLike[str],
    out: str | os.PathLike[str],
    spec: FineTuneSpec,
    options: TrainOptions | None = None,
    *,
    learning_rate: float | None = None,
    resume: bool = False,
    plots: bool = True,
    svg: bool = False,
) -> Path:
    """The finetune step: add a head for the tracks of the dataset store `data_dir` to the
    checkpoint in `model_dir` and train it as `spec` says, with the parent's params' train
    section (its ``learning_rate`` replaced by `learning_rate` when given) and `options`;
    checkpoints ``best/`` and ``last/`` go to `out` as :func:`crossreg.train.trainer.train`
    writes them."""
    spec.check()
    parent = Path(model_dir)
    store = DataStore(data_dir)
    config = read_config(parent)
    name = spec.head or store.genome
    raw, key = new_head_params(config, name, store.num_targets, str(parent))
    if learning_rate is not None:
        raw.setdefault("train", {})["learning_rate"] = learning_rate
    params = parse_params(raw, str(parent / CONFIG_NAME))
    options = replace(
        options or TrainOptions(),
        gelu_form=config.gelu_form,
        finetune_epochs=0,
        heads={store.genome: key},
    )
    distributed.init()
    try:
        setup = FineTune(parent, config, spec, name, key)
        trainer = Trainer(params, [data_dir], out, options, setup)
        return run_trainer(trainer, resume=resume, plots=plots, svg=svg)
    finally:
        distributed.shutdown()
