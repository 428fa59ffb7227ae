"""Fine-tuning: a new head for a new targets table on a trained model's trunk.

From any crossreg checkpoint (a joint model, or imported Basenji2 weights) a head is added
for one dataset store's tracks (new tracks of a known genome, or a new genome) and trained
by :class:`crossreg.train.trainer.Trainer` (same schedule, early stopping, resume,
``torchrun`` and bf16) with one of three modes:

``probe``
    the trunk frozen: only the new head trains (a linear probe of the trunk's features).
``unfreeze``
    the new head gets its own copy of the trunk's last `unfreeze_blocks` blocks (a block is
    one entry of the trunk that holds weights: a conv block, a tower's conv block, a
    residual block), which trains with it; the parent's heads keep reading the parent's
    blocks.
``lora``
    low-rank adapters on every trunk convolution train with the head; they apply on the
    new head's path only, the base weights stay frozen and the parent's heads read the
    plain trunk.

The new head's own path is a branch of the model (:mod:`crossreg.model.branches`), saved
unmerged in the checkpoint and rebuilt by every command that loads it. Every checkpoint
holds the parent's heads and everything of the parent bitwise as it was (frozen parts run
as at inference: batch norm with its moving statistics, no dropout), so the parent's
heads predict exactly what they did. Each checkpoint's ``config.json`` records the parent
(path, SHA-256 of its weights, save id, and its own ``source``, so a chain of fine-tunings
leads back to the joint training or import) under ``source.parent``, the new head's branch
under ``branches``, and the mode, the trained parts and the new head's name under
``extra.finetune``; the new head's tracks are its ``targets``.
"""

from __future__ import annotations

import copy
import logging
import os
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import torch
from torch import nn

from crossreg import distributed
from crossreg.data.store import DataStore
from crossreg.errors import require_kind
from crossreg.model.adapters import freeze
from crossreg.model.blocks import init_weights
from crossreg.model.branches import BranchSpec
from crossreg.model.checkpoint import (
    CONFIG_NAME,
    WEIGHTS_NAME,
    CheckpointConfig,
    file_sha256,
    load_checkpoint,
    make_config,
    read_config,
)
from crossreg.model.checkpoint_info import held_out_fold, require_checkpoint_folder
from crossreg.model.params import parse_params
from crossreg.model.seqnn import SeqNN, TrackHead
from crossreg.model.train_section import SGD_NAMES, unknown_train_keys
from crossreg.plots import check_plot_options
from crossreg.step_defaults import (
    FINETUNE_MODES,
    LORA_RANK,
    LORA_SGD_LEARNING_RATE,
    UNFREEZE_BLOCKS,
)
from crossreg.train.new_head import check_free_name, check_head_name, new_head_name
from crossreg.train.optim import section_learning_rate, section_optimizer
from crossreg.train.options import TrainOptions, require_train_options
from crossreg.train.run_folder import training_into
from crossreg.train.torch_state import callers_torch_state
from crossreg.train.trainer import ModelSetup, Trainer, run_trainer

log = logging.getLogger("crossreg")


def check_new_head_name(name: str, what: str) -> None:
    """Stop when `name` cannot name a head (`what` says where it came from): a head's
    name holds letters, digits, '_' and '-' only (:func:`check_head_name`), and is not a
    method of the heads' container (``keys``, ``train``, ``to``)."""
    check_head_name(name, what)
    if hasattr(nn.ModuleDict(), name):
        raise ValueError(f"{what}: '{name}' is a name torch keeps for itself; choose another")


@dataclass(frozen=True)
class FineTuneSpec:
    """How to fine-tune: the `mode` (``probe``, ``unfreeze``, ``lora``), the new head's
    name (default: the dataset's genome), the trunk blocks to unfreeze (``unfreeze``), the
    adapters' rank and alpha (``lora``; alpha defaults to the rank, a scale of 1)."""

    mode: str = FINETUNE_MODES[0]
    head: str | None = None
    unfreeze_blocks: int = UNFREEZE_BLOCKS
    lora_rank: int = LORA_RANK
    lora_alpha: float | None = None

    def check(self) -> None:
        """Stop on an unknown mode, a count below 1 or a head name a model cannot hold."""
        if self.mode not in FINETUNE_MODES:
            raise ValueError(
                f"fine-tuning mode '{self.mode}' is unknown; use {', '.join(FINETUNE_MODES)}"
            )
        if self.head is not None:
            check_new_head_name(self.head, f"--head-name {self.head!r}")
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
    digest = file_sha256(directory / WEIGHTS_NAME)
    return {"path": str(directory.resolve()), "sha256": digest, "save_id": save_id}


def trained_parts(model: nn.Module) -> list[str]:
    """The modules whose parameters train, named down to a trunk block, a head or a
    branch's block (``trunk.21``, ``heads.liver``, ``branches.liver.blocks.21`` for the
    head's copy of ``trunk.21``, ``branches.liver.adapters.3`` for the adapters on
    ``trunk.3``'s convolutions)."""
    parts: dict[str, None] = {}
    for name, parameter in model.named_parameters():
        if parameter.requires_grad:
            depth = 4 if name.startswith("branches.") else 2
            parts[".".join(name.split(".")[:depth])] = None
    return list(parts)


class FineTune(ModelSetup):
    """The trainer's model for fine-tuning: the checkpoint in `parent` with a new head
    `name` of `units` softplus outputs (params key `key`), frozen as `spec` says."""

    phase = "finetune"
    learning_rate_setting = "--learning-rate"
    model_fixed = True

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
        branch = self.branch_spec(model)
        if branch is not None:  # built before anything is frozen: a copy trains
            model.add_branch(self.name, branch, generator)
        for genome in model.genomes[:-1]:
            freeze(model.heads[genome])
            if genome in model.branches:
                freeze(model.branches[genome])
        freeze(model.trunk)
        model.train()
        self.trained = trained_parts(model)
        return model

    def announce(self, trainer: Trainer) -> None:
        log.info(
            "fine-tuning (%s) a new head '%s' of %d tracks on %s; training %s",
            self.spec.mode,
            self.name,
            trainer.model.num_targets(self.name),
            self.parent,
            ", ".join(self.trained),
        )

    def branch_spec(self, model: SeqNN) -> BranchSpec | None:
        """The new head's branch on `model`'s trunk: none (``probe``), a copy of the
        trunk from its last `unfreeze_blocks` blocks on, or adapters on every trunk
        convolution."""
        if self.spec.mode == "unfreeze":
            blocks = trunk_blocks(model)
            if self.spec.unfreeze_blocks > len(blocks):
                count = len(blocks)
                raise ValueError(
                    f"--unfreeze-blocks {self.spec.unfreeze_blocks}: the trunk of {self.parent} "
                    f"has {count} blocks with weights; give {count} or fewer ({count}: the new "
                    "head's own copy of the whole trunk)"
                )
            first = blocks[len(blocks) - self.spec.unfreeze_blocks][0]
            return BranchSpec("blocks", int(first.split(".")[1]))
        if self.spec.mode == "lora":
            described = self.spec.describe()
            return BranchSpec("lora", 0, described["lora_rank"], described["lora_alpha"])
        return None

    def head_of(self, genome: str) -> str:
        return self.name

    def trainable(self, model: SeqNN) -> list[nn.Parameter]:
        return [p for p in model.parameters() if p.requires_grad]

    def checkpoint(
        self, trainer: Trainer, genomes: Sequence[str], metrics: dict
    ) -> tuple[SeqNN, CheckpointConfig]:
        """The whole model: the parent's heads (and branches) as they were, the new head
        and its branch; `genomes` (the store's) is not needed."""
        parent = self.parent_config
        heads = {**parent.genomes, self.name: self.key}
        targets = {**parent.targets, self.name: list(trainer.genomes[0].store.table.targets)}
        branch = trainer.model.branch_specs.get(self.name)
        config = make_config(
            trainer.model,
            trainer.params.raw,
            targets,
            genomes=heads,
            epoch=trainer.state.epoch,
            metrics=metrics,
            source={
                "parent": {**self.digest, "source": parent.source},
                "phase": trainer.state.phase,
            },
            extra={
                "finetune": {
                    **self.spec.describe(),
                    "head": self.name,
                    "dataset_genome": trainer.genomes[0].name,
                    "trained": self.trained,
                    "parent_heads": list(parent.genomes),
                    "branch": None if branch is None else branch.to_json(),
                },
                "train_options": asdict(trainer.options),
                "held_out_folds": self.held_out_folds(trainer.options.test_fold),
            },
        )
        return trainer.model, config

    def held_out_folds(self, test_fold: str | None) -> dict[str, str]:
        """Per head, the fold held out in training it: the parent's heads' as the parent
        records them, the new head's `test_fold` (none where training held out no fold)."""
        parent = self.parent_config.extra
        folds = {h: f for h in self.parent_config.genomes if (f := held_out_fold(parent, h))}
        if test_fold is not None:
            folds[self.name] = test_fold
        return folds


def new_head_params(
    config: CheckpointConfig, name: str, units: int, source: str
) -> tuple[dict[str, Any], str]:
    """The parent's params with a softplus head ``head_<name>`` of `units` outputs added
    (and the head's key); stops when the parent already has a head of that name. Head
    entries of the params that serve no head of the parent (another genome's, kept by a
    ``finetune_<genome>/`` checkpoint or a one-genome import) are left out."""
    check_free_name(name, config.genomes, source)
    key = f"head_{name}"
    raw = copy.deepcopy(config.params)
    served = set(config.genomes.values())
    raw["model"] = {
        k: v for k, v in raw["model"].items() if not k.startswith("head") or k in served
    }
    raw["model"][key] = {"name": "final", "units": units, "activation": "softplus"}
    return raw, key


def default_learning_rate(spec: FineTuneSpec, train: Mapping[str, Any]) -> float | None:
    """The learning rate a fine-tuning given no ``--learning-rate`` trains at, where it is
    not the parent's params' `train` section's: ``--mode lora`` of a parent trained with
    SGD takes its rate up to :data:`~crossreg.step_defaults.LORA_SGD_LEARNING_RATE`. SGD
    at Basenji's rates (0.15, momentum 0.99) relies on every convolution's output being
    normalised by batch norm in training mode, which makes the loss blind to the weights'
    scale; the adapters change the convolutions ahead of frozen batch norm (its moving
    statistics), which normalises nothing, and at such rates their training loss reaches
    the thousands within tens of steps, then NaN. None where the parent's rate stands."""
    if spec.mode != "lora" or section_optimizer(train) not in SGD_NAMES:
        return None
    return LORA_SGD_LEARNING_RATE if section_learning_rate(train) > LORA_SGD_LEARNING_RATE else None


def finetune_trainer(
    model_dir: str | os.PathLike[str],
    data_dir: str | os.PathLike[str],
    out: str | os.PathLike[str],
    spec: FineTuneSpec,
    options: TrainOptions | None = None,
    *,
    learning_rate: float | None = None,
) -> Trainer:
    """The trainer of the finetune step (see :func:`finetune`), its model built: the
    parent in `model_dir` with a new head for the tracks of the store `data_dir`, frozen as
    `spec` says. Under ``torchrun``, call :func:`crossreg.distributed.init` first."""
    spec.check()
    parent = Path(model_dir)
    require_checkpoint_folder(parent)  # a run's folder names its best/, as --model does
    store = DataStore(data_dir)
    config = read_config(parent)
    name, what = new_head_name(spec.head, store.genome, data_dir)
    if spec.head is None:  # spec.check has checked a name given
        check_new_head_name(name, what)
    raw, key = new_head_params(config, name, store.num_targets, str(parent))
    if learning_rate is None:
        learning_rate = default_learning_rate(spec, raw.get("train", {}))
        if learning_rate is not None:
            log.info(
                "--mode lora trains the adapters at learning rate %g, not the parent's "
                "params' %g (SGD, at which adapters ahead of frozen batch norm diverge); "
                "--learning-rate sets another",
                learning_rate,
                section_learning_rate(raw.get("train", {})),
            )
    if learning_rate is not None:
        raw.setdefault("train", {})["learning_rate"] = learning_rate
    params = parse_params(raw, str(parent / CONFIG_NAME))
    ignored = unknown_train_keys(params.train)
    if ignored:
        log.warning(
            "%s: the parent's train key(s) %s are not implemented by crossreg and are ignored",
            parent / CONFIG_NAME,
            ", ".join(ignored),
        )
    options = replace(
        options or TrainOptions(),
        gelu_form=config.gelu_form,
        finetune_epochs=0,
        heads={store.genome: key},
    )
    setup = FineTune(parent, config, spec, name, key)
    return Trainer(params, [data_dir], out, options, setup)


def finetune(
    model_dir: str | os.PathLike[str],
    data_dir: str | os.PathLike[str],
    out: str | os.PathLike[str],
    spec: FineTuneSpec,
    options: TrainOptions | None = None,
    *,
    learning_rate: float | None = None,
    resume: bool = False,
    overwrite: bool = False,
    plots: bool = True,
    svg: bool = False,
) -> Path:
    """The finetune step: add a head for the tracks of the dataset store `data_dir` to the
    checkpoint in `model_dir` and train it as `spec` says, with the parent's params' train
    section (its ``learning_rate`` replaced by `learning_rate` when given, else where
    :func:`default_learning_rate` gives one) and `options`;
    checkpoints ``best/`` and ``last/`` go to `out` as :func:`crossreg.train.trainer.train`
    writes them, and `resume` and `overwrite` mean what they mean there. Torch's random
    state and CUDA math settings are as they were before the call
    (:func:`~crossreg.train.torch_state.callers_torch_state`)."""
    check_plot_options(plots, svg)
    require_kind(spec, FineTuneSpec, "spec", "FineTuneSpec(mode='probe')")
    require_train_options(options)
    inputs = [("--model checkpoint", model_dir), ("--data store", data_dir)]
    with training_into(out, resume=resume, overwrite=overwrite, inputs=inputs):
        distributed.init(options.device if options is not None else None)
        try:
            with callers_torch_state(options or TrainOptions()):
                trainer = finetune_trainer(
                    model_dir, data_dir, out, spec, options, learning_rate=learning_rate
                )
                return run_trainer(trainer, resume=resume, plots=plots, svg=svg)
        finally:
            distributed.shutdown()
