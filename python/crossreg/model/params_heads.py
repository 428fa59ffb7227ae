"""The heads of a Basenji params file's ``model`` section (:mod:`crossreg.model.params`):
one Dense block per genome, its genome named by its key."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from crossreg.model.params_values import (
    check_keys,
    check_weight_settings,
    require_key,
    whole_number,
)

HEAD_BLOCKS = ("final", "dense")
HEAD_KEYS = frozenset(
    {"units", "activation", "flatten", "kernel_initializer", "l2_scale", "l1_scale"}
)
HEAD_ACTIVATIONS = ("softplus", "linear", "relu", "sigmoid", "exponential")


@dataclass(frozen=True)
class Head:
    """One output head: a per-position Dense layer for one genome's tracks."""

    key: str
    genome: str
    units: int
    activation: str = "softplus"


def genome_of_head_key(key: str) -> str:
    """Genome name of a head key: ``head_human`` -> ``human``, ``head0_mouse`` -> ``mouse``,
    ``head`` -> ``head``."""
    name = re.sub(r"^head\d*_?", "", key)
    return name or key


def parse_head(key: str, spec: Any, source: str, model_activation: Any = None) -> Head:
    """One head block. Basenji passes the model section's `activation` to every lower-case
    block, heads included, so a head naming none takes the model's; only without one
    does the block's own default hold (``final``: linear, paper-era ``dense``: softplus)."""
    where = f"model.{key}"
    if isinstance(spec, list):
        if len(spec) != 1:
            raise ValueError(
                f"{source}: {where} lists {len(spec)} blocks; crossreg heads are one "
                f"'{HEAD_BLOCKS[0]}' block"
            )
        spec = spec[0]
    if not isinstance(spec, Mapping) or spec.get("name") not in HEAD_BLOCKS:
        raise ValueError(
            f"{source}: {where} must be a '{HEAD_BLOCKS[0]}' (or paper-era '{HEAD_BLOCKS[1]}') "
            "block with 'units'"
        )
    own = {k: v for k, v in spec.items() if k != "name"}
    check_keys(own, HEAD_KEYS, where, source)
    check_weight_settings(own, where, source)
    units = whole_number(require_key(own, "units", where, source), f"{where}.units", source)
    if "activation" in own:
        activation = own["activation"]
    elif model_activation:
        activation = model_activation
        if activation not in HEAD_ACTIVATIONS:
            raise ValueError(
                f"{source}: {where} names no activation, so Basenji gives its Dense the "
                f"model's activation '{activation}' (Keras' own form of it), which crossreg's "
                'heads do not have; name the head\'s activation, e.g. "activation": '
                '"softplus" as Basenji2\'s heads do'
            )
    elif spec["name"] == "dense":
        raise ValueError(
            f"{source}: {where} is a paper-era 'dense' head without an activation, which "
            "Basenji then defaulted to softplus (its 'final' block to linear); name it, "
            'e.g. "activation": "softplus"'
        )
    else:
        activation = "linear"
    if activation not in HEAD_ACTIVATIONS:
        raise ValueError(
            f"{source}: {where} activation '{activation}' is not supported; use one of "
            f"{', '.join(HEAD_ACTIVATIONS)}"
        )
    if own.get("flatten", False):
        raise ValueError(f"{source}: {where} flatten=true is not supported (per-bin heads only)")
    return Head(key=key, genome=genome_of_head_key(key), units=units, activation=activation)
