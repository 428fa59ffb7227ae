"""Basenji params JSON: the ``train`` and ``model`` sections, checked.

The ``model`` section describes one trunk (a list of blocks) and one or more heads, one per
genome (keys starting with ``head``, natsorted as Basenji orders them: ``head_human`` is
head 0, ``head_mouse`` head 1). Globals (``activation``, ``norm_type``, ``bn_momentum``, ...)
apply to every lower-case block unless the block sets its own value. Anything crossreg does
not implement in ``model`` is an error naming the key and what is supported, never silently
ignored; so is a ``train`` key crossreg does not read when a run trains from the file
(:func:`crossreg.model.train_section.check_train_section`; importing weights or predicting
reads no ``train`` key).
Where Basenji's default differs from what crossreg would build (no batch norm without
``norm_type`` or ``batch_norm``; softplus for a paper-era ``dense`` head) the params must
name the setting.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from crossreg.io.text import read_json
from crossreg.model.params_heads import Head, parse_head
from crossreg.model.params_trunk import BLOCK_GLOBALS, Block, parse_trunk
from crossreg.model.params_values import check_keys, is_number, require_key, whole_number
from crossreg.model.train_section import misspelt

MODEL_KEYS = BLOCK_GLOBALS | {
    "seq_length",
    "target_length",
    "seq_depth",
    "trunk",
    "augment_rc",
    "augment_shift",
    "strand_pair",
    "verbose",
}
# GELU forms: tanh approximation (Basenji since 2022), x·sigmoid(1.702x) (paper era), exact erf
GELU_FORMS = ("tanh", "sigmoid1702", "erf")


@dataclass(frozen=True)
class ModelParams:
    """The ``model`` section: input length, trunk blocks and heads in Basenji's order."""

    seq_length: int
    target_length: int | None
    activation: str
    bn_momentum: float
    trunk: tuple[Block, ...]
    heads: tuple[Head, ...]
    augment_rc: bool | None = None  # None where the params do not say
    augment_shift: tuple[int, ...] | None = None

    @property
    def genomes(self) -> list[str]:
        """Genome names of the heads, in head order."""
        return [h.genome for h in self.heads]

    def select_heads(self, genomes: Mapping[str, str]) -> ModelParams:
        """Keep only the heads named by `genomes` (genome name -> head key), renamed to those
        genome names, in the order given."""
        by_key = {h.key: h for h in self.heads}
        heads = []
        for genome, key in genomes.items():
            if key not in by_key:
                raise ValueError(
                    f"params have no head '{key}' (for genome '{genome}'); heads are "
                    f"{', '.join(by_key)}"
                )
            heads.append(replace(by_key[key], genome=genome))
        return replace(self, heads=tuple(heads))


@dataclass(frozen=True)
class Params:
    """A whole params file: the checked model section, the train section as given, the
    original JSON (to store in checkpoints) and where it came from."""

    model: ModelParams
    train: dict[str, Any]
    raw: dict[str, Any] = field(compare=False)
    source: str = field(default="<params>", compare=False)


def _natural_key(text: str) -> list[int | str]:
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", text)]


def _augment_shift(value: Any, source: str) -> tuple[int, ...] | None:
    """``model.augment_shift``: a shift in bp or a list of them (None where absent)."""
    if value is None:
        return None
    shifts = value if isinstance(value, list) else [value]
    for shift in shifts:
        if not is_number(shift) or int(shift) != shift:
            raise ValueError(
                f"{source}: model.augment_shift must be a whole number of bp or a list of "
                f"them, got {value!r}"
            )
    return tuple(int(shift) for shift in shifts)


def parse_model_params(section: Mapping[str, Any], source: str = "<params>") -> ModelParams:
    """Check a ``model`` section and return it as :class:`ModelParams`."""
    if not isinstance(section, Mapping):
        raise ValueError(f"{source}: 'model' must be an object")
    head_keys = sorted((k for k in section if k.startswith("head")), key=_natural_key)
    check_keys(
        {k: v for k, v in section.items() if k not in head_keys},
        MODEL_KEYS,
        "the model section",
        source,
    )
    if not head_keys:
        raise ValueError(f"{source}: the model section has no head (a key like 'head_human')")
    seq_length = whole_number(
        require_key(section, "seq_length", "the model section", source), "model.seq_length", source
    )
    if section.get("seq_depth", 4) != 4:
        raise ValueError(f"{source}: model.seq_depth must be 4 (one-hot DNA)")
    if section.get("strand_pair"):
        raise ValueError(f"{source}: model.strand_pair is not supported (stranded targets)")
    trunk = parse_trunk(section, seq_length, source)
    heads = tuple(parse_head(k, section[k], source, section.get("activation")) for k in head_keys)
    genomes = [h.genome for h in heads]
    if len(set(genomes)) != len(genomes):
        raise ValueError(f"{source}: head keys {head_keys} name the same genome twice")
    target_length = section.get("target_length")
    if target_length is not None:
        target_length = whole_number(target_length, "model.target_length", source)
    rc = section.get("augment_rc")
    if rc is not None and not isinstance(rc, bool):
        raise ValueError(f"{source}: model.augment_rc must be true or false, got {rc!r}")
    return ModelParams(
        seq_length=seq_length,
        target_length=target_length,
        activation=section.get("activation", "gelu"),
        bn_momentum=float(section.get("bn_momentum", 0.99)),
        trunk=trunk,
        heads=heads,
        augment_rc=rc,
        augment_shift=_augment_shift(section.get("augment_shift"), source),
    )


def parse_params(data: Mapping[str, Any], source: str = "<params>") -> Params:
    """Check a whole params object (``model`` required, ``train`` optional)."""
    if not isinstance(data, Mapping) or "model" not in data:
        raise ValueError(f"{source}: a params file is a JSON object with a 'model' section")
    unknown = sorted(set(data) - {"model", "train"})
    if unknown:
        raise ValueError(
            f"{source}: unknown top-level section(s) {', '.join(unknown)}; use 'train' and "
            f"'model'{misspelt(unknown, ('train', 'model'))}"
        )
    train = data.get("train", {})
    if not isinstance(train, Mapping):
        raise ValueError(f"{source}: 'train' must be an object")
    return Params(
        model=parse_model_params(data["model"], source),
        train=dict(train),
        raw=json.loads(json.dumps(data)),
        source=source,
    )


def load_params(path: str | os.PathLike[str]) -> Params:
    """Read and check a Basenji params JSON file."""
    path = Path(path)
    data = read_json(path, "give the params JSON (not a Keras .h5 or another binary file)")
    return parse_params(data, str(path))
