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
import math
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from crossreg.io.text import read_json
from crossreg.model.train_section import misspelt

# options a block may set, per block type; globals below are accepted by every lower-case block
CONV_BLOCK_KEYS = frozenset(
    {"filters", "kernel_size", "dilation_rate", "strides", "dropout", "pool_size", "bn_gamma"}
)
BLOCK_KEYS: dict[str, frozenset[str]] = {
    "conv_block": CONV_BLOCK_KEYS,
    "conv_tower": (CONV_BLOCK_KEYS - {"filters"})
    | {"filters_init", "filters_end", "filters_mult", "divisible_by", "repeat"},
    "dilated_residual": frozenset(
        {"filters", "kernel_size", "rate_mult", "dropout", "repeat", "round", "conv_type"}
    ),
    "Cropping1D": frozenset({"cropping"}),
}
# model-wide settings passed to every lower-case block (a block may override them)
BLOCK_GLOBALS = frozenset(
    {
        "activation",
        "norm_type",
        "batch_norm",
        "bn_momentum",
        "l2_scale",
        "l1_scale",
        "padding",
        "kernel_initializer",
    }
)
# the blocks that build conv → batch norm layers
CONV_BLOCKS = ("conv_block", "conv_tower", "dilated_residual")
HEAD_BLOCKS = ("final", "dense")
HEAD_KEYS = frozenset(
    {"units", "activation", "flatten", "kernel_initializer", "l2_scale", "l1_scale"}
)
HEAD_ACTIVATIONS = ("softplus", "linear", "relu", "sigmoid", "exponential")
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
ACTIVATIONS = ("gelu", "relu")
# GELU forms: tanh approximation (Basenji since 2022), x·sigmoid(1.702x) (paper era), exact erf
GELU_FORMS = ("tanh", "sigmoid1702", "erf")
NORM_TYPES = ("batch", "batch-sync")
# whole-number block options and the least value each takes (pool_size 0 or 1: no pooling)
BLOCK_WHOLE_NUMBERS = {
    "filters": 1,
    "kernel_size": 1,
    "dilation_rate": 1,
    "repeat": 1,
    "divisible_by": 1,
    "pool_size": 0,
}
# block options that are positive numbers, fractions allowed
BLOCK_POSITIVE_NUMBERS = ("filters_init", "filters_end", "filters_mult", "rate_mult")
# crossreg's max pooling keeps each maximum's offset in its window in a byte
MAX_POOL_SIZE = 255


@dataclass(frozen=True)
class Block:
    """One trunk block: its Basenji name and its own options (globals already merged in)."""

    name: str
    options: dict[str, Any]


@dataclass(frozen=True)
class Head:
    """One output head: a per-position Dense layer for one genome's tracks."""

    key: str
    genome: str
    units: int
    activation: str = "softplus"


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


def genome_of_head_key(key: str) -> str:
    """Genome name of a head key: ``head_human`` -> ``human``, ``head0_mouse`` -> ``mouse``,
    ``head`` -> ``head``."""
    name = re.sub(r"^head\d*_?", "", key)
    return name or key


def _require(section: Mapping[str, Any], key: str, where: str, source: str) -> Any:
    if key not in section:
        raise ValueError(f"{source}: {where} lacks the required key '{key}'")
    return section[key]


def _check_keys(options: Mapping[str, Any], allowed: frozenset[str], where: str, src: str) -> None:
    unknown = sorted(set(options) - allowed)
    if unknown:
        raise ValueError(
            f"{src}: {where} has unknown key(s) {', '.join(repr(k) for k in unknown)}; "
            f"crossreg supports {', '.join(sorted(allowed))}{misspelt(unknown, sorted(allowed))}"
        )


def _is_number(value: Any) -> bool:
    """An int or a finite float, not a bool."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return False
    return math.isfinite(value)


def _whole_number(value: Any, what: str, source: str, least: int = 1) -> int:
    """`value` as an int: a whole number (``5`` or ``5.0``), `least` or more."""
    if not _is_number(value) or int(value) != value:
        raise ValueError(f"{source}: {what} must be a whole number, got {value!r}")
    if value < least:
        bound = "positive" if least == 1 else f"{least} or more"
        raise ValueError(f"{source}: {what} must be {bound}, got {value!r}")
    return int(value)


def _positive_number(value: Any, what: str, source: str) -> float:
    """`value` as a float: a number above 0."""
    if not _is_number(value) or value <= 0:
        raise ValueError(f"{source}: {what} must be a positive number, got {value!r}")
    return float(value)


def _check_weight_settings(opts: Mapping[str, Any], where: str, src: str) -> None:
    if opts.get("kernel_initializer", "he_normal") != "he_normal":
        raise ValueError(
            f"{src}: {where} kernel_initializer '{opts['kernel_initializer']}' is not "
            "supported; use 'he_normal'"
        )
    for reg in ("l2_scale", "l1_scale"):
        if opts.get(reg, 0):
            raise ValueError(
                f"{src}: {where} {reg}={opts[reg]} is not supported; weight penalties are not "
                "part of Basenji2's cross2020 models (set it to 0 or remove it)"
            )


def _check_norm(name: str, opts: Mapping[str, Any], where: str, src: str) -> None:
    """Batch norm, named: Basenji builds none where neither ``norm_type`` nor ``batch_norm``
    is given, crossreg's blocks always have it."""
    if "norm_type" not in opts and "batch_norm" not in opts:
        if name in CONV_BLOCKS:
            raise ValueError(
                f"{src}: {where} names no normalization (no norm_type or batch_norm in the "
                "block or the model section); Basenji would build it without batch norm, "
                'which crossreg does not support; add "norm_type": "batch" (or '
                '"batch_norm": true) to the model section if the model has batch norm'
            )
        return
    norm = opts.get("norm_type", "batch" if opts.get("batch_norm") else None)
    if norm not in NORM_TYPES:
        raise ValueError(
            f"{src}: {where} norm_type '{norm}' is not supported; Basenji2 uses batch norm "
            f"({' or '.join(NORM_TYPES)})"
        )


def _check_cropping(cropping: Any, where: str, src: str) -> None:
    """A Cropping1D value: whole bins, not negative, the same at both ends."""
    listed = isinstance(cropping, (list, tuple))
    values = list(cropping) if listed else [cropping]
    for value in values:
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise ValueError(
                f"{src}: {where} cropping {cropping!r} must be a whole number of bins, 0 or more"
            )
    if listed and (len(values) != 2 or values[0] != values[1]):
        # reverse-complement averaging and augmentation flip bins about the window's centre
        raise ValueError(
            f"{src}: {where} cropping {list(values)} is not one number of bins for both "
            "ends; crossreg crops both ends alike (reverse-complement predictions and "
            "augmentation flip bins about the centre, which an uneven crop moves)"
        )


def conv_tower_filters(options: Mapping[str, Any]) -> list[int]:
    """Filters of each conv_tower repeat: a float grows by ``filters_mult`` and each block
    takes it rounded (half to even) to a multiple of ``divisible_by``."""
    repeat = int(options["repeat"])
    current = float(options["filters_init"])
    divisible_by = int(options.get("divisible_by", 1))
    mult = options.get("filters_mult")
    if mult is None:
        end = float(options["filters_end"])
        mult = math.exp(math.log(end / current) / (repeat - 1)) if repeat > 1 else 1.0
    filters = []
    for _ in range(repeat):
        filters.append(int(round(current / divisible_by) * divisible_by))
        current *= float(mult)
    return filters


def residual_dilations(options: Mapping[str, Any]) -> list[int]:
    """Dilation of each dilated_residual repeat: a rate from 1 times ``rate_mult`` per
    repeat, rounded half to even each time when ``round`` is true (1,2,3,4,6,9,14,...)."""
    rate = 1.0
    dilations = []
    for _ in range(int(options.get("repeat", 1))):
        dilations.append(round(rate))
        rate *= float(options.get("rate_mult", 2))
        if options.get("round", False):
            rate = float(round(rate))
    return dilations


def _check_block_numbers(name: str, opts: Mapping[str, Any], where: str, src: str) -> None:
    """Sizes, counts and rates: whole numbers where Keras takes integers, positive, and
    schedules (conv_tower filters, dilated_residual dilations) of at least 1."""
    for key, least in BLOCK_WHOLE_NUMBERS.items():
        if key in opts:
            _whole_number(opts[key], f"{where} {key}", src, least)
    for key in BLOCK_POSITIVE_NUMBERS:
        if key in opts:
            _positive_number(opts[key], f"{where} {key}", src)
    if opts.get("pool_size", 1) > MAX_POOL_SIZE:
        raise ValueError(
            f"{src}: {where} pool_size {opts['pool_size']} is not supported; crossreg pools "
            f"at most {MAX_POOL_SIZE} positions into one"
        )
    if name == "conv_tower":
        filters = conv_tower_filters(opts)
        if min(filters) < 1:
            raise ValueError(
                f"{src}: {where} filters_init, filters_mult/filters_end and divisible_by give "
                f"the repeats {filters} filters; every conv needs at least 1"
            )
    if name == "dilated_residual":
        dilations = residual_dilations(opts)
        if min(dilations) < 1:
            raise ValueError(
                f"{src}: {where} rate_mult {opts.get('rate_mult')!r} gives the repeats "
                f"dilation rates {dilations}; each must be at least 1"
            )


def _check_block_values(name: str, opts: Mapping[str, Any], where: str, src: str) -> None:
    activation = opts.get("activation", "gelu")
    if activation not in ACTIVATIONS:
        raise ValueError(
            f"{src}: {where} activation '{activation}' is not supported; use "
            f"{' or '.join(ACTIVATIONS)}"
        )
    _check_norm(name, opts, where, src)
    if opts.get("padding", "same") != "same":
        raise ValueError(f"{src}: {where} padding '{opts['padding']}' is not supported; use 'same'")
    _check_weight_settings(opts, where, src)
    momentum = opts.get("bn_momentum", 0.99)
    if (
        isinstance(momentum, bool)
        or not isinstance(momentum, (int, float))
        or not 0 <= momentum < 1
    ):
        raise ValueError(f"{src}: {where} bn_momentum must be a number in [0, 1), got {momentum!r}")
    if opts.get("strides", 1) != 1:
        raise ValueError(f"{src}: {where} strides {opts['strides']} is not supported; use 1")
    if opts.get("conv_type", "standard") != "standard":
        raise ValueError(
            f"{src}: {where} conv_type '{opts['conv_type']}' is not supported; use 'standard'"
        )
    if opts.get("bn_gamma") not in (None, "ones", "zeros"):
        raise ValueError(f"{src}: {where} bn_gamma must be 'ones' or 'zeros'")
    dropout = opts.get("dropout", 0.0)
    if not _is_number(dropout) or not 0.0 <= dropout < 1.0:
        raise ValueError(f"{src}: {where} dropout must be a number in [0, 1), got {dropout!r}")
    if name == "conv_tower" and "filters_mult" not in opts and "filters_end" not in opts:
        raise ValueError(f"{src}: {where} needs filters_mult or filters_end")
    required = {
        "conv_tower": ("filters_init", "repeat"),
        "dilated_residual": ("filters",),
        "Cropping1D": ("cropping",),
    }.get(name, ())
    for key in required:
        _require(opts, key, where, src)
    if name == "Cropping1D":
        _check_cropping(opts["cropping"], where, src)
    _check_block_numbers(name, opts, where, src)


def _parse_block(spec: Any, globals_: Mapping[str, Any], index: int, source: str) -> Block:
    where = f"model.trunk[{index}]"
    if not isinstance(spec, Mapping) or "name" not in spec:
        raise ValueError(f"{source}: {where} must be an object with a 'name'")
    name = spec["name"]
    if name not in BLOCK_KEYS:
        raise ValueError(
            f"{source}: {where} block '{name}' is not supported; crossreg builds "
            f"{', '.join(BLOCK_KEYS)}"
        )
    own = {k: v for k, v in spec.items() if k != "name"}
    where = f"{where} ({name})"
    keras_layer = name[0].isupper()  # Keras layers (Cropping1D) take no model-wide settings
    _check_keys(
        own, BLOCK_KEYS[name] if keras_layer else BLOCK_KEYS[name] | BLOCK_GLOBALS, where, source
    )
    options = own if keras_layer else {**globals_, **own}
    _check_block_values(name, options, where, source)
    return Block(name=name, options=options)


def _parse_head(key: str, spec: Any, source: str, model_activation: Any = None) -> Head:
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
    _check_keys(own, HEAD_KEYS, where, source)
    _check_weight_settings(own, where, source)
    units = _whole_number(_require(own, "units", where, source), f"{where}.units", source)
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


def _pools(block: Block) -> list[int]:
    """The pool size of each pooling a block does, in order (Basenji pools only where
    pool_size > 1)."""
    if block.name not in ("conv_block", "conv_tower"):
        return []
    pool = int(block.options.get("pool_size", 1))
    repeat = int(block.options.get("repeat", 1)) if block.name == "conv_tower" else 1
    return [pool] * repeat if pool > 1 else []


def _crop_of(block: Block) -> int:
    """Positions a Cropping1D block crops at each end (checked even by then)."""
    cropping = block.options["cropping"]
    return int(cropping[0] if isinstance(cropping, (list, tuple)) else cropping)


def _check_output_bins(seq_length: int, trunk: tuple[Block, ...], source: str) -> None:
    """The trunk keeps at least one bin of a `seq_length` window after its crops, every
    pooling window starts on the bin grid (Keras pads the start where a pool does not
    divide its input into windows, shifting every later bin), and every crop is a whole
    number of output bins (the model's bins then lie on the genome's grid)."""
    bins, bin_width = seq_length, 1
    stride = math.prod(pool for block in trunk for pool in _pools(block))
    for i, block in enumerate(trunk):
        where = f"model.trunk[{i}] ({block.name})"
        for pool in _pools(block):
            if -bins % pool >= 2:
                raise ValueError(
                    f"{source}: {where} pools {bins} positions by {pool}, which Keras pads "
                    f"by {-bins % pool // 2} at the start, moving every bin off the "
                    f"{stride}-bp grid; use a seq_length that is a multiple of {stride}"
                )
            bins, bin_width = -(-bins // pool), bin_width * pool
        if block.name != "Cropping1D":
            continue
        crop, cropping = _crop_of(block), block.options["cropping"]
        if bins - 2 * crop < 1:
            raise ValueError(
                f"{source}: {where} cropping {cropping!r} removes every bin: {seq_length} "
                f"bp reach it as {bins} bins, so crop at most {(bins - 1) // 2} at each end"
            )
        if crop * bin_width % stride:
            raise ValueError(
                f"{source}: {where} cropping {cropping!r} crops {crop * bin_width} bp at "
                f"each end ({bin_width}-bp bins there), not a whole number of the model's "
                f"{stride}-bp output bins; crop a multiple of {stride // bin_width}"
            )
        bins -= 2 * crop


def _augment_shift(value: Any, source: str) -> tuple[int, ...] | None:
    """``model.augment_shift``: a shift in bp or a list of them (None where absent)."""
    if value is None:
        return None
    shifts = value if isinstance(value, list) else [value]
    for shift in shifts:
        if not _is_number(shift) or int(shift) != shift:
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
    _check_keys(
        {k: v for k, v in section.items() if k not in head_keys},
        MODEL_KEYS,
        "the model section",
        source,
    )
    if not head_keys:
        raise ValueError(f"{source}: the model section has no head (a key like 'head_human')")
    seq_length = _whole_number(
        _require(section, "seq_length", "the model section", source), "model.seq_length", source
    )
    if section.get("seq_depth", 4) != 4:
        raise ValueError(f"{source}: model.seq_depth must be 4 (one-hot DNA)")
    if section.get("strand_pair"):
        raise ValueError(f"{source}: model.strand_pair is not supported (stranded targets)")
    trunk_specs = _require(section, "trunk", "the model section", source)
    if not isinstance(trunk_specs, list) or not trunk_specs:
        raise ValueError(f"{source}: model.trunk must be a non-empty list of blocks")
    globals_ = {k: section[k] for k in BLOCK_GLOBALS if k in section}
    _check_block_values("model", globals_, "the model section", source)
    trunk = tuple(_parse_block(b, globals_, i, source) for i, b in enumerate(trunk_specs))
    _check_output_bins(seq_length, trunk, source)
    heads = tuple(_parse_head(k, section[k], source, section.get("activation")) for k in head_keys)
    genomes = [h.genome for h in heads]
    if len(set(genomes)) != len(genomes):
        raise ValueError(f"{source}: head keys {head_keys} name the same genome twice")
    target_length = section.get("target_length")
    if target_length is not None:
        target_length = _whole_number(target_length, "model.target_length", source)
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
